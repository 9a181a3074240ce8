"""What Rhasspy's web UI has and ours lacked (issue 14), in a real Chromium against a real mesh that has a
microphone and a speaker: virtual PulseAudio devices (tests/pulse.py), audio-input and audio-output services,
auth on (an admin token, and JWTs for user tokens), site ``kitchen``."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import paho.mqtt.client as paho
import pytest

from bridge.auth import encode_jwt
from hermes.wav import to_pcm16k_mono
from tests.pulse import PulseAudio, virtual_sound_card

from .conftest import UI_SERVICES, Mesh, new_page, screenshot, trained
from .test_webui import espeak_wav

SITE = "kitchen"
ADMIN_TOKEN = "webui-admin-token"
JWT_SECRET = "webui-jwt-secret"


@pytest.fixture(scope="module")
def pulse() -> Iterator[PulseAudio]:
    with virtual_sound_card("hermesh-webui-pulse-") as card:  # the mesh's processes inherit PULSE_SERVER
        yield card


@pytest.fixture(scope="module")
def mesh(tmp_path_factory: pytest.TempPathFactory, pulse: PulseAudio) -> Iterator[Mesh]:
    with trained(Mesh(tmp_path_factory.mktemp("webui-audio"), services=[*UI_SERVICES, "audio-input", "audio-output"],
                      extra_args=["--site-id", SITE, "--auth-token", ADMIN_TOKEN, "--jwt-secret", JWT_SECRET],
                      token=ADMIN_TOKEN)) as mesh:
        yield mesh


@pytest.fixture
def page(browser_factory, mesh):  # type: ignore[no-untyped-def]
    context, page = new_page(browser_factory)
    yield page
    context.close()


def open_ui(page, mesh: Mesh, name: str, token: str = ADMIN_TOKEN):  # type: ignore[no-untyped-def]
    page.goto(f"{mesh.url}/?token={token}#/{name}")
    page.wait_for_selector("main h1")
    page.wait_for_load_state("networkidle")
    return page


class BrokerWatch:
    """Every message on ``topics`` of the mesh's broker from now on, for the test to wait on."""

    def __init__(self, port: int, *topics: str) -> None:
        self.messages: list[tuple[str, dict]] = []
        self._lock = threading.Condition()
        self._client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        self._client.on_message = self._on_message
        self._client.connect("127.0.0.1", port)
        for topic in topics:
            self._client.subscribe(topic)
        self._client.loop_start()

    def _on_message(self, client, userdata, message) -> None:  # type: ignore[no-untyped-def]
        try:
            payload = json.loads(message.payload)
        except ValueError:
            payload = {}
        with self._lock:
            self.messages.append((message.topic, payload))
            self._lock.notify_all()

    def wait_for(self, topic: str, where: Callable[[dict], bool], timeout: float = 20.0) -> dict:
        def found() -> dict | None:
            return next((p for t, p in self.messages if t == topic and where(p)), None)

        with self._lock:
            if not self._lock.wait_for(lambda: found() is not None, timeout):
                raise AssertionError(f"no {topic} within {timeout} s; got {[t for t, _ in self.messages]}")
            result = found()
            assert result is not None
            return result

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


