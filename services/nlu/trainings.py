"""What a listener keeps of each NLU train message until the NLU answers it.

``rhasspy/nlu/<site>/trainSuccess`` carries only the training's id, so anyone who must know what a successful
training contained (the dialogue manager its intent names, the bridge its texts) takes it from the train
message and keeps it until the answer. Trainings are sent one at a time in practice; a few unanswered ones are
kept, the oldest dropped first, so refused or lost trainings cannot pile up.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from hermes.nlu import NluTrain, NluTrainSuccess

T = TypeVar("T")

MAX_PENDING = 8


class TrainingsAwaitingAnswer(Generic[T]):
    def __init__(self, keep: Callable[[NluTrain], T], limit: int = MAX_PENDING) -> None:
        self._keep = keep
        self._limit = limit
        self._pending: OrderedDict[str, T] = OrderedDict()

    async def listen(self, service: Any, on_success: Callable[[T], None]) -> None:
        """Follow the trainings on ``service``'s broker; ``on_success`` gets what was kept of each one the NLU
        trained. Listeners run as each message arrives, before anyone awaiting the trainSuccess resumes."""

        def sent(train: NluTrain) -> None:
            if train.id is None or not train.sentences:
                return  # nothing to match its answer with, or nothing the NLU would train (it refuses it)
            self._pending[train.id] = self._keep(train)
            while len(self._pending) > self._limit:
                self._pending.popitem(last=False)

        def answered(success: NluTrainSuccess) -> None:
            kept = self._pending.pop(success.id or "", None)
            if kept is not None:
                on_success(kept)

        await service.listen(NluTrain, sent)
        await service.listen(NluTrainSuccess, answered)
