"""Co-building (共驻共建, D1–D5, G3): what communities need, what units and people offer, the projects and 实事 they
take on with their four lists (四单), claims, services delivered and volunteer hours, service organisations taking
bookings, admission control of work pushed onto communities (社区工作事项准入), and funds.

Every record hangs on the area tree through a denormalised ``area_path`` (scope and figures filter one indexed
column). States are declared in :mod:`.workflow` and moved only by the shared engine. Counters that must never
overflow (a resource's capacity, a slot's places, a budget's balance) are changed by one conditional UPDATE, so of
two people racing for the last place exactly one wins.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.registry.models import Area, MemberUnit, PartyOrganisation, Person

from .workflow import (
    BookingState,
    ClaimState,
    MatchState,
    NeedState,
    ProjectState,
    RequestState,
)

PATH_OPS = ["varchar_pattern_ops"]


class Kind(models.TextChoices):
    """What a need asks for and what a resource offers: one vocabulary so the two can be matched."""

    ELDERLY = "elderly", _("助老")
    MEALS = "meals", _("助餐")
    MEDICAL = "medical", _("医疗")
    LEGAL = "legal", _("法律")
    EDUCATION = "education", _("教育")
    CULTURE = "culture", _("文体")
    SCIENCE = "science", _("科普")
    ENVIRONMENT = "environment", _("环境")
    FACILITIES = "facilities", _("设施")
    VENUE = "venue", _("场地")
    FUNDS = "funds", _("资金")
    EMPLOYMENT = "employment", _("就业")
    CHILDREN = "children", _("托育")
    OTHER = "other", _("其他")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("一般")
    URGENT = "urgent", _("较急")
    CRITICAL = "critical", _("紧急")


class NeedSource(models.TextChoices):
    COMMUNITY = "community", _("社区登记")
    CASE = "case", _("诉求转化")
    COUNCIL = "council", _("议事决议")
    SURVEY = "survey", _("走访调查")


class Need(models.Model):
    """社区需求库: a need registered by a community, grid or compound."""

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="cobuild_needs", verbose_name=_("需求区域"))
    area_path = models.CharField(max_length=255)
    kind = models.CharField(_("需求类别"), max_length=12, choices=Kind.choices)
    title = models.CharField(_("需求名称"), max_length=100)
    description = models.TextField(_("需求描述"), max_length=2000, blank=True)
    scale = models.CharField(_("需求规模"), max_length=100, blank=True)  # "受益约 120 户", "每周 2 次"
    quantity = models.PositiveIntegerField(_("需求数量"), default=1)  # in the resource's units when matched
    beneficiaries = models.PositiveIntegerField(_("受益人数"), default=0)
    urgency = models.CharField(_("紧急程度"), max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    wanted_by = models.DateField(_("期望解决时间"), null=True, blank=True)
    source = models.CharField(_("来源"), max_length=10, choices=NeedSource.choices, default=NeedSource.COMMUNITY)
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="needs",
                             verbose_name=_("来源诉求"))
    agenda_item = models.ForeignKey("councils.AgendaItem", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="needs", verbose_name=_("来源议题"))
    state = models.CharField(_("状态"), max_length=12, choices=NeedState.choices, default=NeedState.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    met_at = models.DateTimeField(_("满足时间"), null=True, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    class Meta:
        verbose_name = _("社区需求")
        verbose_name_plural = _("社区需求")
        indexes = [
            models.Index(fields=["area_path", "state"], name="need_path_state_idx", opclasses=[*PATH_OPS, ""]),
            models.Index(fields=["kind", "state"], name="need_kind_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def audit_area_path(self) -> str:
        return self.area_path


class OwnerKind(models.TextChoices):
    UNIT = "unit", _("驻区单位")
    ORGANISATION = "organisation", _("党组织")
    PERSON = "person", _("党员/志愿者")


class Resource(models.Model):
    """成员单位资源库: what a unit, a party organisation, a party member or a volunteer offers.

    ``capacity`` counts in ``measure`` (次, 小时, 人次, 元, 平方米…) over the valid period; ``used`` is what confirmed
    matches took. ``area`` is the owner's own node (scope: a unit edits only its own); where it serves is
    :class:`ResourceReach`.
    """

    owner_kind = models.CharField(_("提供方类型"), max_length=12, choices=OwnerKind.choices)
    unit = models.ForeignKey(MemberUnit, null=True, blank=True, on_delete=models.CASCADE, related_name="resources",
                             verbose_name=_("提供单位"))
    organisation = models.ForeignKey(PartyOrganisation, null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="resources", verbose_name=_("提供党组织"))
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="resources",
                               verbose_name=_("提供人"))
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("提供方所在区域"))
    area_path = models.CharField(max_length=255)
    kind = models.CharField(_("资源类别"), max_length=12, choices=Kind.choices)
    title = models.CharField(_("资源名称"), max_length=100)
    description = models.TextField(_("资源说明"), max_length=2000, blank=True)
    capacity = models.PositiveIntegerField(_("可提供数量"))
    used = models.PositiveIntegerField(_("已对接数量"), default=0)
    measure = models.CharField(_("计量单位"), max_length=10, default="次")
    cadence = models.CharField(_("提供频次"), max_length=50, blank=True)  # "每年 6 次", "周末", "每月 2 小时"
    amount = models.DecimalField(_("资金金额（元）"), max_digits=12, decimal_places=2, null=True, blank=True)
    valid_from = models.DateField(_("有效期起"))
    valid_until = models.DateField(_("有效期止"))
    active = models.BooleanField(_("在库"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    class Meta:
        verbose_name = _("共建资源")
        verbose_name_plural = _("共建资源")
        indexes = [
            models.Index(fields=["area_path"], name="resource_path_idx", opclasses=PATH_OPS),
            models.Index(fields=["kind", "active", "valid_until"], name="resource_kind_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(used__lte=F("capacity")), name="resource_not_overbooked"),
        ]

    def __str__(self) -> str:
        return self.title

    def audit_area_path(self) -> str:
        return self.area_path

    @property
    def left(self) -> int:
        return max(self.capacity - self.used, 0)

    def valid_on(self, day: dt.date) -> bool:
        return self.active and self.valid_from <= day <= self.valid_until


class ResourceReach(models.Model):
    """An area a resource serves (a community, a street, a district: its whole subtree)."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="reach")
    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="+")
    area_path = models.CharField(max_length=255)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["resource", "area"], name="reach_once")]
        indexes = [models.Index(fields=["area_path"], name="reach_path_idx", opclasses=PATH_OPS)]

    def __str__(self) -> str:
        return f"{self.resource_id} → {self.area_path}"


