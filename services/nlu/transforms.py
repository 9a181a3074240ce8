"""Training-time rewrites of parsed templates (Rhasspy 2.5 pipeline): number ranges, casing, number words."""

from __future__ import annotations

from .expressions import Alt, Node, Seq, SlotRef, Word
from .numbers import NUMBER, NUMBER_RANGE, number_to_words


def rewrite(node: Node, *, ranges: bool, casing: str | None, numbers: bool, language: str) -> Node:
    """Return the node with ranges -> `$rhasspy/number,lo,hi,step!int`, casing applied, digits -> words."""
    if isinstance(node, (Seq, Alt)):
        node.items = [rewrite(item, ranges=ranges, casing=casing, numbers=numbers, language=language)
                      for item in node.items]
        return node
    if not isinstance(node, Word) or not node.text:
        return node
    if ranges and node.sub is None:
        match = NUMBER_RANGE.match(node.text)
        if match:
            lo, hi, step = match.group(1), match.group(2), match.group(3) or "1"
            return SlotRef(key=f"rhasspy/number,{int(lo)},{int(hi)},{int(step)}",
                           converters=["int", *node.converters], tag=node.tag)
    if casing in ("lower", "upper"):
        cased = node.text.lower() if casing == "lower" else node.text.upper()
        if cased != node.text:
            if node.sub is None:
                node.sub = (node.text,)
            node.text = cased
    if numbers and NUMBER.match(node.text):
        n = int(node.text)
        words = number_to_words(n, language)
        if node.sub is None:
            sub: tuple[str, ...] = (str(n),)
            converters = ["int", *node.converters]
        else:
            sub, converters = node.sub, node.converters
        if len(words) == 1:
            node.text, node.sub, node.converters = words[0], sub, converters
            return node
        return Seq(items=[Word(text=w) for w in words], sub=sub, converters=converters, tag=node.tag)
    return node
