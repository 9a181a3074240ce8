"""Speech-recognition grammars from the intent graph: Sphinx FSG text, JSGF, ARPA n-gram LM, vocabulary.

Words are written as they are spoken: the template word lower-cased (never a substitution output), numbers
as words. FSG is flat, so shared fragments are copied at each reference here (and only here); the FSG and
JSGF are then written from the minimal deterministic word graph of that language (``word_graph``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable

from .graph import IntentGraph
from .word_graph import WordGraph, minimal_word_graph


class _Flat:
    """A flat word graph (states, word and epsilon transitions) of some intents."""

    def __init__(self) -> None:
        self.n = 0
        self.words: list[tuple[int, int, str]] = []
        self.eps: list[tuple[int, int]] = []

    def new(self) -> int:
        self.n += 1
        return self.n - 1


def _selected(graph: IntentGraph, intent_filter: Iterable[str] | None) -> list[tuple[str, int]]:
    names = None if intent_filter is None else set(intent_filter)
    chosen = [(name, fid) for name, fid in graph.intents.items() if names is None or name in names]
    return chosen


def _expand(graph: IntentGraph, fid: int, flat: _Flat, final: int) -> int:
    """Copy fragment `fid` into `flat`; its ends get epsilon transitions to `final`. Returns its start."""
    start = graph.fragments[fid].start
    ids: dict[int, int] = {start: flat.new()}
    todo = [start]
    while todo:
        state = todo.pop()
        src = ids[state]
        for entries in graph.words.get(state, {}).values():
            for entry in entries:
                target = entry[0]
                if target not in ids:
                    ids[target] = flat.new()
                    todo.append(target)
                flat.words.append((src, ids[target], entry[3].lower()))
        for call in graph.calls.get(state, ()):
            ret = call[1]
            if ret not in ids:
                ids[ret] = flat.new()
                todo.append(ret)
            sub_start = _expand(graph, call[0], flat, ids[ret])
            flat.eps.append((src, sub_start))
        if state in graph.finals:
            flat.eps.append((src, final))
    return ids[start]


def flatten(graph: IntentGraph, intent_filter: Iterable[str] | None = None) -> tuple[_Flat, int, int, list[int]]:
    """(flat graph, start, final, start state of each intent)."""
    flat = _Flat()
    start = flat.new()
    final = flat.new()
    starts = []
    for _name, fid in _selected(graph, intent_filter):
        s = _expand(graph, fid, flat, final)
        flat.eps.append((start, s))
        starts.append(s)
    return flat, start, final, starts


def word_graph(graph: IntentGraph, intent_filter: Iterable[str] | None = None) -> WordGraph:
    """The minimal deterministic word graph of the selected intents' sentences (what an ASR needs)."""
    flat, start, final, _starts = flatten(graph, intent_filter)
    return minimal_word_graph(flat.n, start, final, flat.words, flat.eps)


def to_fsg_text(graph: IntentGraph, intent_filter: Iterable[str] | None = None, name: str = "hermesh") -> str:
    """Sphinx FSG text of the minimal word graph: each state's transitions uniform; accepting states reach
    the one final state (the last) by an epsilon transition."""
    words = word_graph(graph, intent_filter)
    final = words.num_states
    lines = [f"FSG_BEGIN {name}", f"NUM_STATES {final + 1}", f"START_STATE {words.start}", f"FINAL_STATE {final}"]
    for s, out in enumerate(words.arcs):
        if not out and s not in words.accepting:
            continue  # the start state of a graph with no sentence at all ("[Intent]" and nothing under it)
        p = f"{1.0 / (len(out) + (s in words.accepting)):.6g}"
        lines.extend(f"TRANSITION {s} {t} {p} {w}" for w, t in out.items())
        if s in words.accepting:
            lines.append(f"TRANSITION {s} {final} {p}")
    lines.append("FSG_END")
    return "\n".join(lines) + "\n"


def to_jsgf_text(graph: IntentGraph, intent_filter: Iterable[str] | None = None, name: str = "hermesh") -> str:
    """JSGF of the minimal word graph: one right-linear rule per state."""
    words = word_graph(graph, intent_filter)
    rules = []
    for s, out in enumerate(words.arcs):
        alts = [f"{_jsgf_word(w)} <s{t}>" for w, t in out.items()]
        if s in words.accepting:
            alts.append("<NULL>")
        rules.append(f"<s{s}> = {' | '.join(alts) if alts else '<VOID>'};")
    header = ["#JSGF V1.0;", f"grammar {name};", f"public <{name}> = <s{words.start}>;"]
    return "\n".join(header + rules) + "\n"


def _jsgf_word(word: str) -> str:
    if any(c in word for c in ";=|*+<>()[]{}/\"\\ "):
        return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return word


# -- n-gram language model -----------------------------------------------------------------------------

def ngram_counts(graph: IntentGraph, intent_filter: Iterable[str] | None = None,
                 order: int = 3) -> dict[tuple[str, ...], float]:
    """Expected n-gram counts over all sentences, each intent weighted to one sentence in total."""
    counts: dict[tuple[str, ...], float] = defaultdict(float)
    for _name, fid in _selected(graph, intent_filter):
        flat = _Flat()
        final = flat.new()
        start = _expand(graph, fid, flat, final)
        _count_intent(flat, start, final, order, counts)
    return counts


