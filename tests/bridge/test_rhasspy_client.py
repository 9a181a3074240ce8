"""The PyPI rhasspy-client command line (1.1.1) against the bridge: every command it has (version,
train-profile, text-to-intent, speech-to-text, stream-to-text, text-to-speech, restart), with the real NLU, ASR
and TTS services behind it. The library's other calls: test_rhasspy_client_library.py."""

from __future__ import annotations

import asyncio
import json
import sys

from hermes.status import ServiceRestart

from .mesh import mesh
from .speech import spoken_pcm, spoken_wav


async def rhasspy_client(bridge, *args: str, stdin: bytes | None = None) -> str:  # type: ignore[no-untyped-def]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "rhasspyclient", "--api-url", f"{bridge.base_url}/api", *args,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(stdin), 120)
    assert process.returncode == 0, err.decode()
    assert b"Traceback" not in err and b"ERROR" not in err, err.decode()
    return out.decode()


async def test_rhasspy_client_command_line(mqtt_broker, profile_dir, tmp_path, mqtt_client):
    await mqtt_client.subscribe(ServiceRestart.subscribe_filter())
    wav = tmp_path / "command.wav"
    wav.write_bytes(spoken_wav("what time is it"))
    async with mesh(mqtt_broker, profile_dir, asr=True, tts=True, output=True) as bridge:
        version = await rhasspy_client(bridge, "version")
        trained = await rhasspy_client(bridge, "train-profile")
        intent = await rhasspy_client(bridge, "text-to-intent", "turn on the garage light")
        transcription = await rhasspy_client(bridge, "speech-to-text", str(wav))
        speech = await rhasspy_client(bridge, "text-to-speech", "hello from the bridge")
        streamed = await rhasspy_client(bridge, "stream-to-text", stdin=spoken_pcm("tell me the time"))
        restarted = await rhasspy_client(bridge, "restart")  # last: the services leave the broker
        restart = await mqtt_client.expect(ServiceRestart, timeout=10)
    assert version.strip() == "2.5.11"
    assert json.loads(trained)["result"] == "success"
    recognised = json.loads(intent)
    assert recognised["intent"]["name"] == "ChangeLightState"
    assert recognised["slots"] == {"state": "on", "name": "garage light"}
    assert "SUCCESS" in transcription and "what time is it" in transcription
    assert speech.startswith("b'RIFF")
    assert streamed.strip() == "tell me the time"
    assert restarted.strip() == "Restarted Rhasspy" and "nlu" in restart.services
