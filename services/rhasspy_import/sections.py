"""How each Rhasspy 2.5 profile.json section maps onto Hermesh settings (one function per section).

Names and defaults follow ../shared/docs/rhasspy-http-api.md §4 (Rhasspy 2.5.11's defaults) and §5 (Home
Assistant). A Rhasspy user profile.json holds only what differs from Rhasspy's defaults, so only keys that are
present are converted; the one exception is home_assistant.handle_type, whose Rhasspy default (``intent``)
differs from ours (``event``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hermes.nlu import NluIntent
from hermes.site_ids import site_id_problem

from .convert import (
    CARRIED,
    ELSEWHERE,
    NOT_CARRIED,
    NOT_USED,
    SATELLITE_SECTIONS,
    Conversion,
    Converter,
    Copy,
    as_bool,
    as_float,
    comma_list,
    shown,
)

NOT_SHIPPED = "not carried: Hermesh does not ship the {system} engine; {fallback}"
BUILTIN_BEEP = "Rhasspy's built-in beep -> Hermesh's built-in sound"
NO_EQUIVALENT = "not carried: no Hermesh equivalent"


def _system(c: Converter, section: str) -> str | None:
    value = c.get(f"{section}.system")
    return value if isinstance(value, str) else None


def _positive(value: Any) -> bool:
    return value > 0


def mqtt(c: Converter) -> None:
    external = as_bool(c.get("mqtt.enabled", False))
    if c.has("mqtt.enabled"):
        c.row("mqtt.enabled", CARRIED, "mqtt.host/port: an external broker" if external else
              "(no key) Rhasspy's internal broker: 'hermesh up' starts its own Mosquitto on 127.0.0.1:1883")
    if not external:
        for key in [k for k in c.leaves if k.startswith("mqtt.") and k != "mqtt.site_id"]:
            c.skip(key, "mqtt.enabled is false: Rhasspy used its internal broker", NOT_USED)
        return
    if c.has("mqtt.host"):
        c.take("mqtt.host", "mqtt.host", str(c.get("mqtt.host")))
    c.convert_value("mqtt.port", "mqtt.port", lambda v: int(v) if str(v).isdigit() else None,
                    lambda v: 1 <= v <= 65535, "a port number 1-65535")
    if c.get("mqtt.username"):
        c.take("mqtt.username", "mqtt.username", str(c.get("mqtt.username")))
    if c.get("mqtt.password"):
        c.take("mqtt.password", "mqtt.password", str(c.get("mqtt.password")),
               note="or HERMESH_MQTT_PASSWORD in the environment")
    tls = as_bool(c.get("mqtt.tls.enabled", False))
    if c.has("mqtt.tls.enabled"):
        c.take("mqtt.tls.enabled", "mqtt.tls", bool(tls))
    if not tls:
        for key in [k for k in c.leaves if k.startswith("mqtt.tls.")]:
            c.skip(key, "mqtt.tls.enabled is false", NOT_USED)
        return
    for key, target in (("mqtt.tls.ca_certs", "mqtt.ca_file"), ("mqtt.tls.certfile", "mqtt.cert_file"),
                        ("mqtt.tls.keyfile", "mqtt.key_file")):
        if c.get(key):
            path = c.resolve(str(c.get(key)))
            if path is None:
                c.skip(key, "not carried: a file of Rhasspy's installation")
            else:
                c.take(key, target, str(path), note="absolute path")
    requirement = c.get("mqtt.tls.cert_reqs")
    if requirement == "CERT_REQUIRED":
        c.row("mqtt.tls.cert_reqs", CARRIED, "(default) Hermesh always checks the broker's certificate")
    else:
        c.skip("mqtt.tls.cert_reqs", "not carried: Hermesh always checks the broker's certificate "
               "(mqtt.tls_insecure skips only the host name check)")
    c.skip("mqtt.tls.ciphers", NO_EQUIVALENT + " (Python's default ciphers)")
    c.skip("mqtt.tls.version", NO_EQUIVALENT + " (Python negotiates the TLS version)")


def site_ids(c: Converter) -> None:
    """mqtt.site_id (first = own) plus every section's satellite_site_ids -> the one site_ids list."""
    own = comma_list(c.get("mqtt.site_id", ""))
    satellites: list[tuple[str, list[str]]] = []
    for section in SATELLITE_SECTIONS:
        key = f"{section}.satellite_site_ids"
        if c.has(key):
            satellites.append((key, comma_list(c.get(key))))
    everything = own + [s for _, ids in satellites for s in ids]
    bad = [s for s in everything if site_id_problem(s) is not None]
    sites: list[str] = []
    if everything and (not own or own[0] in bad):
        sites.append("default")  # Rhasspy's own site id when mqtt.site_id is not set
    for site in everything:
        if site not in sites and site not in bad:
            sites.append(site)
    if c.has("mqtt.site_id"):
        if own and own[0] not in bad:
            c.take("mqtt.site_id", "site_ids", sites, note=f"own site id {sites[0]!r}; only these sites are "
                   "served (Hermesh's default is every site: list web UI clients' sites too)")
        else:
            c.skip("mqtt.site_id", "not carried: not a valid site id")
    for key, ids in satellites:
        if not ids:
            c.row(key, CARRIED, "(nothing to add)")
            continue
        c.take(key, "site_ids", sites, note="Hermesh serves one site list for every service")
    if bad:
        c.note("site ids", ", ".join(bad), NOT_CARRIED, "not valid site ids (no '/', '+', '#', at most 64 characters)")


