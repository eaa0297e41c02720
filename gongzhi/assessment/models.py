"""Assessment (考评, E1–E4): schemes as data, rounds that walk a declared workflow, raters' scores, review verdicts,
the results (weighted totals, ranks, stars, colour bands, 红黑榜), sanctions, and residents' answers.

A **scheme** targets one kind of subject and is edited as a draft **version** (indicator tree, rater groups with
weights); publishing a version freezes it, and a **round** keeps the version it started with, so changing the scheme
never changes a round already running. Subjects of a round are rows of :class:`Subject` pointing at an area, a member
unit, a person or a party organisation; every record carries the ``area_path`` it is scoped by.

How results are computed (the rules are explicit because people will contest them; see :mod:`.outcomes`):
each rater's sheet totals the manual indicators they scored; a group's score for a subject is the mean of its raters'
submitted sheets plus the computed indicators; the total is the weighted mean of the groups that have a score, the
weights of missing groups spread proportionally over the others (the subject is then marked incomplete); totals are
rounded half-up to the cent; equal totals share a rank (1, 2, 2, 4) and a band.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.registry.models import Area, MemberUnit, PartyOrganisation, Person

from .workflow import RoundState

PATH_OPS = ["varchar_pattern_ops"]


class SubjectKind(models.TextChoices):
    PROPERTY_COMPANY = "property_company", _("物业企业")
    GRID = "grid", _("网格")
    COMMUNITY = "community", _("社区")
    COMPOUND = "compound", _("小区")
    MEMBER_UNIT = "member_unit", _("驻区单位/职能部门")
    GRID_WORKER = "grid_worker", _("网格员")
    PARTY_BRANCH = "party_branch", _("党支部")


class Period(models.TextChoices):
    MONTHLY = "monthly", _("每月")
    QUARTERLY = "quarterly", _("每季度")
    HALF_YEAR = "half_year", _("每半年")
    ANNUAL = "annual", _("每年")


class Source(models.TextChoices):
    """Where an indicator's points come from: a rater, or the platform's own figures for the subject and period
    (基层减负: nobody types in what the system already knows)."""

    MANUAL = "manual", _("人工评分")
    CASE_SATISFACTION = "case_satisfaction", _("诉求满意率（系统计算）")
    CASE_ON_TIME = "case_on_time", _("诉求按期办结率（系统计算）")
    COUNCIL_CADENCE = "council_cadence", _("议事会议按期召开率（系统计算）")
    PROJECTS_ON_TIME = "projects_on_time", _("共建项目按期完成率（系统计算）")
    VOLUNTEER_HOURS = "volunteer_hours", _("志愿服务时长（系统计算）")
    # Another scheme's published result for the same subject (东港: the residents' year-end scoring of a helping
    # department enters that department's annual assessment).
    ROUND_RESULT = "round_result", _("其他考评的结果（系统计算）")


class GroupKind(models.TextChoices):
    STAFF = "staff", _("工作人员评分")  # 主管部门, 社区党组织: named raters with assignments
    RESIDENTS = "residents", _("居民评价")  # 业主代表/居民: answers from the phone, one per resident


class BandBasis(models.TextChoices):
    RANK = "rank", _("按名次比例")
    SCORE = "score", _("按分数线")


class Scheme(models.Model):
    """What is assessed, by whom and how often; the content (indicators, groups) lives in its versions."""

    name = models.CharField(_("方案名称"), max_length=100)
    subject_kind = models.CharField(_("考评对象"), max_length=20, choices=SubjectKind.choices)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="assessment_schemes",
                             verbose_name=_("组织单位所在区域"))
    area_path = models.CharField(max_length=255)
    period = models.CharField(_("考评周期"), max_length=12, choices=Period.choices, default=Period.ANNUAL)
    description = models.TextField(_("说明"), max_length=2000, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("考评方案")
        verbose_name_plural = _("考评方案")
        indexes = [models.Index(fields=["area_path"], name="assess_scheme_path_idx", opclasses=PATH_OPS)]

    def __str__(self) -> str:
        return self.name


class SchemeVersion(models.Model):
    """One edition of a scheme. A draft is edited; a published version is frozen and may start rounds.

    ``stars``: ``[{"level": 5, "min_score": 95, "min_satisfaction": 90}, …]`` (highest level first is not required);
    ``bands``: ``[{"name": "红", "share": 30}, …]`` by rank share, or ``[{"name": "红", "min_score": 90}, …]`` by score;
    ``stages``: the review stages after scoring, ``[{"name": "街道筛评", "level": "street"}, …]``;
    ``sanction``: ``{"last_places": 1, "bar_days": 365}`` bars the last place(s) from new projects.
    """

    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("版本号"))
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    self_assessment = models.BooleanField(_("先自评/自愿申报"), default=False)
    stages = models.JSONField(_("审核环节"), default=list, blank=True)
    stars = models.JSONField(_("星级标准"), default=list, blank=True)
    band_basis = models.CharField(_("分档方式"), max_length=8, choices=BandBasis.choices, default=BandBasis.RANK)
    bands = models.JSONField(_("颜色分档"), default=list, blank=True)
    honour_count = models.PositiveSmallIntegerField(_("红榜名额"), default=3)
    shame_count = models.PositiveSmallIntegerField(_("黑榜名额"), default=1)
    sanction = models.JSONField(_("惩戒规则"), default=dict, blank=True)
    # 三最 and other named awards: ``[{"name": "最美网格员", "indicator": "3.1"}]`` — each goes to the best valid
    # subject on that indicator ("" = the total); subjects tied on the best value share it.
    awards = models.JSONField(_("评选奖项"), default=list, blank=True)
    # Bumped by every change of the draft's rules: an editor saving rules she read before someone else saved is
    # refused (409) instead of overwriting them.
    version = models.PositiveIntegerField(_("修订号"), default=1, editable=False)
    min_answers = models.PositiveIntegerField(_("居民评价最少人数"), default=0)
    objection_days = models.PositiveSmallIntegerField(_("公示期（天）"), default=5)
    evidence_required = models.BooleanField(_("扣分须附依据"), default=True)

    class Meta:
        verbose_name = _("方案版本")
        verbose_name_plural = _("方案版本")
        constraints = [models.UniqueConstraint(fields=["scheme", "number"], name="assess_version_number_uniq")]

    def __str__(self) -> str:
        return f"{self.scheme.name} v{self.number}"

    @property
    def frozen(self) -> bool:
        return self.published_at is not None


class Indicator(models.Model):
    """A node of the indicator tree. Leaves carry points; a branch's maximum is the sum of its leaves."""

    scheme_version = models.ForeignKey(SchemeVersion, on_delete=models.CASCADE, related_name="indicators")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    code = models.CharField(_("编号"), max_length=20)
    name = models.CharField(_("指标"), max_length=100)
    max_points = models.DecimalField(_("分值"), max_digits=7, decimal_places=2, default=Decimal("0"))
    guidance = models.CharField(_("评分标准"), max_length=500, blank=True)
    evidence = models.CharField(_("需提供的依据"), max_length=200, blank=True)
    source = models.CharField(_("来源"), max_length=20, choices=Source.choices, default=Source.MANUAL)
    # For a computed count (volunteer hours): the figure that earns full points; rates earn max × rate / 100.
    target = models.DecimalField(_("满分所需数值"), max_digits=10, decimal_places=2, null=True, blank=True)
    periods = models.JSONField(_("评分周期"), default=list, blank=True)  # empty: every round; else period keys
    feed_scheme = models.ForeignKey("Scheme", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("结果来源方案"))  # for Source.ROUND_RESULT
    order = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("考评指标")
        verbose_name_plural = _("考评指标")
        ordering = ["order", "pk"]
        constraints = [models.UniqueConstraint(fields=["scheme_version", "code"], name="assess_indicator_code_uniq")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class RaterGroup(models.Model):
    scheme_version = models.ForeignKey(SchemeVersion, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(_("评分主体"), max_length=50)
    kind = models.CharField(_("方式"), max_length=10, choices=GroupKind.choices, default=GroupKind.STAFF)
    weight = models.DecimalField(_("权重"), max_digits=6, decimal_places=2)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("评分主体")
        verbose_name_plural = _("评分主体")
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.weight})"


