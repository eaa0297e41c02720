"""Reads of credit points: a resident's account, history and the rules and items open to her; the work queue of
collect / decide / approve by the viewer's capabilities; the store's items and redemptions; the figures per
community. Everything takes the viewer and goes through :mod:`gongzhi.core.scope`; the figures are a fixed handful
of grouped queries whatever the number of communities."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Substr
from django.utils import timezone

from gongzhi.accounts.roles import Cap
from gongzhi.core.errors import InvalidInput
from gongzhi.core.masking import mask_name
from gongzhi.core.scope import as_scope, get_scoped, scoped
from gongzhi.core.workdays import TZ
from gongzhi.registry.models import Area, AreaKind, Person

from .models import EntryKind, PointAccount, PointClaim, PointEntry, PointRule, Redemption, StoreItem
from .scoping import ancestor_paths
from .workflow import ClaimState, RedemptionState

MAX_QUEUE = 100
MAX_COMMUNITIES = 500
TOP_EARNERS = 10
QUEUE_CAPS = {"collect": (Cap.POINTS_COLLECT, ClaimState.DECLARED),
              "decide": (Cap.POINTS_DECIDE, ClaimState.COLLECTED),
              "approve": (Cap.POINTS_APPROVE, ClaimState.DECIDED)}


def my_person(user: Any) -> Person | None:
    person_id = as_scope(user).person_id
    if person_id is None:
        return None
    return Person.objects.select_related("area").filter(pk=person_id).first()


def balance(person: Person) -> int:
    return int(PointAccount.objects.filter(person=person).values_list("balance", flat=True).first() or 0)


def account(user: Any, person: Person) -> PointAccount | None:
    return scoped(user, PointAccount).filter(person=person).first()


def entries(user: Any, person: Person | None = None) -> QuerySet[PointEntry]:
    qs = scoped(user, PointEntry).select_related("claim__rule", "redemption__item", "by")
    if person is not None:
        qs = qs.filter(person=person)
    return qs.order_by("-at", "-pk")


# ------------------------------------------------------------------------------------------ rules


def rules(user: Any, area: Area | None = None) -> QuerySet[PointRule]:
    qs = scoped(user, PointRule).select_related("area")
    if area is not None:
        qs = qs.filter(Q(area_path__prefix=area.path) | Q(area_path__in=ancestor_paths(area.path)))
    return qs.order_by("area_path", "name")


def rule_get(user: Any, pk: Any) -> PointRule:
    return get_scoped(user, PointRule.objects.select_related("area"), pk)


def rules_for(person: Person) -> list[PointRule]:
    """The active rules that apply where she lives (her community's, her street's…)."""
    return list(PointRule.objects.filter(active=True, area_path__in=ancestor_paths(person.area.path))
                .select_related("area").order_by("name", "pk"))


def rules_editable(user: Any) -> QuerySet[PointRule]:
    s = as_scope(user)
    q = Q()
    prefixes = s.area_prefixes(Cap.POINTS_APPROVE)
    if not prefixes:
        return PointRule.objects.none()
    for p in prefixes:
        q |= Q(area_path__prefix=p)
    return rules(user).filter(q)


# ------------------------------------------------------------------------------------------ claims


def claims(user: Any, *, state: str | None = None, person: Person | None = None) -> QuerySet[PointClaim]:
    qs = scoped(user, PointClaim).select_related("rule", "person", "area")
    if state:
        if state not in ClaimState.values:
            raise InvalidInput.on("state", "未知状态")
        qs = qs.filter(state=state)
    if person is not None:
        qs = qs.filter(person=person)
    return qs.order_by("-created_at", "-pk")


def claim_get(user: Any, pk: Any) -> PointClaim:
    return get_scoped(user, PointClaim.objects.select_related("rule", "person__area", "area"), pk)


@dataclass
class Queue:
    kind: str  # collect / decide / approve
    claims: list[PointClaim]
    more: bool = False


def queue(user: Any) -> list[Queue]:
    """The claims waiting for the viewer: to collect where she may collect, to decide where she may decide, to
    approve where she may approve (each at most MAX_QUEUE, oldest first)."""
    s = as_scope(user)
    out: list[Queue] = []
    for kind, (cap, state) in QUEUE_CAPS.items():
        prefixes = s.area_prefixes(cap)
        if not prefixes:
            continue
        q = Q()
        for p in prefixes:
            q |= Q(area_path__prefix=p)
        rows = list(scoped(user, PointClaim).filter(q, state=state).select_related("rule", "person", "area")
                    .order_by("created_at", "pk")[:MAX_QUEUE + 1])
        out.append(Queue(kind=kind, claims=rows[:MAX_QUEUE], more=len(rows) > MAX_QUEUE))
    return out


def handled(user: Any, limit: int = 20) -> list[PointClaim]:
    """Recently finished claims in the viewer's areas."""
    return list(claims(user).filter(state__in=[ClaimState.APPROVED, ClaimState.REFUSED])[:limit])


