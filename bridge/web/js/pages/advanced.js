// Advanced page: profile.json as JSON, checked before saving.
import { api, busy, el, showAlert } from "../api.js";

export async function render(main) {
  const text = await api("/api/profile?layers=profile", { as: "text" });
  const area = el("textarea", { id: "profile-json", spellcheck: "false", "aria-label": "profile.json" });
  try { area.value = JSON.stringify(JSON.parse(text), null, 2); } catch { area.value = text; }
  const problem = el("div", { class: "error-box", id: "json-error", hidden: true, role: "alert" });
  const check = () => {
    try { JSON.parse(area.value); problem.hidden = true; return true; }
    catch (err) { problem.textContent = "Not valid JSON: " + err.message; problem.hidden = false; return false; }
  };
  area.addEventListener("input", check);
  const save = el("button", { type: "button", class: "primary", id: "profile-save" }, "Save profile");
  save.addEventListener("click", () => busy(save, async () => {
    if (!check()) return;
    const answer = await api("/api/profile", { method: "POST", type: "application/json", body: area.value, as: "text" });
    showAlert(answer || "Profile saved; restart to apply every change", "info");
  }));
  main.append(el("h1", {}, "Advanced"), el("section", { class: "card" }, el("p", { class: "muted" }, "The whole profile.json. Saved atomically; invalid settings are refused with the key that is wrong."), area, problem, el("div", { class: "row" }, save)));
}
