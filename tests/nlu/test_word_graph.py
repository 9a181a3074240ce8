"""The ASR grammar is the minimal deterministic word graph of the templates' language, and only that."""

from __future__ import annotations

import random
import sys
from pathlib import Path

from services.asr.fsg import parse_fsg
from services.nlu.exports import flatten, to_fsg_text, word_graph
from services.nlu.training import compile_profile
from services.nlu.word_graph import determinise, minimise

from .helpers import compile_ini

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import speech_data  # noqa: E402


def successors(flat) -> dict[int, list[tuple[int, str | None]]]:
    out: dict[int, list[tuple[int, str | None]]] = {}
    for s, t, w in flat.words:
        out.setdefault(s, []).append((t, w))
    for s, t in flat.eps:
        out.setdefault(s, []).append((t, None))
    return out


def random_sentence(out: dict[int, list[tuple[int, str | None]]], start: int, final: int,
                    rng: random.Random) -> list[str]:
    """A random path of the flat (epsilon) graph: always a sentence of the templates."""
    state, words = start, []
    while state != final:
        state, word = rng.choice(out[state])
        if word is not None:
            words.append(word)
    return words


def mutate(words: list[str], vocabulary: list[str], rng: random.Random) -> list[str]:
    words = list(words)
    i = rng.randrange(len(words) + 1)
    kind = rng.choice(("insert", "delete", "replace"))
    if kind == "insert" or not words:
        words.insert(i, rng.choice(vocabulary))
    elif kind == "delete":
        del words[min(i, len(words) - 1)]
    else:
        words[min(i, len(words) - 1)] = rng.choice(vocabulary)
    return words


def check_same_language(graph, samples: int = 2000) -> None:
    flat, start, final, _ = flatten(graph)
    minimal = word_graph(graph)
    fsg = parse_fsg(to_fsg_text(graph))
    reference_graph = determinise(flat.n, start, final, flat.words, flat.eps)  # not minimised: the reference
    rng = random.Random(7)
    vocabulary = sorted({w for _s, _t, w in flat.words})
    out = successors(flat)
    for _ in range(samples):
        sentence = random_sentence(out, start, final, rng)
        assert minimal.accepts(sentence), sentence
        assert fsg.accepts(sentence), sentence
        other = mutate(sentence, vocabulary, rng)
        reference = reference_graph.accepts(other)
        assert minimal.accepts(other) == reference, other
        assert fsg.accepts(other) == reference, other


def test_coffee_grammar_is_minimal_and_the_same_language(tmp_path: Path):
    profile = speech_data.coffee_profile(tmp_path / "coffee")
    graph = compile_profile(profile)
    flat, *_ = flatten(graph)
    minimal = word_graph(graph)
    assert flat.n > 10_000  # what the FSG used to be: one copy of every fragment per template
    assert minimal.num_states < 100 and minimal.num_arcs < 300
    check_same_language(graph)


def test_default_profile_grammar_keeps_its_language(profile_dir: Path):
    check_same_language(compile_profile(profile_dir))


def test_minimising_merges_equal_suffixes_and_drops_dead_ends():
    graph = compile_ini("[A]\nturn on the lamp\nswitch on the lamp\n[B]\nturn off the lamp\n")
    minimal = word_graph(graph)
    # "switch" allows only "on", so it keeps a state of its own; "the lamp" is shared by all three
    assert minimal.num_states == 6 and len(minimal.accepting) == 1
    assert minimal.accepts("switch on the lamp".split()) and not minimal.accepts("switch off the lamp".split())
    again = minimise(minimal)
    assert again == minimal


def test_intent_filter_grammar_is_limited(profile_dir: Path):
    graph = compile_profile(profile_dir)
    only_time = word_graph(graph, ["GetTime"])
    assert only_time.accepts("what time is it".split())
    assert not only_time.accepts("turn on the garage light".split())
    assert parse_fsg(to_fsg_text(graph, intent_filter=["GetTime"])).accepts("tell me the time".split())
