"""Reads of the case pipeline: workbench queues, the case timeline, duplicate suggestions, public cases and the
figures of G1. Everything takes the viewer and goes through :mod:`gongzhi.core.scope`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from gongzhi.accounts.roles import Cap
from gongzhi.core import audit, workdays
from gongzhi.core.errors import InvalidInput, NotFound
from gongzhi.core.scope import as_scope, get_scoped, scoped
from gongzhi.registry.models import Area, AreaKind, MemberUnit

from . import rollup
from .models import COMMUNITY_PATH_LEN, STREET_PATH_LEN, Case, CaseSettings, CaseStat, CaseVisit, Rating
from .workflow import OPEN_STATES, State

S = State


def case_get(viewer: Any, pk: Any) -> Case:
    """A case the viewer may see; claimants (领单) also reach the cases in the pool they may claim from."""
    qs = Case.objects.select_related("category", "area", "owner_area", "assignee_unit", "reporter", "claimed_by",
                                     "merged_into")
    try:
        case = get_scoped(viewer, qs, pk)
    except NotFound:
        hit = claim_pool(viewer).select_related("category", "area", "owner_area").filter(
            pk=pk if str(pk).isdigit() else 0).first()
        if hit is None:
            raise
        case = hit
    with_places([case])
    return case


def case_reported(case: Case) -> Case:
    """The case its reporter has just written, read back with what its page shows (category, area, owner, unit and
    the place) by id alone: she reported it in this request, so the viewer's scope has nothing to add — and its
    OR of the ways in cost more to plan than the whole intake's writes (issue 15)."""
    fresh = Case.objects.select_related("category", "area", "owner_area", "assignee_unit").get(pk=case.pk)
    with_places([fresh])
    return fresh


def public_case_get(pk: Any) -> Case:
    """A public case, for anyone (rendered without personal data)."""
    case = public_cases().filter(pk=pk if str(pk).isdigit() else 0).first()
    if case is None:
        raise NotFound("未找到")
    with_places([case], compound_only=True)
    return case


def claim_pool(viewer: Any) -> QuerySet[Case]:
    """领单: cases put in the public pool, where a claimant may look — party members and volunteers in the areas
    they see, unit handlers in their unit's part of the tree."""
    from .services import can_claim

    scope = as_scope(viewer)
    if not scope.is_authenticated or not can_claim(scope):
        return Case.objects.none()
    prefixes = set(scope.area_prefixes(Cap.VIEW))
    units = scope.unit_ids(Cap.CASE_HANDLE)
    if units:
        prefixes |= set(MemberUnit.objects.filter(pk__in=units).values_list("area__path", flat=True))
    pool = _prefix_q("area_path", sorted(prefixes))
    if pool is None:
        return Case.objects.none()
    return Case.objects.filter(pool, claimable=True, state=S.ACCEPTED)


def with_places(cases: list[Case], *, compound_only: bool = False) -> list[Case]:
    """Give each case its ``place``: a building with its compound ("碧海花园 3号楼", one query for the whole list).
    ``compound_only`` stops at the compound (public pages name no building)."""
    parents = {c.area_path[: -Area.steplen] for c in cases if c.area.kind == AreaKind.BUILDING}
    names = dict(Area.objects.filter(path__in=parents).values_list("path", "name")) if parents else {}
    for c in cases:
        if c.area.kind == AreaKind.BUILDING:
            compound = names.get(c.area_path[: -Area.steplen], "")
            c.place = compound if compound_only and compound else f"{compound} {c.area.name}".strip()
        else:
            c.place = c.area.name
    return cases


# ------------------------------------------------------------------------------------------ queues


@dataclass(frozen=True)
class Queue:
    key: str
    label: str | Promise  # lazy: translated when shown, in the language of that request


QUEUES = [
    Queue("to_accept", _("待受理")),
    Queue("to_dispatch", _("待派遣")),
    Queue("escalated", _("上移到本级")),
    Queue("mine", _("我的待办")),
    Queue("to_verify", _("待核实")),
    Queue("claimable", _("可领单")),
    Queue("due_soon", _("即将到期")),
    Queue("overdue", _("已超期")),
    Queue("ledger", _("挂账台账")),
    Queue("reported", _("我反映的")),
    Queue("all", _("全部")),
]
QUEUE_KEYS = {q.key for q in QUEUES}