def speech_to_text(c: Converter) -> None:
    system = _system(c, "speech_to_text")
    for key, target in (("speech_to_text.sentences_ini", "sentences.ini"), ("speech_to_text.sentences_dir", "intents"),
                        ("speech_to_text.slots_dir", "slots"), ("speech_to_text.slot_programs_dir", "slot_programs")):
        if c.has(key):
            c.row(key, CARRIED, f"{target} of the new profile (Hermesh's fixed name)")
    casing = {"lower": "lower", "upper": "upper", "ignore": "keep", "": "keep"}
    if c.has("speech_to_text.dictionary_casing"):
        value = c.get("speech_to_text.dictionary_casing")
        if value in casing:
            c.take("speech_to_text.dictionary_casing", "nlu.word_casing", casing[value])
        else:
            c.skip("speech_to_text.dictionary_casing", "not carried: expected lower, upper or ignore")
    if system is None:
        c.unused_systems("speech_to_text", "pocketsphinx")
        return
    key = "speech_to_text.system"
    if system in ("pocketsphinx", "kaldi"):
        c.take(key, "asr.engine", system)
    else:
        _not_ours(c, "speech_to_text", system, "asr", "the new profile uses pocketsphinx")
    if system == "pocketsphinx":
        if c.has("speech_to_text.pocketsphinx.open_transcription"):
            dictation = as_bool(c.get("speech_to_text.pocketsphinx.open_transcription"))
            c.take("speech_to_text.pocketsphinx.open_transcription", "asr.mode",
                   "dictation" if dictation else "grammar")
        for name in ("acoustic_model", "dictionary", "base_dictionary", "g2p_model", "mllr_matrix"):
            c.skip(f"speech_to_text.pocketsphinx.{name}", "not carried: Hermesh uses its bundled en-us model "
                   "(set asr.acoustic_model to use another)")
    if system == "kaldi":
        c.skip("speech_to_text.kaldi.model_dir", "not carried: Hermesh's kaldi engine needs a "
               "kaldi-active-grammar model: set asr.kaldi_model_dir")
    for name in ("language_model", "unknown_words", "dictionary", "graph", "base_language_model_fst"):
        c.skip(f"speech_to_text.{system}.{name}", "not carried: a training output, 'hermesh train' makes its own")
    if c.has(f"speech_to_text.{system}.custom_words"):
        c.row(f"speech_to_text.{system}.custom_words", CARRIED, "custom_words.txt (asr.custom_words)")
    c.skip(f"speech_to_text.{system}.mix_weight", NO_EQUIVALENT + " (asr.mode ngram uses the intents' n-grams)")
    c.unused_systems("speech_to_text", system)


