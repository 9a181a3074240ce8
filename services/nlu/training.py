"""Training: compile a profile's templates and write the artefacts the NLU and the ASR load.

`train_profile(profile_dir)` compiles sentences.ini + intents/*.ini + slots/ + slot_programs/ + converters/
and writes into `<profile>/trained/` (only after everything compiled and exported, each file swapped in
atomically, so a failed training leaves the previous model serving):

| file | content |
|---|---|
| intent_graph.pickle | the compiled `IntentGraph` (loaded by the NLU service) |
| grammar.fsg | Sphinx FSG text of every intent (pocketsphinx `Decoder.read_fsg` / `add_fsg`) |
| grammar.jsgf | the same grammar as JSGF (slot lists as shared rules) |
| language_model.arpa | trigram ARPA LM, intents balanced |
| vocabulary.txt | one lower-case word per line |
| training.json | when, how long, sizes and warnings |
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from services.profile import Profile

from .compiler import compile_templates
from .converters import BUILTIN_CONVERTERS, Converter, load_converter_programs
from .errors import TemplateError, TrainingError
from .exports import to_arpa_text, to_fsg_text, to_jsgf_text
from .graph import CompileOptions, IntentGraph
from .numbers import replace_numbers
from .recognizer import Recognizer
from .results import Recognition
from .settings import NluSettings
from .slots import SlotSource

Progress = Callable[[str, float], None]
TRAINED_DIR = "trained"
STAGING_PREFIX = ".staging-"  # + the writer's pid: a folder whose process is gone is left over from a kill
GRAPH_FILE = "intent_graph.pickle"
ARTEFACTS = ("intent_graph.pickle", "grammar.fsg", "grammar.jsgf", "language_model.arpa", "vocabulary.txt",
             "training.json")


@dataclass
class TrainedProfile:
    """A compiled profile ready to recognise (and where its artefacts are)."""

    graph: IntentGraph
    recognizer: Recognizer
    settings: NluSettings
    stop_words: frozenset[str] = frozenset()
    seconds: float = 0.0
    profile_dir: Path | None = None
    artefacts: dict[str, Path] = field(default_factory=dict)

    @property
    def warnings(self) -> list[str]:
        return self.graph.warnings

    def prepare_tokens(self, text: str) -> list[str]:
        tokens = text.split()
        if self.settings.replace_numbers:
            tokens = replace_numbers(tokens, self.settings.language)
        return tokens

    def recognize(self, text: str, *, fuzzy: bool | None = None,
                  intent_filter: Iterable[str] | None = None) -> list[Recognition]:
        """Recognitions, best first; [] = not recognised."""
        tokens = self.prepare_tokens(text)
        token = self.settings.failure_token
        if token and token in tokens:
            return []
        return self.recognizer.recognize(tokens, fuzzy=self.settings.fuzzy if fuzzy is None else fuzzy,
                                         stop_words=self.stop_words, intent_filter=intent_filter,
                                         ranked=self.settings.ranked)


def profile_settings(profile_dir: Path | None) -> NluSettings:
    """NluSettings from profile.json ("nlu" section; top-level "language" as the default language)."""
    data: dict[str, Any] = {}
    if profile_dir is not None and (Path(profile_dir) / "profile.json").is_file():
        try:
            raw = json.loads((Path(profile_dir) / "profile.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise TrainingError(f"{Path(profile_dir) / 'profile.json'} is not valid JSON: {err}") from err
        data = dict(raw.get("nlu") or {})
        if "language" in raw and "language" not in data:
            data["language"] = raw["language"]
    try:
        return NluSettings.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(f"nlu.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors())
        raise TrainingError(f"{Path(str(profile_dir)) / 'profile.json'}: {problems}") from err


def load_converters(profile_dir: Path | None) -> dict[str, Converter]:
    converters = dict(BUILTIN_CONVERTERS)
    if profile_dir is not None:
        converters.update(load_converter_programs(Path(profile_dir) / "converters"))
    return converters


def compile_options(settings: NluSettings, converters: dict[str, Converter]) -> CompileOptions:
    casing = None if settings.word_casing == "keep" else settings.word_casing
    return CompileOptions(number_ranges=True, replace_numbers=settings.replace_numbers, casing=casing,
                          word_transform=casing, language=settings.language,
                          known_converters=frozenset(converters))


def _stop_words(settings: NluSettings, profile_dir: Path | None) -> frozenset[str]:
    words = list(settings.stop_words)
    if not words and profile_dir is not None:
        path = Path(profile_dir) / "stop_words.txt"
        if path.is_file():
            words = [w.strip() for w in path.read_text(encoding="utf-8").splitlines() if w.strip()]
    if settings.word_casing == "lower":
        words = [w.lower() for w in words]
    elif settings.word_casing == "upper":
        words = [w.upper() for w in words]
    return frozenset(words)


def compile_texts(sentences: dict[str, str], slots: dict[str, list[str]] | None = None,
                  profile_dir: Path | None = None, settings: NluSettings | None = None) -> IntentGraph:
    """Compile template texts (as carried by an NluTrain message: file name -> ini text, slot -> lines).

    Slot lists not given are looked up in `profile_dir` (slots/, slot_programs/) when one is given.
    """
    settings = settings or profile_settings(profile_dir)
    converters = load_converters(profile_dir)
    files = sorted(sentences.items(), key=lambda kv: (not kv[0].endswith("sentences.ini"), kv[0]))
    return compile_templates(files, SlotSource(profile_dir, slots=slots or {}), compile_options(settings, converters))


def recognizer_for(graph: IntentGraph, profile_dir: Path | None = None,
                   settings: NluSettings | None = None, seconds: float = 0.0) -> TrainedProfile:
    settings = settings or profile_settings(profile_dir)
    return TrainedProfile(graph, Recognizer(graph, load_converters(profile_dir)), settings,
                          _stop_words(settings, profile_dir), seconds, profile_dir)


def compile_profile(profile_dir: Path, settings: NluSettings | None = None) -> IntentGraph:
    profile_dir = Path(profile_dir)
    files = Profile(profile_dir).sentence_texts()
    if not files:
        raise TemplateError(f"no templates: {profile_dir / 'sentences.ini'} and {profile_dir / 'intents'}/*.ini "
                            "are missing")
    settings = settings or profile_settings(profile_dir)
    return compile_templates(files, SlotSource(profile_dir), compile_options(settings, load_converters(profile_dir)))


def train_profile(profile_dir: Path, progress: Progress | None = None,
                  settings: NluSettings | None = None) -> TrainedProfile:
    """Compile the profile and write its artefacts atomically into `<profile>/trained/`."""
    report = progress or (lambda _step, _fraction: None)
    profile_dir = Path(profile_dir)
    started = time.perf_counter()
    settings = settings or profile_settings(profile_dir)
    report("compiling templates", 0.0)
    graph = compile_profile(profile_dir, settings)
    compiled = time.perf_counter() - started
    paths = save_trained(graph, profile_dir, settings, compiled, started, report)
    seconds = time.perf_counter() - started
    report("done", 1.0)
    result = recognizer_for(graph, profile_dir, settings, seconds)
    result.artefacts = paths
    return result


def save_trained(graph: IntentGraph, profile_dir: Path, settings: NluSettings, compiled: float,
                 started: float, progress: Progress | None = None) -> dict[str, Path]:
    """Write a compiled graph's artefacts into `<profile>/trained/` (what a restart serves as the last good model)."""
    report = progress or (lambda _step, _fraction: None)
    report("writing grammars", 0.4)
    texts = export_texts(graph, settings)
    report("saving artefacts", 0.9)
    manifest = {"trained_at": time.time(), "compile_seconds": round(compiled, 4),
                "seconds": round(time.perf_counter() - started, 4), "intents": list(graph.intents),
                "states": graph.num_states, "vocabulary": len(texts["vocabulary.txt"].splitlines()),
                "warnings": graph.warnings}
    texts["training.json"] = json.dumps(manifest, indent=1) + "\n"
    return write_artefacts(Path(profile_dir) / TRAINED_DIR,
                           {GRAPH_FILE: pickle.dumps(graph, protocol=pickle.HIGHEST_PROTOCOL),
                            **{k: v.encode("utf-8") for k, v in texts.items()}})


