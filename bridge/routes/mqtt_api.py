"""Raw MQTT over HTTP and websockets: publish any payload, observe JSON messages of any topic.

Binary payloads (audio) can be published with POST but are never sent as websocket frames and never close a
socket (rhasspy-http-api.md §8.4, fixed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

import aiomqtt
from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import Response

from hermes.mqtt_text import mqtt_text_problem

from ..http_util import BridgeHTTPError, api_doc, bad_request, json_response, parse_json, text
from .common import get_bridge, require_admin

router = APIRouter(tags=["mqtt"])
LOG = logging.getLogger("hermesh.bridge.mqtt")
_NOT_JSON = object()


def decode_json(payload: bytes) -> Any:
    """The parsed JSON payload, or _NOT_JSON for binary/non-JSON payloads."""
    try:
        return json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # absurdly deep JSON is skipped like binary
        return _NOT_JSON


def _check_text(topic: str) -> None:
    problem = mqtt_text_problem(topic)
    if problem:  # the broker would not refuse it politely: it would drop the bridge's connection
        raise bad_request(f"invalid MQTT topic {topic[:80]!r}: it contains a {problem}")


def check_filter(topic: str) -> str:
    if not topic:
        raise bad_request("empty topic")
    _check_text(topic)
    try:
        aiomqtt.Wildcard(topic)
    except ValueError as err:
        raise bad_request(f"invalid MQTT topic filter {topic[:80]!r}: {err}") from err
    return topic


def check_topic(topic: str) -> str:
    if not topic or "+" in topic or "#" in topic:
        raise bad_request(f"cannot publish to {topic[:80]!r}: a topic must be non-empty and contain no wildcards")
    _check_text(topic)
    return topic


@router.post("/api/mqtt/{topic:path}", **api_doc(
    "Publish the body verbatim to a topic", body="application/octet-stream",
    body_description="any bytes (JSON or binary)", responses={"text/plain": "Published N byte(s) to <topic>"}))
async def mqtt_publish(request: Request, topic: str) -> Response:
    require_admin(request, "publishing MQTT messages")
    check_topic(topic)
    body = await request.body()
    await get_bridge(request).publish_raw(topic, body)
    return text(f"Published {len(body)} byte(s) to {topic}")


@router.get("/api/mqtt/{topic:path}", **api_doc(
    "Wait for the next JSON message on a topic (filter)", responses={"application/json": "{topic, payload}"},
    description="Escape # as %23 and + as %2B. Binary messages are skipped; gives up with 504 after "
                "bridge.mqtt_poll_timeout seconds (Rhasspy 2.5 waited forever).",
    errors={504: "no JSON message arrived on the topic within bridge.mqtt_poll_timeout seconds"}))
async def mqtt_poll(request: Request, topic: str) -> Response:
    require_admin(request, "reading MQTT messages")
    check_filter(topic)
    bridge = get_bridge(request)
    future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    def on_message(actual: str, payload: bytes) -> None:
        value = decode_json(payload)
        if value is not _NOT_JSON and not future.done():
            future.set_result({"topic": actual, "payload": value})

    remove = await bridge.tap.listen(topic, on_message)
    try:
        result = await asyncio.wait_for(future, bridge.settings.mqtt_poll_timeout)
    except TimeoutError as err:
        raise BridgeHTTPError(504, f"no JSON message on {topic} within {bridge.settings.mqtt_poll_timeout:g} s") \
            from err
    finally:
        remove()
    return json_response(result)


class SocketSubscriptions:
    """The filters of one websocket; each broker message is queued once even when several filters match."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.filters: list[str] = []
        self.removers: list[Callable[[], None]] = []
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(1024)

    async def add(self, topic_filter: str) -> None:
        if topic_filter in self.filters:
            return
        self.filters.append(topic_filter)
        bridge = get_bridge(self.websocket)
        self.removers.append(await bridge.tap.listen(topic_filter, self._callback(topic_filter)))

    def _callback(self, topic_filter: str) -> Callable[[str, bytes], None]:
        def on_message(topic: str, payload: bytes) -> None:
            first = next((f for f in self.filters if aiomqtt.Topic(topic).matches(f)), None)
            if first != topic_filter:
                return
            value = decode_json(payload)
            if value is _NOT_JSON:
                return
            if self.queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    self.queue.get_nowait()
            self.queue.put_nowait({"topic": topic, "payload": value})

        return on_message

    def close(self) -> None:
        for remove in self.removers:
            remove()

    async def send_forever(self) -> None:
        while True:
            frame = await self.queue.get()
            await self.websocket.send_text(json.dumps(frame, ensure_ascii=False))


async def run_socket(websocket: WebSocket, subscriptions: SocketSubscriptions, receiver: Any) -> None:
    sender = asyncio.create_task(subscriptions.send_forever())
    reader = asyncio.create_task(receiver())
    try:
        await asyncio.wait({sender, reader}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        subscriptions.close()
        for task in (sender, reader):
            task.cancel()
        await asyncio.gather(sender, reader, return_exceptions=True)


@router.websocket("/api/mqtt")
async def mqtt_socket(websocket: WebSocket) -> None:
    require_admin(websocket, "the MQTT websocket")
    await websocket.accept()
    subscriptions = SocketSubscriptions(websocket)
    bridge = get_bridge(websocket)

    async def receive() -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                raw = message.get("text")
                if raw is None:
                    continue  # binary client frames carry nothing in this protocol
                try:
                    request = parse_json(raw, "the frame")
                    kind = request.get("type")
                    if kind == "subscribe":
                        await subscriptions.add(check_filter(str(request["topic"])))
                    elif kind == "publish":
                        topic = check_topic(str(request["topic"]))
                        await bridge.publish_raw(topic, json.dumps(request.get("payload")).encode())
                    else:
                        LOG.warning("ignored /api/mqtt frame of type %r", kind)
                except (ValueError, KeyError, AttributeError, TypeError, BridgeHTTPError) as err:
                    LOG.warning("ignored malformed /api/mqtt frame: %s", getattr(err, "message", err))

    await run_socket(websocket, subscriptions, receive)


@router.websocket("/api/mqtt/{topic:path}")
async def mqtt_topic_socket(websocket: WebSocket, topic: str) -> None:
    require_admin(websocket, "the MQTT websocket")
    try:
        check_filter(topic)
    except BridgeHTTPError:
        await websocket.close(code=1008, reason=f"invalid topic filter {topic!r}"[:120])
        return
    subscriptions = SocketSubscriptions(websocket)
    await subscriptions.add(topic)  # subscribe before accepting, as Rhasspy does
    await websocket.accept()

    async def receive() -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while (await websocket.receive())["type"] != "websocket.disconnect":
                pass

    await run_socket(websocket, subscriptions, receive)
