"""The texts of the NLU's last successful training, whoever sent it (POST /api/train, an injection, a remote tool).

POST /api/train trains the ASR first and the NLU after it; when the NLU then refuses, the ASR is trained again
on these texts, so that both serve the same sentences as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hermes.nlu import NluTrain
from services.nlu.trainings import TrainingsAwaitingAnswer
from services.runtime import HermesService


@dataclass(frozen=True)
class TrainingTexts:
    sentences: dict[str, str]
    slots: dict[str, list[str]]


def _texts(train: NluTrain) -> TrainingTexts:
    return TrainingTexts(dict(train.sentences or {}), dict(train.slots or {}))


class LastTraining:
    def __init__(self) -> None:
        self._trainings = TrainingsAwaitingAnswer(_texts)
        self.nlu: TrainingTexts | None = None  # None: no training succeeded since the bridge started

    async def attach(self, service: HermesService[Any]) -> None:
        await self._trainings.listen(service, self._trained)

    def _trained(self, texts: TrainingTexts) -> None:
        self.nlu = texts
