"""Which services and extra commands exist: one line each, so adding a voice function touches one place.

``SERVICES`` maps the CLI name (``hermesh <name>``) to the service class as "module:Class". ``hermesh up``
starts every entry (a satellite only those in ``ROOM_SERVICES``). ``COMMANDS`` lists extra typer commands as
"module:function"; their modules must import quickly (heavy imports inside the function).
"""

from __future__ import annotations

SERVICES: dict[str, str] = {
    "asr": "services.asr.service:AsrService",
    "wake": "services.wake.service:WakeService",
    "tts": "services.tts.service:TtsService",
    "audio-input": "services.audio.input_service:AudioInputService",
    "audio-output": "services.audio.output_service:AudioOutputService",
    "dialogue": "services.dialogue.service:DialogueService",
    "intent-handler": "services.intent_handler.service:IntentHandlerService",
    "nlu": "services.nlu.service:NluService",
    "injection": "services.injection.service:InjectionService",
    "bridge": "bridge.service:BridgeService",
}

# The services whose requests one worker of a pool takes (their handlers are ``shared``: MQTT 5 shared
# subscriptions), so ``hermesh up --replicas`` may start several of each. The others keep per-site state that
# every worker would hold twice (wake, dialogue, audio) or act on every message (intent handler, bridge).
POOLABLE: frozenset[str] = frozenset({"asr", "nlu", "tts"})
MAX_REPLICAS = 16

# The services that belong to a room (a satellite runs only these, against the base's broker).
ROOM_SERVICES: frozenset[str] = frozenset({"audio-input", "audio-output", "wake"})

COMMANDS: list[str] = [
    "services.nlu.cli:train", "services.nlu.cli:recognize", "services.nlu.cli:test_nlu",
    "services.security.command:add_satellite",
    "services.monitor.command:monitor",
]
