"""Moving over from Rhasspy 2.5: ``hermesh import-rhasspy`` converts a Rhasspy profile folder into ours.

``convert``: the bookkeeping (one report row per Rhasspy setting); ``sections``: what each Rhasspy section
becomes; ``files``: reading the Rhasspy folder and writing the new profile atomically; ``report``: the table.
"""

from __future__ import annotations

from .convert import CARRIED, NOT_CARRIED, NOT_USED, Row
from .files import SECTION_MODELS, ImportResult, RhasspyImportError, import_profile, validate_profile
from .report import format_report

__all__ = ["CARRIED", "NOT_CARRIED", "NOT_USED", "SECTION_MODELS", "ImportResult", "RhasspyImportError", "Row",
           "format_report", "import_profile", "validate_profile"]