class Side(models.TextChoices):
    NEED = "need", _("需求方")
    RESOURCE = "resource", _("资源方")


class Match(models.Model):
    """对接: a resource offered to a need, proposed by one side and confirmed by the other."""

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="matches", verbose_name=_("需求"))
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="matches", verbose_name=_("资源"))
    area_path = models.CharField(max_length=255)  # the need's
    quantity = models.PositiveIntegerField(_("对接数量"), default=1)
    proposed_by_side = models.CharField(_("发起方"), max_length=10, choices=Side.choices)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    note = models.CharField(_("说明"), max_length=300, blank=True)
    state = models.CharField(_("状态"), max_length=12, choices=MatchState.choices, default=MatchState.PROPOSED)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    class Meta:
        verbose_name = _("需求对接")
        verbose_name_plural = _("需求对接")
        indexes = [models.Index(fields=["area_path", "state"], name="match_path_idx", opclasses=[*PATH_OPS, ""])]

    def __str__(self) -> str:
        return f"{self.need} ← {self.resource}"

    def audit_area_path(self) -> str:
        return self.area_path


# The list types every city starts with (the 四单 lists the seeds name); administrators add or retire others.
DEFAULT_LIST_TYPES = [
    # code, name, key task, goes to the claiming pool
    ("secretary", "书记1+N工作清单", False, False),
    ("key", "重点任务清单", True, False),
    ("routine", "常规任务清单", False, False),
    ("livelihood", "民生实事", False, True),
    ("committee", "大工委委员领办项目", False, False),
    ("commitment", "承诺事项", False, False),
    ("micro", "微心愿/小实事", False, True),
]


