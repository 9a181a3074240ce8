// Words page: look up or guess a pronunciation, hear it, edit custom_words.txt, accept guesses for unknown words.
import { api, busy, el, showAlert } from "../api.js";
import { train } from "../app.js";

export async function render(main) {
  const word = el("input", { id: "word", type: "text", placeholder: "word", "aria-label": "Word to look up" });
  const lookup = el("button", { type: "submit", class: "primary", id: "lookup" }, "Look up");
  const found = el("div", { id: "lookup-result", "aria-live": "polite" });
  const player = el("audio", { id: "word-audio", controls: true });
  const custom = el("textarea", { id: "custom-words", "aria-label": "Custom words: a word and its phonemes per line" });
  custom.value = await api("/api/custom-words", { accept: "text/plain", as: "text" }).catch(() => "");

  const form = el("form", { class: "row" }, word, lookup);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(lookup, async () => {
      const result = await api("/api/lookup", { method: "POST", body: word.value.trim(), type: "text/plain" });
      const prons = result.pronunciations || [];
      const spelled = word.value.trim().toLowerCase();
      found.replaceChildren(
        el("p", {}, el("strong", { "data-testid": "looked-up" }, spelled), " ",
          el("span", { class: result.in_dictionary ? "ok" : "muted", "data-testid": "word-source" },
             result.in_dictionary ? "in the dictionary" : "guessed"), " ",
          el("button", { type: "button", id: "hear", onclick: (ev) => hear(ev.target, spelled) }, "Hear it")),
        el("ul", {}, prons.map((p) => el("li", {}, el("code", {}, p), " ",
          el("button", { type: "button", onclick: () => { custom.value = `${custom.value.trimEnd()}\n${spelled} ${p}\n`.trimStart(); } }, "Add to custom words")))),
        player);
    });
  });
  // Spoken by eSpeak and played here in the browser (the word as eSpeak reads it).
  const hear = (button, text) => busy(button, async () => {
    const blob = await api("/api/pronounce?type=word&download=true", { method: "POST", body: text, type: "text/plain", accept: "audio/wav", as: "blob" });
    player.src = URL.createObjectURL(blob);
    player.play().catch(() => {});
  });

  const saveCustom = el("button", { type: "button", class: "primary", id: "save-words" }, "Save and train");
  saveCustom.addEventListener("click", () => busy(saveCustom, async () => {
    await api("/api/custom-words", { method: "POST", body: custom.value, type: "text/plain", as: "text" });
    await train(saveCustom);
    loadUnknown();
  }));

  const unknown = el("div", { id: "unknown-words" });
  const loadUnknown = () => api("/api/unknown-words").then((words) => {
    const entries = Object.entries(words || {});
    if (!entries.length) { unknown.replaceChildren(el("p", { class: "ok" }, "Every word of the templates is in the dictionary.")); return; }
    const accept = el("button", { type: "button", id: "accept-guesses" }, "Accept all guesses");
    accept.addEventListener("click", () => {
      custom.value = (custom.value.trimEnd() + "\n" + entries.map(([w, p]) => `${w} ${Array.isArray(p) ? p[0] : p}`).join("\n") + "\n").trimStart();
      showAlert("Guesses added below; save to keep them", "info");
    });
    unknown.replaceChildren(el("table", {}, el("tbody", {}, entries.map(([w, p]) => el("tr", {}, el("td", {}, w), el("td", {}, el("code", {}, Array.isArray(p) ? p[0] : String(p))))))), accept);
  }).catch((err) => unknown.replaceChildren(el("p", { class: "muted" }, "Unknown words unavailable: " + err.message)));
  loadUnknown();

  // The phonemes custom_words.txt may use, each with an example word (GET /api/phonemes: the profile's
  // phoneme_examples.txt, or the CMU set for English), as Rhasspy's phoneme table shows them.
  const phonemes = el("div", { id: "phoneme-table" }, el("p", { class: "muted" }, "Loading…"));
  api("/api/phonemes").then((table) => {
    const entries = Object.entries(table || {});
    phonemes.replaceChildren(entries.length
      ? el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "phoneme"), el("th", {}, "example"), el("th", {}, "its phonemes"))),
          el("tbody", {}, entries.map(([phoneme, { word: example, phonemes: spelled }]) => el("tr", {},
            el("td", {}, el("code", {}, phoneme)), el("td", {}, example), el("td", {}, el("code", {}, spelled))))))
      : el("p", { class: "muted" }, "No phoneme examples for this profile's language (add phoneme_examples.txt)."));
  }).catch((err) => phonemes.replaceChildren(el("p", { class: "bad" }, "Phonemes: " + err.message)));

  main.append(el("h1", {}, "Words"),
    el("section", { class: "card" }, el("h2", {}, "Pronunciation"), form, found),
    el("section", { class: "card" }, el("h2", {}, "Unknown words of your templates"), unknown),
    el("section", { class: "card" }, el("h2", {}, "Custom words"), custom, el("div", { class: "row" }, saveCustom),
      el("p", { class: "muted" }, "One word per line followed by its phonemes, e.g. hermesh HH ER M EH SH")),
    el("section", { class: "card" }, el("details", { id: "phonemes" }, el("summary", {}, "Phoneme table"), phonemes)));
}