class Round(models.Model):
    """One run of a scheme over its subjects for a period, walking :data:`.workflow.ROUND`."""

    scheme = models.ForeignKey(Scheme, on_delete=models.PROTECT, related_name="rounds")
    scheme_version = models.ForeignKey(SchemeVersion, on_delete=models.PROTECT, related_name="rounds")
    name = models.CharField(_("轮次名称"), max_length=100)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="assessment_rounds",
                             verbose_name=_("考评范围"))
    area_path = models.CharField(max_length=255)
    period_key = models.CharField(_("考评期"), max_length=10)  # 2026, 2026H1, 2026Q3, 2026-07
    period_start = models.DateField(_("考评期起"))
    period_end = models.DateField(_("考评期止"))
    scoring_due = models.DateField(_("评分截止日"), null=True, blank=True)
    state = models.CharField(_("状态"), max_length=14, choices=RoundState.choices, default=RoundState.DRAFT)
    stage = models.PositiveSmallIntegerField(_("当前审核环节"), default=0)
    notice_until = models.DateField(_("公示截止"), null=True, blank=True)
    computed_at = models.DateTimeField(_("计算时间"), null=True, blank=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("考评轮次")
        verbose_name_plural = _("考评轮次")
        indexes = [models.Index(fields=["area_path"], name="assess_round_path_idx", opclasses=PATH_OPS),
                   models.Index(fields=["state", "published_at"], name="assess_round_state_idx")]

    def __str__(self) -> str:
        return self.name


class Subject(models.Model):
    """Who is assessed in a round, and (once computed) the result."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="subjects")
    name = models.CharField(_("对象"), max_length=150)
    area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(MemberUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    org = models.ForeignKey(PartyOrganisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    area_path = models.CharField(max_length=255)  # where the subject works (a company: the compounds it serves)
    declared = models.BooleanField(_("已自评/申报"), default=False)
    self_score = models.DecimalField(_("自评分"), max_digits=7, decimal_places=2, null=True, blank=True)
    self_note = models.CharField(_("自评说明"), max_length=1000, blank=True)
    withdrawn = models.BooleanField(_("未通过审核"), default=False)  # screened out at a review stage
    total = models.DecimalField(_("总分"), max_digits=7, decimal_places=2, null=True, blank=True)
    group_scores = models.JSONField(_("各主体得分"), default=dict, blank=True)
    satisfaction = models.DecimalField(_("满意率（%）"), max_digits=5, decimal_places=2, null=True, blank=True)
    answers = models.PositiveIntegerField(_("居民评价人数"), default=0)
    rank = models.PositiveIntegerField(_("名次"), null=True, blank=True)
    stars = models.PositiveSmallIntegerField(_("星级"), default=0)
    band = models.CharField(_("档次"), max_length=10, blank=True)
    listed = models.CharField(_("红黑榜"), max_length=5, blank=True)  # "red" / "black" / ""
    complete = models.BooleanField(_("评分齐全"), default=True)
    valid = models.BooleanField(_("结果有效"), default=True)
    notes = models.JSONField(_("计算说明"), default=list, blank=True)
    awards = models.JSONField(_("所获奖项"), default=list, blank=True)

    class Meta:
        verbose_name = _("考评对象")
        verbose_name_plural = _("考评对象")
        ordering = ["rank", "pk"]
        # No index on rank (a round's results sort its subjects by rank, nulls last, then name: the round's own
        # index finds them and the sort is in memory) and none besides the foreign key's on unit: every computation
        # rewrites rank on every subject, and each index a result column sits in is one more write per subject.
        indexes = [models.Index(fields=["area_path"], name="assess_subject_path_idx", opclasses=PATH_OPS)]

    def __str__(self) -> str:
        return self.name


class Assignment(models.Model):
    """A rater's sheet: one person of one group scoring one subject. Raters see only their assignments."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="assignments")
    group = models.ForeignKey(RaterGroup, on_delete=models.PROTECT, related_name="assignments")
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="assignments")
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assessment_sheets")
    area_path = models.CharField(max_length=255)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    total = models.DecimalField(_("评分合计"), max_digits=7, decimal_places=2, null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("评分表")
        verbose_name_plural = _("评分表")
        constraints = [models.UniqueConstraint(fields=["group", "subject", "rater"], name="assess_sheet_uniq")]
        indexes = [models.Index(fields=["rater", "round"], name="assess_sheet_rater_idx")]

    def __str__(self) -> str:
        return f"{self.rater_id} → {self.subject_id}"


class Score(models.Model):
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="scores")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="+")
    points = models.DecimalField(_("得分"), max_digits=7, decimal_places=2)
    note = models.CharField(_("扣分依据/说明"), max_length=500, blank=True)
    evidence = models.FileField(_("依据材料"), upload_to="assessment/%Y/%m/", blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["assignment", "indicator"], name="assess_score_uniq")]

    def __str__(self) -> str:
        return f"{self.indicator_id}: {self.points}"


