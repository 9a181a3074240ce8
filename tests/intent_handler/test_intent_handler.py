"""The intent handler on a real broker against a real local HTTP server and real programs."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import textwrap
from pathlib import Path

from hermes.dialogue import DialogueEndSession
from hermes.errors import HandleError
from hermes.handle import HandleToggleOff, HandleToggleOn
from hermes.nlu import Intent, NluIntent, Slot, SlotRange
from hermes.tts import TtsSay
from services.intent_handler.home_assistant import event_data
from services.intent_handler.service import IntentHandlerService
from services.intent_handler.settings import (
    CommandSettings,
    HomeAssistantSettings,
    IntentHandlerSettings,
    WebhookSettings,
)
from tests.conftest import free_port

from .http_server import RecordingServer


def light_intent(site_id: str, session_id: str | None = "s-1", name: str = "ChangeLightColor",
                 text: str = "set the bedroom light to red") -> NluIntent:
    slots = [
        Slot(entity="rooms", slot_name="name", value={"kind": "Unknown", "value": "bedroom"}, raw_value="bedroom",
             range=SlotRange(start=8, end=15)),
        Slot(entity="color", slot_name="color", value={"kind": "Unknown", "value": "red"}, raw_value="RED"),
    ]
    return NluIntent(input=text, intent=Intent(intent_name=name, confidence_score=1.0), site_id=site_id,
                     slots=slots, session_id=session_id, custom_data="cd", raw_input=text.upper(),
                     wakeword_id="porcupine")


def test_event_data_is_rhasspy_shaped():
    intent = light_intent("kitchen")
    data = event_data(intent)
    assert data["name"] == "bedroom" and data["color"] == "red"
    assert data["name_raw_value"] == "bedroom" and data["color_raw_value"] == "RED"
    assert data["_text"] == "set the bedroom light to red" and data["_raw_text"] == "SET THE BEDROOM LIGHT TO RED"
    assert data["_site_id"] == "kitchen"
    assert data["_intent"]["intent"] == {"intentName": "ChangeLightColor", "confidenceScore": 1.0}
    json.dumps(data)  # all of it goes into an HTTP body


async def test_webhooks_get_the_intent_json_and_their_reply_is_spoken(run_service, mqtt_client, site_id):
    async with RecordingServer() as server:
        server.replies["/all"] = (200, {"speech": {"text": "Bedroom is red now"}})
        server.replies["/lights"] = (200, {})
        settings = IntentHandlerSettings(webhooks=WebhookSettings(urls={
            "*": [server.url + "/all"], "ChangeLightColor": [server.url + "/lights"], "Other": [server.url + "/x"],
        }))
        await mqtt_client.subscribe(TtsSay.subscribe_filter())
        async with run_service(IntentHandlerService, settings=settings, site_ids=[site_id]):
            await mqtt_client.publish(light_intent(site_id))
            say = await mqtt_client.expect(TtsSay, where=lambda m: m.site_id == site_id)
            received = await server.wait_for(2)
    assert (say.text, say.session_id) == ("Bedroom is red now", "s-1")
    assert sorted(r.path for r in received) == ["/all", "/lights"]
    body = received[0].body
    assert body["intent"] == {"name": "ChangeLightColor", "confidence": 1.0}
    assert body["slots"] == {"name": "bedroom", "color": "red"}
    assert body["text"] == "set the bedroom light to red" and body["raw_text"] == "SET THE BEDROOM LIGHT TO RED"
    assert body["site_id"] == site_id and body["session_id"] == "s-1" and body["wakeword_id"] == "porcupine"
    assert body["entities"][0] == {"entity": "name", "value": "bedroom",
                                   "value_details": {"kind": "Unknown", "value": "bedroom"}, "raw_value": "bedroom",
                                   "start": 8, "end": 15, "raw_start": 8, "raw_end": 15}


async def test_a_failing_webhook_is_reported_and_the_service_carries_on(run_service, mqtt_client, site_id):
    dead = f"http://127.0.0.1:{free_port()}/hook"
    async with RecordingServer() as server:
        server.replies["/broken"] = (500, {"error": "boom"})
        settings = IntentHandlerSettings(webhooks=WebhookSettings(urls={
            "ChangeLightColor": [dead], "Broken": [server.url + "/broken"], "Fine": [server.url + "/fine"]}))
        await mqtt_client.subscribe(HandleError.subscribe_filter(), TtsSay.subscribe_filter())
        async with run_service(IntentHandlerService, settings=settings, site_ids=[site_id]):
            await mqtt_client.publish(light_intent(site_id, session_id="s-dead"))
            error = await mqtt_client.expect(HandleError, where=lambda m: m.session_id == "s-dead")
            await mqtt_client.publish(light_intent(site_id, session_id="s-500", name="Broken"))
            error_500 = await mqtt_client.expect(HandleError, where=lambda m: m.session_id == "s-500")
            await mqtt_client.publish(light_intent(site_id, session_id="s-ok", name="Fine"))
            await server.wait_for(2)
    assert dead in error.error and "ChangeLightColor" in error.error
    assert (error.site_id, error.context) == (site_id, "webhooks")
    assert "HTTP 500" in error_500.error
    assert [r.path for r in server.received] == ["/broken", "/fine"]
    assert mqtt_client.received(TtsSay) == []  # errors are not spoken unless asked


def write_program(directory: Path, body: str) -> Path:
    path = directory / "handler.py"
    path.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return path


async def test_command_gets_the_intent_on_stdin_and_its_speech_is_spoken(run_service, mqtt_client, site_id, tmp_path):
    seen = tmp_path / "seen.json"
    program = write_program(tmp_path, f"""
        import json, sys
        intent = json.load(sys.stdin)
        open({str(seen)!r}, "w").write(json.dumps(intent))
        print(json.dumps({{"speech": {{"text": "Turning " + intent["slots"]["name"] + " " + intent["slots"]["color"]}}}}))
    """)
    settings = IntentHandlerSettings(command=CommandSettings(program=str(program), arguments=[]))
    await mqtt_client.subscribe(TtsSay.subscribe_filter())
    async with run_service(IntentHandlerService, settings=settings, site_ids=[site_id]):
        await mqtt_client.publish(light_intent(site_id))
        say = await mqtt_client.expect(TtsSay, where=lambda m: m.site_id == site_id)
    assert say.text == "Turning bedroom red"
    assert json.loads(seen.read_text())["intent"]["name"] == "ChangeLightColor"


async def test_a_failing_command_is_reported_with_its_stderr(run_service, mqtt_client, site_id, tmp_path):
    program = write_program(tmp_path, """
        import sys
        sys.stdin.read()
        print("the lamp is on fire", file=sys.stderr)
        sys.exit(3)
    """)
    settings = IntentHandlerSettings(command=CommandSettings(program=str(program)), speak_errors=True,
                                     error_text="That did not work.")
    await mqtt_client.subscribe(HandleError.subscribe_filter(), TtsSay.subscribe_filter())
    async with run_service(IntentHandlerService, settings=settings, site_ids=[site_id]):
        await mqtt_client.publish(light_intent(site_id))
        error = await mqtt_client.expect(HandleError, where=lambda m: m.site_id == site_id)
        say = await mqtt_client.expect(TtsSay, where=lambda m: m.site_id == site_id)
    assert "exited with status 3" in error.error and "the lamp is on fire" in error.error
    assert say.text == "That did not work."


async def test_handle_toggle_off_and_on_per_site(run_service, mqtt_client, site_id):
    other = site_id + "-other"
    async with RecordingServer() as server:
        settings = IntentHandlerSettings(webhooks=WebhookSettings(urls={"*": [server.url + "/hook"]}))
        async with run_service(IntentHandlerService, settings=settings):
            await mqtt_client.publish(HandleToggleOff(site_id=site_id))
            await mqtt_client.publish(light_intent(site_id, session_id="ignored"))
            await mqtt_client.publish(light_intent(other, session_id="other-site"))
            await mqtt_client.publish(HandleToggleOn(site_id=site_id))
            await mqtt_client.publish(light_intent(site_id, session_id="handled"))
            received = await server.wait_for(2)
    assert sorted(r.body["session_id"] for r in received) == ["handled", "other-site"]


async def test_home_assistant_unreachable_is_a_clear_error_and_spoken_if_asked(run_service, mqtt_client, site_id):
    port = free_port()
    settings = IntentHandlerSettings(
        home_assistant=HomeAssistantSettings(enabled=True, url=f"http://127.0.0.1:{port}", access_token="x",
                                             handle_type="intent"),
        speak_errors=True, error_text="Home Assistant is not answering.")
    await mqtt_client.subscribe(HandleError.subscribe_filter(), TtsSay.subscribe_filter())
    async with run_service(IntentHandlerService, settings=settings, site_ids=[site_id]) as service:
        await mqtt_client.publish(light_intent(site_id))
        error = await mqtt_client.expect(HandleError, where=lambda m: m.site_id == site_id)
        say = await mqtt_client.expect(TtsSay, where=lambda m: m.site_id == site_id)
        assert service._online.is_set()
    assert f"127.0.0.1:{port}" in error.error and "unreachable" in error.error
    assert error.context == "home_assistant" and error.session_id == "s-1"
    assert say.text == "Home Assistant is not answering." and say.session_id == "s-1"


async def test_end_session_mode_answers_with_end_session(run_service, mqtt_client, site_id):
    async with RecordingServer() as server:
        server.replies["*"] = (200, {"speech": {"text": "Done"}})
        settings = IntentHandlerSettings(webhooks=WebhookSettings(urls={"*": [server.url]}), end_session=True)
        await mqtt_client.subscribe(DialogueEndSession.subscribe_filter())
        async with run_service(IntentHandlerService, settings=settings, site_ids=[site_id]):
            await mqtt_client.publish(light_intent(site_id, session_id=f"{site_id}-session"))
            end = await mqtt_client.expect(DialogueEndSession, where=lambda m: m.session_id == f"{site_id}-session")
    assert end.text == "Done"


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "ha.pem", directory / "ha.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


async def test_home_assistant_over_tls_with_a_self_signed_certificate(run_service, mqtt_client, site_id, tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    async with RecordingServer(tls=server_tls) as server:
        server.replies["/api/events/rhasspy_ChangeLightColor"] = (200, {"message": "fired"})
        base = {"enabled": True, "url": server.url, "access_token": "secret-token"}
        unverified = IntentHandlerSettings(home_assistant=HomeAssistantSettings(**base, verify_tls=False))
        trusted = IntentHandlerSettings(home_assistant=HomeAssistantSettings(**base, ca_file=cert))
        checked = IntentHandlerSettings(home_assistant=HomeAssistantSettings(**base))
        await mqtt_client.subscribe(HandleError.subscribe_filter())
        for count, settings in enumerate((unverified, trusted), start=1):
            async with run_service(IntentHandlerService, settings=settings, site_ids=[site_id]):
                await mqtt_client.publish(light_intent(site_id))
                await server.wait_for(count)
        async with run_service(IntentHandlerService, settings=checked, site_ids=[site_id]):
            await mqtt_client.publish(light_intent(site_id, session_id="untrusted"))
            error = await mqtt_client.expect(HandleError, where=lambda m: m.session_id == "untrusted")
    assert [r.path for r in server.received] == ["/api/events/rhasspy_ChangeLightColor"] * 2
    assert server.received[0].headers["Authorization"] == "Bearer secret-token"
    assert server.received[0].body["name"] == "bedroom" and server.received[0].body["_site_id"] == site_id
    assert "certificate" in error.error and "home_assistant.ca_file" in error.error
