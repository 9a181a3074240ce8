"""Reading a Rhasspy 2.5 profile directory and writing the converted Hermesh profile, all or nothing.

The new profile is built in a hidden folder beside the target, checked by loading every section with its
settings model, and only then renamed into place. With ``force`` an existing profile is moved aside first and
removed only once the new one is in place (moved back if the rename fails), so a failed import never leaves the
user with a half profile or none.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .convert import CARRIED, NOT_CARRIED, Conversion, Copy, Row, resolve_path
from .sections import convert_profile

PROFILE_JSON = "profile.json"
# Settings model of each section of our profile.json, as "module:Class" (loaded lazily: the ASR's pulls numpy).
SECTION_MODELS = {
    "asr": "services.asr.service:AsrSettings",
    "nlu": "services.nlu.settings:NluSettings",
    "wake": "services.wake.settings:WakeSettings",
    "tts": "services.tts.settings:TtsSettings",
    "dialogue": "services.dialogue.settings:DialogueSettings",
    "intent_handler": "services.intent_handler.settings:IntentHandlerSettings",
    "audio_input": "services.audio.input_service:AudioInputSettings",
    "audio_output": "services.audio.output_service:AudioOutputSettings",
    "bridge": "bridge.settings:BridgeSettings",
}


class RhasspyImportError(Exception):
    """The import cannot be done; the message names the file or folder and the problem."""


@dataclass
class ImportResult:
    target: Path
    rows: list[Row]
    services_off: dict[str, str] = field(default_factory=dict)
    replaced: bool = False


def read_rhasspy_json(source: Path) -> dict[str, Any]:
    if not source.is_dir():
        raise RhasspyImportError(f"{source}: no such directory (give the Rhasspy profile folder, e.g. "
                                 "~/.config/rhasspy/profiles/en)")
    path = source / PROFILE_JSON
    if not path.is_file():
        raise RhasspyImportError(f"{path}: missing; a Rhasspy 2.5 profile folder holds a profile.json")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise RhasspyImportError(f"{path}: not UTF-8 text (byte {err.start})") from err
    except OSError as err:
        raise RhasspyImportError(f"{path}: cannot be read ({err.strerror})") from err
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise RhasspyImportError(f"{path}: not valid JSON at line {err.lineno}, column {err.colno}: {err.msg}") from err
    if not isinstance(data, dict):
        raise RhasspyImportError(f"{path}: must contain a JSON object, not {type(data).__name__}")
    for name, value in data.items():
        if name in ("mqtt", "speech_to_text", "intent", "wake", "text_to_speech", "dialogue", "handle",
                    "home_assistant", "sounds", "microphone", "webhooks", "command", "training") \
                and not isinstance(value, dict):
            raise RhasspyImportError(f"{path}: key '{name}' must be an object, not {type(value).__name__}")
    return data


def _setting(data: dict[str, Any], *keys: str, default: str) -> str:
    node: Any = data
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, str) and node else default


def sentence_files(data: dict[str, Any], source: Path) -> list[tuple[str, Copy]]:
    """(Rhasspy setting, copy) of the templates, slots, programs, converters, custom words and stop words."""
    system = _setting(data, "speech_to_text", "system", default="pocketsphinx")
    wanted = [
        ("speech_to_text.sentences_ini", _setting(data, "speech_to_text", "sentences_ini", default="sentences.ini"),
         "sentences.ini"),
        ("speech_to_text.sentences_dir", _setting(data, "speech_to_text", "sentences_dir", default="intents"),
         "intents"),
        ("speech_to_text.slots_dir", _setting(data, "speech_to_text", "slots_dir", default="slots"), "slots"),
        ("speech_to_text.slot_programs_dir",
         _setting(data, "speech_to_text", "slot_programs_dir", default="slot_programs"), "slot_programs"),
        ("intent.fsticuffs.converters_dir",
         _setting(data, "intent", "fsticuffs", "converters_dir", default="converters"), "converters"),
        (f"speech_to_text.{system}.custom_words",
         _setting(data, "speech_to_text", system, "custom_words", default="custom_words.txt"), "custom_words.txt"),
        ("stop_words.txt", "stop_words.txt", "stop_words.txt"),
    ]
    found = []
    for key, raw, target in wanted:
        path = resolve_path(raw, source)
        if path is not None and path.exists():
            found.append((key, Copy(path, target)))
    return found


def _file_row(key: str, copy: Copy) -> Row:
    if copy.source.is_dir():
        count = sum(1 for p in copy.source.rglob("*") if p.is_file())
        return Row(f"(files) {key}", f"{count} file(s)", CARRIED, f"{copy.target}/")
    return Row(f"(file) {key}", copy.source.name, CARRIED, copy.target)


def _copy(copy: Copy, staging: Path) -> None:
    destination = staging / copy.target
    destination.parent.mkdir(parents=True, exist_ok=True)
    if copy.source.is_dir():
        shutil.copytree(copy.source, destination, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    else:
        shutil.copy2(copy.source, destination)


def validate_profile(profile: Path) -> None:
    """Load every section with its settings model, as the services will (raises ConfigError naming the key)."""
    from services.config import load_common, load_section
    from services.nlu.training import profile_settings
    from services.runner import load_class

    common = load_common(profile, {"profile": profile})
    for section, class_path in SECTION_MODELS.items():
        load_section(load_class(class_path), common, section)
    profile_settings(profile)


def _check_target(source: Path, target: Path, force: bool) -> None:
    real_source, real_target = source.resolve(), target.resolve()
    if real_target == real_source or real_source in real_target.parents or real_target in real_source.parents:
        raise RhasspyImportError(f"{target}: the Hermesh profile must be outside the Rhasspy profile and not "
                                 "contain it")
    if target.exists() and not target.is_dir():
        raise RhasspyImportError(f"{target}: exists and is not a folder")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise RhasspyImportError(f"{target}: already holds a profile (or other files); nothing was written. "
                                 "Use --force to replace it, or --to another folder")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def import_profile(source: Path, target: Path, force: bool = False) -> ImportResult:
    """Convert the Rhasspy profile at ``source`` into a Hermesh profile at ``target``."""
    source, target = Path(source).expanduser(), Path(target).expanduser()
    data = read_rhasspy_json(source)
    _check_target(source, target, force)
    conversion: Conversion = convert_profile(data, source, target)
    files = sentence_files(data, source)
    rows = conversion.rows + [_file_row(key, copy) for key, copy in files]
    if not any(copy.target in ("sentences.ini", "intents") for _, copy in files):
        rows.append(Row("(files) sentences", "", NOT_CARRIED, "no sentences.ini or intents/ found: the new "
                        "profile has no intents until you add some"))
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.import-", dir=target.parent))
    try:
        os.chmod(staging, 0o777 & ~_umask())
        for copy in [copy for _, copy in files] + conversion.copies:
            _copy(copy, staging)
        settings = {"language": "en", **conversion.settings}
        profile_json = staging / PROFILE_JSON
        profile_json.write_text(json.dumps(settings, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        if _has_secret(settings):
            os.chmod(profile_json, 0o600)
        try:
            validate_profile(staging)
        except Exception as err:
            raise RhasspyImportError(f"the converted profile does not load ({err}); nothing was written") from err
        replaced = _swap_in(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ImportResult(target, rows, conversion.services_off, replaced)


def _has_secret(settings: dict[str, Any]) -> bool:
    handler = settings.get("intent_handler", {}).get("home_assistant", {})
    return bool(settings.get("mqtt", {}).get("password") or handler.get("access_token"))


def _swap_in(staging: Path, target: Path) -> bool:
    """Rename the finished profile into place; an existing one is kept aside until then. True if replaced."""
    if not target.exists() or (target.is_dir() and not any(target.iterdir())):
        os.replace(staging, target)  # rename(2) replaces an empty folder atomically
        return False
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.previous-", dir=target.parent))
    os.replace(target, aside / "profile")
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(aside / "profile", target)
        raise
    shutil.rmtree(aside, ignore_errors=True)
    return True
