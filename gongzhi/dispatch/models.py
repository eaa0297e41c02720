"""Dispatch intelligence's data: classifier versions with their hold-out scores, the suggestion made for each case
and what the dispatcher did with it, the confidence threshold, and the per-category auto-dispatch switches."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.cases.models import Case, Category
from gongzhi.registry.models import MemberUnit


class ModelSource(models.TextChoices):
    SHARED = "shared", _("公开问政留言（出厂模型）")
    PLATFORM = "platform", _("本平台已办结诉求")
    FILE = "file", _("外部数据文件")


class ClassifierVersion(models.Model):
    """One trained classifier. Exactly one is active; the others are kept with their scores for rolling back."""

    number = models.PositiveIntegerField(_("版本号"), unique=True)
    source = models.CharField(_("训练数据"), max_length=10, choices=ModelSource.choices)
    created_at = models.DateTimeField(_("训练时间"), default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("训练人"))
    labels = models.JSONField(_("分类代码"), default=list)  # category codes, any depth of the tree
    training_rows = models.PositiveIntegerField(_("训练条数"), default=0)
    holdout_rows = models.PositiveIntegerField(_("检验条数"), default=0)
    # accuracy, macro_f1, ece, per_label {code: precision, recall, support, predicted}, reliability [(conf, acc, n)]
    scores = models.JSONField(_("检验成绩"), default=dict)
    blob = models.BinaryField(_("模型文件"))
    active = models.BooleanField(_("启用"), default=False)
    activated_at = models.DateTimeField(_("启用时间"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("分类模型版本")
        verbose_name_plural = _("分类模型版本")
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["active"], condition=Q(active=True),
                                               name="dispatch_one_active_model")]

    def __str__(self) -> str:
        return f"v{self.number}"

    def audit_area_path(self) -> str:
        return ""


class DispatchSettings(models.Model):
    """The platform's one row of settings (pk 1)."""

    confidence_threshold = models.FloatField(_("预填置信度下限"), default=0.6)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("派单智能设置")
        verbose_name_plural = _("派单智能设置")

    def __str__(self) -> str:
        return f"≥{self.confidence_threshold:.0%}"

    def audit_area_path(self) -> str:
        return ""

    @classmethod
    def current(cls) -> DispatchSettings:
        row, _created = cls.objects.get_or_create(pk=1)
        return row


class AutoDispatch(models.Model):
    """A category whose confident suggestions are dispatched without a person. Turned on by an administrator only
    while the active model's measured precision on it is at least the figure she set (``min_precision``)."""

    category = models.OneToOneField(Category, on_delete=models.CASCADE, related_name="auto_dispatch",
                                    verbose_name=_("分类"))
    enabled = models.BooleanField(_("自动派遣"), default=False)
    min_precision = models.FloatField(_("要求的准确率"), default=0.95)
    measured_precision = models.FloatField(_("启用时实测准确率"), null=True, blank=True)
    model = models.ForeignKey(ClassifierVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("依据的模型"))
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    set_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("自动派遣开关")
        verbose_name_plural = _("自动派遣开关")

    def __str__(self) -> str:
        return f"{self.category} {'on' if self.enabled else 'off'}"

    def audit_area_path(self) -> str:
        return ""


class SuggestionStatus(models.TextChoices):
    WAITING = "waiting", _("待人工分类")  # below the confidence threshold
    PREFILLED = "prefilled", _("已预填待确认")
    AUTO = "auto", _("已自动派遣")
    ACCEPTED = "accepted", _("采纳建议")
    CORRECTED = "corrected", _("人工更正")


class Suggestion(models.Model):
    """What the classifier proposed for a case at intake, and what became of it (the correction is the lesson)."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="suggestion", verbose_name=_("诉求"))
    model = models.ForeignKey(ClassifierVersion, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="suggestions", verbose_name=_("模型版本"))
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("建议分类"))
    unit = models.ForeignKey(MemberUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             verbose_name=_("建议承办部门"))
    level = models.CharField(_("建议承办层级"), max_length=10, blank=True)
    confidence = models.FloatField(_("置信度"), default=0.0)
    alternatives = models.JSONField(_("备选"), default=list)  # [{"code", "name", "p"}], best first, the top three
    reasons = models.JSONField(_("依据词"), default=list)
    status = models.CharField(_("状态"), max_length=10, choices=SuggestionStatus.choices,
                              default=SuggestionStatus.WAITING)
    chosen = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                               verbose_name=_("最终分类"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("确认人"))
    decided_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("分类建议")
        verbose_name_plural = _("分类建议")
        indexes = [models.Index(fields=["status", "created_at"], name="dispatch_sugg_status_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} → {self.category_id} ({self.confidence:.2f})"

    @property
    def level_label(self) -> str:
        from gongzhi.cases.models import Level

        return str(dict(Level.choices).get(self.level, self.level))

    def audit_area_path(self) -> str:
        return self.case.area_path
