"""Open-transcription text normalised into the words the templates use (services/asr/normalize.py)."""

from __future__ import annotations

import pytest

from services.asr.normalize import normalize_text, ordinal_words


@pytest.mark.parametrize(("written", "spoken"), [
    ("Can I have a light-roast 12-ounce coffee?", "can i have a light roast twelve ounce coffee"),  # tiny.en's own
    ("Make me a 12oz latte.", "make me a twelve ounce latte"),
    ("Get me a 20 oz espresso", "get me a twenty ounce espresso"),
    ("May I have a dark roast, house coffee with sweetener?", "may i have a dark roast house coffee with sweetener"),
    ("I'd like a latte", "i'd like a latte"),  # apostrophes inside words stay: the templates have them
    ("I\u2019d like a latte", "i'd like a latte"),
    ("'Hello' \"there\"!", "hello there"),
    ("Set the timer for 7:30", "set the timer for seven thirty"),
    ("Wake me at 7:00", "wake me at seven"),
    ("Turn it up 50%", "turn it up fifty percent"),
    ("Salt & pepper", "salt and pepper"),
    ("Set it to 2.5 degrees", "set it to two point five degrees"),
    ("1,000 people", "one thousand people"),
    ("the 3rd and the 21st", "the third and the twenty first"),
    ("Room 101", "room one hundred and one"),
    ("", ""),
    ("...", ""),
])
def test_whisper_text_becomes_template_words(written: str, spoken: str) -> None:
    assert normalize_text(written) == spoken


def test_a_unit_is_spelled_out_only_after_a_number() -> None:
    assert normalize_text("5 min") == "five minutes"
    assert normalize_text("give me a min") == "give me a min"


def test_ordinals() -> None:
    assert ordinal_words(1) == ["first"]
    assert ordinal_words(12) == ["twelfth"]
    assert ordinal_words(20) == ["twentieth"]
    assert ordinal_words(44) == ["forty", "fourth"]
