"""Strict and fuzzy matching of a sentence against the intent graph (Rhasspy fsticuffs semantics).

Strict: every token must be consumed by template words, in order. If that fails and stop words are given,
one retry runs with stop words removed from the input, where a template word that is a stop word may be
passed without input (Rhasspy's retry; the passed word then shows in text and raw_text).

Fuzzy: template words must appear in order; input tokens in between are skipped at a cost of 1 (0.1 for a
stop word), tokens left at the end cost 1 each, a path must cost less than the words it outputs, and
every intent whose best cost equals the overall best is returned; confidence = 1 - cost / matched tokens, at
least 0.

The search runs over (state, position) pairs in position order. A call into a shared fragment (slot
list, rule) is searched once per start position and memoised, so six references to one slot list at
the same position cost one search. Only the winning paths are turned into output.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from heapq import heappop, heappush
from itertools import zip_longest
from typing import Any

from .converters import BUILTIN_CONVERTERS, Converter
from .errors import ConverterError
from .graph import BEGIN, CONVERT, CONVERTED, END, OUT, SOURCE, TAG_OUT, Acts, IntentGraph, _transform
from .results import Entity, Recognition

_INF = float("inf")


class _Meta:
    __slots__ = ("kind", "name")

    def __init__(self, kind: int, name: str) -> None:
        self.kind = kind
        self.name = name


class _Search:
    __slots__ = ("toks", "raw", "n", "costs", "fuzzy", "retry", "stop", "bound", "memo")

    def __init__(self, toks: list[str], raw: list[str], fuzzy: bool, stop: frozenset[str], retry: bool) -> None:
        self.toks = toks
        self.raw = raw
        self.n = len(toks)
        # prefix sums of skip costs in tenths (1.0 -> 10, stop word 0.1 -> 1) to stay exact
        costs = [0]
        for t in toks:
            costs.append(costs[-1] + (1 if t in stop else 10))
        self.costs = costs
        self.fuzzy = fuzzy
        self.retry = retry
        self.stop = stop
        self.bound: float = _INF
        self.memo: dict[tuple[int, int], tuple[dict, dict]] = {}


class Recognizer:
    """Recognise intents in text with a compiled `IntentGraph`."""

    def __init__(self, graph: IntentGraph, converters: dict[str, Converter] | None = None) -> None:
        self.graph = graph
        self.converters = dict(BUILTIN_CONVERTERS)
        if converters:
            self.converters.update(converters)
        self._label = _transform(graph.word_transform)
        self._starts = [f.start for f in graph.fragments]

    def recognize(self, text: str | list[str], *, fuzzy: bool = True, stop_words: Iterable[str] | None = None,
                  intent_filter: Iterable[str] | Callable[[str], bool] | None = None,
                  ranked: bool = False) -> list[Recognition]:
        """Recognitions, best first ([] = not recognised). `ranked` adds every other matching intent by cost."""
        started = time.perf_counter()
        raw = text.split() if isinstance(text, str) else list(text)
        if not raw:
            return []
        stop = frozenset(stop_words or ())
        allowed = _intent_filter(intent_filter)
        label = self._label
        toks = [label(t) for t in raw]
        found = self._run(_Search(toks, raw, fuzzy, stop, False), allowed, ranked)
        if not found and not fuzzy and stop:
            keep = [i for i, t in enumerate(raw) if t not in stop]
            found = self._run(_Search([toks[i] for i in keep], [raw[i] for i in keep], False, stop, True),
                              allowed, ranked)
        elapsed = time.perf_counter() - started
        for rec in found:
            rec.recognize_seconds = elapsed
        return found

    # -- search --------------------------------------------------------------------------------------
    def _run(self, ctx: _Search, allowed: Callable[[str], bool] | None, ranked: bool) -> list[Recognition]:
        # (final cost, path edges, order, intent, fid, end, variant): ties go to the path Rhasspy meets first
        candidates: list[tuple[float, int, int, str, int, int, int]] = []
        for order, (name, fid) in enumerate(self.graph.intents.items()):
            if allowed is not None and not allowed(name):
                continue
            results = self._search(fid, 0, ctx)[0]
            best: tuple[float, int, int, int] | None = None
            for end, pair in results.items():
                for var in (0, 1) if pair[1] is not pair[0] else (0,):
                    cost, length, n_out = pair[var][0], pair[var][1], pair[var][2]
                    if ctx.fuzzy:
                        if cost >= n_out * 10:  # a path must cost less than the words it outputs
                            continue
                        final = cost + (ctx.n - end) * 10
                    elif end != ctx.n:
                        continue
                    else:
                        final = cost
                    if best is None or (final, length) < (best[0], best[1]):
                        best = (final, length, end, var)
            if best is None:
                continue
            candidates.append((best[0], best[1], order, name, fid, best[2], best[3]))
            if ctx.fuzzy and not ranked and best[0] < ctx.bound:
                ctx.bound = best[0]
        if not candidates:
            return []
        candidates.sort()
        if not ranked:
            lowest = candidates[0][0]
            candidates = [c for c in candidates if c[0] == lowest]
        out = []
        for final, _length, _order, name, fid, end, var in candidates:
            items: list[tuple[str, Any, list[str]]] = []
            self._items(ctx, fid, 0, end, var, False, items)
            out.append(self._build(name, items, final / 10.0 if ctx.fuzzy else 0.0))
        return out

    def _search(self, fid: int, pos: int, ctx: _Search) -> tuple[dict, dict]:
        """Best paths through fragment `fid` from token `pos`, per end position (memoised per search).

        Each (state, position) keeps two records: the cheapest-then-shortest path and, in fuzzy mode, the
        cheapest path with the most output words (Rhasspy accepts a path only if it costs less than it outputs).
        A record is (cost in tenths, edges, outputs, previous state key, previous variant, step).
        """
        key0 = (fid, pos)
        memo = ctx.memo.get(key0)
        if memo is not None:
            return memo
        g = self.graph
        words, calls, finals, final_edges, final_alts = g.words, g.calls, g.finals, g.final_edges, g.final_alts
        toks, n, costs, fuzzy = ctx.toks, ctx.n, ctx.costs, ctx.fuzzy
        start = self._starts[fid]
        root = (0, 0, 0, None, 0, None)
        best: dict[tuple[int, int], list] = {(start, pos): [root, root]}
        results: dict[int, list] = {}
        heap = [(pos, start)]

        def relax(table: dict, nk: Any, new: tuple) -> bool:
            cur = table.get(nk)
            if cur is None:
                table[nk] = [new, new]
                return True
            r0 = cur[0]
            if new[0] < r0[0] or (new[0] == r0[0] and new[1] < r0[1]):
                cur[0] = new
            if fuzzy:
                r1 = cur[1]
                if new[0] < r1[0] or (new[0] == r1[0] and new[2] > r1[2]):
                    cur[1] = new
            else:
                cur[1] = cur[0]
            return False

        while heap:
            p, node = heappop(heap)
            key = (node, p)
            pair = best[key]
            for var in (0, 1) if pair[1] is not pair[0] else (0,):
                cost, length, n_out = pair[var][0], pair[var][1], pair[var][2]
                if cost > ctx.bound:
                    continue
                final = finals.get(node)
                if final is not None:
                    relax(results, p, (cost, length + final_edges.get(node, 0), n_out + _outputs(final), key, var,
                                       final))
                    alt = final_alts.get(node)
                    if alt is not None and fuzzy:
                        relax(results, p, (cost, length + alt[1], n_out + _outputs(alt[0]), key, var, alt[0]))
                index = words.get(node)
                if index is not None:
                    if fuzzy:
                        seen: set[str] = set()
                        base = costs[p]
                        for k in range(p, n):
                            c2 = cost + costs[k] - base
                            if c2 > ctx.bound:
                                break
                            tok = toks[k]
                            if tok in seen:
                                continue
                            seen.add(tok)
                            entries = index.get(tok)
                            if entries:
                                for entry in entries:
                                    if relax(best, (entry[0], k + 1),
                                             (c2, length + entry[5], n_out + entry[4], key, var, (entry, k))):
                                        heappush(heap, (k + 1, entry[0]))
                    elif p < n:
                        for entry in index.get(toks[p], ()):
                            if relax(best, (entry[0], p + 1),
                                     (0, length + entry[5], n_out + entry[4], key, var, (entry, p))):
                                heappush(heap, (p + 1, entry[0]))
                        if ctx.retry:  # pass template stop words without input
                            tok = toks[p]
                            for sw in ctx.stop:
                                if sw != tok:
                                    for entry in index.get(sw, ()):
                                        if relax(best, (entry[0], p),
                                                 (0, length + entry[5], n_out + entry[4], key, var, (entry, None))):
                                            heappush(heap, (p, entry[0]))
                state_calls = calls.get(node)
                if state_calls is not None:
                    for call in state_calls:
                        sub_results = self._search(call[0], p, ctx)[0]
                        for end, spair in sub_results.items():
                            for svar in (0, 1) if spair[1] is not spair[0] else (0,):
                                srec = spair[svar]
                                c2 = cost + srec[0]
                                if c2 > ctx.bound:
                                    continue
                                o2 = n_out + call[4] + (0 if call[3] else srec[2])
                                if relax(best, (call[1], end),
                                         (c2, length + call[5] + srec[1], o2, key, var, (call, p, end, svar))):
                                    heappush(heap, (end, call[1]))
        memo = (results, best)
        ctx.memo[key0] = memo
        return memo

    # -- output --------------------------------------------------------------------------------------
    def _items(self, ctx: _Search, fid: int, pos: int, end: int, var: int, suppress: bool,
               out: list[tuple[str, Any, list[str]]]) -> None:
        results, best = ctx.memo[(fid, pos)]
        rec = results[end][var]
        final = rec[5]
        steps = []
        rec = best[rec[3]][rec[4]]
        while rec[3] is not None:
            steps.append(rec[5])
            rec = best[rec[3]][rec[4]]
        for step in reversed(steps):
            if len(step) == 2:
                entry, k = step
                _acts(entry[1], suppress, out)
                out.append((entry[3], None if suppress else entry[2], [ctx.raw[k]] if k is not None else []))
            else:
                call, p, e, svar = step
                _acts(call[2], suppress, out)
                self._items(ctx, call[0], p, e, svar, suppress or call[3], out)
        _acts(final, suppress, out)

    def _build(self, intent: str, items: list[tuple[str, Any, list[str]]], cost: float) -> Recognition:
        top = self._convert(items)
        rec = Recognition(intent=intent)
        stack: list[Entity] = []
        raw_index = sub_index = 0
        for raw, value, orig in top:
            if orig:
                rec.raw_tokens.extend(orig)
                raw_index += sum(len(t) for t in orig) + len(orig)
                if stack:
                    stack[-1].raw_tokens.extend(orig)
            elif raw:
                rec.raw_tokens.append(raw)
                raw_index += len(raw) + 1
                if stack:
                    stack[-1].raw_tokens.append(raw)
            if value is None:
                continue
            if isinstance(value, _Meta):
                if value.kind == BEGIN:
                    stack.append(Entity(entity=value.name, start=sub_index, raw_start=raw_index))
                elif value.kind == END and stack:
                    ent = stack.pop()
                    ent.end, ent.raw_end = sub_index - 1, raw_index - 1
                    ent.value = ent.tokens[0] if len(ent.tokens) == 1 else " ".join(str(t) for t in ent.tokens)
                    ent.raw_value = " ".join(ent.raw_tokens)
                    rec.entities.append(ent)
                elif value.kind == SOURCE and stack:
                    stack[-1].source = value.name
                continue
            text = str(value)
            if not text:
                continue
            if stack:
                stack[-1].tokens.append(value)
            rec.tokens.append(value)
            sub_index += len(text) + 1
        rec.text = " ".join(str(t) for t in rec.tokens)
        rec.raw_text = " ".join(rec.raw_tokens)
        rec.cost = cost
        if cost > 0 and rec.raw_tokens:
            # Tokens left over after the match cost one each and may outnumber the matched ones (a 10 MB text
            # once gave -649998): clients read the confidence as a score in [0, 1] (issue 19 §2), so 0 is the floor.
            rec.confidence = max(0.0, 1.0 - cost / len(rec.raw_tokens))
        return rec

    def _convert(self, items: list[tuple[str, Any, list[str]]]) -> list[tuple[str, Any, list[str]]]:
        """Run converter spans (innermost first); their values replace the span's outputs."""
        top: list[tuple[str, Any, list[str]]] = []
        stack: list[tuple[str, list[tuple[str, Any, list[str]]]]] = []
        for item in items:
            value = item[1]
            if isinstance(value, _Meta):
                if value.kind == CONVERT:
                    stack.append((value.name, []))
                    continue
                if value.kind == CONVERTED:
                    key, span = stack.pop()
                    converted = self._apply(key, [t[1] for t in span if t[1] is not None])
                    target = stack[-1][1] if stack else top
                    raws = [t[0] for t in span if t[0]]
                    origs = [t[2] for t in span if t[2]]
                    for r, v, o in zip_longest(raws, converted, origs, fillvalue=None):
                        target.append((r or "", v, o or []))
                    continue
                top.append(item)
            elif value is not None and stack:
                stack[-1][1].append(item)
            else:
                top.append(item)
        return top

    def _apply(self, key: str, values: list[Any]) -> list[Any]:
        name, *args = key.split(",")
        func = self.converters.get(name)
        if func is None:
            raise ConverterError(f"unknown converter '!{name}'")
        try:
            return list(func(*values, converter_args=args) if args else func(*values))
        except ConverterError:
            raise
        except Exception as err:  # noqa: BLE001 - a user's converter may raise anything
            raise ConverterError(f"converter '!{key}' failed on {values!r}: {err}") from err


def _outputs(acts: Acts) -> int:
    return sum(1 for a in acts if a[0] <= TAG_OUT)


def _acts(acts: Acts, suppress: bool, out: list[tuple[str, Any, list[str]]]) -> None:
    for kind, value in acts:
        if kind == OUT:
            if not suppress:
                out.append(("", value, []))
        elif kind == TAG_OUT:
            out.append(("", value, []))
        else:
            out.append(("", _Meta(kind, value), []))


def _intent_filter(spec: Iterable[str] | Callable[[str], bool] | None) -> Callable[[str], bool] | None:
    if spec is None:
        return None
    if callable(spec):
        return spec
    names = set(spec)
    return names.__contains__
