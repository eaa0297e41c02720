"""Reads of grid patrol: the rounds a worker has due, a plan's periods (done, in progress, due, missed), a round
with its checklist and visits, and the figures per grid (share of households visited, rounds done against due,
problems found, cases opened). Everything takes the viewer and goes through :mod:`gongzhi.core.scope`; the figures
are a fixed handful of grouped queries whatever the number of grids."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.accounts.roles import Cap
from gongzhi.core.errors import InvalidInput
from gongzhi.core.scope import as_scope, get_scoped, scoped
from gongzhi.registry.models import Area, AreaKind

from .models import (
    HouseholdVisit,
    PatrolCheck,
    PatrolPlan,
    PatrolRound,
    period_end,
    period_from_index,
    period_index,
    period_start,
)

MAX_PLANS = 100
MAX_GRIDS = 500
HISTORY = 8  # periods shown per plan on the due-rounds page


class Status:
    DONE = "done"
    OPEN = "open"
    DUE = "due"
    MISSED = "missed"


STATUS_LABELS: dict[str, Any] = {
    Status.DONE: _("已完成"), Status.OPEN: _("巡查中"), Status.DUE: _("待巡查"), Status.MISSED: _("未巡查"),
}


@dataclass
class Period:
    start: dt.date
    end: dt.date
    status: str
    round: PatrolRound | None = None

    @property
    def label(self) -> Any:
        return STATUS_LABELS[self.status]


@dataclass
class PlanView:
    plan: PatrolPlan
    periods: list[Period]  # newest first; periods[0] is the current one when the plan is running

    @property
    def current(self) -> Period | None:
        return self.periods[0] if self.periods else None


def _last_index(plan: PatrolPlan, today: dt.date) -> int:
    last = min(today, plan.ended_on) if plan.ended_on else today
    return period_index(plan.frequency, last)


def _periods(plan: PatrolPlan, rounds: dict[dt.date, PatrolRound], today: dt.date, count: int) -> list[Period]:
    if today < plan.starts_on:
        return []
    hi = _last_index(plan, today)
    lo = max(period_index(plan.frequency, plan.starts_on), hi - count + 1)
    current = period_index(plan.frequency, today)
    out = []
    for i in range(hi, lo - 1, -1):
        start = period_from_index(plan.frequency, i)
        rnd = rounds.get(start)
        if rnd is not None:
            status = Status.DONE if rnd.state == PatrolRound.State.CLOSED else Status.OPEN
        else:
            status = Status.DUE if i == current else Status.MISSED
        out.append(Period(start=start, end=period_end(plan.frequency, start), status=status, round=rnd))
    return out


def plan_views(plans: list[PatrolPlan], today: dt.date | None = None, count: int = HISTORY) -> list[PlanView]:
    """Each plan with its last ``count`` periods and their status: one query for all the plans' rounds."""
    today = today or timezone.localdate()
    if not plans:
        return []
    oldest = min(period_from_index(p.frequency, _last_index(p, today) - count + 1) for p in plans)
    by_plan: dict[int, dict[dt.date, PatrolRound]] = defaultdict(dict)
    for rnd in PatrolRound.objects.filter(plan__in=[p.pk for p in plans], period_start__gte=oldest):
        by_plan[rnd.plan_id][rnd.period_start] = rnd
    return [PlanView(plan=p, periods=_periods(p, by_plan[p.pk], today, count)) for p in plans]


def plans(viewer: Any, area: Area | None = None) -> QuerySet[PatrolPlan]:
    qs = scoped(viewer, PatrolPlan).select_related("area", "patroller")
    if area is not None:
        qs = qs.filter(area_path__prefix=area.path)
    return qs.order_by("ended_on", "area_path", "pk")


def my_plans(viewer: Any, today: dt.date | None = None) -> list[PatrolPlan]:
    """The running plans the viewer walks: hers by name, and those open to any staff of an area where she may
    record (report cases and see the residents)."""
    scope = as_scope(viewer)
    if not scope.is_authenticated:
        return []
    today = today or timezone.localdate()
    report = set(scope.area_prefixes(Cap.CASE_REPORT))
    people = scope.area_prefixes(Cap.VIEW_PEOPLE)
    prefixes = [p for p in report if any(p.startswith(q) for q in people)]
    mine = Q(patroller_id=scope.user_id)
    if prefixes:
        open_to_all = Q()
        for p in prefixes:
            open_to_all |= Q(area_path__prefix=p)
        mine |= Q(patroller__isnull=True) & open_to_all
    qs = (scoped(viewer, PatrolPlan).filter(mine).filter(Q(ended_on__isnull=True) | Q(ended_on__gte=today))
          .filter(starts_on__lte=today).select_related("area", "patroller").order_by("area_path", "pk"))
    return list(qs[:MAX_PLANS])


