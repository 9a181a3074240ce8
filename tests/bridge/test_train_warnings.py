"""POST /api/train reports the training's warnings (issue 14): a bad custom_words.txt line for a word no
sentence uses is kept, training succeeds, and the reply says so, after Rhasspy's success line or in JSON; so
does a template line the NLU's reader warns about."""

from __future__ import annotations

from .harness import http
from .mesh import mesh

BAD_LINE = "zyzzyva QQ XX\n"  # phones the acoustic model does not have, for a word no sentence uses


async def test_train_reply_lists_the_kept_bad_custom_word_line(mqtt_broker, profile_dir):
    (profile_dir / "custom_words.txt").write_text(BAD_LINE)
    async with mesh(mqtt_broker, profile_dir, asr=True) as bridge, http(bridge) as client:
        plain = await client.post("/api/train")
        as_json = await client.post("/api/train", headers={"Accept": "application/json"})
        (profile_dir / "custom_words.txt").write_text("")
        clean = await client.post("/api/train")
    assert plain.status_code == 200, plain.text
    first, *rest = plain.text.splitlines()
    assert first.startswith("Training completed in ") and first.endswith(" second(s)")  # Rhasspy's line
    assert len(rest) == 1 and rest[0].startswith("warning: ") and "zyzzyva" in rest[0] and "line 1" in rest[0]
    report = as_json.json()
    assert report["result"] == "success" and report["message"].startswith("Training completed in ")
    assert len(report["warnings"]) == 1 and "QQ" in report["warnings"][0] and report["skipped"] == []
    assert clean.status_code == 200 and len(clean.text.splitlines()) == 1


async def test_a_bad_line_for_a_word_the_sentences_use_still_fails_training(mqtt_broker, profile_dir):
    (profile_dir / "custom_words.txt").write_text("time QQ XX\n")
    async with mesh(mqtt_broker, profile_dir, asr=True) as bridge, http(bridge) as client:
        failed = await client.post("/api/train")
    assert failed.status_code == 400 and "time" in failed.text


async def test_train_reply_lists_template_warnings(mqtt_broker, profile_dir):
    sentences = profile_dir / "sentences.ini"
    sentences.write_text(sentences.read_text() + "\n[GetWeather]\n[the] weather today\nhow is the weather\n")
    async with mesh(mqtt_broker, profile_dir, asr=True) as bridge, http(bridge) as client:
        plain = await client.post("/api/train")
    assert plain.status_code == 200, plain.text
    warnings = plain.text.splitlines()[1:]
    assert len(warnings) == 1 and "[the] weather today" in warnings[0] and "\\[the] weather today" in warnings[0]
