"""Services anywhere (F1–F2, 全市通办 / 一窗受理): the catalogue of service items that a resident may apply for at any
window of the city, and the applications.

- :class:`ServiceItem`: one item (高龄津贴, 居住证明 …): the department that decides, who may apply, the legal time
  limit in working days (and the one before the reform, 德阳 7 → 3), the fee, where it may be handled (any window, or
  only at sites of certain tiers) and its form, as data (:mod:`gongzhi.govservice.catalogue` checks both).
- :class:`Material`: what the applicant brings, with an optional template and whether the original must be seen.
- :class:`Application`: one application; it belongs to the deciding department and the resident's home community
  (``area_path``, for scope) and records the window that accepted it (``window_path``, the clerk, the site); 通办
  when accepted outside the home community; 帮办代办 when staff applied on the resident's behalf with her consent.
- :class:`ApplicationMaterial`: each material of the item for one application, provided or not, with its file.
- :class:`Rectification`: a 差评 (不满意 / 非常不满意) opens one; the department answers it.

State moves only through :mod:`gongzhi.govservice.services` and the declared tables of :mod:`.workflow`.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .workflow import ApplicationState, RectificationState

MAX_LIMIT_DAYS = 60


class ServiceItem(models.Model):
    """One item of the catalogue (高龄津贴, 居住证明 …): who decides it, the legal time limit in working days and where
    it may be handled. Materials, form fields and fees hang on it."""

    code = models.CharField(_("事项编码"), max_length=32, unique=True)
    name = models.CharField(_("事项名称"), max_length=100)
    department = models.ForeignKey("registry.MemberUnit", verbose_name=_("审批部门"), on_delete=models.PROTECT,
                                   related_name="service_items")
    time_limit_days = models.PositiveSmallIntegerField(_("承诺时限（工作日）"))
    active = models.BooleanField(_("在办"), default=True)
    previous_time_limit_days = models.PositiveSmallIntegerField(_("改革前时限（工作日）"), null=True, blank=True)
    eligibility = models.CharField(_("申请对象"), max_length=200, blank=True)
    min_age = models.PositiveSmallIntegerField(_("最低年龄"), null=True, blank=True,
                                               validators=[MaxValueValidator(120)])
    fee_yuan = models.DecimalField(_("收费（元）"), max_digits=8, decimal_places=2, default=0)
    anywhere = models.BooleanField(_("全市通办"), default=True)  # False: only at sites of ``tiers``
    tiers = models.JSONField(_("可办理的阵地层级"), default=list, blank=True)
    form_fields = models.JSONField(_("表单字段"), default=list, blank=True)
    description = models.TextField(_("办理说明"), max_length=1000, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    class Meta:
        verbose_name = _("服务事项")
        verbose_name_plural = _("服务事项")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def tier_labels(self) -> list[str]:
        from gongzhi.sites.models import Tier

        labels = dict(Tier.choices)
        return [str(labels.get(t, t)) for t in self.tiers or []]

    def where_label(self) -> str:
        if self.anywhere:
            return str(_("全市任一窗口"))
        return "、".join(self.tier_labels()) or "—"


class Material(models.Model):
    """A material an applicant brings for an item (身份证, 户口簿 …)."""

    item = models.ForeignKey(ServiceItem, on_delete=models.CASCADE, related_name="materials",
                             verbose_name=_("服务事项"))
    name = models.CharField(_("材料名称"), max_length=100)
    template = models.FileField(_("样表/模板"), upload_to="govservice/templates/", blank=True)
    original_required = models.BooleanField(_("须验原件"), default=False)
    required = models.BooleanField(_("必交"), default=True)
    position = models.PositiveSmallIntegerField(_("顺序"), default=0)

    class Meta:
        verbose_name = _("申请材料")
        verbose_name_plural = _("申请材料")
        ordering = ["item", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["item", "name"], name="govservice_material_item_name")]

    def __str__(self) -> str:
        return self.name


class Consent(models.TextChoices):
    SIGNED = "signed", _("书面签字授权")
    PHONE = "phone", _("电话确认")
    IN_PERSON = "in_person", _("当面确认（上门）")


class IssueMethod(models.TextChoices):
    COLLECTED = "collected", _("窗口领取")
    DELIVERED = "delivered", _("送达上门")
    MAILED = "mailed", _("邮寄")


class Rating(models.IntegerChoices):
    VERY_SATISFIED = 5, _("非常满意")
    SATISFIED = 4, _("满意")
    FAIR = 3, _("基本满意")
    DISSATISFIED = 2, _("不满意")
    VERY_DISSATISFIED = 1, _("非常不满意")


BAD_RATINGS = frozenset({Rating.DISSATISFIED, Rating.VERY_DISSATISFIED})


class Application(models.Model):
    """One application for a service item by (or for) one resident."""

    item = models.ForeignKey(ServiceItem, on_delete=models.PROTECT, related_name="applications",
                             verbose_name=_("服务事项"))
    department = models.ForeignKey("registry.MemberUnit", on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("审批部门"))
    applicant = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="service_applications",
                                  verbose_name=_("申请人"))
    area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+", db_index=False,
                             verbose_name=_("户籍/居住社区"))
    area_path = models.CharField(max_length=255)  # the resident's home community
    window_area = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+", db_index=False,
                                    verbose_name=_("受理窗口"))
    window_path = models.CharField(max_length=255)
    site = models.ForeignKey("service_sites.Site", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name=_("受理阵地"))
    site_tier = models.CharField(_("阵地层级"), max_length=16, blank=True)
    tongban = models.BooleanField(_("通办"), default=False)  # accepted outside the home community
    online = models.BooleanField(_("网上申请"), default=False)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("帮办代办人"))
    consent = models.CharField(_("本人授权方式"), max_length=12, choices=Consent.choices, blank=True)
    consent_note = models.CharField(_("授权说明"), max_length=200, blank=True)
    form_data = models.JSONField(_("申请表"), default=dict, blank=True)
    state = models.CharField(_("状态"), max_length=12, choices=ApplicationState.choices,
                             default=ApplicationState.SUBMITTED)
    submitted_at = models.DateTimeField(_("申请时间"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("录入人"))
    clerk = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("受理人"))
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    due_at = models.DateTimeField(_("办结期限"), null=True, blank=True)
    paused_at = models.DateTimeField(_("补正开始"), null=True, blank=True)
    paused_days = models.PositiveSmallIntegerField(_("补正停表（工作日）"), default=0)
    missing = models.JSONField(_("待补正材料"), default=list, blank=True)
    correction_note = models.CharField(_("补正说明"), max_length=500, blank=True)
    decided_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("审批人"))
    approved = models.BooleanField(_("准予"), null=True, blank=True)
    refuse_reason = models.CharField(_("不予许可/不予受理理由"), max_length=500, blank=True)
    working_days = models.PositiveSmallIntegerField(_("实际用时（工作日）"), null=True, blank=True)
    on_time = models.BooleanField(_("按时办结"), null=True, blank=True)
    issued_at = models.DateTimeField(_("出件时间"), null=True, blank=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name=_("出件人"))
    issue_method = models.CharField(_("出件方式"), max_length=10, choices=IssueMethod.choices, blank=True)
    rating = models.PositiveSmallIntegerField(_("评价"), choices=Rating.choices, null=True, blank=True,
                                              validators=[MinValueValidator(1), MaxValueValidator(5)])
    rating_reason = models.CharField(_("评价理由"), max_length=500, blank=True)
    rated_at = models.DateTimeField(_("评价时间"), null=True, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    class Meta:
        verbose_name = _("办件")
        verbose_name_plural = _("办件")
        indexes = [
            models.Index(fields=["window_path", "state", "id"], name="govapp_window_idx",
                         opclasses=["varchar_pattern_ops", "", ""]),
            models.Index(fields=["area_path", "submitted_at"], name="govapp_area_idx",
                         opclasses=["varchar_pattern_ops", ""]),
            models.Index(fields=["department", "state", "id"], name="govapp_dept_idx"),
            models.Index(fields=["applicant", "id"], name="govapp_applicant_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(rating__in=[1, 2]) | ~models.Q(rating_reason=""),
                                   name="govapp_bad_rating_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.item_id}"

    @property
    def number(self) -> str:
        return f"BJ{self.pk or 0:08d}"

    def audit_area_path(self) -> str:
        return self.area_path

    def is_overdue(self, now: dt.datetime | None = None) -> bool:
        if self.due_at is None or self.state in (ApplicationState.SUBMITTED, ApplicationState.REJECTED):
            return False
        if self.decided_at is not None:
            return self.on_time is False
        if self.state == ApplicationState.AWAITING:  # the clock is stopped
            return False
        return (now or timezone.now()) > self.due_at


class ApplicationMaterial(models.Model):
    """One material of the item for one application: provided (a file, or the paper seen at the window) or missing."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="materials")
    material = models.ForeignKey(Material, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(_("材料名称"), max_length=100)
    provided = models.BooleanField(_("已提交"), default=False)
    original_seen = models.BooleanField(_("已验原件"), default=False)
    file = models.FileField(upload_to="govservice/%Y/%m/", blank=True)
    content_type = models.CharField(max_length=40, blank=True)
    provided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["application", "pk"]

    def __str__(self) -> str:
        return self.name


class Rectification(models.Model):
    """A bad rating's rectification: the department says what it did."""

    application = models.OneToOneField(Application, on_delete=models.CASCADE, related_name="rectification")
    area_path = models.CharField(max_length=255)
    department = models.ForeignKey("registry.MemberUnit", on_delete=models.PROTECT, related_name="+")
    complaint = models.CharField(_("差评理由"), max_length=500)
    state = models.CharField(_("状态"), max_length=10, choices=RectificationState.choices,
                             default=RectificationState.OPEN)
    answer = models.TextField(_("整改答复"), max_length=1000, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("差评整改")
        verbose_name_plural = _("差评整改")

    def __str__(self) -> str:
        return f"{self.application_id}"

    def audit_area_path(self) -> str:
        return self.area_path
