"""A rhasspy-hermes-app application runs unchanged against the mesh, and its reply is spoken.

Needs ``rhasspy-hermes-app`` in the venv (installed ``--no-deps``: it pins paho-mqtt 1.5 and rhasspy-hermes 0.6.1,
but runs with the paho-mqtt 2.x and rhasspy-hermes 0.6.2 already there).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hermes.dialogue import DialogueEndSession, DialogueSessionEnded
from hermes.hotword import HotwordDetected
from hermes.nlu import Intent, NluIntent
from hermes.tts import TtsSay

from .test_dialogue_service import mesh

APP = Path(__file__).with_name("snips_light_app.py")


async def wait_until_app_subscribed(client, process: subprocess.Popen[bytes], attempts: int = 60) -> None:
    """Send the app a probe intent until it answers: then it is subscribed (the app itself is not modified)."""
    await client.subscribe(DialogueEndSession.subscribe_filter())
    for attempt in range(attempts):
        if process.poll() is not None:
            pytest.fail(f"the rhasspy-hermes-app app exited with {process.returncode}")
        probe = f"probe-{attempt}"
        await client.publish(NluIntent(input="probe", intent=Intent(intent_name="LightOn", confidence_score=1.0),
                                       site_id="probe-site", session_id=probe))
        try:
            await client.expect(DialogueEndSession, timeout=0.5, where=lambda m, p=probe: m.session_id == p)
            return
        except AssertionError:
            continue
    pytest.fail("the rhasspy-hermes-app app never answered a probe intent (is rhasspy-hermes-app installed?)")


async def test_rhasspy_hermes_app_reply_is_spoken(run_service, mqtt_broker, mqtt_client, site_id, tmp_path):
    log = (tmp_path / "app.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(APP), "--host", mqtt_broker.host, "--port", str(mqtt_broker.port), "--debug"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        await wait_until_app_subscribed(mqtt_client, process)
        await mqtt_client.subscribe(TtsSay.subscribe_filter(), DialogueSessionEnded.subscribe_filter())
        async with mesh(run_service, [site_id], tts=True):
            await mqtt_client.publish(HotwordDetected(model_id="porcupine", site_id=site_id, wakeword_id="porcupine"))
            say = await mqtt_client.expect(TtsSay, where=lambda m: m.site_id == site_id, timeout=20)
            ended = await mqtt_client.expect(DialogueSessionEnded, where=lambda m: m.site_id == site_id, timeout=30)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()
    assert say.text == "Turning on the light" and say.session_id == ended.session_id
    assert ended.termination.reason == "nominal"
