"""The case pipeline's data (B1–B9): categories and routing as data, cases with their deadlines and ledger
columns, photos, followers (merged duplicates and 我也遇到), residents' updates, follow-up visits (回访), extension
requests, mediation, notifications, and the calendar table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from gongzhi.registry.models import Area, AreaKind, MemberUnit, Person

from .workflow import FINAL_STATES, State

# States in which the case runs against its handling deadline (shown as 剩余/超期 on the workbench).
DEADLINE_STATES = frozenset({State.ACCEPTED, State.DISPATCHED, State.RETURNED, State.IN_PROGRESS, State.REOPENED})

# How long a path is at the street and community levels (市 → 区 → 街道 → 社区: the third and fourth step).
STREET_PATH_LEN = Area.steplen * 3
COMMUNITY_PATH_LEN = Area.steplen * 4
LEVELS = [AreaKind.GRID, AreaKind.COMMUNITY, AreaKind.STREET, AreaKind.DISTRICT, AreaKind.CITY]


class Level(models.TextChoices):
    GRID = "grid", _("网格")
    COMMUNITY = "community", _("社区")
    STREET = "street", _("街道")
    DISTRICT = "district", _("区")
    CITY = "city", _("市")


class LimitUnit(models.TextChoices):
    WORKDAYS = "workdays", _("工作日")
    HOURS = "hours", _("工作小时")


class Category(models.Model):
    """A node of the category tree (default: 广东 DB44/T 2479-2024 12345 热线诉求分类, codes and names)."""

    code = models.CharField(_("分类代码"), max_length=16, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    depth = models.PositiveSmallIntegerField(default=1)
    time_limit = models.PositiveSmallIntegerField(_("办理时限"), default=5)
    limit_unit = models.CharField(_("时限单位"), max_length=10, choices=LimitUnit.choices,
                                  default=LimitUnit.WORKDAYS)
    response_hours = models.PositiveSmallIntegerField(_("响应时限（工作小时）"), default=4)
    priority = models.PositiveSmallIntegerField(_("优先级"), default=3)  # 1 most urgent … 5
    default_level = models.CharField(_("默认承办层级"), max_length=10, choices=Level.choices,
                                     default=Level.COMMUNITY)
    may_skip_levels = models.BooleanField(_("允许越级上移"), default=False)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("诉求分类")
        verbose_name_plural = _("诉求分类")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class RoutingRule(models.Model):
    """(category subtree, area subtree) → who handles: a department/unit, or a level's own team. The most
    specific rule wins: deepest category first, then deepest area."""

    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.CASCADE, related_name="rules",
                                 verbose_name=_("分类（空=全部）"))
    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="routing_rules", verbose_name=_("区域"))
    level = models.CharField(_("承办层级"), max_length=10, choices=Level.choices)
    unit = models.ForeignKey(MemberUnit, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("承办部门/单位"))

    class Meta:
        verbose_name = _("派单规则")
        verbose_name_plural = _("派单规则")

    def __str__(self) -> str:
        return f"{self.category or '全部'} @ {self.area} → {self.unit or self.get_level_display()}"


class Channel(models.TextChoices):
    RESIDENT_APP = "app", _("居民随手拍")
    GRID_PATROL = "patrol", _("网格巡查")
    RECEPTION_DAY = "reception", _("居民接待日")
    MEDIATION_POINT = "mediation_point", _("评理说事点")
    HOTLINE = "hotline", _("热线")
    WINDOW = "window", _("服务窗口")
    MEETING = "meeting", _("会议决定")
    VISIT = "visit", _("入户走访")
    OPEN311 = "open311", _("Open311 接口")


# What staff pick from when they register a case for someone (热线, 窗口, 居民接待日, 评理说事点, 网格巡查, 会议决定…).
STAFF_CHANNELS = [Channel.HOTLINE, Channel.WINDOW, Channel.RECEPTION_DAY, Channel.MEDIATION_POINT,
                  Channel.GRID_PATROL, Channel.VISIT, Channel.MEETING]


class CaseKind(models.TextChoices):
    GENERAL = "general", _("一般诉求")
    MEDIATION = "mediation", _("矛盾纠纷调解")


class Rating(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASIC = "basic", _("基本满意")
    DISSATISFIED = "dissatisfied", _("不满意")


def case_number(created_at: Any, pk: int | None) -> str:
    """GZ + creation date + id, for lists that read the two columns without the model (the map's markers)."""
    return f"GZ{timezone.localtime(created_at):%Y%m%d}{pk or 0:06d}"


class Case(models.Model):
    """One resident demand travelling the pipeline. ``state`` only moves through ``services.transition``;
    ``version`` guards against two people acting on the same case at once.

    Foreign keys carry no index of their own: lists filter the denormalised paths and the composite indexes below,
    and every index costs each intake a write."""

    kind = models.CharField(_("类型"), max_length=12, choices=CaseKind.choices, default=CaseKind.GENERAL)
    title = models.CharField(_("标题"), max_length=100)
    description = models.TextField(_("内容"), max_length=4000)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT, related_name="cases",
                                 verbose_name=_("分类"), db_index=False)
    channel = models.CharField(_("来源渠道"), max_length=16, choices=Channel.choices)
    reporter = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases",
                                 verbose_name=_("反映人"), db_index=False)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)  # reporters without a Person (Open311)
    contact_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    lng = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="cases", verbose_name=_("发生地"),
                             db_index=False)
    # Denormalised from ``area`` so that scope, queues and figures filter one indexed column (no join).
    area_path = models.CharField(max_length=255)
    # The street and community the case lies in, computed by the database from ``area_path`` (so raw inserts and
    # bulk loads carry them too). A community's queue is "area_path LIKE p%, newest first": with millions of cases
    # neither the path index (every case of the community, then a sort) nor the date index (the whole city's
    # newest, filtered) serves it; equality on these columns with (…, created_at) indexes does (issue 15: a
    # community's list at 10M cases 744 ms p95). :func:`gongzhi.cases.selectors.in_area` picks the column.
    street_path = models.GeneratedField(expression=Substr("area_path", 1, STREET_PATH_LEN),
                                        output_field=models.CharField(max_length=STREET_PATH_LEN), db_persist=True)
    community_path = models.GeneratedField(expression=Substr("area_path", 1, COMMUNITY_PATH_LEN),
                                           output_field=models.CharField(max_length=COMMUNITY_PATH_LEN),
                                           db_persist=True)
    level = models.CharField(_("承办层级"), max_length=10, choices=Level.choices, default=Level.COMMUNITY)
    owner_area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="owned_cases",
                                   verbose_name=_("承办层级节点"), db_index=False)
    owner_path = models.CharField(max_length=255)
    assignee_unit = models.ForeignKey(MemberUnit, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="cases", verbose_name=_("承办部门/单位"), db_index=False)
    claimable = models.BooleanField(_("可领单"), default=False)
    claimed_by = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="claims",
                                   verbose_name=_("领单人"), db_index=False)
    state = models.CharField(_("状态"), max_length=12, choices=State.choices, default=State.SUBMITTED)
    priority = models.PositiveSmallIntegerField(_("优先级"), default=3)
    is_public = models.BooleanField(_("公开"), default=True)
    created_at = models.DateTimeField(_("反映时间"), default=timezone.now)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    response_due_at = models.DateTimeField(_("响应时限"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("派遣时间"), null=True, blank=True)
    due_at = models.DateTimeField(_("办结时限"), null=True, blank=True)
    handled_at = models.DateTimeField(_("办理时间"), null=True, blank=True)
    verified_at = models.DateTimeField(_("核实时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)
    due_soon_at = models.DateTimeField(null=True, blank=True)  # when the due-soon warning went out
    overdue_at = models.DateTimeField(_("超期时间"), null=True, blank=True)  # set once by the overdue job
    closed_level = models.CharField(_("办结层级"), max_length=10, choices=Level.choices, blank=True)
    closed_on_time = models.BooleanField(_("按期办结"), null=True, blank=True)
    resolved = models.BooleanField(_("已解决"), null=True, blank=True)
    feedback = models.TextField(_("办理情况"), blank=True, max_length=4000)
    rating = models.CharField(_("评价"), max_length=12, choices=Rating.choices, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("返工次数"), default=0)
    escalation_count = models.PositiveSmallIntegerField(_("上移次数"), default=0)
    duplicate_count = models.PositiveIntegerField(_("并单数"), default=0)
    follower_count = models.PositiveIntegerField(_("关注人数"), default=0)  # 我也遇到 and merged reporters
    supervised_at = models.DateTimeField(_("督办时间"), null=True, blank=True)
    urge_count = models.PositiveSmallIntegerField(_("催办次数"), default=0)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="merged_cases", verbose_name=_("并入"), db_index=False)
    version = models.PositiveIntegerField(default=1)
    # Where it happened as people say it ("碧海花园 3号楼"), filled for lists by ``selectors.with_places``.
    place: str = ""

    class Meta:
        verbose_name = _("诉求")
        verbose_name_plural = _("诉求")
        indexes = [
            models.Index(fields=["area_path", "state"], name="case_area_state_idx",
                         opclasses=["varchar_pattern_ops", ""]),
            models.Index(fields=["owner_path", "state"], name="case_owner_state_idx",
                         opclasses=["varchar_pattern_ops", ""]),
            models.Index(fields=["state", "due_at"], name="case_state_due_idx"),
            models.Index(fields=["assignee_unit", "state"], name="case_unit_state_idx"),
            models.Index(fields=["created_at"], name="case_created_idx"),
            models.Index(fields=["reporter", "created_at"], name="case_reporter_idx"),
            models.Index(fields=["category", "area_path", "created_at"], name="case_dup_idx",
                         opclasses=["", "varchar_pattern_ops", ""]),
            # The workbench queues read newest first within a few states; without these a city's to-dispatch
            # queue walked the newest cases of every state (90,000 rows after a burst of intake, issue 15) to find
            # its 50. Partial: a new case (submitted) enters none of them, so intake pays nothing for them.
            models.Index(fields=["street_path", "-created_at", "-id"], name="case_street_new_idx"),
            models.Index(fields=["community_path", "-created_at", "-id"], name="case_community_new_idx"),
            models.Index(fields=["-created_at", "-id"], name="case_to_dispatch_idx",
                         condition=models.Q(state__in=["accepted", "returned"], claimable=False)),
            models.Index(fields=["-created_at", "-id"], name="case_in_hand_idx",
                         condition=models.Q(state__in=["dispatched", "in_progress", "reopened"])),
            models.Index(fields=["-created_at", "-id"], name="case_to_verify_idx",
                         condition=models.Q(state="handled")),
            models.Index(fields=["-created_at", "-id"], name="case_overdue_idx",
                         condition=models.Q(overdue_at__isnull=False,
                                            state__in=["submitted", "accepted", "dispatched", "returned",
                                                       "in_progress", "reopened"])),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def number(self) -> str:
        """The case number residents quote: GZ + creation date + id."""
        return case_number(self.created_at, self.pk)

    def audit_area_path(self) -> str:
        return self.area_path

    @property
    def is_overdue(self) -> bool:
        return self.overdue_at is not None and self.state not in FINAL_STATES

    @property
    def heat(self) -> int:
        """How many people this problem concerns: the reporter, merged duplicates and those who also met it."""
        return 1 + self.duplicate_count + self.follower_count

    def time_left(self, now: dt.datetime | None = None) -> tuple[str, bool] | None:
        """The time to the deadline as people say it ("剩余4小时", "超期3天") and whether it is past; ``None`` when
        the case runs against no deadline (not dispatched yet, or no longer with a handler)."""
        if self.due_at is None or self.state not in DEADLINE_STATES:
            return None
        delta = self.due_at - (now or timezone.now())
        past = delta.total_seconds() < 0
        seconds = abs(delta.total_seconds())
        days, hours, minutes = int(seconds // 86400), int(seconds // 3600), max(1, int(seconds // 60))
        if past:
            text = (gettext("超期{n}天").format(n=days) if days else gettext("超期{n}小时").format(n=hours) if hours
                    else gettext("超期{n}分钟").format(n=minutes))
        else:
            text = (gettext("剩余{n}天").format(n=days) if days else gettext("剩余{n}小时").format(n=hours) if hours
                    else gettext("剩余{n}分钟").format(n=minutes))
        return text, past

    @property
    def time_left_text(self) -> str:
        left = self.time_left()
        return left[0] if left else ""

    @property
    def time_left_past(self) -> bool:
        left = self.time_left()
        return bool(left and left[1])


class CasePhoto(models.Model):
    class Stage(models.TextChoices):
        REPORT = "report", _("反映")
        FEEDBACK = "feedback", _("办理反馈")
        UPDATE = "update", _("居民补充")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="photos")
    stage = models.CharField(max_length=10, choices=Stage.choices)
    image = models.FileField(upload_to="cases/%Y/%m/")
    content_type = models.CharField(max_length=40)
    uploaded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.image.name or ""


class CaseFollower(models.Model):
    """People who hear of every step of a case: reporters of merged duplicates (并单) and residents who met the same
    problem and follow a public case (我也遇到). Each counts in ``Case.follower_count`` (the 并单 heat)."""

    class Kind(models.TextChoices):
        MERGED = "merged", _("并单")
        ME_TOO = "me_too", _("我也遇到")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="followers")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="followed_cases")
    kind = models.CharField(_("关注方式"), max_length=8, choices=Kind.choices, default=Kind.MERGED)
    since = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "person"], name="case_follower_unique")]

    def __str__(self) -> str:
        return f"{self.person} → {self.case_id}"


