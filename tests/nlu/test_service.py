"""The NLU service over a real Mosquitto: query -> intent, not recognised, train message, bad templates."""

from __future__ import annotations

import os
from pathlib import Path

from hermes.errors import NluError as NluErrorMessage
from hermes.nlu import (
    NluIntent,
    NluIntentNotRecognized,
    NluIntentParsed,
    NluQuery,
    NluTrain,
    NluTrainSuccess,
)
from services.nlu.service import NluService
from services.nlu.settings import NluSettings


async def test_query_publishes_intent_parsed_and_intent(run_service, mqtt_client, site_id):
    await mqtt_client.subscribe(NluIntent.subscribe_filter(), NluIntentParsed.subscribe_filter())
    async with run_service(NluService, settings=NluSettings()):
        await mqtt_client.publish(NluQuery(input="turn ON the living room lamp", site_id=site_id, id="q1",
                                           session_id="s1", custom_data="cd", lang="en-gb", wakeword_id="ww",
                                           asr_confidence=0.9, custom_entities={"user": "ann"}))
        parsed = await mqtt_client.expect(NluIntentParsed, where=lambda m: m.site_id == site_id)
        intent = await mqtt_client.expect(NluIntent, where=lambda m: m.site_id == site_id)
    assert parsed.intent.intent_name == "ChangeLightState" and parsed.id == "q1" and parsed.session_id == "s1"
    assert intent.topic() == "hermes/intent/ChangeLightState"
    assert intent.input == "turn on the living room lamp"  # template spelling, input was "ON"
    assert intent.raw_input == "turn ON the living room lamp"
    assert (intent.custom_data, intent.lang, intent.wakeword_id, intent.asr_confidence) == ("cd", "en-gb", "ww", 0.9)
    slots = {s.slot_name: s for s in intent.slots or []}
    assert slots["state"].value == {"kind": "Unknown", "value": "on"} and slots["state"].raw_value == "ON"
    assert slots["name"].value["value"] == "living room lamp"
    assert slots["name"].range is not None and (slots["name"].range.start, slots["name"].range.end) == (12, 28)
    assert slots["user"].value == {"value": "ann"}  # customEntities are appended
    assert [t.value for t in (intent.asr_tokens or [[]])[0]] == intent.input.split()


async def test_not_recognised_and_intent_filter(run_service, mqtt_client, site_id):
    await mqtt_client.subscribe(NluIntentNotRecognized.subscribe_filter(), NluIntent.subscribe_filter())
    async with run_service(NluService, settings=NluSettings()):
        await mqtt_client.publish(NluQuery(input="open the pod bay doors", site_id=site_id, id="q2",
                                           session_id="s2", custom_data="x"))
        missing = await mqtt_client.expect(NluIntentNotRecognized, where=lambda m: m.id == "q2")
        # the sentence matches GetTime, but the filter only allows GetTemperature
        await mqtt_client.publish(NluQuery(input="what time is it", site_id=site_id, id="q3",
                                           intent_filter=["GetTemperature"]))
        filtered = await mqtt_client.expect(NluIntentNotRecognized, where=lambda m: m.id == "q3")
        await mqtt_client.publish(NluQuery(input="what time is it", site_id=site_id, id="q4",
                                           intent_filter=["GetTime"]))
        allowed = await mqtt_client.expect(NluIntent, where=lambda m: m.id == "q4")
    assert (missing.input, missing.session_id, missing.custom_data, missing.site_id) == (
        "open the pod bay doors", "s2", "x", site_id)
    assert filtered.input == "what time is it"
    assert allowed.intent.intent_name == "GetTime"


