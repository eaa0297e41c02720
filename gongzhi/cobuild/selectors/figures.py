"""Co-building figures per area and period (issue 10 item 10; D1–D5, G3).

One aggregate query per record kind over the area's subtree (``area_path`` prefix, indexed together with the date
column each figure counts by), and for the breakdown one grouped query per kind over the child areas — a district's
figures are a dozen statements whatever the number of deliveries. The caller has fetched ``area`` through the scope.

Definitions (they are shown on the page):
- needs registered / met: created / met inside the period; open: not met or withdrawn now.
- resources offered: valid during the period; matched: those of them that confirmed matches drew on (capacities
  are in different measures — 次, 小时, 元 — so they are counted, not added up).
- projects due: due inside the period; on time: accepted no later than their due date; overdue: due before the end
  of the period (or today) and not accepted.
- services, beneficiaries, hours: deliveries inside the period; volunteers active: different people with hours.
- admission requests: filed inside the period, by outcome; flags of unadmitted work raised inside the period.
- funds: budgets of the years the period touches; spending inside the period, by purpose.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Substr
from django.utils import timezone

from gongzhi.registry.models import Area

from ..models import (
    AdmissionRequest,
    Budget,
    Claim,
    Delivery,
    Match,
    Need,
    Participation,
    Project,
    Purpose,
    Resource,
    Spending,
    UnadmittedFlag,
)
from ..workflow import MatchState, NeedState, ProjectState, RequestState

ZERO = Decimal("0")
MAX_CHILDREN = 500


@dataclass
class Figures:
    needs_registered: int = 0
    needs_met: int = 0
    needs_open: int = 0
    resources_offered: int = 0
    resources_matched: int = 0
    matches_confirmed: int = 0
    projects_due: int = 0
    projects_on_time: int = 0
    projects_overdue: int = 0
    projects_live: int = 0
    claims: int = 0
    services: int = 0
    beneficiaries: int = 0
    hours: Decimal = ZERO
    volunteers_active: int = 0
    requests_filed: int = 0
    requests_admitted: int = 0
    requests_refused: int = 0
    flags: int = 0
    budget: Decimal = ZERO
    spent_in_period: Decimal = ZERO
    spent_to_date: Decimal = ZERO
    spent_by_purpose: list[tuple[str, str, Decimal]] = field(default_factory=list)

    @property
    def on_time_rate(self) -> float | None:
        return self.projects_on_time / self.projects_due if self.projects_due else None

    @property
    def on_time_percent(self) -> float | None:
        return None if self.on_time_rate is None else round(self.on_time_rate * 100, 1)

    @property
    def refusal_rate(self) -> float | None:
        decided = self.requests_admitted + self.requests_refused
        return self.requests_refused / decided if decided else None

    @property
    def balance(self) -> Decimal:
        return self.budget - self.spent_to_date


def _in(qs: QuerySet[Any] | Any, path: str) -> QuerySet[Any]:
    return qs.filter(area_path__startswith=path)


def figures(area: Area, start: dt.date, end: dt.date, *, today: dt.date | None = None) -> Figures:
    today = today or timezone.localdate()
    path = area.path
    f = Figures()
    tz = timezone.get_current_timezone()
    t0 = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    t1 = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    needs = _in(Need.objects, path).aggregate(
        registered=Count("pk", filter=Q(created_at__gte=t0, created_at__lt=t1)),
        met=Count("pk", filter=Q(met_at__gte=t0, met_at__lt=t1)),
        open=Count("pk", filter=Q(state__in=[NeedState.OPEN, NeedState.MATCHED, NeedState.IN_DELIVERY])),
    )
    f.needs_registered, f.needs_met, f.needs_open = needs["registered"], needs["met"], needs["open"]
    res = _in(Resource.objects, path).filter(valid_from__lte=end, valid_until__gte=start).aggregate(
        n=Count("pk"), matched=Count("pk", filter=Q(used__gt=0)))
    f.resources_offered, f.resources_matched = res["n"], res["matched"]
    f.matches_confirmed = _in(Match.objects, path).filter(
        confirmed_at__gte=t0, confirmed_at__lt=t1, state__in=[MatchState.CONFIRMED, MatchState.DONE]).count()
    cutoff = min(end, today)
    projects = _in(Project.objects, path).exclude(state=ProjectState.CANCELLED).aggregate(
        due=Count("pk", filter=Q(due_on__gte=start, due_on__lte=end)),
        on_time=Count("pk", filter=Q(due_on__gte=start, due_on__lte=end, state=ProjectState.ACCEPTED,
                                     accepted_at__date__lte=F("due_on"))),
        overdue=Count("pk", filter=Q(due_on__lt=cutoff) & ~Q(state=ProjectState.ACCEPTED)),
        live=Count("pk", filter=Q(state__in=[ProjectState.OPEN, ProjectState.IN_PROGRESS, ProjectState.DELIVERED])),
    )
    f.projects_due, f.projects_on_time = projects["due"], projects["on_time"]
    f.projects_overdue, f.projects_live = projects["overdue"], projects["live"]
    f.claims = _in(Claim.objects, path).filter(claimed_at__gte=t0, claimed_at__lt=t1).count()
    d = _in(Delivery.objects, path).filter(delivered_on__gte=start, delivered_on__lte=end).aggregate(
        n=Count("pk"), people=Coalesce(Sum("beneficiaries"), 0), hours=Coalesce(Sum("hours"), ZERO))
    f.services, f.beneficiaries, f.hours = d["n"], d["people"], d["hours"]
    f.volunteers_active = _in(Participation.objects, path).filter(
        delivered_on__gte=start, delivered_on__lte=end).values("person_id").distinct().count()
    r = _in(AdmissionRequest.objects, path).filter(filed_at__gte=t0, filed_at__lt=t1).aggregate(
        filed=Count("pk"), admitted=Count("pk", filter=Q(state=RequestState.ADMITTED)),
        refused=Count("pk", filter=Q(state=RequestState.REFUSED)))
    f.requests_filed, f.requests_admitted, f.requests_refused = r["filed"], r["admitted"], r["refused"]
    f.flags = _in(UnadmittedFlag.objects, path).filter(flagged_at__gte=t0, flagged_at__lt=t1).count()
    b = _in(Budget.objects, path).filter(year__gte=start.year, year__lte=end.year).aggregate(
        amount=Coalesce(Sum("amount"), ZERO), spent=Coalesce(Sum("spent"), ZERO))
    f.budget, f.spent_to_date = b["amount"], b["spent"]
    labels = dict(Purpose.choices)
    by_purpose = (_in(Spending.objects, path).filter(spent_on__gte=start, spent_on__lte=end)
                  .values("purpose").annotate(total=Sum("amount")).order_by("-total"))
    f.spent_by_purpose = [(row["purpose"], str(labels.get(row["purpose"], row["purpose"])), row["total"])
                          for row in by_purpose]
    f.spent_in_period = sum((t for _c, _l, t in f.spent_by_purpose), ZERO)
    return f


@dataclass
class ChildRow:
    area: Area
    needs_open: int = 0
    needs_met: int = 0
    projects_live: int = 0
    services: int = 0
    hours: Decimal = ZERO
    spent: Decimal = ZERO


def by_child(area: Area, start: dt.date, end: dt.date) -> list[ChildRow]:
    """The main figures for each child of ``area`` (a street's communities, a district's streets)."""
    children = list(Area.objects.filter(path__startswith=area.path, depth=area.depth + 1)
                    .order_by("path")[:MAX_CHILDREN])
    if not children:
        return []
    width = len(children[0].path)
    rows = {c.path: ChildRow(c) for c in children}
    tz = timezone.get_current_timezone()
    t0 = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    t1 = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)

    def grouped(qs: QuerySet[Any], **aggregates: Any) -> list[dict[str, Any]]:
        return list(_in(qs, area.path).annotate(g=Substr("area_path", 1, width)).values("g")
                    .annotate(**aggregates).order_by())

    for row in grouped(Need.objects.all(), open=Count("pk", filter=Q(
            state__in=[NeedState.OPEN, NeedState.MATCHED, NeedState.IN_DELIVERY])),
            met=Count("pk", filter=Q(met_at__gte=t0, met_at__lt=t1))):
        if row["g"] in rows:
            rows[row["g"]].needs_open, rows[row["g"]].needs_met = row["open"], row["met"]
    for row in grouped(Project.objects.filter(
            state__in=[ProjectState.OPEN, ProjectState.IN_PROGRESS, ProjectState.DELIVERED]), n=Count("pk")):
        if row["g"] in rows:
            rows[row["g"]].projects_live = row["n"]
    for row in grouped(Delivery.objects.filter(delivered_on__gte=start, delivered_on__lte=end), n=Count("pk"),
                       hours=Coalesce(Sum("hours"), ZERO)):
        if row["g"] in rows:
            rows[row["g"]].services, rows[row["g"]].hours = row["n"], row["hours"]
    for row in grouped(Spending.objects.filter(spent_on__gte=start, spent_on__lte=end), total=Sum("amount")):
        if row["g"] in rows:
            rows[row["g"]].spent = row["total"]
    return list(rows.values())


@dataclass
class UnitDelivered:
    unit_id: int
    name: str
    services: int
    beneficiaries: int
    hours: Decimal


@dataclass
class CommunityPage:
    area: Area
    open_needs: list[Need]
    paired_units: list[tuple[Any, list[Resource]]]  # (unit, its active resources)
    delivered: list[UnitDelivered]
    live_projects: list[Project]


def community_page(area: Area, *, year: int, limit: int = 20) -> CommunityPage:
    """社区共建一览: the community's open needs, the units paired with it and what they offer, what each unit
    delivered here this year, and the projects under way. A fixed number of queries (no per-unit query)."""
    from gongzhi.registry.models import MemberUnit, Pairing

    open_needs = list(_in(Need.objects, area.path).filter(
        state__in=[NeedState.OPEN, NeedState.MATCHED, NeedState.IN_DELIVERY])
        .select_related("area").order_by("-created_at")[:limit])
    unit_ids = list(Pairing.objects.filter(area__path__startswith=area.path, unit__isnull=False,
                                           ended_on__isnull=True).values_list("unit_id", flat=True).distinct())
    units = {u.pk: u for u in MemberUnit.objects.filter(pk__in=unit_ids).order_by("name")}
    today = timezone.localdate()
    resources: dict[int, list[Resource]] = {pk: [] for pk in units}
    for r in Resource.objects.filter(unit_id__in=list(units), active=True, valid_until__gte=today).order_by("kind"):
        if r.unit_id is not None:
            resources[r.unit_id].append(r)
    delivered = [
        UnitDelivered(row["unit_id"], row["unit__name"], row["n"], row["people"], row["hours"])
        for row in _in(Delivery.objects, area.path).filter(delivered_on__year=year, unit__isnull=False)
        .values("unit_id", "unit__name").annotate(n=Count("pk"), people=Coalesce(Sum("beneficiaries"), 0),
                                                   hours=Coalesce(Sum("hours"), ZERO)).order_by("-n")[:limit]
    ]
    live = list(_in(Project.objects, area.path).filter(
        state__in=[ProjectState.OPEN, ProjectState.IN_PROGRESS, ProjectState.DELIVERED])
        .select_related("list_type", "lead_unit").order_by("due_on")[:limit])
    return CommunityPage(area, open_needs, [(u, resources[pk]) for pk, u in units.items()], delivered, live)
