"""While an injection retrains, recognition keeps answering with the previous model: the NLU and the ASR train
outside their sites' queues, so a query that arrives during a training is not held until it ends."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from hermes.nlu import NluTrain, NluTrainSuccess
from hermes.snips import InjectionComplete, InjectionPerform
from tests.conftest import MosquittoBroker

from .test_injection import injection_mesh, music_profile  # noqa: F401 - the fixture

pytestmark = pytest.mark.timeout(300)


async def test_queries_are_answered_while_an_injection_trains(mqtt_broker: MosquittoBroker, mqtt_client: Any,
                                                              music_profile: Path) -> None:  # noqa: F811
    for cls in (InjectionComplete, NluTrain, NluTrainSuccess):
        await mqtt_client.subscribe(cls.subscribe_filter())
    names = [f"radio number {n}" for n in range(1, 10001)]  # seconds of training on any machine we run on
    async with injection_mesh(mqtt_broker, music_profile) as client:
        mqtt_client.clear()
        training = asyncio.ensure_future(mqtt_client.expect(NluTrain, timeout=60))
        trained = asyncio.ensure_future(mqtt_client.expect(NluTrainSuccess, timeout=240))
        await mqtt_client.publish(InjectionPerform(id="big", operations=[["add", {"device": names}]]))
        await training
        answered_meanwhile = []
        while not trained.done():  # each answer is read before the next is asked
            reply = await client.post("/api/text-to-intent", content="play music on the living room speaker",
                                      params={"nohass": "true"})
            if not trained.done():
                answered_meanwhile.append(reply.json()["intent"]["name"])
        await mqtt_client.expect(InjectionComplete, timeout=240, where=lambda m: m.request_id == "big")
        after = await client.post("/api/text-to-intent", content="play music on the radio number twelve",
                                  params={"nohass": "true"})
    # held in the NLU's queue, the first query would have been answered only after its trainSuccess
    assert answered_meanwhile and set(answered_meanwhile) == {"PlayMusic"}, answered_meanwhile
    assert after.json()["slots"] == {"device": "radio number 12"}
