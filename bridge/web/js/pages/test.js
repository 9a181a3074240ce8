// Test page: text -> intent, WAV upload -> transcription + intent, browser microphone over /api/audio, speech.
import { api, busy, clearAlert, el, showAlert, socket } from "../api.js";

function intentView(result, elapsed) {
  const name = result.intent && result.intent.name;
  if (!name) {
    return el("div", { class: "result", "data-testid": "intent-result" },
      el("p", { class: "intent-name bad" }, "No intent recognized"), el("p", { class: "muted" }, `"${result.text || ""}"`));
  }
  const rows = (result.entities || []).map((e) => el("tr", {},
    el("td", {}, e.entity), el("td", {}, String(e.value)), el("td", {}, e.raw_value ?? ""), el("td", { class: "muted" }, `${e.start}–${e.end}`)));
  const timing = [];
  if (result.recognize_seconds != null) timing.push(`recognized in ${(result.recognize_seconds * 1000).toFixed(1)} ms`);
  if (elapsed != null) timing.push(`round trip ${elapsed.toFixed(0)} ms`);
  return el("div", { class: "result", "data-testid": "intent-result" },
    el("p", {}, el("span", { class: "intent-name", "data-testid": "intent-name" }, name),
      " ", el("span", { class: "muted" }, `confidence ${Number(result.intent.confidence).toFixed(2)}`)),
    el("p", {}, "Text: ", el("q", {}, result.text), result.raw_text && result.raw_text !== result.text ? ["  (heard: ", el("q", {}, result.raw_text), ")"] : ""),
    rows.length ? el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "slot"), el("th", {}, "value"), el("th", {}, "raw value"), el("th", {}, "range"))), el("tbody", {}, rows))
                : el("p", { class: "muted" }, "No slots"),
    el("p", { class: "muted" }, timing.join(" · ")),
    el("details", {}, el("summary", {}, "JSON"), el("pre", { class: "json" }, JSON.stringify(result, null, 2))));
}

