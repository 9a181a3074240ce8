"""What each Rhasspy profile.json section becomes, checked without a subprocess (inline profiles, real files)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from services.rhasspy_import import CARRIED, NOT_CARRIED, NOT_USED, import_profile, validate_profile
from services.rhasspy_import.sections import convert_profile


def converted(tmp_path: Path, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
    """The settings and {key: (outcome, detail)}; the settings must also load with every model."""
    source = tmp_path / "rhasspy"
    source.mkdir(exist_ok=True)
    conversion = convert_profile(data, source, tmp_path / "hermesh")
    check = tmp_path / "check"
    check.mkdir(exist_ok=True)
    (check / "profile.json").write_text(json.dumps(conversion.settings))
    validate_profile(check)
    return conversion.settings, {row.key: (row.outcome, row.detail) for row in conversion.rows}


def test_internal_broker_hass_default_handle_type_and_services_elsewhere(tmp_path: Path) -> None:
    settings, rows = converted(tmp_path, {
        "mqtt": {"enabled": False, "host": "ignored.lan", "port": 12183},
        "wake": {"system": "hermes", "satellite_site_ids": "sat1"},
        "handle": {"system": "hass"},
        "home_assistant": {"url": "https://hass.lan:8123/", "pem_file": "/certs/client.pem"},
        "speech_to_text": {"system": "kaldi", "kaldi": {"model_dir": "kaldi", "open_transcription": True}},
    })
    assert "mqtt" not in settings and rows["mqtt.host"][0] == NOT_USED
    assert rows["mqtt.enabled"][0] == CARRIED and "Mosquitto" in rows["mqtt.enabled"][1]
    assert settings["site_ids"] == ["default", "sat1"]  # own id first, as Rhasspy's default
    assert "--without wake" in rows["wake.system"][1]
    ha = settings["intent_handler"]["home_assistant"]
    assert ha["enabled"] is True and ha["handle_type"] == "intent"  # Rhasspy 2.5.11's default, not ours
    assert ha["cert_file"] == "/certs/client.pem" and ha["verify_tls"] is False
    assert settings["asr"]["engine"] == "kaldi"
    assert "kaldi_model_dir" in rows["speech_to_text.kaldi.model_dir"][1]
    assert rows["speech_to_text.kaldi.open_transcription"][0] == NOT_CARRIED


def test_unshipped_engines_keep_ours_and_say_so(tmp_path: Path) -> None:
    settings, rows = converted(tmp_path, {
        "speech_to_text": {"system": "deepspeech", "deepspeech": {"alphabet": "alphabet.txt"}},
        "intent": {"system": "rasa", "rasa": {"url": "http://rasa/"}, "fsticuffs": {"fuzzy": False}},
        "wake": {"system": "raven", "raven": {"template_dir": "raven"}},
        "text_to_speech": {"system": "marytts"},
    })
    for key, engine in (("speech_to_text.system", "deepspeech"), ("intent.system", "rasa"),
                        ("wake.system", "raven"), ("text_to_speech.system", "marytts")):
        assert rows[key][0] == NOT_CARRIED and f"does not ship the {engine} engine" in rows[key][1]
    assert "raven, which Hermesh does not ship" in rows["wake.raven.template_dir"][1]
    assert "asr" not in settings and "wake" not in settings
    assert settings["nlu"]["fuzzy"] is False  # fsticuffs settings still apply to our NLU


def test_remote_handler_webhooks_vad_and_training(tmp_path: Path) -> None:
    settings, rows = converted(tmp_path, {
        "handle": {"system": "remote", "remote": {"url": "http://node-red:1880/intent"}},
        "webhooks": {"hermes/intent/GetTime": ["http://clock/"], "hermes/intent/#": ["http://all/"]},
        "command": {"webrtcvad": {"vad_mode": 2, "silence_sec": 0.8, "skip_sec": 0.1}},
        "training": {"unknown_words": {"guess_pronunciations": False}},
        "intent": {"system": "fuzzywuzzy"},
        "speech_to_text": {"dictionary_casing": "upper"},
    })
    assert settings["intent_handler"]["webhooks"]["urls"] == {
        "*": ["http://node-red:1880/intent", "http://all/"], "GetTime": ["http://clock/"]}
    assert settings["asr"]["vad"] == "webrtcvad" and settings["asr"]["vad_mode"] == 2
    assert settings["asr"]["segmenter"] == {"silence_seconds": 0.8}
    assert rows["command.webrtcvad.skip_sec"][0] == NOT_CARRIED
    assert settings["asr"]["guess_unknown_words"] is False
    assert settings["nlu"] == {"fuzzy": True, "word_casing": "upper"}


def test_bad_values_are_reported_not_written(tmp_path: Path) -> None:
    settings, rows = converted(tmp_path, {
        "mqtt": {"enabled": True, "port": "eighty", "site_id": "base,bad/site"},
        "wake": {"system": "pocketsphinx", "pocketsphinx": {"keyphrase": "porcupine", "threshold": 5}},
        "dialogue": {"session_timeout": -1},
        "sounds": {"wake": "missing.wav"},
    })
    assert rows["mqtt.port"][0] == NOT_CARRIED and "port" not in settings.get("mqtt", {})
    assert settings["site_ids"] == ["base"] and rows["site ids"][0] == NOT_CARRIED
    assert settings["wake"]["pocketsphinx"]["phrases"] == [{"phrase": "porcupine"}]
    assert rows["wake.pocketsphinx.threshold"][0] == NOT_CARRIED
    assert "dialogue" not in settings and "does not exist" in rows["sounds.wake"][1]


def test_default_target_is_the_usual_profile(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("HERMESH_PROFILE", raising=False)
    from services.config import default_profile_dir

    source = tmp_path / "rhasspy"
    source.mkdir()
    (source / "profile.json").write_text('{"language": "en"}')
    (source / "sentences.ini").write_text("[GetTime]\nwhat time is it\n")
    result = import_profile(source, default_profile_dir())
    assert result.target == tmp_path / "config" / "hermesh" / "profile"
    assert (result.target / "sentences.ini").is_file()
