"""The base class every Hermesh process shares: connect, reconnect, status, dispatch, errors.

A service subclass declares handlers with ``@handles(MessageClass)``. The base subscribes to their topics
(per site where the topic carries the site id), parses each payload once, drops malformed ones with a
warning, filters by site, and calls the handlers: in order for one site, concurrently across sites. A handler
may ``yield`` reply messages (they are published) or return nothing. Any exception from a handler becomes
exactly one ``hermes/error/<component>`` message and one log line, here and nowhere else (an engine's
``EngineError`` as its message and code); so does a payload over its topic's cap (payload_caps.py), dropped
unread. Nothing lives for ever per site: a site's worker ends when its queue is empty, and per-site state kept
with ``site_registry()`` is freed when the site is released, idle or over the cap (site_registry.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import os
import socket
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import BaseModel

from hermes.base import HermesMessage, HermesProtocolError
from hermes.common import DEFAULT_SITE, HermesErrorMessage
from hermes.registry import message_class_for
from hermes.status import ServiceRestart, ServiceState, ServiceStatus, SiteReleased
from services.config import CommonSettings, SettingsModel
from services.engines import EngineError

from .errors import BrokerLost, PayloadTooLarge, ServiceError, ServiceOffline, ServiceTimeout
from .free_memory import release_free_memory, use_one_malloc_arena
from .gc_pauses import settle_heap
from .mqtt import client_kwargs
from .payload_caps import DropReports, cap_of_topic
from .site_registry import SiteRegistry

S = TypeVar("S", bound=BaseModel)
M = TypeVar("M", bound=HermesMessage)
T = TypeVar("T")

VERSION = "0.1.0"
RESTART_EXIT_CODE = 75  # "restart me": the supervisor starts such a service again at once
SHUTDOWN_EXIT_CODE = 76  # "the user stopped the mesh" (the bridge's /api/shutdown): the supervisor stops all
RECONNECT_FIRST_DELAY = 0.2
RECONNECT_MAX_DELAY = 2.0  # a restarted broker is found again within ~2 s
PENDING_PUBLISHES_WARNING = 1000  # aiomqtt logs a warning past this many publishes awaiting their write
SITE_SWEEP_SECONDS = 5.0  # at most this long between looks for idle site state (sooner for short idle limits)


class NoSettings(SettingsModel):
    """For services without settings of their own."""


Handler = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class _HandlerSpec:
    message_class: type[HermesMessage]
    all_sites: bool
    shared: bool


def handles(
    message_class: type[HermesMessage], *, all_sites: bool = False, shared: bool = False
) -> Callable[[Handler], Handler]:
    """Mark a method as the handler of ``message_class``.

    ``all_sites`` ignores the service's site filter. ``shared`` marks a request that one worker of a pool
    should take (``nlu/query``, ``asr/startListening``, ``tts/say``): when the service runs with
    ``mqtt.shared_group``, that topic is subscribed as an MQTT 5 shared subscription, so the broker hands each
    message to exactly one worker of the group. Everything else (audio streams, toggles, training) still reaches
    every worker.
    """

    def mark(method: Handler) -> Handler:
        specs = list(getattr(method, "_hermes_handles", ()))
        specs.append(_HandlerSpec(message_class, all_sites, shared))
        method._hermes_handles = tuple(specs)  # type: ignore[attr-defined]
        return method

    return mark


@dataclass
class _Waiter:
    message_class: type[HermesMessage]
    match: Callable[[Any], bool] | None
    future: asyncio.Future[Any]
    provider: str | None = None  # the service expected to send it: its going offline ends the wait


def _cancel_timer(handle: asyncio.TimerHandle, _future: asyncio.Future[Any]) -> None:
    handle.cancel()


@dataclass
class _Listener:
    message_class: type[HermesMessage]
    topic_filter: str
    callback: Callable[[Any], None]


@dataclass
class _Route:
    message_class: type[HermesMessage]
    all_sites: bool
    shared: bool
    handler: Callable[[Any], Any]


@dataclass
class _RawListener:
    topic_filter: str
    callback: Callable[[str, bytes], None]
    routes: list[Any] = field(default_factory=list)


class HermesService(Generic[S]):
    """Base of every service. Subclasses set ``name``, ``settings_model``, ``error_class`` and handlers."""

    name: ClassVar[str] = "service"
    settings_model: ClassVar[type[BaseModel]] = NoSettings
    error_class: ClassVar[type[HermesErrorMessage] | None] = None

    def __init__(self, common: CommonSettings, settings: S | None = None) -> None:
        self.common = common
        self.settings: S = settings if settings is not None else self.settings_model()  # type: ignore[assignment]
        self.profile = common.profile
        self.site_ids: frozenset[str] = frozenset(common.site_ids)
        self.log = logging.getLogger(f"hermesh.{self.name}")
        # Workers of a pool need distinct status topics, or one worker's last will would mark the other offline.
        default_instance = socket.gethostname() + (f"-{os.getpid()}" if common.mqtt.shared_group else "")
        self.instance = common.instance or default_instance
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self._subscribed = asyncio.Event()  # connected, and every filter known at connection time subscribed
        self._online = asyncio.Event()
        self._stopping = asyncio.Event()
        self._routes = self._collect_routes()
        self._handler_filters = frozenset(self._filters())
        self._extra_filters: set[str] = set()
        # MQTT 5 subscription identifiers: each filter gets its own, so when two of our filters match one
        # topic (Mosquitto then sends one copy per subscription) every copy says which filter it is for.
        self._filter_ids: dict[str, int] = {}
        self._raw_listeners: list[_RawListener] = []
        self._waiters: list[_Waiter] = []
        self._listeners: list[_Listener] = []
        self._site_queues: dict[str, deque[tuple[_Route, HermesMessage, str]]] = {}
        self._site_workers: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._site_registries: list[SiteRegistry[Any]] = []
        self.oversize = DropReports()  # payloads dropped for their size, per kind (``oversize.dropped``)
        self.overload = DropReports()  # messages dropped because the backlog was full, per site (``overload.dropped``)
        self._queued = 0  # messages waiting in all the site queues
        self._started_at = time.time()
        self.connections = 0
        self.restart_requested = False
        self.shutdown_requested = False

    # ---- lifecycle hooks for subclasses ------------------------------------------------------------------
    async def setup(self) -> None:
        """Load engines before the first subscription."""

    async def teardown(self) -> None:
        """Release engines after the last message."""

    async def on_connected(self) -> None:
        """Called after every (re)connection, once subscriptions are in place."""

    def on_connection_lost(self) -> None:
        """Called when an established broker connection drops (pending waits have just failed)."""

    @handles(ServiceRestart, all_sites=True)
    async def on_restart_request(self, message: ServiceRestart) -> None:
        """Every service obeys a restart request naming it (or naming none): it leaves cleanly and exits."""
        if message.services and self.name not in message.services:
            return
        self.log.info("restart requested%s", f" ({message.reason})" if message.reason else "")
        self.restart_requested = True
        self.stop()

    @handles(SiteReleased, all_sites=True)
    async def on_site_released_message(self, message: SiteReleased) -> None:
        """Free the released site's state. It arrives in the site's own queue, after the site's earlier messages,
        so nothing of the site is being handled while its state goes."""
        for registry in self._site_registries:
            registry.release(message.site_id)
        await self.on_site_released(message.site_id)

    async def on_site_released(self, site_id: str) -> None:
        """Free per-site state a subclass keeps outside ``site_registry()``."""

    # ---- public API for handlers ---------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        """Whether a broker connection is up now (it may drop at any time: requests still handle BrokerLost)."""
        return self._client is not None and self._connected.is_set()

    @property
    def status_topic(self) -> str:
        return ServiceStatus.format_topic(service=self.name, instance=self.instance)

    def serves_site(self, site_id: str | None) -> bool:
        return not self.site_ids or (site_id or DEFAULT_SITE) in self.site_ids

    def site_registry(
        self,
        create: Callable[[], T],
        *,
        close: Callable[[str, T], None] | None = None,
        busy: Callable[[str, T], bool] | None = None,
        expire_idle: bool = True,
        idle_seconds: float | None = None,
        max_sites: int | None = None,
    ) -> SiteRegistry[T]:
        """Per-site state freed when the site is released (``SiteReleased``), unused for ``idle_seconds``
        (default ``site_state.idle_seconds``; never when ``expire_idle`` is False: state that is a setting, not a
        cache) or pushed out by ``max_sites`` (default ``site_state.max_sites``). A site whose messages are being
        handled is never freed by age or cap, nor is one that ``busy`` says is in use. Idle sites are freed
        within a second or so even when no message arrives."""
        limits = self.common.site_state

        def in_use(site_id: str, value: T) -> bool:
            return self.site_busy(site_id) or (busy is not None and busy(site_id, value))

        idle = (idle_seconds or limits.idle_seconds) if expire_idle else None
        registry: SiteRegistry[T] = SiteRegistry(
            create, idle_seconds=idle, max_sites=max_sites or limits.max_sites, close=close, busy=in_use)
        self._site_registries.append(registry)
        return registry

    async def _expire_sites(self) -> None:
        """Free idle site state also while no message comes (``use`` only looks when a site is used), and give
        what engines freed back to the OS (see free_memory.py), so the RSS follows what is really in use."""
        while True:
            idle = [r.idle_seconds for r in self._site_registries if r.idle_seconds is not None]
            await asyncio.sleep(min([SITE_SWEEP_SECONDS, *(i / 2 for i in idle)]))
            for registry in self._site_registries:
                try:
                    registry.expire()
                except Exception:  # noqa: BLE001 - a failing close hook must not stop the sweeping
                    self.log.exception("freeing idle site state failed")
            release_free_memory()

    async def publish(self, message: HermesMessage, *, retain: bool = False) -> None:
        """Publish a Hermes message (waits for the connection if the broker is being reconnected)."""
        await self.publish_raw(message.topic(), message.payload(), retain=retain)

    async def publish_raw(self, topic: str, payload: bytes, *, retain: bool = False, qos: int = 0) -> None:
        client = await self._wait_client()
        try:
            await client.publish(topic, payload, qos=qos, retain=retain)
        except aiomqtt.MqttError as err:
            raise ServiceError(f"could not publish on {topic}: broker connection lost ({err})") from err

    async def request(
        self,
        message: HermesMessage,
        reply_class: type[M],
        *,
        match: Callable[[M], bool] | None = None,
        timeout: float = 5.0,
        provider: str | None = None,
    ) -> M:
        """Publish ``message`` and wait for the first ``reply_class`` message accepted by ``match``."""
        waiter = self.expect(reply_class, match=match, provider=provider)
        try:
            await self.subscribe_extra(reply_class.subscribe_filter())
            await self.publish(message)
            return await waiter.wait(timeout, provider or reply_class.__name__)
        finally:
            waiter.cancel()

    def expect(
        self, reply_class: type[M], *, match: Callable[[M], bool] | None = None, provider: str | None = None
    ) -> Expectation[M]:
        """Register interest in a message before causing it (avoids the race of subscribing late). ``provider``
        names the service that should send it: ``fail_waits(provider, ...)`` ends the wait early."""
        future: asyncio.Future[M] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(reply_class, match, future, provider)
        self._waiters.append(waiter)
        return Expectation(self, waiter)

    def fail_waits(self, provider: str | None, error: Callable[[], ServiceError]) -> int:
        """End every pending wait for a reply from ``provider`` (None: every wait) with ``error()``, at once: the
        reply cannot come, and a caller should hear so now rather than at its timeout. Each wait gets an error
        of its own (one raised in many tasks would collect all their tracebacks). Returns how many."""
        failed = 0
        for waiter in list(self._waiters):
            if waiter.future.done() or (provider is not None and waiter.provider != provider):
                continue
            waiter.future.set_exception(error())
            failed += 1
        return failed

    def shorten_waits(self, provider: str, seconds: float, error: Callable[[], ServiceError]) -> int:
        """Give the pending waits for a reply from ``provider`` at most ``seconds`` more, then fail them with
        ``error()`` (a worker of its pool died: the reply may or may not come). Returns how many."""
        pending = [w for w in self._waiters if not w.future.done() and w.provider == provider]

        def expire(waiter: _Waiter) -> None:
            if not waiter.future.done():
                waiter.future.set_exception(error())

        loop = asyncio.get_running_loop()
        for waiter in pending:
            handle = loop.call_later(seconds, expire, waiter)
            waiter.future.add_done_callback(functools.partial(_cancel_timer, handle))
        return len(pending)

    def service_went_offline(self, service: str) -> int:
        """The status registry of a subclass saw ``service`` go offline: its pending waits fail now."""
        return self.fail_waits(service, lambda: ServiceOffline(service))

    async def subscribe_extra(self, topic_filter: str) -> None:
        """Subscribe to one more filter (kept across reconnects); messages reach waiters and raw listeners."""
        if topic_filter in self._extra_filters:
            return
        self._extra_filters.add(topic_filter)
        if self._client is not None and self._connected.is_set():
            with contextlib.suppress(aiomqtt.MqttError):
                await self._subscribe(self._client, topic_filter)

    async def add_raw_listener(self, topic_filter: str, callback: Callable[[str, bytes], None]) -> Callable[[], None]:
        """Call ``callback(topic, payload)`` for every message on ``topic_filter`` (must not block)."""
        listener = _RawListener(topic_filter, callback)
        self._raw_listeners.append(listener)
        await self.subscribe_extra(topic_filter)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._raw_listeners.remove(listener)

        return remove

    async def listen(self, message_class: type[M], callback: Callable[[M], None]) -> Callable[[], None]:
        """Call ``callback(message)`` for every ``message_class`` message until the returned remover is called: a
        stream of replies where ``expect`` takes one. Parsed once with the waiters and handlers; the callback
        must not block (and its errors are logged, not raised)."""
        listener = _Listener(message_class, message_class.subscribe_filter(), callback)
        self._listeners.append(listener)
        await self.subscribe_extra(listener.topic_filter)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove

    async def run_blocking(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a blocking engine call in a worker thread so the event loop keeps serving other sites."""
        return await asyncio.to_thread(functools.partial(function, *args, **kwargs))

    def spawn(self, coroutine: Coroutine[Any, Any, Any], *, origin: HermesMessage | None = None) -> asyncio.Task[Any]:
        """Run work that waits on other messages outside the per-site queue; its errors are reported too."""

        async def guarded() -> None:
            try:
                await coroutine
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - the one place errors become Hermes errors
                await self.report_error(err, origin, origin.topic() if origin else None)

        task = asyncio.create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        # A task cancelled before it ran (at shutdown) never awaited the coroutine: close it quietly.
        task.add_done_callback(lambda done: coroutine.close() if done.cancelled() else None)
        return task

    async def report_error(self, error: BaseException, origin: HermesMessage | None, topic: str | None) -> None:
        """Log an error and publish it as this component's Hermes error message. An engine's error
        (``services.engines.EngineError``) is its message and ``[code]``, also when a service error wraps it."""
        engine_error = error if isinstance(error, EngineError) else error.__cause__
        if isinstance(error, EngineError):
            text = error.message
        else:
            text = str(error) if isinstance(error, ServiceError) else f"{type(error).__name__}: {error}"
        if isinstance(engine_error, EngineError):
            text = f"{text} [{engine_error.code}]"
        if isinstance(error, ServiceError):
            self.log.log(error.log_level, "%s (on %s)", text, topic or "-")
        elif isinstance(error, EngineError):
            self.log.error("engine error %s (on %s)", text, topic or "-")
        else:
            self.log.error("unexpected error while handling %s", topic or "-", exc_info=error)
        if self.error_class is None:
            return
        site = (origin.get_site_id() if origin else None) or getattr(error, "site_id", None) or self.common.own_site_id
        session = origin.get_session_id() if origin else None
        context = getattr(error, "context", None) or topic
        try:
            await self.publish(self.error_class(error=text, site_id=site, context=context, session_id=session))
        except Exception as publish_error:  # noqa: BLE001
            self.log.warning("could not publish the error message: %s", publish_error)

    async def wait_online(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._online.wait(), timeout)

    def stop(self) -> None:
        self._stopping.set()

    def stop_mesh(self) -> None:
        """Stop, and exit with SHUTDOWN_EXIT_CODE: under ``hermesh up`` the whole mesh stops, as an intentional
        stop is not a crash to recover from."""
        self.shutdown_requested = True
        self.stop()

    # ---- the main loop ---------------------------------------------------------------------------------------
    async def run(self) -> None:
        """Set up, then stay connected until ``stop()``: a lost broker is retried with capped backoff."""
        use_one_malloc_arena()  # before any engine starts a thread (see free_memory.py)
        await self.setup()
        settle_heap()  # what setup loaded stays: keep the collector from scanning it (see gc_pauses.py)
        self.spawn(self._expire_sites())
        delay = RECONNECT_FIRST_DELAY
        stop_task = asyncio.create_task(self._stopping.wait())
        try:
            while not self._stopping.is_set():
                try:
                    connection = asyncio.create_task(self._connection())
                    done, _ = await asyncio.wait({connection, stop_task}, return_when=asyncio.FIRST_COMPLETED)
                    if connection not in done:
                        await self._subscriptions_made()
                        await self._say_offline()
                        await self._cancel(connection)
                        break
                    connection.result()
                    delay = RECONNECT_FIRST_DELAY
                except aiomqtt.MqttError as err:
                    was_connected = self._connected.is_set()
                    self._mark_disconnected()
                    if was_connected:
                        self.log.warning("lost the broker at %s:%s (%s); reconnecting", *self._broker(), err)
                        # Replies published while we are away are never delivered (clean sessions), so waits
                        # end now with an error naming the broker instead of at their timeouts.
                        lost = (f"lost the MQTT broker at {self.common.mqtt.host}:{self.common.mqtt.port} while "
                                f"waiting for a reply ({err}); reconnecting")
                        self.fail_waits(None, functools.partial(BrokerLost, lost))
                        self.on_connection_lost()
                    else:
                        self.log.warning(
                            "cannot reach the broker at %s:%s (%s); retrying in %.1f s", *self._broker(), err, delay
                        )
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), delay)
                    delay = min(delay * 2, RECONNECT_MAX_DELAY)
        finally:
            stop_task.cancel()
            self._mark_disconnected()
            workers = list(self._site_workers.values())
            for task in list(self._tasks) + workers:
                task.cancel()
            await asyncio.gather(*self._tasks, *workers, return_exceptions=True)
            await self.teardown()

    def _broker(self) -> tuple[str, int]:
        return self.common.mqtt.host, self.common.mqtt.port

    def _status(self, state: ServiceState) -> ServiceStatus:
        return ServiceStatus(
            service=self.name,
            instance=self.instance,
            status=state,
            site_ids=sorted(self.site_ids),
            host=socket.gethostname(),
            pid=os.getpid(),
            version=VERSION,
            since=self._started_at,
            problems=self.problems(),
            intents=self.handled_intents(),
        )

    def problems(self) -> list[str]:
        """What is wrong while this service serves on, for its status (none by default)."""
        return []

    def handled_intents(self) -> list[str]:
        """The intents whose dialogue sessions this service ends or continues ("*": all), for its status."""
        return []

    async def publish_status(self) -> None:
        """Publish this service's online status again (its problems changed)."""
        await self.publish_raw(self.status_topic, self._status(ServiceState.ONLINE).payload(), qos=1, retain=True)

    async def _connection(self) -> None:
        will = aiomqtt.Will(
            topic=self.status_topic, payload=self._status(ServiceState.OFFLINE).payload(), qos=1, retain=True
        )
        identifier = f"hermesh-{self.name}-{self.instance}-{os.getpid()}"
        async with aiomqtt.Client(**client_kwargs(self.common.mqtt, identifier=identifier, will=will)) as client:
            # aiomqtt warns from 10 publishes awaiting their write: one speech-to-intent of a 3 s command is 12
            # audio chunks handed over at once (publish_in_order), so the bridge logged a warning per request.
            client.pending_calls_threshold = PENDING_PUBLISHES_WARNING
            self._client = client
            self._connected.set()
            self.connections += 1
            for topic_filter in sorted(self._handler_filters | self._extra_filters):
                await self._subscribe(client, topic_filter)
            # Publishing waits for this: a request sent before its reply's filter is subscribed gets no reply. The
            # bridge serves HTTP from its start, and a training posted then waited out its 30 s reply timeout.
            # (A filter added meanwhile was subscribed by subscribe_extra itself, since _connected is set.)
            self._subscribed.set()
            await client.publish(self.status_topic, self._status(ServiceState.ONLINE).payload(), qos=1, retain=True)
            if self.connections > 1:
                self.log.info("reconnected to the broker at %s:%s", *self._broker())
            else:
                self.log.info("online (broker %s:%s, sites: %s)", *self._broker(), ", ".join(sorted(self.site_ids)) or "all")
            await self.on_connected()
            self._online.set()
            async for message in client.messages:
                self._dispatch(str(message.topic), message.payload, self._filters_of(message))

    async def _cancel(self, task: asyncio.Task[None]) -> None:
        """Cancel the connection task for good: a cancellation swallowed inside the MQTT client (Python 3.11's
        wait_for can lose one) must not leave the service hanging on SIGTERM, so cancel until it is done."""
        for _ in range(20):
            if task.done():
                break
            task.cancel()
            await asyncio.wait({task}, timeout=0.5)
        if not task.done():
            self.log.warning("the broker connection did not close within 10 s; leaving it")
        elif not task.cancelled() and task.exception() is not None:
            self.log.debug("connection ended with %r", task.exception())

    async def _subscriptions_made(self, timeout: float = 2.0) -> None:
        """Let a connection that is subscribing finish (milliseconds) before it is cancelled: a subscribe cancelled
        before its SUBACK makes aiomqtt's callback raise KeyError when the SUBACK comes, a traceback in the log of
        a service stopped just after it started."""
        if self._connected.is_set() and not self._subscribed.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._subscribed.wait(), timeout)

    async def _say_offline(self) -> None:
        if self._client is not None and self._connected.is_set():
            with contextlib.suppress(aiomqtt.MqttError, asyncio.TimeoutError):
                await asyncio.wait_for(
                    self._client.publish(
                        self.status_topic, self._status(ServiceState.OFFLINE).payload(), qos=1, retain=True
                    ),
                    2.0,
                )

    def _mark_disconnected(self) -> None:
        self._connected.clear()
        self._subscribed.clear()
        self._online.clear()
        self._client = None

    async def _wait_client(self) -> aiomqtt.Client:
        """The connected client, its subscriptions made, waiting up to 10 s for a (re)connection. The event can be set and cleared again
        before a woken waiter runs (the connection dropped, or the service is stopping), so check the client
        itself and keep waiting for the rest of the time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10.0
        while self._client is None or not self._subscribed.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0 or self._stopping.is_set():
                raise ServiceError(f"not connected to the broker at {self.common.mqtt.host}:{self.common.mqtt.port}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._subscribed.wait(), remaining)
        return self._client

    # ---- subscriptions and dispatch -------------------------------------------------------------------------
    async def _subscribe(self, client: aiomqtt.Client, topic_filter: str) -> None:
        identifier = self._filter_ids.setdefault(topic_filter, len(self._filter_ids) + 1)
        properties = Properties(PacketTypes.SUBSCRIBE)
        properties.SubscriptionIdentifier = identifier
        await client.subscribe(topic_filter, properties=properties)

    def _filters_of(self, message: aiomqtt.Message) -> set[str] | None:
        """The filters this copy of a message was delivered for (None when the broker does not say)."""
        ids = getattr(message.properties, "SubscriptionIdentifier", None) if message.properties else None
        if not ids:
            return None
        wanted = set(ids if isinstance(ids, list) else [ids])
        return {f for f, i in self._filter_ids.items() if i in wanted}

    def _collect_routes(self) -> list[_Route]:
        """Handlers declared anywhere in the class hierarchy; an override without @handles keeps the
        subscription of the method it overrides (and the override is what gets called)."""
        routes: list[_Route] = []
        for name in sorted(dir(type(self))):
            for klass in type(self).__mro__:
                specs = getattr(klass.__dict__.get(name), "_hermes_handles", None)
                if specs:
                    routes.extend(_Route(spec.message_class, spec.all_sites, spec.shared, getattr(self, name))
                                  for spec in specs)
                    break
        return routes

    def _filters(self) -> set[str]:
        filters: set[str] = set()
        group = self.common.mqtt.shared_group
        for route in self._routes:
            cls = route.message_class
            if cls.has_site_in_topic() and self.site_ids and not route.all_sites:
                route_filters = {cls.subscribe_filter(site_id=site) for site in self.site_ids}
            else:
                route_filters = {cls.subscribe_filter()}
            if group and route.shared:
                route_filters = {f"$share/{group}/{f}" for f in route_filters}
            filters |= route_filters
        return filters

    def _dispatch(self, topic: str, payload: bytes | bytearray | Any, via: set[str] | None = None) -> None:
        """Called for every received copy of a message: parse once per class, then waiters, raw listeners, handlers.

        ``via`` names the filters this copy was delivered for: handlers run only for a copy of a handler filter
        and each raw listener only for a copy of its own filter, so overlapping filters never double a message.
        """
        data = payload if isinstance(payload, bytes | bytearray) else str(payload or "").encode()
        kind, cap = cap_of_topic(topic)
        if len(data) > cap:  # before any copy or parse: an oversized payload costs nothing more
            self._drop_oversized(topic, kind or "unknown-topic", len(data), cap)
            return
        data = bytes(data)
        for_handlers = via is None or not via.isdisjoint(self._handler_filters)
        for listener in self._raw_listeners:
            if listener.topic_filter in via if via is not None else aiomqtt.Topic(topic).matches(listener.topic_filter):
                try:
                    listener.callback(topic, data)
                except Exception:  # noqa: BLE001
                    self.log.exception("raw listener for %s failed", listener.topic_filter)
        parsed: dict[type[HermesMessage], HermesMessage | None] = {}
        refused: dict[type[HermesMessage], HermesProtocolError] = {}

        def message_for(cls: type[HermesMessage]) -> HermesMessage | None:
            if cls not in parsed:
                params = cls.parse_topic(topic)
                if params is None:
                    parsed[cls] = None
                else:
                    try:
                        parsed[cls] = cls.from_payload(data, params)
                    except HermesProtocolError as err:
                        # a topic can be 64 kB long: the log line names its start
                        self.log.warning("dropped a malformed message on %s: %s", topic[:200], str(err)[:1000])
                        parsed[cls] = None
                        refused[cls] = err
            return parsed[cls]

        for waiter in list(self._waiters):
            if waiter.future.done():
                continue
            message = message_for(waiter.message_class)
            if message is None:
                continue
            try:
                accepted = waiter.match is None or waiter.match(message)
            except Exception:  # noqa: BLE001
                accepted = False
            if accepted:
                waiter.future.set_result(message)

        for typed in list(self._listeners):
            # One call per message: only the copy delivered for the listener's own filter (see ``via``).
            if via is not None and typed.topic_filter not in via:
                continue
            message = message_for(typed.message_class)
            if message is None:
                continue
            try:
                typed.callback(message)
            except Exception:  # noqa: BLE001
                self.log.exception("listener for %s failed", typed.message_class.__name__)

        if not for_handlers:
            return
        for route in self._routes:
            message = message_for(route.message_class)
            if message is None:
                error = refused.pop(route.message_class, None)
                if error is not None:  # a message this service handles, refused: say so where errors go
                    self._report_refused(topic, error)
                    refused.clear()  # one report per received message
                continue
            site = message.get_site_id()
            if not route.all_sites and site is not None and not self.serves_site(site):
                continue
            self._enqueue(site or "", route, message, topic)

    def _drop_oversized(self, topic: str, kind: str, size: int, cap: int) -> None:
        count = self.oversize.drop(kind)
        if not count:
            return
        since = f" ({count} such payloads since the last report)" if count > 1 else ""
        error = PayloadTooLarge(
            f"dropped a payload of {size:,} bytes on {topic}: {kind} messages are capped at {cap:,} bytes "
            f"(services/runtime/payload_caps.py){since}", topic=topic, site_id=_site_in_topic(topic))
        self.spawn(self.report_error(error, None, topic))

    def _report_refused(self, topic: str, error: HermesProtocolError) -> None:
        """A refused message gets a Hermes error on this component's topic, under our own site id: the sender's
        site id may be the very thing that was wrong (and must never become a topic level)."""
        if self.error_class is None:
            return
        reply = self.error_class(error=f"refused a message: {str(error)[:500]}", site_id=self.common.own_site_id,
                                 context=topic[:200])
        task = asyncio.create_task(self._publish_refusal(reply))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish_refusal(self, reply: HermesErrorMessage) -> None:
        try:
            await self.publish(reply)
        except Exception as err:  # noqa: BLE001 - a lost error report must not become an unhandled task error
            self.log.warning("could not publish the error message: %s", err)

    def _enqueue(self, site: str, route: _Route, message: HermesMessage, topic: str) -> None:
        queue = self._site_queues.get(site)
        limits = self.common.site_state
        if (queue is not None and len(queue) >= limits.max_queued_per_site) or self._queued >= limits.max_queued:
            # Handlers cannot keep up (a flood, or a stuck engine): the newest waits nowhere rather than the
            # backlog growing without end. Each message is at most its payload cap, so the cap bounds memory.
            self._drop_overload(site, topic, len(queue) if queue is not None else 0)
            return
        if queue is None:
            queue = self._site_queues[site] = deque()
            self._site_workers[site] = asyncio.create_task(self._site_worker(site, queue))
        queue.append((route, message, topic))
        self._queued += 1

    def _drop_overload(self, site: str, topic: str, waiting: int) -> None:
        count = self.overload.drop(site)
        if not count:
            return
        limits = self.common.site_state
        since = f" ({count} dropped since the last report)" if count > 1 else ""
        error = ServiceError(
            f"dropped a message on {topic[:200]}: {waiting:,} messages of site {site!r} and {self._queued:,} in all "
            f"wait to be handled (site_state.max_queued_per_site {limits.max_queued_per_site:,}, max_queued "
            f"{limits.max_queued:,}){since}", context=topic[:200])
        self.spawn(self.report_error(error, None, topic))

    async def _site_worker(self, site: str, queue: deque[tuple[_Route, HermesMessage, str]]) -> None:
        """Handle one site's messages in order, then end: a site that has nothing queued costs nothing (site ids
        are not a fixed set; a worker per site ever seen was a leak). The next message starts a new worker."""
        try:
            while queue:
                route, message, topic = queue.popleft()
                self._queued -= 1
                try:
                    await self._call(route, message)
                except asyncio.CancelledError:
                    raise
                except Exception as err:  # noqa: BLE001 - the one place errors become Hermes errors
                    await self.report_error(err, message, topic)
        finally:
            # No await between the empty check and here, so no message can have been queued in between.
            if self._site_queues.get(site) is queue:
                self._queued -= len(queue)  # (left only when cancelled: the service is stopping)
                del self._site_queues[site]
                del self._site_workers[site]

    def site_busy(self, site_id: str) -> bool:
        """True while a message of the site is being handled (its state must not be freed under it)."""
        return site_id in self._site_workers

    async def _call(self, route: _Route, message: HermesMessage) -> None:
        result = route.handler(message)
        if inspect.isasyncgen(result):
            async for reply in result:
                await self._publish_reply(reply)
        elif inspect.isawaitable(result):
            reply = await result
            await self._publish_reply(reply)

    async def _publish_reply(self, reply: Any) -> None:
        if reply is None:
            return
        if isinstance(reply, HermesMessage):
            await self.publish(reply)
        elif isinstance(reply, list | tuple):
            for item in reply:
                await self._publish_reply(item)
        else:
            raise TypeError(f"a handler yielded {type(reply).__name__}, not a Hermes message")


def _site_in_topic(topic: str) -> str | None:
    with contextlib.suppress(HermesProtocolError):
        return (message_class_for(topic).parse_topic(topic) or {}).get("site_id")
    return None


class Expectation(Generic[M]):
    """A registered wait for one message; ``await exp.wait(timeout, provider)``."""

    def __init__(self, service: HermesService[Any], waiter: _Waiter) -> None:
        self._service = service
        self._waiter = waiter

    @property
    def future(self) -> asyncio.Future[M]:
        """Done with the message, or failed by ``fail_waits``: several expectations can be awaited together."""
        return self._waiter.future

    async def wait(self, timeout: float, provider: str = "") -> M:
        if provider and self._waiter.provider is None:
            self._waiter.provider = provider
        try:
            return await asyncio.wait_for(asyncio.shield(self._waiter.future), timeout)
        except TimeoutError as err:
            cls = self._waiter.message_class.__name__
            hint = f" (is the {provider} service running?)" if provider and provider != cls else ""
            raise ServiceTimeout(f"no {cls} arrived within {timeout:g} s{hint}") from err
        finally:
            self.cancel()

    def cancel(self) -> None:
        with contextlib.suppress(ValueError):
            self._service._waiters.remove(self._waiter)
        future = self._waiter.future
        if not future.done():
            future.cancel()
        elif not future.cancelled():
            future.exception()  # failed by fail_waits and never awaited: not an "exception never retrieved"


async def iterate(result: AsyncIterator[Any] | Awaitable[Any]) -> list[Any]:
    """Collect what a handler produces (for tests of handlers without a broker)."""
    if inspect.isasyncgen(result):
        return [item async for item in result]
    value = await result  # type: ignore[misc]
    return [] if value is None else list(value) if isinstance(value, list | tuple) else [value]


__all__ = ["HermesService", "handles", "ServiceError", "ServiceTimeout", "NoSettings", "iterate", "ssl"]