def load_default_list_types(model: type[models.Model] | None = None) -> int:
    """Put the starting list types where they are missing (the migration, the demo, after a test flush)."""
    model = model or ListType
    have = set(model._default_manager.values_list("code", flat=True))  # type: ignore[attr-defined]
    missing = [model(code=code, name=name, key=key, claimable=claimable, order=(i + 1) * 10)  # type: ignore[call-arg]
               for i, (code, name, key, claimable) in enumerate(DEFAULT_LIST_TYPES) if code not in have]
    model._default_manager.bulk_create(missing)  # type: ignore[attr-defined]
    return len(missing)


class ListType(models.Model):
    """清单类型 as data: 书记 1+N 工作清单, 重点任务清单, 常规任务清单, 民生实事, 大工委委员领办项目, 承诺事项…"""

    code = models.SlugField(_("代码"), max_length=30, unique=True)
    name = models.CharField(_("清单名称"), max_length=40)
    key = models.BooleanField(_("重点任务"), default=False)  # 德阳: 142 key tasks beside 271 routine ones
    claimable = models.BooleanField(_("可认领"), default=False)  # 民生实事 go to the claiming pool
    order = models.PositiveIntegerField(_("排序"), default=100)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("清单类型")
        verbose_name_plural = _("清单类型")
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.name


