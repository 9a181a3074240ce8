"""``hermesh nlu``: hermes/nlu/query -> intentParsed + hermes/intent/<name> (or intentNotRecognized).

Like Rhasspy's NLU service it publishes the intent itself. `rhasspy/nlu/<siteId>/train` carries the
sentence and slot *texts* and retrains in place; a failed training keeps the previous model serving.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from hermes.errors import NluError as NluErrorMessage
from hermes.nlu import (
    Intent,
    NluIntent,
    NluIntentNotRecognized,
    NluIntentParsed,
    NluQuery,
    NluTrain,
    NluTrainSuccess,
    Slot,
)
from services.profile import Profile
from services.runtime import HermesService, ServiceError, handles
from services.runtime.gc_pauses import settle_heap

from .errors import NluError
from .results import Recognition
from .settings import NluSettings
from .training import (
    GRAPH_FILE,
    TRAINED_DIR,
    TrainedProfile,
    compile_texts,
    load_trained_profile,
    recognizer_for,
    save_trained,
    sources_newer_than_training,
    train_profile,
)


class NluService(HermesService[NluSettings]):
    name = "nlu"
    settings_model = NluSettings
    error_class = NluErrorMessage

    async def setup(self) -> None:
        self.engine: TrainedProfile | None = None
        self._training = asyncio.Lock()
        if "language" not in self.settings.model_fields_set:
            self.settings = self.settings.model_copy(update={"language": self.common.language})
        self.engine = await self.run_blocking(self._load)
        self._graph_mtime = self._trained_mtime()

    def _trained_mtime(self) -> float:
        try:
            return (self.profile / TRAINED_DIR / GRAPH_FILE).stat().st_mtime
        except OSError:
            return 0.0

    async def _reload_if_retrained(self) -> None:
        """`hermesh train` wrote a new model: serve it (a stat per query, no restart needed)."""
        mtime = self._trained_mtime()
        if mtime > self._graph_mtime:
            self._graph_mtime = mtime
            fresh = await self.run_blocking(load_trained_profile, self.profile, self.settings)
            if fresh is not None:
                self.engine = fresh
                settle_heap()
                self.log.info("loaded the newly trained model from %s", self.profile / TRAINED_DIR)

    def _load(self) -> TrainedProfile | None:
        profile = self.profile
        if Profile(profile).has_sentences() and sources_newer_than_training(profile):
            try:
                trained = train_profile(profile, settings=self.settings)
                self.log.info("trained %s in %.3f s (%d intents)", profile, trained.seconds, len(trained.graph.intents))
                for warning in trained.warnings:
                    self.log.warning("%s", warning)
                return trained
            except NluError as err:
                self.log.error("training failed, serving the previous model if there is one: %s", err)
            except Exception:  # noqa: BLE001 - a profile must never keep the NLU from starting (crash loop)
                self.log.exception("training failed unexpectedly, serving the previous model if there is one")
        previous = load_trained_profile(profile, self.settings)
        if previous is None:
            self.log.error("no trained model in %s: fix the templates, then run 'hermesh train'", profile)
        return previous

    @handles(NluQuery, shared=True)
    async def on_query(self, query: NluQuery) -> AsyncIterator[Any]:
        await self._reload_if_retrained()
        engine = self.engine
        if engine is None:
            raise ServiceError(f"no intent model: the templates in {self.profile} did not train "
                               "(run 'hermesh train' to see why)", context=query.id)
        try:
            results = await self.run_blocking(engine.recognize, query.input, intent_filter=query.intent_filter or None)
        except NluError as err:
            raise ServiceError(f"recognising {query.input!r} failed: {err}", context=query.id) from err
        if not results:
            words = " ".join(engine.prepare_tokens(query.input))
            yield NluIntentNotRecognized(input=words, site_id=query.site_id, id=query.id,
                                         custom_data=query.custom_data, session_id=query.session_id)
            return
        best = results[0]
        slots = self._slots(best, query)
        intent = Intent(intent_name=best.intent, confidence_score=best.confidence)
        yield NluIntentParsed(input=best.text, intent=intent, site_id=query.site_id, id=query.id, slots=slots,
                              session_id=query.session_id)
        yield NluIntent(input=best.text, intent=intent, site_id=query.site_id, id=query.id, slots=slots,
                        session_id=query.session_id, custom_data=query.custom_data,
                        asr_tokens=best.hermes_asr_tokens(), asr_confidence=query.asr_confidence,
                        raw_input=query.input, wakeword_id=query.wakeword_id,
                        lang=query.lang or self.settings.language)

    @staticmethod
    def _slots(best: Recognition, query: NluQuery) -> list[Slot]:
        slots = [Slot.model_validate(s) for s in best.hermes_slots()]
        for name, value in (query.custom_entities or {}).items():
            slots.append(Slot(entity=name, value=value if isinstance(value, dict) and "value" in value
                              else {"value": value}, slot_name=name, confidence=1.0))
        return slots

    @handles(NluTrain)
    async def on_train(self, train: NluTrain) -> None:
        if not train.sentences:
            raise ServiceError("the train message carries no sentence texts ('sentences': {file name: ini text}); "
                               "graph files are not read", context=train.id)
        # A large profile trains for seconds: outside the site's queue, so queries meanwhile are answered by the
        # previous model (an injection or POST /api/train must not stop recognition); one training at a time,
        # in the order received.
        self.spawn(self._retrain(train), origin=train)

    async def _retrain(self, train: NluTrain) -> None:
        assert train.sentences is not None
        async with self._training:
            await self._retrain_now(train, train.sentences)

    async def _retrain_now(self, train: NluTrain, sentences: dict[str, str]) -> None:
        try:
            engine = await self.run_blocking(self._train_texts, sentences, train.slots or {})
        except NluError as err:
            raise ServiceError(f"training failed, the previous model keeps serving: {err}", context=train.id) from err
        except Exception as err:  # the trainer waits for an error carrying its id, so say which training failed
            self.log.exception("training from a train message failed unexpectedly")
            raise ServiceError(f"training failed, the previous model keeps serving: {type(err).__name__}: {err}",
                               context=train.id) from err
        self.engine = engine
        settle_heap()  # the old model's objects go, the new one's are frozen (see services/runtime/gc_pauses.py)
        for warning in engine.warnings:
            self.log.warning("%s", warning)
        self.log.info("retrained from a train message: %d intents", len(engine.graph.intents))
        await self.publish(NluTrainSuccess(id=train.id, site_id=train.site_id))

    def _train_texts(self, sentences: dict[str, str], slots: dict[str, list[str]]) -> TrainedProfile:
        started = time.perf_counter()
        graph = compile_texts(sentences, slots, self.profile, self.settings)
        trained = recognizer_for(graph, self.profile, self.settings, time.perf_counter() - started)
        # Kept on disk as the last good model: a restart with templates broken since then serves it.
        try:
            save_trained(graph, self.profile, self.settings, trained.seconds, started)
            self._graph_mtime = self._trained_mtime()
        except OSError as err:
            self.log.warning("trained, but could not keep the model in %s: %s", self.profile / TRAINED_DIR, err)
        return trained