def intent(c: Converter) -> None:
    system = _system(c, "intent") or "fsticuffs"
    key = "intent.system"
    if c.has(key):
        if system == "fsticuffs":
            c.row(key, CARRIED, "nlu (Hermesh's NLU follows fsticuffs)")
        elif system == "fuzzywuzzy":
            c.take(key, "nlu.fuzzy", True, note="Hermesh's NLU with fuzzy matching is the closest")
        else:
            _not_ours(c, "intent", system, "nlu", "the new profile uses Hermesh's NLU")
    _take_bool(c, "intent.fsticuffs.fuzzy", "nlu.fuzzy")
    if c.get("intent.fsticuffs.failure_token"):
        c.take("intent.fsticuffs.failure_token", "nlu.failure_token", str(c.get("intent.fsticuffs.failure_token")))
    _take_bool(c, "intent.replace_numbers", "nlu.replace_numbers")
    if c.has("intent.fsticuffs.converters_dir"):
        c.row("intent.fsticuffs.converters_dir", CARRIED, "converters (Hermesh's fixed name)")
    c.skip("intent.fsticuffs.intent_graph", "not carried: a training output, 'hermesh train' makes its own")
    c.skip("intent.fsticuffs.ignore_unknown_words", NO_EQUIVALENT + " (fuzzy matching skips extra words at a cost)")
    c.unused_systems("intent", system if system in ("fsticuffs", "fuzzywuzzy") else "fsticuffs")


def _take_bool(c: Converter, key: str, target: str) -> None:
    c.convert_value(key, target, as_bool, lambda _value: True, "expected true or false")


def _not_ours(c: Converter, section: str, system: str, service: str, fallback: str) -> None:
    """A ``<section>.system`` that is no engine of ours: run elsewhere (the service is left out here), or an
    engine Hermesh does not ship (said, with what the new profile does instead)."""
    key = f"{section}.system"
    if system in ELSEWHERE:
        c.service_off(key, service, system)
    else:
        c.skip(key, NOT_SHIPPED.format(system=system, fallback=fallback))
        c.not_shipped(section, system)


def wake(c: Converter) -> None:
    system = _system(c, "wake")
    if system is None:
        c.unused_systems("wake", "pocketsphinx")
        return
    key = "wake.system"
    if system in ("pocketsphinx", "precise"):
        c.take(key, "wake.engine", system)
    else:
        _not_ours(c, "wake", system, "wake",
                  "the new profile spots 'bumblebee' with pocketsphinx (wake.pocketsphinx.phrases)")
    if system == "pocketsphinx":
        phrase = str(c.get("wake.pocketsphinx.keyphrase") or "").strip()
        entry: dict[str, Any] = {"phrase": phrase or "bumblebee"}
        if phrase:
            c.row("wake.pocketsphinx.keyphrase", CARRIED, "wake.pocketsphinx.phrases[0].phrase")
        if c.has("wake.pocketsphinx.threshold"):
            threshold = as_float(c.get("wake.pocketsphinx.threshold"))
            if threshold is not None and 0 < threshold <= 1:
                entry["threshold"] = threshold
                c.row("wake.pocketsphinx.threshold", CARRIED, "wake.pocketsphinx.phrases[0].threshold")
            else:
                c.skip("wake.pocketsphinx.threshold", "not carried: expected a number in (0, 1]")
        if phrase or "threshold" in entry:
            c.put("wake.pocketsphinx.phrases", [entry])
        for name in ("acoustic_model", "dictionary", "mllr_matrix"):
            c.skip(f"wake.pocketsphinx.{name}", "not carried: Hermesh uses its bundled en-us model "
                   "(wake.pocketsphinx.acoustic_model / dictionary)")
    if system == "precise":
        if c.get("wake.precise.model"):
            c.carry_file("wake.precise.model", "wake.precise.model", builtin="a model of Rhasspy's installation")
            params = c.out.copies[-1] if c.out.copies and c.out.copies[-1].target.endswith(".pb") else None
            if params is not None and params.source.with_name(params.source.name + ".params").is_file():
                c.out.copies.append(Copy(params.source.with_name(params.source.name + ".params"),
                                         params.target + ".params"))
        c.convert_value("wake.precise.sensitivity", "wake.precise.sensitivity", as_float,
                        lambda v: 0 <= v <= 1, "a number in [0, 1]")
        c.convert_value("wake.precise.trigger_level", "wake.precise.trigger_level",
                        lambda v: int(v) if str(v).isdigit() else None, lambda v: v >= 0, "a whole number")
        c.skip("wake.precise.engine_path", "not carried: set wake.precise.engine to precise-engine")
    c.unused_systems("wake", system)


