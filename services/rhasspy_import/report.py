"""The import report: one line per Rhasspy setting, what it became or why it did not carry over."""

from __future__ import annotations

from .convert import CARRIED, NOT_USED
from .files import ImportResult

MARKS = {CARRIED: "ok", NOT_USED: "unused"}


def format_report(result: ImportResult) -> str:
    rows = result.rows
    header = ("Rhasspy setting", "value", "", "Hermesh setting, or why not")
    lines = [(row.key, row.value, MARKS.get(row.outcome, "NO"), row.detail) for row in rows]
    widths = [min(max(len(line[i]) for line in [header, *lines]), cap) for i, cap in enumerate((44, 28, 6))]

    def fit(text: str, width: int) -> str:
        return text.ljust(width) if len(text) <= width else text[: width - 3] + "..."

    out = ["  ".join([*(fit(cell, widths[i]) for i, cell in enumerate(line[:3])), line[3]]).rstrip()
           for line in [header, *lines]]
    out.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 27)
    carried = sum(row.outcome == CARRIED for row in rows)
    unused = sum(row.outcome == NOT_USED for row in rows)
    out.append("")
    out.append(f"{carried} carried over, {len(rows) - carried - unused} not carried, {unused} not used "
               f"(another system is selected).")
    for service, why in result.services_off.items():
        out.append(f"Not run here: {service} ({why}): hermesh up --without {service}")
    verb = "Replaced" if result.replaced else "Wrote"
    out.append(f"{verb} the Hermesh profile {result.target}. Next: hermesh train --profile {result.target}")
    return "\n".join(out)
