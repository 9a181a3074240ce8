"""The smallest deterministic word graph of a language given as a word graph with epsilon arcs.

A speech recogniser needs only the language of the templates (which word may follow which), not the intent
and slot tags: the NLU recovers those from the text. The intent graph flattened for the ASR repeats every
shared fragment at each use and has one path per template, so pocketsphinx searched 10,654 states for the
coffee grammar. Here the graph is determinised (subset construction over words, with epsilon closure) and
minimised (partition refinement), which leaves 57 states for the same language, and decoding runs about 30x
faster with the same results (../shared/docs/engines.md).

Pure: no I/O; states are ints, words are strings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class WordGraph:
    """A deterministic word automaton: ``arcs[s]`` maps each word to the one next state."""

    start: int
    accepting: frozenset[int]
    arcs: tuple[dict[str, int], ...]

    @property
    def num_states(self) -> int:
        return len(self.arcs)

    @property
    def num_arcs(self) -> int:
        return sum(len(a) for a in self.arcs)

    def accepts(self, words: Iterable[str]) -> bool:
        state: int | None = self.start
        for word in words:
            state = self.arcs[state].get(word) if state is not None else None
            if state is None:
                return False
        return state in self.accepting


def determinise(num_states: int, start: int, final: int, words: Iterable[tuple[int, int, str]],
                eps: Iterable[tuple[int, int]]) -> WordGraph:
    """The deterministic graph of the language from ``start`` to ``final`` (states ``0..num_states-1``)."""
    word_arcs: dict[int, list[tuple[str, int]]] = defaultdict(list)
    eps_arcs: dict[int, list[int]] = defaultdict(list)
    for s, t, w in words:
        word_arcs[s].append((w, t))
    for s, t in eps:
        eps_arcs[s].append(t)

    closures: dict[int, frozenset[int]] = {}

    def closure(state: int) -> frozenset[int]:
        got = closures.get(state)
        if got is None:
            seen, todo = {state}, [state]
            while todo:
                for t in eps_arcs.get(todo.pop(), ()):
                    if t not in seen:
                        seen.add(t)
                        todo.append(t)
            got = closures[state] = frozenset(seen)
        return got

    first = closure(start)
    ids: dict[frozenset[int], int] = {first: 0}
    subsets = [first]
    arcs: list[dict[str, int]] = []
    for subset in subsets:  # grows while we go: breadth-first over reachable subsets
        targets: dict[str, set[int]] = defaultdict(set)
        for s in subset:
            for w, t in word_arcs.get(s, ()):
                targets[w] |= closure(t)
        out: dict[str, int] = {}
        for w in sorted(targets):
            key = frozenset(targets[w])
            if key not in ids:
                ids[key] = len(subsets)
                subsets.append(key)
            out[w] = ids[key]
        arcs.append(out)
    accepting = frozenset(i for i, subset in enumerate(subsets) if final in subset)
    return WordGraph(0, accepting, tuple(arcs))


def minimise(graph: WordGraph) -> WordGraph:
    """The minimal equivalent graph: dead states dropped, equivalent states merged, numbered breadth-first."""
    live = _coaccessible(graph)
    if graph.start not in live:
        return WordGraph(0, frozenset(), ({},))
    states = sorted(live)
    block = {s: int(s in graph.accepting) for s in states}
    count = len(set(block.values()))
    while True:  # Moore's refinement: split blocks by (block, {word: block of target}) until stable
        signatures: dict[tuple, int] = {}
        refined = {}
        for s in states:
            sig = (block[s], tuple((w, block[t]) for w, t in sorted(graph.arcs[s].items()) if t in live))
            refined[s] = signatures.setdefault(sig, len(signatures))
        block = refined
        if len(signatures) == count:
            break
        count = len(signatures)
    # renumber breadth-first from the start, so the same language always gives the same text
    order: dict[int, int] = {block[graph.start]: 0}
    queue = [graph.start]
    arcs: list[dict[str, int]] = []
    for s in queue:
        out: dict[str, int] = {}
        for w, t in sorted(graph.arcs[s].items()):
            if t not in live:
                continue
            b = block[t]
            if b not in order:
                order[b] = len(order)
                queue.append(t)
            out[w] = order[b]
        arcs.append(out)
    accepting = frozenset(order[block[s]] for s in graph.accepting if s in live)
    return WordGraph(0, accepting, tuple(arcs))


def _coaccessible(graph: WordGraph) -> set[int]:
    """States from which an accepting state can be reached."""
    back: dict[int, list[int]] = defaultdict(list)
    for s, out in enumerate(graph.arcs):
        for t in out.values():
            back[t].append(s)
    live = set(graph.accepting)
    todo = list(live)
    while todo:
        for s in back.get(todo.pop(), ()):
            if s not in live:
                live.add(s)
                todo.append(s)
    return live


def minimal_word_graph(num_states: int, start: int, final: int, words: Iterable[tuple[int, int, str]],
                       eps: Iterable[tuple[int, int]]) -> WordGraph:
    return minimise(determinise(num_states, start, final, words, eps))
