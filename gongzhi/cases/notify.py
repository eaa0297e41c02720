"""Notifications to the people a case transition concerns, delivered by :mod:`gongzhi.notifications`.

Each notification links to the case page (``cases:case``) and lands in the inbox; e-mail and SMS follow as each user
chose. Nothing is delivered before the transaction commits, so nobody hears of a change that rolled back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import reverse

from gongzhi.notifications import services
from gongzhi.notifications.models import Kind

from .models import Case

platform_language = services.platform_language


def notify(user_ids: Iterable[Any], case_id: int | None, message: str, *, kind: str | None = None) -> None:
    """Tell ``user_ids`` about case ``case_id`` (``None``: a message about no case). ``kind`` defaults to a case
    step (诉求进展), or a plain notice without a case."""
    if case_id:
        services.notify(user_ids=user_ids, kind=kind or Kind.CASE, message=message,
                        link=reverse("cases:case", args=[case_id]), obj=Case(pk=case_id))
    else:
        services.notify(user_ids=user_ids, kind=kind or Kind.NOTICE, message=message)
