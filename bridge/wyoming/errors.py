"""What a failed Wyoming request sends back: the one mapping of MeshError to Wyoming events.

A mesh failure becomes an ``error`` event whose code names the service and the kind of failure
(``nlu-timeout``, ``tts-error``, ``asr-unavailable``, ...); an intent handler that failed or said nothing is
``not-handled``, the handle protocol's own answer. Client mistakes (audio before transcribe, a bad event) are
``FlowError`` with a code of their own.
"""

from __future__ import annotations

from wyoming.error import Error
from wyoming.event import Event
from wyoming.handle import NotHandled

from ..mesh_client import HANDLER
from ..mesh_error import MeshError, MeshErrorCode

# The suffix of the error code per kind of failure.
MESH_ERROR_SUFFIX: dict[MeshErrorCode, str] = {
    MeshErrorCode.OFFLINE: "unavailable",
    MeshErrorCode.TIMEOUT: "timeout",
    MeshErrorCode.FAILED: "error",
    MeshErrorCode.REJECTED: "rejected",
}


class FlowError(Exception):
    """A request the client got wrong; becomes one Wyoming error event with ``code``."""

    def __init__(self, text: str, code: str) -> None:
        super().__init__(text)
        self.code = code


def mesh_error_event(err: MeshError) -> Event:
    if err.service == HANDLER:
        return NotHandled(text=err.message).event()
    return Error(text=err.message, code=f"{err.service}-{MESH_ERROR_SUFFIX[err.code]}").event()
