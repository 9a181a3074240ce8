"""Settings layers (defaults < profile.json < HERMESH_* < flags), clear errors, and the default profile."""

from __future__ import annotations

import json

import pytest
from pydantic import Field

from services.config import (
    ConfigError,
    SettingsModel,
    environment_layer,
    load_common,
    load_section,
    parse_set_options,
)
from services.profile import ensure_profile, resolve_inside, write_atomic


class DemoSettings(SettingsModel):
    fuzzy: bool = True
    threshold: float = Field(0.5, ge=0, le=1)
    words: list[str] = []


def test_layers_override_in_order(tmp_path, monkeypatch):
    (tmp_path / "profile.json").write_text(json.dumps({
        "site_ids": ["kitchen"], "mqtt": {"host": "broker.lan", "port": 1884},
        "demo": {"fuzzy": False, "threshold": 0.2},
    }))
    common = load_common(tmp_path)
    assert (common.site_ids, common.mqtt.host, common.mqtt.port) == (["kitchen"], "broker.lan", 1884)

    monkeypatch.setenv("HERMESH_MQTT__PORT", "1999")
    monkeypatch.setenv("HERMESH_SITE_IDS", "hall,attic")
    monkeypatch.setenv("HERMESH_DEMO__THRESHOLD", "0.7")
    common = load_common(tmp_path)
    assert (common.site_ids, common.mqtt.port, common.mqtt.host) == (["hall", "attic"], 1999, "broker.lan")
    demo = load_section(DemoSettings, common, "demo")
    assert (demo.fuzzy, demo.threshold) == (False, 0.7)

    common = load_common(tmp_path, {"mqtt": {"port": 2000}, "site_ids": ["porch"]})
    assert (common.mqtt.port, common.site_ids, common.mqtt.host) == (2000, ["porch"], "broker.lan")
    demo = load_section(DemoSettings, common, "demo", parse_set_options(["threshold=0.9", "words=[\"a\",\"b\"]"]))
    assert (demo.threshold, demo.words, demo.fuzzy) == (0.9, ["a", "b"], False)


def test_errors_name_file_key_and_problem(tmp_path):
    (tmp_path / "profile.json").write_text('{"mqtt": {"port": 70000}, "demo": {"threshold": 3, "typo": 1}}')
    with pytest.raises(ConfigError, match=r"profile.json.*'mqtt.port'.*less than or equal to 65535"):
        load_common(tmp_path)
    (tmp_path / "profile.json").write_text('{"demo": {"threshold": 3, "tpyo": 1}}')
    common = load_common(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_section(DemoSettings, common, "demo")
    assert "'demo.threshold'" in str(info.value) and "'demo.tpyo'" in str(info.value)
    assert str(tmp_path / "profile.json") in str(info.value)

    (tmp_path / "profile.json").write_text('{"mqtt": {"port": 1883,}}')
    with pytest.raises(ConfigError, match=r"not valid JSON at line 1, column"):
        load_common(tmp_path)
    with pytest.raises(ConfigError, match="must not contain|contain no"):
        load_common(tmp_path, {"site_ids": ["a/b"], "profile": tmp_path / "elsewhere"})
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_set_options(["oops"])


def test_environment_values_are_json_when_possible():
    layer = environment_layer({"HERMESH_A__B": "false", "HERMESH_C": "text", "HERMESH_D__E": "[1, 2]", "OTHER": "x"})
    assert layer == {"a": {"b": False}, "c": "text", "d": {"e": [1, 2]}}


def test_default_profile_is_copied_once_and_never_overwrites(tmp_path):
    target = tmp_path / "profile"
    assert ensure_profile(target) is True
    assert (target / "profile.json").exists()
    (target / "profile.json").write_text('{"language": "en", "mine": true}')
    assert ensure_profile(target) is False
    assert json.loads((target / "profile.json").read_text())["mine"] is True


def test_atomic_write_and_profile_escape(tmp_path):
    path = tmp_path / "slots" / "colors"
    write_atomic(path, "red\ngreen\n")
    assert path.read_text() == "red\ngreen\n"
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]
    assert resolve_inside(tmp_path, "slots/colors") == path
    for bad in ("../outside", "/etc/passwd", "slots/../../x"):
        with pytest.raises(ValueError, match="outside the profile"):
            resolve_inside(tmp_path, bad)
