"""``kill -9`` during a training leaves the last good model or the new one, whole files only, and the next start
trains cleanly (issue 19 §4). The large home profile of ../shared/bench trains in about 2 s, so kills at random
moments land in compiling, exporting and writing."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.asr.fsg import parse_fsg
from services.nlu import training
from services.nlu.training import GRAPH_FILE, STAGING_PREFIX, TRAINED_DIR, load_trained_profile, train_profile

REPO = Path(__file__).resolve().parents[2]
HOME_EXPORT = REPO.parent / "shared" / "bench" / "nlu_bench.py"
EXTRA = "\n[ExtraIntent]\nwater the plants in the garden\n"


@pytest.fixture(scope="module")
def home_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("home") / "profile"
    subprocess.run([sys.executable, str(HOME_EXPORT), "export", str(directory)], check=True, capture_output=True,
                   timeout=300)
    return directory


def check_trained(profile: Path, new_intent: str) -> str:
    """Every artefact is whole; answers which model the graph is (old or new), and that an old one retrains."""
    trained = profile / TRAINED_DIR
    graph = load_trained_profile(profile)
    assert graph is not None, "the last good model must survive"
    parse_fsg((trained / "grammar.fsg").read_text(), "grammar.fsg")
    json.loads((trained / "training.json").read_text())
    assert (trained / "vocabulary.txt").read_text().endswith("\n")
    if new_intent in graph.graph.intents:
        return "new"
    assert training.sources_newer_than_training(profile), "an old model must be retrained at the next start"
    return "old"


def changed_copy(home_profile: Path, profile: Path) -> list[str]:
    """A trained copy of the home profile with a new intent written after its training; the train command."""
    shutil.copytree(home_profile, profile)
    train_profile(profile)  # the last good model
    time.sleep(0.01)
    with (profile / "sentences.ini").open("a") as handle:
        handle.write(EXTRA)
    return [sys.executable, "-m", "services.cli", "train", "--profile", str(profile)]


def test_kill_9_at_random_moments_of_hermesh_train(home_profile: Path, tmp_path: Path) -> None:
    # How long a whole `hermesh train` of this change takes here, so the kills fall inside it on a fast machine
    # as on a slow one (fixed moments of 0.3-2 s missed the training on a fast day: it had ended).
    timing = changed_copy(home_profile, tmp_path / "timing")
    started = time.monotonic()
    subprocess.run(timing, cwd=REPO, check=True, capture_output=True, timeout=120)
    duration = time.monotonic() - started
    profile = tmp_path / "profile"
    hermesh = changed_copy(home_profile, profile)
    rng = random.Random(19)
    killed_running = 0
    for _ in range(4):
        proc = subprocess.Popen(hermesh, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.15, 0.85) * duration)
        killed_running += proc.poll() is None
        proc.send_signal(signal.SIGKILL)  # (does nothing if it already ended and was reaped by poll())
        proc.wait(timeout=10)
        check_trained(profile, "ExtraIntent")
    assert killed_running >= 3, "the kills must land while the training runs"
    done = subprocess.run(hermesh, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert check_trained(profile, "ExtraIntent") == "new"
    assert not list((profile / TRAINED_DIR).glob(f"{STAGING_PREFIX}*")), "staging folders of killed runs are removed"


def test_a_training_that_dies_between_any_two_file_swaps_keeps_a_usable_model(
        home_profile: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The swaps take microseconds, so random kills rarely land in them: here the process 'dies' (the
    replace raises) after each possible number of swaps, and its staging folder is left behind as a kill
    would leave it."""
    profile = tmp_path / "profile"
    shutil.copytree(home_profile, profile)
    train_profile(profile)
    time.sleep(0.01)
    with (profile / "sentences.ini").open("a") as handle:
        handle.write(EXTRA)
    real_replace, real_rmtree = os.replace, shutil.rmtree
    files = len(list((profile / TRAINED_DIR).glob("*.*")))
    outcomes = []
    for survive in range(files):
        calls = {"n": 0}

        def dying_replace(src: object, dst: object, _survive: int = survive, _calls: dict = calls) -> None:
            if _calls["n"] >= _survive:
                raise SystemExit("killed")
            _calls["n"] += 1
            real_replace(src, dst)  # type: ignore[arg-type]

        monkeypatch.setattr(training.os, "replace", dying_replace)
        monkeypatch.setattr(training.shutil, "rmtree", lambda *a, **k: None)  # a killed process cleans nothing
        with pytest.raises(SystemExit):
            train_profile(profile)
        monkeypatch.setattr(training.os, "replace", real_replace)
        monkeypatch.setattr(training.shutil, "rmtree", real_rmtree)
        outcomes.append(check_trained(profile, "ExtraIntent"))
        leftovers = list((profile / TRAINED_DIR).glob(f"{STAGING_PREFIX}*"))
        assert leftovers
        for leftover in leftovers:  # as if its process had died: a pid that is not running
            leftover.rename(leftover.with_name(f"{STAGING_PREFIX}999999999-{leftover.name.rsplit('-', 1)[-1]}"))
    assert outcomes == ["old"] * files  # the graph goes in last: until then the old model serves and retrains
    train_profile(profile)
    assert check_trained(profile, "ExtraIntent") == "new"
    assert not list((profile / TRAINED_DIR).glob(f"{STAGING_PREFIX}*"))
    assert GRAPH_FILE in {p.name for p in (profile / TRAINED_DIR).iterdir()}
