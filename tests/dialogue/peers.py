"""Scripted Hermes peers for broker tests: they answer on the wire the way the real services would.

They stand in for services that need real audio or are not finished (audio output, ASR, NLU); each one is a
real HermesService on the test broker, so the dialogue manager is exercised exactly as in production.
"""

from __future__ import annotations

from hermes.asr import AsrStartListening, AsrTextCaptured
from hermes.audioserver import AudioPlayBytes, AudioPlayFinished
from hermes.nlu import Intent, NluIntent, NluIntentNotRecognized, NluQuery, Slot
from services.config import SettingsModel
from services.runtime import HermesService, handles


class PeerSettings(SettingsModel):
    # ASR: what each startListening "hears", in order (the last one repeats); "" = never answers.
    transcripts: list[str] = ["turn on the light"]
    # NLU: text -> intent name; anything else is not recognised.
    intents: dict[str, str] = {"turn on the light": "LightOn"}


class ScriptedAudioOutput(HermesService[PeerSettings]):
    """Plays nothing, answers every playBytes with playFinished (as a speaker service does)."""

    name = "peer-audio-output"
    settings_model = PeerSettings

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.played: list[AudioPlayBytes] = []

    @handles(AudioPlayBytes)
    async def on_play(self, play: AudioPlayBytes) -> AudioPlayFinished:
        self.played.append(play)
        return AudioPlayFinished(site_id=play.site_id, id=play.request_id, session_id=play.request_id)


class ScriptedAsr(HermesService[PeerSettings]):
    name = "peer-asr"
    settings_model = PeerSettings

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.calls = 0

    @handles(AsrStartListening)
    async def on_listen(self, listen: AsrStartListening) -> AsrTextCaptured | None:
        transcripts = self.settings.transcripts
        text = transcripts[min(self.calls, len(transcripts) - 1)]
        self.calls += 1
        if not text:
            return None
        return AsrTextCaptured(text=text, likelihood=0.9, seconds=1.2, site_id=listen.site_id,
                               session_id=listen.session_id)


class ScriptedNlu(HermesService[PeerSettings]):
    name = "peer-nlu"
    settings_model = PeerSettings

    @handles(NluQuery)
    async def on_query(self, query: NluQuery) -> NluIntent | NluIntentNotRecognized:
        intent_name = self.settings.intents.get(query.input)
        if intent_name is None or (query.intent_filter is not None and intent_name not in query.intent_filter):
            return NluIntentNotRecognized(input=query.input, site_id=query.site_id, id=query.id,
                                          session_id=query.session_id, custom_data=query.custom_data)
        words = query.input.split()
        slots = [Slot(entity="name", slot_name="name", value={"kind": "Unknown", "value": words[-1]})]
        return NluIntent(input=query.input, intent=Intent(intent_name=intent_name, confidence_score=1.0),
                         site_id=query.site_id, id=query.id, slots=slots, session_id=query.session_id,
                         custom_data=query.custom_data, wakeword_id=query.wakeword_id,
                         asr_confidence=query.asr_confidence, raw_input=query.input)
