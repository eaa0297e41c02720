"""The notifications API: the inbox, marking read, channel preferences.

Everything here is the caller's own: another user's notification is a 404, as if it did not exist."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from gongzhi.api.auth import user_of
from gongzhi.core.errors import InvalidInput

from . import selectors, services
from .models import Notification
from .selectors import UNREAD_CAP

router = Router(tags=["消息 notifications"])

MAX_LIMIT = 200


class ReadIn(Schema):
    ids: list[int] = Field(default_factory=list, max_length=services.MAX_IDS, description="要标为已读的消息编号")
    all: bool = Field(False, description="true：全部未读消息标为已读")


class PreferencesIn(Schema):
    email: bool = Field(..., description="同时通过电子邮件接收")
    sms: bool = Field(..., description="同时通过短信接收")


def _out(n: Notification) -> dict[str, Any]:
    return {"id": n.pk, "kind": n.kind, "kind_label": n.get_kind_display(), "message": n.message, "link": n.link,
            "object": {"type": n.object_type, "id": n.object_id} if n.object_type else None,
            "created_at": n.created_at, "read_at": n.read_at, "unread": n.read_at is None}


@router.get("/notifications", response=dict, summary="我的消息 My notifications")
def list_notifications(request: HttpRequest, unread: bool = False, limit: int = Query(50, ge=1, le=200),
                       after: str | None = Query(None, max_length=64)) -> dict[str, Any]:
    user = user_of(request)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.on("limit", f"须在 1 到 {MAX_LIMIT} 之间")
    items, next_cursor = selectors.inbox_page(user, unread_only=unread, after=selectors.parse_cursor(after),
                                              limit=limit)
    return {"items": [_out(n) for n in items], "next": next_cursor}


@router.get("/notifications/unread-count", response=dict, summary="未读消息数 Unread count")
def unread_count(request: HttpRequest) -> dict[str, Any]:
    """Counted up to 100: ``at_least`` is true when there are 100 or more."""
    n = selectors.unread_count(user_of(request).pk)
    return {"count": n, "at_least": n >= UNREAD_CAP}


@router.post("/notifications/read", response=dict, summary="标为已读（多条或全部）Mark read")
def mark_read(request: HttpRequest, payload: ReadIn) -> dict[str, Any]:
    user = user_of(request)
    return {"marked": services.mark_read(actor=user, ids=payload.ids, all=payload.all)}


@router.post("/notifications/{notification_id}/read", response=dict, summary="标为已读 Mark one read")
def mark_one_read(request: HttpRequest, notification_id: int) -> dict[str, Any]:
    user = user_of(request)
    n = selectors.own_notification(user, notification_id)
    if n.read_at is None:
        services.mark_read(actor=user, ids=[n.pk])
        n.refresh_from_db()
    return _out(n)


@router.get("/notifications/preferences", response=dict, summary="提醒方式 Channel preferences")
def get_preferences(request: HttpRequest) -> dict[str, Any]:
    return selectors.preferences_of(user_of(request))


@router.put("/notifications/preferences", response=dict, summary="设置提醒方式 Set channel preferences")
def set_preferences(request: HttpRequest, payload: PreferencesIn) -> dict[str, Any]:
    user = user_of(request)
    services.preferences_set(actor=user, email=payload.email, sms=payload.sms)
    return selectors.preferences_of(user)
