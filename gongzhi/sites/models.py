"""Service sites (F3–F4): 党群服务中心, 红色驿站, 便民服务中心 and 小区党群服务站 — where they stand, what they offer,
and (built on them) rooms, the duty rota and the 15-minute service circle."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .workflow import BookingState


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
    address = models.CharField(_("地址"), max_length=200, blank=True)
    hours = models.CharField(_("开放时间"), max_length=100, blank=True)
    opens = models.TimeField(_("每日开放"), default=dt.time(8, 30))  # rooms are booked inside opens–closes
    closes = models.TimeField(_("每日关闭"), default=dt.time(20, 0))
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    class Meta:
        verbose_name = _("服务阵地")
        verbose_name_plural = _("服务阵地")
        indexes = [models.Index(fields=["area_path"], name="site_area_path_idx", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return self.name

    def audit_area_path(self) -> str:
        return self.area_path


class Room(models.Model):
    """A room of a site that residents and units may book (活动室, 会议室, 党员教室 …)."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="rooms", verbose_name=_("服务阵地"))
    name = models.CharField(_("名称"), max_length=50)
    capacity = models.PositiveSmallIntegerField(_("容纳人数"), default=20)
    active = models.BooleanField(_("开放预约"), default=True)

    class Meta:
        verbose_name = _("活动室")
        verbose_name_plural = _("活动室")
        constraints = [models.UniqueConstraint(fields=["site", "name"], name="site_room_name_unique")]

    def __str__(self) -> str:
        return f"{self.site.name} {self.name}"

    def audit_area_path(self) -> str:
        return self.site.area_path


class RoomBooking(models.Model):
    """One booking of a room for a time on one day; bookings of a room never overlap (checked under the room's
    row lock in :func:`gongzhi.sites.services.booking_create`)."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="bookings", verbose_name=_("活动室"))
    area_path = models.CharField(max_length=255)  # the site's, for scope
    starts_at = models.DateTimeField(_("开始"))
    ends_at = models.DateTimeField(_("结束"))
    purpose = models.CharField(_("用途"), max_length=200)
    attendees = models.PositiveSmallIntegerField(_("人数"), default=1)
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                                  verbose_name=_("预约人"))
    unit = models.ForeignKey("registry.MemberUnit", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", verbose_name=_("预约单位"))
    contact = models.CharField(_("联系人"), max_length=50, blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=BookingState.choices, default=BookingState.BOOKED)
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("活动室预约")
        verbose_name_plural = _("活动室预约")
        indexes = [models.Index(fields=["room", "starts_at"], name="booking_room_start_idx"),
                   models.Index(fields=["booked_by", "starts_at"], name="booking_user_idx")]
        constraints = [models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")),
                                              name="booking_ends_after_start")]

    def __str__(self) -> str:
        return f"{self.room_id} {self.starts_at:%Y-%m-%d %H:%M}"

    def audit_area_path(self) -> str:
        return self.area_path


class DutyShift(models.Model):
    """Who is on duty at a site on a day (轮值): a staff member of the registry, with what she does."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="shifts", verbose_name=_("服务阵地"))
    area_path = models.CharField(max_length=255)
    day = models.DateField(_("日期"))
    person = models.ForeignKey("registry.Person", on_delete=models.CASCADE, related_name="+",
                               verbose_name=_("值班人员"))
    duty = models.CharField(_("岗位"), max_length=50, blank=True)

    class Meta:
        verbose_name = _("值班")
        verbose_name_plural = _("值班")
        constraints = [models.UniqueConstraint(fields=["site", "day", "person"], name="duty_once_a_day")]
        indexes = [models.Index(fields=["site", "day"], name="duty_site_day_idx")]

    def __str__(self) -> str:
        return f"{self.site_id} {self.day}"

    def audit_area_path(self) -> str:
        return self.area_path
