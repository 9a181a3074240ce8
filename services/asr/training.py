"""Turn the intent graph (built by the NLU's training) into what ASR engines train from.

The NLU compiles sentences and slots into one graph; its FSG text is the closed grammar, so the ASR can
only hear what the NLU understands. Here the graph's vocabulary gets pronunciations: custom_words.txt
first, then the base dictionary, then espeak-ng guesses (listed in a warning and in
``trained/asr/unknown_words.txt`` so the user can correct them in custom_words.txt).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.nlu.exports import to_arpa_text, to_fsg_text
from services.phonetics import PronunciationError, problems_for, pronunciations_for, read_custom_words
from services.profile import CUSTOM_WORDS, Profile, write_atomic

from .engine import AsrEngineError, AsrTrainingData

if TYPE_CHECKING:
    from services.nlu.graph import IntentGraph

LOG = logging.getLogger("hermesh.asr.training")

TRAINED_DIR = "trained"
ASR_DIR = "asr"  # the ASR's own artefacts, below trained/
UNKNOWN_WORDS = "unknown_words.txt"


def asr_work_dir(profile: Path) -> Path:
    return profile / TRAINED_DIR / ASR_DIR


def training_data_from_graph(
    graph: IntentGraph,
    profile: Path,
    *,
    guess_unknown_words: bool = True,
    with_arpa: bool = True,
    custom_words: str = CUSTOM_WORDS,
) -> AsrTrainingData:
    """Grammar, n-gram model and pronunciations for every word of the graph."""
    vocabulary = sorted(set(graph.vocabulary()))
    if not vocabulary:
        raise AsrEngineError("the intent graph has no words: add sentences to the profile and train again")
    try:
        problems: dict[str, list[str]] = {}
        custom = read_custom_words(profile / custom_words, problems)
        errors, warnings = problems_for(vocabulary, problems)
        if errors:  # a word the grammar uses would be decoded with phones the model does not have
            raise AsrEngineError("; ".join(errors))
        for warning in warnings:  # a stray line for a word no sentence uses must not block training
            LOG.warning("%s (no sentence uses this word: the line is kept and training goes on)", warning)
        prons = pronunciations_for(vocabulary, custom=custom, guess=guess_unknown_words)
    except PronunciationError as err:
        raise AsrEngineError(str(err)) from err
    report_guesses(prons.guessed, profile)

    def fsg_for_intents(intents: Sequence[str]) -> str:
        # Names the graph does not have are left out; a filter with none it has gets the whole grammar (the
        # NLU applies the same filter and answers not-recognized), as an empty grammar cannot be decoded.
        known = [name for name in intents if name in graph.intents]
        if not known:
            LOG.warning("the intent filter %s names no trained intent; listening with every intent", list(intents))
        return to_fsg_text(graph, intent_filter=known or None)

    return AsrTrainingData(
        vocabulary=vocabulary,
        fsg_text=to_fsg_text(graph),
        arpa_text=to_arpa_text(graph) if with_arpa else None,
        dictionary=prons.dictionary,
        guessed=prons.guessed,
        fsg_for_intents=fsg_for_intents,
    )


def report_guesses(guessed: Mapping[str, list[str]], profile: Path) -> None:
    """Warn about guessed words and keep them in trained/asr/unknown_words.txt (cmudict format)."""
    path = asr_work_dir(profile) / UNKNOWN_WORDS
    if not guessed:
        path.unlink(missing_ok=True)
        return
    LOG.warning(
        "guessed the pronunciation of %d word(s) missing from the dictionary: %s (correct them in %s)",
        len(guessed),
        ", ".join(f"{w} [{' '.join(p)}]" for w, p in sorted(guessed.items())),
        profile / CUSTOM_WORDS,
    )
    write_atomic(path, "".join(f"{w} {' '.join(p)}\n" for w, p in sorted(guessed.items())))


def training_data_from_texts(
    sentences: Mapping[str, str], slots: Mapping[str, list[str]], profile: Path, **options: Any
) -> AsrTrainingData:
    """Train from the texts a rhasspy/asr/<site>/train message carries (so a remote ASR trains itself)."""
    from services.nlu.errors import NluError
    from services.nlu.training import compile_texts

    try:
        graph = compile_texts(dict(sentences), dict(slots), profile)
    except NluError as err:
        raise AsrEngineError(f"the sentences do not compile: {err}") from err
    return training_data_from_graph(graph, profile, **options)


def training_data_from_profile(profile: Path, **options: Any) -> AsrTrainingData:
    """Train from what ``hermesh train`` wrote into <profile>/trained/, else compile the profile's templates."""
    from services.nlu.errors import NluError
    from services.nlu.training import compile_profile, load_trained_profile

    trained = load_trained_profile(profile)
    if trained is not None:
        return training_data_from_graph(trained.graph, profile, **options)
    if not Profile(profile).has_sentences():
        raise AsrEngineError(f"profile {profile} has no sentences.ini or intents/: nothing to recognise yet")
    try:
        graph = compile_profile(profile)
    except NluError as err:
        raise AsrEngineError(f"the profile's sentences do not compile: {err}") from err
    return training_data_from_graph(graph, profile, **options)
