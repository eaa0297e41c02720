"""Funds (G3): allocation rules as data (e.g. 2万 per community + 0.2万 per 100 households), applying a rule (one
budget per target area and year, idempotent), budgets by hand per community, compound party branch or project and
source (the 天长 "四个一点" mix), and spending records with receipts. The balance never goes below zero: a spending is
one conditional UPDATE of the budget's ``spent`` (:func:`.common.take`), so of two spends that together would
overdraw, exactly one goes through.

Households for a rule are the registry's 户数 of the target area (``Area.households``, kept from the community's
own ledger and used by the patrol coverage figures). Counting Person rows would count people, not households, and
only those registered so far; counting buildings ignores how many flats each has. When a community's 户数 is not
filled in, the 户数 of its grids and compounds are summed instead, so an incomplete registry is not read as zero.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.cases.services import reencode_photo
from gongzhi.core import audit
from gongzhi.core.errors import InvalidInput
from gongzhi.core.validators import bounded_text, visible_text
from gongzhi.registry.models import Area, AreaKind, PartyOrganisation

from ..models import AllocationRule, Budget, FundSource, Need, Project, Purpose, Spending
from .common import area_in, require_manage, take

MAX_AMOUNT = Decimal("100000000")  # 1 亿元: beyond any community budget; keeps typos out
MAX_RECEIPT_BYTES = 10 * 1024 * 1024
PDF_SIGNATURE = b"%PDF-"
RULE_AREA_KINDS = (AreaKind.CITY, AreaKind.DISTRICT, AreaKind.STREET)
TARGET_KINDS = (AreaKind.COMMUNITY, AreaKind.GRID, AreaKind.COMPOUND)
BUDGET_AREA_KINDS = (AreaKind.STREET, AreaKind.COMMUNITY, AreaKind.GRID, AreaKind.COMPOUND)


def _money(value: Any, field: str, *, allow_zero: bool = False) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError, TypeError):
        raise InvalidInput.on(field, _("请填写金额")) from None
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidInput.on(field, _("金额须大于0"))
    if amount > MAX_AMOUNT:
        raise InvalidInput.on(field, _("金额过大"))
    return amount


def _year(year: int) -> int:
    if not 2000 <= year <= 2100:
        raise InvalidInput.on("year", _("年度无效"))
    return year


def _source(source: str) -> str:
    if source not in FundSource.values:
        raise InvalidInput.on("source", _("请选择资金来源"))
    return source


@transaction.atomic
def rule_create(*, actor: Any, area: Area | None, year: int, source: str, base_amount: Any,
                per_hundred_households: Any = 0, target_kind: str = AreaKind.COMMUNITY) -> AllocationRule:
    """An allocation rule of a city, district or street (by its manager): for every ``target_kind`` area below
    it, ``base_amount`` plus ``per_hundred_households`` for each full hundred households."""
    area = area_in(area, "area", RULE_AREA_KINDS)
    require_manage(actor, area.path)
    if target_kind not in TARGET_KINDS:
        raise InvalidInput.on("target_kind", _("拨付对象须为社区、网格或小区"))
    rule = AllocationRule.objects.create(
        area=area, area_path=area.path, year=_year(year), source=_source(source), target_kind=target_kind,
        base_amount=_money(base_amount, "base_amount"),
        per_hundred_households=_money(per_hundred_households, "per_hundred_households", allow_zero=True))
    audit.record(actor=actor, action="cobuild.allocation_rule.create", obj=rule,
                 after={"area": area.pk, "year": year, "source": source, "target_kind": target_kind,
                        "base_amount": rule.base_amount, "per_hundred_households": rule.per_hundred_households})
    return rule


def _rule_amount(rule: AllocationRule, households: int) -> Decimal:
    """What a rule gives an area of ``households`` households: the base plus each full hundred."""
    return rule.base_amount + rule.per_hundred_households * (households // 100)


def _households(targets: list[Area]) -> dict[int, int]:
    """户数 of each target: its own, or (when not filled in) the sum over its children."""
    missing = [a for a in targets if not a.households]
    summed: dict[str, int] = {}
    for a in missing:
        summed[a.path] = Area.objects.filter(path__startswith=a.path, depth=a.depth + 1).aggregate(
            n=Sum("households"))["n"] or 0
    return {a.pk: a.households or summed.get(a.path, 0) for a in targets}


@transaction.atomic
def allocation_apply(*, actor: Any, rule: AllocationRule) -> int:
    """分配: one budget per target area for the rule's year. Applying again adds only what is missing (a community
    created since), never a second budget for the same area. Returns the budgets created."""
    rule = AllocationRule.objects.select_for_update().get(pk=rule.pk)  # two applies at once: one after the other
    require_manage(actor, rule.area_path)
    targets = list(Area.objects.filter(path__startswith=rule.area_path, kind=rule.target_kind).order_by("path"))
    have = set(Budget.objects.filter(rule=rule).values_list("area_id", flat=True))
    households = _households([a for a in targets if a.pk not in have])
    new = [Budget(area=a, area_path=a.path, year=rule.year, source=rule.source, rule=rule,
                  amount=_rule_amount(rule, households[a.pk]),
                  note=_("按规则分配：{n} 户").format(n=households[a.pk]))
           for a in targets if a.pk not in have]
    Budget.objects.bulk_create(new)
    AllocationRule.objects.filter(pk=rule.pk).update(applied_at=timezone.now())
    audit.record(actor=actor, action="cobuild.allocation_rule.allocate", obj=rule,
                 after={"budgets": len(new), "total": sum((b.amount for b in new), Decimal("0"))})
    return len(new)


@transaction.atomic
def budget_create(*, actor: Any, area: Area | None = None, year: int, source: str, amount: Any,
                  project: Project | None = None, organisation: PartyOrganisation | None = None,
                  note: str = "") -> Budget:
    """A budget by hand: of a community (or grid, compound), of a compound party branch (its organisation's
    area), or of one project (the project's area)."""
    if project is not None:
        area = project.area
    elif organisation is not None:
        area = organisation.area
    area = area_in(area, "area", BUDGET_AREA_KINDS)
    require_manage(actor, area.path)
    budget = Budget.objects.create(area=area, area_path=area.path, year=_year(year), source=_source(source),
                                   amount=_money(amount, "amount"), project=project, organisation=organisation,
                                   note=bounded_text(note, "note", 200))
    audit.record(actor=actor, action="cobuild.budget.create", obj=budget,
                 after={"area": area.pk, "year": year, "source": source, "amount": budget.amount,
                        "project": project.pk if project else None,
                        "organisation": organisation.pk if organisation else None})
    return budget


def _receipt(receipt: tuple[str, bytes] | None) -> tuple[bytes, str, str] | None:
    """A receipt checked: a PDF by its signature, an image decoded and re-encoded (nothing else stored)."""
    if receipt is None:
        return None
    _name, data = receipt
    if not data:
        return None
    if len(data) > MAX_RECEIPT_BYTES:
        raise InvalidInput.on("receipt", _("票据文件不能超过10MB"))
    if data.startswith(PDF_SIGNATURE):
        return data, "application/pdf", ".pdf"
    try:
        clean, kind = reencode_photo(data, field="receipt")
    except InvalidInput:
        raise InvalidInput.on("receipt", _("票据须为 PDF、JPEG 或 PNG 文件")) from None
    return clean, kind, ".png" if kind == "image/png" else ".jpg"


def spending_record(*, actor: Any, budget: Budget, amount: Any, purpose: str, description: str, payee: str = "",
                    spent_on: dt.date | None = None, project: Project | None = None, need: Need | None = None,
                    receipt: tuple[str, bytes] | None = None, today: dt.date | None = None) -> Spending:
    """支出: against a budget, never beyond its balance."""
    require_manage(actor, budget.area_path)
    amount = _money(amount, "amount")
    if purpose not in Purpose.values:
        raise InvalidInput.on("purpose", _("请选择用途"))
    description = visible_text(description, "description", max_length=200)
    payee = bounded_text(payee, "payee", 100)
    today = today or timezone.localdate()
    if spent_on is None:
        raise InvalidInput.on("spent_on", _("请填写支出日期"))
    if spent_on > today:
        raise InvalidInput.on("spent_on", _("支出日期不能晚于今天"))
    if spent_on.year != budget.year:
        raise InvalidInput.on("spent_on", _("支出日期须在预算年度内"))
    for obj, field in ((project, "project"), (need, "need")):
        if obj is not None and not (obj.area_path.startswith(budget.area_path)
                                    or budget.area_path.startswith(obj.area_path)):
            raise InvalidInput.on(field, _("所选项目或需求不属于该预算的区域"))
    cleaned = _receipt(receipt)
    with transaction.atomic():
        if not take(Budget, budget.pk, "spent", "amount", amount):
            left = Budget.objects.filter(pk=budget.pk).values_list("amount", "spent").get()
            raise InvalidInput.on("amount", _("超出预算余额（当前余额 {left} 元）").format(left=left[0] - left[1]))
        spending = Spending(budget=budget, area_path=budget.area_path, amount=amount, purpose=purpose,
                            description=description, payee=payee, spent_on=spent_on, project=project, need=need,
                            recorded_by=actor)
        if cleaned is not None:
            data, kind, suffix = cleaned
            spending.receipt_type = kind
            spending.receipt.save(f"receipt{suffix}", ContentFile(data), save=False)
        spending.save()
        audit.record(actor=actor, action="cobuild.spending.spend", obj=spending,
                     after={"budget": budget.pk, "amount": amount, "purpose": purpose, "spent_on": spent_on,
                            "receipt": bool(cleaned)})
    return spending
