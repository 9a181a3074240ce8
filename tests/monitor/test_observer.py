"""MeshObserver fed recorded message sequences (no broker): stages, latencies, services, $SYS figures."""

from __future__ import annotations

import pytest

from hermes.asr import AsrStartListening, AsrTextCaptured
from hermes.dialogue import DialogueSessionStarted
from hermes.hotword import HotwordDetected
from hermes.status import ServiceState, ServiceStatus
from hermes.tts import TtsSay, TtsSayFinished
from services.monitor.observer import MeshObserver, topic_family

from .session_script import Recorded, two_turn_session, voice_command


def feed(observer: MeshObserver, messages: Recorded) -> None:
    for topic, payload, at in messages:
        observer.feed(topic, payload, at)


def test_full_voice_command_gives_every_stage_and_its_latency() -> None:
    script = voice_command("kitchen", start=1000.0)
    observer = MeshObserver()
    feed(observer, script.messages)
    snapshot = observer.snapshot(1010.0)
    assert snapshot["sessions"]["active"] == []
    [done] = snapshot["sessions"]["finished"]
    assert done["session_id"] == "kitchen-porcupine-0001"
    assert done["site_id"] == "kitchen" and done["wakeword_id"] == "porcupine"
    assert done["reason"] == "nominal" and done["intent"] == "ChangeLightState" and done["text"] == "turn on the lamp"
    assert done["latencies"] == pytest.approx(
        {"started": 0.40, "listening": 0.05, "captured": 2.00, "intent": 0.15, "handled": 0.15, "spoken": 1.25}
    )
    assert done["duration"] == pytest.approx(4.05)
    assert done["turns"][0]["times"] == pytest.approx(script.stages)
    assert snapshot["sessions"]["started"] == 1 and snapshot["sessions"]["ended"] == {"nominal": 1}
    # the histograms got one observation per stage, in the right bucket
    assert observer.stage_latency["captured"].count == 1
    assert dict(observer.stage_latency["captured"].cumulative())[1.0] == 0
    assert dict(observer.stage_latency["captured"].cumulative())[2.5] == 1
    assert observer.session_duration.count == 1
    # message families: 23 audio frames, counted but never parsed
    assert snapshot["messages"]["hermes/audioServer/+/audioFrame"]["count"] == 23
    assert snapshot["messages"]["hermes/intent/#"]["count"] == 1
    assert sum(m["count"] for m in snapshot["messages"].values()) == len(script.messages)


def test_active_session_shows_its_current_stage() -> None:
    script = voice_command("hall", start=50.0)
    observer = MeshObserver()
    upto = next(i for i, (topic, _, _) in enumerate(script.messages) if topic == "hermes/asr/textCaptured")
    feed(observer, script.messages[:upto])
    [active] = observer.snapshot(51.0)["sessions"]["active"]
    assert active["stage"] == "listening" and active["site_id"] == "hall"
    assert active["age"] == pytest.approx(1.0)
    feed(observer, script.messages[upto : upto + 1])
    assert observer.snapshot(53.0)["sessions"]["active"][0]["stage"] == "captured"
    assert list(observer.sessions_by_site()) == ["hall"]


def test_not_recognized_session() -> None:
    observer = MeshObserver()
    feed(observer, voice_command("porch", intent=None).messages)
    [done] = observer.snapshot(2000.0)["sessions"]["finished"]
    assert done["reason"] == "intentNotRecognized" and done["intent"] is None
    assert set(done["latencies"]) == {"started", "listening", "captured", "intent"}
    assert done["latencies"]["intent"] == pytest.approx(0.15)


def test_continue_session_has_two_turns_and_no_wake() -> None:
    observer = MeshObserver()
    feed(observer, two_turn_session("office").messages)
    [done] = observer.snapshot(3000.0)["sessions"]["finished"]
    first, second = done["turns"]
    assert "wake" not in first["times"]
    assert first["latencies"] == pytest.approx(
        {"listening": 0.01, "captured": 1.0, "intent": 0.08, "handled": 0.2, "spoken": 1.0})
    assert second["latencies"] == pytest.approx({"captured": 1.0, "intent": 0.05, "handled": 0.1})
    assert done["intent"] == "City"
    assert observer.stage_latency["captured"].count == 2  # both turns observed


def test_two_sites_at_once_keep_their_own_wake_and_timeline() -> None:
    kitchen = voice_command("kitchen", start=100.0)
    hall = voice_command("hall", start=100.2, wakeword="hey_hall")
    merged = sorted(kitchen.messages + hall.messages, key=lambda m: m[2])  # stable: keeps each site's order
    observer = MeshObserver()
    feed(observer, merged)
    finished = {s["site_id"]: s for s in observer.snapshot(200.0)["sessions"]["finished"]}
    assert finished["kitchen"]["turns"][0]["times"]["wake"] == pytest.approx(100.0)
    assert finished["hall"]["turns"][0]["times"]["wake"] == pytest.approx(100.2)
    assert finished["hall"]["wakeword_id"] == "hey_hall"
    assert finished["kitchen"]["latencies"]["spoken"] == pytest.approx(1.25)


