"""The pure text modules of the plain-text TTS engines: SSML to text and pauses, and what a voice can speak."""

from __future__ import annotations

import pytest

from services.tts.speakable import script_of, speakable
from services.tts.ssml import (
    MAX_BREAK_SECONDS,
    Pause,
    SpokenText,
    break_seconds,
    is_ssml,
    plain_segments,
    segments,
)


def test_tags_are_dropped_and_breaks_become_pauses():
    ssml = ('<speak version="1.1">Hello <emphasis level="strong">there</emphasis>.<break time="750ms"/>'
            '<prosody rate="slow">Second <say-as interpret-as="date">part</say-as></prosody></speak>')
    assert segments(ssml) == [SpokenText("Hello there ."), Pause(0.75), SpokenText("Second part")]


@pytest.mark.parametrize(("attributes", "seconds"), [
    (' time="2s"', 2.0), (" time='250ms'", 0.25), (' time="1.5s"', 1.5), (' time="3"', 3.0),
    (' strength="weak"', 0.25), (' strength="none"', 0.0), ("", 0.5), (' time="soon"', 0.5),
    (' time="500s"', MAX_BREAK_SECONDS),
])
def test_break_lengths(attributes, seconds):
    assert break_seconds(attributes) == pytest.approx(seconds)


def test_no_tag_or_entity_is_left_to_read_aloud():
    ssml = ('<speak><!-- a comment --><p><s>Fish &amp; chips</s><s>cost &lt;5</s></p><audio src="x.wav"/>'
            '<mark name="m"/>done <unclosed and > a stray</speak>')
    texts = [s.text for s in segments(ssml) if isinstance(s, SpokenText)]
    spoken = " ".join(texts)
    assert "Fish & chips" in spoken and "done" in spoken
    for leftover in ("<", ">", "speak", "mark", "audio", "comment", "&amp;", "src"):
        assert leftover not in spoken, leftover


def test_a_tag_separates_words_and_empty_text_is_no_segment():
    assert segments("<speak>one<s/>two</speak>") == [SpokenText("one two")]
    assert segments("<speak> <break/> </speak>") == [Pause(0.5)]
    assert plain_segments("   ") == [] and plain_segments("") == []
    assert plain_segments("a < b and c > d") == [SpokenText("a < b and c > d")]  # plain text is left alone
    declared = '<?xml version="1.0"?>\n<speak>hi<break time="1s"/></speak>'
    assert is_ssml(declared) and plain_segments(declared) == [SpokenText("hi"), Pause(1.0)]
    assert not is_ssml("speak <speak>")


def test_emoji_and_other_scripts_are_skipped():
    assert speakable("turn on 💡 the lamp 👍🏽!", "en_US") == "turn on the lamp !"
    assert speakable("hello 你好 world", "en_US") == "hello world"
    assert speakable("say привет", "en") == "say"
    assert speakable("привет, Hermesh", "ru_RU") == "привет, Hermesh"  # Latin names stay in any language
    assert speakable("Grüße, 3.5 € ça va?", "de_DE") == "Grüße, 3.5 € ça va?"  # nothing dropped: text unchanged
    assert speakable("👨‍👩‍👧🎉", "en") == ""
    assert script_of("zh_CN") == "CJK" and script_of("el") == "GREEK" and script_of("pt-BR") == "LATIN"
