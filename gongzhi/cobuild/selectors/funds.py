"""Reads of funds: budgets and spendings of an area (scope), allocation rules, the PUBLIC disclosure of one
community (经费公示, no sign-in: sources, amounts, purposes, dates, balances — never a person's name), and the
half-year audit export's rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils.translation import gettext as _

from gongzhi.core.scope import get_scoped, scoped
from gongzhi.registry.models import Area, AreaKind

from ..models import AllocationRule, Budget, FundSource, Spending

ZERO = Decimal("0")

# A payee is shown on the public page only when its name says it is an organisation (a company, a shop, a
# hospital, a committee…). Anything else may be a person — a resident paid for a repair, a family helped — and is
# shown as "个人" without the name: the default is to hide, so a name never leaks through a rule that missed it.
ORGANISATION_WORDS = (
    "公司", "中心", "超市", "商店", "商行", "商场", "店", "厂", "合作社", "社", "协会", "学会", "基金会", "医院",
    "卫生", "诊所", "药房", "学校", "小学", "中学", "大学", "幼儿园", "委员会", "居委会", "村委会", "局", "站", "所",
    "院", "馆", "银行", "集团", "部", "队", "物业", "工作室", "食堂", "餐厅", "酒店", "俱乐部", "街道", "社区",
    "事务所", "印刷", "广告", "装饰", "家政", "服务",
)


def payee_public(payee: str) -> str:
    """What the public page shows for a payee: the name of an organisation, or "个人" for anyone else."""
    payee = (payee or "").strip()
    if not payee:
        return ""
    return payee if any(word in payee for word in ORGANISATION_WORDS) else _("个人（姓名不公示）")


def budgets(actor: Any, *, year: int | None = None, area: Area | None = None) -> QuerySet[Budget]:
    qs = scoped(actor, Budget).select_related("area", "project", "organisation").order_by("area_path", "source", "pk")
    if year is not None:
        qs = qs.filter(year=year)
    if area is not None:
        qs = qs.filter(area_path__startswith=area.path)
    return qs


def budget_get(actor: Any, pk: int) -> Budget:
    return get_scoped(actor, Budget.objects.select_related("area", "project", "organisation"), pk)


def spendings(actor: Any, *, budget: Budget | None = None, year: int | None = None) -> QuerySet[Spending]:
    qs = scoped(actor, Spending).select_related("budget__area", "project").order_by("-spent_on", "-pk")
    if budget is not None:
        qs = qs.filter(budget=budget)
    if year is not None:
        qs = qs.filter(budget__year=year)
    return qs


def spending_get(actor: Any, pk: int) -> Spending:
    return get_scoped(actor, Spending.objects.select_related("budget"), pk)


def rules(actor: Any) -> QuerySet[AllocationRule]:
    return scoped(actor, AllocationRule).select_related("area").order_by("-year", "area_path", "pk")


@dataclass
class Totals:
    amount: Decimal = ZERO
    spent: Decimal = ZERO

    @property
    def balance(self) -> Decimal:
        return self.amount - self.spent

    @property
    def used_pct(self) -> int:
        return int(self.spent * 100 / self.amount) if self.amount else 0


def totals(qs: QuerySet[Budget]) -> Totals:
    t = qs.aggregate(a=Sum("amount"), s=Sum("spent"))
    return Totals(amount=t["a"] or ZERO, spent=t["s"] or ZERO)


# ---------------------------------------------------------------------------------------------- public disclosure


@dataclass
class PublicLine:
    spent_on: dt.date
    purpose: str
    description: str
    payee: str
    amount: Decimal
    source: str


@dataclass
class Disclosure:
    community: Area
    year: int
    by_source: list[tuple[str, Totals]] = field(default_factory=list)
    total: Totals = field(default_factory=Totals)
    lines: list[PublicLine] = field(default_factory=list)
    years: list[int] = field(default_factory=list)


PUBLIC_LINES = 500


def public_community(pk: int) -> Area | None:
    return Area.objects.filter(pk=pk, kind=AreaKind.COMMUNITY).first()


def disclosure(community: Area, year: int) -> Disclosure:
    """经费公示 of a community and everything below it (its compounds' party branches) for a year. Three queries.
    No personal data: who recorded, receipts and person payees are left out."""
    out = Disclosure(community=community, year=year)
    base = Budget.objects.filter(area_path__startswith=community.path)
    out.years = sorted(set(base.values_list("year", flat=True)), reverse=True)[:10]
    labels = dict(FundSource.choices)
    for row in base.filter(year=year).values("source").annotate(a=Sum("amount"), s=Sum("spent")).order_by("source"):
        t = Totals(amount=row["a"] or ZERO, spent=row["s"] or ZERO)
        out.by_source.append((str(labels.get(row["source"], row["source"])), t))
        out.total.amount += t.amount
        out.total.spent += t.spent
    rows = (Spending.objects.filter(area_path__startswith=community.path, budget__year=year)
            .select_related("budget").order_by("-spent_on", "-pk")[:PUBLIC_LINES])
    out.lines = [PublicLine(spent_on=s.spent_on, purpose=s.get_purpose_display(), description=s.description,
                            payee=payee_public(s.payee), amount=s.amount, source=s.budget.get_source_display())
                 for s in rows]
    return out


# ---------------------------------------------------------------------------------------------- audit export


def half_bounds(year: int, half: int) -> tuple[dt.date, dt.date]:
    return (dt.date(year, 1, 1), dt.date(year, 6, 30)) if half == 1 else (dt.date(year, 7, 1), dt.date(year, 12, 31))


@dataclass
class AuditBook:
    budgets: list[list[Any]]
    spendings: list[list[Any]]
    communities: list[list[Any]]


def audit_book(actor: Any, area: Area, year: int, half: int) -> AuditBook:
    """The half-year audit (半年度经费审计): budgets of the year, spendings of the half, and per community the
    budget, spent in the half, spent to the end of the half and the balance then, with a totals row."""
    start, end = half_bounds(year, half)
    bq = budgets(actor, year=year, area=area)
    b_rows = []
    for b in bq[:20000]:
        b_rows.append([b.area.name, b.area.code, b.year, b.get_source_display(),
                       b.project.title if b.project else "", b.organisation.name if b.organisation else "",
                       b.amount, b.spent, b.balance, b.note])
    sq = (spendings(actor, year=year).filter(budget__area_path__startswith=area.path, spent_on__gte=start,
                                             spent_on__lte=end)
          .select_related("recorded_by").order_by("spent_on", "pk"))
    s_rows = []
    for s in sq[:100000]:
        s_rows.append([s.spent_on, s.budget.area.name, s.budget.get_source_display(), s.get_purpose_display(),
                       s.description, s.payee, s.amount, s.project.title if s.project else "",
                       _("有") if s.receipt else _("无"), s.recorded_by.username if s.recorded_by else ""])
    # Per community: budgets (and what is below the community) summed onto the community's path.
    communities = list(Area.objects.filter(path__startswith=area.path, kind=AreaKind.COMMUNITY).order_by("path"))
    if area.kind == AreaKind.COMMUNITY:
        communities = [area]
    n = len(communities[0].path) if communities else 0
    budget_sum: dict[str, Decimal] = {}
    for row in bq.values("area_path").annotate(a=Sum("amount")).order_by():
        key = row["area_path"][:n]
        budget_sum[key] = budget_sum.get(key, ZERO) + (row["a"] or ZERO)
    in_half: dict[str, Decimal] = {}
    to_end: dict[str, Decimal] = {}
    sp = scoped(actor, Spending).filter(budget__year=year, area_path__startswith=area.path, spent_on__lte=end)
    for srow in sp.values("area_path").annotate(
            t=Sum("amount"), h=Sum("amount", filter=Q(spent_on__gte=start))).order_by():
        key = srow["area_path"][:n]
        to_end[key] = to_end.get(key, ZERO) + (srow["t"] or ZERO)
        in_half[key] = in_half.get(key, ZERO) + (srow["h"] or ZERO)
    c_rows: list[list[Any]] = []
    tot = [ZERO, ZERO, ZERO]
    for c in communities:
        amount, half_spent, spent = budget_sum.get(c.path, ZERO), in_half.get(c.path, ZERO), to_end.get(c.path, ZERO)
        if not (amount or spent):
            continue
        c_rows.append([c.name, c.code, amount, half_spent, spent, amount - spent])
        tot = [tot[0] + amount, tot[1] + half_spent, tot[2] + spent]
    c_rows.append([_("合计"), "", tot[0], tot[1], tot[2], tot[0] - tot[2]])
    return AuditBook(budgets=b_rows, spendings=s_rows, communities=c_rows)
