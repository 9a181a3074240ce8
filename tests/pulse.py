"""A private PulseAudio daemon with virtual devices, started by the tests themselves (no sound hardware needed).

Devices (16 kHz mono null sinks):
  * sink ``spk`` is the default output; what services play there is recorded from ``spk.monitor``;
  * source ``micfeed.monitor`` is the default input ("microphone"); tests speak into it by playing to ``micfeed``.
sounddevice then sees PulseAudio through the ALSA ``pulse`` plugin (devices ``pulse`` and ``default``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import stop_process


class PulseAudio:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.server = f"unix:{base / 'run' / 'native'}"
        self.process: subprocess.Popen[bytes] | None = None

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            HOME=str(self.base / "home"),
            XDG_RUNTIME_DIR=str(self.base / "run"),
            PULSE_RUNTIME_PATH=str(self.base / "run"),
            PULSE_STATE_PATH=str(self.base / "state"),
            PULSE_SERVER=self.server,
        )
        return env

    def start(self) -> None:
        for sub in ("run", "state", "home"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        (self.base / "run").chmod(0o700)
        self.process = subprocess.Popen(
            [
                "pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no",
                f"--log-target=file:{self.base / 'pa.log'}",
                "-L", f"module-native-protocol-unix auth-anonymous=1 socket={self.base / 'run' / 'native'}",
                "-L", "module-null-sink sink_name=spk rate=16000 channels=1",
                "-L", "module-null-sink sink_name=micfeed rate=16000 channels=1",
                "-L", "module-always-sink",
            ],
            env=self._env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while self.pactl("info", check=False).returncode != 0:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log = (self.base / "pa.log").read_text(errors="replace")[-2000:] if (self.base / "pa.log").exists() else ""
                pytest.fail(f"PulseAudio did not start:\n{log}")
            time.sleep(0.1)
        self.pactl("set-default-sink", "spk")
        self.pactl("set-default-source", "micfeed.monitor")

    def pactl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["pactl", *args], env=self._env(), capture_output=True, check=check, timeout=10)

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def speak_into_microphone(self, pcm16k: bytes) -> subprocess.Popen[bytes]:
        """Play raw 16 kHz mono PCM into the virtual microphone (real time); returns the player process."""
        player = subprocess.Popen(
            ["pacat", "--playback", "--device=micfeed", "--raw", "--format=s16le", "--rate=16000", "--channels=1",
             "--latency-msec=50"],
            env=self._env(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        assert player.stdin is not None
        threading.Thread(target=self._write_and_close, args=(player, pcm16k), daemon=True).start()
        return player

    @staticmethod
    def _write_and_close(player: subprocess.Popen[bytes], data: bytes) -> None:
        assert player.stdin is not None
        try:
            player.stdin.write(data)
            player.stdin.close()
        except BrokenPipeError:  # the test stopped the player early
            pass

    def record_speaker(self) -> SpeakerRecorder:
        return SpeakerRecorder(self)


class SpeakerRecorder:
    """Records what is played on the virtual speaker (``spk.monitor``) as 16 kHz mono PCM while open."""

    def __init__(self, pulse: PulseAudio) -> None:
        self._pulse = pulse
        self._data = bytearray()
        self._lock = threading.Condition()
        self._process: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> SpeakerRecorder:
        self._process = subprocess.Popen(
            ["parec", "--device=spk.monitor", "--raw", "--format=s16le", "--rate=16000", "--channels=1",
             "--latency-msec=20"],
            env=self._pulse._env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        return self

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        while chunk := self._process.stdout.read1(4096):
            with self._lock:
                self._data += chunk
                self._lock.notify_all()

    def pcm(self) -> bytes:
        with self._lock:
            return bytes(self._data)

    def wait_for(self, condition: Callable[[bytes], bool], timeout: float = 10.0) -> bytes:
        """Block until ``condition(recorded pcm)`` holds (woken by new audio); raise after ``timeout``."""
        with self._lock:
            if not self._lock.wait_for(lambda: condition(bytes(self._data)), timeout):
                raise AssertionError(f"the speaker did not play the expected sound within {timeout} s")
            return bytes(self._data)

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(5)
        if self._thread is not None:
            self._thread.join(5)


@contextlib.contextmanager
def virtual_sound_card(prefix: str) -> Iterator[PulseAudio]:
    """A private PulseAudio server that sounddevice in this process uses until the block ends; the previous
    ``PULSE_SERVER`` (another fixture's card) is restored afterwards."""
    from services.audio.devices import refresh_devices

    for tool in ("pulseaudio", "pactl", "pacat", "parec"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: apt-get install pulseaudio pulseaudio-utils libasound2-plugins")
    base = Path(tempfile.mkdtemp(prefix=prefix))
    pulse = PulseAudio(base)
    pulse.start()
    previous = os.environ.get("PULSE_SERVER")
    os.environ["PULSE_SERVER"] = pulse.server
    refresh_devices()  # PortAudio lists devices only when it starts
    try:
        yield pulse
    finally:
        pulse.stop()
        if previous is None:
            os.environ.pop("PULSE_SERVER", None)
        else:
            os.environ["PULSE_SERVER"] = previous
        refresh_devices()
        shutil.rmtree(base, ignore_errors=True)