async def test_train_message_retrains_in_place(run_service, mqtt_client, site_id):
    await mqtt_client.subscribe(NluTrainSuccess.subscribe_filter(), NluIntent.subscribe_filter())
    sentences = {"sentences.ini": "[PlayMusic]\nplay [some] ($genre){genre} [music]\nplay 5 songs\n"}
    slots = {"genre": ["rock", "(hip hop):hiphop"]}
    async with run_service(NluService, settings=NluSettings()):
        await mqtt_client.publish(NluTrain(site_id=site_id, id="t1", sentences=sentences, slots=slots))
        done = await mqtt_client.expect(NluTrainSuccess, where=lambda m: m.id == "t1")
        await mqtt_client.publish(NluQuery(input="play some hip hop music", site_id=site_id, id="q5"))
        intent = await mqtt_client.expect(NluIntent, where=lambda m: m.id == "q5")
        await mqtt_client.publish(NluQuery(input="play 5 songs", site_id=site_id, id="q6"))
        numbers = await mqtt_client.expect(NluIntent, where=lambda m: m.id == "q6")
    assert done.site_id == site_id
    assert intent.intent.intent_name == "PlayMusic"
    assert intent.slots is not None and intent.slots[0].entity == "genre"
    assert intent.slots[0].value["value"] == "hiphop" and intent.slots[0].raw_value == "hip hop"
    assert numbers.input == "play 5 songs" and numbers.raw_input == "play 5 songs"


async def test_bad_templates_error_and_service_stays_up(run_service, mqtt_client, site_id):
    await mqtt_client.subscribe(NluErrorMessage.subscribe_filter(), NluIntent.subscribe_filter())
    async with run_service(NluService, settings=NluSettings()):
        await mqtt_client.publish(NluTrain(site_id=site_id, id="bad",
                                           sentences={"sentences.ini": "[A]\nturn (on | off\n"}))
        error = await mqtt_client.expect(NluErrorMessage, where=lambda m: m.site_id == site_id)
        await mqtt_client.publish(NluTrain(site_id=site_id, id="bad2", sentences={"sentences.ini": "[A]\nset $nope\n"}))
        slot_error = await mqtt_client.expect(NluErrorMessage, where=lambda m: "nope" in m.error)
        # the previous (default profile) model still serves
        await mqtt_client.publish(NluQuery(input="what time is it", site_id=site_id, id="q7"))
        intent = await mqtt_client.expect(NluIntent, where=lambda m: m.id == "q7")
    assert "sentences.ini, line 2, column" in error.error and "expected ')'" in error.error
    assert "missing slot list" in slot_error.error
    assert intent.intent.intent_name == "GetTime"


async def test_broken_profile_serves_previous_model(run_service, mqtt_client, site_id, profile_dir: Path):
    from services.nlu.training import train_profile

    train_profile(profile_dir)
    (profile_dir / "sentences.ini").write_text("[GetTime]\nwhat time (is it\n", encoding="utf-8")
    await mqtt_client.subscribe(NluIntent.subscribe_filter())
    async with run_service(NluService, settings=NluSettings(), profile=profile_dir):
        await mqtt_client.publish(NluQuery(input="what time is it", site_id=site_id, id="q8"))
        intent = await mqtt_client.expect(NluIntent, where=lambda m: m.id == "q8")
    assert intent.intent.intent_name == "GetTime"


async def test_service_picks_up_a_new_training_from_disk(run_service, mqtt_client, site_id, profile_dir: Path):
    from services.nlu.training import train_profile

    train_profile(profile_dir)
    await mqtt_client.subscribe(NluIntent.subscribe_filter())
    async with run_service(NluService, settings=NluSettings(), profile=profile_dir):
        (profile_dir / "sentences.ini").write_text("[Greet]\nhello there\n", encoding="utf-8")
        trained = train_profile(profile_dir)  # what `hermesh train` does while the service runs
        graph_file = trained.artefacts["intent_graph.pickle"]
        os.utime(graph_file, (graph_file.stat().st_atime, graph_file.stat().st_mtime + 5))
        await mqtt_client.publish(NluQuery(input="hello there", site_id=site_id, id="q9"))
        intent = await mqtt_client.expect(NluIntent, where=lambda m: m.id == "q9")
    assert intent.intent.intent_name == "Greet"
