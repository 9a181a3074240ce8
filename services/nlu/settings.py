"""Settings of the NLU (profile.json section "nlu", env HERMESH_NLU__KEY, CLI flags)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from services.config import SettingsModel


class NluSettings(SettingsModel):
    fuzzy: bool = Field(True, description="Rhasspy's fuzzy matching: extra words cost, confidence below 1")
    stop_words: list[str] = Field(default_factory=list,
                                  description="cheap-to-skip words; empty = read <profile>/stop_words.txt if present")
    replace_numbers: bool = Field(True, description="digits in templates and queries become number words")
    language: str = Field("en", description="language of number words")
    word_casing: Literal["lower", "upper", "keep"] = Field(
        "lower", description="template words are matched case-insensitively in this case; output keeps the "
        "template's spelling; 'keep' = case-sensitive")
    failure_token: str | None = Field(None, description="a token that forces 'not recognized' when present")
    ranked: bool = Field(False, description="also report lower-ranked intents (alternatives) in results")
    grammar_order: int = Field(3, ge=1, le=5, description="n-gram order of the exported ARPA language model")
