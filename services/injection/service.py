"""``hermesh injection``: serves Snips' hermes/injection/* (perform, reset, statusRequest).

An injection changes the profile's slot files and custom words (operations.py), then retrains the NLU and the
ASR with the profile's texts, exactly as POST /api/train does; ``hermes/injection/complete`` (or
``reset/complete``) carries the request id once both have trained. While they train, both keep recognising with
their previous model. If either refuses the new profile, every file goes back as it was before the injection,
both retrain from those files, and ``hermes/error/injection`` says why (``context``: the request id). One
injection runs at a time, in the order received.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from hermes.asr import AsrTrain, AsrTrainSuccess
from hermes.errors import AsrError, InjectionError, NluError
from hermes.nlu import NluTrain, NluTrainSuccess
from hermes.snips import (
    InjectionComplete,
    InjectionPerform,
    InjectionResetComplete,
    InjectionResetPerform,
    InjectionStatus,
    InjectionStatusRequest,
)
from hermes.status import ServiceStatus
from services.nlu.errors import TemplateError
from services.profile import Profile
from services.runtime import HermesService, ServiceError, handles
from services.runtime.service_status import Change, ServiceRegistry

from .operations import InjectionRequestError, InjectionStore, Snapshot, parse_request
from .settings import InjectionSettings

TRAINED = ("nlu", "asr")


class InjectionService(HermesService[InjectionSettings]):
    name = "injection"
    settings_model = InjectionSettings
    error_class = InjectionError

    async def setup(self) -> None:
        self.store = InjectionStore(self.profile)
        self.registry = ServiceRegistry()
        self._started = asyncio.get_running_loop().time()
        self._heard_all = asyncio.Event()  # a status line of each trained service has arrived

    async def on_connected(self) -> None:
        for cls in (NluTrainSuccess, NluError, AsrTrainSuccess, AsrError):
            await self.subscribe_extra(cls.subscribe_filter())

    @handles(ServiceStatus, all_sites=True)
    async def on_status(self, status: ServiceStatus) -> None:
        if self.registry.update(status) == Change.OFFLINE:
            self.service_went_offline(status.service)  # a training it was doing will not finish
        if all(self.registry.known(s) for s in TRAINED):
            self._heard_all.set()

    # ---- Snips' topics ---------------------------------------------------------------------------------------
    @handles(InjectionPerform, all_sites=True)
    async def on_perform(self, message: InjectionPerform) -> AsyncIterator[Any]:
        request = message.id or ""
        try:
            plan = parse_request(message.operations, message.lexicon)
            before = await self.run_blocking(self.store.apply, plan)
        except (InjectionRequestError, TemplateError, OSError, ValueError) as err:
            raise ServiceError(f"injection {request!r} refused, nothing changed: {err}", context=request) from err
        for note in plan.skipped:
            self.log.warning("injection %r: skipped %s", request, note)
        added = sum(len(values) for operation in plan.operations for values in operation.values.values())
        try:
            await self._train(request)
        except ServiceError as err:
            await self._undo(request, before)
            raise ServiceError(f"injection {request!r} failed, the profile is as it was before it: {err}",
                               context=request) from err
        self.log.info("injection %r: %d value(s), %d pronunciation(s) added; nlu and asr retrained", request, added,
                      sum(len(p) for p in plan.lexicon.values()))
        yield InjectionComplete(request_id=message.id)

    @handles(InjectionResetPerform, all_sites=True)
    async def on_reset(self, message: InjectionResetPerform) -> AsyncIterator[Any]:
        request = message.request_id or ""
        try:
            restored = await self.run_blocking(self.store.reset)
            await self._train(request)
        except (OSError, ServiceError) as err:
            raise ServiceError(f"injection reset {request!r} failed: {err}", context=request) from err
        self.log.info("injection reset %r: %s as before any injection", request, ", ".join(restored) or "nothing")
        yield InjectionResetComplete(request_id=message.request_id)

    @handles(InjectionStatusRequest, all_sites=True)
    async def on_status_request(self, _message: InjectionStatusRequest) -> AsyncIterator[Any]:
        yield InjectionStatus(last_injection_date=await self.run_blocking(self.store.last_injection))

    # ---- training ----------------------------------------------------------------------------------------------
    async def _undo(self, request: str, before: Snapshot) -> None:
        """The files back as before the injection, and the services retrained on them, so that the NLU and the
        ASR agree again (one of them may have taken the new profile before the other refused it)."""
        await self.run_blocking(self.store.restore, before)
        try:
            await self._train(request + "-undo")
        except ServiceError as err:
            self.log.error("injection %r: retraining on the restored profile failed too: %s", request, err)

    async def _train(self, request: str) -> None:
        """Train the NLU and the ASR with the profile's texts (as POST /api/train); a service never heard of is
        skipped with a warning, one that is known and fails makes the training fail."""
        await self._await_status_lines()
        profile = Profile(self.profile)
        try:
            sentences = dict(await self.run_blocking(profile.sentence_texts, relative_names=True))
            slots = await self.run_blocking(profile.slot_texts, strict=True)
        except TemplateError as err:
            raise ServiceError(str(err)) from err
        services = [s for s in TRAINED if self.registry.known(s)]
        for missing in sorted(set(TRAINED) - set(services)):
            self.log.warning("injection %r: no %s service has reported its status; it is not retrained", request,
                             missing)
        if not services:
            raise ServiceError("neither the nlu nor the asr service is running (start them with `hermesh up`)")
        train_id = f"injection-{uuid.uuid4().hex[:12]}"
        results = await asyncio.gather(*(self._train_one(s, train_id, sentences, slots) for s in services),
                                       return_exceptions=True)
        problems = [f"{s}: {r}" for s, r in zip(services, results, strict=True) if isinstance(r, BaseException)]
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, ServiceError):
                raise result
        if problems:
            raise ServiceError("; ".join(problems))

    async def _await_status_lines(self) -> None:
        """Just after start the retained status lines may not be in yet."""
        left = self.settings.status_wait - (asyncio.get_running_loop().time() - self._started)
        if left > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._heard_all.wait(), left)

    async def _train_one(self, service: str, train_id: str, sentences: dict[str, str],
                         slots: dict[str, list[str]]) -> None:
        site = self.common.own_site_id
        message: NluTrain | AsrTrain
        if service == "nlu":
            message = NluTrain(id=train_id, site_id=site, sentences=sentences, slots=slots)
            success: Any = self.expect(NluTrainSuccess, match=lambda m: m.id == train_id, provider=service)
            error: Any = self.expect(NluError, match=lambda m: train_id in (m.context, m.session_id), provider=service)
        else:
            message = AsrTrain(id=train_id, site_id=site, sentences=sentences, slots=slots)
            success = self.expect(AsrTrainSuccess, match=lambda m: m.id == train_id, provider=service)
            error = self.expect(AsrError, match=lambda m: train_id in (m.context, m.session_id), provider=service)
        try:
            await self.publish(message)
            done, _ = await asyncio.wait({success.future, error.future}, timeout=self.settings.train_timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
            if not done:
                raise ServiceError(f"did not finish training within {self.settings.train_timeout:g} s "
                                   "(injection.train_timeout)")
            finished = done.pop()
            reply = finished.result()  # raises what fail_waits set: the service went offline
            if isinstance(reply, NluError | AsrError):
                raise ServiceError(reply.error)
        finally:
            success.cancel()
            error.cancel()