class CaseUpdate(models.Model):
    """What the reporter adds to her case after reporting it (补充说明; photos are CasePhoto rows of stage update)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="updates")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(_("补充说明"), max_length=1000, blank=True)
    photo_count = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("居民补充")
        verbose_name_plural = _("居民补充")

    def __str__(self) -> str:
        return f"{self.case_id}: {self.text[:20]}"


class CaseVisit(models.Model):
    """回访: staff call the reporter (or send a questionnaire) after the case is closed and record what she says."""

    class Method(models.TextChoices):
        PHONE = "phone", _("电话回访")
        QUESTIONNAIRE = "questionnaire", _("问卷回访")
        IN_PERSON = "in_person", _("上门回访")

    class Result(models.TextChoices):
        RESOLVED = "resolved", _("问题已解决")
        UNRESOLVED = "unresolved", _("问题未解决")
        UNREACHABLE = "unreachable", _("未联系上")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="visits")
    method = models.CharField(_("回访方式"), max_length=14, choices=Method.choices)
    result = models.CharField(_("回访结果"), max_length=12, choices=Result.choices)
    satisfaction = models.CharField(_("满意度"), max_length=12, choices=Rating.choices, blank=True)
    note = models.TextField(_("回访记录"), max_length=1000, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("回访时间"), default=timezone.now)
    # Denormalised from the case, so that figures count the visits of a subtree on one indexed column.
    area_path = models.CharField(max_length=255)

    class Meta:
        verbose_name = _("回访")
        verbose_name_plural = _("回访")
        indexes = [models.Index(fields=["area_path", "at"], name="casevisit_area_at_idx",
                                opclasses=["varchar_pattern_ops", ""])]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_result_display()}"

    def audit_area_path(self) -> str:
        return self.area_path


class Extension(models.Model):
    class Decision(models.TextChoices):
        PENDING = "pending", _("待审批")
        APPROVED = "approved", _("已批准")
        REFUSED = "refused", _("不予批准")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="extensions")
    days = models.PositiveSmallIntegerField(_("延期工作日"))
    reason = models.TextField(_("理由"), max_length=1000)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("延期申请")
        verbose_name_plural = _("延期申请")

    def __str__(self) -> str:
        return f"{self.case_id} +{self.days}"


class Mediation(models.Model):
    """The mediation part of a mediation case (B8): parties, hearings, outcome."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("调解中")
        AGREEMENT = "agreement", _("达成协议")
        NO_AGREEMENT = "no_agreement", _("未达成协议")

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="mediation")
    parties = models.JSONField(_("当事人"), default=list)  # [{"name": "...", "role": "申请人"}, ...]
    outcome = models.CharField(_("调解结果"), max_length=14, choices=Outcome.choices, default=Outcome.PENDING)
    agreement = models.TextField(_("协议内容"), blank=True, max_length=4000)
    team = models.ForeignKey("MediationTeam", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="mediations", verbose_name=_("调解组织"))

    def __str__(self) -> str:
        return f"调解 {self.case_id}"


