"""Grid patrol (三访民情, B1): patrol plans on a grid, compound or community with a schedule and a checklist, the
rounds walked on that schedule (每天常态巡访、每月重点巡访、每季度全面巡访), each checklist item ticked on the round
and the households visited (入户走访). A problem found becomes a case of the pipeline in one step
(:func:`gongzhi.patrol.services.check_to_case`, :func:`~gongzhi.patrol.services.visit_to_case`).

State changes go through :mod:`gongzhi.patrol.services`; reads through :mod:`.selectors`."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.cases.models import Case
from gongzhi.registry.models import Area, Person


class Frequency(models.TextChoices):
    DAILY = "daily", _("每天")
    WEEKLY = "weekly", _("每周")
    MONTHLY = "monthly", _("每月")
    QUARTERLY = "quarterly", _("每季度")


# The checklist a new plan starts with (the problems the seeds name: 侵占消防通道, 楼道堆物, 私搭乱建, 独居老人,
# 矛盾纠纷…). Staff edit it per plan; each round keeps its own copy.
DEFAULT_CHECKLIST = ["消防通道", "楼道堆物", "私搭乱建", "环境卫生", "公共设施", "独居老人", "矛盾纠纷", "安全隐患"]


def period_start(frequency: str, day: dt.date) -> dt.date:
    """The first day of the period (day, ISO week, month, quarter) that ``day`` falls in."""
    if frequency == Frequency.DAILY:
        return day
    if frequency == Frequency.WEEKLY:
        return day - dt.timedelta(days=day.weekday())
    if frequency == Frequency.MONTHLY:
        return day.replace(day=1)
    return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)


def period_index(frequency: str, day: dt.date) -> int:
    """A running number of the period ``day`` falls in: consecutive periods have consecutive numbers."""
    if frequency == Frequency.DAILY:
        return day.toordinal()
    if frequency == Frequency.WEEKLY:
        return (day.toordinal() - 1) // 7  # ordinal 1 (0001-01-01) is a Monday
    if frequency == Frequency.MONTHLY:
        return day.year * 12 + day.month - 1
    return day.year * 4 + (day.month - 1) // 3


def period_from_index(frequency: str, index: int) -> dt.date:
    if frequency == Frequency.DAILY:
        return dt.date.fromordinal(index)
    if frequency == Frequency.WEEKLY:
        return dt.date.fromordinal(index * 7 + 1)
    if frequency == Frequency.MONTHLY:
        return dt.date(index // 12, index % 12 + 1, 1)
    return dt.date(index // 4, index % 4 * 3 + 1, 1)


def period_end(frequency: str, start: dt.date) -> dt.date:
    return period_from_index(frequency, period_index(frequency, start) + 1) - dt.timedelta(days=1)


class PatrolPlan(models.Model):
    """巡查计划: who walks which grid (or compound, or community), how often, checking what."""

    name = models.CharField(_("计划名称"), max_length=60)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="patrol_plans",
                             verbose_name=_("巡查区域"))
    area_path = models.CharField(max_length=255)  # denormalised from area: scope and figures filter one column
    frequency = models.CharField(_("巡查频次"), max_length=10, choices=Frequency.choices)
    patroller = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="patrol_plans", verbose_name=_("巡查人（空=本区域工作人员均可）"))
    checklist = models.JSONField(_("巡查清单"), default=list)  # ["消防通道", "楼道堆物", …]
    starts_on = models.DateField(_("开始日期"))
    ended_on = models.DateField(_("结束日期"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)  # optimistic lock (409 on a stale edit)

    class Meta:
        verbose_name = _("巡查计划")
        verbose_name_plural = _("巡查计划")
        indexes = [models.Index(fields=["area_path"], name="patrolplan_path_idx",
                                opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return self.name

    def audit_area_path(self) -> str:
        return self.area_path

    @property
    def active(self) -> bool:
        return self.ended_on is None


class PatrolRound(models.Model):
    """巡查记录: one walk of a plan in one period (a day, week, month or quarter). At most one per plan and period;
    the checklist is copied into its :class:`PatrolCheck` rows when it starts, so later edits of the plan do not
    rewrite what was checked."""

    class State(models.TextChoices):
        OPEN = "open", _("巡查中")
        CLOSED = "closed", _("已完成")

    plan = models.ForeignKey(PatrolPlan, on_delete=models.PROTECT, related_name="rounds", verbose_name=_("巡查计划"))
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("巡查区域"),
                             db_index=False)
    area_path = models.CharField(max_length=255)
    period_start = models.DateField(_("周期开始"))
    period_end = models.DateField(_("周期结束"))
    patroller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="patrol_rounds",
                                  verbose_name=_("巡查人"))
    state = models.CharField(_("状态"), max_length=8, choices=State.choices, default=State.OPEN)
    started_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    closed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    summary = models.TextField(_("巡查小结"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("巡查记录")
        verbose_name_plural = _("巡查记录")
        constraints = [models.UniqueConstraint(fields=["plan", "period_start"], name="patrolround_plan_period")]
        indexes = [models.Index(fields=["area_path", "period_start"], name="patrolround_path_idx",
                                opclasses=["varchar_pattern_ops", ""])]

    def __str__(self) -> str:
        return f"{self.plan} {self.period_start:%Y-%m-%d}"

    def audit_area_path(self) -> str:
        return self.area_path


class PatrolCheck(models.Model):
    """One checklist item on one round: 正常, or 有问题 with a note and an optional photo; a problem may become a
    case (``case``)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("未检查")
        OK = "ok", _("正常")
        PROBLEM = "problem", _("有问题")

    round = models.ForeignKey(PatrolRound, on_delete=models.CASCADE, related_name="checks",
                              verbose_name=_("巡查记录"))
    position = models.PositiveSmallIntegerField(default=0)
    label = models.CharField(_("巡查事项"), max_length=40)
    status = models.CharField(_("检查结果"), max_length=8, choices=Status.choices, default=Status.PENDING)
    note = models.TextField(_("问题描述"), max_length=1000, blank=True)
    photo = models.FileField(upload_to="patrol/%Y/%m/", blank=True)
    photo_type = models.CharField(max_length=20, blank=True)
    checked_at = models.DateTimeField(_("检查时间"), null=True, blank=True)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             verbose_name=_("转办诉求"))
    area_path = models.CharField(max_length=255)  # the round's, for scope and figures without a join

    class Meta:
        verbose_name = _("巡查事项")
        verbose_name_plural = _("巡查事项")
        ordering = ["round", "position"]
        indexes = [models.Index(fields=["area_path", "status"], name="patrolcheck_path_idx",
                                opclasses=["varchar_pattern_ops", ""])]

    def __str__(self) -> str:
        return self.label

    def audit_area_path(self) -> str:
        return self.area_path


