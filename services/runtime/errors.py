"""Errors a service raises on purpose: their text is what the user reads in logs and error messages."""

from __future__ import annotations

import logging


class ServiceError(Exception):
    """An expected failure with a message a user can act on; ``context`` overrides the error's context field."""

    log_level = logging.ERROR

    def __init__(self, message: str, *, context: str | None = None) -> None:
        super().__init__(message)
        self.context = context


class ServiceTimeout(ServiceError, TimeoutError):
    """A reply that did not arrive in time; the message names the service that should have sent it."""


class PayloadTooLarge(ServiceError):
    """A received payload over its topic's cap (services/runtime/payload_caps.py): dropped unread."""

    log_level = logging.WARNING  # the service is fine; the sender is not

    def __init__(self, message: str, *, topic: str, site_id: str | None) -> None:
        super().__init__(message, context=topic)
        self.site_id = site_id


class ServiceOffline(ServiceError):
    """The service a wait depends on went offline (its status topic: every instance gone), so no reply will come."""

    def __init__(self, service: str, message: str | None = None) -> None:
        super().__init__(message or f"the {service} service went offline (hermesh/status/{service}/...) while "
                         f"this request waited for it; it is restarted by `hermesh up`, retry then")
        self.service = service


class BrokerLost(ServiceError):
    """The broker connection dropped while a reply was awaited: what was published meanwhile never reaches us."""
