"""The structure of a city (REQUIREMENTS A1–A6): the area tree, party organisations, member units, people and
pairings. State changes go through :mod:`gongzhi.registry.services`; reads through :mod:`.selectors`."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node


class AreaKind(models.TextChoices):
    CITY = "city", _("市")
    DISTRICT = "district", _("区/县")
    STREET = "street", _("街道")
    COMMUNITY = "community", _("社区")
    GRID = "grid", _("网格")
    COMPOUND = "compound", _("小区")
    BUILDING = "building", _("楼栋")


# Which kind of node may hang under which (A1). Grids and compounds both sit under a community; buildings under
# either.
CHILD_KINDS: dict[str, tuple[str, ...]] = {
    AreaKind.CITY: (AreaKind.DISTRICT,),
    AreaKind.DISTRICT: (AreaKind.STREET,),
    AreaKind.STREET: (AreaKind.COMMUNITY,),
    AreaKind.COMMUNITY: (AreaKind.GRID, AreaKind.COMPOUND),
    AreaKind.GRID: (AreaKind.COMPOUND, AreaKind.BUILDING),
    AreaKind.COMPOUND: (AreaKind.BUILDING,),
    AreaKind.BUILDING: (),
}
LEVEL_ORDER = [k.value for k in AreaKind]


class Area(MP_Node):
    """A node of the area tree: 市 → 区/县 → 街道 → 社区 → 网格/小区 → 楼栋.

    The materialized path (django-treebeard) makes a subtree one index range scan (``path__prefix``).
    """

    steplen = 4
    name = models.CharField(_("名称"), max_length=100)
    code = models.CharField(_("代码"), max_length=32, unique=True)
    kind = models.CharField(_("层级"), max_length=16, choices=AreaKind.choices)
    households = models.PositiveIntegerField(_("户数"), default=0)
    population = models.PositiveIntegerField(_("人口"), default=0)
    boundary = models.JSONField(_("边界 (GeoJSON)"), null=True, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)  # optimistic lock (409 on a stale edit)

    class Meta:
        verbose_name = _("区域")
        verbose_name_plural = _("区域")
        indexes = [
            # LIKE 'prefix%' on PostgreSQL needs the pattern operator class unless the collation is "C".
            models.Index(fields=["path"], name="area_path_prefix_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["kind", "path"], name="area_kind_path_idx", opclasses=["", "varchar_pattern_ops"]),
            models.Index(fields=["name"], name="area_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def audit_area_path(self) -> str:
        return self.path


class Sector(models.TextChoices):
    """The field an organisation or unit works in (A2)."""

    ORGAN = "organ", _("机关")
    PUBLIC_INSTITUTION = "institution", _("事业单位")
    STATE_ENTERPRISE = "soe", _("国有企业")
    SCHOOL = "school", _("学校")
    HOSPITAL = "hospital", _("医院")
    NON_PUBLIC = "non_public", _("非公企业")
    SOCIAL_ORG = "social_org", _("社会组织")
    PROPERTY = "property", _("物业企业")
    OWNERS_COMMITTEE = "owners_committee", _("业委会")
    GRASSROOTS = "grassroots", _("草根组织")
    COMMUNITY = "community", _("街道社区")


class MemberUnit(models.Model):
    """驻区单位: an organisation located in the area that joins co-building (A3)."""

    name = models.CharField(_("单位名称"), max_length=150)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, unique=True)
    sector = models.CharField(_("类别"), max_length=20, choices=Sector.choices)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="units", verbose_name=_("所在区域"))
    address = models.CharField(_("地址"), max_length=200, blank=True)
    contact_name = models.CharField(_("联系人"), max_length=50, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    staff_count = models.PositiveIntegerField(_("职工数"), default=0)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)  # optimistic lock (409 on a stale edit)

    class Meta:
        verbose_name = _("驻区单位")
        verbose_name_plural = _("驻区单位")
        indexes = [models.Index(fields=["sector"], name="unit_sector_idx")]

    def __str__(self) -> str:
        return self.name

    def audit_area_path(self) -> str:
        return self.area.path


class OrgLevel(models.TextChoices):
    """The form of a party organisation (A2)."""

    COMMITTEE = "committee", _("党委")
    WORKING_COMMITTEE = "working_committee", _("党工委")
    GENERAL_BRANCH = "general_branch", _("党总支")
    BRANCH = "branch", _("党支部")
    JOINT_BRANCH = "joint_branch", _("联合党支部")
    GROUP = "group", _("党小组")
    TEMPORARY_BRANCH = "temporary_branch", _("临时党支部")


class PartyOrganisation(models.Model):
    """A party organisation attached to a node of the tree: 区委, 街道党工委, 社区党委, 网格(小区)党支部,
    楼栋党小组, or the organisation of a unit (机关, 国企, 学校, 医院, 非公企业, 社会组织, 物业, 业委会, 草根组织)."""

    name = models.CharField(_("名称"), max_length=150)
    level = models.CharField(_("组织形式"), max_length=20, choices=OrgLevel.choices)
    sector = models.CharField(_("领域"), max_length=20, choices=Sector.choices, default=Sector.COMMUNITY)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="party_orgs", verbose_name=_("所在区域"))
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("上级党组织")
    )
    unit = models.ForeignKey(
        MemberUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="party_orgs",
        verbose_name=_("所属单位"),
    )
    # A joint branch (联合党支部) covers several small units that cannot form their own (应建尽建).
    covered_units = models.ManyToManyField(
        MemberUnit, blank=True, related_name="covering_orgs", verbose_name=_("覆盖单位")
    )
    has_joint_committee = models.BooleanField(_("设大工委/大党委"), default=False)
    founded_on = models.DateField(_("成立日期"), null=True, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)  # optimistic lock (409 on a stale edit)

    class Meta:
        verbose_name = _("党组织")
        verbose_name_plural = _("党组织")
        indexes = [models.Index(fields=["sector", "level"], name="org_sector_level_idx")]

    def __str__(self) -> str:
        return self.name

    def audit_area_path(self) -> str:
        return self.area.path


class Gender(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class Person(models.Model):
    """Anyone the platform knows: residents, party members, workers, volunteers (A5).

    Phone and ID numbers are stored here once and shown masked unless the viewer's role needs them (R4).
    """

    name = models.CharField(_("姓名"), max_length=50)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices, blank=True)
    birth_year = models.PositiveSmallIntegerField(_("出生年份"), null=True, blank=True)
    id_number = models.CharField(_("身份证号"), max_length=18, unique=True, null=True, blank=True)
    phone = models.CharField(_("电话"), max_length=20, blank=True)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="people", verbose_name=_("居住区域"))
    is_vulnerable = models.BooleanField(_("困难/独居群体"), default=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="person",
        verbose_name=_("账号"),
    )
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)  # optimistic lock (409 on a stale edit)

    class Meta:
        verbose_name = _("人员")
        verbose_name_plural = _("人员")
        indexes = [models.Index(fields=["name"], name="person_name_idx")]

    def __str__(self) -> str:
        return self.name

    def audit_area_path(self) -> str:
        return self.area.path


class MemberStatus(models.TextChoices):
    FULL = "full", _("正式党员")
    PROBATIONARY = "probationary", _("预备党员")


class PartyMember(models.Model):
    """A person's party membership: the organisation holding the relation, in-service members' work unit, and
    flow (流动党员: managed 流入地为主、流出地为辅)."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="party_member")
    organisation = models.ForeignKey(
        PartyOrganisation, on_delete=models.PROTECT, related_name="members", verbose_name=_("组织关系所在党组织")
    )
    status = models.CharField(_("党员类别"), max_length=16, choices=MemberStatus.choices, default=MemberStatus.FULL)
    joined_on = models.DateField(_("入党日期"), null=True, blank=True)
    work_unit = models.ForeignKey(
        MemberUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="party_members",
        verbose_name=_("工作单位"),
    )
    in_service = models.BooleanField(_("在职党员"), default=False)
    is_mobile = models.BooleanField(_("流动党员"), default=False)
    outflow_place = models.CharField(_("流出地"), max_length=100, blank=True)
    inflow_place = models.CharField(_("流入地"), max_length=100, blank=True)
    needs_home_study = models.BooleanField(_("送学上门"), default=False)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)  # optimistic lock (409 on a stale edit)

    class Meta:
        verbose_name = _("党员")
        verbose_name_plural = _("党员")

    def __str__(self) -> str:
        return str(self.person)

    def audit_area_path(self) -> str:
        return self.person.area.path


