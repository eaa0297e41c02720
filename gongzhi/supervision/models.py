"""督查考核 (E6): 月述月评 and 交叉核查 with its 问题台账 and 整改台账.

- :class:`MonthlyReport`: each month a party organisation's secretary reports what was done, the problems and next
  month's plan; the organisation one level up gives its verdict (好/较好/一般/差) or returns it. One report per
  organisation and month (a unique constraint, so two secretaries saving at once get one report).
- :class:`CrossCheck`: a team from another area of the same level (a community checks a community, a street a
  street) inspects an area on a day, by reading the records, on site or by questionnaire (沈阳 / 德阳).
- :class:`Finding`: one problem the check found — an item of the 问题台账 — with its responsible area (or member
  unit) and a deadline in working days; tracked on a declared table to closure.
- :class:`Rectification`: each 整改 the responsible side filed for a finding (measures, completion) and what the
  inspecting side made of it (closed, or sent back with a reason) — the rows of the 整改台账.

State moves only through :mod:`gongzhi.supervision.services` and the declared tables of :mod:`.workflow`.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.registry.models import Area, MemberUnit, PartyOrganisation

from .workflow import FindingState, ReportState

MAX_TEXT = 2000
MAX_DEADLINE_DAYS = 60  # working days
MAX_TEAM = 20


class Verdict(models.TextChoices):
    GOOD = "good", _("好")
    FAIRLY_GOOD = "fairly_good", _("较好")
    AVERAGE = "average", _("一般")
    POOR = "poor", _("差")


class MonthlyReport(models.Model):
    """月述月评: one organisation's report for one month and the verdict on it."""

    organisation = models.ForeignKey(PartyOrganisation, on_delete=models.PROTECT, related_name="monthly_reports",
                                     verbose_name=_("党组织"))
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", db_index=False,
                             verbose_name=_("所在区域"))
    area_path = models.CharField(max_length=255)
    month = models.DateField(_("月份"))  # the first day of the month
    work_done = models.TextField(_("本月工作"), max_length=MAX_TEXT)
    problems = models.TextField(_("存在问题"), max_length=MAX_TEXT, blank=True)
    next_plan = models.TextField(_("下月计划"), max_length=MAX_TEXT, blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=ReportState.choices, default=ReportState.DRAFT)
    verdict = models.CharField(_("评议结果"), max_length=12, choices=Verdict.choices, blank=True)
    review_note = models.TextField(_("评议意见"), max_length=500, blank=True)
    return_reason = models.TextField(_("退回理由"), max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("填报人"))
    created_at = models.DateTimeField(_("填报时间"), default=timezone.now)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("提交人"))
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("评议人"))
    reviewed_at = models.DateTimeField(_("评议时间"), null=True, blank=True)
    returned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("退回人"))
    returned_at = models.DateTimeField(_("退回时间"), null=True, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    class Meta:
        verbose_name = _("月述月评")
        verbose_name_plural = _("月述月评")
        constraints = [
            models.UniqueConstraint(fields=["organisation", "month"], name="monthlyreport_org_month"),
            models.CheckConstraint(condition=~models.Q(verdict="poor") | ~models.Q(review_note=""),
                                   name="monthlyreport_poor_has_note"),
        ]
        indexes = [models.Index(fields=["area_path", "month"], name="monthlyreport_path_idx",
                                opclasses=["varchar_pattern_ops", ""])]

    def __str__(self) -> str:
        return f"{self.organisation} {self.month:%Y-%m}"

    def audit_area_path(self) -> str:
        return self.area_path


class CheckMethod(models.TextChoices):
    RECORDS = "records", _("查阅资料")
    SITE = "site", _("现场检查")
    SURVEY = "survey", _("问卷调查")


class CrossCheck(models.Model):
    """交叉核查: one inspection of an area by a team from another area of the same level."""

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("被核查区域"))
    area_path = models.CharField(max_length=255)
    inspecting_area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+",
                                        verbose_name=_("核查组所在区域"))
    inspecting_path = models.CharField(max_length=255)
    checked_on = models.DateField(_("核查日期"))
    methods = models.JSONField(_("核查方式"), default=list)
    team = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="cross_checks", verbose_name=_("核查组成员"))
    summary = models.TextField(_("核查情况"), max_length=MAX_TEXT, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("组织人"))
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    class Meta:
        verbose_name = _("交叉核查")
        verbose_name_plural = _("交叉核查")
        indexes = [
            models.Index(fields=["area_path", "checked_on"], name="crosscheck_path_idx",
                         opclasses=["varchar_pattern_ops", ""]),
            models.Index(fields=["inspecting_path", "checked_on"], name="crosscheck_insp_idx",
                         opclasses=["varchar_pattern_ops", ""]),
        ]

    def __str__(self) -> str:
        return f"{self.area} {self.checked_on:%Y-%m-%d}"

    def audit_area_path(self) -> str:
        return self.area_path

    def method_labels(self) -> list[str]:
        labels = dict(CheckMethod.choices)
        return [str(labels.get(m, m)) for m in self.methods or []]