def text_to_speech(c: Converter) -> None:
    system = _system(c, "text_to_speech")
    if system is None:
        c.unused_systems("text_to_speech", "espeak")
        return
    key = "text_to_speech.system"
    if system == "espeak":
        c.take(key, "tts.engine", "espeak")
        if c.get("text_to_speech.espeak.voice"):
            c.take("text_to_speech.espeak.voice", "tts.espeak.voice", str(c.get("text_to_speech.espeak.voice")))
        c.convert_value("text_to_speech.espeak.volume", "tts.espeak.volume",
                        lambda v: round(v * 100) if (v := as_float(v)) is not None else None,
                        lambda v: 0 <= v <= 200, "a volume in [0, 2]")
        c.skip("text_to_speech.espeak.arguments", NO_EQUIVALENT + " (tts.espeak has rate, pitch and voice)")
    else:
        _not_ours(c, "text_to_speech", system, "tts", "the new profile speaks with espeak-ng")
    c.unused_systems("text_to_speech", system)


def dialogue(c: Converter) -> None:
    system = _system(c, "dialogue")
    if system in ELSEWHERE:
        c.service_off("dialogue.system", "dialogue", system)
    elif system is not None:
        c.row("dialogue.system", CARRIED, "dialogue (Hermesh's dialogue manager)")
    for name, check, expect in (("session_timeout", _positive, "a number of seconds above 0"),
                                ("say_chars_per_second", _positive, "a number above 0"),
                                ("volume", lambda v: 0 <= v <= 1, "a number in [0, 1]")):
        key = f"dialogue.{name}"
        if not c.has(key):
            continue
        value = as_float(c.get(key))
        if value is None or not check(value):
            c.skip(key, f"not carried: expected {expect}")
            continue
        c.take(key, f"dialogue.{name}", value)
        if name == "say_chars_per_second":  # the bridge sizes its TTS waits with the same rate
            c.put("bridge.say_chars_per_second", value)
            c.note(key, shown(key, value), CARRIED, "bridge.say_chars_per_second")
    if c.get("dialogue.group_separator"):
        c.take("dialogue.group_separator", "dialogue.group_separator", str(c.get("dialogue.group_separator")))
    c.skip("dialogue.sound_suffixes", NO_EQUIVALENT + " (Hermesh plays WAV files)")


def sounds(c: Converter) -> None:
    system = _system(c, "sounds")
    if system in ELSEWHERE:
        c.service_off("sounds.system", "audio-output", system)
    elif system == "aplay":
        c.row("sounds.system", CARRIED, "audio-output (PortAudio playback)")
        c.skip("sounds.aplay.device", "not carried: an ALSA device name; set audio_output.device to a "
               "PortAudio device (name or index)")
        c.convert_value("sounds.aplay.volume", "audio_output.volume", as_float, lambda v: 0 <= v <= 1,
                        "a number in [0, 1]")
    elif system is not None:
        c.skip("sounds.system", NOT_SHIPPED.format(system=system, fallback="the new profile plays with "
                                                                           "audio-output"))
        c.not_shipped("sounds", system)
    for event in ("wake", "recorded", "error"):
        if c.has(f"sounds.{event}"):
            c.carry_file(f"sounds.{event}", f"dialogue.sounds.{event}", builtin=BUILTIN_BEEP)
    c.unused_systems("sounds", system or "aplay")


