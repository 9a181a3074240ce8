"""What a broker refuses in a topic: the MQTT spec's disallowed characters, as Mosquitto enforces them.

A client that publishes or subscribes with such a topic is not answered with an error: the broker closes its
connection as a malformed packet ([code:129]). One bad site id, session id or HTTP topic would so cut a whole
service off the broker, so every topic we build or accept is checked here first.
"""

from __future__ import annotations

MAX_TOPIC_BYTES = 65535  # the length field of an MQTT string


def mqtt_text_problem(text: str) -> str | None:
    """Why ``text`` cannot be (part of) an MQTT topic, or None when it can."""
    for char in text:
        code = ord(char)
        if code <= 0x1F or 0x7F <= code <= 0x9F:
            return f"control character U+{code:04X}"
        if 0xD800 <= code <= 0xDFFF:
            return f"lone surrogate U+{code:04X}"
        if 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE:
            return f"non-character U+{code:04X}"
    if len(text.encode("utf-8", errors="surrogatepass")) > MAX_TOPIC_BYTES:
        return f"longer than {MAX_TOPIC_BYTES} bytes"
    return None
