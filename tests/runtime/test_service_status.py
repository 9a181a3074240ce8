"""The status registry shared by the bridge and the dialogue manager: whole-service transitions, pools, gaps."""

from __future__ import annotations

from hermes.status import ServiceState, ServiceStatus
from services.runtime.service_status import Change, ServiceRegistry


def status(service: str, state: ServiceState, instance: str = "host") -> ServiceStatus:
    return ServiceStatus(service=service, instance=instance, status=state)


def test_transitions_are_those_of_the_whole_service():
    registry = ServiceRegistry()
    assert registry.update(status("nlu", ServiceState.ONLINE, "w1")) == Change.ONLINE
    assert registry.update(status("nlu", ServiceState.ONLINE, "w2")) is None
    # w2 still serves: not a transition of the service, but w1 may have taken a request with it
    assert registry.update(status("nlu", ServiceState.OFFLINE, "w1")) == Change.INSTANCE_LOST
    assert registry.update(status("nlu", ServiceState.OFFLINE, "w1")) is None  # a repeated will is no news
    assert registry.update(status("nlu", ServiceState.OFFLINE, "w2")) == Change.OFFLINE
    assert registry.update(status("nlu", ServiceState.OFFLINE, "w2")) is None  # a repeated will is no news
    assert registry.update(status("nlu", ServiceState.ONLINE, "w1")) == Change.ONLINE  # restarted


def test_an_offline_status_of_a_service_never_seen_online_is_a_transition():
    assert ServiceRegistry().update(status("asr", ServiceState.OFFLINE)) == Change.OFFLINE


def test_after_a_lost_connection_an_online_service_must_be_heard_again():
    registry = ServiceRegistry()
    registry.update(status("nlu", ServiceState.ONLINE))
    registry.update(status("tts", ServiceState.OFFLINE))
    assert registry.heard_again("nlu")
    registry.connection_lost()
    assert not registry.heard_again("nlu")  # its subscriptions may not be back yet
    assert registry.heard_again("tts")  # offline: nothing to wait for
    assert registry.heard_again("never-seen")
    registry.update(status("nlu", ServiceState.ONLINE))
    assert registry.heard_again("nlu")