def in_area(prefix: str) -> Q:
    """The cases that lie in the subtree at ``prefix``. A street or a community is an equality on its own
    column (its index reads that subtree newest first: a community's list at 10M cases); other levels are a
    prefix of ``area_path``."""
    if len(prefix) == COMMUNITY_PATH_LEN:
        return Q(community_path=prefix)
    if len(prefix) == STREET_PATH_LEN:
        return Q(street_path=prefix)
    return Q(area_path__prefix=prefix)


def _prefix_q(field_name: str, prefixes: list[str]) -> Q | None:
    if not prefixes:
        return None
    q = Q()
    for p in prefixes:
        q |= in_area(p) if field_name == "area_path" else Q(**{f"{field_name}__prefix": p})
    return q


def queue(viewer: Any, key: str, *, now: dt.datetime | None = None, area: Area | None = None,
          category_code: str = "", text: str = "") -> QuerySet[Case]:
    """The cases of one workbench queue, newest first (callers slice: lists are bounded)."""
    if key not in QUEUE_KEYS:
        raise InvalidInput.on("queue", str(_("未知队列")))
    scope = as_scope(viewer)
    now = now or timezone.now()
    # Staff queues filter by where cases happened and which unit holds them: the indexed columns. The per-person
    # ways in (reported, claimed, followed) are added only by the queues that are about them, so the OR of
    # scope terms never defeats the indexes on the big lists.
    staff = _prefix_q("area_path", scope.area_prefixes(Cap.CASE_VIEW))
    units = scope.unit_ids(Cap.CASE_VIEW)
    if units:
        staff = (staff | Q(assignee_unit_id__in=units)) if staff is not None else Q(assignee_unit_id__in=units)
    qs = Case.objects.filter(staff) if staff is not None else Case.objects.none()
    dispatch = _prefix_q("owner_path", scope.area_prefixes(Cap.CASE_DISPATCH))
    handle_units = scope.unit_ids(Cap.CASE_HANDLE)
    handle_areas = scope.area_prefixes(Cap.CASE_HANDLE)
    verify = _prefix_q("area_path", scope.area_prefixes(Cap.CASE_VERIFY))
    nothing = Q(pk__in=[])
    if key == "to_accept":
        qs = qs.filter(dispatch or nothing, state=S.SUBMITTED)
    elif key == "to_dispatch":
        qs = qs.filter(dispatch or nothing, state__in=[S.ACCEPTED, S.RETURNED], claimable=False)
    elif key == "escalated":
        # Cases moved up to a node where the viewer dispatches, waiting there.
        own_nodes = [g.area_path for g in scope.grants if Cap.CASE_DISPATCH in g.caps and g.area_path]
        qs = qs.filter(owner_path__in=own_nodes, escalation_count__gt=0, state=S.ACCEPTED)
    elif key == "mine":
        mine = Q(assignee_unit_id__in=handle_units) if handle_units else Q(pk__in=[])
        team = _prefix_q("owner_path", handle_areas)
        if team is not None:
            mine |= team & Q(assignee_unit__isnull=True)
        # A level's own staff (本级工作力量) hold the cases their node keeps for itself.
        own = sorted({g.area_path for g in scope.grants if g.area_path
                      and (Cap.CASE_DISPATCH in g.caps or Cap.CASE_HANDLE in g.caps)})
        if own:
            mine |= Q(owner_path__in=own, assignee_unit__isnull=True, claimed_by__isnull=True)
        qs = qs.filter(mine, state__in=[S.DISPATCHED, S.IN_PROGRESS, S.REOPENED])
        if scope.person_id:
            claimed = Case.objects.filter(claimed_by_id=scope.person_id,
                                          state__in=[S.DISPATCHED, S.IN_PROGRESS, S.REOPENED])
            qs = qs | claimed
    elif key == "to_verify":
        qs = qs.filter(verify or nothing, state=S.HANDLED)
    elif key == "claimable":
        # Claimants (party members, volunteers, units) see the pool where they may look, staff or not; other
        # staff see what waits in the pool in their area.
        qs = claim_pool(viewer) if _can_claim(scope) else qs.filter(claimable=True, state=S.ACCEPTED)
    elif key == "due_soon":
        horizon = workdays.add_work_hours(now, CaseSettings.current().due_soon_hours)
        qs = qs.filter(state__in=[S.DISPATCHED, S.IN_PROGRESS, S.REOPENED], due_at__gte=now, due_at__lte=horizon)
    elif key == "overdue":
        qs = qs.filter(state__in=list(OPEN_STATES - {S.HANDLED, S.VERIFIED}), overdue_at__isnull=False)
    elif key == "ledger":
        qs = qs.filter(state__in=list(OPEN_STATES - {S.VERIFIED}))
    elif key == "reported":
        qs = Case.objects.filter(reporter_id=scope.person_id) if scope.person_id else qs.none()
    if area is not None:
        qs = qs.filter(in_area(area.path))
    if category_code:
        qs = qs.filter(category__code__startswith=category_code)
    if text:
        qs = qs.filter(Q(title__contains=text) | Q(description__contains=text))
    return qs.select_related("category", "area", "owner_area", "assignee_unit").order_by("-created_at", "-id")


