"""What a site id may look like, wherever it comes from (HTTP, MQTT payloads, Wyoming, the profile).

A site id becomes an MQTT topic level (``hermes/audioServer/<siteId>/...``), so '/', '+' and '#' would change
the topic's meaning (another level, or a wildcard in a subscription). This is the one rule; every entry point
asks it.
"""

from __future__ import annotations

from .mqtt_text import mqtt_text_problem

SITE_ID_MAX_CHARS = 64


def site_id_problem(site: object) -> str | None:
    """Why ``site`` cannot be a site id, or None when it can."""
    if isinstance(site, str) and not site:
        return "site id must not be empty"
    if isinstance(site, str) and len(site) > SITE_ID_MAX_CHARS:
        return f"site id {site[:20]!r}... is longer than {SITE_ID_MAX_CHARS} characters"
    return topic_level_problem(site, "site id")


def check_site_id(site: str) -> str:
    """``site`` itself, or ValueError saying what is wrong with it (for pydantic validators)."""
    problem = site_id_problem(site)
    if problem:
        raise ValueError(problem)
    return site


def topic_level_problem(value: object, what: str) -> str | None:
    """Why ``value`` cannot be one topic level (a session id, a wake word id, a request id), or None when it
    can. No length bound beyond the topic's: other Hermes clients choose their own."""
    if not isinstance(value, str):
        return f"{what} {value!r} must be a string"
    if any(c in value for c in "/+#"):
        return f"{what} {value[:40]!r} must not contain '/', '+' or '#'"
    problem = mqtt_text_problem(value)
    if problem:
        return f"{what} {value[:40]!r} must not contain a {problem}"
    return None


def session_id_problem(session: object) -> str | None:
    """Why ``session`` cannot be a session id (a topic level of audioSessionFrame and audioCaptured)."""
    return topic_level_problem(session, "session id")


def check_session_id(session: str) -> str:
    problem = session_id_problem(session)
    if problem:
        raise ValueError(problem)
    return session
