"""The intent graph: templates compiled to word transitions with shared sub-graphs.

Each intent, rule and slot list is compiled once into a *fragment* (an acyclic word graph). A `<rule>` or
`$slot` reference is a *call* edge into the shared fragment, so a slot list of 1,000 names referenced six
times is stored once (rhasspy-nlu copies it at every reference). Plain slot values are merged into a trie.

Epsilon edges exist only while compiling: every state (fragment start, the node after a word, the node
after a call) keeps its epsilon closure as an index `first word -> transitions`, each transition carrying
the output actions met on the way (outputs, tag begin/end, converter begin/end, slot source). The
recogniser then needs one dict lookup per word and never walks epsilon edges.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import SlotError, TemplateError
from .expressions import Alt, Node, RuleRef, Seq, SlotRef, Where, Word, parse_expression, walk
from .numbers import number_to_words
from .slots import SlotSource, builtin_slot_values, slot_line_where
from .transforms import rewrite

_NOT_PLAIN = re.compile(r"[()\[\]{}<>|$:!\\]")
_NOT_PLAIN_NUMBERS = re.compile(r"[()\[\]{}<>|$:!\\]|\d(?:\s|$)")  # also a word ending in a digit

# action kinds (first element of an action tuple)
OUT = 0  # output word (suppressed inside a substituted group)
TAG_OUT = 1  # tag substitution output (never suppressed)
BEGIN = 2  # begin entity
END = 3  # end entity
CONVERT = 4  # begin converter span (key "name,arg1,...")
CONVERTED = 5  # end converter span
SOURCE = 6  # slot list the entity came from

Action = tuple[int, str]
Acts = tuple[Action, ...]
# A rule or slot used inside another is compiled recursively; real profiles nest a few levels.
MAX_REFERENCE_DEPTH = 100
NO_ACTS: Acts = ()

# A word transition: (target state, actions before the word, output word or None, template word, outputs,
# edges of Rhasspy's graph on the way - used to prefer the path Rhasspy's breadth-first search finds first)
Entry = tuple[int, Acts, "str | None", str, int, int]
# A call: (fragment id, return state, actions before the call, suppressed, outputs in those actions, edges)
Call = tuple[int, int, Acts, bool, int, int]


@dataclass(slots=True)
class Fragment:
    name: str
    kind: str  # "intent" | "rule" | "slot"
    start: int


@dataclass
class CompileOptions:
    """How templates are turned into a graph (Rhasspy 2.5 pipeline switches)."""

    number_ranges: bool = True  # lo..hi[,step] -> $rhasspy/number,lo,hi,step !int
    replace_numbers: bool = True  # digits -> number words with :N!int
    casing: str | None = None  # training-time dictionary casing: "lower" | "upper"
    word_transform: str | None = None  # match-time casing: "lower" | "upper"
    language: str = "en"
    known_converters: frozenset[str] | None = None  # None = do not check converter names


@dataclass
class IntentGraph:
    """Compiled templates: what the recogniser and the ASR grammar exports use."""

    fragments: list[Fragment]
    intents: dict[str, int]  # intent name -> fragment id (file order)
    words: dict[int, dict[str, list[Entry]]]  # state -> match label -> transitions
    calls: dict[int, list[Call]]
    finals: dict[int, Acts]  # state -> actions on the way to its fragment's end
    final_edges: dict[int, int] = field(default_factory=dict)  # state -> edges on the way to the end
    # state -> (actions, edges) of the ending with the most outputs, where that is not the shortest ending
    final_alts: dict[int, tuple[Acts, int]] = field(default_factory=dict)
    word_transform: str | None = None
    language: str = "en"
    warnings: list[str] = field(default_factory=list)

    @property
    def num_states(self) -> int:
        return len(self.words.keys() | self.calls.keys() | self.finals.keys())

    def vocabulary(self) -> list[str]:
        """Every word the ASR must know, lower-case, sorted."""
        vocab: set[str] = set()
        for index in self.words.values():
            for entries in index.values():
                for entry in entries:
                    vocab.add(entry[3].lower())
        return sorted(vocab)


def _transform(name: str | None) -> Callable[[str], str]:
    if name == "lower":
        return str.lower
    if name == "upper":
        return str.upper
    if name in (None, "", "ignore", "none"):
        return lambda s: s
    raise ValueError(f"unknown word transform {name!r} (use lower, upper or none)")


class GraphCompiler:
    def __init__(self, intents: dict[str, list[tuple[Node, Where]]], rules: dict[tuple[str, str], tuple[Node, Where]],
                 slots: SlotSource, options: CompileOptions) -> None:
        self.intent_templates = intents
        self.rule_templates = rules
        self.slot_source = slots
        self.options = options
        self.label = _transform(options.word_transform)
        # training-time casing already gave every word the match-time case: labels need no transform
        self.labels_cased = options.word_transform in (None, "", "ignore", "none") or (
            options.casing == options.word_transform)
        self.trie_index: dict[int, dict[str, list[Entry]]] = {}
        self.trie_finals: dict[int, Acts] = {}
        self.final_edges: dict[int, int] = {}
        self.final_alts: dict[int, tuple[Acts, int]] = {}
        self.eps: dict[int, list[tuple[int, Acts]]] = {}
        self.wedges: dict[int, list[tuple[int, str, str | None, str]]] = {}
        self.cedges: dict[int, list[tuple[int, int, bool]]] = {}
        self.ends: set[int] = set()
        self.n = 0
        self.fragments: list[Fragment] = []
        self.rule_frags: dict[tuple[str, str], int] = {}
        self.slot_frags: dict[str, int] = {}
        self.in_progress: set[Any] = set()

    def new(self) -> int:
        self.n += 1
        return self.n - 1

    def eps_edge(self, s: int, acts: Acts) -> int:
        t = self.new()
        self.eps.setdefault(s, []).append((t, acts))
        return t

    # -- fragments -----------------------------------------------------------------------------------
    def compile(self) -> IntentGraph:
        # many small long-lived objects: the cyclic GC would rescan them over and over while we build
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._compile()
        finally:
            if was_enabled:
                gc.enable()

    def _compile(self) -> IntentGraph:
        intents: dict[str, int] = {}
        for name, templates in self.intent_templates.items():
            fid = self._fragment(name, "intent")
            start = self.fragments[fid].start
            ends = [self.emit(self._prepare(node, where), start, 0, name, where) for node, where in templates]
            self._close(ends)
            intents[name] = fid
        return self._index(intents)

    def _fragment(self, name: str, kind: str) -> int:
        self.fragments.append(Fragment(name, kind, self.new()))
        return len(self.fragments) - 1

    def _close(self, ends: list[int]) -> None:
        end = self.new()
        self.ends.add(end)
        for d in ends:
            self.eps.setdefault(d, []).append((end, NO_ACTS))

    def _prepare(self, node: Node, where: Where) -> Node:
        o = self.options
        node = rewrite(node, ranges=o.number_ranges, casing=o.casing, numbers=o.replace_numbers, language=o.language)
        if o.known_converters is not None:
            for n in walk(node):
                for conv in n.converters + (n.tag.converters if n.tag else []):
                    if conv.split(",", 1)[0] not in o.known_converters:
                        raise TemplateError(f"unknown converter '!{conv}' (built-ins: int, float, bool, lower, upper,"
                                            " object, kind, unit, datetime; or put an executable in converters/)",
                                            where.file, where.line, where.column, where.text)
        return node

    def rule_fragment(self, intent: str, name: str, where: Where) -> int:
        key = (intent, name)
        if key in self.rule_frags:
            return self.rule_frags[key]
        if key not in self.rule_templates:
            if intent not in self.intent_templates and not any(k[0] == intent for k in self.rule_templates):
                raise TemplateError(f"rule <{intent}.{name}>: there is no intent [{intent}]", where.file,
                                    where.line, where.column, where.text)
            raise TemplateError(f"missing rule <{name}> in intent [{intent}] (define it as '{name} = ...')",
                                where.file, where.line, where.column, where.text)
        if key in self.in_progress:
            raise TemplateError(f"rule <{intent}.{name}> refers to itself", where.file, where.line, where.column,
                                where.text)
        self._check_reference_depth(where)
        self.in_progress.add(key)
        body, body_where = self.rule_templates[key]
        fid = self._fragment(f"{intent}.{name}", "rule")
        end = self.emit(self._prepare(body, body_where), self.fragments[fid].start, 0, intent, body_where)
        self._close([end])
        self.in_progress.discard(key)
        self.rule_frags[key] = fid
        return fid

    def _check_reference_depth(self, where: Where) -> None:
        """Each rule or slot being compiled inside another is a level of recursion: refuse absurd chains with
        the file and line of the reference instead of exhausting the stack."""
        if len(self.in_progress) >= MAX_REFERENCE_DEPTH:
            raise TemplateError(f"rules and slots refer to each other more than {MAX_REFERENCE_DEPTH} levels deep",
                                where.file, where.line, where.column, where.text)

    def slot_fragment(self, key: str, where: Where) -> int:
        if key in self.slot_frags:
            return self.slot_frags[key]
        if ("$", key) in self.in_progress:
            raise TemplateError(f"slot ${key} refers to itself", where.file, where.line, where.column, where.text)
        self._check_reference_depth(where)
        self.in_progress.add(("$", key))
        fid = self._fragment(key, "slot")
        start = self.fragments[fid].start
        # plain values go straight into the final index (trie states need no epsilon closure)
        trie: dict[tuple[int, str, str | None], int] = {}
        ends: list[int] = []  # ends of values that are not plain words (compiled with epsilon edges)
        trie_index = self.trie_index
        label_of = None if self.labels_cased else self.label
        finals = self.trie_finals

        def insert(words: list[tuple[str, str | None]], end_acts: Acts, suppressed: bool = False) -> None:
            cur = start
            for word, out in words:
                label = label_of(word) if label_of is not None else word
                tkey = (cur, label, out)
                nxt = trie.get(tkey)
                if nxt is None:
                    self.n += 1
                    nxt = trie[tkey] = self.n - 1
                    index = trie_index.get(cur)
                    if index is None:
                        index = trie_index[cur] = {}
                    entry = (nxt, NO_ACTS, out, word, 0 if out is None else 1,
                             1 if (suppressed or out == word) else 2)
                    bucket = index.get(label)
                    if bucket is None:
                        index[label] = [entry]
                    else:
                        bucket.append(entry)
                cur = nxt
            if cur not in finals:
                finals[cur] = end_acts
                self.final_edges[cur] = len(end_acts) + 1

        numbers = _number_values(key, self.options) if self.options.number_ranges else None
        if numbers is not None:
            # number range: spoken words with the digits as output through !int (no parsing needed)
            for value, words in numbers:
                insert([(w, None) for w in words], ((CONVERT, "int"), (OUT, value), (CONVERTED, "int")), True)
        else:
            for line in self.slot_source.lines(key):
                text = line[0]
                plain = self._fast_plain(text)
                if plain is None:
                    line_where = slot_line_where(line)
                    node = self._prepare(parse_expression(text, line_where), line_where)
                    plain = _plain_words(node)
                    if plain is None:
                        ends.append(self.emit(node, start, 0, "", line_where))
                        continue
                insert(plain, NO_ACTS)
        if ends:
            self._close(ends)
        self.in_progress.discard(("$", key))
        self.slot_frags[key] = fid
        return fid

    def _fast_plain(self, text: str) -> list[tuple[str, str | None]] | None:
        """Most slot lines are plain words: skip the parser for them."""
        if (_NOT_PLAIN_NUMBERS if self.options.replace_numbers else _NOT_PLAIN).search(text):
            return None
        words = text.split()
        casing = self.options.casing
        if casing == "lower":
            return list(zip(text.lower().split(), words, strict=True))
        if casing == "upper":
            return list(zip(text.upper().split(), words, strict=True))
        return list(zip(words, words, strict=True))

    # -- expressions ---------------------------------------------------------------------------------
    def emit(self, e: Node, s: int, supp: int, intent: str, where: Where) -> int:
        """Add expression `e` after state `s` (suppressing outputs when supp > 0); return its end node."""
        has_sub = e.sub is not None
        tag = e.tag
        tag_sub = bool(tag is not None and tag.sub)
        body_supp = supp + has_sub + tag_sub
        pre: list[Action] = []
        if tag is not None:
            pre.append((BEGIN, tag.name))
            pre.extend((CONVERT, c) for c in reversed(tag.converters))
        pre.extend((CONVERT, c) for c in reversed(e.converters))
        if pre:
            s = self.eps_edge(s, tuple(pre))
        if isinstance(e, Word):
            if e.text:
                t = self.new()
                out = e.text if (not has_sub and body_supp == 0) else None
                self.wedges.setdefault(s, []).append((t, self.label(e.text), out, e.text))
                s = t
                if e.sub == () and supp + tag_sub == 0:
                    s = self.eps_edge(s, NO_ACTS)  # Rhasspy's empty output edge (keeps path lengths alike)
            elif e.sub is None and not pre:
                s = self.eps_edge(s, NO_ACTS)  # the empty word of an optional is an edge in Rhasspy's graph
        elif isinstance(e, Seq):
            if not e.items and not pre:
                s = self.eps_edge(s, NO_ACTS)  # the empty word of an optional is an edge in Rhasspy's graph
            for item in e.items:
                s = self.emit(item, s, body_supp, intent, where)
        elif isinstance(e, Alt):
            ends = [self.emit(item, s, body_supp, intent, where) for item in e.items]
            join = self.new()
            for d in ends:
                self.eps.setdefault(d, []).append((join, NO_ACTS))
            s = join
        elif isinstance(e, RuleRef):
            fid = self.rule_fragment(e.intent if e.intent is not None else intent, e.name, _at(where, e.offset))
            t = self.new()
            self.cedges.setdefault(s, []).append((t, fid, body_supp > 0))
            s = t
        elif isinstance(e, SlotRef):
            at = _at(where, e.offset)
            try:
                fid = self.slot_fragment(e.key, at)
            except SlotError as err:
                if err.file is not None:
                    raise
                raise SlotError(err.slot, err.reason, at.file, at.line, at.column, at.text) from err
            t = self.new()
            self.cedges.setdefault(s, []).append((t, fid, body_supp > 0))
            s = self.eps_edge(t, ((SOURCE, e.name),))
        post: list[Action] = []
        if has_sub and supp + tag_sub == 0:
            post.extend((OUT, w) for w in (e.sub or ()))
        if tag is not None:
            if tag_sub:
                post.extend((TAG_OUT, w) for w in (tag.sub or ()))
            post.extend((CONVERTED, c) for c in e.converters)
            post.extend((CONVERTED, c) for c in tag.converters)
            post.append((END, tag.name))
        else:
            post.extend((CONVERTED, c) for c in e.converters)
        if post:
            s = self.eps_edge(s, tuple(post))
        return s

    # -- epsilon closures ----------------------------------------------------------------------------
    def _index(self, intents: dict[str, int]) -> IntentGraph:
        eps, wedges, cedges, ends = self.eps, self.wedges, self.cedges, self.ends
        words: dict[int, dict[str, list[Entry]]] = self.trie_index  # trie states are indexed already
        calls: dict[int, list[Call]] = {}
        finals: dict[int, Acts] = self.trie_finals
        states = {f.start for f in self.fragments}
        for edges in wedges.values():
            states.update(t for t, *_ in edges)
        for cedge_list in cedges.values():
            states.update(t for t, *_ in cedge_list)
        for state in states:
            index = words.get(state)
            if state not in eps:  # fast path: no epsilon edges to follow
                for t, label, out, word in wedges.get(state, ()):
                    if index is None:
                        index = words[state] = {}
                    index.setdefault(label, []).append((t, NO_ACTS, out, word, out is not None, 1))
                if state in cedges:
                    calls[state] = [(fid, t, NO_ACTS, supp, 0, 0) for t, fid, supp in cedges[state]]
                if state in ends:
                    finals[state] = NO_ACTS
                continue
            if index is None:
                index = {}
            state_calls: list[Call] = []
            final: Acts | None = finals.get(state)
            most: tuple[Acts, int, int] | None = None
            seen: set[tuple[int, Acts]] = set()
            stack: list[tuple[int, Acts, int]] = [(state, NO_ACTS, 0)]
            order: list[tuple[int, Acts, int]] = []
            while stack:  # depth-first in template order
                node, acts, n_edges = stack.pop()
                if (node, acts) in seen:
                    continue
                seen.add((node, acts))
                order.append((node, acts, n_edges))
                for t, eacts in reversed(eps.get(node, ())):
                    # Rhasspy's graph has one edge per action (or one empty edge)
                    stack.append((t, acts + eacts if eacts else acts, n_edges + max(1, len(eacts))))
            for node, acts, n_edges in order:
                for t, label, out, word in wedges.get(node, ()):
                    n_out = (sum(1 for a in acts if a[0] <= TAG_OUT) if acts else 0) + (out is not None)
                    entry = (t, acts, out, word, n_out, n_edges + 1)
                    bucket = index.setdefault(label, [])
                    _add_shortest(bucket, entry)
                for t, fid, supp in cedges.get(node, ()):
                    _add_shortest(state_calls, (fid, t, acts, supp, sum(1 for a in acts if a[0] <= TAG_OUT), n_edges))
                if node in ends:
                    if final is None or n_edges < self.final_edges.get(state, 0):
                        final = acts
                        self.final_edges[state] = n_edges
                    outs = _outputs(acts)
                    if most is None or outs > most[2]:
                        most = (acts, n_edges, outs)
            if final is not None and most is not None and most[2] > _outputs(final):
                # Rhasspy reports a path only if it costs less than its outputs: keep the richest ending too
                self.final_alts[state] = (most[0], most[1])
            if index:
                words[state] = index
            if state_calls:
                calls[state] = state_calls
            if final is not None:
                finals[state] = final
        return IntentGraph(self.fragments, intents, words, calls, finals, self.final_edges, self.final_alts,
                           word_transform=self.options.word_transform, language=self.options.language)


def _plain_words(node: Node) -> list[tuple[str, str | None]] | None:
    """A slot value that is only words (with at most one-word substitutions) can go into the trie."""
    if node.tag is not None or node.converters or node.sub is not None:
        return None
    items = node.items if isinstance(node, Seq) else [node] if isinstance(node, Word) else None
    if not items:
        return None
    out: list[tuple[str, str | None]] = []
    for item in items:
        if not isinstance(item, Word) or item.tag is not None or item.converters or not item.text:
            return None
        if item.sub is None:
            out.append((item.text, item.text))
        elif len(item.sub) == 1:
            out.append((item.text, item.sub[0]))
        elif len(item.sub) == 0:
            out.append((item.text, None))
        else:
            return None
    return out


def _number_values(key: str, options: CompileOptions) -> list[tuple[str, tuple[str, ...]]] | None:
    """Values of the built-in `rhasspy/number,lo,hi[,step]` slot as (digits, words)."""
    name, *args = key.split(",")
    if name != "rhasspy/number":
        return None
    values = builtin_slot_values(name, args) or []
    return [(v, number_to_words(int(v), options.language)) for v in values]


def _at(where: Where, offset: int) -> Where:
    return Where(where.file, where.line, where.column + offset, where.text)


def _add_shortest(items: list, item: tuple) -> None:
    """Add a transition unless the same one is there; keep the shorter path of two identical ones."""
    for i, other in enumerate(items):
        if other[:5] == item[:5]:
            if item[5] < other[5]:
                items[i] = item
            return
    items.append(item)


def _outputs(acts: Acts) -> int:
    return sum(1 for a in acts if a[0] <= TAG_OUT)
