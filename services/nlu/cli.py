"""CLI commands of the NLU: ``hermesh train``, ``hermesh recognize``, ``hermesh test-nlu`` (typer functions)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from services.cli_options import ProfileOption  # the one definition every hermesh command shares


def _profile_dir(profile: Path | None) -> Path:
    if profile is not None:
        return profile.expanduser()
    from services.config import default_profile_dir

    return default_profile_dir()


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"hermesh: {message}", err=True)
    return typer.Exit(code)


def train(profile: ProfileOption = None) -> None:
    """Compile the profile's sentence templates and write the intent graph and ASR grammars."""
    from services.profile import ensure_profile

    from .errors import NluError
    from .training import TRAINED_DIR, train_profile

    directory = _profile_dir(profile)
    if ensure_profile(directory):
        typer.echo(f"created the default English profile in {directory}", err=True)
    started = time.perf_counter()

    def progress(step: str, fraction: float) -> None:
        width = 30
        done = int(fraction * width)
        typer.echo(f"\r[{'#' * done}{'.' * (width - done)}] {fraction * 100:3.0f}% {step:<22}", nl=False, err=True)

    try:
        trained = train_profile(directory, progress=progress)
    except NluError as err:
        typer.echo("", err=True)
        raise _fail(f"training failed (the previous model is unchanged):\n{err}") from err
    typer.echo("", err=True)
    for warning in trained.warnings:
        typer.echo(f"warning: {warning}", err=True)
    graph = trained.graph
    typer.echo(f"trained {len(graph.intents)} intents ({graph.num_states} states, "
               f"{len(graph.vocabulary())} words) in {time.perf_counter() - started:.3f} s "
               f"-> {directory / TRAINED_DIR}")


def recognize(
    text: Annotated[str | None, typer.Argument(help="Sentence to recognise; omit to read one per line from stdin.")] = None,
    profile: ProfileOption = None,
    fuzzy: Annotated[bool | None, typer.Option("--fuzzy/--strict", help="Matching mode (default: profile).",
                                               show_default=False)] = None,
) -> None:
    """Recognise intents in text and print Rhasspy intent JSON (one line per input sentence)."""
    from .errors import NluError
    from .results import not_recognized_dict
    from .training import compile_profile, load_trained_profile, recognizer_for, sources_newer_than_training

    directory = _profile_dir(profile)
    if not directory.is_dir():
        raise _fail(f"profile directory {directory} does not exist (run 'hermesh train --profile {directory}')")
    try:
        engine = None if sources_newer_than_training(directory) else load_trained_profile(directory)
        if engine is None:  # not trained or stale: compile in memory (nothing is written)
            engine = recognizer_for(compile_profile(directory), directory)
    except NluError as err:
        raise _fail(str(err)) from err

    def one(sentence: str) -> str:
        started = time.perf_counter()
        try:
            results = engine.recognize(sentence, fuzzy=fuzzy)
        except NluError as err:
            return json.dumps({"error": str(err), "text": sentence})
        seconds = time.perf_counter() - started
        if results:
            out = results[0].to_rhasspy_dict(raw_input=sentence)
        else:
            out = not_recognized_dict(sentence)
        out["recognize_seconds"] = seconds
        return json.dumps(out, ensure_ascii=False, default=str)

    if text is not None:
        typer.echo(one(text))
        return
    for line in sys.stdin:
        sentence = line.strip()
        if sentence:
            typer.echo(one(sentence))
            sys.stdout.flush()


def test_nlu(
    cases: Annotated[Path, typer.Argument(help="Case file (JSON list, format of ../shared/nlu_cases/).")],
    profile: ProfileOption = None,
) -> None:
    """Run NLU behaviour cases; print each failing case and a final 'N passed, M failed' line."""
    from .cases import run_cases

    try:
        data = json.loads(cases.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise _fail(f"cannot read {cases}: {err}", 2) from err
    if not isinstance(data, list):
        raise _fail(f"{cases} must contain a JSON list of cases", 2)
    results = run_cases(data, profile.expanduser() if profile else None)
    expected = {case["id"]: case.get("expect") for case in data}
    for result in results:
        if result.passed:
            continue
        typer.echo(f"FAIL {result.case_id}")
        for problem in result.problems:
            typer.echo(f"  {problem}")
        typer.echo(f"  expected: {json.dumps(expected.get(result.case_id), ensure_ascii=False, default=str)}")
        typer.echo(f"  actual:   {json.dumps(result.actual, ensure_ascii=False, default=str)}")
    passed = sum(r.passed for r in results)
    typer.echo(f"{passed} passed, {len(results) - passed} failed")
    if passed != len(results):
        raise typer.Exit(1)