export async function render(main) {
  const output = el("div", { "aria-live": "polite" });
  const input = el("input", { id: "sentence", type: "text", placeholder: "turn on the living room lamp", "aria-label": "Sentence" });
  const handle = el("input", { id: "handle", type: "checkbox" });
  const recognize = el("button", { class: "primary", type: "submit", id: "recognize" }, "Recognize");
  const form = el("form", { class: "row" }, input, recognize, el("label", {}, handle, " let Home Assistant handle it"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(recognize, async () => {
      const started = performance.now();
      const result = await api("/api/text-to-intent" + (handle.checked ? "" : "?nohass=true"), {
        method: "POST", body: input.value, type: "text/plain" });
      output.replaceChildren(intentView(result, performance.now() - started));
    });
  });

  // WAV upload -> speech-to-intent (the transcription is the text of the result).
  const file = el("input", { id: "wav-file", type: "file", accept: "audio/wav,.wav", "aria-label": "WAV file" });
  const upload = el("button", { type: "button", id: "upload" }, "Transcribe WAV");
  const transcript = el("p", { "data-testid": "transcript", "aria-live": "polite" });
  upload.addEventListener("click", () => busy(upload, async () => {
    if (!file.files.length) throw new Error("Choose a WAV file first");
    const wav = await file.files[0].arrayBuffer();
    const result = await api("/api/speech-to-intent?nohass=" + (!handle.checked), { method: "POST", body: wav, type: "audio/wav" });
    transcript.textContent = `Heard: "${result.raw_text || result.text || ""}"`;
    output.replaceChildren(intentView(result));
  }));

  // Browser microphone: PCM 16 kHz over /api/audio as a site of its own; a wake message starts a session.
  const micButton = el("button", { type: "button", id: "mic" }, "Speak a command");
  const micState = el("span", { class: "muted", "data-testid": "mic-state" }, "");
  let mic = null;
  micButton.addEventListener("click", async () => {
    if (mic) { mic.stop(); mic = null; micButton.textContent = "Speak a command"; return; }
    try {
      mic = await startMicrophone((text) => { micState.textContent = text; }, (result) => output.replaceChildren(intentView(result)),
                                  (text) => { transcript.textContent = `Heard: "${text}"`; });
      micButton.textContent = "Stop";
    } catch (err) { showAlert("Microphone: " + err.message); mic = null; }
  });

  // Speak text with a chosen voice. GET /api/tts-voices answers Rhasspy's list of {voiceId, description}
  // (plus languages and speakers where the engine knows them); the option's value is the voiceId.
  const voice = el("select", { id: "voice", "aria-label": "Voice" }, el("option", { value: "" }, "default voice"));
  const voiceState = el("span", { class: "muted", "data-testid": "voice-state" }, "");
  // A voice with several speakers (a multi-speaker Piper voice) gets a second picker; its value goes out as
  // ?speaker=<name>. Hidden for voices with one speaker, which ignore it.
  const speaker = el("select", { id: "tts-speaker", "aria-label": "Speaker of the voice", hidden: true });
  const speakersOf = new Map();
  const showSpeakers = () => {
    const names = speakersOf.get(voice.value) || [];
    speaker.replaceChildren(el("option", { value: "" }, "default speaker"), ...names.map((n) => el("option", { value: n }, n)));
    speaker.hidden = names.length < 2;
  };
  voice.addEventListener("change", showSpeakers);
  api("/api/tts-voices").then((voices) => {
    for (const v of Array.isArray(voices) ? voices : []) {
      const languages = (v.languages || []).join(", ");
      const label = [v.voiceId, v.description, languages && `(${languages})`].filter(Boolean).join(" – ");
      voice.append(el("option", { value: v.voiceId }, label));
      if (Array.isArray(v.speakers)) speakersOf.set(v.voiceId, v.speakers.map(String));
    }
    showSpeakers();
  }).catch((err) => { voiceState.textContent = "No voice list: " + err.message; });
  const sayText = el("input", { id: "say-text", type: "text", value: "Hello from Hermesh", "aria-label": "Text to speak" });
  const onSite = el("input", { id: "say-on-site", type: "checkbox", "aria-label": "Also play on the site's speaker" });
  const say = el("button", { type: "button", id: "speak" }, "Speak");
  const player = el("audio", { controls: true, id: "player" });
  const play = el("button", { type: "button", id: "play-again", disabled: true }, "Play again");
  say.addEventListener("click", () => busy(say, async () => {
    const query = new URLSearchParams();
    if (voice.value) query.set("voice", voice.value);
    const chosenSpeaker = speaker.hidden ? "" : speaker.value;
    if (chosenSpeaker) query.set("speaker", chosenSpeaker);
    if (!onSite.checked) query.set("play", "false");  // only here in the page
    const blob = await api("/api/text-to-speech?" + query, { method: "POST", body: sayText.value, type: "text/plain", accept: "audio/wav", as: "blob" });
    if (player.src) URL.revokeObjectURL(player.src);
    player.src = URL.createObjectURL(blob);
    player.dataset.voice = voice.value;
    player.dataset.speaker = chosenSpeaker;
    voiceState.textContent = `Spoken by ${voice.value || "the default voice"}${chosenSpeaker ? ", speaker " + chosenSpeaker : ""}`;
    play.disabled = false;
    player.play().catch(() => {});
  }));
  play.addEventListener("click", () => { player.currentTime = 0; player.play().catch(() => {}); });

  // The last recording (the last WAV posted or command captured; the bridge keeps one): play it on the own
  // site's speaker as Rhasspy's Play Recording does, or download it.
  const playRecording = el("button", { type: "button", id: "play-recording" }, "Play on the site's speaker");
  playRecording.addEventListener("click", () => busy(playRecording, async () => {
    await api("/api/play-recording", { method: "POST", as: "text" });
    showAlert("Last recording played on the own site", "info");
  }));
  const downloadRecording = el("button", { type: "button", id: "download-recording" }, "Download WAV");
  downloadRecording.addEventListener("click", () => busy(downloadRecording, async () => {
    // fetched rather than linked: the request must carry the token in its Authorization header
    const blob = await api("/api/play-recording", { accept: "audio/wav", as: "blob" });
    const link = el("a", { href: URL.createObjectURL(blob), download: "last-recording.wav" });
    document.body.append(link); link.click(); link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }));

  // Output volume of sites (POST /api/set-volume; the bridge refuses anything outside 0..1 with a 400).
  const volume = el("input", { id: "volume", type: "number", min: "0", max: "1", step: "0.05", value: "1", "aria-label": "Volume from 0 to 1" });
  const volumeSites = el("input", { id: "volume-sites", type: "text", placeholder: "sites, comma separated (empty: own site)", "aria-label": "Sites whose volume to set" });
  const setVolume = el("button", { type: "button", id: "set-volume" }, "Set volume");
  const volumeState = el("span", { class: "muted", "data-testid": "volume-state" }, "");
  setVolume.addEventListener("click", () => busy(setVolume, async () => {
    clearAlert();  // a refusal shown before is no longer true once a volume is accepted
    const sites = volumeSites.value.trim();
    const answer = await api("/api/set-volume" + (sites ? "?siteId=" + encodeURIComponent(sites) : ""), {
      method: "POST", body: volume.value, type: "text/plain", as: "text" });
    volumeState.textContent = `Volume of ${sites || "the own site"} set to ${answer}`;
  }));

  main.append(
    el("h1", {}, "Test"),
    el("section", { class: "card" }, el("h2", {}, "Recognize a sentence"), form, output),
    el("section", { class: "card" }, el("h2", {}, "Speech"),
      el("div", { class: "row" }, file, upload), el("div", { class: "row" }, micButton, micState), transcript),
    el("section", { class: "card" }, el("h2", {}, "Text to speech"),
      el("div", { class: "row" }, sayText, voice, speaker, say, play),
      el("div", { class: "row" }, el("label", {}, onSite, " also play on the site's speaker"), voiceState), player),
    el("section", { class: "card" }, el("h2", {}, "Last recording"),
      el("div", { class: "row" }, playRecording, downloadRecording),
      el("p", { class: "muted" }, "The last WAV sent for transcription or voice command heard.")),
    el("section", { class: "card" }, el("h2", {}, "Volume"),
      el("div", { class: "row" }, el("label", { for: "volume" }, "Volume (0 to 1)"), volume, volumeSites, setVolume, volumeState)),
  );
  // The top bar's Wake up answers the intent of the command heard: show it here like a typed one.
  const onIntent = (event) => output.replaceChildren(intentView(event.detail));
  document.addEventListener("hermesh:intent", onIntent);
  return () => { if (mic) mic.stop(); document.removeEventListener("hermesh:intent", onIntent); };
}

