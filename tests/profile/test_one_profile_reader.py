"""Every reader of the profile sees the same sentence files: the NLU's training, the dialogue's intent list, the
ASR's training data and the bridge's editor (issue 15 §5). Intents in a sub-folder of intents/ used to be
unknown to the dialogue manager's filters, because its reader did not look into sub-folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.profile_files import sentence_files
from services.asr.training import training_data_from_profile
from services.dialogue.service import DialogueService
from services.dialogue.settings import DialogueSettings
from services.nlu.errors import TemplateError
from services.nlu.training import compile_profile
from services.profile import Profile


def write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)


@pytest.fixture
def nested_profile(tmp_path: Path) -> Path:
    profile = tmp_path / "profile"
    write(profile / "sentences.ini", "[GetTime]\nwhat time is it\n")
    write(profile / "intents" / "lights.ini", "[LightOn]\nturn on the light\n")
    write(profile / "intents" / "rooms" / "kitchen" / "oven.ini", "[OvenOff]\nswitch the oven off\n")
    write(profile / "intents" / ".backup" / "old.ini", "[Stale]\nan editor's copy\n")
    write(profile / "intents" / ".lights.ini.swp", "[Swap]\nnot a sentence file\n")
    return profile


def test_the_sentence_files_are_sentences_ini_then_every_ini_below_intents_in_name_order(nested_profile: Path) -> None:
    reader = Profile(nested_profile)
    assert [reader.relative(p) for p in reader.sentence_paths()] == [
        "sentences.ini", "intents/lights.ini", "intents/rooms/kitchen/oven.ini"]
    assert reader.intent_names() == {"GetTime", "LightOn", "OvenOff"}
    assert reader.has_sentences()
    assert not Profile(nested_profile / "missing").has_sentences()


async def test_the_nlu_the_asr_the_bridge_and_the_dialogue_all_see_the_sub_folder_intents(
        nested_profile: Path, run_service) -> None:
    expected = {"GetTime", "LightOn", "OvenOff"}
    assert set(compile_profile(nested_profile).intents) == expected
    assert {"switch", "oven", "time", "light"} <= set(training_data_from_profile(nested_profile).vocabulary)
    assert list(sentence_files(nested_profile)) == list(sentence_files(nested_profile, strict=True)) == [
        "sentences.ini", "intents/lights.ini", "intents/rooms/kitchen/oven.ini"]
    async with run_service(DialogueService, DialogueSettings(), profile=nested_profile) as dialogue:
        assert dialogue.engine.known_intents == frozenset(expected)


def test_a_sentence_file_that_is_not_text_is_an_error_naming_it_for_training_and_shown_for_editing(
        nested_profile: Path) -> None:
    write(nested_profile / "intents" / "rooms" / "bad.ini", b"[Bad]\nturn \xff on\n")
    with pytest.raises(TemplateError, match=r"intents/rooms/bad\.ini.*line 2"):
        Profile(nested_profile).sentence_texts(relative_names=True)
    with pytest.raises(TemplateError, match=r"bad\.ini"):
        compile_profile(nested_profile)
    assert "\ufffd" in sentence_files(nested_profile)["intents/rooms/bad.ini"]
    # the names the dialogue knows come from the readable files; training reports the broken one
    assert Profile(nested_profile).intent_names() == {"GetTime", "LightOn", "OvenOff"}


def test_the_bridges_custom_words_view_is_what_the_asr_reads() -> None:
    """One parser of custom_words.txt (issue 15 §5): the bridge's JSON view comes from the ASR's reader, so both
    see the same words, alternates and the lines training would refuse (shown as written)."""
    from bridge.profile_files import parse_custom_words
    from services.phonetics import PronunciationDictionary

    text = ("# mine\nHermesh HH ER1 M EH SH\nhermesh(2) HH ER M AH SH\n"
            "zorp QQ ZZ\nlonely\nlatte L AA T EY  # a comment\n")
    asr = PronunciationDictionary()
    problems: dict[str, list[str]] = {}
    asr.merge_text(text, "custom_words.txt", check=True, problems=problems)
    view = parse_custom_words(text)
    assert view == {"hermesh": ["HH ER M EH SH", "HH ER M AH SH"], "zorp": ["QQ ZZ"], "latte": ["L AA T EY"]}
    assert {word: [p.split() for p in prons] for word, prons in view.items()} == {
        word: asr.lookup(word) for word in asr.words()}
    assert set(problems) == {"zorp", ""}