class Project(models.Model):
    """A project, task or 实事 with its four lists (四单): 任务 (``task``), 责任 (lead unit, responsible units, person
    in charge), 标准 (``standard`` with a measurable target), 时限 (``due_on`` on the working-day calendar)."""

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="cobuild_projects",
                             verbose_name=_("所属区域"))
    area_path = models.CharField(max_length=255)
    list_type = models.ForeignKey(ListType, on_delete=models.PROTECT, related_name="projects",
                                  verbose_name=_("清单类型"))
    title = models.CharField(_("项目名称"), max_length=100)
    task = models.TextField(_("任务清单（做什么）"), max_length=2000)
    standard = models.TextField(_("标准清单（怎样算完成）"), max_length=1000)
    target_value = models.DecimalField(_("目标数量"), max_digits=12, decimal_places=2, null=True, blank=True)
    target_measure = models.CharField(_("目标单位"), max_length=10, blank=True)
    achieved_value = models.DecimalField(_("完成数量"), max_digits=12, decimal_places=2, default=Decimal("0"))
    lead_unit = models.ForeignKey(MemberUnit, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="led_projects", verbose_name=_("牵头单位"))
    units = models.ManyToManyField(MemberUnit, blank=True, related_name="cobuild_projects",
                                   verbose_name=_("责任单位"))
    person_in_charge = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="led_projects", verbose_name=_("责任人"))
    starts_on = models.DateField(_("开始日期"))
    limit_days = models.PositiveIntegerField(_("时限（工作日）"), default=0)
    due_on = models.DateField(_("完成时限"))
    state = models.CharField(_("状态"), max_length=12, choices=ProjectState.choices, default=ProjectState.OPEN)
    public = models.BooleanField(_("向居民公开"), default=True)
    claim_limit = models.PositiveIntegerField(_("认领人数上限"), default=1)
    claims_active = models.PositiveIntegerField(_("当前认领数"), default=0)
    budget = models.DecimalField(_("预算（元）"), max_digits=12, decimal_places=2, null=True, blank=True)
    need = models.ForeignKey(Need, null=True, blank=True, on_delete=models.SET_NULL, related_name="projects",
                             verbose_name=_("来源需求"))
    agenda_item = models.ForeignKey("councils.AgendaItem", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="projects", verbose_name=_("来源议题"))
    commitment_item = models.ForeignKey("registry.CommitmentItem", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="projects", verbose_name=_("来源承诺事项"))
    progress = models.PositiveSmallIntegerField(_("进度（%）"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(_("提请验收时间"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("验收时间"), null=True, blank=True)
    acceptance_note = models.TextField(_("验收意见"), max_length=1000, blank=True)
    overdue_at = models.DateTimeField(_("超期时间"), null=True, blank=True)
    rating_count = models.PositiveIntegerField(_("评价人数"), default=0)
    rating_total = models.PositiveIntegerField(_("评价总分"), default=0)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    class Meta:
        verbose_name = _("共建项目")
        verbose_name_plural = _("共建项目")
        indexes = [
            models.Index(fields=["area_path", "state"], name="project_path_state_idx", opclasses=[*PATH_OPS, ""]),
            models.Index(fields=["due_on"], name="project_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(claims_active__lte=F("claim_limit")), name="project_claims_limit"),
        ]

    def __str__(self) -> str:
        return self.title

    def audit_area_path(self) -> str:
        return self.area_path

    @property
    def rating(self) -> float | None:
        return round(self.rating_total / self.rating_count, 1) if self.rating_count else None


class Milestone(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(_("节点"), max_length=100)
    due_on = models.DateField(_("计划完成"))
    done_on = models.DateField(_("实际完成"), null=True, blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "due_on", "pk"]

    def __str__(self) -> str:
        return self.title

    def audit_area_path(self) -> str:
        return self.project.area_path


class ProgressReport(models.Model):
    """进度报告 with photos: what was done, how far along."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reports")
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reported_at = models.DateTimeField(default=timezone.now)
    text = models.TextField(_("进展情况"), max_length=2000)
    progress = models.PositiveSmallIntegerField(_("进度（%）"))
    achieved_value = models.DecimalField(_("完成数量"), max_digits=12, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["-reported_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.project_id} {self.progress}%"

    def audit_area_path(self) -> str:
        return self.project.area_path


class ProjectRating(models.Model):
    """A resident's rating of an accepted project (1–5), once per person."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="ratings")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    score = models.PositiveSmallIntegerField(_("评分"))
    comment = models.CharField(_("评价"), max_length=300, blank=True)
    rated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "person"], name="rating_once"),
            models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="rating_range"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.score}"

    def audit_area_path(self) -> str:
        return self.project.area_path


class Claim(models.Model):
    """认领/领单: a unit, a party member (在职党员 双报到) or a volunteer takes a 实事 from the pool."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="claims", verbose_name=_("项目"))
    area_path = models.CharField(max_length=255)  # the project's
    unit = models.ForeignKey(MemberUnit, null=True, blank=True, on_delete=models.CASCADE, related_name="cobuild_claims",
                             verbose_name=_("认领单位"))
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="cobuild_claims",
                               verbose_name=_("认领人"))
    pledge = models.CharField(_("承诺（亮承诺）"), max_length=300, blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=ClaimState.choices, default=ClaimState.ACTIVE)
    claimed_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdraw_reason = models.CharField(_("退领理由"), max_length=300, blank=True)
    claimed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    class Meta:
        verbose_name = _("认领")
        verbose_name_plural = _("认领")
        constraints = [
            # Nothing claimed twice by the same claimant while the claim stands.
            models.UniqueConstraint(fields=["project", "unit"], condition=Q(state="active", unit__isnull=False),
                                    name="claim_once_unit"),
            models.UniqueConstraint(fields=["project", "person"], condition=Q(state="active", person__isnull=False),
                                    name="claim_once_person"),
            models.CheckConstraint(condition=Q(unit__isnull=False) | Q(person__isnull=False),
                                   name="claim_has_claimant"),
        ]
        indexes = [models.Index(fields=["area_path", "state"], name="claim_path_idx", opclasses=[*PATH_OPS, ""])]

    def __str__(self) -> str:
        return f"{self.project} · {self.unit or self.person}"

    def audit_area_path(self) -> str:
        return self.area_path


class VolunteerTeam(models.Model):
    """志愿服务队: a unit's or a community's team."""

    name = models.CharField(_("队伍名称"), max_length=60)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("所在区域"))
    area_path = models.CharField(max_length=255)
    unit = models.ForeignKey(MemberUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="teams",
                             verbose_name=_("所属单位"))
    members = models.ManyToManyField(Person, blank=True, related_name="volunteer_teams", verbose_name=_("队员"))

    class Meta:
        verbose_name = _("志愿服务队")
        verbose_name_plural = _("志愿服务队")
        indexes = [models.Index(fields=["area_path"], name="team_path_idx", opclasses=PATH_OPS)]

    def __str__(self) -> str:
        return self.name

    def audit_area_path(self) -> str:
        return self.area_path


class Delivery(models.Model):
    """服务记录: one service delivered — who, when, where, for whom, how long; the ledger behind "11.4万 services"."""

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("服务地点"))
    area_path = models.CharField(max_length=255)
    kind = models.CharField(_("服务类别"), max_length=12, choices=Kind.choices)
    title = models.CharField(_("服务内容"), max_length=100)
    description = models.TextField(_("服务情况"), max_length=2000, blank=True)
    delivered_on = models.DateField(_("服务日期"))
    place = models.CharField(_("具体地点"), max_length=100, blank=True)
    beneficiaries = models.PositiveIntegerField(_("服务人次"), default=0)
    hours = models.DecimalField(_("服务时长（小时）"), max_digits=8, decimal_places=1, default=Decimal("0"))
    unit = models.ForeignKey(MemberUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries",
                             verbose_name=_("服务单位"))
    team = models.ForeignKey(VolunteerTeam, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="deliveries", verbose_name=_("志愿服务队"))
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries",
                                verbose_name=_("所属项目"))
    need = models.ForeignKey(Need, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries",
                             verbose_name=_("对应需求"))
    match = models.ForeignKey(Match, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries",
                              verbose_name=_("对应对接"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("服务记录")
        verbose_name_plural = _("服务记录")
        indexes = [
            models.Index(fields=["area_path", "delivered_on"], name="delivery_path_idx", opclasses=[*PATH_OPS, ""]),
            models.Index(fields=["unit", "delivered_on"], name="delivery_unit_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def audit_area_path(self) -> str:
        return self.area_path


class Participation(models.Model):
    """One volunteer's hours on one delivery (志愿服务时长): summed per person, team, unit and party organisation."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="participants")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="participations")
    hours = models.DecimalField(_("时长（小时）"), max_digits=6, decimal_places=1)
    area_path = models.CharField(max_length=255)  # the delivery's
    delivered_on = models.DateField()  # the delivery's, so hours per person and period need no join

    class Meta:
        constraints = [models.UniqueConstraint(fields=["delivery", "person"], name="participation_once")]
        indexes = [models.Index(fields=["person", "delivered_on"], name="participation_person_idx")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.hours}h"

    def audit_area_path(self) -> str:
        return self.area_path


class CobuildPhoto(models.Model):
    """A photo of progress or of a delivery, re-encoded like case photos and served through a permission check."""

    report = models.ForeignKey(ProgressReport, null=True, blank=True, on_delete=models.CASCADE, related_name="photos")
    delivery = models.ForeignKey(Delivery, null=True, blank=True, on_delete=models.CASCADE, related_name="photos")
    area_path = models.CharField(max_length=255)
    image = models.FileField(upload_to="cobuild/%Y/%m/")
    content_type = models.CharField(max_length=20)
    uploaded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return str(self.image.name)

    def audit_area_path(self) -> str:
        return self.area_path


# ---------------------------------------------------------------------------------------------- service organisations


class ServiceOrg(models.Model):
    """功能型服务组织 (午餐、家政、养老、托育…) publishing offerings residents book."""

    name = models.CharField(_("组织名称"), max_length=100)
    kind = models.CharField(_("服务类别"), max_length=12, choices=Kind.choices)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("所在区域"))
    area_path = models.CharField(max_length=255)
    unit = models.ForeignKey(MemberUnit, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="service_orgs", verbose_name=_("登记单位"))
    contact_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    active = models.BooleanField(_("在服务"), default=True)

    class Meta:
        verbose_name = _("服务组织")
        verbose_name_plural = _("服务组织")
        indexes = [models.Index(fields=["area_path"], name="serviceorg_path_idx", opclasses=PATH_OPS)]

    def __str__(self) -> str:
        return self.name

    def audit_area_path(self) -> str:
        return self.area_path


class Offering(models.Model):
    org = models.ForeignKey(ServiceOrg, on_delete=models.CASCADE, related_name="offerings", verbose_name=_("服务组织"))
    title = models.CharField(_("服务项目"), max_length=100)
    description = models.TextField(_("服务说明"), max_length=1000, blank=True)
    price = models.CharField(_("收费标准"), max_length=50, blank=True)  # "12 元/餐，80 岁以上 8 元"
    area_path = models.CharField(max_length=255)  # the org's
    active = models.BooleanField(_("在售"), default=True)

    class Meta:
        verbose_name = _("服务项目")
        verbose_name_plural = _("服务项目")
        indexes = [models.Index(fields=["area_path"], name="offering_path_idx", opclasses=PATH_OPS)]

    def __str__(self) -> str:
        return self.title

    def audit_area_path(self) -> str:
        return self.area_path


class Slot(models.Model):
    """A bookable time slot with a number of places; ``booked`` never exceeds ``capacity``."""

    offering = models.ForeignKey(Offering, on_delete=models.CASCADE, related_name="slots")
    area_path = models.CharField(max_length=255)
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    capacity = models.PositiveIntegerField(_("名额"))
    booked = models.PositiveIntegerField(_("已预约"), default=0)

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [models.CheckConstraint(condition=Q(booked__lte=F("capacity")), name="slot_not_overbooked")]
        indexes = [models.Index(fields=["offering", "starts_at"], name="slot_offering_idx")]

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def full(self) -> bool:
        return self.booked >= self.capacity

    def audit_area_path(self) -> str:
        return self.area_path


class Booking(models.Model):
    """预约接单: a resident's booking of one place in a slot."""

    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("时段"))
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="bookings", verbose_name=_("预约人"))
    area_path = models.CharField(max_length=255)  # the org's (the provider sees its bookings)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=BookingState.choices, default=BookingState.BOOKED)
    booked_at = models.DateTimeField(default=timezone.now)
    rating = models.PositiveSmallIntegerField(_("评分"), null=True, blank=True)
    comment = models.CharField(_("评价"), max_length=300, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    class Meta:
        verbose_name = _("服务预约")
        verbose_name_plural = _("服务预约")
        constraints = [
            models.UniqueConstraint(fields=["slot", "person"], condition=~Q(state="cancelled"), name="booking_once"),
        ]
        indexes = [models.Index(fields=["area_path", "state"], name="booking_path_idx", opclasses=[*PATH_OPS, ""])]

    def __str__(self) -> str:
        return f"{self.slot_id} · {self.person_id}"

    def audit_area_path(self) -> str:
        return self.area_path


# ---------------------------------------------------------------------------------------------- admission control


class WorkKind(models.TextChoices):
    TASK = "task", _("工作任务")
    MEETING = "meeting", _("会议活动")
    REPORT = "report", _("报表台账")
    SIGNOFF = "signoff", _("证明盖章")
    ASSESSMENT = "assessment", _("检查考核")


class AdmittedItem(models.Model):
    """准入清单: work a street or district has admitted into communities (anything else needs a request)."""

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("制定层级"))
    area_path = models.CharField(max_length=255)
    kind = models.CharField(_("事项类别"), max_length=12, choices=WorkKind.choices)
    name = models.CharField(_("事项名称"), max_length=100)
    department = models.ForeignKey(MemberUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("主管部门"))
    basis = models.CharField(_("依据"), max_length=200, blank=True)
    admitted_on = models.DateField(_("准入日期"), default=timezone.localdate)
    active = models.BooleanField(_("有效"), default=True)

    class Meta:
        verbose_name = _("准入事项")
        verbose_name_plural = _("准入事项")
        indexes = [models.Index(fields=["area_path"], name="admitted_path_idx", opclasses=PATH_OPS)]

    def __str__(self) -> str:
        return self.name

    def audit_area_path(self) -> str:
        return self.area_path


