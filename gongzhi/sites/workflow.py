"""A room booking's workflow (F3, 阵地空间预约), declared once and run by the shared engine
(:mod:`gongzhi.core.workflow`): booked, then cancelled by whoever booked it or by the site's keeper
(``Cap.SITE_MANAGE`` on the site's area). Decided in :mod:`gongzhi.sites.services`."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from gongzhi.core.workflow import Workflow, step


class BookingState(models.TextChoices):
    BOOKED = "booked", _("已预约")
    CANCELLED = "cancelled", _("已取消")


BOOKER, KEEPER = "booker", "keeper"

B = BookingState
BOOKING = Workflow(action_prefix="sites.booking", initial=B.BOOKED,
                   conflict_message=_("该预约已被他人处理，请刷新后重试"), transitions=[
    step("cancel", _("取消预约"), {B.BOOKED}, B.CANCELLED, {BOOKER, KEEPER}),
])

ALL = (BOOKING,)
