"""Training artefacts, atomic replacement, shared slot lists, and the ASR grammars checked by pocketsphinx."""

from __future__ import annotations

import math
import pickle
import re
from pathlib import Path

import pytest
from pocketsphinx import Decoder

from services.nlu.errors import TemplateError
from services.nlu.exports import to_arpa_text, to_fsg_text, to_jsgf_text
from services.nlu.graph import IntentGraph
from services.nlu.training import (
    ARTEFACTS,
    compile_texts,
    load_trained_profile,
    sources_newer_than_training,
    train_profile,
)

from .helpers import compile_ini


@pytest.fixture(scope="module")
def decoder() -> Decoder:
    return Decoder(lm=None, bestpath=False, loglevel="FATAL")


def test_train_default_profile_writes_every_artefact(profile_dir: Path):
    steps: list[tuple[str, float]] = []
    trained = train_profile(profile_dir, progress=lambda step, fraction: steps.append((step, fraction)))
    assert steps[0][1] == 0.0 and steps[-1] == ("done", 1.0)
    for name in ARTEFACTS:
        assert (profile_dir / "trained" / name).is_file(), name
    assert set(trained.graph.intents) == {"GetTime", "GetTemperature", "GetGarageState", "ChangeLightState",
                                          "ChangeLightColor"}
    assert not sources_newer_than_training(profile_dir)
    loaded = load_trained_profile(profile_dir)
    assert loaded is not None and loaded.recognize("make the bedroom light warm white")[0].slots == {
        "name": "bedroom light", "color": "warm_white"}
    assert not list((profile_dir / "trained").glob(".staging-*"))


def test_failed_training_leaves_previous_artefacts(profile_dir: Path):
    train_profile(profile_dir)
    before = {name: (profile_dir / "trained" / name).read_bytes() for name in ARTEFACTS}
    (profile_dir / "intents").mkdir()
    (profile_dir / "intents" / "broken.ini").write_text("[X]\nturn [on\n", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"broken.ini, line 2, column 9: expected '\]'"):
        train_profile(profile_dir)
    after = {name: (profile_dir / "trained" / name).read_bytes() for name in ARTEFACTS}
    assert after == before
    assert load_trained_profile(profile_dir).recognize("what time is it")[0].intent == "GetTime"


def test_compile_texts_from_a_train_message_with_profile_fallback(profile_dir: Path):
    graph = compile_texts({"sentences.ini": "[Paint]\npaint it ($color){c}\n", "intents/x.ini": "[Y]\nyes\n"},
                          slots={}, profile_dir=profile_dir)
    assert list(graph.intents) == ["Paint", "Y"]
    graph = compile_texts({"sentences.ini": "[Paint]\npaint it ($color){c}\n"}, slots={"color": ["teal"]})
    assert "teal" in graph.vocabulary()


def test_slot_list_is_stored_once_for_every_reference():
    names = [f"lamp number {i}" for i in range(300)]
    ini = "[A]\n" + "\n".join(f"form{i} ($light){{name}}" for i in range(6)) + "\n"
    graph = compile_ini(ini, slots={"light": names})
    slot_fragments = [f for f in graph.fragments if f.kind == "slot"]
    assert [f.name for f in slot_fragments] == ["light"]
    single = compile_ini("[A]\nform0 ($light){name}\n", slots={"light": names})
    assert graph.num_states - single.num_states < 20  # five more references add a handful of states, not 5 x 300


def test_graph_pickles_round_trip(profile_dir: Path):
    graph = train_profile(profile_dir).graph
    again = pickle.loads(pickle.dumps(graph))
    assert isinstance(again, IntentGraph) and again.intents == graph.intents


def test_vocabulary_is_lowercase_spoken_words_with_numbers_as_words():
    graph = compile_ini("[A]\nset the TV to (0..3){n}\nplay (rock):Rock\ncount 12\n", pipeline=True, casing="lower",
                        word_transform="lower")
    vocab = graph.vocabulary()
    assert vocab == sorted(vocab) and all(w == w.lower() for w in vocab)
    assert {"tv", "zero", "three", "twelve", "rock"} <= set(vocab)
    assert "12" not in vocab and "0..3" not in vocab and "Rock" not in vocab


def test_fsg_text_is_accepted_by_pocketsphinx(decoder: Decoder, tmp_path: Path):
    graph = compile_ini("[A]\nturn (on | off){s} [the] ($light){name}\n[B]\nset [the] ($light) to (0..20){n}\n",
                        slots={"light": ["living room lamp", "garage light"]}, pipeline=True)
    path = tmp_path / "g.fsg"
    path.write_text(to_fsg_text(graph))
    fsg = decoder.read_fsg(str(path))
    assert fsg.accept("turn on the living room lamp")
    assert fsg.accept("set garage light to seventeen")
    assert not fsg.accept("turn the living room lamp on")
    decoder.add_fsg("test_fsg", fsg)  # a hand-written file loads as a search
    only_b = tmp_path / "b.fsg"
    only_b.write_text(to_fsg_text(graph, intent_filter=["B"]))
    fsg_b = decoder.read_fsg(str(only_b))
    assert fsg_b.accept("set the garage light to two") and not fsg_b.accept("turn on the garage light")


def test_jsgf_text_is_parsed_by_pocketsphinx(decoder: Decoder):
    graph = compile_ini("[A]\nturn (on | off) [the] ($light)\n", slots={"light": ["kitchen lamp", "desk light"]})
    fsg = decoder.parse_jsgf(to_jsgf_text(graph))
    assert fsg.accept("turn off desk light") and fsg.accept("turn on the kitchen lamp")
    assert not fsg.accept("turn desk light")


def test_arpa_model_loads_and_balances_intents(tmp_path: Path):
    graph = compile_ini("[One]\nalpha\n[Many]\nbeta (0..99)\n", pipeline=True)
    arpa = to_arpa_text(graph)
    path = tmp_path / "lm.arpa"
    path.write_text(arpa)
    Decoder(lm=str(path), loglevel="FATAL")  # pocketsphinx reads it
    counts = dict(re.findall(r"^ngram (\d)=(\d+)$", arpa, re.M))
    assert counts["1"] and counts["2"] and counts["3"]
    bigrams = arpa.split("\\2-grams:")[1].split("\\3-grams:")[0]
    probs = {parts[2]: float(parts[0]) for parts in (line.split() for line in bigrams.splitlines())
             if len(parts) >= 3 and parts[1] == "<s>"}
    # one sentence of "alpha" weighs as much as the 100 sentences of "beta <number>"
    assert math.isclose(probs["alpha"], probs["beta"], abs_tol=1e-6)
