"""Stand-in for Mycroft's precise-engine, speaking its stdin/stdout protocol.

Invoked as ``fake_precise_engine.py MODEL.pb CHUNK_BYTES``: reads CHUNK_BYTES of 16 kHz 16-bit mono
audio at a time and prints one probability per chunk: 1.0 for a loud chunk (RMS above 8000, the test's
"wake word" is a loud tone), else 0.0. Fails like the real engine when the model is missing. A model file
containing ``die-after:N`` makes it exit after N chunks (an engine crashing mid-stream).
"""

import math
import os
import sys
from array import array


def main() -> int:
    model, chunk_bytes = sys.argv[1], int(sys.argv[2])
    if not model.endswith(".pb") or not os.path.isfile(model) or not os.path.isfile(model + ".params"):
        print(f"model not found: {model}", file=sys.stderr)
        return 1
    with open(model, "rb") as f:
        content = f.read()
    die_after = int(content.split(b":")[1]) if content.startswith(b"die-after:") else -1
    stdin = sys.stdin.buffer
    while die_after != 0:
        die_after -= 1
        chunk = stdin.read(chunk_bytes)
        if len(chunk) < chunk_bytes:
            return 0
        samples = array("h", chunk)
        rms = math.sqrt(sum(s * s for s in samples) / len(samples))
        sys.stdout.write("1.0\n" if rms > 8000 else "0.0\n")
        sys.stdout.flush()
    return 5


if __name__ == "__main__":
    sys.exit(main())