class DualRegistration(models.Model):
    """双报到: an in-service party member (or a unit) registers with a residence community."""

    party_member = models.ForeignKey(
        PartyMember, null=True, blank=True, on_delete=models.CASCADE, related_name="registrations"
    )
    unit = models.ForeignKey(MemberUnit, null=True, blank=True, on_delete=models.CASCADE, related_name="registrations")
    community = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="registrations",
                                  verbose_name=_("报到社区"))
    registered_on = models.DateField(_("报到日期"))

    class Meta:
        verbose_name = _("双报到")
        verbose_name_plural = _("双报到")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(party_member__isnull=False) | models.Q(unit__isnull=False),
                name="registration_has_registrant",
            )
        ]

    def __str__(self) -> str:
        who = self.party_member or self.unit
        return f"{who} → {self.community}"

    def audit_area_path(self) -> str:
        return self.community.path


class PostKind(models.TextChoices):
    COMMUNITY_WORKER = "community_worker", _("社区工作者")
    GRID_WORKER = "grid_worker", _("网格员")
    INSTRUCTOR = "instructor", _("党建指导员")
    VOLUNTEER = "volunteer", _("志愿者")
    BUILDING_LEADER = "building_leader", _("楼栋长")
    MEDIATOR = "mediator", _("调解员")


