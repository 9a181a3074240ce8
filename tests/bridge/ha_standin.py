"""A stand-in for the two Home Assistant REST calls the bridge makes (GET /api/, POST /api/conversation/process),
answering with the shapes recorded from a real Home Assistant 2024.3 (home-assistant.md §6). A real Home
Assistant is exercised by the intent handler's tests; the bridge only needs these two calls."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def]
        yield


@contextlib.asynccontextmanager
async def home_assistant(token: str) -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        if headers.get("authorization") != f"Bearer {token}":
            status, reply = 401, {"message": "401: Unauthorized"}
        elif scope["path"] == "/api/" and scope["method"] == "GET":
            status, reply = 200, {"message": "API running."}
        elif scope["path"] == "/api/conversation/process" and scope["method"] == "POST":
            request = json.loads(body)
            received.append(request)
            status, reply = 200, {"response": {"speech": {"plain": {"speech": "Turned on the light",
                                                                     "extra_data": None}},
                                               "card": {}, "language": request.get("language"),
                                               "response_type": "action_done",
                                               "data": {"targets": [], "success": [{"name": "Bedroom Light",
                                                        "type": "entity", "id": "light.bedroom_light"}],
                                                        "failed": []}},
                                  "conversation_id": None}
        else:
            status, reply = 404, {"message": "not found"}
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": json.dumps(reply).encode()})

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = _Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", received
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
