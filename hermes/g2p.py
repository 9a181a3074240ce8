"""Pronunciation look-up and guessing (grapheme to phoneme)."""

from __future__ import annotations

from .base import HermesMessage, HermesModel
from .common import DEFAULT_SITE


class G2pPronounce(HermesMessage):
    TOPIC = "rhasspy/g2p/pronounce"
    words: list[str]
    id: str | None = None
    site_id: str = DEFAULT_SITE
    session_id: str | None = None
    num_guesses: int = 5


class G2pPronunciation(HermesModel):
    phonemes: list[str]
    guessed: bool | None = None


class G2pPhonemes(HermesMessage):
    TOPIC = "rhasspy/g2p/phonemes"
    word_phonemes: dict[str, list[G2pPronunciation]]
    id: str | None = None
    site_id: str = DEFAULT_SITE
    session_id: str | None = None