class StaffPost(models.Model):
    """A person's working post on a node: community workers on communities, grid workers on their grids,
    党建指导员 on compounds or groups, volunteers where they serve."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="posts")
    kind = models.CharField(_("岗位"), max_length=20, choices=PostKind.choices)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="posts", verbose_name=_("负责区域"))
    grade = models.CharField(_("岗位等级"), max_length=20, blank=True)  # e.g. 3岗16级 scales
    since = models.DateField(_("任职日期"), null=True, blank=True)
    until = models.DateField(_("离任日期"), null=True, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)  # optimistic lock (409 on a stale edit)

    class Meta:
        verbose_name = _("工作岗位")
        verbose_name_plural = _("工作岗位")
        indexes = [models.Index(fields=["kind", "area"], name="post_kind_area_idx")]

    def __str__(self) -> str:
        return f"{self.person} · {self.get_kind_display()}"

    def audit_area_path(self) -> str:
        return self.area.path


class CommitteeBody(models.TextChoices):
    COMMITTEE = "committee", _("班子成员")
    JOINT = "joint", _("大工委/大党委")


class OrganisationPost(models.Model):
    """A seat in a party organisation's committee or its joint committee (大工委/大党委), including part-time
    members (兼职委员) who represent a member unit, and cross-appointments (交叉任职) in units' organisations."""

    organisation = models.ForeignKey(PartyOrganisation, on_delete=models.CASCADE, related_name="posts")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="org_posts")
    body = models.CharField(_("所在班子"), max_length=12, choices=CommitteeBody.choices)
    title = models.CharField(_("职务"), max_length=30)  # 书记, 第一书记, 副书记, 委员, 兼职委员
    is_part_time = models.BooleanField(_("兼职"), default=False)
    representing = models.ForeignKey(
        MemberUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="org_posts",
        verbose_name=_("代表单位"),
    )
    since = models.DateField(_("任职日期"), null=True, blank=True)
    until = models.DateField(_("离任日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("党组织职务")
        verbose_name_plural = _("党组织职务")

    def __str__(self) -> str:
        return f"{self.organisation} · {self.title} · {self.person}"

    def audit_area_path(self) -> str:
        return self.organisation.area.path


class GroupOutcome(models.TextChoices):
    PENDING = "pending", _("待处置")
    ORG_FORMED = "org_formed", _("已组建党组织")
    INSTRUCTOR = "instructor", _("已选派党建指导员")
    YOUTH_FIRST = "youth_first", _("群团组织先行进驻")


class GrassrootsGroup(models.Model):
    """草根组织 found by the periodic survey (A4): 广场舞队, 秧歌队, 兴趣团体, 小微企业…"""

    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=30)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="grassroots_groups")
    member_count = models.PositiveIntegerField(_("成员数"), default=0)
    party_member_count = models.PositiveIntegerField(_("党员数"), default=0)
    outcome = models.CharField(_("处置结果"), max_length=16, choices=GroupOutcome.choices,
                               default=GroupOutcome.PENDING)
    party_org = models.ForeignKey(PartyOrganisation, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name=_("组建的党组织"))
    instructor = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("党建指导员"))
    last_surveyed_on = models.DateField(_("最近排查"), null=True, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)  # optimistic lock (409 on a stale edit)

    class Meta:
        verbose_name = _("草根组织")
        verbose_name_plural = _("草根组织")

    def __str__(self) -> str:
        return self.name

    def audit_area_path(self) -> str:
        return self.area.path


class GrassrootsSurvey(models.Model):
    """One round of the grassroots-organisation census in an area."""

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="surveys")
    conducted_on = models.DateField(_("排查日期"))
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("草根组织排查")
        verbose_name_plural = _("草根组织排查")

    def __str__(self) -> str:
        return f"{self.area} {self.conducted_on}"

    def audit_area_path(self) -> str:
        return self.area.path


class SurveyEntry(models.Model):
    survey = models.ForeignKey(GrassrootsSurvey, on_delete=models.CASCADE, related_name="entries")
    group = models.ForeignKey(GrassrootsGroup, on_delete=models.CASCADE, related_name="survey_entries")
    member_count = models.PositiveIntegerField(default=0)
    party_member_count = models.PositiveIntegerField(default=0)
    can_form_org = models.BooleanField(_("具备组建条件"), default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["survey", "group"], name="survey_entry_unique")]

    def __str__(self) -> str:
        return f"{self.survey} · {self.group}"


