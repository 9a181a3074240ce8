"""The one error family of requests to the mesh (bridge/mesh_client.py): a code, the service, a message.

HTTP maps the codes to statuses in one place (``http_util.MESH_ERROR_STATUS``), Wyoming to events in another
(``wyoming/errors.py``); nothing else turns them into anything.
"""

from __future__ import annotations

from enum import StrEnum


class MeshErrorCode(StrEnum):
    """Why a request to the mesh failed."""

    OFFLINE = "offline"  # no such service: its status says offline, it never came back, or the broker is gone
    TIMEOUT = "timeout"  # nobody answered in time
    REJECTED = "rejected"  # the request itself was refused (bad input, a profile the service cannot train)
    FAILED = "failed"  # the service answered with a Hermes error message


class MeshError(Exception):
    """A request to the mesh that failed; ``str()`` is the message the user reads."""

    def __init__(self, code: MeshErrorCode, service: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.service = service
        self.message = message
