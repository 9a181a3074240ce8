// The shell: top bar (train, restart, wake, services online, live log) and the hash router.
import { api, busy, el, showAlert, socket, parseTemplateError, tokenRole } from "./api.js";

const pages = {
  test: () => import("./pages/test.js"),
  sentences: () => import("./pages/sentences.js"),
  slots: () => import("./pages/slots.js"),
  words: () => import("./pages/words.js"),
  settings: () => import("./pages/settings.js"),
  advanced: () => import("./pages/advanced.js"),
  sessions: () => import("./pages/sessions.js"),
};

let cleanup = null;

async function route() {
  const name = (location.hash.replace(/^#\/?/, "").split("?")[0]) || "test";
  const load = pages[name] || pages.test;
  for (const link of document.querySelectorAll("#nav a")) {
    link.toggleAttribute("aria-current", link.getAttribute("href") === "#/" + name);
    if (link.hasAttribute("aria-current")) link.setAttribute("aria-current", "page");
  }
  if (cleanup) { try { cleanup(); } catch {} cleanup = null; }
  const main = document.getElementById("main");
  main.replaceChildren(el("p", { class: "muted" }, "Loading…"));
  const module = await load();
  main.replaceChildren();
  cleanup = (await module.render(main)) || null;
  document.title = `Hermesh · ${name[0].toUpperCase()}${name.slice(1)}`;
}

// Training is shared by the top bar and the sentences/slots pages.
export async function train(button) {
  button = button || document.getElementById("train");
  return busy(button, async () => {
    button.textContent = "Training…";
    const started = performance.now();
    try {
      const text = await api("/api/train", { method: "POST", as: "text", accept: "text/plain" });
      showAlert(`${text || "Training complete"} (${((performance.now() - started) / 1000).toFixed(1)} s)`, "info");
      document.dispatchEvent(new CustomEvent("hermesh:trained", { detail: { ok: true } }));
      return true;
    } catch (err) {
      const where = parseTemplateError(err.message);
      showAlert(/^training failed/i.test(err.message) ? err.message : "Training failed: " + err.message);
      document.dispatchEvent(new CustomEvent("hermesh:trained", { detail: { ok: false, error: err.message, where } }));
      return false;
    }
  });
}

async function refreshStatus() {
  const box = document.getElementById("services");
  try {
    const status = await api("/api/status");
    const services = Object.entries(status.services || {});
    box.replaceChildren(...services.map(([name, s]) =>
      el("span", { class: "badge " + (s.online ? "on" : "off"),
                   title: `${name}: ` + (s.instances || []).map((i) => `${i.instance} ${i.status}`).join(", ") },
         `${name} ${s.online ? "●" : "○"}`)));
    // "own site" sends no siteId: the bridge picks its own site, or the site of a user token (a user may
    // not wake another site, and /api/status lists only the sites it may use).
    const select = document.getElementById("wake-site");
    const sites = Object.keys(status.sites || {});
    const current = select.value;
    select.replaceChildren(el("option", { value: "" }, "own site"), ...sites.map((site) => el("option", { value: site }, site)));
    if (sites.includes(current)) select.value = current;
  } catch (err) {
    box.replaceChildren(el("span", { class: "badge off" }, "bridge status unavailable: " + err.message));
  }
}

function startLog() {
  const list = document.getElementById("log-lines");
  const add = (text, cls = "") => {
    list.prepend(el("li", { class: cls }, `${new Date().toLocaleTimeString()} ${text}`));
    while (list.children.length > 500) list.lastChild.remove();
  };
  if (tokenRole() !== "user") {  // the live log is admin-only
    socket("/api/events/log", (data) => add(typeof data === "string" ? data : JSON.stringify(data)));
  }
  socket("/api/events/intent", (d) => add(`intent ${d.intent && d.intent.name || "(none)"} on ${d.siteId}: "${d.text}"`, "ok"));
  socket("/api/events/text", (d) => add(`text on ${d.siteId}: "${d.text}"`));
  socket("/api/events/wake", (d) => add(`wake ${d.wakewordId} on ${d.siteId}`));
}

function setupTopBar() {
  document.getElementById("train").addEventListener("click", () => train());
  document.getElementById("restart").addEventListener("click", (e) => busy(e.target, async () => {
    await api("/api/restart", { method: "POST", as: "text" });
    showAlert("Restart requested", "info");
  }));
  // Wake up as Rhasspy's button does: POST /api/listen-for-command starts a session through the dialogue
  // manager and answers the intent of the command spoken next. A user token may call it for its own site,
  // where a raw MQTT publish would need the admin role.
  document.getElementById("wake").addEventListener("click", (e) => busy(e.target, async () => {
    const site = document.getElementById("wake-site").value;
    e.target.textContent = "Listening…";
    showAlert(`Listening on ${site ? "site " + site : "the own site"}: speak a command`, "info");
    const result = await api("/api/listen-for-command" + (site ? "?siteId=" + encodeURIComponent(site) : ""), { method: "POST" });
    const name = result.intent && result.intent.name;
    showAlert(name ? `Heard "${result.text}": ${name}` : `No intent recognized${result.text ? ` in "${result.text}"` : ""}`, "info");
    document.dispatchEvent(new CustomEvent("hermesh:intent", { detail: result }));
  }));
  const toggle = document.getElementById("log-toggle");
  toggle.addEventListener("click", () => {
    const log = document.getElementById("log");
    log.hidden = !log.hidden;
    toggle.setAttribute("aria-expanded", String(!log.hidden));
  });
  document.getElementById("log-clear").addEventListener("click", () => document.getElementById("log-lines").replaceChildren());
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { document.getElementById("log").hidden = true; toggle.setAttribute("aria-expanded", "false"); }
  });
}

async function start() {
  setupTopBar();
  api("/api/version", { as: "text" }).then((v) => { document.getElementById("version").textContent = v; }).catch(() => {});
  refreshStatus();
  setInterval(refreshStatus, 5000);
  startLog();
  window.addEventListener("hashchange", route);
  await route();
}

start();
