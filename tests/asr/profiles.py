"""A small profile for ASR service tests: several intents, a rule, a slot list, a number range."""

from __future__ import annotations

from pathlib import Path

SENTENCES = """\
[ChangeLightState]
light_name = (living room lamp | garage light | kitchen light | bedroom lamp){name}
turn (on | off){state} [the] <light_name>

[GetTime]
what time is it
tell me the time

[SetTimer]
set [a] timer for (1..10){minutes} minutes

[SetColor]
set [the] <ChangeLightState.light_name> to $color{color}
"""

SLOTS = {"color": ["red", "green", "blue", "(purple | violet):purple"]}

# A second version (sent over rhasspy/asr/<site>/train) that adds a word cmudict lacks.
RETRAIN_SENTENCES = """\
[WakeUp]
hello rhasspy
good morning rhasspy
"""


def write_profile(directory: Path, sentences: str = SENTENCES, slots: dict[str, list[str]] | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sentences.ini").write_text(sentences)
    for name, lines in (SLOTS if slots is None else slots).items():
        (directory / "slots").mkdir(exist_ok=True)
        (directory / "slots" / name).write_text("\n".join(lines) + "\n")
    return directory
