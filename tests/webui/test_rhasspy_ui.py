"""What Rhasspy's web UI has and ours lacked (issue 14), in a real Chromium against a real mesh that has a
microphone and a speaker: virtual PulseAudio devices (tests/pulse.py), audio-input and audio-output services,
auth on (an admin token, and JWTs for user tokens), site ``kitchen``."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator

import numpy as np
import paho.mqtt.client as paho
import pytest

from bridge.auth import encode_jwt
from hermes.wav import to_pcm16k_mono
from tests.pulse import PulseAudio, virtual_sound_card

from .conftest import UI_SERVICES, Mesh, new_page, screenshot
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
    mesh = Mesh(tmp_path_factory.mktemp("webui-audio"), services=[*UI_SERVICES, "audio-input", "audio-output"],
                extra_args=["--site-id", SITE, "--auth-token", ADMIN_TOKEN, "--jwt-secret", JWT_SECRET],
                token=ADMIN_TOKEN)
    try:
        mesh.start()
        mesh.post("/api/train", b"")
        yield mesh
    finally:
        mesh.stop()


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


def pcm_of(wav: bytes) -> np.ndarray:
    return np.frombuffer(to_pcm16k_mono(wav), dtype="<i2").astype(np.float64)


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
    # The live log is admin-only, so a user token's log socket is refused; nothing else may fail.
    assert [e for e in page.console_watch.errors if "/api/events/log" not in e] == []


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