# ------------------------------------------------------------------------------------------ the store


def items(user: Any, *, cap: str | None = None) -> QuerySet[StoreItem]:
    return scoped(user, StoreItem, cap=cap).select_related("area").order_by("area_path", "-active", "name")


def managed_items(user: Any) -> QuerySet[StoreItem]:
    prefixes = as_scope(user).area_prefixes(Cap.POINTS_STORE)
    if not prefixes:
        return StoreItem.objects.none()
    q = Q()
    for p in prefixes:
        q |= Q(area_path__prefix=p)
    return items(user).filter(q)


def item_get(user: Any, pk: Any) -> StoreItem:
    return get_scoped(user, StoreItem.objects.select_related("area"), pk)


def items_for(person: Person) -> list[StoreItem]:
    """What her community's store offers (on the shelf)."""
    return list(StoreItem.objects.filter(active=True, area_path__in=ancestor_paths(person.area.path))
                .order_by("price", "name"))


def redemptions(user: Any, *, person: Person | None = None, state: str | None = None,
                store_only: bool = False) -> QuerySet[Redemption]:
    qs = scoped(user, Redemption).select_related("item", "person", "by")
    if store_only:
        prefixes = as_scope(user).area_prefixes(Cap.POINTS_STORE)
        if not prefixes:
            return qs.none()
        q = Q()
        for p in prefixes:
            q |= Q(area_path__prefix=p)
        qs = qs.filter(q)
    if person is not None:
        qs = qs.filter(person=person)
    if state:
        if state not in RedemptionState.values:
            raise InvalidInput.on("state", "未知状态")
        qs = qs.filter(state=state)
    return qs.order_by("-created_at", "-pk")


def redemption_get(user: Any, pk: Any) -> Redemption:
    return get_scoped(user, Redemption.objects.select_related("item", "person__area"), pk)


def counter_people(user: Any, limit: int = 300) -> list[Person]:
    """Residents the store's staff may redeem for (the select's first options; typing searches further)."""
    return list(scoped(user, Person, cap=Cap.POINTS_STORE).select_related("area").order_by("name", "pk")[:limit])


def collect_people(user: Any, limit: int = 300) -> list[Person]:
    return list(scoped(user, Person, cap=Cap.POINTS_COLLECT).select_related("area").order_by("name", "pk")[:limit])


# ------------------------------------------------------------------------------------------ figures


@dataclass
class CommunityFigures:
    area: Area
    earned: int = 0
    spent: int = 0
    corrected: int = 0
    claims_approved: int = 0
    claims_refused: int = 0
    claims_open: int = 0
    redemptions: int = 0
    residents: int = 0  # residents who earned in the period
    balance: int = 0  # points held now by her residents

    def as_dict(self) -> dict[str, Any]:
        return {"area": {"id": self.area.pk, "name": self.area.name}, "earned": self.earned, "spent": self.spent,
                "corrected": self.corrected, "claims_approved": self.claims_approved,
                "claims_refused": self.claims_refused, "claims_open": self.claims_open,
                "redemptions": self.redemptions, "residents": self.residents, "balance": self.balance}


@dataclass
class Figures:
    area: Area
    start: dt.date
    end: dt.date
    communities: list[CommunityFigures]
    total: CommunityFigures
    top: list[dict[str, Any]] = field(default_factory=list)


def default_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    today = today or timezone.localdate()
    return today.replace(month=1, day=1), today


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    return (dt.datetime.combine(start, dt.time.min, tzinfo=TZ),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=TZ))