def _can_claim(scope: Any) -> bool:
    from .services import can_claim

    return bool(can_claim(scope))


SORTS = ("new", "due")


# The columns a row of any case list shows (workbench, public list, their API forms): a page reads these and the
# names of its category, area, owner and unit, not the ~50 columns of a case (issue 15: parsing every timestamp
# and building whole rows was most of a list's time). A list that shows more adds it here; the lists' query-count
# test fails if a row reads a column left out (Django would fetch it row by row).
LISTED = ("id", "kind", "title", "state", "channel", "level", "area_path", "created_at", "closed_at", "due_at",
          "overdue_at", "reopen_count", "escalation_count", "duplicate_count", "follower_count", "supervised_at",
          "urge_count", "version", "category", "category__code", "category__name", "area", "area__name",
          "area__kind", "owner_area", "owner_area__name", "assignee_unit", "assignee_unit__name")


def queue_page(qs: QuerySet[Case], *, limit: int, after: tuple[dt.datetime | None, int] | None = None,
               sort: str = "new") -> list[Case]:
    """Keyset page. ``new``: newest first, continuing after (created_at, id) of the last case seen. ``due``: the
    nearest deadline first (the most overdue on top), cases without a deadline last, continuing after (due_at, id).
    Only the :data:`LISTED` columns are read."""
    qs = qs.select_related("category", "area", "owner_area", "assignee_unit").only(*LISTED)
    if sort == "due":
        qs = qs.order_by(F("due_at").asc(nulls_last=True), "id")
        if after is not None:
            due, pk = after
            if due is None:
                qs = qs.filter(due_at__isnull=True, pk__gt=pk)
            else:
                qs = qs.filter(Q(due_at__gt=due) | Q(due_at=due, pk__gt=pk) | Q(due_at__isnull=True))
    elif after is not None:
        created, pk = after
        qs = qs.filter(Q(created_at__lt=created) | Q(created_at=created, pk__lt=pk))
    return with_places(list(qs[:limit]))


def page_key(case: Case, sort: str = "new") -> tuple[dt.datetime | None, int]:
    """Where the next page continues (see :func:`queue_page`)."""
    return (case.due_at if sort == "due" else case.created_at), case.pk


def queue_counts(viewer: Any, *, now: dt.datetime | None = None, cap: int = 1000) -> dict[str, int]:
    """How many cases wait in each queue (counted up to ``cap``: a badge, not a census)."""
    counts = {}
    for q in QUEUES:
        if q.key in ("all", "ledger"):
            continue
        ids = queue(viewer, q.key, now=now).order_by().values_list("pk", flat=True)[:cap]
        counts[q.key] = len(ids)
    return counts


# ------------------------------------------------------------------------------------------ timeline


def timeline(case: Case) -> list[audit.AuditEntry]:
    """The case's history, oldest first: the audit trail is the timeline (one record of every step)."""
    return list(reversed(audit.entries_for(case, limit=200)))


# ------------------------------------------------------------------------------------------ duplicates (B7)


def _bigrams(text: str) -> set[str]:
    text = "".join(ch for ch in text if not ch.isspace())
    return {text[i:i + 2] for i in range(len(text) - 1)} or ({text} if text else set())


