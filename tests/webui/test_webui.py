"""The web UI in a real headless Chromium against a real mesh: pages, recognition, editing, training, audio."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from .conftest import screenshot

PAGES = ["test", "sentences", "slots", "words", "settings", "advanced", "sessions"]


def espeak_wav(text: str, path: Path, lead: float = 0.3, tail: float = 0.8) -> Path:
    """A 16 kHz mono WAV of espeak-ng saying ``text`` (the voice pocketsphinx hears best, engines.md)."""
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", "en-us+m3", "-s", "140", "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(path), "pad", str(lead), str(tail)],
                   check=True)
    return path


def open_page(page, mesh, name: str):  # type: ignore[no-untyped-def]
    page.goto(f"{mesh.url}/#/{name}")
    page.wait_for_selector("main h1")
    page.wait_for_load_state("networkidle")
    return page


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_without_console_errors(page, mesh, name):
    open_page(page, mesh, name)
    assert page.inner_text("main h1").lower().startswith(name[:4])
    assert page.locator("#services .badge").count() >= 1
    screenshot(page, f"page-{name}")
    assert page.console_watch.errors == []


def test_root_serves_the_ui(page, mesh):
    page.goto(mesh.url + "/")
    page.wait_for_selector("main h1")
    assert "Test" in page.inner_text("main h1")


def test_typed_sentence_shows_the_intent(page, mesh):
    open_page(page, mesh, "test")
    page.fill("#sentence", "set the bedroom light to blue")
    page.click("#recognize")
    page.wait_for_selector("[data-testid=intent-name]")
    assert page.inner_text("[data-testid=intent-name]") == "ChangeLightColor"
    table = page.inner_text("[data-testid=intent-result] table")
    assert "color" in table and "blue" in table and "bedroom light" in table
    screenshot(page, "test-intent")
    assert page.console_watch.errors == []


def test_edit_save_train_makes_a_new_sentence_recognisable(page, mesh):
    open_page(page, mesh, "sentences")
    editor = page.locator("#sentences-editor")
    editor.fill(editor.input_value() + "\n[SingSong]\nsing me a (happy | sad){mood} song\n")
    page.click("#save-train")
    page.wait_for_selector("#alert.info", timeout=120_000)
    assert "fail" not in page.inner_text("#alert").lower()
    open_page(page, mesh, "test")
    page.fill("#sentence", "sing me a sad song")
    page.click("#recognize")
    page.wait_for_selector("[data-testid=intent-name]")
    assert page.inner_text("[data-testid=intent-name]") == "SingSong"
    assert "sad" in page.inner_text("[data-testid=intent-result] table")


def test_template_error_is_shown_with_its_line(page, mesh):
    open_page(page, mesh, "sentences")
    editor = page.locator("#sentences-editor")
    original = editor.input_value()
    broken = original.rstrip("\n") + "\n[Broken]\nturn (on | off the light\n"
    editor.fill(broken)
    page.click("#save-train")
    page.wait_for_selector("#template-error:not([hidden])", timeout=120_000)
    message = page.inner_text("#template-error")
    expected_line = broken.rstrip("\n").count("\n") + 1
    assert re.search(rf"line {expected_line}\b", message), message
    assert page.locator(".editor .hl-error").count() == 1
    screenshot(page, "sentences-error")
    editor.fill(original)  # leave a trainable profile for the next tests
    page.click("#save-train")
    page.wait_for_selector("#alert.info", timeout=120_000)


def test_slot_added_in_the_ui_is_recognised(page, mesh):
    open_page(page, mesh, "slots")
    page.select_option("#slot-select", "color")
    values = page.locator("#slot-values")
    values.fill(values.input_value() + "\nultramarine\n")
    page.click("#slot-save")
    page.wait_for_selector("#alert.info", timeout=120_000)
    open_page(page, mesh, "test")
    page.fill("#sentence", "make the bedroom light ultramarine")
    page.click("#recognize")
    page.wait_for_selector("[data-testid=intent-name]")
    assert page.inner_text("[data-testid=intent-name]") == "ChangeLightColor"
    assert "ultramarine" in page.inner_text("[data-testid=intent-result] table")


def test_wav_upload_is_transcribed(page, mesh, tmp_path):
    wav = espeak_wav("what time is it", tmp_path / "time.wav")
    open_page(page, mesh, "test")
    page.set_input_files("#wav-file", str(wav))
    page.click("#upload")
    page.wait_for_selector("[data-testid=intent-name]", timeout=60_000)
    assert "what time is it" in page.inner_text("[data-testid=transcript]")
    assert page.inner_text("[data-testid=intent-name]") == "GetTime"
    screenshot(page, "test-wav-upload")


def test_microphone_streams_over_api_audio(browser_factory, mesh, tmp_path):
    # Played once from the moment the page opens the microphone (%noloop): the lead silence covers the wake-up
    # round trip, so the session is listening before the command starts (a looping file could start mid-word).
    wav = espeak_wav("what time is it", tmp_path / "mic.wav", lead=2.0, tail=1.5)
    browser = browser_factory([f"--use-file-for-fake-audio-capture={wav}%noloop"])
    context = browser.new_context()
    context.grant_permissions(["microphone"])
    page = context.new_page()
    open_page(page, mesh, "test")
    page.click("#mic")
    page.wait_for_selector("[data-testid=intent-name]", timeout=60_000)
    assert page.inner_text("[data-testid=intent-name]") == "GetTime"
    page.click("#mic")
    screenshot(page, "test-microphone")
    context.close()


def test_phone_sized_screen_and_keyboard(browser_factory, mesh):
    browser = browser_factory()
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    open_page(page, mesh, "test")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page is {width}px wide on a 390px screen"
    screenshot(page, "phone-test")
    page.keyboard.press("Tab")  # skip link first
    assert page.evaluate("document.activeElement.className") == "skip"
    page.focus("#sentence")
    page.keyboard.type("what time is it")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=intent-name]")
    assert page.inner_text("[data-testid=intent-name]") == "GetTime"
    context.close()


def test_settings_are_validated_saved_and_report_restarts(page, mesh):
    open_page(page, mesh, "settings")
    page.fill("#f-dialogue-session_timeout", "-5")
    page.click("#settings-save")
    page.wait_for_selector("#alert.error:not([hidden])")
    assert "session_timeout" in page.inner_text("#alert")
    page.fill("#f-dialogue-session_timeout", "42")
    page.click("#settings-save")
    page.wait_for_selector("#settings-result p.ok")
    assert "dialogue.session_timeout" in page.inner_text("#settings-result")
    assert "restart" in page.inner_text("#settings-result").lower()
    assert mesh.get_json("/api/config")["dialogue"]["session_timeout"] == 42
    screenshot(page, "settings-saved")


def test_advanced_page_refuses_invalid_json_before_saving(page, mesh):
    open_page(page, mesh, "advanced")
    area = page.locator("#profile-json")
    original = area.input_value()
    area.fill(original.rstrip().rstrip("}") + ', "oops": }')
    page.wait_for_selector("#json-error:not([hidden])")
    assert "Not valid JSON" in page.inner_text("#json-error")
    page.click("#profile-save")
    assert mesh.get_json("/api/config").get("oops") is None
    area.fill(original)
    assert page.locator("#json-error").is_hidden()


def test_top_bar_wake_up_and_live_events(page, mesh):
    open_page(page, mesh, "test")
    page.click("#log-toggle")
    page.click("#wake")
    page.wait_for_selector("#log-lines li:has-text('wake')", timeout=20_000)
    page.fill("#sentence", "what time is it")
    page.click("#recognize")
    page.wait_for_selector("[data-testid=intent-name]")
    screenshot(page, "log-open")
    assert page.console_watch.errors == []


def test_slot_programs_output_is_listed_read_only(page, mesh):
    program = mesh.profile / "slot_programs" / "seasons"
    program.parent.mkdir(exist_ok=True)
    program.write_text("#!/bin/sh\nprintf 'spring\\nsummer\\nautumn\\nwinter\\n'\n")
    program.chmod(0o755)
    broken = mesh.profile / "slot_programs" / "broken"
    broken.write_text("#!/bin/sh\necho oops >&2\nexit 3\n")
    broken.chmod(0o755)
    open_page(page, mesh, "slots")
    page.wait_for_selector("#slot-programs table")
    table = page.inner_text("#slot-programs table")
    assert "$seasons" in table and "spring, summer, autumn, winter" in table
    assert "exit code 3" in table and "oops" in table
    assert page.locator("#slot-programs textarea, #slot-programs input").count() == 0
    screenshot(page, "slots-programs")


def test_words_lookup_hear_and_custom_words(page, mesh):
    open_page(page, mesh, "words")
    page.fill("#word", "kitchen")
    page.click("#lookup")
    page.wait_for_selector("[data-testid=word-source]")
    assert page.inner_text("[data-testid=word-source]") == "in the dictionary"
    assert "K IH CH AH N" in page.inner_text("#lookup-result")
    page.click("#hear")
    page.wait_for_function("document.querySelector('#word-audio').src.startsWith('blob:')")
    page.fill("#word", "hermeshy")
    page.click("#lookup")
    page.wait_for_selector("#lookup-result >> text=guessed")
    page.click("#lookup-result li button")  # add the guess to the custom words
    assert "hermeshy " in page.input_value("#custom-words")
    page.click("#save-words")
    page.wait_for_selector("#alert.info", timeout=120_000)
    assert "hermeshy" in (mesh.profile / "custom_words.txt").read_text()
    screenshot(page, "words")
    assert page.console_watch.errors == []


def test_the_voice_a_user_picks_is_the_voice_that_speaks(page, mesh):
    """The picker lists GET /api/tts-voices (a list of {voiceId, description}); the voice picked goes out as
    ?voice=<voiceId>, and the TTS service says in its log that this voice spoke the say."""
    open_page(page, mesh, "test")
    page.wait_for_function("document.querySelectorAll('#voice option').length > 2")
    values = page.eval_on_selector_all("#voice option", "options => options.map(o => o.value)")
    assert "0" not in values and "de" in values and "en-us" in values  # voiceIds, not list indexes
    page.select_option("#voice", "de")
    page.fill("#say-text", "Guten Morgen")
    with page.expect_response(lambda r: "/api/text-to-speech" in r.url) as spoken:
        page.click("#speak")
    reply = spoken.value
    assert reply.status == 200 and reply.headers["content-type"] == "audio/wav"
    assert "voice=de" in reply.url and "play=false" in reply.url
    page.wait_for_selector("[data-testid=voice-state]:has-text('Spoken by de')")
    assert page.get_attribute("#player", "src").startswith("blob:")
    assert page.is_enabled("#play-again")
    log = mesh.log.read_text(errors="replace")
    assert re.search(r"voice de, language \(default\)", log), log[-3000:]
    screenshot(page, "test-tts-voice")
    assert page.console_watch.errors == []
