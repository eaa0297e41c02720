"""The unread count in the header of every page (a template context processor)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.http import HttpRequest

from .selectors import UNREAD_CAP, unread_count


class UnreadBadge:
    """Counted on first use only (one bounded query), so a page that does not show it pays nothing."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id

    @cached_property
    def count(self) -> int:
        return unread_count(self.user_id)

    @property
    def label(self) -> str:
        return f"{UNREAD_CAP - 1}+" if self.count >= UNREAD_CAP else str(self.count)

    def __bool__(self) -> bool:
        return self.count > 0


def unread(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"inbox_unread": UnreadBadge(user.pk)}