def similarity(a: str, b: str) -> float:
    x, y = _bigrams(a), _bigrams(b)
    return len(x & y) / len(x | y) if x and y else 0.0


@dataclass
class Duplicate:
    case: Case
    score: float
    reasons: list[str] = field(default_factory=list)


# The states a duplicate can be merged into (the merge step refuses the others).
MERGEABLE_INTO = (S.SUBMITTED, S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS, S.REOPENED)


def suggest_duplicates(viewer: Any, case: Case, *, days: int = 30, limit: int = 5,
                       threshold: float = 0.15) -> list[Duplicate]:
    """Likely duplicates of ``case``: same community (or within ~500 m), recent, same category when known, similar
    text. Scored by bigram overlap of title and description, plus a bonus for the same grid."""
    since = case.created_at - dt.timedelta(days=days)
    community_path = case.area_path[: 4 * Area.steplen]
    near = Q(area_path__prefix=community_path)
    if case.lng is not None and case.lat is not None:
        near |= Q(lng__range=(case.lng - 0.006, case.lng + 0.006), lat__range=(case.lat - 0.0045, case.lat + 0.0045))
    # Only cases still open: a duplicate is merged into (并单) a case that is still being handled.
    qs = scoped(viewer, Case).filter(near, created_at__gte=since, state__in=MERGEABLE_INTO).exclude(pk=case.pk)
    if case.category_id:
        qs = qs.filter(Q(category_id=case.category_id) | Q(category__isnull=True))
    text = f"{case.title} {case.description}"
    scored = []
    for other in qs.select_related("category", "area").order_by("-created_at")[:200]:
        score = similarity(text, f"{other.title} {other.description}")
        reasons = []
        if other.area_path[:20] == case.area_path[:20]:
            score += 0.1
            reasons.append(str(_("同一网格")))
        if case.category_id and other.category_id == case.category_id:
            reasons.append(str(_("同一分类")))
        if other.follower_count:
            reasons.append(str(_("{n} 人也遇到")).format(n=other.follower_count))
        if score >= threshold:
            scored.append(Duplicate(other, round(score, 3), reasons))
    # Of equally similar cases, the one more people have met comes first: merging into it keeps the heat together.
    scored.sort(key=lambda d: (d.score, d.case.heat), reverse=True)
    with_places([d.case for d in scored[:limit]])
    return scored[:limit]


# ------------------------------------------------------------------------------------------ public


def public_cases(area: Area | None = None) -> QuerySet[Case]:
    """Cases anyone may see, without personal data (callers render only title, category, area, state, dates)."""
    qs = Case.objects.filter(is_public=True).exclude(state__in=[S.REJECTED, S.MERGED, S.WITHDRAWN])
    if area is not None:
        qs = qs.filter(in_area(area.path))
    return qs.select_related("category", "area").order_by("-created_at", "-id")


# ------------------------------------------------------------------------------------------ figures (G1)


@dataclass
class Figures:
    area: Area | None
    start: dt.date
    end: dt.date
    received: int = 0
    accepted: int = 0
    accepted_in_time: int = 0
    closed: int = 0
    closed_on_time: int = 0
    resolved: int = 0
    rated: int = 0
    satisfied: int = 0
    basic: int = 0
    reopened: int = 0
    overdue_open: int = 0
    open_cases: int = 0
    basic_counts: bool = True
    by_level: dict[str, int] = field(default_factory=dict)
    # 回访 in the period (by the time of the visit): how many, how many reached the resident, how many satisfied.
    visits: int = 0
    visits_reached: int = 0
    visits_satisfied: int = 0

    @property
    def visit_satisfaction_rate(self) -> float | None:
        return self.rate(self.visits_satisfied, self.visits_reached)

    @staticmethod
    def rate(part: int, whole: int) -> float | None:
        return round(100.0 * part / whole, 2) if whole else None

    @property
    def response_rate(self) -> float | None:
        return self.rate(self.accepted_in_time, self.received)

    @property
    def on_time_rate(self) -> float | None:
        return self.rate(self.closed_on_time, self.closed)

    @property
    def resolution_rate(self) -> float | None:
        return self.rate(self.resolved, self.closed)

    @property
    def satisfaction_rate(self) -> float | None:
        return self.rate(self.satisfied + (self.basic if self.basic_counts else 0), self.rated)

    @property
    def reopen_rate(self) -> float | None:
        return self.rate(self.reopened, self.closed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "area": {"id": self.area.pk, "code": self.area.code, "name": self.area.name} if self.area else None,
            "start": self.start, "end": self.end,
            "received": self.received, "accepted": self.accepted, "accepted_in_time": self.accepted_in_time,
            "closed": self.closed, "closed_on_time": self.closed_on_time, "resolved": self.resolved,
            "rated": self.rated, "satisfied": self.satisfied, "basic": self.basic, "reopened": self.reopened,
            "open": self.open_cases, "overdue_open": self.overdue_open,
            "response_rate": self.response_rate, "on_time_rate": self.on_time_rate,
            "resolution_rate": self.resolution_rate, "satisfaction_rate": self.satisfaction_rate,
            "reopen_rate": self.reopen_rate, "by_level": self.by_level,
            "visits": self.visits, "visits_reached": self.visits_reached, "visits_satisfied": self.visits_satisfied,
            "visit_satisfaction_rate": self.visit_satisfaction_rate,
        }


