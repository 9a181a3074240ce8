// Settings page: the common settings as a validated form; saving applies what it can and says what needs a restart.
import { api, busy, el, showAlert } from "../api.js";

// [key path, label, type, help]
const FIELDS = [
  ["General", [["site_ids", "Site ids (comma separated)", "list", "the first is this machine's own; empty = every site"],
               ["language", "Language", "text"], ["log_level", "Log level", "text", "DEBUG, INFO, WARNING or ERROR"]]],
  ["Bridge", [["bridge.reply_timeout", "Reply timeout (s)", "number", "how long the API waits for a service"]]],
  ["Broker", [["mqtt.host", "MQTT host", "text"], ["mqtt.port", "MQTT port", "number"], ["mqtt.username", "MQTT user name", "text"]]],
  ["Speech to text", [["asr.engine", "Engine", "text", "pocketsphinx, kaldi, or a class path such as my_pkg.my_asr.MyAsr"],
                      ["asr.mode", "Mode", "text", "grammar, ngram or dictation"], ["asr.vad", "Voice activity detector", "text", "pocketsphinx, webrtcvad or silero"]]],
  ["Wake word", [["wake.engine", "Engine", "text", "pocketsphinx, precise, or a class path"],
                 ["wake.pocketsphinx.phrases", "Wake phrases (JSON)", "json", '[{"phrase": "bumblebee", "threshold": 1e-30}]']]],
  ["Text to speech", [["tts.engine", "Engine", "text"], ["tts.espeak.voice", "Voice", "text", "e.g. en-us or en-us+f3"],
                      ["tts.espeak.rate", "Rate (words per minute)", "number"]]],
  ["Dialogue", [["dialogue.sounds_enabled", "Feedback sounds", "bool"], ["dialogue.no_sound_site_ids", "Sites without sounds", "list"],
                ["dialogue.session_timeout", "Session timeout (s)", "number"]]],
  ["Home Assistant", [["intent_handler.home_assistant.enabled", "Send intents to Home Assistant", "bool"],
                      ["intent_handler.home_assistant.url", "URL", "text"],
                      ["intent_handler.home_assistant.access_token", "Long-lived access token", "password", "stored in profile.json; never shown again"],
                      ["intent_handler.home_assistant.handle_type", "Mode", "text", "event, intent or conversation"]]],
];

const get = (obj, path) => path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);

// POST /api/restart, then wait until every service that was online is online again as a new process (its
// `since` later than before): only then do the settings that needed a restart apply. The bridge reloads its own
// section itself and is not restarted.
async function restartServices(timeoutMs = 90000) {
  const before = (await api("/api/status")).services || {};
  const since = (entry) => Math.max(0, ...(entry.instances || []).filter((i) => i.status === "online").map((i) => i.since || 0));
  const waiting = Object.keys(before).filter((name) => name !== "bridge" && before[name].online);
  await api("/api/restart", { method: "POST", as: "text" });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = (await api("/api/status")).services || {};
    if (waiting.every((name) => now[name] && now[name].online && since(now[name]) > since(before[name]))) return waiting;
  }
  throw new Error(`Restart requested, but not every service came back within ${timeoutMs / 1000} s: ${waiting.join(", ")}`);
}

export async function render(main) {
  const config = await api("/api/config");
  const form = el("form", { id: "settings-form", novalidate: true });
  const inputs = new Map();
  for (const [legend, fields] of FIELDS) {
    const set = el("fieldset", {}, el("legend", {}, legend));
    for (const [path, label, type, help] of fields) {
      const value = get(config, path);
      const id = "f-" + path.replace(/\./g, "-");
      let input;
      if (type === "bool") input = el("input", { id, type: "checkbox", checked: Boolean(value) });
      else if (type === "password") input = el("input", { id, type: "password", value: "", placeholder: value ? "(set; type to replace)" : "" });
      else input = el("input", { id, type: type === "number" ? "number" : "text", step: type === "number" ? "any" : null,
        value: type === "list" ? (value || []).join(", ") : type === "json" ? (value == null ? "" : JSON.stringify(value)) : (value ?? "") });
      const mark = el("span", { class: "mark", "data-key": path });
      inputs.set(path, { input, type, mark, original: input.type === "checkbox" ? input.checked : input.value });
      set.append(el("div", { class: "field" }, el("label", { for: id }, label), el("span", { class: "row" }, input, mark),
        help ? el("small", {}, help) : ""));
    }
    form.append(set);
  }
  const result = el("div", { id: "settings-result", "aria-live": "polite" });
  const save = el("button", { type: "submit", class: "primary", id: "settings-save" }, "Save settings");
  form.append(save, result);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(save, async () => {
      const patch = {};
      for (const [path, { input, type, original }] of inputs) {
        const raw = input.type === "checkbox" ? input.checked : input.value;
        if (raw === original) continue;
        let value = raw;
        if (type === "number") { value = Number(raw); if (!Number.isFinite(value)) throw new Error(`${path}: not a number`); }
        if (type === "list") value = raw.split(",").map((s) => s.trim()).filter(Boolean);
        if (type === "json") { try { value = raw ? JSON.parse(raw) : null; } catch (err) { throw new Error(`${path}: invalid JSON (${err.message})`); } }
        const keys = path.split("."); let node = patch;
        keys.slice(0, -1).forEach((k) => { node = node[k] = node[k] || {}; });
        node[keys[keys.length - 1]] = value;
      }
      if (!Object.keys(patch).length) { showAlert("Nothing changed", "info"); return; }
      const answer = await api("/api/config", { method: "PATCH", type: "application/json", body: JSON.stringify(patch) });
      // The bridge says which keys it applied at once and which the services read only when they start;
      // each field saved says which, and the second kind gets a restart to offer, as in Rhasspy's UI.
      const applied = answer.applied || [];
      const restart = answer.restartRequired || [];
      for (const [path, entry] of inputs) {
        const key = [...applied, ...restart].find((k) => k === path || k.startsWith(path + "."));
        if (!key) continue;
        const now = applied.includes(key);
        entry.mark.className = "mark badge " + (now ? "on" : "warn");
        entry.mark.textContent = now ? "applied" : "needs a restart";
      }
      const restartButton = el("button", { type: "button", class: "primary", id: "settings-restart" }, "Restart now");
      restartButton.addEventListener("click", () => busy(restartButton, async () => {
        restartButton.textContent = "Restarting…";
        const back = await restartServices();
        result.append(el("p", { class: "ok", id: "settings-restarted" }, `Restarted: ${back.join(", ") || "no service"}; the settings are in effect`));
        for (const entry of inputs.values()) {
          if (entry.mark.textContent === "needs a restart") { entry.mark.className = "mark badge on"; entry.mark.textContent = "applied"; }
        }
      }));
      result.replaceChildren(el("p", { class: "ok" }, "Saved: " + ((answer.changed || []).join(", ") || "no change")),
        applied.length ? el("p", { id: "settings-applied" }, "Applied now: " + applied.join(", ")) : "",
        restart.length ? el("p", { id: "settings-needs-restart" }, "Saved, takes effect after a restart: " + restart.join(", ") + " ", restartButton) : "");
      for (const entry of inputs.values()) entry.original = entry.input.type === "checkbox" ? entry.input.checked : entry.input.value;
    });
  });
  main.append(el("h1", {}, "Settings"), el("section", { class: "card" }, form), devicesCard());
}

