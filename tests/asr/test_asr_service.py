"""The ASR service on a real broker: espeak-ng speech streamed as audioFrames, recognised, then understood."""

from __future__ import annotations

import asyncio
import io
import logging
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hermes.asr import (
    AsrAudioCaptured,
    AsrStartListening,
    AsrStopListening,
    AsrTextCaptured,
    AsrToggleOff,
    AsrToggleOn,
    AsrTrain,
    AsrTrainSuccess,
)
from hermes.audioserver import AudioFrame, AudioSessionFrame
from hermes.common import ToggleReason
from hermes.errors import AsrError
from hermes.g2p import G2pPhonemes, G2pPronounce
from hermes.nlu import NluIntent, NluIntentNotRecognized, NluQuery, NluTrain, NluTrainSuccess
from hermes.wav import pcm_to_wav
from services.asr.endpointer import VAD_NAMES
from services.asr.fsg import covering_sentences, parse_fsg
from services.asr.service import AsrService, AsrSettings
from services.nlu.service import NluService
from services.nlu.training import TrainedProfile, train_profile
from services.profile import Profile

from .profiles import RETRAIN_SENTENCES, write_profile
from .speech import frames, noise_only, utterance
from .test_any_audio_in import g711_chunks, stereo_44k_chunks

TIMEOUT = 30.0


def wav_frames(pcm: bytes) -> list[bytes]:
    return [pcm_to_wav(f) for f in frames(pcm)]


async def listen(client: Any, site: str, session: str, wavs: list[bytes], *, session_frames: bool = False,
                 stop: bool = False, **start: Any) -> AsrTextCaptured:
    """startListening, the audio, (stopListening,) and the transcript of that session."""
    await client.subscribe(AsrTextCaptured.subscribe_filter())  # before anything can be published
    await client.publish(AsrStartListening(site_id=site, session_id=session, **start))
    for wav in wavs:
        if session_frames:
            await client.publish(AudioSessionFrame(site_id=site, session_id=session, wav_bytes=wav))
        else:
            await client.publish(AudioFrame(site_id=site, wav_bytes=wav))
    if stop:
        await client.publish(AsrStopListening(site_id=site, session_id=session))
    return await client.expect(AsrTextCaptured, timeout=TIMEOUT, where=lambda m: m.session_id == session)


def understood(trained: TrainedProfile, text: str) -> tuple[str, dict[str, Any]] | None:
    results = trained.recognize(text, fuzzy=False)
    return (results[0].intent, results[0].slots) if results else None


@pytest.fixture
def asr_profile(tmp_path: Path) -> tuple[Path, TrainedProfile]:
    profile = write_profile(tmp_path / "asr-profile")
    return profile, train_profile(profile)  # what 'hermesh train' does


