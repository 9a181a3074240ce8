// Sentences page: every template file (sentences.ini, intents/*.ini), highlighted; save and train in one action.
import { api, busy, el, showAlert, parseTemplateError } from "../api.js";
import { train } from "../app.js";
import { templateEditor } from "./editor.js";

export async function render(main) {
  const files = await api("/api/sentences", { accept: "application/json" });
  let current = Object.keys(files).sort((a, b) => (a === "sentences.ini" ? -1 : b === "sentences.ini" ? 1 : a.localeCompare(b)))[0] || "sentences.ini";
  if (!(current in files)) files[current] = "";
  const tabs = el("div", { class: "tabs", role: "tablist", "aria-label": "Template files" });
  const editor = templateEditor({ id: "sentences-editor", label: "Sentence templates" });
  const errorBox = el("div", { class: "error-box", id: "template-error", hidden: true, role: "alert" });

  const showTabs = () => {
    tabs.replaceChildren(...Object.keys(files).sort().map((name) => el("button", {
      type: "button", role: "tab", "aria-selected": String(name === current),
      onclick: () => { files[current] = editor.value; current = name; editor.value = files[name]; showTabs(); },
    }, name)));
  };
  const newFile = el("button", { type: "button", id: "new-file" }, "New file");
  newFile.addEventListener("click", () => {
    const name = prompt("New template file name (saved under intents/):", "intents/extra.ini");
    if (!name) return;
    const full = name.endsWith(".ini") ? name : name + ".ini";
    files[current] = editor.value; files[full] = files[full] || ""; current = full; editor.value = files[full]; showTabs();
  });
  const save = el("button", { type: "button", class: "primary", id: "save-train" }, "Save and train");
  save.addEventListener("click", () => busy(save, async () => {
    files[current] = editor.value;
    errorBox.hidden = true; editor.clearError();
    await api("/api/sentences", { method: "POST", type: "application/json", body: JSON.stringify(files), as: "text" });
    save.textContent = "Training…";
    await train(save);
  }));
  const onTrained = (event) => {
    if (event.detail.ok) { errorBox.hidden = true; return; }
    errorBox.textContent = event.detail.error; errorBox.hidden = false;
    const where = event.detail.where || parseTemplateError(event.detail.error);
    if (where && where.line) {
      if (where.file && where.file in files && where.file !== current) {
        files[current] = editor.value; current = where.file; editor.value = files[current]; showTabs();
      }
      editor.markError(where.line, where.column);
    }
  };
  document.addEventListener("hermesh:trained", onTrained);
  editor.value = files[current];
  showTabs();
  main.append(el("h1", {}, "Sentences"), el("section", { class: "card" },
    el("div", { class: "row" }, tabs, newFile, save), editor.root, errorBox,
    el("p", { class: "muted" }, "[Intent] starts an intent; (a | b) alternatives, [optional], {tag}, $slot, <rule>, word:substitution. Emptying a file deletes it.")));
  void showAlert;
  return () => document.removeEventListener("hermesh:trained", onTrained);
}