def microphone(c: Converter) -> None:
    system = _system(c, "microphone")
    if system in ELSEWHERE:
        c.service_off("microphone.system", "audio-input", system)
    elif system == "pyaudio":
        c.row("microphone.system", CARRIED, "audio-input (PortAudio, like pyaudio)")
        device = c.get("microphone.pyaudio.device")
        if isinstance(device, int) or (isinstance(device, str) and device.strip().isdigit()):
            c.take("microphone.pyaudio.device", "audio_input.device", int(device), note="same PortAudio index")
        elif device == "":
            c.row("microphone.pyaudio.device", CARRIED, "(default device)")
        c.convert_value("microphone.pyaudio.frames_per_buffer", "audio_input.chunk_samples",
                        lambda v: int(v) if str(v).isdigit() else None, lambda v: 160 <= v <= 16000,
                        "a number of samples 160-16000")
    elif system is not None:
        c.skip("microphone.system", f"not carried: Hermesh records with PortAudio, not {system}; set "
               "audio_input.device if the default device is not the one")
        c.not_shipped("microphone", system)
    c.unused_systems("microphone", system or "pyaudio")


def handle(c: Converter) -> None:
    system = _system(c, "handle")
    key = "handle.system"
    if system == "hass":
        c.take(key, "intent_handler.home_assistant.enabled", True)
    elif system == "remote":
        url = c.get("handle.remote.url")
        if url:
            c.take(key, "intent_handler.webhooks.urls", {"*": [str(url)]}, note="the remote URL gets every intent")
            c.row("handle.remote.url", CARRIED, "intent_handler.webhooks.urls.*")
        else:
            c.skip(key, "not carried: handle.remote.url is not set")
    elif system == "command":
        program = c.get("handle.command.program")
        if isinstance(program, str) and program:
            c.row(key, CARRIED, "intent_handler.command")
            c.carry_file("handle.command.program", "intent_handler.command.program",
                         builtin="a program of Rhasspy's installation", absolute=True)
            arguments = c.get("handle.command.arguments")
            if isinstance(arguments, list) and arguments:
                c.take("handle.command.arguments", "intent_handler.command.arguments", [str(a) for a in arguments])
        else:
            c.skip(key, "not carried: handle.command.program is not set")
    elif system == "dummy":
        c.row(key, CARRIED, "(no key) no intent handler, as in Rhasspy")
    c.unused_systems("handle", system or "hass")


def home_assistant(c: Converter) -> None:
    target = "intent_handler.home_assistant."
    if c.get("home_assistant.url"):
        c.take("home_assistant.url", target + "url", str(c.get("home_assistant.url")))
    if c.get("home_assistant.access_token"):
        c.take("home_assistant.access_token", target + "access_token", str(c.get("home_assistant.access_token")))
    handle_type = c.get("home_assistant.handle_type")
    if handle_type in ("event", "intent"):
        c.take("home_assistant.handle_type", target + "handle_type", handle_type)
    elif c.has("home_assistant.handle_type"):
        c.skip("home_assistant.handle_type", "not carried: expected event or intent")
    elif _system(c, "handle") == "hass":
        c.put(target + "handle_type", "intent")
        c.note("home_assistant.handle_type", "(not set)", CARRIED,
               target + "handle_type = intent (Rhasspy 2.5.11's default; Hermesh's is event)")
    if c.get("home_assistant.event_type_format"):
        c.take("home_assistant.event_type_format", target + "event_type_format",
               str(c.get("home_assistant.event_type_format")))
    for name, hermesh in (("pem_file", "cert_file"), ("key_file", "key_file")):
        key = f"home_assistant.{name}"
        if c.get(key):
            path = c.resolve(str(c.get(key)))
            if path is None:
                c.skip(key, "not carried: a file of Rhasspy's installation")
                continue
            c.take(key, target + hermesh, str(path), note="absolute path")
            c.put(target + "verify_tls", False)
            c.note(key, "", CARRIED, target + "verify_tls = false (Rhasspy does not check HA's certificate "
                   "when it has a client certificate)")
    c.skip("home_assistant.api_password", NO_EQUIVALENT + " (deprecated by Home Assistant: use access_token)")


