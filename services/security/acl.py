"""Per-satellite blocks in a Mosquitto ACL file, each between marker comments so it can be replaced exactly.

A satellite runs audio-input, audio-output and wake for one site. Its block lets it use its own site's topics
and the few shared topics those services need, nothing else: it cannot read another room's microphone,
cannot play sound in another room, and reads no transcripts or intents. Why each shared topic is there, and
what it still allows, is written next to it in the block (the reasons are repeated in mosquitto/acl.example).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .passwd import check_username

BEGIN = "# >>> hermesh satellite {name}"
END = "# <<< hermesh satellite {name}"
_BEGIN_RE = re.compile(r"^# >>> hermesh satellite (\S+)\s*$")
_END_RE = re.compile(r"^# <<< hermesh satellite (\S+)\s*$")
_USER_RE = re.compile(r"^user\s+(.+?)\s*$")


# A new ACL file starts with this (also the head of mosquitto/acl.example): the base services' user, the
# read-only monitor user and the trade-offs of the satellite rules. Without it a fresh file would lock out the base.
BASE_TEMPLATE = """\
# Hermesh broker ACLs (Mosquitto acl_file). Copy to /etc/mosquitto/hermesh/acl; production.conf points there.
# Satellite blocks are added with:  hermesh add-satellite <site> --password-file .../passwd --acl-file .../acl
# then `sudo systemctl reload mosquitto`. mosquitto/README.md has the whole procedure.
#
# How Mosquitto reads this file: `user <name>` starts the rules of that user; each `topic read|write|readwrite
# <filter>` below it grants access; anything not granted is denied (a denied publish is dropped silently, a
# denied subscription gets no messages). `#` does not match `$SYS/...` topics, so those are granted explicitly.
#
# Trade-offs of the per-satellite rules (the broker can only look at topics, never at payloads):
#  * hermes/hotword/<wakewordId>/detected names the wake word, not the site: the siteId is in the payload. A
#    satellite may therefore publish a detection carrying another room's siteId and start a session there (the
#    base would listen to that room's microphone and answer in that room). It still cannot read that room's
#    audio, transcripts, intents or answers. Limit the damage on the base: run the dialogue service with
#    --site-id for the known rooms (detections naming an unknown site are dropped), and optionally pin each
#    satellite to its own wake word ids (`hermesh add-satellite kitchen --wakeword hey_kitchen`). Pinning the
#    site itself would need a broker plugin that checks payloads.
#  * Toggles (hermes/hotword/toggleOn|Off, hermes/audioServer/toggleOn|Off|toggleSummaryOn|Off) are one topic for
#    all sites, so every satellite sees when any room's wake word is paused (session timing, no content).
#    Satellites may only read them; only the base publishes toggles.
#  * Errors (hermes/error/hotword, hermes/error/audioServer/*) and the device/wake word lists
#    (rhasspy/audioServer/devices, rhasspy/hotword/hotwords) carry the siteId in the payload: a satellite could
#    send them in another room's name. They only feed the bridge's status pages.
#  * Status topics hermesh/status/<service>/<instance>: a satellite writes only under its own instance name,
#    so it must run with that instance (HERMESH_INSTANCE=<instance>, default: the site id).

# ---- the base services on the base machine (asr, nlu, injection, dialogue, tts, intent-handler, bridge) ------
# One user for all of them: they handle every site by design. Set its password with
#   sudo mosquitto_passwd /etc/mosquitto/hermesh/passwd hermesh
user hermesh
topic readwrite #
topic read $SYS/#

# ---- read-only monitoring: `hermesh monitor`, dashboards, the bridge's /metrics if it runs elsewhere ---------
user hermesh-monitor
topic read #
topic read $SYS/#

