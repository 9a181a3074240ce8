"""The web UI's speaker picker, on a mesh whose TTS is Piper with a real two-speaker voice."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from services.profile import ensure_profile
from tests.tts.piper_voices import add_two_speaker_voice

from .conftest import Mesh, new_page, screenshot

PAIR = "en_US-pair-medium"


@pytest.fixture(scope="module")
def piper_mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    """Only the TTS (Piper, voices_dir holding a two-speaker voice) and the bridge: what the picker talks to."""
    root = tmp_path_factory.mktemp("webui-piper")
    mesh = Mesh(root, services=["tts", "bridge"])
    ensure_profile(mesh.profile)
    add_two_speaker_voice(root / "voices", PAIR)
    settings = json.loads((mesh.profile / "profile.json").read_text(encoding="utf-8"))
    settings["tts"] = {"engine": "piper", "piper": {"voices_dir": str(root / "voices")}}
    (mesh.profile / "profile.json").write_text(json.dumps(settings), encoding="utf-8")
    try:
        mesh.start()
        yield mesh
    finally:
        mesh.stop()


def speak(page, voice: str, speaker: str) -> int:  # type: ignore[no-untyped-def]
    """Speak with the voice and speaker picked; the size of the WAV the player got."""
    page.select_option("#voice", voice)
    page.select_option("#tts-speaker", speaker)
    with page.expect_response(lambda r: "/api/text-to-speech" in r.url) as spoken:
        page.click("#speak")
    reply = spoken.value
    assert reply.status == 200 and reply.headers["content-type"] == "audio/wav"
    assert (f"speaker={speaker}" in reply.url) == bool(speaker), reply.url
    page.wait_for_function(f"document.querySelector('#player').dataset.speaker === '{speaker}'")
    size = page.evaluate("async () => (await (await fetch(document.querySelector('#player').src)).arrayBuffer())"
                         ".byteLength")
    assert size > 44
    return int(size)


def test_a_multi_speaker_voice_offers_its_speakers_and_the_one_picked_speaks(browser_factory, piper_mesh):
    """GET /api/tts-voices lists the pair voice's speakers; picking that voice shows a speaker picker (hidden for
    the bundled one-speaker voice), and the speaker picked goes out as ?speaker= and is the one heard: speaker
    slow_joe takes 1.5x as long per phoneme as joe (tests/tts/piper_voices.py)."""
    context, page = new_page(browser_factory)
    try:
        page.goto(f"{piper_mesh.url}/#/test")
        page.wait_for_selector("main h1")
        page.wait_for_function(f"[...document.querySelectorAll('#voice option')].some(o => o.value === '{PAIR}')")
        assert page.is_hidden("#tts-speaker")  # the default (bundled, one-speaker) voice has no speaker to pick
        page.select_option("#voice", PAIR)
        assert page.is_visible("#tts-speaker")
        offered = page.eval_on_selector_all("#tts-speaker option", "options => options.map(o => o.value)")
        assert offered == ["", "joe", "slow_joe"]
        page.fill("#say-text", "Hello there, how are you today?")
        joe = speak(page, PAIR, "joe")
        slow = speak(page, PAIR, "slow_joe")
        page.wait_for_selector("[data-testid=voice-state]:has-text('speaker slow_joe')")
        screenshot(page, "test-tts-speaker")
        default = speak(page, PAIR, "")
        assert 1.2 < (slow - 44) / (joe - 44) < 1.8
        # no speaker: the voice's default, speaker 0 (Piper's noise makes lengths vary a little from say to say)
        assert 0.85 < (default - 44) / (joe - 44) < 1.15
        page.select_option("#voice", "")
        assert page.is_hidden("#tts-speaker")
        log = piper_mesh.log.read_text(errors="replace")
        assert f"voice {PAIR}, language (default), speaker slow_joe" in log, log[-3000:]
        assert page.console_watch.errors == []
    finally:
        context.close()
