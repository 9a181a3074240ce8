"""The profile's training files as the HTTP API sees them: sentences, slots, custom words (pure file I/O).

Every name coming from a request goes through ``safe_path``: it must stay inside its folder of the profile,
and writes are atomic (services.profile.write_atomic).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from services.profile import (
    CUSTOM_WORDS,
    INTENTS_DIR,
    SENTENCES_INI,
    SLOTS_DIR,
    Profile,
    read_slot_lines,
    resolve_inside,
    write_atomic,
)

SLOT_PROGRAMS_DIR = "slot_programs"
CONVERTERS_DIR = "converters"

_NAME_PART = re.compile(r"^[^\x00-\x1f/\\]+$")


class ProfileFileError(ValueError):
    """A request names a file it may not touch, or sends content that cannot be stored."""


class ProfileFileConflict(ProfileFileError):
    """The name is taken by something of the other kind: a directory where a file should be, or the reverse."""


def check_writable(path: Path, base: Path, name: str) -> None:
    """Refuse (409) a file name that is a directory, or one below a part that is a file."""
    if base.exists() and not base.is_dir():
        raise ProfileFileConflict(f"{name!r}: {base.name!r} in the profile is a file, not a folder")
    if path.is_dir():
        raise ProfileFileConflict(f"{name!r} is a directory in the profile; choose another name or delete the "
                                  "files inside it first")
    parent = path.parent
    while parent != base and base in parent.parents:
        if parent.exists() and not parent.is_dir():
            raise ProfileFileConflict(f"{name!r}: {parent.relative_to(base).as_posix()!r} is a file, so it "
                                      "cannot hold other files; choose another name")
        parent = parent.parent


def delete_file(path: Path, base: Path, name: str) -> None:
    """Delete a file written through the API, and the folders that only held it (up to ``base``)."""
    check_writable(path, base, name)
    if path.exists():
        path.unlink()
    parent = path.parent
    while parent != base and base in parent.parents:
        try:
            parent.rmdir()  # only succeeds while empty
        except OSError:
            break
        parent = parent.parent


def safe_path(profile: Path, folder: str, name: str) -> Path:
    """``profile/folder/name`` for a user-supplied name; refuses absolute paths, '..', hidden and empty parts."""
    if not name or name.startswith("/") or "\\" in name:
        raise ProfileFileError(f"invalid name {name!r}: use a relative name such as 'colors' or 'rooms/kitchen'")
    parts = name.split("/")
    for part in parts:
        if not part or part in (".", "..") or part.startswith(".") or not _NAME_PART.match(part):
            raise ProfileFileError(f"invalid name {name!r}: each part must be a plain file name (no '..', no '.x')")
    base = profile / folder if folder else profile
    try:
        path = resolve_inside(base, name)
        resolve_inside(profile, str(path.relative_to(profile.resolve())))
    except ValueError as err:
        raise ProfileFileError(f"{name!r} points outside the profile's {folder or 'directory'}") from err
    return path


# ---- sentences ----------------------------------------------------------------------------------------------
def sentence_files(profile: Path, *, strict: bool = False) -> dict[str, str]:
    """{relative path: text} of sentences.ini and intents/*.ini (recursive), sorted.

    For reading (the editor) a file with bytes that are not UTF-8 is shown with U+FFFD in their place, so the
    user can see and fix it. ``strict`` (training) instead raises TemplateError naming the file and line, and
    refuses a folder named like a sentence file, as the NLU does when it trains from the profile itself."""
    reader = Profile(profile)
    if strict:
        return dict(reader.sentence_texts(relative_names=True))
    return {reader.relative(path): path.read_bytes().decode("utf-8", errors="replace")
            for path in reader.sentence_paths() if path.is_file()}


def sentence_path(profile: Path, relpath: str, *, deleting: bool = False) -> Path:
    """Only sentences.ini and .ini files below intents/ can be written through the API (and deleted, even
    below a folder named '.ini' that was made on disk, so whatever GET /api/sentences lists can be removed)."""
    if relpath == SENTENCES_INI:
        return profile / SENTENCES_INI
    if not relpath.startswith(INTENTS_DIR + "/") or not relpath.endswith(".ini"):
        raise ProfileFileError(f"{relpath!r}: sentence files are 'sentences.ini' or 'intents/<name>.ini'")
    if not deleting and any(part.endswith(".ini") for part in relpath.split("/")[1:-1]):
        raise ProfileFileError(f"{relpath!r}: a folder name must not end in '.ini' (it would look like a file)")
    return safe_path(profile, INTENTS_DIR, relpath[len(INTENTS_DIR) + 1 :])


def write_sentence_files(profile: Path, files: dict[str, str]) -> list[str]:
    """Write (or, for blank text, delete) several sentence files; all names are checked before any write."""
    for relpath, text in files.items():
        if not isinstance(text, str):
            raise ProfileFileError(f"{relpath!r}: the file's text must be a string")
    targets = [(relpath, sentence_path(profile, relpath, deleting=not text.strip()), text)
               for relpath, text in files.items()]
    intents = (profile / INTENTS_DIR).resolve()

    def base_of(relpath: str) -> Path:
        return profile.resolve() if relpath == SENTENCES_INI else intents

    for relpath, path, _text in targets:
        check_writable(path, base_of(relpath), relpath)
    written = []
    for relpath, path, text in targets:
        if text.strip():
            write_atomic(path, text)
        else:
            delete_file(path, base_of(relpath), relpath)
        written.append(relpath)
    return written


# ---- slots --------------------------------------------------------------------------------------------------
def all_slots(profile: Path, *, strict: bool = False) -> dict[str, list[str]]:
    """{name: values} of every slot file; ``strict`` (training) as for sentence_files."""
    return Profile(profile).slot_texts(strict=strict)


def read_slot(profile: Path, name: str) -> list[str]:
    path = safe_path(profile, SLOTS_DIR, name)
    if path.is_dir():
        raise ProfileFileConflict(f"{name!r} is a folder of slots, not a slot; GET /api/slots lists them all")
    return read_slot_lines(path) if path.is_file() else []


def _unique(values: list[str]) -> list[str]:
    """Values in first-seen order without duplicates (Rhasspy used a set: arbitrary order, §8.9 fixed)."""
    return list(dict.fromkeys(values))


def slot_values(name: str, value: object) -> list[str]:
    if isinstance(value, str):
        values = [value]
    elif isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        values = [str(v) for v in value]
    else:
        raise ProfileFileError(f"slot {name!r}: values must be a string or a list of strings")
    cleaned = []
    for v in values:
        if "\n" in v.strip() or "\r" in v:
            raise ProfileFileError(f"slot {name!r}: a value must be one line ({v!r})")
        if v.strip():
            cleaned.append(v.strip())
    return cleaned


def write_slots(profile: Path, slots: dict[str, object], overwrite: bool) -> list[Path]:
    """Merge (default) or replace slot files; a slot left without values is deleted. Checks all names first."""
    planned = [(safe_path(profile, SLOTS_DIR, name), name, slot_values(name, value)) for name, value in slots.items()]
    base = (profile / SLOTS_DIR).resolve()
    for path, name, _values in planned:
        check_writable(path, base, name)
    written = []
    for path, name, values in planned:
        existing = read_slot_lines(path) if path.is_file() and not overwrite else []
        final = _unique(existing + values)
        if final:
            write_atomic(path, "\n".join(final) + "\n")
        else:
            delete_file(path, base, name)
        written.append(path)
    return written


# ---- custom words -------------------------------------------------------------------------------------------
def parse_custom_words(text: str) -> dict[str, list[str]]:
    """The JSON view of custom_words.txt, {word: [pronunciation, ...]}, read by the ASR's own reader (one parser
    of the format). A line with phones the model lacks is shown as written: training refuses it only when a
    sentence uses the word."""
    from services.phonetics import PronunciationDictionary

    words = PronunciationDictionary()
    words.merge_text(text, CUSTOM_WORDS, check=True, problems={})
    return {word: [" ".join(phones) for phones in words.lookup(word)] for word in words.words()}


def read_text_file(profile: Path, relpath: str) -> str:
    path = profile / relpath
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def write_custom_words(profile: Path, relpath: str, text: str) -> tuple[Path, int]:
    # The ASR reads the file with every phone checked against its phone set: a file it would refuse, written
    # here, made every later lookup and training fail (found by the OpenAPI fuzzer), so refuse it now.
    from services.phonetics import PronunciationDictionary, PronunciationError

    try:
        PronunciationDictionary().merge_text(text, relpath, check=True)
    except PronunciationError as err:
        raise ProfileFileError(str(err)) from err
    path = safe_path(profile, "", relpath)
    check_writable(path, profile.resolve(), relpath)
    lines = [line for line in text.splitlines() if line.strip()]
    write_atomic(path, "\n".join(lines) + ("\n" if lines else ""))
    return path, len(lines)


# ---- backup -------------------------------------------------------------------------------------------------
BACKUP_ITEMS = ("profile.json", SENTENCES_INI, INTENTS_DIR, SLOTS_DIR, SLOT_PROGRAMS_DIR, CONVERTERS_DIR,
                CUSTOM_WORDS)


def backup_zip(profile: Path) -> bytes:
    """A zip of the user's profile files (not trained artefacts)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in BACKUP_ITEMS:
            path = profile / item
            if path.is_file():
                archive.write(path, item)
            elif path.is_dir():
                for child in sorted(path.rglob("*")):
                    if child.is_file() and not child.name.startswith("."):
                        archive.write(child, child.relative_to(profile).as_posix())
    return buffer.getvalue()

