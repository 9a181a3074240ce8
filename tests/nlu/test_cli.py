"""`hermesh train`, `hermesh recognize`, `hermesh test-nlu` run as real processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CASES = Path(__file__).resolve().parents[3] / "shared" / "nlu_cases" / "dev_cases.json"


def hermesh(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.cli", *args], input=stdin, capture_output=True,
                          text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])


def test_train_then_recognize_text_and_stdin(tmp_path: Path):
    profile = tmp_path / "profile"
    done = hermesh("train", "--profile", str(profile))
    assert done.returncode == 0, done.stderr
    assert "trained 5 intents" in done.stdout and " s -> " in done.stdout and "100%" in done.stderr
    one = hermesh("recognize", "--profile", str(profile), "turn off the garage light")
    assert one.returncode == 0, one.stderr
    result = json.loads(one.stdout)
    assert result["intent"]["name"] == "ChangeLightState" and result["slots"] == {"state": "off",
                                                                                  "name": "garage light"}
    many = hermesh("recognize", "--profile", str(profile), "--strict",
                   stdin="what time is it\nplease what time is it\n\nwhats the temperature\n")
    lines = [json.loads(line) for line in many.stdout.splitlines()]
    assert [r["intent"]["name"] for r in lines] == ["GetTime", "", "GetTemperature"]
    assert all(isinstance(r["recognize_seconds"], float) for r in lines)
    fuzzy = hermesh("recognize", "--profile", str(profile), "--fuzzy", "please what time is it")
    assert json.loads(fuzzy.stdout)["intent"]["name"] == "GetTime"


def test_train_reports_template_errors_without_traceback(tmp_path: Path):
    profile = tmp_path / "profile"
    profile.mkdir()
    (profile / "sentences.ini").write_text("[A]\nturn on <nothing>\n")
    done = hermesh("train", "--profile", str(profile))
    assert done.returncode == 1
    assert "sentences.ini, line 2, column 9: missing rule <nothing> in intent [A]" in done.stderr
    assert "Traceback" not in done.stderr


def test_test_nlu_runs_the_dev_cases_and_reports_failures(tmp_path: Path):
    done = hermesh("test-nlu", str(CASES))
    assert done.returncode == 0, done.stdout
    total = len(json.loads(CASES.read_text()))
    assert done.stdout.strip().splitlines()[-1] == f"{total} passed, 0 failed"
    broken = [{"id": "wrong_expectation", "sentences_ini": "[A]\nhello\n", "slots": {}, "input": "hello",
               "expect": {"intent": "B", "slots": {}, "text": None}}]
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(broken))
    done = hermesh("test-nlu", str(path))
    assert done.returncode == 1
    assert "FAIL wrong_expectation" in done.stdout and "expected B, got A" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "0 passed, 1 failed"
