"""Connection parameters for aiomqtt built from MqttSettings (auth and TLS in one place)."""

from __future__ import annotations

import socket
import ssl
from typing import Any

import aiomqtt
from paho.mqtt.client import MQTTv5

from services.config import MqttSettings


def tls_context(settings: MqttSettings) -> ssl.SSLContext | None:
    if not settings.tls:
        return None
    context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    if settings.cert_file:
        context.load_cert_chain(str(settings.cert_file), str(settings.key_file) if settings.key_file else None)
    if settings.tls_insecure:
        context.check_hostname = False
    return context


def client_kwargs(settings: MqttSettings, *, identifier: str | None = None, will: aiomqtt.Will | None = None) -> dict[str, Any]:
    """Keyword arguments for ``aiomqtt.Client`` (MQTT 5, so worker pools can use shared subscriptions)."""
    kwargs: dict[str, Any] = {
        "hostname": settings.host,
        "port": settings.port,
        "identifier": identifier,
        "keepalive": settings.keepalive,
        "protocol": aiomqtt.ProtocolVersion.V5,
        "timeout": 5,
        # paho leaves Nagle's algorithm on: two small publishes in a row (intentParsed, then intent) then wait
        # ~40 ms for the peer's delayed ACK. Every Hermes message is latency-sensitive, so send at once.
        "socket_options": [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    }
    if settings.username:
        kwargs["username"] = settings.username
        kwargs["password"] = settings.password.get_secret_value() if settings.password else None
    context = tls_context(settings)
    if context is not None:
        kwargs["tls_context"] = context
        kwargs["tls_insecure"] = settings.tls_insecure
    if will is not None:
        kwargs["will"] = will
    return kwargs


__all__ = ["client_kwargs", "tls_context", "MQTTv5"]
