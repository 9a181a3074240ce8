"""Piper voices for tests: the bundled one, and voices folders made from it (a second language, broken files)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from services.tts.piper_engine import BUNDLED_VOICE, bundled_voice_dir

# Without noise Piper is deterministic, so two syntheses can be compared sample for sample.
EXACT = {"noise_scale": 0.0, "noise_w": 0.0}


def bundled_model() -> Path:
    folder = bundled_voice_dir()
    assert folder is not None, "the piper extra is not installed: bash scripts/install.sh --test"
    return folder / f"{BUNDLED_VOICE}.onnx"


def add_voice(folder: Path, name: str, language: str = "de_DE", dataset: str = "copy",
              speakers: tuple[str, ...] = ()) -> Path:
    """A voice named ``name`` in ``folder``: the bundled model (linked, not copied) with a config that says it
    speaks ``language`` (and, if given, has these ``speakers``: the model itself has one, so it cannot speak)."""
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / f"{name}.onnx"
    model.symlink_to(bundled_model())
    config = json.loads(bundled_model().with_name(bundled_model().name + ".json").read_text(encoding="utf-8"))
    family, _, region = language.partition("_")
    config["language"] = {"code": language, "family": family, "region": region, "name_english": f"Test {family}"}
    config["dataset"] = dataset
    if speakers:
        config["num_speakers"] = len(speakers)
        config["speaker_id_map"] = {speaker: n for n, speaker in enumerate(speakers)}
    model.with_name(model.name + ".json").write_text(json.dumps(config), encoding="utf-8")
    return model


def add_corrupt_voice(folder: Path, name: str) -> Path:
    """A voice whose .onnx is garbage (its .onnx.json is fine)."""
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / f"{name}.onnx"
    model.write_bytes(b"this is not an onnx model" * 100)
    shutil.copy(bundled_model().with_name(bundled_model().name + ".json"), model.with_name(model.name + ".json"))
    return model