async def understood_by_nlu_service(client: Any, captured: AsrTextCaptured) -> tuple[str, dict[str, Any]] | None:
    """What the NLU service makes of a transcript (as the dialogue manager would ask it)."""
    query_id = f"q-{captured.session_id}"
    await client.publish(NluQuery(input=captured.text, site_id=captured.site_id, session_id=captured.session_id,
                                  id=query_id, asr_confidence=captured.likelihood))
    intent = asyncio.create_task(client.expect(NluIntent, timeout=TIMEOUT, where=lambda m: m.id == query_id))
    missed = asyncio.create_task(
        client.expect(NluIntentNotRecognized, timeout=TIMEOUT, where=lambda m: m.id == query_id))
    done, pending = await asyncio.wait({intent, missed}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    if intent not in done:
        return None
    result = intent.result()
    return result.intent_name, {slot.slot_name: slot.value["value"] for slot in result.slots or []}


async def speak_every_sentence(run_service: Callable[..., Any], mqtt_client: Any, profile: Path,
                               trained: TrainedProfile, site_id: str, sites: int = 3) -> None:
    """Every covering sentence of the profile's grammar, spoken and streamed on several sites at once;
    the ASR service transcribes, the NLU service recognises, both on the broker."""
    sentences = [" ".join(s) for s in covering_sentences(parse_fsg((profile / "trained" / "grammar.fsg").read_text()))]
    intents = {understood(trained, s)[0] for s in sentences if understood(trained, s)}
    assert intents == set(trained.graph.intents), "the sentences must cover every intent"
    await mqtt_client.subscribe(NluIntent.subscribe_filter(), NluIntentNotRecognized.subscribe_filter())
    failures: list[str] = []

    async def one_site(number: int) -> None:
        site = f"{site_id}-{number}"
        for index, sentence in enumerate(sentences[number::sites]):
            expected = understood(trained, sentence)
            assert expected is not None, f"the NLU does not understand its own sentence {sentence!r}"
            captured = await listen(mqtt_client, site, f"{site}-{index}", wav_frames(utterance(sentence)))
            if await understood_by_nlu_service(mqtt_client, captured) != expected:
                failures.append(f"{sentence!r} -> heard {captured.text!r}")

    async with run_service(AsrService, settings=AsrSettings(), profile=profile), \
            run_service(NluService, profile=profile):
        await asyncio.gather(*(one_site(n) for n in range(sites)))
    assert not failures, f"{len(failures)} of {len(sentences)} sentences misunderstood: {failures}"


async def test_every_sentence_gives_the_right_intent_and_slots(
    run_service: Callable[..., Any], mqtt_client: Any, asr_profile: tuple[Path, TrainedProfile], site_id: str
) -> None:
    profile, trained = asr_profile
    await speak_every_sentence(run_service, mqtt_client, profile, trained, site_id)


async def test_every_sentence_of_the_default_profile(
    run_service: Callable[..., Any], mqtt_client: Any, profile_dir: Path, site_id: str
) -> None:
    trained = train_profile(profile_dir)
    await speak_every_sentence(run_service, mqtt_client, profile_dir, trained, site_id)


async def test_transcript_fields_tokens_and_captured_audio(
    run_service: Callable[..., Any], mqtt_client: Any, asr_profile: tuple[Path, TrainedProfile], site_id: str
) -> None:
    profile, _ = asr_profile
    pcm = utterance("set the kitchen light to violet")
    await mqtt_client.subscribe(AsrAudioCaptured.subscribe_filter())
    async with run_service(AsrService, profile=profile):
        captured = await listen(mqtt_client, site_id, "s1", wav_frames(pcm), send_audio_captured=True,
                                wakeword_id="porcupine", lang="en")
        audio = await mqtt_client.expect(AsrAudioCaptured, timeout=TIMEOUT, where=lambda m: m.session_id == "s1")
    assert captured.text == "set the kitchen light to violet"
    assert 0 < captured.likelihood <= 1 and captured.seconds > 0
    assert (captured.site_id, captured.wakeword_id, captured.lang) == (site_id, "porcupine", "en")
    tokens = captured.asr_tokens[0]
    assert [t.value for t in tokens] == captured.text.split()
    assert all(captured.text[t.range_start : t.range_end] == t.value for t in tokens)
    assert all(t.time is not None and t.time.start < t.time.end for t in tokens)
    with wave.open(io.BytesIO(audio.wav_bytes)) as w:
        assert (w.getframerate(), w.getnchannels()) == (16000, 1)
        assert 0.6 * len(pcm) / 2 < w.getnframes() <= len(pcm) / 2  # up to the end of speech


@pytest.mark.parametrize("vad", VAD_NAMES)
async def test_silence_noise_and_no_audio_end_with_an_empty_transcript(
    run_service: Callable[..., Any], mqtt_client: Any, asr_profile: tuple[Path, TrainedProfile], site_id: str,
    vad: str,
) -> None:
    profile, _ = asr_profile
    settings = AsrSettings(vad=vad, session_timeout=2.0, segmenter={"no_speech_timeout": 3.0})
    async with run_service(AsrService, settings=settings, profile=profile):
        speech = await listen(mqtt_client, site_id + "-s", "speech", wav_frames(utterance("tell me the time")))
        silent = await listen(mqtt_client, site_id, "silence", wav_frames(bytes(2 * 16000 * 4)))
        noisy = await listen(mqtt_client, site_id + "-n", "noise", wav_frames(noise_only(4.0, rms=500)))
        nothing = await listen(mqtt_client, site_id + "-x", "nothing", [])  # a microphone that died
    assert speech.text == "tell me the time"  # the same VAD does hear speech
    for captured in (silent, noisy, nothing):
        assert (captured.text, captured.likelihood, captured.seconds) == ("", 0.0, 0.0)


async def test_a_session_that_heard_no_speech_is_not_decoded(
    run_service: Callable[..., Any], mqtt_client: Any, asr_profile: tuple[Path, TrainedProfile], site_id: str
) -> None:
    """A stopListening before any speech ends the session with an empty text and no decode: decoding it (denoise,
    trim, decoder) only to discard the result was ~70% of the ASR's CPU on bench/memory_soak.py's sessions, so a
    stream of them outran the ASR and its backlog (and RSS: 204 -> 270 MiB over 8,000) grew without end."""
    profile, _ = asr_profile
    decoded: list[int] = []
    async with run_service(AsrService, profile=profile) as asr:
        engine_decode = asr.engine.decode

        def counting_decode(pcm: bytes, intent_filter: Any) -> Any:  # the real decode, counted
            decoded.append(len(pcm))
            return engine_decode(pcm, intent_filter)

        asr.engine.decode = counting_decode
        quiet = await listen(mqtt_client, site_id, "quiet", wav_frames(noise_only(0.2, rms=60)), stop=True)
        assert (quiet.text, decoded) == ("", [])
        # the same path with speech and stopOnSilence off is decoded (so the count above means something)
        spoken = await listen(mqtt_client, site_id + "-s", "spoken", wav_frames(utterance("tell me the time")),
                              stop=True, stop_on_silence=False)
    assert spoken.text == "tell me the time" and len(decoded) == 1


async def test_stop_listening_transcribes_what_was_streamed(
    run_service: Callable[..., Any], mqtt_client: Any, asr_profile: tuple[Path, TrainedProfile], site_id: str
) -> None:
    profile, _ = asr_profile
    async with run_service(AsrService, profile=profile):
        # HTTP speech-to-text style: session frames, no silence detection, ended by stopListening
        captured = await listen(mqtt_client, site_id, "http-1", wav_frames(utterance("tell me the time")),
                                session_frames=True, stop=True, stop_on_silence=False)
        assert captured.text == "tell me the time"
        # frames of another session id are not mixed in
        await mqtt_client.publish(AsrStartListening(site_id=site_id, session_id="http-2", stop_on_silence=False))
        for wav in wav_frames(utterance("what time is it")):
            await mqtt_client.publish(AudioSessionFrame(site_id=site_id, session_id="other", wav_bytes=wav))
        await mqtt_client.publish(AsrStopListening(site_id=site_id, session_id="http-2"))
        empty = await mqtt_client.expect(AsrTextCaptured, timeout=TIMEOUT, where=lambda m: m.session_id == "http-2")
        assert empty.text == ""


@pytest.mark.parametrize("kind", ["stereo_44k", "mulaw"])
async def test_other_audio_formats_are_recognised(
    run_service: Callable[..., Any], mqtt_client: Any, asr_profile: tuple[Path, TrainedProfile], site_id: str,
    kind: str,
) -> None:
    profile, trained = asr_profile
    pcm = utterance("turn off the garage light")
    wavs = stereo_44k_chunks(pcm) if kind == "stereo_44k" else g711_chunks(pcm, kind)
    async with run_service(AsrService, profile=profile):
        captured = await listen(mqtt_client, site_id, "fmt", wavs)
    assert understood(trained, captured.text) == ("ChangeLightState", {"state": "off", "name": "garage light"})


async def test_toggles_nest_by_reason(
    run_service: Callable[..., Any], mqtt_client: Any, asr_profile: tuple[Path, TrainedProfile], site_id: str
) -> None:
    profile, _ = asr_profile
    speech = wav_frames(utterance("what time is it"))
    async with run_service(AsrService, profile=profile):
        await mqtt_client.publish(AsrToggleOff(site_id=site_id, reason=ToggleReason.TTS_SAY))
        await mqtt_client.publish(AsrToggleOff(site_id=site_id, reason=ToggleReason.PLAY_AUDIO))
        await mqtt_client.publish(AsrToggleOn(site_id=site_id, reason=ToggleReason.TTS_SAY))
        # still off (playAudio remains): the frames are dropped
        deaf = await listen(mqtt_client, site_id, "t1", speech, stop=True)
        await mqtt_client.publish(AsrToggleOn(site_id=site_id, reason=ToggleReason.PLAY_AUDIO))
        heard = await listen(mqtt_client, site_id, "t2", speech)
        await mqtt_client.publish(AsrToggleOff(site_id=site_id, reason=ToggleReason.DIALOGUE_SESSION))
        await mqtt_client.publish(AsrToggleOn(site_id=site_id))  # no reason: clears every reason
        again = await listen(mqtt_client, site_id, "t3", speech)
    assert (deaf.text, heard.text, again.text) == ("", "what time is it", "what time is it")


async def test_intent_filter_limits_what_can_be_heard(
    run_service: Callable[..., Any], mqtt_client: Any, asr_profile: tuple[Path, TrainedProfile], site_id: str
) -> None:
    profile, trained = asr_profile
    async with run_service(AsrService, profile=profile):
        captured = await listen(mqtt_client, site_id, "f1", wav_frames(utterance("set a timer for five minutes")),
                                intent_filter=["SetTimer"])
        other = await listen(mqtt_client, site_id, "f2", wav_frames(utterance("what time is it")),
                             intent_filter=["SetTimer"])
    assert understood(trained, captured.text) == ("SetTimer", {"minutes": 5})
    heard = understood(trained, other.text)
    assert heard is None or heard[0] == "SetTimer"  # nothing outside the filter can come out


async def test_training_over_mqtt_with_an_unknown_word(
    run_service: Callable[..., Any], mqtt_client: Any, asr_profile: tuple[Path, TrainedProfile], site_id: str
) -> None:
    profile, _ = asr_profile
    await mqtt_client.subscribe(AsrTrainSuccess.subscribe_filter(), AsrError.subscribe_filter())
    async with run_service(AsrService, profile=profile):
        await mqtt_client.publish(AsrTrain(site_id=site_id, id="train-1", sentences={"sentences.ini": RETRAIN_SENTENCES}))
        await mqtt_client.expect(AsrTrainSuccess, timeout=TIMEOUT, where=lambda m: m.id == "train-1")
        captured = await listen(mqtt_client, site_id, "r1", wav_frames(utterance("good morning rhasspy")))
        assert captured.text == "good morning rhasspy"  # "rhasspy" got a guessed pronunciation
        assert "rhasspy R AE S P IY" in (profile / "trained" / "asr" / "unknown_words.txt").read_text()
        await mqtt_client.publish(AsrTrain(site_id=site_id, id="train-2", sentences={"sentences.ini": "[Broken]\nturn <nope>\n"}))
        error = await mqtt_client.expect(AsrError, timeout=TIMEOUT, where=lambda m: m.session_id == "train-2")
        assert "nope" in error.error
        # the previous model keeps serving
        captured = await listen(mqtt_client, site_id, "r2", wav_frames(utterance("hello rhasspy")))
        assert captured.text == "hello rhasspy"
        # Rhasspy's own train message (a pickled graph file) is refused with a reason
        await mqtt_client.publish(AsrTrain(site_id=site_id, id="train-3", graph_path="/profile/intent_graph.pickle.gz"))
        error = await mqtt_client.expect(AsrError, timeout=TIMEOUT, where=lambda m: m.session_id == "train-3")
        assert "graph file" in error.error and error.site_id == site_id


async def test_a_new_hermesh_train_is_picked_up_without_restart(
    run_service: Callable[..., Any], mqtt_client: Any, asr_profile: tuple[Path, TrainedProfile], site_id: str
) -> None:
    profile, _ = asr_profile
    async with run_service(AsrService, profile=profile):
        before = await listen(mqtt_client, site_id, "h1", wav_frames(utterance("open the pod bay doors")))
        (profile / "sentences.ini").write_text("[OpenDoors]\nopen the pod bay doors\n")
        train_profile(profile)  # what 'hermesh train' does while the service runs
        after = await listen(mqtt_client, site_id, "h2", wav_frames(utterance("open the pod bay doors")))
    assert before.text != "open the pod bay doors"
    assert after.text == "open the pod bay doors"


async def test_the_nlu_saving_the_same_training_does_not_make_the_asr_train_again(
    run_service: Callable[..., Any], mqtt_client: Any, asr_profile: tuple[Path, TrainedProfile], site_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """POST /api/train sends the profile's texts to the ASR and the NLU; the NLU keeps its model in trained/, the
    file 'hermesh train' writes. The ASR used to take that for a new training and train again, from the files,
    inside the next session: the first command after a training waited for it (seconds on a large profile)."""
    profile, _ = asr_profile
    (profile / "sentences.ini").write_text("[OpenDoors]\nopen the pod bay doors\n")
    texts = Profile(profile)  # what the bridge sends is what the profile has
    sentences, slots = dict(texts.sentence_texts(relative_names=True)), texts.slot_texts()
    await mqtt_client.subscribe(AsrTrainSuccess.subscribe_filter(), NluTrainSuccess.subscribe_filter())
    async with run_service(AsrService, profile=profile), run_service(NluService, profile=profile):
        caplog.set_level(logging.INFO, logger="hermesh.asr")
        for message in (AsrTrain(site_id=site_id, id="t-asr", sentences=sentences, slots=slots),
                        NluTrain(site_id=site_id, id="t-nlu", sentences=sentences, slots=slots)):
            await mqtt_client.publish(message)
        await mqtt_client.expect(AsrTrainSuccess, timeout=TIMEOUT, where=lambda m: m.id == "t-asr")
        await mqtt_client.expect(NluTrainSuccess, timeout=TIMEOUT, where=lambda m: m.id == "t-nlu")
        heard = await listen(mqtt_client, site_id, "same-1", wav_frames(utterance("open the pod bay doors")))
    trainings = [r for r in caplog.records if r.name == "hermesh.asr" and r.getMessage().startswith("trained:")]
    assert heard.text == "open the pod bay doors"
    assert len(trainings) == 1, [r.getMessage() for r in trainings]


async def test_untrained_service_reports_an_error(
    run_service: Callable[..., Any], mqtt_client: Any, tmp_path: Path, site_id: str
) -> None:
    empty = tmp_path / "empty-profile"
    empty.mkdir()
    await mqtt_client.subscribe(AsrError.subscribe_filter())
    async with run_service(AsrService, profile=empty):
        await mqtt_client.publish(AsrStartListening(site_id=site_id, session_id="u1"))
        error = await mqtt_client.expect(AsrError, timeout=TIMEOUT, where=lambda m: m.session_id == "u1")
    assert "not trained" in error.error and error.site_id == site_id


async def test_pronunciations_over_mqtt(
    run_service: Callable[..., Any], mqtt_client: Any, asr_profile: tuple[Path, TrainedProfile], site_id: str
) -> None:
    profile, _ = asr_profile
    (profile / "custom_words.txt").write_text("hermesh HH ER M EH SH\n")
    await mqtt_client.subscribe(G2pPhonemes.subscribe_filter())
    async with run_service(AsrService, profile=profile):
        await mqtt_client.publish(G2pPronounce(words=["lamp", "rhasspy", "hermesh"], id="g1", site_id=site_id))
        reply = await mqtt_client.expect(G2pPhonemes, timeout=TIMEOUT, where=lambda m: m.id == "g1")
    prons = reply.word_phonemes
    assert prons["lamp"][0].phonemes == ["L", "AE", "M", "P"] and prons["lamp"][0].guessed is False
    assert prons["rhasspy"][0].phonemes == ["R", "AE", "S", "P", "IY"] and prons["rhasspy"][0].guessed is True
    assert prons["hermesh"][0].phonemes == ["HH", "ER", "M", "EH", "SH"] and prons["hermesh"][0].guessed is False


async def test_a_bad_custom_words_line_blocks_training_only_for_a_word_the_sentences_use(
    run_service: Callable[..., Any], mqtt_client: Any, asr_profile: tuple[Path, TrainedProfile], site_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Rhasspy trains with a stray line for a word no sentence uses (issue 14): it is kept, warned about (naming
    the line) and shown by a lookup; a bad line for a used word still fails training, naming file, line, word."""
    profile, _ = asr_profile
    words = profile / "custom_words.txt"
    await mqtt_client.subscribe(AsrTrainSuccess.subscribe_filter(), AsrError.subscribe_filter(),
                                G2pPhonemes.subscribe_filter())
    async with run_service(AsrService, profile=profile):
        words.write_text("hermesh HH ER M EH SH\nzzunused P1 P2 P3\n")
        await mqtt_client.publish(AsrTrain(site_id=site_id, id="t1", sentences={"sentences.ini": RETRAIN_SENTENCES}))
        await mqtt_client.expect(AsrTrainSuccess, timeout=TIMEOUT, where=lambda m: m.id == "t1")
        await mqtt_client.publish(G2pPronounce(words=["zzunused"], id="g1", site_id=site_id))
        looked_up = await mqtt_client.expect(G2pPhonemes, timeout=TIMEOUT, where=lambda m: m.id == "g1")
        words.write_text("rhasspy R AE S P IY9 QQ\n")  # "rhasspy" is in RETRAIN_SENTENCES
        await mqtt_client.publish(AsrTrain(site_id=site_id, id="t2", sentences={"sentences.ini": RETRAIN_SENTENCES}))
        error = await mqtt_client.expect(AsrError, timeout=TIMEOUT, where=lambda m: m.session_id == "t2")
        captured = await listen(mqtt_client, site_id, "k1", wav_frames(utterance("good morning rhasspy")))
    assert any("line 2 (zzunused)" in r.getMessage() and "no sentence uses" in r.getMessage() for r in caplog.records)
    assert looked_up.word_phonemes["zzunused"][0].phonemes == ["P1", "P2", "P3"]
    assert f"{words} line 1 (rhasspy)" in error.error and "QQ" in error.error
    assert captured.text == "good morning rhasspy"  # the previous model keeps serving
