"""SSML for engines that read plain text (Piper): the spoken text and its pauses, no tag ever read aloud.

espeak-ng has its own SSML mode (``-m``), so only engines without one use this. Parsing is by tags, not by an XML
parser: text a user typed with a stray ``<`` or an unclosed tag still loses its tags instead of failing.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_TAG = re.compile(r"<\s*(/?)\s*([A-Za-z][\w:.-]*)([^<>]*?)(/?)\s*>", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->|<\?.*?\?>|<!\[CDATA\[|\]\]>|<![^<>]*>", re.DOTALL)
_ATTRIBUTE = re.compile(r"([A-Za-z][\w:.-]*)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_TIME = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s)?\s*$", re.IGNORECASE)
# SSML 1.1 leaves the lengths of the strengths to the processor; these are the usual ones.
STRENGTH_SECONDS = {"none": 0.0, "x-weak": 0.1, "weak": 0.25, "medium": 0.5, "strong": 0.75, "x-strong": 1.0}
MAX_BREAK_SECONDS = 10.0  # SSML allows any length; a typo like time="500s" must not hold a site for minutes


@dataclass(frozen=True)
class SpokenText:
    text: str


@dataclass(frozen=True)
class Pause:
    seconds: float


Segment = SpokenText | Pause


_SSML_START = re.compile(r"\s*(?:<\?xml[^>]*\?>\s*)?<speak\b", re.IGNORECASE)


def is_ssml(text: str) -> bool:
    """Text is SSML when it starts with ``<speak`` (an XML declaration may come first)."""
    return _SSML_START.match(text) is not None


def break_seconds(attributes: str) -> float:
    """The length of a ``<break>`` from its ``time`` (``500ms``, ``2s``) or ``strength``; medium without either."""
    values = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
              for m in _ATTRIBUTE.finditer(attributes)}
    time = values.get("time")
    if time is not None:
        match = _TIME.match(time)
        if match:
            number = float(match.group(1))
            seconds = number / 1000 if (match.group(2) or "s").lower() == "ms" else number
            return min(seconds, MAX_BREAK_SECONDS)
    return STRENGTH_SECONDS.get((values.get("strength") or "medium").lower(), STRENGTH_SECONDS["medium"])


def segments(ssml: str) -> list[Segment]:
    """Text and pauses in order; tags are dropped, entities decoded, whitespace collapsed, empty text left out."""
    out: list[Segment] = []
    pending: list[str] = []

    def flush() -> None:
        text = " ".join(html.unescape("".join(pending)).split())
        pending.clear()
        if text:
            out.append(SpokenText(text))

    position = 0
    source = _COMMENT.sub(" ", ssml)
    for tag in _TAG.finditer(source):
        pending.append(source[position:tag.start()])
        position = tag.end()
        name = tag.group(2).lower().rpartition(":")[2]
        if name == "break" and not tag.group(1):
            flush()
            seconds = break_seconds(tag.group(3))
            if seconds > 0:
                out.append(Pause(seconds))
        else:
            pending.append(" ")  # a tag separates words ("a<s/>b" is two)
    pending.append(source[position:])
    flush()
    # A stray "<" or ">" that was not part of a tag is not read out ("less than") either.
    return [SpokenText(s.text.replace("<", " ").replace(">", " ").strip()) if isinstance(s, SpokenText) else s
            for s in out if not isinstance(s, SpokenText) or s.text.replace("<", "").replace(">", "").strip()]


def plain_segments(text: str) -> list[Segment]:
    """The segments of any text: SSML when it starts with ``<speak``, otherwise the text as it is."""
    if is_ssml(text):
        return segments(text)
    return [SpokenText(text)] if text.strip() else []