class Hearing(models.Model):
    mediation = models.ForeignKey(Mediation, on_delete=models.CASCADE, related_name="hearings")
    held_at = models.DateTimeField(_("调解时间"))
    place = models.CharField(_("地点"), max_length=100)
    mediators = models.CharField(_("调解员"), max_length=200)
    # The team members who mediated (their names are also in ``mediators``, with anyone from outside the team).
    mediator_people = models.ManyToManyField(Person, blank=True, related_name="+", verbose_name=_("本组织调解员"))
    notes = models.TextField(_("调解记录"), max_length=4000)

    def __str__(self) -> str:
        return f"{self.mediation_id} {self.held_at:%Y-%m-%d}"


class CalendarDay(models.Model):
    """Administrator-maintained days: holidays and 调休 working days for years chinesecalendar does not cover
    (or corrections to it). A row here always wins."""

    day = models.DateField(_("日期"), unique=True)
    is_workday = models.BooleanField(_("是否工作日"))
    note = models.CharField(_("说明"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("节假日调整")
        verbose_name_plural = _("节假日调整")

    def __str__(self) -> str:
        return f"{self.day} {'班' if self.is_workday else '休'}"


class CaseSettings(models.Model):
    """Singleton of pipeline settings an administrator configures."""

    basic_counts_as_satisfied = models.BooleanField(_("基本满意计入满意率"), default=True)
    rating_window_days = models.PositiveSmallIntegerField(_("评价期限（工作日）"), default=3)
    due_soon_hours = models.PositiveSmallIntegerField(_("临期预警（工作小时）"), default=8)

    def __str__(self) -> str:
        return "case settings"

    @classmethod
    def current(cls) -> CaseSettings:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


class CaseStat(models.Model):
    """Daily figures per street (G1), kept up to date by the case actions in the same transaction as each change,
    so a district's or the city's figures add up a few thousand rows instead of scanning millions of cases.

    A case counts on the day it was received (local time), under the street it happened in, with the measures of
    its current state; each action adds the difference its change makes (see :mod:`gongzhi.cases.rollup`).

    A (day, street) is spread over up to ``rollup.SHARDS`` rows, one per writing connection's shard, so a burst of
    reports from one street does not queue every writer on one row lock; readers always add the rows up."""

    day = models.DateField()
    street_path = models.CharField(max_length=16)
    shard = models.PositiveSmallIntegerField(default=0)
    received = models.IntegerField(default=0)
    accepted = models.IntegerField(default=0)
    accepted_in_time = models.IntegerField(default=0)
    closed = models.IntegerField(default=0)
    closed_on_time = models.IntegerField(default=0)
    resolved = models.IntegerField(default=0)
    rated = models.IntegerField(default=0)
    satisfied = models.IntegerField(default=0)
    basic = models.IntegerField(default=0)
    reopened = models.IntegerField(default=0)
    open_cases = models.IntegerField(default=0)
    overdue_open = models.IntegerField(default=0)
    closed_grid = models.IntegerField(default=0)
    closed_community = models.IntegerField(default=0)
    closed_street = models.IntegerField(default=0)
    closed_district = models.IntegerField(default=0)
    closed_city = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "street_path", "shard"],
                                               name="casestat_day_street_shard")]
        indexes = [models.Index(fields=["street_path", "day"], name="casestat_street_day_idx",
                                opclasses=["varchar_pattern_ops", ""])]

    def __str__(self) -> str:
        return f"{self.day} {self.street_path}"