class AdmissionRequest(models.Model):
    """A department's request to push a task, meeting, report or sign-off onto communities (社区工作事项准入)."""

    department = models.ForeignKey(MemberUnit, on_delete=models.PROTECT, related_name="admission_requests",
                                   verbose_name=_("申请部门"))
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("审核层级"))
    area_path = models.CharField(max_length=255)
    kind = models.CharField(_("事项类别"), max_length=12, choices=WorkKind.choices)
    title = models.CharField(_("事项名称"), max_length=100)
    description = models.TextField(_("事项内容"), max_length=2000)
    basis = models.CharField(_("依据"), max_length=200, blank=True)
    communities = models.PositiveIntegerField(_("涉及社区数"), default=0)
    state = models.CharField(_("状态"), max_length=10, choices=RequestState.choices, default=RequestState.FILED)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    filed_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(_("审核意见"), max_length=300, blank=True)
    admitted_item = models.ForeignKey(AdmittedItem, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="requests")
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    class Meta:
        verbose_name = _("准入申请")
        verbose_name_plural = _("准入申请")
        indexes = [models.Index(fields=["area_path", "state"], name="admission_path_idx", opclasses=[*PATH_OPS, ""])]

    def __str__(self) -> str:
        return self.title

    def audit_area_path(self) -> str:
        return self.area_path


