"""A local program per intent: the intent JSON on its stdin, optional ``{"speech": {"text": ...}}`` on stdout."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil

from hermes.nlu import NluIntent, NluIntentNotRecognized

from .handlers import HandlerError, intent_json, speech_from_reply
from .settings import CommandSettings


class CommandHandler:
    name = "command"

    def __init__(self, settings: CommandSettings) -> None:
        assert settings.program is not None
        self.settings = settings
        self.program = settings.program
        if shutil.which(self.program) is None:
            raise HandlerError(f"command.program {self.program!r} was not found or is not executable")

    async def handle(self, intent: NluIntent) -> str | None:
        stdin = json.dumps(intent_json(intent), ensure_ascii=False).encode("utf-8")
        where = f"command {self.program}"
        try:
            process = await asyncio.create_subprocess_exec(
                self.program, *self.settings.arguments, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )
        except OSError as err:
            raise HandlerError(f"{where} could not be started: {err.strerror}") from err
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(stdin), self.settings.timeout)
        except TimeoutError as err:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise HandlerError(f"{where} did not finish within {self.settings.timeout:g} s for intent "
                               f"{intent.intent_name}; it was stopped") from err
        if process.returncode != 0:
            tail = stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            raise HandlerError(f"{where} exited with status {process.returncode} for intent {intent.intent_name}"
                               + (f": {' / '.join(tail)}" if tail else ""))
        return speech_from_reply(stdout, where)

    async def handle_not_recognized(self, message: NluIntentNotRecognized) -> str | None:
        return None

    async def close(self) -> None:
        return None
