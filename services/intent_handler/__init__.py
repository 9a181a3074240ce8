"""Intent handling: Home Assistant (events, intents, conversation), webhooks and local commands."""
