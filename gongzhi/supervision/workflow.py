"""Supervision's workflows (督查考核, E6), declared once and run by the shared engine (:mod:`gongzhi.core.workflow`).

Read a row as: from any of these states, these actors may take the step to the target. Who counts as which actor is
decided in :mod:`gongzhi.supervision.services`:

- 月述月评: ``secretary`` holds ``Cap.SUPERVISION_REPORT`` on the organisation's own node (its party secretary);
  ``reviewer`` holds ``Cap.ASSESS_REVIEW`` on a node above it (the parent of the organisation's area or higher: the
  street for a community's committee, the district for a street's working committee and for the communities too)
  and is not the one who wrote or submitted the report. A return needs its reason; a 差 needs a note (checked in the
  service).
- 交叉核查: ``responsible`` holds ``Cap.SUPERVISION_RECTIFY`` on the finding's responsible area (or on its member
  unit); ``inspector`` is on the check's team or holds ``Cap.SUPERVISION_CHECK`` on the inspecting area. A send-back
  needs its reason.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from gongzhi.core.workflow import Workflow, step


class ReportState(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("待评议")
    REVIEWED = "reviewed", _("已评议")
    RETURNED = "returned", _("退回修改")


class FindingState(models.TextChoices):
    OPEN = "open", _("待整改")
    RECTIFIED = "rectified", _("待核验")
    RETURNED = "returned", _("退回整改")
    CLOSED = "closed", _("已销号")


SECRETARY, REVIEWER, RESPONSIBLE, INSPECTOR = "secretary", "reviewer", "responsible", "inspector"

R = ReportState
REPORT = Workflow(action_prefix="supervision.report", initial=R.DRAFT,
                  conflict_message=_("该述职报告已被他人处理，请刷新后重试"), transitions=[
    step("submit", _("提交述职"), {R.DRAFT, R.RETURNED}, R.SUBMITTED, {SECRETARY}),
    step("review", _("评议"), {R.SUBMITTED}, R.REVIEWED, {REVIEWER}),
    step("return", _("退回修改"), {R.SUBMITTED}, R.RETURNED, {REVIEWER}, reason=True),
])

F = FindingState
FINDING = Workflow(action_prefix="supervision.finding", initial=F.OPEN,
                   conflict_message=_("该问题已被他人处理，请刷新后重试"), transitions=[
    step("rectify", _("提交整改"), {F.OPEN, F.RETURNED}, F.RECTIFIED, {RESPONSIBLE}),
    step("verify", _("核验销号"), {F.RECTIFIED}, F.CLOSED, {INSPECTOR}),
    step("send_back", _("退回整改"), {F.RECTIFIED}, F.RETURNED, {INSPECTOR}, reason=True),
])

ALL = (REPORT, FINDING)
EDITABLE_REPORT_STATES = frozenset({R.DRAFT, R.RETURNED})
OPEN_FINDING_STATES = frozenset({F.OPEN, F.RECTIFIED, F.RETURNED})
