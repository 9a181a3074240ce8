"""Where slot values come from: texts given in memory, slots/ files, slot_programs/ executables, built-ins."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from services.profile import read_template_text

from .errors import SlotError
from .expressions import Where

# (template text, where it comes from, line number); the Where is only built when a line needs parsing
SlotLine = tuple[str, str, int]


def slot_line_where(line: SlotLine) -> Where:
    return Where(line[1], line[2], 1, line[0])

_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december"]


class SlotSource:
    """Resolves `$name[,args]` to template lines with their origin (for error messages)."""

    def __init__(self, profile_dir: Path | None = None, slots: dict[str, list[str]] | None = None,
                 slot_programs: dict[str, Path] | None = None, program_timeout: float = 30.0) -> None:
        self.profile_dir = Path(profile_dir) if profile_dir is not None else None
        self.slots = slots or {}
        self.slot_programs = slot_programs or {}
        self.program_timeout = program_timeout

    def lines(self, key: str) -> list[SlotLine]:
        name, *args = key.split(",")
        for candidate in (key, name):
            if candidate in self.slots:
                values = self.slots[candidate]
                return _non_empty(key, [(v.strip(), f"slot {candidate}", i + 1) for i, v in enumerate(values)])
        if self.profile_dir is not None:
            slots_dir = self.profile_dir / "slots"
            for candidate in (key, name) if args else (name,):
                path = slots_dir / candidate
                if path.is_file():
                    return _non_empty(key, _file_lines(path))
            program = self.profile_dir / "slot_programs" / name
            if program.is_file():
                return _non_empty(key, self._run(key, program, args))
        if name in self.slot_programs:
            return _non_empty(key, self._run(key, self.slot_programs[name], args))
        builtin = builtin_slot_values(name, args)
        if builtin is not None:
            return [(v, f"built-in slot {name}", i + 1) for i, v in enumerate(builtin)]
        where = (f"no file {self.profile_dir / 'slots' / name} and no program "
                 f"{self.profile_dir / 'slot_programs' / name}") if self.profile_dir else "no such slot list was given"
        raise SlotError(key, f"missing slot list ({where})")

    def _run(self, key: str, program: Path, args: list[str]) -> list[SlotLine]:
        if not os.access(program, os.X_OK):
            raise SlotError(key, f"slot program {program} is not executable (chmod +x it)")
        try:
            proc = subprocess.run([str(program), *args], capture_output=True, text=True,
                                  timeout=self.program_timeout, check=False)
        except OSError as err:
            raise SlotError(key, f"slot program {program} could not run: {err}") from err
        except subprocess.TimeoutExpired as err:
            raise SlotError(key, f"slot program {program} did not finish within {self.program_timeout} s") from err
        if proc.returncode != 0:
            detail = proc.stderr.strip()[-400:] or "no error output"
            raise SlotError(key, f"slot program {program} failed with exit code {proc.returncode}: {detail}")
        values = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
        if not values:
            raise SlotError(key, f"slot program {program} printed no values")
        return [(v, f"output of {program}", i + 1) for i, v in enumerate(values)]


def _file_lines(path: Path) -> list[SlotLine]:
    origin = str(path)
    return [(line, origin, number) for number, line in
            enumerate((raw.strip() for raw in read_template_text(path).splitlines()), start=1) if line]


def _non_empty(key: str, lines: list[SlotLine]) -> list[SlotLine]:
    lines = [line for line in lines if line[0]]
    if not lines:
        raise SlotError(key, "the slot list is empty")
    return lines


# A number range makes one graph path per value (about 10 us each to compile): 0..100000000 would hold the
# trainer for a quarter of an hour and gigabytes of memory, so ranges are capped well above any spoken use.
MAX_RANGE_VALUES = 100_000


def builtin_slot_values(name: str, args: list[str]) -> list[str] | None:
    if name == "rhasspy/number":
        try:
            lo, hi = int(args[0]), int(args[1])
            step = int(args[2]) if len(args) > 2 and args[2] else 1
        except (IndexError, ValueError) as err:
            raise SlotError(name, f"expects arguments low,high[,step] (got {','.join(args)!r})") from err
        if step <= 0:
            raise SlotError(name, f"the step of a number range must be positive (got {step})")
        if lo > hi:
            raise SlotError(name, f"empty number range {lo}..{hi}")
        if (hi - lo) // step + 1 > MAX_RANGE_VALUES:
            raise SlotError(name, f"the number range {lo}..{hi} has more than {MAX_RANGE_VALUES:,} values")
        return [str(i) for i in range(lo, hi + 1, step)]
    if name == "rhasspy/days":
        return list(_DAYS)
    if name == "rhasspy/months":
        return list(_MONTHS)
    return None