@pytest.fixture
def broker(mesh: Mesh) -> Iterator[Callable[..., BrokerWatch]]:
    watches: list[BrokerWatch] = []

    def watch(*topics: str) -> BrokerWatch:
        watches.append(BrokerWatch(mesh.mqtt_port, *topics))
        return watches[-1]

    yield watch
    for one in watches:
        one.close()


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def a_sound_ended(pcm: bytes, loud: float = 300.0) -> bool:
    """Something was played and has been followed by half a second of silence."""
    x = samples(pcm[: len(pcm) // 2 * 2])
    hits = np.flatnonzero(np.abs(x) > loud)
    return len(hits) > 1600 and len(x) - hits[-1] > 8000


def speaker_plays(pulse: PulseAudio, action: Callable[[], object], timeout: float = 30.0) -> np.ndarray:
    """What the virtual speaker played because of ``action``."""
    with pulse.record_speaker() as speaker:
        action()
        return samples(speaker.wait_for(a_sound_ended, timeout))


def similarity(sound: np.ndarray, heard: np.ndarray) -> float:
    """Peak normalised cross-correlation of ``sound`` within ``heard`` (1.0: the same samples, at any offset)."""
    n = 1 << int(np.ceil(np.log2(len(sound) + len(heard))))
    correlation = np.fft.irfft(np.fft.rfft(heard, n) * np.conj(np.fft.rfft(sound, n)), n)
    return float(correlation.max() / (np.linalg.norm(sound) * np.linalg.norm(heard) + 1e-9))


def test_wake_up_with_a_user_token_starts_a_session_and_shows_the_command(page, mesh, pulse, broker, tmp_path):
    """Wake up goes through POST /api/listen-for-command, which a user token may call for its own site (the raw
    MQTT publish it replaced is admin-only: 403). The session really starts on the broker, the ASR listens to the
    virtual microphone, and the command spoken there comes back to the page as its intent."""
    user = encode_jwt({"user": {"username": SITE, "role": "user"}}, JWT_SECRET)
    watch = broker("hermes/dialogueManager/sessionStarted", "hermes/asr/startListening")
    open_ui(page, mesh, "test", token=user)
    page.click("#wake")
    started = watch.wait_for("hermes/dialogueManager/sessionStarted", lambda p: p.get("siteId") == SITE)
    watch.wait_for("hermes/asr/startListening", lambda p: p.get("sessionId") == started["sessionId"])
    command = espeak_wav("what time is it", tmp_path / "command.wav", lead=0.5, tail=2.0)
    pulse.speak_into_microphone(to_pcm16k_mono(command.read_bytes()))
    page.wait_for_selector("[data-testid=intent-name]", timeout=60_000)
    assert page.inner_text("[data-testid=intent-name]") == "GetTime"
    assert "GetTime" in page.inner_text("#alert")
    screenshot(page, "wake-up-user-token")
    assert page.console_watch.errors == []  # nor is the admin-only live log asked for with a user token


def test_words_page_has_the_phoneme_table_of_the_profile(page, mesh):
    """The table is GET /api/phonemes as it is: the CMU set with example words for English, and a profile's own
    phoneme_examples.txt once there is one."""
    open_ui(page, mesh, "words")
    page.click("#phonemes summary")
    page.wait_for_selector("#phoneme-table table")
    rows = page.eval_on_selector_all("#phoneme-table tbody tr",
                                     "rows => rows.map(r => [...r.cells].map(c => c.innerText))")
    expected = mesh.get_json("/api/phonemes")
    assert len(rows) == len(expected) == 39
    assert ["CH", "cheese", "CH IY Z"] in rows and ["ZH", "seizure", "S IY ZH ER"] in rows
    assert {row[0]: [row[1], row[2]] for row in rows} == {p: [e["word"], e["phonemes"]] for p, e in expected.items()}
    screenshot(page, "words-phonemes")
    own = mesh.profile / "phoneme_examples.txt"
    own.write_text("AA odd AA D\nQX quixote K IY HH OW T IY\n")
    try:
        page.reload()  # the same URL again would only be a same-document navigation
        page.wait_for_selector("#phonemes summary")
        page.click("#phonemes summary")
        page.wait_for_selector("#phoneme-table td:has-text('quixote')")
        rows = page.eval_on_selector_all("#phoneme-table tbody tr",
                                         "rows => rows.map(r => [...r.cells].map(c => c.innerText))")
        assert rows == [["AA", "odd", "AA D"], ["QX", "quixote", "K IY HH OW T IY"]]
    finally:
        own.unlink()
    assert page.console_watch.errors == []


def test_last_recording_is_downloaded_and_played_on_the_speaker(page, mesh, pulse, tmp_path):
    """A WAV transcribed on the Test page becomes the last recording: Download WAV gives its samples, and Play on
    the site's speaker plays those samples on the virtual speaker."""
    wav = espeak_wav("what time is it", tmp_path / "recorded.wav")
    sent = samples(to_pcm16k_mono(wav.read_bytes()))
    open_ui(page, mesh, "test")
    page.set_input_files("#wav-file", str(wav))
    page.click("#upload")
    page.wait_for_selector("[data-testid=intent-name]", timeout=60_000)
    with page.expect_download() as download:
        page.click("#download-recording")
    assert download.value.suggested_filename == "last-recording.wav"
    downloaded = (tmp_path / "download.wav")
    download.value.save_as(downloaded)
    assert np.array_equal(samples(to_pcm16k_mono(downloaded.read_bytes())), sent)
    heard = speaker_plays(pulse, lambda: page.click("#play-recording"))
    page.wait_for_selector("#alert.info:has-text('Last recording played')")
    assert similarity(sent, heard) > 0.9
    screenshot(page, "test-last-recording")
    assert page.console_watch.errors == []


def test_volume_set_in_the_ui_is_the_volume_the_speaker_plays_at(page, mesh, pulse):
    """The same sentence spoken on the site before and after Set volume 0.25: the speaker plays it at a quarter
    of the amplitude. Out-of-range volumes are refused with the bridge's 400 message."""
    def say() -> None:
        mesh.post("/api/text-to-speech", b"the volume test")

    loud = speaker_plays(pulse, say)
    open_ui(page, mesh, "test")
    for wrong in ("1.5", "-0.1"):
        page.fill("#volume", wrong)
        page.click("#set-volume")
        page.wait_for_selector("#alert.error:not([hidden])")
        assert "from 0 to 1" in page.inner_text("#alert")
    page.fill("#volume", "0.25")
    page.click("#set-volume")
    page.wait_for_selector("[data-testid=volume-state]:has-text('set to 0.25')")
    try:
        quiet = speaker_plays(pulse, say)
        ratio = np.abs(quiet).max() / np.abs(loud).max()
        assert 0.2 < ratio < 0.3, ratio
        assert similarity(loud, quiet) > 0.9  # the same sentence, only quieter
    finally:
        page.fill("#volume", "1")
        page.click("#set-volume")
        page.wait_for_selector("[data-testid=volume-state]:has-text('set to 1.0')")
    screenshot(page, "test-volume")
    assert [e for e in page.console_watch.errors if "status of 400" not in e] == []  # the two refusals above


def pick(page, select: str, word: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """Choose the option of ``select`` whose label names ``word``; its (value, label)."""
    options = page.eval_on_selector_all(f"{select} option", "os => os.map(o => [o.value, o.textContent])")
    value, label = next((v, t) for v, t in options if word in t)
    page.select_option(select, value)
    return value, label


def test_microphones_and_speakers_are_listed_and_tested_by_ear(page, mesh, pulse, tmp_path):
    """The Settings page lists the devices the audio services report; Record 3 s and play back records 3 s from
    the chosen microphone (what was spoken into the virtual microphone is in it) and plays exactly that on the
    chosen speaker (the virtual speaker hears it; the services' log names the devices chosen)."""
    open_ui(page, mesh, "settings")
    page.wait_for_selector("#microphone option", state="attached")
    page.wait_for_selector("#speaker option", state="attached")
    microphones = page.eval_on_selector_all("#microphone option", "os => os.map(o => o.value)")
    speakers = page.eval_on_selector_all("#speaker option", "os => os.map(o => o.value)")
    assert microphones == list(mesh.get_json("/api/microphones")) and microphones
    assert speakers == list(mesh.get_json("/api/speakers")) and speakers
    microphone, microphone_label = pick(page, "#microphone", "pulse")
    speaker, speaker_label = pick(page, "#speaker", "pulse")

    spoken = samples(to_pcm16k_mono(espeak_wav("testing one two three", tmp_path / "said.wav", lead=0.5,
                                                tail=0.2).read_bytes()))
    with pulse.record_speaker() as speaker_out:
        page.click("#device-test")
        page.wait_for_selector("#device-state:has-text('Recording 3 s')")
        pulse.speak_into_microphone(spoken.astype("<i2").tobytes())
        page.wait_for_selector("#device-state:has-text('played it on speaker')", timeout=30_000)
        heard = samples(speaker_out.wait_for(a_sound_ended, 10))
    recorded_b64 = page.evaluate("""async () => {
        const bytes = new Uint8Array(await (await fetch(document.querySelector('#device-test-audio').src)).arrayBuffer());
        let text = ''; for (const b of bytes) text += String.fromCharCode(b); return btoa(text); }""")
    recorded = samples(to_pcm16k_mono(base64.b64decode(recorded_b64)))
    assert 2.8 < len(recorded) / 16000 <= 3.0
    # What was spoken into the virtual microphone: 1.00 when PulseAudio keeps real time; a loaded machine can
    # make the player underrun, which splits the sound in two (0.85 seen once). Unrelated sound is near 0.
    assert similarity(spoken, recorded) > 0.7
    assert similarity(recorded, heard) > 0.9  # played as it was recorded
    log = mesh.log.read_text(errors="replace")
    assert re.search(rf"device test: recorded [23]\.\d s from {re.escape(repr(microphone_label.split(': ')[1]))}", log)
    assert f"device test: playing on {speaker_label.split(': ')[1]!r}" in log, log[-3000:]
    screenshot(page, "settings-devices")
    assert page.console_watch.errors == []


def dialogue_pid(mesh: Mesh) -> int:
    instances = mesh.get_json("/api/status")["services"]["dialogue"]["instances"]
    return next(i["pid"] for i in instances if i["status"] == "online")


# Last in this module: it restarts every service of the mesh.
def test_settings_apply_what_they_can_and_restart_for_the_rest(page, mesh, broker):
    """bridge.reply_timeout applies at once; dialogue.session_timeout is saved, marked as needing a restart, and
    Restart now restarts the services: the dialogue manager is a new process and its sessions then end after the
    new timeout (2 s; 30 s before)."""
    open_ui(page, mesh, "settings")
    page.fill("#f-bridge-reply_timeout", "45")
    page.fill("#f-dialogue-session_timeout", "2")
    page.click("#settings-save")
    page.wait_for_selector("#settings-result p.ok")
    assert "bridge.reply_timeout" in page.inner_text("#settings-applied")
    assert "dialogue.session_timeout" in page.inner_text("#settings-needs-restart")
    assert "session_timeout" not in page.inner_text("#settings-applied")
    assert page.inner_text("[data-key='bridge.reply_timeout']") == "applied"
    assert page.inner_text("[data-key='dialogue.session_timeout']") == "needs a restart"
    assert page.inner_text("[data-key='asr.engine']") == ""  # not changed: no mark
    assert mesh.get_json("/api/config")["bridge"]["reply_timeout"] == 45  # live, no restart
    screenshot(page, "settings-restart-offered")

    pid = dialogue_pid(mesh)
    page.click("#settings-restart")
    page.wait_for_selector("#settings-restarted", timeout=120_000)
    assert "dialogue" in page.inner_text("#settings-restarted")
    assert page.inner_text("[data-key='dialogue.session_timeout']") == "applied"
    assert dialogue_pid(mesh) != pid
    mesh.wait_online()

    watch = broker("hermes/dialogueManager/sessionStarted", "hermes/dialogueManager/sessionEnded")
    watch._client.publish("hermes/dialogueManager/startSession", json.dumps(
        {"siteId": SITE, "init": {"type": "action", "canBeEnqueued": False}, "customData": "settings-test"}))
    started = watch.wait_for("hermes/dialogueManager/sessionStarted", lambda p: p.get("customData") == "settings-test")
    began = time.monotonic()
    ended = watch.wait_for("hermes/dialogueManager/sessionEnded",
                           lambda p: p.get("sessionId") == started["sessionId"], timeout=40)
    assert ended["termination"]["reason"] == "timeout", ended
    assert time.monotonic() - began < 5  # the ASR gives up on silence after 6 s; the old timeout was 30 s
    screenshot(page, "settings-restarted")
    assert page.console_watch.errors == []