class FindingCategory(models.TextChoices):
    ORGANISATION = "organisation", _("组织建设")
    POSITION = "position", _("阵地建设")
    RULES = "rules", _("制度落实")
    SERVICE = "service", _("服务群众")
    RECORDS = "records", _("台账资料")
    OTHER = "other", _("其他")


class Finding(models.Model):
    """问题台账: one problem found by a cross-check, its responsible side and its deadline."""

    cross_check = models.ForeignKey(CrossCheck, on_delete=models.PROTECT, related_name="findings",
                                    verbose_name=_("交叉核查"))
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", db_index=False,
                             verbose_name=_("责任区域"))
    area_path = models.CharField(max_length=255)  # the responsible area: its scope sees and rectifies
    inspecting_path = models.CharField(max_length=255)  # the inspecting side sees and verifies
    unit = models.ForeignKey(MemberUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("责任单位"))
    description = models.TextField(_("问题描述"), max_length=1000)
    category = models.CharField(_("问题类别"), max_length=16, choices=FindingCategory.choices)
    place = models.CharField(_("地点"), max_length=200, blank=True)
    deadline_days = models.PositiveSmallIntegerField(_("整改时限（工作日）"), validators=[
        MinValueValidator(1), MaxValueValidator(MAX_DEADLINE_DAYS)])
    due_at = models.DateTimeField(_("整改期限"))
    state = models.CharField(_("状态"), max_length=10, choices=FindingState.choices, default=FindingState.OPEN)
    rounds = models.PositiveSmallIntegerField(_("整改次数"), default=0)
    closed_at = models.DateTimeField(_("销号时间"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("登记人"))
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    class Meta:
        verbose_name = _("问题台账")
        verbose_name_plural = _("问题台账")
        indexes = [
            models.Index(fields=["area_path", "state"], name="finding_path_idx",
                         opclasses=["varchar_pattern_ops", ""]),
            models.Index(fields=["inspecting_path", "state"], name="finding_insp_idx",
                         opclasses=["varchar_pattern_ops", ""]),
            models.Index(fields=["state", "due_at"], name="finding_due_idx"),
        ]

    def __str__(self) -> str:
        return self.description[:30]

    def audit_area_path(self) -> str:
        return self.area_path

    def is_overdue(self, now: dt.datetime | None = None) -> bool:
        """Past the deadline and not closed — or closed only after it (逾期整改)."""
        if self.state == FindingState.CLOSED:
            return self.closed_at is not None and self.closed_at > self.due_at
        return (now or timezone.now()) > self.due_at


class RectificationOutcome(models.TextChoices):
    PENDING = "pending", _("待核验")
    ACCEPTED = "accepted", _("核验通过")
    SENT_BACK = "sent_back", _("退回整改")


class Rectification(models.Model):
    """整改台账: one rectification filed for a finding and the inspecting side's verdict on it."""

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="rectifications",
                                verbose_name=_("问题"))
    area_path = models.CharField(max_length=255)
    measures = models.TextField(_("整改措施"), max_length=MAX_TEXT)
    completion_note = models.TextField(_("完成情况"), max_length=MAX_TEXT)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("整改填报人"))
    filed_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    outcome = models.CharField(_("核验结果"), max_length=10, choices=RectificationOutcome.choices,
                               default=RectificationOutcome.PENDING)
    verify_note = models.TextField(_("核验意见"), max_length=500, blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("核验人"))
    verified_at = models.DateTimeField(_("核验时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("整改台账")
        verbose_name_plural = _("整改台账")
        indexes = [models.Index(fields=["area_path", "filed_at"], name="rectification_path_idx",
                                opclasses=["varchar_pattern_ops", ""])]

    def __str__(self) -> str:
        return f"{self.finding_id} {self.filed_at:%Y-%m-%d}"

    def audit_area_path(self) -> str:
        return self.area_path
