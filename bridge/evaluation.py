"""Accuracy report of recognitions against expected intents (POST /api/evaluate), a pure computation."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any


class ArchiveError(ValueError):
    """The uploaded archive cannot be read or has no WAV + JSON pairs."""


@dataclass
class Sample:
    name: str
    wav: bytes
    expected: dict[str, Any]


MAX_MEMBER_BYTES = 50 * 1024 * 1024


def read_archive(data: bytes) -> list[Sample]:
    """WAV + expected-intent JSON pairs (matched by file stem) from a tar(.gz/.bz2/.xz) or zip archive.

    Members are read into memory only; nothing is extracted to disk, so member names cannot escape anywhere.
    """
    files: dict[str, bytes] = {}
    try:
        if zipfile.is_zipfile(io.BytesIO(data)):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for info in archive.infolist():
                    if not info.is_dir() and info.file_size <= MAX_MEMBER_BYTES:
                        files[info.filename] = archive.read(info)
        else:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
                for member in archive.getmembers():
                    if member.isfile() and member.size <= MAX_MEMBER_BYTES:
                        handle = archive.extractfile(member)
                        if handle is not None:
                            files[member.name] = handle.read()
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as err:
        raise ArchiveError(f"cannot read the archive: {err} (send a .tar.gz or .zip)") from err
    by_stem: dict[str, dict[str, bytes]] = {}
    for name, content in files.items():
        path = PurePosixPath(name)
        if path.name.startswith("."):
            continue
        by_stem.setdefault(str(path.with_suffix("")), {})[path.suffix.lower()] = content
    samples = []
    for stem, parts in sorted(by_stem.items()):
        if ".wav" not in parts or ".json" not in parts:
            continue
        try:
            expected = json.loads(parts[".json"].decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as err:
            raise ArchiveError(f"{stem}.json is not valid JSON: {err}") from err
        if not isinstance(expected, dict):
            raise ArchiveError(f"{stem}.json must hold a JSON object (a Rhasspy intent)")
        samples.append(Sample(PurePosixPath(stem).name, parts[".wav"], expected))
    if not samples:
        raise ArchiveError("the archive holds no pairs of x.wav and x.json")
    return samples


def expected_name(expected: dict[str, Any]) -> str:
    intent = expected.get("intent")
    if isinstance(intent, dict):
        return str(intent.get("name") or intent.get("intentName") or "")
    return str(intent or "")


def entity_pairs(intent: dict[str, Any]) -> list[tuple[str, str]]:
    entities = intent.get("entities")
    if isinstance(entities, list):
        return sorted((str(e.get("entity")), str(e.get("value"))) for e in entities if isinstance(e, dict))
    slots = intent.get("slots")
    if isinstance(slots, dict):
        return sorted((str(k), str(v)) for k, v in slots.items())
    return []


def word_errors(expected: list[str], actual: list[str]) -> int:
    """Levenshtein distance over words."""
    previous = list(range(len(actual) + 1))
    for i, word in enumerate(expected, start=1):
        current = [i] + [0] * len(actual)
        for j, other in enumerate(actual, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other))
        previous = current
    return previous[-1]


@dataclass
class Outcome:
    name: str
    expected: dict[str, Any]
    actual: dict[str, Any]
    wav_seconds: float
    transcribe_seconds: float


def report(outcomes: list[Outcome]) -> dict[str, Any]:
    num_words = correct_words = num_entities = correct_entities = 0
    correct_intents = correct_both = correct_transcriptions = num_intents = 0
    speedups = []
    for outcome in outcomes:
        expected_words = str(outcome.expected.get("text", "")).lower().split()
        actual_words = str(outcome.actual.get("text", "")).lower().split()
        errors = word_errors(expected_words, actual_words)
        num_words += len(expected_words)
        correct_words += max(0, len(expected_words) - errors)
        correct_transcriptions += int(errors == 0)
        name = expected_name(outcome.expected)
        num_intents += int(bool(name))
        intent_ok = name == expected_name(outcome.actual)
        correct_intents += int(intent_ok)
        wanted, got = entity_pairs(outcome.expected), entity_pairs(outcome.actual)
        num_entities += len(wanted)
        remaining = list(got)
        matched = 0
        for pair in wanted:
            if pair in remaining:
                remaining.remove(pair)
                matched += 1
        correct_entities += matched
        correct_both += int(intent_ok and matched == len(wanted) and not remaining)
        if outcome.transcribe_seconds > 0:
            speedups.append(outcome.wav_seconds / outcome.transcribe_seconds)

    def ratio(a: int, b: int) -> float:
        return a / b if b else 1.0

    count = len(outcomes)
    return {
        "actual": {o.name: o.actual for o in outcomes},
        "expected": {o.name: o.expected for o in outcomes},
        "num_wavs": count,
        "num_words": num_words,
        "num_intents": num_intents,
        "num_entities": num_entities,
        "correct_transcriptions": correct_transcriptions,
        "correct_words": correct_words,
        "correct_intent_names": correct_intents,
        "correct_entities": correct_entities,
        "correct_intent_and_entities": correct_both,
        "transcription_accuracy": ratio(correct_words, num_words),
        "intent_accuracy": ratio(correct_intents, count),
        "entity_accuracy": ratio(correct_entities, num_entities),
        "intent_entity_accuracy": ratio(correct_both, count),
        "average_transcription_speedup": sum(speedups) / len(speedups) if speedups else 0.0,
    }