def plan_get(viewer: Any, pk: Any) -> PatrolPlan:
    return get_scoped(viewer, PatrolPlan.objects.select_related("area", "patroller"), pk)


def round_get(viewer: Any, pk: Any) -> PatrolRound:
    return get_scoped(viewer, PatrolRound.objects.select_related("plan", "area", "patroller"), pk)


def round_checks(rnd: PatrolRound) -> list[PatrolCheck]:
    return list(rnd.checks.select_related("case").order_by("position"))


def round_visits(rnd: PatrolRound) -> list[HouseholdVisit]:
    return list(rnd.visits.select_related("person", "building", "case").order_by("-visited_on", "-pk")[:200])


def rounds(viewer: Any, *, area: Area | None = None, patroller: Any = None) -> QuerySet[PatrolRound]:
    qs = scoped(viewer, PatrolRound).select_related("plan", "area", "patroller")
    if area is not None:
        qs = qs.filter(area_path__prefix=area.path)
    if patroller is not None:
        qs = qs.filter(patroller=patroller)
    return qs.order_by("-period_start", "-pk")


def check_get(viewer: Any, pk: Any) -> PatrolCheck:
    return get_scoped(viewer, PatrolCheck.objects.select_related("round", "round__plan", "round__area"), pk)


def visit_get(viewer: Any, pk: Any) -> HouseholdVisit:
    return get_scoped(viewer, HouseholdVisit.objects.select_related("round", "area", "person"), pk)


def household_choices(viewer: Any, rnd: PatrolRound, limit: int = 500) -> tuple[list[Any], list[Area]]:
    """Residents and buildings of the round's area the viewer may see, for the visit form."""
    from gongzhi.registry.models import Person

    people = list(scoped(viewer, Person, cap=Cap.VIEW_PEOPLE).filter(area__path__prefix=rnd.area_path)
                  .select_related("area").order_by("area__path", "name")[:limit])
    buildings = list(scoped(viewer, Area).filter(path__prefix=rnd.area_path, kind=AreaKind.BUILDING)
                     .order_by("path")[:limit])
    return people, buildings


def patrollers_for(area: Area) -> list[Any]:
    """Accounts that may walk rounds on ``area`` (the plan form's 巡查人 choice): grid workers and community workers
    granted on the area or above it, at most 100."""
    from gongzhi.accounts.models import RoleGrant

    ancestors = [area.path[:i] for i in range(Area.steplen, len(area.path) + 1, Area.steplen)]
    ids = (RoleGrant.objects.filter(role__in=["grid_worker", "community_worker"], area__path__in=ancestors)
           .values_list("user_id", flat=True))
    return list(get_user_model().objects.filter(pk__in=ids, is_active=True).order_by("username")[:100])


# ------------------------------------------------------------------------------------------ figures


@dataclass
class GridFigures:
    area: Area
    households: int = 0
    visited: int = 0  # distinct households visited in the period
    visits: int = 0
    rounds_due: int = 0
    rounds_done: int = 0
    problems: int = 0  # checklist problems and visits that found one
    cases: int = 0  # of those, turned into cases

    @property
    def visit_rate(self) -> float | None:
        return round(100 * self.visited / self.households, 1) if self.households else None

    @property
    def round_rate(self) -> float | None:
        return round(100 * self.rounds_done / self.rounds_due, 1) if self.rounds_due else None

    @property
    def missed(self) -> int:
        return max(0, self.rounds_due - self.rounds_done)

    def as_dict(self) -> dict[str, Any]:
        return {"area": {"id": self.area.pk, "name": self.area.name, "kind": self.area.kind},
                "households": self.households, "households_visited": self.visited, "visits": self.visits,
                "visit_rate": self.visit_rate, "rounds_due": self.rounds_due, "rounds_done": self.rounds_done,
                "rounds_missed": self.missed, "round_rate": self.round_rate, "problems": self.problems,
                "cases": self.cases}


