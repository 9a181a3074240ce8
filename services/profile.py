"""The user's profile directory: creation from the embedded default profile, and atomic writes into it."""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

from services.nlu.errors import TemplateError

LOG = logging.getLogger("hermesh.profile")

SENTENCES_INI = "sentences.ini"
INTENTS_DIR = "intents"
SLOTS_DIR = "slots"
CUSTOM_WORDS = "custom_words.txt"  # the default of asr.custom_words
_INTENT_HEADER = re.compile(r"^\s*\[([^\]]+)\]\s*$", re.MULTILINE)

DEFAULT_PROFILE = Path(__file__).parent / "profile_default"
# Files whose presence means "this directory already is a profile": never overwrite a user's work.
PROFILE_MARKERS = ("profile.json", "sentences.ini", "intents")


def is_profile(directory: Path) -> bool:
    return any((directory / marker).exists() for marker in PROFILE_MARKERS)


def ensure_profile(directory: Path) -> bool:
    """Copy the embedded English profile into ``directory`` unless it already holds a profile.

    Returns True when the default profile was copied.
    """
    directory = directory.expanduser()
    if is_profile(directory):
        return False
    if not DEFAULT_PROFILE.is_dir():
        raise FileNotFoundError(f"the embedded default profile is missing from the package ({DEFAULT_PROFILE})")
    directory.mkdir(parents=True, exist_ok=True)
    for source in sorted(DEFAULT_PROFILE.rglob("*")):
        if "__pycache__" in source.parts:
            continue
        target = directory / source.relative_to(DEFAULT_PROFILE)
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    LOG.info("created the default English profile in %s", directory)
    return True


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write a file so that readers see either the old or the new content, never a half-written one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def resolve_inside(profile: Path, relative: str) -> Path:
    """``profile / relative``, refusing anything that would escape the profile directory."""
    root = profile.resolve()
    candidate = (root / relative).resolve()
    if candidate != root and root not in candidate.parents:
        raise ValueError(f"{relative!r} points outside the profile directory")
    return candidate


def custom_words_name(profile: Path) -> str:
    """The custom words file, relative to the profile: asr.custom_words of profile.json, or custom_words.txt.
    ValueError when the setting points outside the profile (nothing reads or writes files there)."""
    from services.config import PROFILE_FILE, read_profile_json

    asr = read_profile_json(profile).get("asr", {})
    value = asr.get("custom_words") if isinstance(asr, dict) else None
    if not isinstance(value, str) or not value:
        return CUSTOM_WORDS
    try:
        return resolve_inside(profile, value).relative_to(profile.resolve()).as_posix()
    except ValueError:
        raise ValueError(f"asr.custom_words in {profile / PROFILE_FILE} is {value!r}, outside the profile "
                         "directory; keep the custom words file inside the profile") from None


# ---- reading the sentence files -----------------------------------------------------------------------------
def read_template_text(path: Path, name: str | None = None) -> str:
    """A template or slot file's text; undecodable bytes or a folder in its place are a TemplateError naming
    the file (and the line of the first bad byte), so a broken file fails training instead of the service."""
    name = name or str(path)
    if path.is_dir():
        raise TemplateError("this is a folder, not a file: rename it (a folder must not be named like a "
                            "sentence file) or delete the files inside it", name)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise TemplateError(f"cannot read the file: {err.strerror or err}", name) from err
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise TemplateError(f"the file is not UTF-8 text (byte 0x{data[err.start]:02x})", name, line) from err


def slot_lines(text: str) -> list[str]:
    """A slot file's values: one per non-blank line, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def read_slot_lines(path: Path, strict: bool = False, name: str | None = None) -> list[str]:
    """A slot file's values (see ``Profile.slot_texts`` for ``strict``)."""
    return slot_lines(read_template_text(path, name) if strict else path.read_bytes().decode("utf-8", errors="replace"))


class Profile:
    """Where the profile keeps its sentence files, and the one way to find and read them: the NLU's training,
    the ASR, the dialogue's intent list and the bridge's editor all see the same files in the same order."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def sentence_paths(self) -> list[Path]:
        """sentences.ini first, then intents/**/*.ini in name order (Rhasspy joins them in this order); hidden
        files and folders (editors' backups, ``.git``) are not sentence files."""
        paths: list[Path] = []
        main = self.root / SENTENCES_INI
        if main.exists():
            paths.append(main)
        intents = self.root / INTENTS_DIR
        if intents.is_dir():
            paths.extend(path for path in sorted(intents.rglob("*.ini"))
                         if not any(part.startswith(".") for part in path.relative_to(intents).parts))
        return paths

    def has_sentences(self) -> bool:
        return (self.root / SENTENCES_INI).is_file() or (self.root / INTENTS_DIR).is_dir()

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def sentence_texts(self, *, relative_names: bool = False) -> list[tuple[str, str]]:
        """(name, text) of every sentence file, for training: a file that cannot be read as UTF-8 text (or a
        folder named like one) is a TemplateError naming it. Names are full paths, or relative to the profile."""
        texts = []
        for path in self.sentence_paths():
            name = self.relative(path) if relative_names else str(path)
            texts.append((name, read_template_text(path, name)))
        return texts

    def slot_texts(self, *, strict: bool = False) -> dict[str, list[str]]:
        """{name: values} of every slot file below slots/ (names as templates write them: ``rooms/kitchen``),
        hidden files and folders skipped. Bytes that are not UTF-8 read as U+FFFD (an editor shows them), or,
        ``strict`` (training), a TemplateError naming the file and line."""
        slots_dir = self.root / SLOTS_DIR
        result: dict[str, list[str]] = {}
        if slots_dir.is_dir():
            for path in sorted(slots_dir.rglob("*")):
                rel = path.relative_to(slots_dir)
                if path.is_file() and not any(p.startswith(".") for p in rel.parts):
                    result[rel.as_posix()] = read_slot_lines(path, strict, f"{SLOTS_DIR}/{rel.as_posix()}")
        return result

    def intent_names(self) -> set[str]:
        """The ``[IntentName]`` headers of the sentence files (unreadable files are skipped: training reports
        them; this only has to know which names exist)."""
        names: set[str] = set()
        for path in self.sentence_paths():
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            names |= intent_names_in(text)
        return names


def intent_names_in(text: str) -> set[str]:
    """The ``[IntentName]`` headers of one sentence file's text (a file on disk or a train message's text)."""
    return {match.strip() for match in _INTENT_HEADER.findall(text)}