def _measures() -> dict[str, Any]:
    return rollup.measure_expressions()


LEVEL_NAMES = rollup.LEVELS


def _aggregate(qs: QuerySet[Case]) -> Any:
    return qs.aggregate(**_measures())


EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2099, 12, 31)


def check_period(start: dt.date, end: dt.date) -> None:
    """A period the figures can be counted for: 从 not after 到, both within 2000–2099."""
    for name, day in (("end", end), ("start", start)):
        if not EARLIEST <= day <= LATEST:
            raise InvalidInput.on(name, str(_("日期须在2000-01-01到2099-12-31之间")))
    if end < start:
        raise InvalidInput.on("end", str(_("结束日期不能早于开始日期")))


def _period(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    check_period(start, end)
    tz = workdays.TZ
    return (dt.datetime.combine(start, dt.time.min, tzinfo=tz),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz))


def _figures_from(row: Any, area: Area | None, start: dt.date, end: dt.date) -> Figures:
    row = dict(row)
    row.pop("group", None)
    levels = {lv: row.pop(f"closed_{lv}") for lv in LEVEL_NAMES}
    f = Figures(area, start, end, **row)
    f.by_level = levels
    f.basic_counts = CaseSettings.current().basic_counts_as_satisfied
    return f


def figures(viewer: Any, area: Area, start: dt.date, end: dt.date) -> Figures:
    """The G1 figures for cases that happened in ``area``'s subtree and were received in [start, end].

    Streets and above add up the daily rollup (:mod:`.rollup`); communities and below count their cases."""
    return area_figures(get_scoped(viewer, Area, area.pk, cap=Cap.CASE_VIEW), start, end)


def area_figures(area: Area, start: dt.date, end: dt.date) -> Figures:
    """:func:`figures` for an area the caller has already fetched through the scope (assessment's computed
    indicators read the very same numbers)."""
    lo, hi = _period(start, end)
    if len(area.path) <= rollup.STREET_PATH_LEN:
        f = _figures_from(rollup.totals(area.path, start, end), area, start, end)
    else:
        qs = Case.objects.filter(area_path__prefix=area.path, created_at__gte=lo, created_at__lt=hi).exclude(
            state=S.MERGED)
        f = _figures_from(_aggregate(qs), area, start, end)
    reached = ~Q(result=CaseVisit.Result.UNREACHABLE)
    v = CaseVisit.objects.filter(area_path__prefix=area.path, at__gte=lo, at__lt=hi).aggregate(
        visits=Count("pk"), reached=Count("pk", filter=reached),
        satisfied=Count("pk", filter=reached & Q(satisfaction__in=[Rating.SATISFIED, Rating.BASIC]
                                                   if f.basic_counts else [Rating.SATISFIED])))
    f.visits, f.visits_reached, f.visits_satisfied = v["visits"], v["reached"], v["satisfied"]
    return f


