"""Councils and consultation (C1–C5): joint meetings at every level with members and a cadence, meetings with
attendance and minutes, and one ledger of agenda items (议题台账) whose workflow follows the council's procedure and
whose unsettled items move up to the parent council, which must answer (议题上移)."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.registry.models import Area, MemberUnit, PartyOrganisation, Person

from .workflow import ItemState

# The kinds a city starts with (the data migration loads them; administrators add, rename and retire kinds).
DEFAULT_KINDS: list[tuple[str, str]] = [
    ("joint_meeting", "联席会议"),
    ("working_committee", "大工委"),
    ("party_committee", "大党委"),
    ("tripartite", "三方联席会/三联办"),
    ("homeland", "家园议事会"),
    ("other", "其他议事组织"),
]


def load_default_kinds(model: type[models.Model] | None = None) -> int:
    """Put the six starting kinds in the table where they are missing (the migration; the demo; after a test flush).
    Kinds an administrator renamed or retired are left as they are. Returns how many were added."""
    model = model or CouncilKind
    have = set(model._default_manager.values_list("code", flat=True))  # type: ignore[attr-defined]
    missing = [model(code=code, name=name, order=(i + 1) * 10)  # type: ignore[call-arg]
               for i, (code, name) in enumerate(DEFAULT_KINDS) if code not in have]
    model._default_manager.bulk_create(missing)  # type: ignore[attr-defined]
    return len(missing)


class CouncilKind(models.Model):
    """A kind of council (联席会议, 大工委, 大党委, …): data the system administrator keeps. The code never changes
    (councils point at it); the name can be changed and a kind retired (no new councils of it)."""

    code = models.CharField(_("代码"), max_length=20, unique=True, validators=[RegexValidator(
        r"^[a-z][a-z0-9_]*$", _("代码只能由小写字母、数字和下划线组成，并以字母开头"))])
    name = models.CharField(_("名称"), max_length=50, unique=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=100, validators=[MaxValueValidator(9999)])
    active = models.BooleanField(_("启用"), default=True)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)  # optimistic lock (409 on a stale edit)

    class Meta:
        verbose_name = _("议事组织类型")
        verbose_name_plural = _("议事组织类型")
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.name

    def audit_area_path(self) -> str:
        return ""


class Cadence(models.TextChoices):
    WEEKLY = "weekly", _("每周")
    MONTHLY = "monthly", _("每月")
    QUARTERLY = "quarterly", _("每季度")


CADENCE_DAYS: dict[str, int] = {"weekly": 7, "monthly": 31, "quarterly": 92}


class Procedure(models.TextChoices):
    SIMPLE = "simple", _("一般议事")
    SIX_STEPS = "six_steps", _("六步工作法")
    HOMELAND = "homeland", _("家园议事（提事、商事、办事、评事）")
    BRANCH_FIRST = "branch_first", _("党支部先议")


class Council(models.Model):
    name = models.CharField(_("名称"), max_length=100)
    # The kind's code is the column (``kind_id`` is the code string), so the codes stored before kinds became data
    # stay as they were.
    kind = models.ForeignKey(CouncilKind, to_field="code", db_column="kind", on_delete=models.PROTECT,
                             related_name="councils", verbose_name=_("类型"))
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="councils", verbose_name=_("区域"))
    convener = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("召集人"))
    cadence = models.CharField(_("召开频次"), max_length=10, choices=Cadence.choices, default=Cadence.QUARTERLY)
    procedure = models.CharField(_("议事规则"), max_length=14, choices=Procedure.choices, default=Procedure.SIMPLE)
    created_on = models.DateField(_("成立日期"), default=timezone.localdate)
    last_met_on = models.DateField(_("最近召开"), null=True, blank=True)

    class Meta:
        verbose_name = _("议事组织")
        verbose_name_plural = _("议事组织")
        indexes = [models.Index(fields=["area"], name="council_area_idx")]

    def __str__(self) -> str:
        return self.name

    def audit_area_path(self) -> str:
        return self.area.path


class MemberRole(models.TextChoices):
    CONVENER = "convener", _("召集人")
    MEMBER = "member", _("成员")
    HOST = "host", _("主事员")
    DELIBERATOR = "deliberator", _("议事员")
    ADVISER = "adviser", _("指导员")
    OBSERVER = "observer", _("列席")


class CouncilMember(models.Model):
    """A member: a person, a member unit (成员单位) or a party organisation (大党委's member organisations).
    A member who leaves keeps her row (and her attendance at past meetings) with the day she left."""

    council = models.ForeignKey(Council, on_delete=models.CASCADE, related_name="members")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("成员本人"))
    unit = models.ForeignKey(MemberUnit, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("代表单位"))
    organisation = models.ForeignKey(PartyOrganisation, null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="+", verbose_name=_("成员党组织"))
    role = models.CharField(_("角色"), max_length=12, choices=MemberRole.choices, default=MemberRole.MEMBER)
    joined_on = models.DateField(_("加入日期"), default=timezone.localdate)
    left_on = models.DateField(_("退出日期"), null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["council", "left_on"], name="member_council_idx")]

    def __str__(self) -> str:
        return f"{self.display_name} · {self.get_role_display()}"

    @property
    def display_name(self) -> str:
        return str(self.person or self.unit or self.organisation)

    @property
    def kind_label(self) -> str:
        return str(_("个人") if self.person_id else _("单位") if self.unit_id else _("党组织"))

    def audit_area_path(self) -> str:
        return self.council.area.path


class Meeting(models.Model):
    council = models.ForeignKey(Council, on_delete=models.CASCADE, related_name="meetings")
    scheduled_for = models.DateTimeField(_("会议时间"))
    place = models.CharField(_("地点"), max_length=100)
    held = models.BooleanField(_("已召开"), default=False)
    minutes = models.TextField(_("会议纪要"), blank=True, max_length=20000)
    present = models.ManyToManyField(CouncilMember, blank=True, related_name="attended", verbose_name=_("出席"))

    class Meta:
        verbose_name = _("会议")
        verbose_name_plural = _("会议")
        indexes = [models.Index(fields=["council", "scheduled_for"], name="meeting_council_idx")]

    def __str__(self) -> str:
        return f"{self.council} {timezone.localtime(self.scheduled_for):%Y-%m-%d}"

    def audit_area_path(self) -> str:
        return self.council.area.path


class Source(models.TextChoices):
    RESIDENT = "resident", _("居民提事")
    MEMBER = "member", _("成员提议")
    CASE = "case", _("诉求转入")
    ESCALATION = "escalation", _("下级上移")


class AgendaItem(models.Model):
    """One entry of a council's ledger. An escalated item has a twin in the parent council (``escalated_to``);
    the parent's answer flows back to it (and, along the chain, to where the item began)."""

    council = models.ForeignKey(Council, on_delete=models.CASCADE, related_name="items")
    title = models.CharField(_("议题"), max_length=120)
    description = models.TextField(_("内容"), max_length=4000)
    source = models.CharField(_("来源"), max_length=12, choices=Source.choices)
    raised_by = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                  verbose_name=_("提出人"))
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             verbose_name=_("关联诉求"))
    state = models.CharField(_("状态"), max_length=16, choices=ItemState.choices, default=ItemState.PROPOSED)
    meeting = models.ForeignKey(Meeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="items",
                                verbose_name=_("上会"))
    discussion = models.TextField(_("讨论情况"), blank=True, max_length=4000)
    decision = models.TextField(_("决议"), blank=True, max_length=4000)
    responsible = models.CharField(_("责任方"), max_length=100, blank=True)
    deadline = models.DateField(_("完成时限"), null=True, blank=True)
    done_on = models.DateField(_("落实日期"), null=True, blank=True)
    follow_up_case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+", verbose_name=_("落实诉求"))
    escalated_from = models.OneToOneField("self", null=True, blank=True, on_delete=models.SET_NULL,
                                          related_name="escalated_to", verbose_name=_("下级议题"))
    escalation_reason = models.TextField(_("上移理由"), blank=True, max_length=2000)
    escalation_meeting = models.ForeignKey(Meeting, null=True, blank=True, on_delete=models.SET_NULL,
                                           related_name="+", verbose_name=_("上移时附会议纪要"))
    answer = models.TextField(_("上级答复"), blank=True, max_length=4000)
    created_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("议题")
        verbose_name_plural = _("议题台账")
        indexes = [models.Index(fields=["council", "state"], name="item_council_state_idx")]

    def __str__(self) -> str:
        return self.title

    def audit_area_path(self) -> str:
        return self.council.area.path