class PairingKind(models.TextChoices):
    LEADER_COMMUNITY = "leader_community", _("市领导联系社区")
    DEPARTMENT_COMMUNITY = "department_community", _("部门联系社区")
    BRANCH_COMMUNITY = "branch_community", _("机关党支部结对社区")
    UNIT_COMPOUND = "unit_compound", _("单位包联小区")
    MEMBER_BUILDING = "member_building", _("党员包楼栋")
    MEMBER_VULNERABLE = "member_vulnerable", _("党员结对困难群众")


# For each kind: who pairs (person, unit or party organisation) and with what (which kind of node, or a person).
PAIRING_SHAPES: dict[str, tuple[str, tuple[str, ...]]] = {
    PairingKind.LEADER_COMMUNITY: ("person", (AreaKind.COMMUNITY,)),
    PairingKind.DEPARTMENT_COMMUNITY: ("unit", (AreaKind.COMMUNITY,)),
    PairingKind.BRANCH_COMMUNITY: ("organisation", (AreaKind.COMMUNITY,)),
    PairingKind.UNIT_COMPOUND: ("unit", (AreaKind.COMPOUND, AreaKind.GRID)),
    PairingKind.MEMBER_BUILDING: ("person", (AreaKind.BUILDING,)),
    PairingKind.MEMBER_VULNERABLE: ("person", ()),  # paired with a person, not a node
}
# 东港: every city leader visits their community at least once a quarter.
MIN_VISITS_PER_QUARTER: dict[str, int] = {PairingKind.LEADER_COMMUNITY: 1}


class Pairing(models.Model):
    """结对/联系 (A6). ``area`` is the node paired with (for member ↔ vulnerable resident: the resident's home)."""

    kind = models.CharField(_("结对类型"), max_length=24, choices=PairingKind.choices)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE, related_name="pairings",
                               verbose_name=_("联系人"))
    unit = models.ForeignKey(MemberUnit, null=True, blank=True, on_delete=models.CASCADE, related_name="pairings",
                             verbose_name=_("单位"))
    organisation = models.ForeignKey(PartyOrganisation, null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="pairings", verbose_name=_("党组织"))
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="pairings", verbose_name=_("结对区域"))
    target_person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.CASCADE,
                                      related_name="paired_with", verbose_name=_("结对对象"))
    started_on = models.DateField(_("开始日期"))
    ended_on = models.DateField(_("结束日期"), null=True, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)  # optimistic lock (409 on a stale edit)

    class Meta:
        verbose_name = _("结对")
        verbose_name_plural = _("结对")
        indexes = [models.Index(fields=["kind", "area"], name="pairing_kind_area_idx")]

    def __str__(self) -> str:
        who = self.person or self.unit or self.organisation
        whom = self.target_person or self.area
        return f"{who} ↔ {whom}"

    def audit_area_path(self) -> str:
        return self.area.path


class Commitment(models.Model):
    """承诺书/共建协议 carried by a pairing; its items are tracked to fulfilment."""

    pairing = models.ForeignKey(Pairing, on_delete=models.CASCADE, related_name="commitments")
    title = models.CharField(_("标题"), max_length=150)
    signed_on = models.DateField(_("签订日期"))

    class Meta:
        verbose_name = _("承诺书")
        verbose_name_plural = _("承诺书")

    def __str__(self) -> str:
        return self.title

    def audit_area_path(self) -> str:
        return self.pairing.area.path


class CommitmentItem(models.Model):
    commitment = models.ForeignKey(Commitment, on_delete=models.CASCADE, related_name="items")
    text = models.CharField(_("承诺事项"), max_length=300)
    due_on = models.DateField(_("完成时限"), null=True, blank=True)
    fulfilled_on = models.DateField(_("兑现日期"), null=True, blank=True)
    evidence = models.TextField(_("兑现情况"), blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)  # optimistic lock (409 on a stale edit)

    class Meta:
        verbose_name = _("承诺事项")
        verbose_name_plural = _("承诺事项")

    def __str__(self) -> str:
        return self.text

    def audit_area_path(self) -> str:
        return self.commitment.pairing.area.path


class PairingVisit(models.Model):
    pairing = models.ForeignKey(Pairing, on_delete=models.CASCADE, related_name="visits")
    visited_on = models.DateField(_("走访日期"))
    note = models.TextField(_("走访情况"), blank=True)

    class Meta:
        verbose_name = _("走访记录")
        verbose_name_plural = _("走访记录")
        indexes = [models.Index(fields=["pairing", "visited_on"], name="visit_pairing_date_idx")]

    def __str__(self) -> str:
        return f"{self.pairing} {self.visited_on}"

    def audit_area_path(self) -> str:
        return self.pairing.area.path
