"""Services anywhere (F1–F2, 全市通办 / 一窗受理): the catalogue of service items that a resident may apply for at any
window of the city, and (built on it) the applications."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ServiceItem(models.Model):
    """One item of the catalogue (高龄津贴, 居住证明 …): who decides it, the legal time limit in working days and where
    it may be handled. Materials, form fields and fees hang on it."""

    code = models.CharField(_("事项编码"), max_length=32, unique=True)
    name = models.CharField(_("事项名称"), max_length=100)
    department = models.ForeignKey("registry.MemberUnit", verbose_name=_("审批部门"), on_delete=models.PROTECT,
                                   related_name="service_items")
    time_limit_days = models.PositiveSmallIntegerField(_("承诺时限（工作日）"))
    active = models.BooleanField(_("在办"), default=True)

    class Meta:
        verbose_name = _("服务事项")
        verbose_name_plural = _("服务事项")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name
