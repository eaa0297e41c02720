"""Domain errors raised by actions and selectors.

Every entry point (web views, the JSON API, management commands, Excel import) turns these into its own shape; the
API renders all of them as ``{"error": {"code", "message", "fields"}}`` (R3).
"""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str = "", fields: Mapping[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = str(message)
        self.fields: dict[str, list[str]] = {k: [str(m) for m in v] for k, v in (fields or {}).items()}


class InvalidInput(DomainError):
    """Input that fails validation; ``fields`` names each offending field."""

    code = "invalid"
    status = 400

    @classmethod
    def on(cls, field: str, message: str) -> InvalidInput:
        return cls(message, {field: [message]})


class NotFound(DomainError):
    """Also raised for objects outside the caller's scope: an outsider learns nothing (404, not 403)."""

    code = "not_found"
    status = 404


class Forbidden(DomainError):
    """The object is visible to the caller but the action is not theirs to take."""

    code = "forbidden"
    status = 403


class Conflict(DomainError):
    """The object changed under the caller (stale version) or the transition is not allowed from its state."""

    code = "conflict"
    status = 409