# ---- mediation teams (B8)


class MediationTeamKind(models.TextChoices):
    """The mediation bodies the seeds run: 本溪's “指尖上的移动调解室” (a WeChat group of the street's 司法所, lawyers
    and legal workers), 皇姑区's 物业纠纷调解中心 with a branch in each street, 人民调解委员会/调解工作站 (东港's
    “港仁之家”, with the police station, 司法所 and a law firm), and the 评理说事点 set up in every community."""

    MOBILE = "mobile", _("移动调解室")
    PROPERTY = "property", _("物业纠纷调解中心")
    PEOPLES = "peoples", _("人民调解委员会")
    TALK_POINT = "talk_point", _("评理说事点")
    OTHER = "other", _("其他")


class MediationRole(models.TextChoices):
    DIRECTOR = "director", _("主任")
    DEPUTY = "deputy", _("副主任")
    MEDIATOR = "mediator", _("调解员")
    LEGAL = "legal", _("法律顾问")
    LIAISON = "liaison", _("联络员")


class MediationTeam(models.Model):
    """A mediation team serving a district, street or community; disputes of its area are assigned to it."""

    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=12, choices=MediationTeamKind.choices)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="mediation_teams",
                             verbose_name=_("服务区域"))
    place = models.CharField(_("调解场所"), max_length=100, blank=True)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)  # the team's duty line, not a person's
    active = models.BooleanField(_("启用"), default=True)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)  # optimistic lock (409 on a stale edit)
    created_on = models.DateField(_("成立日期"), default=timezone.localdate)

    class Meta:
        verbose_name = _("调解组织")
        verbose_name_plural = _("调解组织")
        constraints = [models.UniqueConstraint(fields=["area", "name"], name="mediationteam_area_name")]

    def __str__(self) -> str:
        return self.name

    def audit_area_path(self) -> str:
        return self.area.path


class MediationTeamMember(models.Model):
    """A person on a team with her role. A member who leaves keeps her row (her past hearings) with the day."""

    team = models.ForeignKey(MediationTeam, on_delete=models.CASCADE, related_name="members")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="mediation_memberships",
                               verbose_name=_("成员"))
    role = models.CharField(_("角色"), max_length=10, choices=MediationRole.choices, default=MediationRole.MEDIATOR)
    joined_on = models.DateField(_("加入日期"), default=timezone.localdate)
    left_on = models.DateField(_("退出日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("调解组织成员")
        verbose_name_plural = _("调解组织成员")
        constraints = [models.UniqueConstraint(fields=["team", "person"], condition=models.Q(left_on__isnull=True),
                                               name="mediationmember_active_unique")]
        indexes = [models.Index(fields=["person", "left_on"], name="mediationmember_person_idx")]

    def __str__(self) -> str:
        return f"{self.person} · {self.get_role_display()}"

    def audit_area_path(self) -> str:
        return self.team.area.path