class ComputedValue(models.Model):
    """A computed indicator's figure and points for one subject (what the platform's own data says)."""

    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="computed")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="+")
    figure = models.DecimalField(_("数值"), max_digits=10, decimal_places=2, null=True, blank=True)
    points = models.DecimalField(_("得分"), max_digits=7, decimal_places=2)
    basis = models.CharField(_("依据"), max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subject", "indicator"], name="assess_computed_uniq")]

    def __str__(self) -> str:
        return f"{self.indicator_id}: {self.points}"


class Verdict(models.TextChoices):
    PASS = "pass", _("通过")
    FAIL = "fail", _("不通过")


class Review(models.Model):
    """A review stage's verdict on one subject (街道筛评, 区级总评; 初审推荐, 评审考核)."""

    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="reviews")
    stage = models.PositiveSmallIntegerField(_("环节"))
    verdict = models.CharField(_("结论"), max_length=4, choices=Verdict.choices)
    note = models.CharField(_("意见"), max_length=500, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subject", "stage"], name="assess_review_uniq")]

    def __str__(self) -> str:
        return f"{self.subject_id}@{self.stage}: {self.verdict}"


class Objection(models.Model):
    """An objection during the public notice (公示); the round cannot publish while one is unanswered."""

    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="objections")
    text = models.CharField(_("异议内容"), max_length=1000)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    answer = models.CharField(_("答复"), max_length=1000, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.text[:30]


class SurveyAnswer(models.Model):
    """A resident's answer for one subject in one round. ``voter`` is a keyed hash of the person and the round, so
    one answer per resident holds (a unique constraint) while nobody — the subject included — can read who answered."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="answers")
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="survey_answers")
    voter = models.CharField(max_length=64)
    rating = models.PositiveSmallIntegerField(_("评价"))  # 5 非常满意 … 1 非常不满意
    comment = models.CharField(_("意见建议"), max_length=300, blank=True)
    area_path = models.CharField(max_length=255)  # the resident's area (coverage of the survey), not her identity
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subject", "voter"], name="assess_answer_once")]

    def __str__(self) -> str:
        return f"{self.subject_id}: {self.rating}"


class SanctionKind(models.TextChoices):
    BAR_NEW_PROJECTS = "bar_projects", _("禁止承接新项目")
    WARNING = "warning", _("通报警示")


class Sanction(models.Model):
    """A consequence written into a unit's credit file; a bar is enforced where the platform assigns work
    (co-building projects: lead unit and claims)."""

    unit = models.ForeignKey(MemberUnit, on_delete=models.PROTECT, related_name="sanctions")
    subject = models.ForeignKey(Subject, null=True, blank=True, on_delete=models.SET_NULL, related_name="sanctions")
    kind = models.CharField(_("惩戒"), max_length=14, choices=SanctionKind.choices)
    reason = models.CharField(_("事由"), max_length=300)
    starts_on = models.DateField(_("起始日"))
    ends_on = models.DateField(_("截止日"))
    lifted_at = models.DateTimeField(_("解除时间"), null=True, blank=True)
    area_path = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("惩戒记录")
        verbose_name_plural = _("惩戒记录")
        indexes = [models.Index(fields=["unit", "ends_on"], name="assess_sanction_unit_idx",
                                condition=Q(lifted_at__isnull=True))]

    def __str__(self) -> str:
        return self.reason