class UnadmittedFlag(models.Model):
    """A community flags work pushed onto it without admission (evidence for 减负)."""

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("社区"))
    area_path = models.CharField(max_length=255)
    department = models.ForeignKey(MemberUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("下派部门"))
    department_name = models.CharField(_("下派部门名称"), max_length=150, blank=True)
    kind = models.CharField(_("事项类别"), max_length=12, choices=WorkKind.choices)
    description = models.TextField(_("情况说明"), max_length=1000)
    flagged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    flagged_at = models.DateTimeField(default=timezone.now)
    handled_at = models.DateTimeField(null=True, blank=True)
    handling = models.CharField(_("处理结果"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("未准入事项反映")
        verbose_name_plural = _("未准入事项反映")
        indexes = [models.Index(fields=["area_path"], name="flag_path_idx", opclasses=PATH_OPS)]

    def __str__(self) -> str:
        return self.description[:30]

    def audit_area_path(self) -> str:
        return self.area_path


# ---------------------------------------------------------------------------------------------- funds


class FundSource(models.TextChoices):
    """天长 "四个一点": 财政拨一点、党费补一点、社会捐一点、居民筹一点."""

    CITY = "city", _("市财政")
    DISTRICT = "district", _("区财政")
    PARTY_DUES = "party_dues", _("党费补助")
    DONATION = "donation", _("社会捐赠")
    RESIDENTS = "residents", _("居民自筹")


class Purpose(models.TextChoices):
    SERVICE = "service", _("为民服务")
    PROJECT = "project", _("项目建设")
    ACTIVITY = "activity", _("组织活动")
    FACILITY = "facility", _("阵地建设")
    HELP = "help", _("困难帮扶")
    OTHER = "other", _("其他")


class AllocationRule(models.Model):
    """An allocation rule as data: e.g. 2万 per community + 0.2万 per 100 households, from one source in one year."""

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("适用区域"))
    area_path = models.CharField(max_length=255)
    year = models.PositiveIntegerField(_("年度"))
    source = models.CharField(_("资金来源"), max_length=12, choices=FundSource.choices)
    target_kind = models.CharField(_("拨付对象"), max_length=12, default="community")  # an AreaKind
    base_amount = models.DecimalField(_("每个对象基数（元）"), max_digits=12, decimal_places=2)
    per_hundred_households = models.DecimalField(_("每百户增加（元）"), max_digits=12, decimal_places=2,
                                                 default=Decimal("0"))
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("经费分配规则")
        verbose_name_plural = _("经费分配规则")

    def __str__(self) -> str:
        return f"{self.year} {self.get_source_display()}"

    def audit_area_path(self) -> str:
        return self.area_path


class Budget(models.Model):
    """A budget of one area (community, compound party branch's compound) or project for one year and source.
    ``spent`` never passes ``amount``: spending is one conditional UPDATE."""

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("区域"))
    area_path = models.CharField(max_length=255)
    year = models.PositiveIntegerField(_("年度"))
    source = models.CharField(_("资金来源"), max_length=12, choices=FundSource.choices)
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.PROTECT, related_name="budgets",
                                verbose_name=_("专项项目"))
    organisation = models.ForeignKey(PartyOrganisation, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("使用党组织"))
    amount = models.DecimalField(_("预算金额（元）"), max_digits=12, decimal_places=2)
    spent = models.DecimalField(_("已支出（元）"), max_digits=12, decimal_places=2, default=Decimal("0"))
    rule = models.ForeignKey(AllocationRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="budgets")
    note = models.CharField(_("说明"), max_length=200, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    class Meta:
        verbose_name = _("经费预算")
        verbose_name_plural = _("经费预算")
        indexes = [models.Index(fields=["area_path", "year"], name="budget_path_idx", opclasses=[*PATH_OPS, ""])]
        constraints = [
            models.CheckConstraint(condition=Q(spent__lte=F("amount")), name="budget_not_overdrawn"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.get_source_display()}"

    def audit_area_path(self) -> str:
        return self.area_path

    @property
    def balance(self) -> Decimal:
        return self.amount - self.spent


class Spending(models.Model):
    """A spending record against a budget (and a project or need), with its receipt."""

    budget = models.ForeignKey(Budget, on_delete=models.PROTECT, related_name="spendings", verbose_name=_("预算"))
    area_path = models.CharField(max_length=255)  # the budget's
    amount = models.DecimalField(_("金额（元）"), max_digits=12, decimal_places=2)
    purpose = models.CharField(_("用途"), max_length=12, choices=Purpose.choices)
    description = models.CharField(_("支出事由"), max_length=200)
    payee = models.CharField(_("收款方"), max_length=100, blank=True)
    spent_on = models.DateField(_("支出日期"))
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="spendings",
                                verbose_name=_("关联项目"))
    need = models.ForeignKey(Need, null=True, blank=True, on_delete=models.SET_NULL, related_name="spendings",
                             verbose_name=_("关联需求"))
    receipt = models.FileField(_("票据"), upload_to="cobuild/receipts/%Y/", blank=True)
    receipt_type = models.CharField(max_length=20, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("经费支出")
        verbose_name_plural = _("经费支出")
        indexes = [models.Index(fields=["area_path", "spent_on"], name="spending_path_idx", opclasses=[*PATH_OPS, ""])]

    def __str__(self) -> str:
        return self.description

    def audit_area_path(self) -> str:
        return self.area_path
