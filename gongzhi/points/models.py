"""Residents' credit points (信用积分, E5, 蓬莱): rules of what earns points, a resident's claim through 居民主动申报 →
信息员采集 → 小区议事会评定 → 社区审核, an append-only ledger of points with an exact balance per person, and the
exchange store (积分兑换超市) where points are spent.

The ledger (:class:`PointEntry`) is written only by :mod:`gongzhi.points.services` and never updated or deleted: a
correction is a new entry with its reason. The balance (:class:`PointAccount`) moves in the same transaction as the
entry, by a conditional UPDATE (``balance >= amount`` for a spend), and a check constraint keeps it from going below
zero even if a caller forgot; ``balance == sum(entries)`` always holds and the tests check it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NoReturn

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.registry.models import Area, Person

from .workflow import ClaimState, RedemptionState

MAX_POINTS = 1000  # points of one rule per claim
MAX_QUANTITY = 10  # items of one kind per redemption


class Period(models.TextChoices):
    MONTH = "month", _("每月")
    QUARTER = "quarter", _("每季度")
    YEAR = "year", _("每年")


def period_bounds(period: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of the month, quarter or year that ``day`` falls in."""
    if period == Period.MONTH:
        start = day.replace(day=1)
        nxt = (start.replace(year=start.year + 1, month=1) if start.month == 12
               else start.replace(month=start.month + 1))
    elif period == Period.QUARTER:
        start = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
        nxt = (start.replace(year=start.year + 1, month=1) if start.month == 10
               else start.replace(month=start.month + 3))
    else:
        start = day.replace(month=1, day=1)
        nxt = start.replace(year=start.year + 1)
    return start, nxt - dt.timedelta(days=1)