def test_wake_is_tied_by_the_detections_session_id_when_it_has_one() -> None:
    observer = MeshObserver()
    detected = HotwordDetected(wakeword_id="default", model_id="default", site_id="den", session_id="given-id")
    started = DialogueSessionStarted(session_id="given-id", site_id="den", custom_data="something-else")
    observer.feed(detected.topic(), detected.payload(), 10.0)
    observer.feed(started.topic(), started.payload(), 10.3)
    assert observer.active["given-id"].turn.times == {"wake": 10.0, "started": 10.3}
    # a programmatic session on another site does not steal a stale detection
    other = HotwordDetected(wakeword_id="porcupine", model_id="porcupine", site_id="attic")
    prog = DialogueSessionStarted(session_id="p-1", site_id="attic", custom_data=None)
    observer.feed(other.topic(), other.payload(), 11.0)
    observer.feed(prog.topic(), prog.payload(), 12.0)
    assert "wake" not in observer.active["p-1"].turn.times


def test_handler_answering_with_tts_say_counts_as_handled_and_unknown_sessions_are_ignored() -> None:
    observer = MeshObserver()
    script = voice_command("garage", answer=None)
    # Rhasspy's Home Assistant handler: tts/say with the sessionId instead of endSession
    cut = next(i for i, (t, _, _) in enumerate(script.messages) if t == "hermes/dialogueManager/endSession")
    feed(observer, script.messages[:cut])
    sid = "garage-porcupine-0001"
    say = TtsSay(text="ok", site_id="garage", id="s1", session_id=sid)
    said = TtsSayFinished(site_id="garage", id="s1", session_id=sid)
    observer.feed(say.topic(), say.payload(), 1003.0)
    observer.feed(said.topic(), said.payload(), 1004.0)
    times = observer.active[sid].turn.times
    assert times["handled"] == 1003.0 and times["spoken"] == 1004.0
    for message in (AsrStartListening(site_id="garage", session_id="nope"),
                    AsrTextCaptured(text="x", likelihood=1, seconds=1, session_id="nope")):
        observer.feed(message.topic(), message.payload(), 1005.0)
    assert list(observer.active) == [sid]


def test_services_online_offline_by_last_will_and_cleared() -> None:
    observer = MeshObserver()
    online = ServiceStatus(service="wake", instance="kitchen", status=ServiceState.ONLINE, site_ids=["kitchen"], pid=7)
    offline = online.model_copy(update={"status": ServiceState.OFFLINE})
    asr = ServiceStatus(service="asr", instance="base", status=ServiceState.ONLINE)
    observer.feed(online.topic(), online.payload(), 1.0)
    observer.feed(asr.topic(), asr.payload(), 1.0)
    services = {(s["service"], s["instance"]): s for s in observer.snapshot(2.0)["services"]}
    assert services[("wake", "kitchen")]["status"] == "online" and services[("wake", "kitchen")]["pid"] == 7
    observer.feed(offline.topic(), offline.payload(), 3.0)  # what the last will publishes
    services = {(s["service"], s["instance"]): s for s in observer.snapshot(4.0)["services"]}
    assert services[("wake", "kitchen")]["status"] == "offline" and services[("wake", "kitchen")]["changed_at"] == 3.0
    observer.feed(online.topic(), b"", 5.0)  # retained status cleared
    assert [s["service"] for s in observer.snapshot(6.0)["services"]] == ["asr"]


def test_broker_sys_figures_and_rates() -> None:
    observer = MeshObserver()
    for topic, value in (("$SYS/broker/version", b"mosquitto version 2.0.11"),
                         ("$SYS/broker/clients/connected", b"7"),
                         ("$SYS/broker/uptime", b"42 seconds"),
                         ("$SYS/broker/load/publish/received/1min", b"600.00"),
                         ("$SYS/broker/bytes/sent", b"1000")):
        observer.feed(topic, value, 100.0)
    observer.feed("$SYS/broker/bytes/sent", b"3000", 110.0)
    broker = observer.snapshot(111.0)["broker"]
    assert broker["version"] == "mosquitto version 2.0.11"
    assert broker["clients_connected"] == 7 and broker["uptime_seconds"] == 42
    assert broker["messages_received_per_second"] == pytest.approx(10.0)  # 600 per minute
    assert broker["bytes_sent_per_second"] == pytest.approx(200.0)  # from the counter's delta: no load figure
    assert broker["messages_sent_per_second"] is None
    assert "$SYS/#" not in observer.messages  # the broker's own topics are not mesh traffic


def test_malformed_payloads_are_counted_and_stale_sessions_expire() -> None:
    observer = MeshObserver(stale_after=60.0)
    observer.feed("hermes/dialogueManager/sessionStarted", b"{not json", 1.0)
    observer.feed("hermes/hotword/x/detected", b"[]", 1.0)
    assert observer.malformed == {"hermes/dialogueManager/sessionStarted": 1, "hermes/hotword/+/detected": 1}
    started = DialogueSessionStarted(session_id="s", site_id="a")
    observer.feed(started.topic(), started.payload(), 2.0)
    observer.feed("some/other/topic", b"x", 100.0)  # any later message lets expiry run
    assert observer.active == {} and observer.sessions_lost == 1


def test_topic_families_are_bounded() -> None:
    assert topic_family("hermes/audioServer/kitchen/playBytes/8f1c") == "hermes/audioServer/+/playBytes/+"
    assert topic_family("hermes/intent/ChangeLightState") == "hermes/intent/#"
    assert topic_family("hermesh/status/asr/base") == "hermesh/status/+/+"
    assert topic_family("zigbee2mqtt/lamp/set") == "zigbee2mqtt/lamp/#"
    assert topic_family("$SYS/broker/uptime") == "$SYS/#"
