"""The application's workflow (F2, 前台综合受理 → 后台分类审批 → 统一窗口出件), declared once and run by the shared
engine (:mod:`gongzhi.core.workflow`).

Read a row as: from any of these states, these actors may take the step to the target. Who counts as which actor is
decided in :mod:`gongzhi.govservice.services`:

- ``window``: holds ``Cap.SERVICE_ACCEPT`` — anywhere in the city to accept (全市通办: any window accepts for any
  resident), on the accepting window's area or the resident's home area for the later window steps (补正材料收件,
  出件).
- ``department``: a handler (``Cap.SERVICE_DECIDE``) of the member unit that decides the item.
- ``applicant``: the resident the application is for (she adds a missing material from the phone and rates it).

A window that accepts with a required material missing takes ``accept_awaiting`` (一次性告知: the list of what is
missing is recorded) and the clock is stopped from the start. While 待补正 the working-day clock stops; the days
stopped extend the deadline (checked in the service). 办结 is
either approved or refused with its reason; 不予受理 says why.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from gongzhi.core.workflow import Workflow, step


class ApplicationState(models.TextChoices):
    SUBMITTED = "submitted", _("待受理")
    PROCESSING = "processing", _("办理中")
    AWAITING = "awaiting", _("待补正")
    DECIDED = "decided", _("已办结")
    ISSUED = "issued", _("已出件")
    REJECTED = "rejected", _("不予受理")


class RectificationState(models.TextChoices):
    OPEN = "open", _("待整改")
    ANSWERED = "answered", _("已整改")


WINDOW, DEPARTMENT, APPLICANT = "window", "department", "applicant"

A = ApplicationState
APPLICATION = Workflow(action_prefix="govservice.application", initial=A.SUBMITTED,
                       conflict_message=_("该申请已被他人处理，请刷新后重试"), transitions=[
    step("accept", _("受理"), {A.SUBMITTED}, A.PROCESSING, {WINDOW}),
    step("accept_awaiting", _("受理并一次性告知补正"), {A.SUBMITTED}, A.AWAITING, {WINDOW}),
    step("reject", _("不予受理"), {A.SUBMITTED}, A.REJECTED, {WINDOW}, reason=True),
    step("request_materials", _("要求补正"), {A.PROCESSING}, A.AWAITING, {DEPARTMENT}, reason=True),
    step("supplement", _("补正材料"), {A.AWAITING}, A.PROCESSING, {WINDOW, APPLICANT}),
    step("approve", _("办结（准予）"), {A.PROCESSING}, A.DECIDED, {DEPARTMENT}),
    step("refuse", _("办结（不予许可）"), {A.PROCESSING}, A.DECIDED, {DEPARTMENT}, reason=True),
    step("issue", _("出件"), {A.DECIDED}, A.ISSUED, {WINDOW}),
    step("rate", _("评价"), {A.ISSUED}, None, {APPLICANT}),
])

R = RectificationState
RECTIFICATION = Workflow(action_prefix="govservice.rectification", initial=R.OPEN,
                         conflict_message=_("该整改已被他人处理，请刷新后重试"), transitions=[
    step("answer", _("答复整改"), {R.OPEN}, R.ANSWERED, {DEPARTMENT}),
])

ALL = (APPLICATION, RECTIFICATION)
OPEN_STATES = frozenset({A.SUBMITTED, A.PROCESSING, A.AWAITING, A.DECIDED})
CLOCK_STATES = frozenset({A.PROCESSING, A.AWAITING})  # accepted, not yet decided
