"""`hermesh import-rhasspy`, run as a user would: a Rhasspy 2.5 profile folder in, a working Hermesh profile out.

The Rhasspy profile is the large home profile of ../shared/bench (its sentences.ini, slots and test sentences,
exported by ../shared/bench/nlu_bench.py) plus a profile.json written in Rhasspy's own format
(../shared/docs/rhasspy-http-api.md §4, §5), an intents/ sub-folder, a slot program, a converter, custom
words at a custom path, a feedback sound and a command handler inside the profile.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bridge.settings import BridgeSettings
from services.asr.service import AsrSettings
from services.audio.input_service import AudioInputSettings
from services.audio.output_service import AudioOutputSettings
from services.config import load_common, load_section
from services.dialogue.settings import DialogueSettings
from services.intent_handler.settings import IntentHandlerSettings
from services.nlu.settings import NluSettings
from services.nlu.training import load_trained_profile, profile_settings
from services.tts.settings import TtsSettings
from services.wake.settings import WakeSettings

REPO = Path(__file__).resolve().parents[2]
HOME_EXPORT = REPO.parent / "shared" / "bench" / "nlu_bench.py"
HERMESH = [sys.executable, "-m", "services.cli"]
SOUND = REPO / "services" / "dialogue" / "sounds" / "wake.wav"
SECTIONS: dict[str, Any] = {
    "asr": AsrSettings, "nlu": NluSettings, "wake": WakeSettings, "tts": TtsSettings, "dialogue": DialogueSettings,
    "intent_handler": IntentHandlerSettings, "audio_input": AudioInputSettings,
    "audio_output": AudioOutputSettings, "bridge": BridgeSettings,
}

RHASSPY_PROFILE_JSON: dict[str, Any] = {
    "language": "en",
    "mqtt": {"enabled": True, "host": "broker.lan", "port": 1884, "username": "rhasspy", "password": "pw-123",
             "site_id": "livingroom,kitchen",
             "tls": {"enabled": True, "ca_certs": "/etc/ssl/certs/ca.pem", "cert_reqs": "CERT_REQUIRED"}},
    "speech_to_text": {"system": "pocketsphinx", "satellite_site_ids": "satellite1",
                       "pocketsphinx": {"custom_words": "${RHASSPY_PROFILE_DIR}/words/custom.txt",
                                        "mix_weight": 0.1, "open_transcription": False}},
    "intent": {"system": "fsticuffs", "fsticuffs": {"fuzzy": True}, "replace_numbers": True,
               "satellite_site_ids": "satellite1"},
    "wake": {"system": "pocketsphinx", "pocketsphinx": {"keyphrase": "hey computer", "threshold": "1e-25"},
             "raven": {"keywords": {"okay rhasspy": {}}}, "satellite_site_ids": ""},
    "text_to_speech": {"system": "larynx", "larynx": {"default_voice": "harvard"},
                       "satellite_site_ids": "satellite1,satellite2"},
    "dialogue": {"system": "rhasspy", "session_timeout": 20, "say_chars_per_second": 25, "volume": 0.5,
                 "satellite_site_ids": "satellite1,satellite2"},
    "handle": {"system": "command", "command": {"program": "${RHASSPY_PROFILE_DIR}/handler.sh",
                                                "arguments": ["--verbose"]}},
    "home_assistant": {"url": "http://hass.lan:8123/", "access_token": "token-abc", "handle_type": "event"},
    "sounds": {"system": "aplay", "wake": "${RHASSPY_PROFILE_DIR}/sounds/ding.wav",
               "recorded": "${RHASSPY_BASE_DIR}/etc/wav/beep_lo.wav", "error": ""},
    "microphone": {"system": "pyaudio", "pyaudio": {"device": "2"}},
    "webhooks": {"hermes/intent/#": ["http://127.0.0.1:9/every-intent"], "awake": ["http://127.0.0.1:9/awake"]},
    "name": "my home",
}
EXTRA_INI = "[WaterPlants]\nwater the plants in the (garden | greenhouse){place!shout} on ($weekday){day}\n"


def hermesh(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HERMESH, *map(str, args)], capture_output=True, text=True, timeout=300, cwd=REPO)


def make_executable(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def write_rhasspy_profile(directory: Path, profile_json: dict[str, Any] | None = None) -> Path:
    subprocess.run([sys.executable, str(HOME_EXPORT), "export", str(directory), "-n", "300"], check=True,
                   capture_output=True, timeout=300)
    (directory / "intents" / "garden").mkdir(parents=True)
    (directory / "intents" / "garden" / "plants.ini").write_text(EXTRA_INI)
    make_executable(directory / "slot_programs" / "weekday", "#!/bin/sh\nprintf 'monday\\ntuesday\\n'\n")
    make_executable(directory / "converters" / "shout", "#!/bin/sh\ntr a-z A-Z\n")
    make_executable(directory / "handler.sh", "#!/bin/sh\ncat >/dev/null\n")
    (directory / "words").mkdir()
    (directory / "words" / "custom.txt").write_text("greenhouse G R IY N HH AW S\n")
    (directory / "sounds").mkdir()
    shutil.copy(SOUND, directory / "sounds" / "ding.wav")
    (directory / "profile.json").write_text(json.dumps(profile_json or RHASSPY_PROFILE_JSON, indent=2))
    return directory


@pytest.fixture(scope="module")
def rhasspy_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_rhasspy_profile(tmp_path_factory.mktemp("rhasspy") / "en")


@pytest.fixture(scope="module")
def imported(rhasspy_profile: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    target = tmp_path_factory.mktemp("hermesh") / "profile"
    result = hermesh("import-rhasspy", rhasspy_profile, "--to", target)
    assert result.returncode == 0, result.stderr
    return target, result.stdout


def load_all(profile: Path) -> tuple[Any, dict[str, Any]]:
    common = load_common(profile, {"profile": profile})
    return common, {name: load_section(model, common, name) for name, model in SECTIONS.items()}


def test_every_section_loads_with_the_rhasspy_settings_carried_over(imported: tuple[Path, str]) -> None:
    profile, _ = imported
    common, s = load_all(profile)
    assert (common.mqtt.host, common.mqtt.port, common.mqtt.username) == ("broker.lan", 1884, "rhasspy")
    assert common.mqtt.password is not None and common.mqtt.password.get_secret_value() == "pw-123"
    assert common.mqtt.tls and str(common.mqtt.ca_file) == "/etc/ssl/certs/ca.pem"
    assert common.site_ids == ["livingroom", "kitchen", "satellite1", "satellite2"]
    assert common.own_site_id == "livingroom"
    phrase = s["wake"].pocketsphinx.phrases[0]
    assert (s["wake"].engine, phrase.phrase, phrase.threshold) == ("pocketsphinx", "hey computer", 1e-25)
    assert s["asr"].engine == "pocketsphinx" and s["asr"].mode == "grammar"
    assert s["nlu"].fuzzy is True and s["nlu"].replace_numbers is True
    assert profile_settings(profile).fuzzy is True
    ha = s["intent_handler"].home_assistant
    assert (ha.url, ha.handle_type) == ("http://hass.lan:8123/", "event")
    assert ha.access_token is not None and ha.access_token.get_secret_value() == "token-abc"
    command = s["intent_handler"].command
    assert command.program == str(profile / "handler.sh") and command.arguments == ["--verbose"]
    assert os.access(profile / "handler.sh", os.X_OK)
    assert s["intent_handler"].webhooks.urls == {"*": ["http://127.0.0.1:9/every-intent"]}
    dialogue = s["dialogue"]
    assert (dialogue.session_timeout, dialogue.say_chars_per_second, dialogue.volume) == (20.0, 25.0, 0.5)
    assert s["bridge"].say_chars_per_second == 25.0
    assert dialogue.sounds == {"wake": "sounds/ding.wav", "error": ""}  # recorded: Rhasspy's beep -> ours
    assert (profile / "sounds" / "ding.wav").read_bytes() == SOUND.read_bytes()
    assert s["audio_input"].device == 2
    assert (profile / "custom_words.txt").read_text() == "greenhouse G R IY N HH AW S\n"
    assert (profile / "intents" / "garden" / "plants.ini").read_text() == EXTRA_INI
    assert os.access(profile / "slot_programs" / "weekday", os.X_OK)
    assert os.access(profile / "converters" / "shout", os.X_OK)
    assert stat.S_IMODE((profile / "profile.json").stat().st_mode) == 0o600  # it holds the token and password


def test_the_report_names_each_setting_and_why_it_did_not_carry_over(imported: tuple[Path, str]) -> None:
    _, report = imported
    lines = report.splitlines()

    def line(key: str) -> str:
        found = [row for row in lines if row.startswith(key + " ")]
        assert found, f"no report line for {key}:\n{report}"
        return found[0]

    assert "larynx" in line("text_to_speech.system") and "does not ship" in line("text_to_speech.system")
    assert "not carried" in line("text_to_speech.larynx.default_voice")
    assert "wake.system is 'pocketsphinx'" in line("wake.raven.keywords.okay rhasspy")
    assert "mqtt.host" in line("mqtt.host") and "site_ids" in line("dialogue.satellite_site_ids")
    assert "wake.pocketsphinx.phrases[0].threshold" in line("wake.pocketsphinx.threshold")
    assert "intent_handler.home_assistant.handle_type" in line("home_assistant.handle_type")
    assert "no Hermesh equivalent" in line("speech_to_text.pocketsphinx.mix_weight")
    assert "intents only" in line("webhooks.awake")
    assert "pw-123" not in report and "token-abc" not in report  # secrets are masked
    assert "Next: hermesh train --profile" in report


def test_the_imported_profile_trains_and_recognises_the_rhasspy_test_sentences(
        imported: tuple[Path, str], rhasspy_profile: Path) -> None:
    profile, _ = imported
    result = hermesh("train", "--profile", profile)
    assert result.returncode == 0, result.stderr
    trained = load_trained_profile(profile)
    assert trained is not None
    cases = [json.loads(row) for row in (rhasspy_profile / "test_sentences.jsonl").read_text().splitlines()]
    wrong = []
    for case in cases:
        results = trained.recognize(case["text"])
        got = (results[0].intent, results[0].slots) if results else None
        if got != (case["intent"], case["slots"]):
            wrong.append((case["text"], got))
    assert not wrong, f"{len(wrong)} of {len(cases)} wrong, e.g. {wrong[:3]}"
    extra = trained.recognize("water the plants in the greenhouse on tuesday")
    assert extra and (extra[0].intent, extra[0].slots) == ("WaterPlants", {"place": "GREENHOUSE", "day": "tuesday"})


def test_an_existing_profile_is_kept_without_force_and_replaced_with_it(
        rhasspy_profile: Path, tmp_path: Path) -> None:
    target = tmp_path / "profile"
    assert hermesh("import-rhasspy", rhasspy_profile, "--to", target).returncode == 0
    (target / "my-notes.txt").write_text("mine")
    first = (target / "profile.json").read_bytes()

    changed = tmp_path / "changed"
    shutil.copytree(rhasspy_profile, changed, symlinks=True)
    data = json.loads((changed / "profile.json").read_text())
    data["dialogue"]["session_timeout"] = 42
    (changed / "profile.json").write_text(json.dumps(data))

    again = hermesh("import-rhasspy", changed, "--to", target)
    assert again.returncode == 2
    assert str(target) in again.stderr and "--force" in again.stderr
    assert (target / "profile.json").read_bytes() == first and (target / "my-notes.txt").exists()

    forced = hermesh("import-rhasspy", changed, "--to", target, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "Replaced" in forced.stdout
    _, sections = load_all(target)
    assert sections["dialogue"].session_timeout == 42.0
    assert not (target / "my-notes.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["changed", "profile"]  # nothing left beside it


@pytest.mark.parametrize("content, problem", [
    ('{"mqtt": {"host": "broker.lan",}}', "not valid JSON at line 1"),
    ('["not", "an", "object"]', "must contain a JSON object"),
    ('{"mqtt": "broker.lan"}', "key 'mqtt' must be an object"),
    (None, "missing"),
])
def test_a_broken_profile_json_is_a_clear_error_and_writes_nothing(
        tmp_path: Path, content: str | None, problem: str) -> None:
    source = tmp_path / "rhasspy"
    source.mkdir()
    (source / "sentences.ini").write_text("[GetTime]\nwhat time is it\n")
    if content is not None:
        (source / "profile.json").write_text(content)
    target = tmp_path / "out" / "profile"
    result = hermesh("import-rhasspy", source, "--to", target)
    assert result.returncode == 2
    assert str(source / "profile.json") in result.stderr and problem in result.stderr, result.stderr
    assert not target.exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_help_explains_the_command() -> None:
    assert "import-rhasspy" in hermesh("--help").stdout
    text = hermesh("import-rhasspy", "--help").stdout
    for part in ("PROFILE_DIR", "--to", "--force", "Rhasspy 2.5"):
        assert part in text