def figures(user: Any, area: Area, start: dt.date, end: dt.date) -> Figures:
    """Per community under ``area`` (or ``area``'s own community): points earned, spent (net of refunds) and
    corrected in the period, claims approved / refused / open, redemptions, residents who earned, points held now;
    the top earners of the period with their names masked."""
    if end < start:
        raise InvalidInput.on("end", "结束日期不能早于开始日期")
    if (end - start).days > 3660:
        raise InvalidInput.on("start", "统计区间不超过10年")
    if area.kind in (AreaKind.GRID, AreaKind.COMPOUND, AreaKind.BUILDING):
        community = Area.objects.filter(path__in=ancestor_paths(area.path), kind=AreaKind.COMMUNITY).first()
        communities = [community] if community else []
    else:
        communities = list(Area.objects.filter(path__prefix=area.path, kind=AreaKind.COMMUNITY)
                           .order_by("path")[:MAX_COMMUNITIES])
    rows = {c.path: CommunityFigures(area=c) for c in communities}
    total = CommunityFigures(area=area)
    if not communities:
        return Figures(area=area, start=start, end=end, communities=[], total=total)
    length = len(communities[0].path)
    inside = Q(area_path__prefix=area.path) if area.kind not in (
        AreaKind.GRID, AreaKind.COMPOUND, AreaKind.BUILDING) else Q(area_path__prefix=communities[0].path)
    lo, hi = _bounds(start, end)
    key = Substr("area_path", 1, length)
    ents = scoped(user, PointEntry).filter(inside, at__gte=lo, at__lt=hi)
    for r in ents.annotate(c=key).values("c", "kind").annotate(n=Sum("amount"), people=Count("person", distinct=True)):
        f = rows.get(r["c"])
        if f is None:
            continue
        if r["kind"] == EntryKind.EARN:
            f.earned += r["n"] or 0
            f.residents = r["people"]
        elif r["kind"] in (EntryKind.SPEND, EntryKind.REFUND):
            f.spent -= r["n"] or 0
        else:
            f.corrected += r["n"] or 0
    cls = scoped(user, PointClaim).filter(inside)
    for cr in cls.annotate(c=key).values("c").annotate(
            approved=Count("pk", filter=Q(state=ClaimState.APPROVED, approved_at__gte=lo, approved_at__lt=hi)),
            refused=Count("pk", filter=Q(state=ClaimState.REFUSED, created_at__gte=lo, created_at__lt=hi)),
            open=Count("pk", filter=Q(state__in=[ClaimState.DECLARED, ClaimState.COLLECTED, ClaimState.DECIDED]))):
        f = rows.get(cr["c"])
        if f is not None:
            f.claims_approved, f.claims_refused, f.claims_open = cr["approved"], cr["refused"], cr["open"]
    reds = scoped(user, Redemption).filter(inside, created_at__gte=lo, created_at__lt=hi).exclude(
        state=RedemptionState.CANCELLED)
    for rr in reds.annotate(c=key).values("c").annotate(n=Count("pk")):
        f = rows.get(rr["c"])
        if f is not None:
            f.redemptions = rr["n"]
    for ar in scoped(user, PointAccount).filter(inside).annotate(c=key).values("c").annotate(n=Sum("balance")):
        f = rows.get(ar["c"])
        if f is not None:
            f.balance = ar["n"] or 0
    people = Count("person", distinct=True)
    total.residents = ents.filter(kind=EntryKind.EARN).aggregate(n=people)["n"] or 0
    for f in rows.values():
        total.earned += f.earned
        total.spent += f.spent
        total.corrected += f.corrected
        total.claims_approved += f.claims_approved
        total.claims_refused += f.claims_refused
        total.claims_open += f.claims_open
        total.redemptions += f.redemptions
        total.balance += f.balance
    top_rows = list(ents.filter(kind=EntryKind.EARN).values("person").annotate(n=Sum("amount"))
                    .order_by("-n", "person")[:TOP_EARNERS])
    names = {p.pk: p for p in Person.objects.filter(pk__in=[r["person"] for r in top_rows]).select_related("area")}
    by_path = {c.path: c for c in communities}
    top = []
    for rank, tr in enumerate(top_rows, start=1):
        p = names.get(tr["person"])
        if p is None:
            continue
        home = by_path.get(p.area.path[:length])
        top.append({"rank": rank, "name": mask_name(p.name), "community": home.name if home else "",
                    "points": tr["n"]})
    return Figures(area=area, start=start, end=end, communities=list(rows.values()), total=total, top=top)
