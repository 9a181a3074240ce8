"""Settings of the intent handler (profile.json ``"intent_handler"``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from services.config import SettingsModel


class HomeAssistantSettings(SettingsModel):
    enabled: bool = False
    url: str = Field("http://127.0.0.1:8123/", description="base URL of Home Assistant")
    access_token: SecretStr | None = Field(None, description="long-lived access token (HA profile page)")
    # event: POST /api/events/rhasspy_<Intent>; intent: POST /api/intent/handle (speech is spoken);
    # conversation: POST /api/conversation/process with the raw text (reply is spoken).
    handle_type: Literal["event", "intent", "conversation"] = "event"
    event_type_format: str = "rhasspy_{0}"
    # conversation mode also sends texts our NLU did not recognise: HA's own sentences may match them.
    conversation_on_not_recognized: bool = True
    # event and intent modes: our intents go as events/intents, and what our NLU did not recognise goes to HA's
    # conversation agent (its reply is spoken). With asr.engine hybrid that is the open text whisper heard, e.g.
    # "add milk to the shopping list", which no template has. Off by default, as in Rhasspy (which sends nothing).
    conversation_fallback: bool = False
    language: str | None = Field(None, description="language for conversation mode (default: the profile's)")
    # TLS to Home Assistant.
    verify_tls: bool = Field(True, description="check HA's certificate (off for self-signed certificates)")
    ca_file: Path | None = None
    cert_file: Path | None = Field(None, description="client certificate (PEM), e.g. behind a TLS proxy")
    key_file: Path | None = None
    timeout: float = Field(10.0, gt=0)


class WebhookSettings(SettingsModel):
    # intent name -> URLs; the key "*" receives every intent.
    urls: dict[str, list[str]] = Field(default_factory=dict)
    timeout: float = Field(10.0, gt=0)
    verify_tls: bool = True
    speak_reply: bool = Field(True, description="speak speech.text of a JSON reply")


class CommandSettings(SettingsModel):
    program: str | None = Field(None, description="program run per intent with the intent JSON on stdin")
    arguments: list[str] = Field(default_factory=list)
    timeout: float = Field(10.0, gt=0)


class IntentHandlerSettings(SettingsModel):
    home_assistant: HomeAssistantSettings = Field(default_factory=HomeAssistantSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    command: CommandSettings = Field(default_factory=CommandSettings)
    # Speak failures (e.g. HA unreachable) on the intent's site; they always go to hermes/error/handle.
    speak_errors: bool = False
    error_text: str = "Sorry, something went wrong while handling that."
    # Rhasspy's handlers speak with hermes/tts/say and leave the session to time out; with end_session the reply
    # ends the intent's dialogue session instead (endSession with the text), so the next command needs no wait.
    end_session: bool = False