class HouseholdVisit(models.Model):
    """入户走访 on a round: the household is a person (a resident on the register) or a door in a building."""

    round = models.ForeignKey(PatrolRound, on_delete=models.CASCADE, related_name="visits",
                              verbose_name=_("巡查记录"))
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                               verbose_name=_("走访对象"))
    building = models.ForeignKey(Area, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("楼栋"))
    door = models.CharField(_("门牌号"), max_length=20, blank=True)
    # "p<person id>" or "b<building id>:<door>": distinct households visited are counted on this column.
    household_key = models.CharField(max_length=40)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("走访地点"),
                             db_index=False)
    area_path = models.CharField(max_length=255)  # where the household lives (its grid is a prefix of it)
    visited_on = models.DateField(_("走访日期"))
    note = models.TextField(_("走访情况"), max_length=1000, blank=True)
    problem_found = models.BooleanField(_("发现问题"), default=False)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             verbose_name=_("转办诉求"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("入户走访")
        verbose_name_plural = _("入户走访")
        indexes = [models.Index(fields=["area_path", "visited_on"], name="housevisit_path_idx",
                                opclasses=["varchar_pattern_ops", ""])]

    def __str__(self) -> str:
        return self.household_label

    def audit_area_path(self) -> str:
        return self.area_path

    @property
    def household_label(self) -> str:
        if self.person_id is not None and self.person is not None:
            return self.person.name
        building = self.building.name if self.building_id is not None and self.building is not None else ""
        return f"{building} {self.door}".strip()
