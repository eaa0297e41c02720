from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from gongzhi.accounts.services import token_authenticate


class BearerToken(HttpBearer):
    """``Authorization: Bearer <key>`` with a key from the user's API tokens."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(token)
        if user is not None:
            request.user = user  # type: ignore[assignment]
        return user


class Session(SessionAuth):
    """The web pages' session; unsafe methods need the CSRF token (SessionAuth checks it)."""


def user_of(request: HttpRequest) -> Any:
    """The caller, whether they came with a bearer token or the web session."""
    auth = getattr(request, "auth", None)
    return auth if getattr(auth, "is_authenticated", False) else request.user
