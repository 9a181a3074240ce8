"""Snips injection applied to the profile's files: what a Snips app adds to its slot lists (entities) and lexicon.

Pure file work, no broker (the service, service.py, trains and answers). The request is Snips' own::

    {"id": "req-1", "crossLanguage": "en", "lexicon": {"zorblax": ["Z AO R B L AE K S"]},
     "operations": [["add", {"device": ["kitchen radio", ["hall speaker", 2]]}],
                    ["addFromVanilla", {"playlist": ["road trip"]}]]}

* ``add`` adds the values to the slot list as it is now (earlier injections included); ``addFromVanilla`` starts
  again from the list as the user wrote it, before any injection, then adds. Values are strings or Snips'
  ``[value, weight]`` pairs; a closed grammar has no weights, so they are dropped.
* An entity is a slot file of the profile, ``slots/<name>`` (names may have folders, ``home/rooms``). It must
  exist or be used as ``$name`` by a sentence: an injection into nothing is a typo, refused with the names there
  are.
* A value is a literal name, not a template: characters that mean something in a template (``( ) [ ] { } < > |
  : ! $ #``) become spaces, so "Song (Remix)" is spoken and matched as "Song Remix".
* ``lexicon`` gives pronunciations (ARPAbet phones separated by spaces); they go to the custom words file, where
  they win over the dictionary. A word without one gets a guess from g2p when the ASR trains, as any new word.

Before the first change to a file, its text as the user left it (or its absence) is kept in
``<profile>/.injection/vanilla.json``; ``reset`` puts every such file back. Each apply also returns the files as
they were just before it, so a training that fails can put the profile back as it was. Every write is atomic.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.profile import (
    SLOTS_DIR,
    Profile,
    custom_words_name,
    resolve_inside,
    slot_lines,
    write_atomic,
)

KINDS = ("add", "addFromVanilla")
STATE_FILE = ".injection/vanilla.json"  # hidden: no reader of slots or sentences sees it
TEMPLATE_SYNTAX = re.compile(r"[()\[\]{}<>|:!$#\\]")
MAX_NAME_CHARS = 200
MAX_VALUE_CHARS = 500
_NAME_PART = re.compile(r"^[^\x00-\x1f\\]+$")
_SLOT_REFERENCE = re.compile(r"\$([A-Za-z0-9_./-]+)")


class InjectionRequestError(ValueError):
    """The request is at fault (unknown operation or entity, a bad value): nothing was written."""


@dataclass(frozen=True)
class Operation:
    kind: str  # one of KINDS
    values: dict[str, list[str]]  # slot name -> spoken values in order


@dataclass
class Plan:
    operations: list[Operation]
    lexicon: dict[str, list[str]]  # word -> pronunciations ("K IH CH AH N")
    skipped: list[str] = field(default_factory=list)  # values that had nothing left to say


def spoken_form(value: str) -> str:
    return " ".join(TEMPLATE_SYNTAX.sub(" ", value).split())


def _check_entity(name: Any) -> str:
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_CHARS:
        raise InjectionRequestError(f"an entity must be a slot name such as 'device' or 'home/rooms', not {name!r}")
    parts = name.split("/")
    if name.startswith("/") or any(not p or p in (".", "..") or p.startswith(".") or not _NAME_PART.match(p)
                                   for p in parts):
        raise InjectionRequestError(f"entity {name[:80]!r} is not a plain slot name (no '..', no hidden parts)")
    return name


def _value_text(entity: str, value: Any) -> str:
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], int | float):
        value = value[0]  # Snips' [value, weight]
    if not isinstance(value, str):
        raise InjectionRequestError(f"entity {entity!r}: a value is a string or [string, weight], not {value!r:.80}")
    if len(value) > MAX_VALUE_CHARS or "\n" in value or "\r" in value:
        raise InjectionRequestError(f"entity {entity!r}: a value is one line of at most {MAX_VALUE_CHARS} "
                                    f"characters ({value[:40]!r}...)")
    return value


def parse_request(operations: Any, lexicon: Any) -> Plan:
    """The request checked whole before anything is written."""
    if not isinstance(operations, list):
        raise InjectionRequestError("operations must be a list of [kind, {entity: [values]}]")
    plan = Plan([], {})
    for item in operations:
        if not (isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[1], dict)):
            raise InjectionRequestError(f"an operation is [kind, {{entity: [values]}}], not {item!r:.120}")
        kind, entities = item
        if kind not in KINDS:
            raise InjectionRequestError(f"unknown operation {kind!r:.40}: Snips has {' and '.join(KINDS)}")
        values: dict[str, list[str]] = {}
        for entity, raw in entities.items():
            _check_entity(entity)
            if not isinstance(raw, list):
                raise InjectionRequestError(f"entity {entity!r}: the values are a list")
            spoken = []
            for value in raw:
                text = _value_text(entity, value)
                said = spoken_form(text)
                if said:
                    spoken.append(said)
                else:
                    plan.skipped.append(f"{entity}: {text!r} has nothing to say once template characters go")
            values[entity] = spoken
        plan.operations.append(Operation(kind, values))
    if not isinstance(lexicon, dict):
        raise InjectionRequestError("lexicon must be {word: [pronunciation, ...]}")
    for word, prons in lexicon.items():
        if not isinstance(word, str) or not word or len(word) > MAX_NAME_CHARS or word != spoken_form(word) \
                or " " in word:
            raise InjectionRequestError(f"lexicon: {word!r:.60} is not one word")
        if not isinstance(prons, list) or not all(isinstance(p, str) and p.split() for p in prons):
            raise InjectionRequestError(f"lexicon: the pronunciations of {word!r} are a list of phone strings "
                                        "such as 'K IH CH AH N'")
        plan.lexicon[word] = [" ".join(p.split()) for p in prons]
    return plan


# ---- the files ----------------------------------------------------------------------------------------------
Snapshot = dict[str, str | None]  # profile-relative path -> text, or None when the file did not exist


class InjectionStore:
    def __init__(self, profile: Path) -> None:
        self.profile = Path(profile)

    # what the user wrote, before any injection
    def _state(self) -> dict[str, Any]:
        path = self.profile / STATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"files": {}, "last": None}
        except (OSError, ValueError) as err:
            raise OSError(f"{path} is unreadable ({err}); remove it to start again from the files as they are "
                          "(a reset then has nothing to put back)") from err
        return data if isinstance(data, dict) and isinstance(data.get("files"), dict) else {"files": {}, "last": None}

    def last_injection(self) -> str | None:
        last = self._state().get("last")
        return last if isinstance(last, str) else None

    def _read(self, relpath: str) -> str | None:
        path = resolve_inside(self.profile, relpath)
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def _write(self, relpath: str, text: str | None) -> None:
        path = resolve_inside(self.profile, relpath)
        if text is None:
            path.unlink(missing_ok=True)
        else:
            write_atomic(path, text)

    def _known_slots(self) -> set[str]:
        profile = Profile(self.profile)
        known = set(profile.slot_texts())
        for _name, text in profile.sentence_texts():
            known.update(_SLOT_REFERENCE.findall(text))
        return known

    def apply(self, plan: Plan) -> Snapshot:
        """Write the plan's changes; returns the touched files as they were just before (for ``restore``)."""
        known = self._known_slots()
        for operation in plan.operations:
            unknown = sorted(set(operation.values) - known)
            if unknown:
                raise InjectionRequestError(
                    f"no slot {', '.join(map(repr, unknown))} in the profile: an entity is a file of "
                    f"{self.profile / SLOTS_DIR} or a $name of the sentences; there are: "
                    f"{', '.join(sorted(known)) or 'none'}")
        state = self._state()
        vanilla: Snapshot = state["files"]
        new: dict[str, str | None] = {}  # relpath -> text after this injection
        for operation in plan.operations:
            for entity, values in operation.values.items():
                relpath = f"{SLOTS_DIR}/{entity}"
                if relpath not in new:
                    new[relpath] = self._read(relpath)
                vanilla.setdefault(relpath, new[relpath])
                base = vanilla[relpath] if operation.kind == "addFromVanilla" else new[relpath]
                lines = slot_lines(base or "")
                new[relpath] = "".join(f"{line}\n" for line in dict.fromkeys([*lines, *values]))
        if plan.lexicon:
            relpath = custom_words_name(self.profile)
            current = self._read(relpath)
            vanilla.setdefault(relpath, current)
            lines = slot_lines(current or "")
            added = [f"{word} {pron}" for word, prons in plan.lexicon.items() for pron in prons]
            new[relpath] = "".join(f"{line}\n" for line in dict.fromkeys([*lines, *added]))
        before = {relpath: self._read(relpath) for relpath in new}
        # the vanilla texts are safe on disk before any file changes: a crash midway can still be reset
        state["last"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        write_atomic(self.profile / STATE_FILE, json.dumps(state, indent=1, ensure_ascii=False))
        for relpath, text in new.items():
            self._write(relpath, text)
        return before

    def restore(self, snapshot: Snapshot) -> None:
        for relpath, text in snapshot.items():
            self._write(relpath, text)

    def reset(self) -> list[str]:
        """Every injected file back as the user left it; the files put back."""
        state = self._state()
        files: Snapshot = state["files"]
        self.restore(files)
        (self.profile / STATE_FILE).unlink(missing_ok=True)
        return sorted(files)