def _count_intent(flat: _Flat, start: int, final: int, order: int, counts: dict[tuple[str, ...], float]) -> None:
    succ_eps: dict[int, list[int]] = defaultdict(list)
    succ_words: dict[int, list[int]] = defaultdict(list)  # state -> word transition ids
    for s, t in flat.eps:
        succ_eps[s].append(t)
    for i, (s, _t, _w) in enumerate(flat.words):
        succ_words[s].append(i)
    # topological order (the graph is acyclic)
    order_list: list[int] = []
    mark: set[int] = set()
    stack: list[tuple[int, bool]] = [(start, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order_list.append(node)
            continue
        if node in mark:
            continue
        mark.add(node)
        stack.append((node, True))
        for t in succ_eps.get(node, ()):
            if t not in mark:
                stack.append((t, False))
        for i in succ_words.get(node, ()):
            t = flat.words[i][1]
            if t not in mark:
                stack.append((t, False))
    order_list.reverse()
    fwd: dict[int, float] = defaultdict(float)
    fwd[start] = 1.0
    for node in order_list:
        f = fwd[node]
        for t in succ_eps.get(node, ()):
            fwd[t] += f
        for i in succ_words.get(node, ()):
            fwd[flat.words[i][1]] += f
    bwd: dict[int, float] = defaultdict(float)
    bwd[final] = 1.0
    for node in reversed(order_list):
        b = bwd[node]
        for t in succ_eps.get(node, ()):
            b += bwd[t]
        for i in succ_words.get(node, ()):
            b += bwd[flat.words[i][1]]
        if node != final:
            bwd[node] = b
    total = bwd[start]
    if total <= 0:
        return

    # word transitions reachable from a state through epsilon only, with path multiplicity
    closure_cache: dict[int, list[tuple[int, float]]] = {}

    def next_words(state: int) -> list[tuple[int, float]]:
        got = closure_cache.get(state)
        if got is not None:
            return got
        acc: dict[int, float] = defaultdict(float)
        for i in succ_words.get(state, ()):
            acc[i] += 1.0
        for t in succ_eps.get(state, ()):
            for i, m in next_words(t):
                acc[i] += m
        got = list(acc.items())
        closure_cache[state] = got
        return got

    final_cache: dict[int, float] = {final: 1.0}

    def reaches_final(state: int) -> float:
        """Number of epsilon-only paths from `state` to the final state."""
        got = final_cache.get(state)
        if got is None:
            got = sum(reaches_final(t) for t in succ_eps.get(state, ()))
            final_cache[state] = got
        return got

    scale = 1.0 / total
    words = flat.words

    def extend(seq: tuple[str, ...], last: int, weight: float) -> None:
        """Count `seq` (ending with word transition `last`, `weight` = paths up to and incl. it) and extend."""
        w_end = reaches_final(words[last][1])
        counts[seq] += weight * bwd[words[last][1]] * scale
        if len(seq) < order:
            if w_end:
                counts[seq + ("</s>",)] += weight * w_end * scale
            for j, m in next_words(words[last][1]):
                extend(seq + (words[j][2],), j, weight * m)

    for i, m in next_words(start):
        extend(("<s>", words[i][2]), i, m)
    for i, (s, _t, w) in enumerate(words):
        f = fwd[s]
        if f:
            extend((w,), i, f)
    counts[("<s>",)] += 1.0
    counts[("</s>",)] += 1.0
    # "</s>" at order 2 after a single-word path start is handled by extend; <s> </s> never occurs


def to_arpa_text(graph: IntentGraph, intent_filter: Iterable[str] | None = None, order: int = 3) -> str:
    """ARPA LM (interpolated Witten-Bell) over the expected counts; intents are balanced."""
    counts = ngram_counts(graph, intent_filter, order)
    by_order: list[dict[tuple[str, ...], float]] = [dict() for _ in range(order + 1)]
    for gram, c in counts.items():
        if c > 0:
            by_order[len(gram)][gram] = c
    # sentence-start n-grams (<s> w ...) are counted only from the start; drop unigram <s> from mass
    hist_total: list[dict[tuple[str, ...], float]] = [defaultdict(float) for _ in range(order + 1)]
    hist_types: list[dict[tuple[str, ...], int]] = [defaultdict(int) for _ in range(order + 1)]
    for k in range(2, order + 1):
        for gram, c in by_order[k].items():
            hist_total[k][gram[:-1]] += c
            hist_types[k][gram[:-1]] += 1
    unigrams = {g: c for g, c in by_order[1].items() if g != ("<s>",)}
    total1 = sum(unigrams.values())
    prob: dict[tuple[str, ...], float] = {g: c / total1 for g, c in unigrams.items()}
    for k in range(2, order + 1):
        for gram, c in by_order[k].items():
            h = gram[:-1]
            lower = prob.get(gram[1:])
            if lower is None:
                lower = prob.get(gram[-1:], 1e-12)
            ct, t = hist_total[k][h], hist_types[k][h]
            prob[gram] = (c + t * lower) / (ct + t)
    bow: dict[tuple[str, ...], float] = {}
    for k in range(2, order + 1):
        for h, ct in hist_total[k].items():
            t = hist_types[k][h]
            bow[h] = t / (ct + t)
    lines = ["\\data\\"]
    for k in range(1, order + 1):
        n = len(by_order[k]) if k > 1 else len(unigrams) + 1
        lines.append(f"ngram {k}={n}")
    lines.append("")
    for k in range(1, order + 1):
        lines.append(f"\\{k}-grams:")
        grams = sorted(by_order[k]) if k > 1 else sorted([*unigrams, ("<s>",)])
        for gram in grams:
            p = -99.0 if gram == ("<s>",) else math.log10(prob[gram])
            b = bow.get(gram) if k < order else None
            text = " ".join(gram)
            lines.append(f"{p:.6f} {text} {math.log10(b):.6f}" if b else f"{p:.6f} {text}")
        lines.append("")
    lines.append("\\end\\")
    return "\n".join(lines) + "\n"
