"""Service sites (F3–F4): 党群服务中心, 红色驿站, 便民服务中心 and 小区党群服务站 — where they stand, what they offer,
and (built on them) rooms, the duty rota and the 15-minute service circle."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SiteKind(models.TextChoices):
    PARTY_CENTRE = "party_centre", _("党群服务中心")
    PARTY_BRANCH_CENTRE = "party_branch_centre", _("党群服务分中心")
    RED_STATION = "red_station", _("红色驿站")
    CONVENIENCE_CENTRE = "convenience_centre", _("便民服务中心")
    COMPOUND_STATION = "compound_station", _("小区党群服务站")


class Tier(models.TextChoices):
    ZONE = "zone", _("片区级")
    COMMUNITY = "community", _("社区级")
    STATION = "station", _("驿站级")


class Site(models.Model):
    """A service site on the area tree (the node it stands in), with a point (WGS-84 longitude/latitude) and the
    catalogue items it handles at its window."""

    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=24, choices=SiteKind.choices)
    tier = models.CharField(_("层级"), max_length=16, choices=Tier.choices)
    area = models.ForeignKey("registry.Area", verbose_name=_("所在区域"), on_delete=models.PROTECT,
                             related_name="service_sites")
    area_path = models.CharField(max_length=255, editable=False)  # the area's path, for scope
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    items = models.ManyToManyField("govservice.ServiceItem", verbose_name=_("可办事项"), blank=True,
                                   related_name="sites")
    active = models.BooleanField(_("开放"), default=True)

    class Meta:
        verbose_name = _("服务阵地")
        verbose_name_plural = _("服务阵地")
        indexes = [models.Index(fields=["area_path"], name="site_area_path_idx", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return self.name
