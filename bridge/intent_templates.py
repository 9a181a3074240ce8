"""GET /api/intents in Rhasspy's shape: each sentence template as the tree of Rhasspy's template parser.

Rhasspy answers the rhasspy-nlu expression objects as dicts with an ``item_type`` per node (Sentence,
Sequence, Word, RuleReference, SlotReference; a Tag under ``tag``). Hermesh parses templates with its own
parser (``services.nlu``), the one reader of the syntax; this module only renders that tree in Rhasspy's
field names, so the reply and the training can never disagree about what a line means.
"""

from __future__ import annotations

from typing import Any

from services.nlu.expressions import Alt, Node, RuleRef, Seq, SlotRef, Tag, Word
from services.nlu.ini import parse_ini_texts


def rhasspy_intents(files: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """{intent: [sentence objects]} of the sentence files (rules are not sentences, as in Rhasspy)."""
    parsed = parse_ini_texts(list(files.items()))  # the order training reads them in
    intents: dict[str, list[dict[str, Any]]] = {}
    for name, lines in parsed.intents.items():
        sentences = []
        for node, where in lines:
            sentence = _node(node if isinstance(node, Seq) else Seq(items=[node]))
            sentence["item_type"] = "Sentence"
            if where.text is not None:
                sentence["text"] = where.text.strip()
            sentences.append(sentence)
        intents[name] = sentences
    return intents


def _substitution(sub: tuple[str, ...] | None) -> str | None:
    return None if sub is None else " ".join(sub)  # "" = the words are dropped (Rhasspy's "word:")


def _tag(tag: Tag | None) -> dict[str, Any] | None:
    if tag is None:
        return None
    return {"tag_text": tag.name, "substitution": _substitution(tag.sub), "converters": list(tag.converters)}


def _common(node: Node, item_type: str) -> dict[str, Any]:
    return {"item_type": item_type, "text": _text(node), "substitution": _substitution(node.sub),
            "converters": list(node.converters), "tag": _tag(node.tag)}


def _bare(node: Node) -> bool:
    return node.sub is None and not node.converters and node.tag is None


def _unwrap(node: Node) -> Node:
    """A branch of one item is that item; an empty branch is Rhasspy's empty Word."""
    while isinstance(node, Seq) and _bare(node) and len(node.items) == 1:
        node = node.items[0]
    if isinstance(node, Seq) and not node.items and _bare(node):
        return Word(text="")
    return node


def _node(node: Node) -> dict[str, Any]:
    if isinstance(node, Word):
        return _common(node, "Word")
    if isinstance(node, SlotRef):
        return {**_common(node, "SlotReference"), "slot_name": node.key}
    if isinstance(node, RuleRef):
        out = _common(node, "RuleReference")
        del out["substitution"], out["converters"]  # Rhasspy's RuleReference is only taggable
        return {**out, "rule_name": node.name, "grammar_name": node.intent}
    if isinstance(node, Alt):
        return {**_common(node, "Sequence"), "items": [_node(_unwrap(i)) for i in node.items],
                "type": "alternative"}
    assert isinstance(node, Seq)
    return {**_common(node, "Sequence"), "items": [_node(_unwrap(i)) for i in node.items], "type": "group"}


def _text(node: Node) -> str:
    """Rhasspy's ``text`` of a node: a word alone, a slot token, a rule reference with its brackets, a group's
    or an optional's inside without the brackets."""
    if isinstance(node, Word):
        return node.text
    if isinstance(node, SlotRef):
        return "$" + node.key + _suffix(node.sub, [], None)
    if isinstance(node, Alt):
        branches = [render(item) for item in node.items]
        return " | ".join(b for b in branches if b or not node.optional)
    if isinstance(node, Seq):
        return " ".join(filter(None, (render(item) for item in node.items)))
    return render(node)


def render(node: Node) -> str:
    """The node in template syntax (what Rhasspy keeps as ``text``)."""
    if isinstance(node, Word):
        core = node.text
    elif isinstance(node, SlotRef):
        core = "$" + node.key
    elif isinstance(node, RuleRef):
        core = f"<{node.intent + '.' if node.intent else ''}{node.name}>"
    elif isinstance(node, Alt):
        branches = [render(item) for item in node.items]
        if node.optional:
            core = "[" + " | ".join(b for b in branches if b) + "]"
        else:
            core = "(" + " | ".join(branches) + ")"
    else:
        assert isinstance(node, Seq)
        core = " ".join(filter(None, (render(item) for item in node.items)))
        if not _bare(node) and len(node.items) != 1:
            core = f"({core})"
    return core + _suffix(node.sub, node.converters, node.tag)


def _suffix(sub: tuple[str, ...] | None, converters: list[str], tag: Tag | None) -> str:
    out = "" if sub is None else ":" + (f"({' '.join(sub)})" if len(sub) > 1 else "".join(sub))
    out += "".join("!" + c for c in converters)
    if tag is not None:
        out += "{" + tag.name + _suffix(tag.sub, tag.converters, None) + "}"
    return out
