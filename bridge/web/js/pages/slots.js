// Slots page: slot lists (one value per line, sub-folders as "dir/name"); slot programs shown read-only.
import { api, busy, el } from "../api.js";
import { train } from "../app.js";

export async function render(main) {
  let slots = await api("/api/slots");
  const select = el("select", { id: "slot-select", "aria-label": "Slot list" });
  const area = el("textarea", { id: "slot-values", "aria-label": "Slot values, one per line" });
  const name = el("input", { id: "slot-name", type: "text", placeholder: "new slot name, e.g. rooms or home/lights", "aria-label": "New slot name" });
  let current = null;
  const refresh = () => {
    const names = Object.keys(slots).sort();
    select.replaceChildren(...names.map((n) => el("option", { value: n }, n)));
    if (current && names.includes(current)) select.value = current; else current = names[0] || null;
    area.value = current ? (slots[current] || []).join("\n") : "";
  };
  select.addEventListener("change", () => { if (current) slots[current] = lines(area.value); current = select.value; refresh(); });
  const add = el("button", { type: "button", id: "slot-add" }, "Add slot");
  add.addEventListener("click", () => {
    const n = name.value.trim();
    if (!n) return;
    if (current) slots[current] = lines(area.value);
    slots[n] = slots[n] || []; current = n; name.value = ""; refresh(); area.focus();
  });
  const remove = el("button", { type: "button", id: "slot-delete" }, "Delete slot");
  remove.addEventListener("click", () => { if (current) { slots[current] = []; area.value = ""; } });
  const save = el("button", { type: "button", class: "primary", id: "slot-save" }, "Save and train");
  save.addEventListener("click", () => busy(save, async () => {
    if (current) slots[current] = lines(area.value);
    await api("/api/slots?overwriteAll=true", { method: "POST", type: "application/json", body: JSON.stringify(slots), as: "text" });
    slots = Object.fromEntries(Object.entries(slots).filter(([, v]) => v.length));
    refresh();
    await train(save);
  }));
  const programs = el("div", { id: "slot-programs" });
  api("/api/slot-programs").then((list) => {
    const entries = Object.entries(list || {});
    programs.replaceChildren(entries.length
      ? el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "program"), el("th", {}, "values (read-only)"))),
          el("tbody", {}, entries.map(([n, values]) => el("tr", {}, el("td", {}, "$" + n), el("td", { class: Array.isArray(values) ? "" : "bad" }, Array.isArray(values) ? values.slice(0, 50).join(", ") + (values.length > 50 ? " …" : "") : (values && values.error) || String(values))))))
      : el("p", { class: "muted" }, "No slot programs in this profile."));
  }).catch((err) => programs.replaceChildren(el("p", { class: "bad" }, "Slot programs: " + err.message)));
  refresh();
  main.append(el("h1", {}, "Slots"),
    el("section", { class: "card" }, el("div", { class: "row" }, select, remove, name, add, save), area,
      el("p", { class: "muted" }, "One value per line; values may be templates such as (living room | lounge):living_room. Emptying a slot deletes it.")),
    el("section", { class: "card" }, el("h2", {}, "Slot programs"), programs));
}

const lines = (text) => text.split("\n").map((l) => l.trim()).filter(Boolean);
