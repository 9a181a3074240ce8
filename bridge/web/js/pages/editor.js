// A plain textarea over a highlighted copy of its text: sentence-template colours without a build step.
import { el } from "../api.js";

const escape = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function highlightLine(line) {
  const trimmed = line.trim();
  if (/^[#;]/.test(trimmed)) return `<span class="hl-comment">${escape(line)}</span>`;
  if (/^\[[^\]]*\]\s*$/.test(trimmed)) return `<span class="hl-section">${escape(line)}</span>`;
  let html = "";
  const rule = /^(\s*[^=\[\]()<>{}|$]+?)(\s*=\s*)/.exec(line);
  let rest = line;
  if (rule) { html += `<span class="hl-rule">${escape(rule[1])}</span>${escape(rule[2])}`; rest = line.slice(rule[0].length); }
  const token = /(\{[^}]*\})|(\$[\w/.-]+(?:,[^\s)\]|]*)?)|(<[^>]*>)|([|\[\]():!])/g;
  let last = 0; let match;
  while ((match = token.exec(rest))) {
    html += escape(rest.slice(last, match.index));
    const cls = match[1] ? "hl-tag" : match[2] ? "hl-slot" : match[3] ? "hl-rule" : "hl-op";
    html += `<span class="${cls}">${escape(match[0])}</span>`;
    last = token.lastIndex;
  }
  return html + escape(rest.slice(last));
}

export function templateEditor({ id, label }) {
  const pre = el("pre", { "aria-hidden": "true" });
  const area = el("textarea", { id, spellcheck: "false", "aria-label": label, autocapitalize: "off", autocomplete: "off" });
  let errorLine = null;
  const paint = () => {
    pre.innerHTML = area.value.split("\n").map((line, i) => {
      const html = highlightLine(line) || " ";
      return i + 1 === errorLine ? `<span class="hl-error">${html}</span>` : html;
    }).join("\n") + "\n";
    pre.scrollTop = area.scrollTop;
  };
  area.addEventListener("input", () => { errorLine = null; paint(); });
  area.addEventListener("scroll", () => { pre.scrollTop = area.scrollTop; });
  const root = el("div", { class: "editor" }, pre, area);
  return {
    root,
    get value() { return area.value; },
    set value(text) { area.value = text; paint(); },
    markError(line, column) {
      errorLine = line; paint();
      const lines = area.value.split("\n");
      const offset = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0) + Math.max(0, (column || 1) - 1);
      area.focus(); area.setSelectionRange(offset, offset);
    },
    clearError() { errorLine = null; paint(); },
  };
}
