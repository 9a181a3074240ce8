"""Settings of the wake service (profile.json ``"wake"``): which engine, which phrases or models."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from services.config import SettingsModel, renamed_keys


class WakePhraseSettings(SettingsModel):
    """One keyphrase for pocketsphinx spotting; a lower threshold fires more easily (more false alarms)."""

    phrase: str
    threshold: float = Field(default=1e-30, gt=0.0, le=1.0)
    # Topic id of hermes/hotword/<wakewordId>/detected; default: the phrase with spaces as underscores.
    wakeword_id: str | None = None


class PocketsphinxWakeSettings(SettingsModel):
    phrases: list[WakePhraseSettings] = Field(default_factory=lambda: [WakePhraseSettings(phrase="bumblebee")])
    # Extra pronunciations ("word": "P H O N E S"), checked before the dictionary.
    words: dict[str, str] = Field(default_factory=dict)
    # Words in neither dictionary get an espeak-ng guessed pronunciation (logged); off = start-up error.
    guess_unknown_words: bool = True
    # Another acoustic model / dictionary (paths relative to the profile); default: the bundled en-us.
    acoustic_model: str | None = None
    dictionary: str | None = None


class PreciseWakeSettings(SettingsModel):
    """Mycroft Precise: the user supplies the precise-engine executable and a .pb model (not shipped)."""

    engine: str | None = None  # precise-engine executable (path or name on PATH)
    engine_args: list[str] = Field(default_factory=list)  # arguments before the model (e.g. a script for python)
    model: str | None = None  # .pb file; its .pb.params must sit next to it
    sensitivity: float = Field(default=0.5, ge=0.0, le=1.0)
    trigger_level: int = Field(default=3, ge=0)
    chunk_size: int = Field(default=2048, gt=0, multiple_of=2)  # bytes of 16 kHz 16-bit audio per prediction
    wakeword_id: str | None = None  # default: the model file name without .pb
    start_timeout: float = Field(default=30.0, gt=0.0)


class WakeSettings(SettingsModel):
    # "pocketsphinx", "precise", "wyoming", or a user engine class as "package.module:ClassName".
    engine: str = "pocketsphinx"
    pocketsphinx: PocketsphinxWakeSettings = Field(default_factory=PocketsphinxWakeSettings)
    precise: PreciseWakeSettings = Field(default_factory=PreciseWakeSettings)
    # Passed to the engine as config.options (with pocketsphinx or precise: over their own section).
    # Formerly "custom" (still read, with a warning).
    engine_options: dict[str, Any] = Field(default_factory=dict)
    lang: str | None = None  # copied into hotword/detected (session language)
    # A detector (~7 MB for pocketsphinx) is per site, and site ids come and go: a site that sent no frame for
    # this long gives its detector back (a phrase cannot span such a gap, and the next frame gets a spare one
    # at once). A site paused by a toggle keeps its state. Shorter than site_state.idle_seconds on purpose.
    site_idle_seconds: float = Field(default=5.0, gt=0.0)
    # Sites with a detector at most; beyond, the least recently heard one gives its detector back.
    max_sites: int = Field(default=64, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _deprecated_keys(cls, data: Any) -> Any:
        return renamed_keys(data, {"custom": "engine_options"}, "wake")

    def options_for_engine(self) -> dict[str, Any]:
        """The engine's options: a built-in engine's own section, then ``engine_options``."""
        sections = {"pocketsphinx": self.pocketsphinx, "precise": self.precise}
        base = sections[self.engine].model_dump() if self.engine in sections else {}
        return {**base, **self.engine_options}
