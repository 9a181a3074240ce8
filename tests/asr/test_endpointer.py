"""The voice-command segmenter (pure, fed flags) and the detectors on espeak-ng speech and noise."""

from __future__ import annotations

import pytest

from services.asr.endpointer import (
    VAD_NAMES,
    Endpointer,
    SegmenterSettings,
    SegmentEvent,
    VoiceCommandSegmenter,
    make_vad,
)

from .speech import frames, noise_only, utterance

FRAME = 0.03


def run(flags: list[bool], settings: SegmenterSettings) -> list[tuple[SegmentEvent, float]]:
    seg = VoiceCommandSegmenter(settings, FRAME)
    events = []
    for flag in flags:
        event = seg.process(flag)
        if event is not None:
            events.append((event, round(seg.seconds, 2)))
    return events


def test_speech_then_silence_ends_the_command() -> None:
    s = SegmenterSettings(speech_seconds=0.3, silence_seconds=0.6, min_seconds=0.5, ratio=1.0)
    events = run([False] * 10 + [True] * 40 + [False] * 40, s)
    assert [e for e, _ in events] == [SegmentEvent.SPEECH_STARTED, SegmentEvent.SPEECH_ENDED]
    assert events[1][1] == pytest.approx((10 + 40 + 20) * FRAME)  # 0.6 s of silence after the speech


def test_ratio_tolerates_vad_flicker_in_the_silence() -> None:
    s = SegmenterSettings(speech_seconds=0.3, silence_seconds=0.6, min_seconds=0.0, ratio=0.8)
    flicker = ([False] * 4 + [True]) * 8  # 20 % speech flags in the silence still count as silence
    events = run([True] * 20 + flicker, s)
    assert [e for e, _ in events] == [SegmentEvent.SPEECH_STARTED, SegmentEvent.SPEECH_ENDED]


def test_short_pauses_do_not_end_the_command() -> None:
    s = SegmenterSettings(speech_seconds=0.3, silence_seconds=0.6, min_seconds=0.0, ratio=1.0)
    flags = [True] * 20 + [False] * 10 + [True] * 20 + [False] * 40  # a 0.3 s pause mid-sentence
    events = run(flags, s)
    assert [e for e, _ in events] == [SegmentEvent.SPEECH_STARTED, SegmentEvent.SPEECH_ENDED]
    assert events[1][1] == pytest.approx((20 + 10 + 20 + 20) * FRAME)


def test_minimum_duration_holds_the_end_back() -> None:
    s = SegmenterSettings(speech_seconds=0.3, silence_seconds=0.3, min_seconds=2.0)
    events = run([True] * 10 + [False] * 100, s)
    assert events[-1][0] is SegmentEvent.SPEECH_ENDED
    assert events[-1][1] >= 2.0


def test_endless_speech_is_cut_at_max_duration() -> None:
    s = SegmenterSettings(max_seconds=3.0)
    events = run([True] * 200, s)
    assert events[-1] == (SegmentEvent.MAX_DURATION, pytest.approx(3.0, abs=FRAME))


def test_no_speech_gives_up_at_the_timeout_and_then_stays_quiet() -> None:
    s = SegmenterSettings(no_speech_timeout=2.0)
    events = run([False] * 200, s)
    assert events == [(SegmentEvent.NO_SPEECH, pytest.approx(2.0, abs=FRAME))]


def test_isolated_blips_do_not_start_speech() -> None:
    s = SegmenterSettings(speech_seconds=0.3, ratio=0.8, no_speech_timeout=3.0)
    events = run(([True] + [False] * 4) * 30, s)
    assert [e for e, _ in events] == [SegmentEvent.NO_SPEECH]


@pytest.mark.parametrize("vad", VAD_NAMES)
def test_detectors_cut_espeak_speech_and_ignore_noise(vad: str) -> None:
    settings = SegmenterSettings(no_speech_timeout=4.0)
    ep = Endpointer(make_vad(vad), settings)
    events = [e for f in frames(utterance("turn off the garage light")) for e in ep.process(f)]
    assert events == [SegmentEvent.SPEECH_STARTED, SegmentEvent.SPEECH_ENDED]
    assert ep.segmenter.speech_start is not None and 0.3 < ep.segmenter.speech_start < 1.0
    ep = Endpointer(make_vad(vad), settings)
    events = [e for f in frames(noise_only(5.0, rms=500)) for e in ep.process(f)]
    assert events == [SegmentEvent.NO_SPEECH]


def test_unknown_vad_is_named() -> None:
    with pytest.raises(ValueError, match="silero"):
        make_vad("magic")
