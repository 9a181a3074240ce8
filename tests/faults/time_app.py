"""A Snips-style app as its own process: it answers GetTime by ending the intent's session.

It says so in its hermesh/status (``intents``, in its last will too), as any app may, so the dialogue manager
knows the sessions of that intent wait on it. ``python -m tests.faults.time_app HOST PORT PROFILE``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from hermes.dialogue import DialogueEndSession
from hermes.nlu import NluIntent
from services.config import CommonSettings, MqttSettings
from services.runner import configure_logging, serve
from services.runtime import HermesService, NoSettings, handles

INTENT = "GetTime"


class TimeApp(HermesService[NoSettings]):
    name = "time-app"

    def handled_intents(self) -> list[str]:
        return [INTENT]

    @handles(NluIntent)
    async def on_intent(self, intent: NluIntent) -> AsyncIterator[DialogueEndSession]:
        if intent.intent_name == INTENT and intent.session_id:
            yield DialogueEndSession(session_id=intent.session_id, text="it is noon")


def main() -> None:
    host, port, profile = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    configure_logging("INFO")
    asyncio.run(serve(TimeApp(CommonSettings(profile=profile, mqtt=MqttSettings(host=host, port=port)))))


if __name__ == "__main__":
    main()