def figures_by_child(viewer: Any, area: Area, start: dt.date, end: dt.date) -> list[Figures]:
    """Figures for each child node, in one grouped query (the comparison chart's bars)."""
    area = get_scoped(viewer, Area, area.pk, cap=Cap.CASE_VIEW)
    lo, hi = _period(start, end)
    children = list(Area.objects.filter(path__prefix=area.path, depth=area.depth + 1).order_by("path"))
    width = (area.depth + 1) * Area.steplen
    empty = {k: 0 for k in _measures()}
    if width <= rollup.STREET_PATH_LEN:
        grouped = (
            CaseStat.objects.filter(street_path__prefix=area.path, day__gte=start, day__lte=end)
            .annotate(group=Substr("street_path", 1, width)).values("group")
            .annotate(**{m: Sum(m) for m in rollup.MEASURES}).order_by()
        )
        by_path = {row["group"]: row for row in grouped}
        return [_figures_from(by_path.get(child.path, empty), child, start, end) for child in children]
    rows: Any = (
        Case.objects.filter(area_path__prefix=area.path, created_at__gte=lo, created_at__lt=hi)
        .exclude(state=S.MERGED)
        .annotate(group=Substr("area_path", 1, width))
        .values("group")
        .annotate(**_measures())
    )
    by_group = {row["group"]: row for row in rows}
    return [_figures_from(by_group.get(child.path, empty), child, start, end) for child in children]


def figures_for_paths(root: str, width: int, start: dt.date, end: dt.date) -> dict[str, Figures]:
    """:func:`area_figures` for every node ``width`` characters deep under ``root``, in one grouped query (the
    subjects of an assessment round: all grids of a district at once). Streets and above add up the rollup."""
    lo, hi = _period(start, end)
    if width <= rollup.STREET_PATH_LEN:
        grouped: Any = (
            CaseStat.objects.filter(street_path__startswith=root, day__gte=start, day__lte=end)
            .annotate(group=Substr("street_path", 1, width)).values("group")
            .annotate(**{m: Sum(m) for m in rollup.MEASURES}).order_by()
        )
        return {row["group"]: _figures_from(row, None, start, end) for row in grouped}
    rows: Any = (Case.objects.filter(area_path__prefix=root, created_at__gte=lo, created_at__lt=hi)
                 .exclude(state=S.MERGED).annotate(group=Substr("area_path", 1, width)).values("group")
                 .annotate(**_measures()).order_by())
    return {row["group"]: _figures_from(row, None, start, end) for row in rows}


def figures_for_units(unit_ids: list[int], start: dt.date, end: dt.date) -> dict[int, Figures]:
    """:func:`unit_figures` for many units in one grouped query."""
    lo, hi = _period(start, end)
    rows: Any = (Case.objects.filter(assignee_unit_id__in=unit_ids, created_at__gte=lo, created_at__lt=hi)
                 .exclude(state=S.MERGED).values("assignee_unit_id").annotate(**_measures()).order_by())
    out = {}
    for row in rows:
        unit_id = row.pop("assignee_unit_id")
        out[unit_id] = _figures_from(row, None, start, end)
    return out


def unit_figures(unit: MemberUnit, start: dt.date, end: dt.date) -> Figures:
    """How ``unit`` served the cases dispatched to it that were received in [start, end], anywhere (the row
    :func:`figures_by_unit` gives for the unit over the whole city)."""
    lo, hi = _period(start, end)
    row = _aggregate(Case.objects.filter(assignee_unit=unit, created_at__gte=lo, created_at__lt=hi)
                     .exclude(state=S.MERGED))
    return _figures_from(row, None, start, end)


def figures_by_unit(viewer: Any, area: Area, start: dt.date, end: dt.date,
                    limit: int = 50) -> list[tuple[MemberUnit, Figures]]:
    """Per department/unit, in one grouped query: how each serves the cases dispatched to it in the subtree."""
    area = get_scoped(viewer, Area, area.pk, cap=Cap.CASE_VIEW)
    lo, hi = _period(start, end)
    rows: list[Any] = list(
        Case.objects.filter(area_path__prefix=area.path, created_at__gte=lo, created_at__lt=hi,
                            assignee_unit__isnull=False)
        .exclude(state=S.MERGED)
        .values("assignee_unit_id")
        .annotate(**_measures())
        .order_by("-received")[:limit]  # type: ignore[misc]
    )
    units = MemberUnit.objects.in_bulk([row["assignee_unit_id"] for row in rows])
    out = []
    for row in rows:
        unit = units[row.pop("assignee_unit_id")]
        out.append((unit, _figures_from(row, area, start, end)))
    return out
