"""POST /api/evaluate: real speech through the real ASR and NLU, scored against expected intents."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile

from bridge.evaluation import Outcome, report, word_errors

from .harness import http
from .mesh import mesh
from .speech import spoken_wav


def archive(samples: dict[str, tuple[str, dict]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, (sentence, expected) in samples.items():
            for suffix, data in ((".wav", spoken_wav(sentence)), (".json", json.dumps(expected).encode())):
                info = tarfile.TarInfo(f"set/{name}{suffix}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


async def test_evaluate_an_uploaded_archive(mqtt_broker, profile_dir):
    samples = {
        "time": ("what time is it", {"text": "what time is it", "intent": {"name": "GetTime"}, "entities": []}),
        "light": ("turn on the garage light", {
            "text": "turn on the garage light", "intent": {"name": "ChangeLightState"},
            "entities": [{"entity": "state", "value": "on"}, {"entity": "name", "value": "garage light"}]}),
        "wrong": ("what time is it", {"text": "what is the time", "intent": {"name": "GetTemperature"},
                                       "entities": []}),
    }
    async with mesh(mqtt_broker, profile_dir, asr=True, train=True) as bridge, http(bridge) as client:
        reply = await client.post("/api/evaluate", files={"archive": ("set.tar.gz", archive(samples))})
        raw_body = await client.post("/api/evaluate", content=archive({"time": samples["time"]}),
                                     headers={"Content-Type": "application/gzip"})
        garbage = await client.post("/api/evaluate", files={"archive": ("x.tar.gz", b"not an archive")})
        empty_zip = io.BytesIO()
        zipfile.ZipFile(empty_zip, "w").close()
        no_pairs = await client.post("/api/evaluate", files={"archive": ("x.zip", empty_zip.getvalue())})
        no_field = await client.post("/api/evaluate", files={"other": ("x", b"1")})
    assert reply.status_code == 200, reply.text
    data = reply.json()
    assert set(data) >= {"actual", "expected", "num_wavs", "num_words", "num_intents", "num_entities",
                         "correct_transcriptions", "correct_words", "correct_intent_names", "correct_entities",
                         "correct_intent_and_entities", "transcription_accuracy", "intent_accuracy",
                         "entity_accuracy", "intent_entity_accuracy", "average_transcription_speedup"}
    assert (data["num_wavs"], data["num_intents"], data["num_entities"]) == (3, 3, 2)
    assert data["num_words"] == 4 + 5 + 4
    assert data["correct_intent_names"] == 2 and data["intent_accuracy"] == 2 / 3
    assert data["correct_entities"] == 2 and data["entity_accuracy"] == 1.0
    assert data["correct_words"] == 4 + 5 + 1  # "what is the time" vs "what time is it": 3 edits
    assert data["actual"]["light"]["intent"]["name"] == "ChangeLightState"
    assert data["expected"]["wrong"]["intent"]["name"] == "GetTemperature"
    assert data["average_transcription_speedup"] > 0
    assert raw_body.status_code == 200 and raw_body.json()["num_wavs"] == 1
    for bad in (garbage, no_pairs, no_field):
        assert bad.status_code == 400, bad.text


def test_report_counts_and_word_errors():
    assert word_errors("a b c".split(), "a x c".split()) == 1
    assert word_errors([], "a".split()) == 1
    outcome = Outcome("x", {"text": "a b", "intent": {"name": "I"}, "slots": {"s": "v"}},
                      {"text": "a b", "intent": {"name": "I"}, "entities": [{"entity": "s", "value": "v"}]}, 2.0, 1.0)
    result = report([outcome])
    assert result["intent_entity_accuracy"] == 1.0 and result["average_transcription_speedup"] == 2.0
