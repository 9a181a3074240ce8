"""Sphinx FSG text: parsing and checking it in Python before any of it reaches a C decoder.

pocketsphinx's own reader does not raise on a malformed file and then crashes the process (engines.md),
and it accepts words missing from the dictionary silently. So grammars are parsed here, checked, and
handed to decoders as plain transitions.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


class FsgError(ValueError):
    """A grammar that cannot be used; the message names the line or the words."""


@dataclass
class Fsg:
    name: str
    num_states: int
    start: int
    final: int
    # (from, to, probability, word or None for an epsilon transition)
    transitions: list[tuple[int, int, float, str | None]] = field(default_factory=list)

    def words(self) -> set[str]:
        return {w for _, _, _, w in self.transitions if w is not None}

    def accepts(self, words: list[str]) -> bool:
        """Whether the grammar can produce exactly this word sequence (epsilon-aware set simulation)."""
        arcs: dict[int, list[tuple[int, str | None]]] = {}
        for src, dst, _, word in self.transitions:
            arcs.setdefault(src, []).append((dst, word))

        def closure(states: set[int]) -> set[int]:
            todo, seen = list(states), set(states)
            while todo:
                for dst, word in arcs.get(todo.pop(), ()):
                    if word is None and dst not in seen:
                        seen.add(dst)
                        todo.append(dst)
            return seen

        current = closure({self.start})
        for token in words:
            current = closure({dst for s in current for dst, w in arcs.get(s, ()) if w == token})
            if not current:
                return False
        return self.final in current

    def to_text(self) -> str:
        lines = [f"FSG_BEGIN {self.name}", f"NUM_STATES {self.num_states}", f"START_STATE {self.start}",
                 f"FINAL_STATE {self.final}"]
        for src, dst, prob, word in self.transitions:
            lines.append(f"TRANSITION {src} {dst} {prob:.6g}" + (f" {word}" if word else ""))
        lines.append("FSG_END")
        return "\n".join(lines) + "\n"


_KEYWORDS = {
    "FSG_BEGIN": "begin", "NUM_STATES": "states", "N": "states", "START_STATE": "start", "S": "start",
    "FINAL_STATE": "final", "F": "final", "TRANSITION": "arc", "T": "arc", "FSG_END": "end",
}


def parse_fsg(text: str, source: str = "grammar") -> Fsg:
    """Parse Sphinx FSG text (``FSG_BEGIN/NUM_STATES/START_STATE/FINAL_STATE/TRANSITION/FSG_END``)."""
    name, num_states, start, final = "", None, None, None
    transitions: list[tuple[int, int, float, str | None]] = []
    ended = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        kind = _KEYWORDS.get(parts[0])
        where = f"{source} line {number}"
        try:
            if kind == "begin":
                name = parts[1] if len(parts) > 1 else "grammar"
            elif kind == "states":
                num_states = int(parts[1])
            elif kind == "start":
                start = int(parts[1])
            elif kind == "final":
                final = int(parts[1])
            elif kind == "arc":
                if len(parts) not in (4, 5):
                    raise FsgError(f"{where}: expected 'TRANSITION from to probability [word]', got {line!r}")
                prob = float(parts[3])
                if not 0.0 < prob <= 1.0:
                    raise FsgError(f"{where}: probability {parts[3]} is not in (0, 1]")
                transitions.append((int(parts[1]), int(parts[2]), prob, parts[4] if len(parts) == 5 else None))
            elif kind == "end":
                ended = True
                break
            else:
                raise FsgError(f"{where}: unknown keyword {parts[0]!r}")
        except (IndexError, ValueError) as err:
            if isinstance(err, FsgError):
                raise
            raise FsgError(f"{where}: malformed {parts[0]} line {line!r}") from err
    if num_states is None or start is None or final is None:
        raise FsgError(f"{source}: NUM_STATES, START_STATE and FINAL_STATE are required")
    if not ended:
        raise FsgError(f"{source}: FSG_END is missing (truncated file?)")
    if num_states <= 0:
        raise FsgError(f"{source}: NUM_STATES must be positive")
    for state in (start, final):
        if not 0 <= state < num_states:
            raise FsgError(f"{source}: state {state} is outside 0..{num_states - 1}")
    for src, dst, _, _ in transitions:
        if not (0 <= src < num_states and 0 <= dst < num_states):
            raise FsgError(f"{source}: transition {src} -> {dst} uses a state outside 0..{num_states - 1}")
    if not any(w is not None for *_, w in transitions):
        raise FsgError(f"{source}: the grammar has no words (are there sentences in the profile?)")
    return Fsg(name or "grammar", num_states, start, final, transitions)


def check_words(words: Iterable[str], has_pronunciation: Callable[[str], bool]) -> None:
    """Raise naming every word that has no pronunciation, before a decoder silently fails on it."""
    missing = sorted(w for w in set(words) if not has_pronunciation(w))
    if missing:
        raise FsgError(
            f"{len(missing)} word(s) of the grammar have no pronunciation: {', '.join(missing[:20])}"
            + (" ..." if len(missing) > 20 else "")
            + "; add them to custom_words.txt or retrain with guessing enabled"
        )


def covering_sentences(fsg: Fsg) -> list[list[str]]:
    """Word sequences of the grammar that together use every word transition at least once.

    For each transition not yet used: the shortest way from the start to it, then the shortest way on to
    the final state. Used by tests and the benchmark to speak "every sentence" of a profile with few
    sentences while still covering every intent and every slot value.
    """
    forward: dict[int, list[tuple[int, int]]] = {}
    backward: dict[int, list[tuple[int, int]]] = {}
    for index, (src, dst, _, _) in enumerate(fsg.transitions):
        forward.setdefault(src, []).append((dst, index))
        backward.setdefault(dst, []).append((src, index))

    def shortest_tree(origin: int, edges: dict[int, list[tuple[int, int]]]) -> dict[int, tuple[int, int] | None]:
        """state -> (previous state, transition) on a path with the fewest words (0-1 BFS: epsilons are free)."""
        best: dict[int, int] = {origin: 0}
        via: dict[int, tuple[int, int] | None] = {origin: None}
        queue: deque[int] = deque([origin])
        while queue:
            state = queue.popleft()
            for nxt, index in edges.get(state, ()):
                cost = best[state] + (fsg.transitions[index][3] is not None)
                if nxt not in best or cost < best[nxt]:
                    best[nxt], via[nxt] = cost, (state, index)
                    if fsg.transitions[index][3] is None:
                        queue.appendleft(nxt)
                    else:
                        queue.append(nxt)
        return via

    from_start = shortest_tree(fsg.start, forward)
    to_final = shortest_tree(fsg.final, backward)

    def prefix(state: int) -> list[int]:
        path: list[int] = []
        while (step := from_start[state]) is not None:
            state, index = step
            path.append(index)
        return path[::-1]

    def suffix(state: int) -> list[int]:
        path: list[int] = []
        while (step := to_final[state]) is not None:
            state, index = step
            path.append(index)
        return path

    used: set[int] = set()
    sentences: list[list[str]] = []
    for index, (src, dst, _, word) in enumerate(fsg.transitions):
        if word is None or index in used or src not in from_start or dst not in to_final:
            continue
        path = prefix(src) + [index] + suffix(dst)
        used.update(path)
        sentences.append([w for i in path if (w := fsg.transitions[i][3]) is not None])
    return sentences
