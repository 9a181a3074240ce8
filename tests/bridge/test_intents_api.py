"""GET /api/intents in Rhasspy's shape (issue 14): {IntentName: [sentence objects]}, each the parse tree of one
template with an item_type per node; ?templates=true keeps the template lines."""

from __future__ import annotations

from .harness import http, run_bridge

SENTENCES = """[SetLight]
colors = (red | green){color}
turn [the] light (on | off){state}
set <colors> brightness to $level{brightness!int}
switch:turn (it up):on{state}

[GetTime]
what time is it
"""


def words(node):  # the leaves, in order
    if node["item_type"] in ("Sentence", "Sequence"):
        return [w for item in node["items"] for w in words(item)]
    return [node]


async def test_intents_are_rhasspy_sentence_objects(mqtt_broker, profile_dir):
    (profile_dir / "sentences.ini").write_text(SENTENCES)
    async with run_bridge(mqtt_broker, profile_dir) as bridge, http(bridge) as client:
        intents = await client.get("/api/intents")
        templates = await client.get("/api/intents", params={"templates": "true"})
        (profile_dir / "sentences.ini").write_text("[Broken]\nturn (on\n")
        broken = await client.get("/api/intents")
    assert intents.status_code == 200, intents.text
    data = intents.json()
    assert set(data) == {"SetLight", "GetTime"} and len(data["SetLight"]) == 3  # the rule is not a sentence
    turn, brightness, switch = data["SetLight"]
    assert turn["item_type"] == "Sentence" and turn["type"] == "group"
    assert turn["text"] == "turn [the] light (on | off){state}"
    optional, state = turn["items"][1], turn["items"][3]
    assert optional["item_type"] == "Sequence" and optional["type"] == "alternative"
    assert [i["text"] for i in optional["items"]] == ["the", ""]  # an optional is an alternative with ""
    assert state["type"] == "alternative" and state["tag"] == {"tag_text": "state", "substitution": None,
                                                               "converters": []}
    assert [w["text"] for w in state["items"]] == ["on", "off"]
    rule, slot = brightness["items"][1], brightness["items"][4]
    assert rule == {"item_type": "RuleReference", "text": "<colors>", "tag": None, "rule_name": "colors",
                    "grammar_name": None}
    assert slot["item_type"] == "SlotReference" and slot["slot_name"] == "level"
    assert slot["tag"] == {"tag_text": "brightness", "substitution": None, "converters": ["int"]}
    assert switch["items"][0] == {"item_type": "Word", "text": "switch", "substitution": "turn", "converters": [],
                                  "tag": None}
    group = switch["items"][1]
    assert group["type"] == "group" and group["substitution"] == "on" and group["tag"]["tag_text"] == "state"
    assert [w["text"] for w in words(data["GetTime"][0])] == ["what", "time", "is", "it"]
    assert templates.json()["GetTime"] == ["what time is it"]
    assert broken.status_code == 400 and "line 2" in broken.text
