"""A small service used to test the shared runtime (a user's own Snips-style service would look like this)."""

from __future__ import annotations

import asyncio

from hermes.audioserver import AudioFrame
from hermes.errors import NluError
from hermes.nlu import NluIntentNotRecognized, NluQuery
from services.config import SettingsModel
from services.runtime import HermesService, ServiceError, handles


class EchoSettings(SettingsModel):
    slow_site: str | None = None


class EchoService(HermesService[EchoSettings]):
    """Answers every NLU query with intentNotRecognized echoing the input; 'fail' and 'crash' raise."""

    name = "echo"
    settings_model = EchoSettings
    error_class = NluError

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.frames: dict[str, list[int]] = {}
        self.answered = 0

    @handles(NluQuery, shared=True)
    async def on_query(self, query: NluQuery):  # type: ignore[no-untyped-def]
        if query.input == "fail":
            raise ServiceError("the echo engine refused 'fail'")
        if query.input == "crash":
            raise ZeroDivisionError("division by zero")
        if self.settings.slow_site and query.site_id == self.settings.slow_site:
            await asyncio.sleep(2.0)
        self.answered += 1
        yield NluIntentNotRecognized(input=query.input, site_id=query.site_id, id=query.id, session_id=query.session_id)

    @handles(AudioFrame)
    async def on_frame(self, frame: AudioFrame) -> None:
        self.frames.setdefault(frame.site_id, []).append(len(frame.wav_bytes))


if __name__ == "__main__":  # run as a process, for the last-will test
    import sys
    from pathlib import Path

    from services.config import CommonSettings, MqttSettings
    from services.runner import configure_logging, serve

    configure_logging("INFO")
    common = CommonSettings(profile=Path(sys.argv[3]), mqtt=MqttSettings(host=sys.argv[1], port=int(sys.argv[2])))
    asyncio.run(serve(EchoService(common, EchoSettings())))