class PointRule(models.Model):
    """积分项目: what earns points (参加志愿服务, 垃圾分类示范户, 调解邻里纠纷), how many per claim, and the most one
    resident may earn from it per month, quarter or year. Set by a community (or a street, district or city for all
    of its communities)."""

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="point_rules", verbose_name=_("适用区域"))
    area_path = models.CharField(max_length=255)
    name = models.CharField(_("积分项目"), max_length=60)
    description = models.TextField(_("说明"), max_length=300, blank=True)
    points = models.PositiveIntegerField(_("每次积分"), validators=[MinValueValidator(1),
                                                                    MaxValueValidator(MAX_POINTS)])
    period = models.CharField(_("上限周期"), max_length=8, choices=Period.choices, default=Period.MONTH)
    cap = models.PositiveIntegerField(_("每人每期上限（分）"), validators=[MinValueValidator(1),
                                                                          MaxValueValidator(100_000)])
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    class Meta:
        verbose_name = _("积分项目")
        verbose_name_plural = _("积分项目")
        constraints = [models.UniqueConstraint(fields=["area", "name"], name="pointrule_area_name"),
                       models.CheckConstraint(condition=models.Q(points__gte=1), name="pointrule_points_positive")]
        indexes = [models.Index(fields=["area_path"], name="pointrule_path_idx", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return self.name

    def audit_area_path(self) -> str:
        return self.area_path


class Channel(models.TextChoices):
    SELF = "self", _("居民申报")
    COLLECTOR = "collector", _("信息员采集")


class PointClaim(models.Model):
    """One claim of points for one deed: declared by the resident (or filed for her by an information officer),
    collected, decided by the compound council, approved by the community, which posts the points."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="point_claims",
                               verbose_name=_("居民"))
    rule = models.ForeignKey(PointRule, on_delete=models.PROTECT, related_name="claims", verbose_name=_("积分项目"))
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", db_index=False,
                             verbose_name=_("居住区域"))
    area_path = models.CharField(max_length=255)  # where she lived when she claimed: scope of who handles it
    occurred_on = models.DateField(_("发生日期"))
    description = models.TextField(_("事由"), max_length=500)
    points_claimed = models.PositiveIntegerField(_("申报积分"))
    points = models.PositiveIntegerField(_("核定积分"))
    state = models.CharField(_("状态"), max_length=10, choices=ClaimState.choices, default=ClaimState.DECLARED)
    channel = models.CharField(_("来源"), max_length=10, choices=Channel.choices, default=Channel.SELF)
    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("申报人"))
    collect_note = models.TextField(_("采集意见"), max_length=500, blank=True)
    collected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("采集人"))
    collected_at = models.DateTimeField(_("采集时间"), null=True, blank=True)
    decide_note = models.TextField(_("评定意见"), max_length=500, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("评定人"))
    decided_at = models.DateTimeField(_("评定时间"), null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("审核人"))
    approved_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    refused_step = models.CharField(_("未通过环节"), max_length=20, blank=True)
    refuse_reason = models.TextField(_("未通过理由"), max_length=500, blank=True)
    refused_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("退回人"))
    created_at = models.DateTimeField(_("申报时间"), default=timezone.now)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    class Meta:
        verbose_name = _("积分申报")
        verbose_name_plural = _("积分申报")
        indexes = [
            models.Index(fields=["area_path", "state"], name="pointclaim_path_idx",
                         opclasses=["varchar_pattern_ops", ""]),
            models.Index(fields=["person", "rule", "occurred_on"], name="pointclaim_person_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.occurred_on:%Y-%m-%d}"

    def audit_area_path(self) -> str:
        return self.area_path


class PointAccount(models.Model):
    """积分账户: the balance of one resident, moved only together with a ledger entry."""

    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="point_account",
                                  verbose_name=_("居民"))
    area_path = models.CharField(max_length=255)
    balance = models.IntegerField(_("积分余额"), default=0)
    earned = models.IntegerField(_("累计获得"), default=0)
    spent = models.IntegerField(_("累计兑换"), default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("积分账户")
        verbose_name_plural = _("积分账户")
        constraints = [models.CheckConstraint(condition=models.Q(balance__gte=0), name="pointaccount_not_overdrawn")]
        indexes = [models.Index(fields=["area_path"], name="pointaccount_path_idx",
                                opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return f"{self.person} {self.balance}"

    def audit_area_path(self) -> str:
        return self.area_path


class EntryKind(models.TextChoices):
    EARN = "earn", _("获得")
    SPEND = "spend", _("兑换")
    REFUND = "refund", _("退还")
    CORRECT = "correct", _("更正")


class AppendOnly(models.QuerySet["PointEntry"]):
    """The ledger's rows are never changed or removed, not even in bulk."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise TypeError("积分明细只能追加，不能修改")

    def delete(self) -> NoReturn:  # type: ignore[override]
        raise TypeError("积分明细只能追加，不能删除")


class PointEntry(models.Model):
    """积分明细: one movement of a resident's points. Append-only."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="point_entries",
                               verbose_name=_("居民"))
    area_path = models.CharField(max_length=255)
    amount = models.IntegerField(_("积分"))
    kind = models.CharField(_("类型"), max_length=8, choices=EntryKind.choices)
    balance_after = models.IntegerField(_("余额"))
    claim = models.ForeignKey(PointClaim, null=True, blank=True, on_delete=models.PROTECT, related_name="entries",
                              verbose_name=_("积分申报"))
    redemption = models.ForeignKey("Redemption", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="entries", verbose_name=_("兑换记录"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                           related_name="+", verbose_name=_("经办人"))
    at = models.DateTimeField(_("时间"), default=timezone.now)
    note = models.CharField(_("摘要"), max_length=200, blank=True)

    objects = AppendOnly.as_manager()

    class Meta:
        verbose_name = _("积分明细")
        verbose_name_plural = _("积分明细")
        constraints = [models.CheckConstraint(condition=~models.Q(amount=0), name="pointentry_amount_nonzero")]
        indexes = [models.Index(fields=["person", "at"], name="pointentry_person_idx"),
                   models.Index(fields=["area_path", "at"], name="pointentry_path_idx",
                                opclasses=["varchar_pattern_ops", ""])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount:+d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("积分明细只能追加，不能修改")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:  # type: ignore[override]
        raise TypeError("积分明细只能追加，不能删除")

    def audit_area_path(self) -> str:
        return self.area_path


class StoreItem(models.Model):
    """积分兑换超市的商品: a community's item, its price in points and what is in stock."""

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="store_items", verbose_name=_("所属社区"))
    area_path = models.CharField(max_length=255)
    name = models.CharField(_("商品名称"), max_length=60)
    description = models.TextField(_("说明"), max_length=300, blank=True)
    price = models.PositiveIntegerField(_("所需积分"), validators=[MinValueValidator(1),
                                                                   MaxValueValidator(100_000)])
    stock = models.PositiveIntegerField(_("库存"), default=0, validators=[MaxValueValidator(100_000)])
    active = models.BooleanField(_("上架"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    class Meta:
        verbose_name = _("兑换商品")
        verbose_name_plural = _("兑换商品")
        constraints = [models.CheckConstraint(condition=models.Q(stock__gte=0), name="storeitem_stock_not_negative"),
                       models.UniqueConstraint(fields=["area", "name"], name="storeitem_area_name")]
        indexes = [models.Index(fields=["area_path"], name="storeitem_path_idx", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return self.name

    def audit_area_path(self) -> str:
        return self.area_path


class Redemption(models.Model):
    """One exchange of points for items: redeemed (points taken, item reserved), handed over at the counter, or
    cancelled (points refunded, item back in stock)."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="redemptions", verbose_name=_("居民"))
    item = models.ForeignKey(StoreItem, on_delete=models.PROTECT, related_name="redemptions",
                             verbose_name=_("商品"))
    area_path = models.CharField(max_length=255)  # the store's community
    quantity = models.PositiveSmallIntegerField(_("数量"), validators=[MinValueValidator(1),
                                                                      MaxValueValidator(MAX_QUANTITY)])
    points = models.PositiveIntegerField(_("积分"))
    state = models.CharField(_("状态"), max_length=12, choices=RedemptionState.choices,
                             default=RedemptionState.REDEEMED)
    channel = models.CharField(_("渠道"), max_length=8, choices=[("self", _("居民自助")), ("counter", _("柜台代兑"))],
                               default="self")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+",
                           verbose_name=_("经办人"))
    created_at = models.DateTimeField(_("兑换时间"), default=timezone.now)
    handed_over_at = models.DateTimeField(_("领取时间"), null=True, blank=True)
    handed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name=_("发放人"))
    cancelled_at = models.DateTimeField(_("取消时间"), null=True, blank=True)
    cancel_reason = models.CharField(_("取消原因"), max_length=200, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)

    class Meta:
        verbose_name = _("兑换记录")
        verbose_name_plural = _("兑换记录")
        indexes = [models.Index(fields=["area_path", "state"], name="redemption_path_idx",
                                opclasses=["varchar_pattern_ops", ""])]

    def __str__(self) -> str:
        return f"{self.item} ×{self.quantity}"

    def audit_area_path(self) -> str:
        return self.area_path
