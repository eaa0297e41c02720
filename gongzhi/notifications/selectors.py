"""Reads of the inbox: a user sees her own notifications only (they hang on her, not on the area tree)."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from gongzhi.core.errors import InvalidInput
from gongzhi.core.masking import mask_phone

from .models import ChannelPreference, Notification

# The header shows at most "99+": counting stops after this many unread rows (one bounded query).
UNREAD_CAP = 100


def unread_count(user_id: int | None) -> int:
    """How many unread notifications the user has, counting no further than UNREAD_CAP."""
    if not user_id:
        return 0
    return Notification.objects.filter(user_id=user_id, read_at__isnull=True)[:UNREAD_CAP].count()


def cursor_of(n: Notification) -> str:
    return base64.urlsafe_b64encode(f"{n.created_at.isoformat()}|{n.pk}".encode()).decode()


def parse_cursor(raw: str | None) -> tuple[dt.datetime, int] | None:
    if not raw:
        return None
    try:
        created, pk = base64.urlsafe_b64decode(raw.encode()).decode().split("|")
        return dt.datetime.fromisoformat(created), int(pk)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput.on("after", _("游标无效")) from None


def inbox_page(user: Any, *, unread_only: bool = False, after: tuple[dt.datetime, int] | None = None,
               limit: int = 50) -> tuple[list[Notification], str | None]:
    """One page of the user's inbox, newest first (keyset on created_at, id), and the cursor of the next page."""
    qs = Notification.objects.filter(user_id=user.pk)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    if after is not None:
        created, pk = after
        qs = qs.filter(Q(created_at__lt=created) | Q(created_at=created, pk__lt=pk))
    rows = list(qs.order_by("-created_at", "-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (cursor_of(rows[-1]) if more and rows else None)


def own_notification(user: Any, pk: int) -> Notification:
    """The user's notification ``pk``; someone else's is :class:`NotFound` (404), as if it did not exist."""
    from gongzhi.core.errors import NotFound

    n = Notification.objects.filter(user_id=user.pk, pk=pk).first()
    if n is None:
        raise NotFound(_("未找到"))
    return n


def preferences_of(user: Any) -> dict[str, Any]:
    """The channels the user chose, and where they would arrive (her own address, her phone masked)."""
    from gongzhi.registry.models import Person

    pref = ChannelPreference.objects.filter(user_id=user.pk).values_list("email", "sms").first() or (False, False)
    phone = Person.objects.filter(user_id=user.pk).values_list("phone", flat=True).first() or ""
    return {"in_app": True, "email": pref[0], "sms": pref[1],
            "email_address": user.email or "", "phone": mask_phone(phone)}
