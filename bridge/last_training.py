"""The texts of the NLU's last successful training, whoever sent it (POST /api/train, an injection, a remote tool).

POST /api/train trains the ASR first and the NLU after it; when the NLU then refuses, the ASR is trained again
on these texts, so that both serve the same sentences as before. trainSuccess carries only the training's id,
so the texts are taken from the train message and kept until its answer.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from hermes.nlu import NluTrain, NluTrainSuccess
from services.runtime import HermesService

MAX_PENDING = 8  # trainings sent and not answered yet; trainers send one at a time in practice


@dataclass(frozen=True)
class TrainingTexts:
    sentences: dict[str, str]
    slots: dict[str, list[str]]


class LastTraining:
    def __init__(self) -> None:
        self._pending: OrderedDict[str, TrainingTexts] = OrderedDict()
        self.nlu: TrainingTexts | None = None  # None: no training succeeded since the bridge started

    async def attach(self, service: HermesService[Any]) -> None:
        # Listeners run as each message arrives, before the trainer awaiting the trainSuccess resumes.
        await service.listen(NluTrain, self._sent)
        await service.listen(NluTrainSuccess, self._trained)

    def _sent(self, train: NluTrain) -> None:
        if train.id is None or not train.sentences:
            return  # no answer can be matched to it, or the NLU refuses it
        self._pending[train.id] = TrainingTexts(dict(train.sentences), dict(train.slots or {}))
        while len(self._pending) > MAX_PENDING:
            self._pending.popitem(last=False)

    def _trained(self, success: NluTrainSuccess) -> None:
        texts = self._pending.pop(success.id or "", None)
        if texts is not None:
            self.nlu = texts