@dataclass
class Figures:
    area: Area
    start: dt.date
    end: dt.date
    grids: list[GridFigures] = field(default_factory=list)
    total: GridFigures | None = None


def check_period(start: dt.date, end: dt.date) -> None:
    for name, day in (("start", start), ("end", end)):
        if not dt.date(2000, 1, 1) <= day <= dt.date(2099, 12, 31):
            raise InvalidInput.on(name, str(_("日期须在2000年至2099年之间")))
    if end < start:
        raise InvalidInput.on("end", str(_("结束日期不能早于开始日期")))
    if (end - start).days > 366 * 3:
        raise InvalidInput.on("start", str(_("统计区间不超过三年")))


def _due_in(plan: PatrolPlan, start: dt.date, end: dt.date, today: dt.date) -> int:
    """Periods of ``plan`` that overlap [start, end] and have begun (by ``today``) while the plan ran."""
    last = min(end, today, plan.ended_on) if plan.ended_on else min(end, today)
    first = max(start, plan.starts_on)
    if last < first:
        return 0
    return period_index(plan.frequency, last) - period_index(plan.frequency, first) + 1


def figures(viewer: Any, area: Area, start: dt.date, end: dt.date, today: dt.date | None = None) -> Figures:
    """Per grid under ``area`` (or the grid itself): households and the share visited in [start, end], rounds done
    against due, problems found and cases opened. Five queries, however many grids."""
    check_period(start, end)
    today = today or timezone.localdate()
    if area.kind == AreaKind.GRID:
        grids = [area]
    else:
        grids = list(scoped(viewer, Area).filter(path__prefix=area.path, kind=AreaKind.GRID)
                     .order_by("path")[:MAX_GRIDS])
    rows = {g.path: GridFigures(area=g, households=g.households) for g in grids}
    total = GridFigures(area=area, households=sum(g.households for g in grids))
    out = Figures(area=area, start=start, end=end, grids=list(rows.values()), total=total)
    if not grids:
        return out
    width = len(grids[0].path)  # grids sit at one depth of the tree
    key = Substr("area_path", 1, width)
    visits = scoped(viewer, HouseholdVisit).filter(area_path__prefix=area.path, visited_on__gte=start,
                                                   visited_on__lte=end)
    for r in visits.annotate(g=key).values("g").annotate(
            n=Count("pk"), households=Count("household_key", distinct=True),
            problems=Count("pk", filter=Q(problem_found=True)), cases=Count("case_id")):
        if r["g"] in rows:
            row = rows[r["g"]]
            row.visits, row.visited = r["n"], r["households"]
            row.problems += r["problems"]
            row.cases += r["cases"]
    checks = scoped(viewer, PatrolCheck).filter(
        area_path__prefix=area.path, status=PatrolCheck.Status.PROBLEM, checked_at__date__gte=start,
        checked_at__date__lte=end)
    for c in checks.annotate(g=key).values("g").annotate(n=Count("pk"), cases=Count("case_id")):
        if c["g"] in rows:
            rows[c["g"]].problems += c["n"]
            rows[c["g"]].cases += c["cases"]
    plans_ = list(scoped(viewer, PatrolPlan).filter(area_path__prefix=area.path, starts_on__lte=end)
                  .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=start)).only(
                      "pk", "area_path", "frequency", "starts_on", "ended_on")[:MAX_GRIDS * 10])
    for plan in plans_:
        hit = rows.get(plan.area_path[:width])
        if hit is not None:
            hit.rounds_due += _due_in(plan, start, end, today)
    done = (scoped(viewer, PatrolRound).filter(area_path__prefix=area.path, state=PatrolRound.State.CLOSED,
                                               period_start__lte=end, period_end__gte=start)
            .annotate(g=Substr("area_path", 1, width)).values("g").annotate(n=Count("pk")))
    for d in done:
        if d["g"] in rows:
            rows[d["g"]].rounds_done += d["n"]
    for row in out.grids:  # a household lives in one grid: the area's count is the sum of its grids'
        total.visited += row.visited
        total.visits += row.visits
        total.rounds_due += row.rounds_due
        total.rounds_done += row.rounds_done
        total.problems += row.problems
        total.cases += row.cases
    return out


def default_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """This quarter so far (the period of 每季度全面巡访)."""
    today = today or timezone.localdate()
    return period_start("quarterly", today), today