async function startMicrophone(setState, onIntent, onText) {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false } });
  const context = new AudioContext({ sampleRate: 16000 });
  // relative to this module, so it is found under a --url-root prefix too
  await context.audioWorklet.addModule(new URL("../pcm-worklet.js", import.meta.url));
  const source = context.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(context, "pcm16");
  let site = null;
  const events = [];
  const audio = socket("/api/audio", async (data) => {
    if (data instanceof ArrayBuffer) {  // a spoken reply: play it, then say it was played
      const buffer = await context.decodeAudioData(data.slice(0));
      const player = context.createBufferSource();
      player.buffer = buffer; player.connect(context.destination); player.start();
      player.onended = () => audio.send(JSON.stringify({ type: "playFinished", id: pending }));
      return;
    }
    if (data.type === "hello") {
      site = data.siteId;
      setState(`listening as site ${site}…`);
      events.push(socket("/api/events/intent", (d) => { if (d.siteId === site) { onIntent(d); setState(`site ${site}: intent received`); } }));
      events.push(socket("/api/events/text", (d) => { if (d.siteId === site) onText(d.text); }));
      audio.send(JSON.stringify({ type: "wake" }));
    } else if (data.type === "play") pending = data.id;
  });
  let pending = null;
  node.port.onmessage = (event) => audio.send(event.data);
  source.connect(node);
  return {
    stop() {
      source.disconnect(); node.disconnect(); stream.getTracks().forEach((t) => t.stop());
      audio.close(); events.forEach((s) => s.close()); context.close(); setState("");
    },
  };
}