// Microphones and speakers of the own site (the audio-input and audio-output services list them), and a test
// a person can hear: 3 s recorded from the chosen microphone, then played on the chosen speaker.
function devicesCard() {
  const microphone = el("select", { id: "microphone", "aria-label": "Microphone" });
  const speaker = el("select", { id: "speaker", "aria-label": "Speaker" });
  const state = el("p", { class: "muted", id: "device-state", "aria-live": "polite" });
  const heard = el("audio", { id: "device-test-audio", controls: true, hidden: true });
  const fill = (select, devices) => {
    const current = select.value;
    select.replaceChildren(...Object.entries(devices).map(([id, description]) => el("option", { value: id }, `${id}: ${description}`)));
    if (current in devices) select.value = current;
  };
  const list = async () => {
    // Only services that are online are asked: a request to one that is not would only wait and fail.
    const services = (await api("/api/status")).services || {};
    const online = (name) => services[name] && services[name].online;
    const missing = ["audio-input", "audio-output"].filter((name) => !online(name));
    if (online("audio-input")) fill(microphone, await api("/api/microphones"));
    if (online("audio-output")) fill(speaker, await api("/api/speakers"));
    state.textContent = missing.length ? `Not online here: ${missing.join(", ")} (start it to list and test its devices)` : "";
    testAll.disabled = !online("audio-input");
    record.disabled = missing.length > 0;
  };
  const testAll = el("button", { type: "button", id: "test-microphones" }, "Test microphones");
  testAll.addEventListener("click", () => busy(testAll, async () => {
    testAll.textContent = "Testing…";
    fill(microphone, await api("/api/test-microphones"));  // " (working!)" after those that hear something
  }));
  const record = el("button", { type: "button", class: "primary", id: "device-test" }, "Record 3 s and play back");
  record.addEventListener("click", () => busy(record, async () => {
    if (!microphone.value || !speaker.value) throw new Error("Choose a microphone and a speaker first");
    record.textContent = "Recording…";
    state.textContent = `Recording 3 s from microphone ${microphone.value}: speak now`;
    const wav = await api(`/api/test-microphone?seconds=3&device=${encodeURIComponent(microphone.value)}`, { method: "POST", accept: "audio/wav", as: "blob" });
    if (heard.src) URL.revokeObjectURL(heard.src);
    heard.src = URL.createObjectURL(wav); heard.hidden = false;
    record.textContent = "Playing…";
    state.textContent = `Playing it on speaker ${speaker.value}`;
    await api(`/api/test-speaker?device=${encodeURIComponent(speaker.value)}`, { method: "POST", body: wav, type: "audio/wav", as: "text" });
    state.textContent = `Recorded 3 s from microphone ${microphone.value} and played it on speaker ${speaker.value}; the recording is below too`;
  }));
  const refresh = el("button", { type: "button", id: "list-devices" }, "Refresh");
  refresh.addEventListener("click", () => busy(refresh, list));
  list().catch((err) => { state.textContent = "Devices: " + err.message; });
  return el("section", { class: "card" }, el("h2", {}, "Microphones and speakers"),
    el("div", { class: "field" }, el("label", { for: "microphone" }, "Microphone"), microphone),
    el("div", { class: "field" }, el("label", { for: "speaker" }, "Speaker"), speaker),
    el("div", { class: "row" }, refresh, testAll, record), state, heard,
    el("p", { class: "muted" }, "The devices of this machine's own site. To record and play on other ones for good, set audio_input.device and audio_output.device (Advanced) and restart."));
}