def export_texts(graph: IntentGraph, settings: NluSettings | None = None) -> dict[str, str]:
    order = settings.grammar_order if settings else 3
    return {"grammar.fsg": to_fsg_text(graph), "grammar.jsgf": to_jsgf_text(graph),
            "language_model.arpa": to_arpa_text(graph, order=order),
            "vocabulary.txt": "".join(w + "\n" for w in graph.vocabulary())}


def write_artefacts(directory: Path, files: dict[str, bytes]) -> dict[str, Path]:
    """Stage every file first, then swap each in with os.replace, the intent graph last.

    The graph is what every reader loads and what ``sources_newer_than_training`` dates, so it is the commit
    point: a process killed during the swaps leaves whole files only, and the old graph, older than the
    sources that made this training start, so the next start trains again. Staging folders of processes that
    died are removed here."""
    directory.mkdir(parents=True, exist_ok=True)
    _remove_dead_staging(directory)
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=directory))
    try:
        for name, data in files.items():
            with open(staging / name, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        for name in sorted(files, key=lambda n: n == GRAPH_FILE):
            os.replace(staging / name, directory / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {name: directory / name for name in files}


def _remove_dead_staging(directory: Path) -> None:
    for leftover in directory.glob(f"{STAGING_PREFIX}*"):
        pid = leftover.name[len(STAGING_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or not _alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # somebody else's process
    return True


def load_trained_profile(profile_dir: Path, settings: NluSettings | None = None) -> TrainedProfile | None:
    """The last successfully trained graph of a profile, or None."""
    path = Path(profile_dir) / TRAINED_DIR / GRAPH_FILE
    if not path.is_file():
        return None
    try:
        graph = pickle.loads(path.read_bytes())
    except Exception:  # noqa: BLE001 - an unreadable artefact means "retrain", never a crash
        return None
    if not isinstance(graph, IntentGraph):
        return None
    return recognizer_for(graph, Path(profile_dir), settings)


def sources_newer_than_training(profile_dir: Path) -> bool:
    """True when templates, slots, programs or profile.json changed after the last training."""
    profile_dir = Path(profile_dir)
    graph_file = profile_dir / TRAINED_DIR / GRAPH_FILE
    if not graph_file.is_file():
        return True
    trained_at = graph_file.stat().st_mtime
    candidates = [profile_dir / "sentences.ini", profile_dir / "profile.json", profile_dir / "stop_words.txt"]
    for sub in ("intents", "slots", "slot_programs", "converters"):
        d = profile_dir / sub
        if d.is_dir():
            candidates.extend(p for p in d.rglob("*") if p.is_file())
    return any(p.is_file() and p.stat().st_mtime > trained_at for p in candidates)
