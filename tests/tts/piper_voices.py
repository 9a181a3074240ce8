"""Piper voices for tests: the bundled one, and voices folders made from it (a second language, broken files)."""

from __future__ import annotations

import functools
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


# How much slower each speaker id of two_speaker_voice speaks than the one before it (Piper's length scale).
SPEAKER_SLOWDOWN = 0.5


@functools.cache
def _two_speaker_model() -> bytes:
    """The bundled model rebuilt with Piper's multi-speaker input ``sid``, which here scales the length: speaker
    0 is joe as he is, speaker 1 speaks 1.5x as slowly. No multi-speaker voice can be had offline, and a config
    that only claims speakers cannot speak (the model refuses ``sid``); this one is a real ONNX model that reads
    the id, so a test hears which speaker reached it."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(bundled_model()))
    graph = model.graph
    # The export named its phoneme embedding "sid"; that name is Piper's speaker input, so the table moves.
    for initializer in graph.initializer:
        if initializer.name == "sid":
            initializer.name = "phoneme_embedding"
    for node in graph.node:
        for n, name in enumerate(node.input):
            node.input[n] = {"sid": "phoneme_embedding", "scales": "scales_of_speaker"}.get(name, name)
    graph.input.append(helper.make_tensor_value_info("sid", TensorProto.INT64, ["batch_size"]))
    graph.initializer.extend([helper.make_tensor("speaker_one", TensorProto.FLOAT, [1], [1.0]),
                              helper.make_tensor("speaker_step", TensorProto.FLOAT, [1], [SPEAKER_SLOWDOWN])])
    # scales is (noise_scale, length_scale, noise_w): length_scale *= 1 + SPEAKER_SLOWDOWN * sid
    speaker_nodes = [
        helper.make_node("Cast", ["sid"], ["speaker_float"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["speaker_float", "speaker_step"], ["speaker_extra"]),
        helper.make_node("Add", ["speaker_extra", "speaker_one"], ["speaker_length"]),
        helper.make_node("Concat", ["speaker_one", "speaker_length", "speaker_one"], ["speaker_factors"], axis=0),
        helper.make_node("Mul", ["scales", "speaker_factors"], ["scales_of_speaker"]),
    ]
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(speaker_nodes + nodes)  # ONNX wants the graph in topological order
    onnx.checker.check_model(model)
    return model.SerializeToString()


def add_two_speaker_voice(folder: Path, name: str = "en_US-pair-medium",
                          speakers: tuple[str, str] = ("joe", "slow_joe")) -> Path:
    """A real two-speaker voice in ``folder``: speaker 0 (``speakers[0]``) sounds as the bundled voice, sample for
    sample without noise, and speaker 1 takes 1.5x as long for each phoneme."""
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / f"{name}.onnx"
    model.write_bytes(_two_speaker_model())
    config = json.loads(bundled_model().with_name(bundled_model().name + ".json").read_text(encoding="utf-8"))
    config["dataset"] = "pair"
    config["num_speakers"] = len(speakers)
    config["speaker_id_map"] = {speaker: n for n, speaker in enumerate(speakers)}
    model.with_name(model.name + ".json").write_text(json.dumps(config), encoding="utf-8")
    return model
