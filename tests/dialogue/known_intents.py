"""The intents a running dialogue manager knows, read from the wire (it has no topic that lists them)."""

from __future__ import annotations

from hermes.asr import AsrStartListening
from hermes.dialogue import (
    DialogueAction,
    DialogueConfigure,
    DialogueConfigureIntent,
    DialogueEndSession,
    DialogueSessionEnded,
    DialogueSessionStarted,
    DialogueStartSession,
)

DISABLED = "GetGarageState"  # an intent of the default profile


async def dialogue_known_intents(mqtt_client, site_id: str, marker: str) -> set[str]:
    """With one intent disabled on the site, a session's startListening carries every known intent but that one
    (a configure alone answers nothing). ``marker`` names this session among the test's others."""
    # subscribed before the session starts: expect() subscribes on its first call, and a startListening sent
    # right after sessionStarted could pass before it (seen under load)
    await mqtt_client.subscribe(DialogueSessionStarted.subscribe_filter(), AsrStartListening.subscribe_filter(),
                                DialogueSessionEnded.subscribe_filter())
    await mqtt_client.publish(DialogueConfigure(
        site_id=site_id, intents=[DialogueConfigureIntent(intent_id=DISABLED, enable=False)]))
    await mqtt_client.publish(DialogueStartSession(init=DialogueAction(can_be_enqueued=True), site_id=site_id,
                                                   custom_data=marker))
    started = await mqtt_client.expect(DialogueSessionStarted, where=lambda m: m.custom_data == marker)
    listen = await mqtt_client.expect(AsrStartListening, where=lambda m: m.session_id == started.session_id)
    await mqtt_client.publish(DialogueEndSession(session_id=started.session_id))
    await mqtt_client.expect(DialogueSessionEnded, where=lambda m: m.session_id == started.session_id)
    assert listen.intent_filter is not None and DISABLED not in listen.intent_filter
    return {*listen.intent_filter, DISABLED}