# ---- satellites (one block each; `hermesh add-satellite` adds, updates and keeps them in this form) ---------
"""


class AclFileError(ValueError):
    """An ACL file that cannot be updated safely; the message names the file and line."""


def check_site_id(site_id: str) -> str:
    if not site_id or any(c in site_id for c in "/+# \t\n\r"):
        raise AclFileError(f"site id {site_id!r} must be non-empty, without spaces and without '/', '+' or '#'")
    return site_id


def satellite_block(username: str, site_id: str, instance: str, wakewords: list[str] | None = None) -> str:
    """The ACL block for one satellite (marker comments included, no trailing newline)."""
    check_username(username)
    check_site_id(site_id)
    check_site_id(instance)
    for wakeword in wakewords or []:
        check_site_id(wakeword)
    detected = [f"topic write hermes/hotword/{w}/detected" for w in wakewords] if wakewords else [
        "topic write hermes/hotword/+/detected"
    ]
    lines = [
        BEGIN.format(name=username),
        f"# site {site_id}, status instance {instance}. Written by `hermesh add-satellite`; edits here are replaced.",
        f"user {username}",
        "# its own room: microphone frames, audio summary, playback requests and playFinished",
        f"topic readwrite hermes/audioServer/{site_id}/#",
        "# wake word detections: the topic names the wake word, not the site; the siteId is in the payload only,",
        "# so the broker cannot pin it (see 'trade-offs' at the top of acl.example)",
        *detected,
        "# toggles are one topic for all sites (the payload's siteId picks the room)",
        "topic read hermes/hotword/toggleOn",
        "topic read hermes/hotword/toggleOff",
        "topic read hermes/audioServer/toggleOn",
        "topic read hermes/audioServer/toggleOff",
        "topic read hermes/audioServer/toggleSummaryOn",
        "topic read hermes/audioServer/toggleSummaryOff",
        "# device lists, volume, wake word lists and recorded wake word examples (asked for by the bridge)",
        "topic read rhasspy/audioServer/getDevices",
        "topic write rhasspy/audioServer/devices",
        "topic read rhasspy/audioServer/setVolume",
        "topic read rhasspy/hotword/getHotwords",
        "topic write rhasspy/hotword/hotwords",
        "topic read rhasspy/hotword/recordExample",
        f"topic write rhasspy/hotword/{site_id}/#",
        "# errors of its services",
        "topic write hermes/error/hotword",
        "topic write hermes/error/audioServer/record",
        "topic write hermes/error/audioServer/play",
        "# its services' retained status and last will, under its own instance name only",
        f"topic readwrite hermesh/status/+/{instance}",
        END.format(name=username),
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class AclUpdate:
    text: str
    action: str  # "added", "changed" or "unchanged"


def _blocks(lines: list[str], where: str) -> dict[str, tuple[int, int]]:
    """Managed blocks: name -> (first line index, last line index), both markers included."""
    found: dict[str, tuple[int, int]] = {}
    open_name: str | None = None
    start = 0
    for index, line in enumerate(lines):
        begin, end = _BEGIN_RE.match(line), _END_RE.match(line)
        if begin:
            if open_name is not None:
                raise AclFileError(f"{where} line {index + 1}: block {begin.group(1)!r} starts inside block "
                                   f"{open_name!r}; fix the markers by hand")
            open_name, start = begin.group(1), index
        elif end:
            if open_name is None or open_name != end.group(1):
                raise AclFileError(f"{where} line {index + 1}: end marker for {end.group(1)!r} without its start")
            found[open_name] = (start, index)
            open_name = None
    if open_name is not None:
        raise AclFileError(f"{where}: block {open_name!r} has no end marker ({END.format(name=open_name)!r})")
    return found


def upsert_block(text: str | None, username: str, block: str, where: str) -> AclUpdate:
    """The ACL text with ``username``'s managed block added or replaced; everything else is kept as it is."""
    lines = (text if text is not None else BASE_TEMPLATE).splitlines()
    blocks = _blocks(lines, where)
    span = blocks.get(username)
    for index, line in enumerate(lines):
        if span is not None and span[0] <= index <= span[1]:
            continue
        user = _USER_RE.match(line.strip())
        if user and user.group(1) == username:
            raise AclFileError(
                f"{where} line {index + 1}: 'user {username}' is already configured outside a hermesh block; "
                "remove those lines (or pick another user name) so the satellite's rights are defined once"
            )
    new_lines = block.splitlines()
    if span is not None:
        if lines[span[0] : span[1] + 1] == new_lines and text is not None:
            return AclUpdate(text, "unchanged")
        lines[span[0] : span[1] + 1] = new_lines
        return AclUpdate("\n".join(lines) + "\n", "changed")
    if lines and lines[-1].strip() and not lines[-1].startswith("# ----"):
        lines.append("")
    return AclUpdate("\n".join([*lines, *new_lines]) + "\n", "added")
