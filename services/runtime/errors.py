"""Errors a service raises on purpose: their text is what the user reads in logs and error messages."""

from __future__ import annotations


class ServiceError(Exception):
    """An expected failure with a message a user can act on; ``context`` overrides the error's context field."""

    def __init__(self, message: str, *, context: str | None = None) -> None:
        super().__init__(message)
        self.context = context


class ServiceTimeout(ServiceError, TimeoutError):
    """A reply that did not arrive in time; the message names the service that should have sent it."""
