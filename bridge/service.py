"""``hermesh bridge``: the Rhasspy-compatible HTTP/websocket API, itself a Hermes client on the broker.

uvicorn runs inside the service's event loop: it is started in ``setup()`` on a socket bound here (so a busy
port is a clear error) and stopped in ``teardown()``. The Wyoming server, when its package is present, runs
beside it on ``http.wyoming_port``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from hermes.asr import AsrAudioCaptured, AsrStartListening, AsrTextCaptured
from hermes.audioserver import AudioSummary
from hermes.dialogue import DialogueSessionEnded, DialogueSessionStarted
from hermes.hotword import HotwordDetected
from hermes.nlu import NluIntent, NluIntentNotRecognized
from hermes.status import ServiceStatus
from hermes.tts import TtsSay, TtsSayFinished
from services.config import ConfigError
from services.runtime import HermesService, ServiceError, handles

from .events import (
    EnergyMeter,
    EventHub,
    HubLogHandler,
    SiteStates,
    intent_frame,
    text_frame,
    wake_frame,
)
from .http_util import QUIET_ABORTS
from .mesh_client import MeshClient, MeshTimeouts
from .mqtt_tap import MqttTap
from .settings import BridgeSettings
from .state import BridgeState

LOG_NAMESPACE = "hermesh"


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the service's runner owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BridgeService(HermesService[BridgeSettings]):
    name = "bridge"
    settings_model = BridgeSettings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hub = EventHub()
        self.site_states = SiteStates(self.common.site_state.max_sites)
        self.energy = EnergyMeter()
        # Every request to the mesh goes through this client; it also keeps what the status topics say.
        self.mesh = MeshClient(self, self._timeouts)
        self.registry = self.mesh.registry
        self.started_at = time.time()
        self.state = BridgeState()
        self.http_port: int | None = None
        self.http_scheme = "http"
        self.wyoming: Any = None
        self._server: _EmbeddedServer | None = None
        self._server_task: asyncio.Task[None] | None = None
        self._log_handler: HubLogHandler | None = None
        self.tap = MqttTap(self.common.mqtt)
        self.ha_probe: tuple[float, dict[str, Any]] | None = None  # (monotonic time, result) for /api/status
        self.observer: Any = None  # services.monitor MeshObserver behind /metrics

    # ---- lifecycle -------------------------------------------------------------------------------------------
    async def setup(self) -> None:
        from .app import create_app

        await self.state.last_training.attach(self)  # before the first request can train
        settings = self.settings
        if settings.keyfile is not None and settings.certfile is None:
            raise ServiceError("bridge.keyfile is set without bridge.certfile; give both for HTTPS")
        host, port = self.common.http.host, self.common.http.port
        sock = self._bind(host, port)
        self.http_port = sock.getsockname()[1]
        self._log_handler = HubLogHandler(self.hub, asyncio.get_running_loop())
        logging.getLogger(LOG_NAMESPACE).addHandler(self._log_handler)
        self.http_scheme = "https" if settings.certfile else "http"
        config = uvicorn.Config(
            create_app(self), lifespan="off", log_level="warning", access_log=False,
            ssl_certfile=str(settings.certfile) if settings.certfile else None,
            ssl_keyfile=str(settings.keyfile) if settings.keyfile else None,
            ws_max_size=settings.max_ws_message_bytes, timeout_graceful_shutdown=3,
            ws_ping_interval=20.0,
        )
        self._server = _EmbeddedServer(config)
        # After uvicorn.Config, which (re)configures its loggers: an aborted stream is logged once, by us.
        logging.getLogger("uvicorn.error").addFilter(QUIET_ABORTS)
        try:
            config.load()
        except (OSError, ValueError) as err:
            sock.close()
            raise ServiceError(f"cannot set up HTTPS with {settings.certfile} / {settings.keyfile}: {err}") from err
        self._server_task = asyncio.create_task(self._serve(sock))
        while not self._server.started:
            if self._server_task.done():
                raise ServiceError(f"the HTTP server on {host}:{self.http_port} stopped while starting")
            await asyncio.sleep(0.01)
        self._announce(host)
        await self.tap.start()
        await self._start_observer()
        await self._start_wyoming()

    async def _start_observer(self) -> None:
        """The broker-level view behind /metrics: sessions, stage latencies, traffic, services up."""
        from services.monitor.attach import attach

        self.observer = await attach(self, wait=2.0)

    async def _serve(self, sock: socket.socket) -> None:
        assert self._server is not None
        try:
            await self._server.serve(sockets=[sock])
        except SystemExit:  # uvicorn exits on start-up failures; keep that inside this task
            self.log.error("the HTTP server could not start")

    def _bind(self, host: str, port: int) -> socket.socket:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only for such sockets
        # (without it every response waits ~40 ms for a delayed ACK).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            sock.close()
            raise ServiceError(f"cannot listen on {host}:{port} for the HTTP API ({err.strerror}); "
                               "is another bridge or Rhasspy running? choose another --http-port") from err
        sock.set_inheritable(True)
        return sock

    def _announce(self, host: str) -> None:
        url = f"{self.http_scheme}://{host}:{self.http_port}{self.settings.url_root}"
        if self.settings.auth_enabled:
            self.log.info("HTTP API on %s (authentication required; docs at %s/docs)", url, url)
        elif is_loopback(host):
            self.log.info("HTTP API on %s: loopback only, no authentication (set bridge.auth_token or "
                          "bridge.jwt_secret before exposing it); docs at %s/docs", url, url)
        else:
            self.log.warning("HTTP API on %s WITHOUT AUTHENTICATION on a non-loopback interface: anyone on the "
                             "network can control this assistant; set bridge.auth_token or bridge.jwt_secret",
                             url)

    async def _start_wyoming(self) -> None:
        if not self.settings.wyoming:
            self.log.info("Wyoming server disabled (bridge.wyoming=false)")
            return
        try:
            from bridge.wyoming.server import WyomingServer  # type: ignore[import-not-found]
        except ImportError as err:
            self.log.info("Wyoming server not available (%s); HTTP API only", err)
            return
        try:
            server = WyomingServer(self, self.common.http.host, self.common.http.wyoming_port, mesh=self.mesh)
        except ConfigError as err:  # the HTTP API stays up; the log says what to fix
            self.log.error("Wyoming server not started: %s", err)
            return
        try:
            await server.start()
        except OSError as err:
            self.log.error("Wyoming server could not listen on %s:%s: %s", self.common.http.host,
                           self.common.http.wyoming_port, err)
            return
        self.wyoming = server
        self.log.info("Wyoming server on tcp://%s:%s", self.common.http.host, self.common.http.wyoming_port)

    async def teardown(self) -> None:
        await self.tap.stop()
        if self.wyoming is not None:
            with contextlib.suppress(Exception):
                await self.wyoming.stop()
            self.wyoming = None
        if self._server is not None and self._server_task is not None:
            self._server.should_exit = True
            try:
                await asyncio.wait_for(asyncio.shield(self._server_task), 8)
            except TimeoutError:
                self._server.force_exit = True
                self._server_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._server_task
        if self._log_handler is not None:
            logging.getLogger(LOG_NAMESPACE).removeHandler(self._log_handler)

    async def on_connected(self) -> None:
        # Waiters of request/response calls need these subscriptions in place before the first request.
        for cls in (NluIntent, NluIntentNotRecognized, AsrTextCaptured, HotwordDetected, ServiceStatus):
            await self.subscribe_extra(cls.subscribe_filter())

    def _timeouts(self) -> MeshTimeouts:
        settings = self.settings
        return MeshTimeouts(reply=settings.reply_timeout, train=settings.train_timeout,
                            say_chars_per_second=settings.say_chars_per_second,
                            worker_lost=settings.worker_lost_timeout)

    @property
    def base_url(self) -> str:
        """Where the API is, url root included (clients append /api/...)."""
        return f"{self.http_scheme}://{self.common.http.host}:{self.http_port}{self.settings.url_root}"

    def on_connection_lost(self) -> None:
        self.mesh.connection_lost()

    def remember_recording(self, wav: bytes) -> None:
        self.state.last_recording = wav

    # ---- events for websockets and the status API ------------------------------------------------------------
    @handles(ServiceStatus, all_sites=True)
    async def on_status(self, status: ServiceStatus) -> None:
        # Every instance gone: requests waiting on it answer 503 now, not at their 30 s timeout.
        failed = self.mesh.status_changed(status)
        if failed:
            self.log.warning("the %s service went offline; %d waiting request(s) answered 503",
                             status.service, failed)

    async def on_site_released(self, site_id: str) -> None:
        self.site_states.forget(site_id)
        self.energy.forget(site_id)

    @handles(NluIntent)
    async def on_intent(self, intent: NluIntent) -> None:
        self.site_states.feed("intent", intent.site_id, intent.session_id, time.time(), intent=intent.intent_name)
        self.hub.publish("intent", intent_frame(intent), intent.site_id)

    @handles(NluIntentNotRecognized)
    async def on_not_recognized(self, message: NluIntentNotRecognized) -> None:
        self.site_states.feed("not_recognized", message.site_id, message.session_id, time.time(), intent="")
        self.hub.publish("intent", intent_frame(message), message.site_id)

    @handles(AsrTextCaptured)
    async def on_text(self, message: AsrTextCaptured) -> None:
        self.site_states.feed("text_captured", message.site_id, message.session_id, time.time(), text=message.text)
        self.hub.publish("text", text_frame(message), message.site_id)

    @handles(HotwordDetected)
    async def on_wake(self, message: HotwordDetected) -> None:
        self.site_states.feed("wake", message.site_id, message.session_id, time.time())
        self.hub.publish("wake", wake_frame(message), message.site_id)

    @handles(AudioSummary)
    async def on_audio_summary(self, message: AudioSummary) -> None:
        if self.hub.count("audiosummary"):
            self.hub.publish("audiosummary", self.energy.frame(message.site_id, message.debiased_energy),
                             message.site_id)

    @handles(AsrAudioCaptured)
    async def on_audio_captured(self, message: AsrAudioCaptured) -> None:
        self.state.last_recording = message.wav_bytes

    @handles(DialogueSessionStarted)
    async def on_session_started(self, message: DialogueSessionStarted) -> None:
        self.site_states.feed("session_started", message.site_id, message.session_id, time.time())

    @handles(DialogueSessionEnded)
    async def on_session_ended(self, message: DialogueSessionEnded) -> None:
        self.site_states.feed("session_ended", message.site_id, message.session_id, time.time())

    @handles(AsrStartListening)
    async def on_listening(self, message: AsrStartListening) -> None:
        self.site_states.feed("listening", message.site_id, message.session_id, time.time())

    @handles(TtsSay)
    async def on_say(self, message: TtsSay) -> None:
        self.site_states.feed("say", message.site_id, message.session_id, time.time(), text=message.text)

    @handles(TtsSayFinished)
    async def on_say_finished(self, message: TtsSayFinished) -> None:
        self.site_states.feed("say_finished", message.site_id, message.session_id, time.time())
