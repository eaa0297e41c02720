"""Notifications to the people a case transition concerns, behind a small interface.

The in-app channel writes :class:`Notification` rows; an SMS or WeChat channel implements :class:`Channel` and is
listed in ``settings.GONGZHI_NOTIFICATION_CHANNELS``. Channels run after the transaction commits, so nobody hears of
a change that rolled back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string


class Channel(Protocol):
    def send(self, *, user_ids: list[int], case_id: int | None, message: str) -> None: ...


class InAppChannel:
    def send(self, *, user_ids: list[int], case_id: int | None, message: str) -> None:
        from .models import Notification

        Notification.objects.bulk_create(
            [Notification(user_id=uid, case_id=case_id, message=message[:300]) for uid in user_ids]
        )


def channels() -> list[Channel]:
    paths = getattr(settings, "GONGZHI_NOTIFICATION_CHANNELS", ["gongzhi.cases.notify.InAppChannel"])
    return [import_string(p)() for p in paths]


def notify(user_ids: Iterable[Any], case_id: int | None, message: str) -> None:
    ids = sorted({int(u) for u in user_ids if u})
    if not ids:
        return

    def deliver() -> None:
        for channel in channels():
            channel.send(user_ids=ids, case_id=case_id, message=message)

    transaction.on_commit(deliver)