def webhooks(c: Converter) -> None:
    urls: dict[str, list[str]] = {}
    for key in [k for k in c.leaves if k.startswith("webhooks.") and k != "webhooks.satellite_site_ids"]:
        topic = key[len("webhooks."):]
        value = c.get(key)
        targets = [str(u) for u in value] if isinstance(value, list) else [str(value)] if value else []
        parsed = NluIntent.parse_topic(topic)
        every = topic in (NluIntent.subscribe_filter(), "intent")
        if every or (parsed and not any(ch in parsed["intent_name"] for ch in "+#")):
            name = "*" if every or parsed is None else parsed["intent_name"]
            urls.setdefault(name, []).extend(targets)
            c.row(key, CARRIED, f"intent_handler.webhooks.urls.{name}")
        else:
            c.skip(key, "not carried: Hermesh's webhooks are called for intents only")
    if urls:
        merged = c.out.settings.setdefault("intent_handler", {}).setdefault("webhooks", {}).setdefault("urls", {})
        for name, targets in urls.items():
            merged.setdefault(name, []).extend(t for t in targets if t not in merged.get(name, []))


def command_vad(c: Converter) -> None:
    prefix = "command.webrtcvad."
    if c.has(prefix + "vad_mode"):
        mode = as_float(c.get(prefix + "vad_mode"))
        if mode is not None and mode in (0, 1, 2, 3):
            c.take(prefix + "vad_mode", "asr.vad_mode", int(mode), note="asr.vad = webrtcvad")
            c.put("asr.vad", "webrtcvad")
        else:
            c.skip(prefix + "vad_mode", "not carried: expected 0, 1, 2 or 3")
    for name, target in (("min_sec", "min_seconds"), ("speech_sec", "speech_seconds"),
                         ("silence_sec", "silence_seconds"), ("max_sec", "max_seconds"),
                         ("timeout_sec", "max_seconds")):
        c.convert_value(prefix + name, f"asr.segmenter.{target}", as_float,
                        (lambda v: v >= 0) if name == "min_sec" else _positive, "a number of seconds")
    for name in ("skip_sec", "before_sec"):
        c.skip(prefix + name, NO_EQUIVALENT)


def training(c: Converter) -> None:
    _take_bool(c, "training.unknown_words.guess_pronunciations", "asr.guess_unknown_words")
    for name in ("speech_to_text.system", "intent.system"):
        c.skip(f"training.{name}", "not carried: Hermesh trains locally ('hermesh train')")


def general(c: Converter) -> None:
    if isinstance(c.get("language"), str) and c.get("language"):
        c.take("language", "language", c.get("language").split("-")[0].split("_")[0].lower())
    c.skip("parent", "not carried: the parent profile is not followed; import its settings separately")
    c.skip("locale", NO_EQUIVALENT + " (language is enough)")


SECTIONS = (mqtt, site_ids, general, speech_to_text, intent, wake, text_to_speech, dialogue, sounds, microphone,
            handle, home_assistant, webhooks, command_vad, training)


def convert_profile(data: dict[str, Any], source: Path, target: Path) -> Conversion:
    """The Hermesh settings, report and files for a parsed Rhasspy profile.json of the profile at ``source``,
    to become the Hermesh profile at ``target``."""
    c = Converter(data, source, target.absolute())
    for section in SECTIONS:
        section(c)
    for key in c.leaves:
        if key not in c.done:
            c.row(key, NOT_CARRIED, NO_EQUIVALENT)
    order = {key: index for index, key in enumerate(c.leaves)}
    c.out.rows.sort(key=lambda row: order.get(row.key, len(order)))
    return c.out


__all__ = ["CARRIED", "NOT_CARRIED", "NOT_USED", "convert_profile"]
