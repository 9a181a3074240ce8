"""Errors of the template compiler and recogniser, each naming what the user has to fix."""

from __future__ import annotations


class NluError(Exception):
    """Base of every NLU error; `str(err)` is a complete message for the user."""

    code = "nlu"


class TemplateError(NluError):
    """A sentence template could not be parsed or compiled (names file, line, column)."""

    code = "template"

    def __init__(self, message: str, file: str | None = None, line: int | None = None,
                 column: int | None = None, text: str | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.text = text
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column}")
        prefix = (", ".join(where) + ": ") if where else ""
        suffix = f"\n    {self.text}" if self.text else ""
        if self.text and self.column is not None:
            suffix += "\n    " + " " * max(0, self.column - 1) + "^"
        return f"{prefix}{self.message}{suffix}"


class SlotError(TemplateError):
    """A slot list is missing/empty or a slot program failed (names the slot and the reason)."""

    code = "slot"

    def __init__(self, slot: str, reason: str, file: str | None = None, line: int | None = None,
                 column: int | None = None, text: str | None = None) -> None:
        self.slot = slot
        self.reason = reason
        super().__init__(f"slot ${slot}: {reason}", file, line, column, text)


class ConverterError(NluError):
    """A converter failed or does not exist."""

    code = "converter"


class TrainingError(NluError):
    """Training could not finish; the previous artefacts stay in place."""

    code = "training"
