"""The registry's reads. Everything here takes the viewer and goes through :mod:`gongzhi.core.scope`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from gongzhi.accounts.roles import Cap
from gongzhi.core.scope import as_scope, get_scoped, scoped

from .models import (
    MIN_VISITS_PER_QUARTER,
    Area,
    AreaKind,
    GrassrootsGroup,
    GroupOutcome,
    MemberUnit,
    Pairing,
    PairingVisit,
    PartyMember,
    PartyOrganisation,
    PostKind,
    Sector,
    StaffPost,
)

# 天长: one community worker for about every 350 households.
HOUSEHOLDS_PER_COMMUNITY_WORKER = 350


def area_get(viewer: Any, pk: int) -> Area:
    return get_scoped(viewer, Area, pk)


def area_roots(viewer: Any) -> QuerySet[Area]:
    """The top nodes the viewer may browse: their grants' nodes, without those nested in another."""
    return Area.objects.filter(pk__in=as_scope(viewer).root_area_ids(Cap.VIEW)).order_by("path")


def area_children(viewer: Any, parent: Area) -> QuerySet[Area]:
    return scoped(viewer, Area).filter(path__prefix=parent.path, depth=parent.depth + 1).order_by("path")


def area_subtree(viewer: Any, root: Area, kinds: list[str] | None = None) -> QuerySet[Area]:
    qs = scoped(viewer, Area).filter(path__prefix=root.path)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return qs.order_by("path")


def area_subtree_rows(root_path: str) -> list[tuple[int, str, str, str, int]]:
    """(id, path, code, name, depth) for a whole subtree, as plain tuples: the fast path for tree widgets."""
    return list(
        Area.objects.filter(path__prefix=root_path).order_by("path").values_list("pk", "path", "code", "name", "depth")
    )


def area_ancestors(area: Area) -> list[Area]:
    paths = [area.path[: i * Area.steplen] for i in range(1, area.depth)]
    return list(Area.objects.filter(path__in=paths).order_by("depth")) if paths else []


def area_search(viewer: Any, text: str, limit: int = 20) -> list[Area]:
    text = (text or "").strip()
    if not text:
        return []
    qs = scoped(viewer, Area).filter(Q(code__startswith=text) | Q(name__contains=text))
    return list(qs.order_by("depth", "path")[:limit])


# ------------------------------------------------------------------------- coverage (A2)


@dataclass
class Coverage:
    area: Area
    compounds: int = 0
    compounds_with_org: int = 0
    non_public_units: int = 0
    non_public_covered: int = 0
    social_orgs: int = 0
    social_orgs_covered: int = 0
    party_orgs: int = 0
    party_orgs_by_level: dict[str, int] = field(default_factory=dict)
    party_members: int = 0
    mobile_members: int = 0
    in_service_members: int = 0
    in_service_registered: int = 0
    grassroots_groups: int = 0
    grassroots_pending: int = 0
    grassroots_by_outcome: dict[str, int] = field(default_factory=dict)
    households: int = 0
    community_workers: int = 0
    community_workers_needed: int = 0
    grid_workers: int = 0
    volunteers: int = 0
    uncovered_compounds: list[Area] = field(default_factory=list)
    uncovered_units: list[MemberUnit] = field(default_factory=list)

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return round(100.0 * part / whole, 2) if whole else None

    @property
    def compound_rate(self) -> float | None:
        return self._rate(self.compounds_with_org, self.compounds)

    @property
    def non_public_rate(self) -> float | None:
        return self._rate(self.non_public_covered, self.non_public_units)

    @property
    def social_org_rate(self) -> float | None:
        return self._rate(self.social_orgs_covered, self.social_orgs)

    def as_dict(self) -> dict[str, Any]:
        return {
            "area": {"id": self.area.pk, "code": self.area.code, "name": self.area.name},
            "compounds": self.compounds,
            "compounds_with_org": self.compounds_with_org,
            "compound_rate": self.compound_rate,
            "non_public_units": self.non_public_units,
            "non_public_covered": self.non_public_covered,
            "non_public_rate": self.non_public_rate,
            "social_orgs": self.social_orgs,
            "social_orgs_covered": self.social_orgs_covered,
            "social_org_rate": self.social_org_rate,
            "party_orgs": self.party_orgs,
            "party_orgs_by_level": self.party_orgs_by_level,
            "party_members": self.party_members,
            "mobile_members": self.mobile_members,
            "in_service_members": self.in_service_members,
            "in_service_registered": self.in_service_registered,
            "grassroots_groups": self.grassroots_groups,
            "grassroots_pending": self.grassroots_pending,
            "grassroots_by_outcome": self.grassroots_by_outcome,
            "households": self.households,
            "community_workers": self.community_workers,
            "community_workers_needed": self.community_workers_needed,
            "grid_workers": self.grid_workers,
            "volunteers": self.volunteers,
            "uncovered_compounds": [{"id": a.pk, "code": a.code, "name": a.name} for a in self.uncovered_compounds],
            "uncovered_units": [{"id": u.pk, "name": u.name, "sector": u.sector} for u in self.uncovered_units],
        }


def _unit_coverage(units: QuerySet[MemberUnit]) -> tuple[int, int, list[MemberUnit]]:
    """(units, units with a party organisation of their own or covered by a joint branch, the first gaps)."""
    covered = Exists(PartyOrganisation.objects.filter(unit=OuterRef("pk"))) | Exists(
        PartyOrganisation.covered_units.through.objects.filter(memberunit_id=OuterRef("pk"))
    )
    total = units.count()
    n_covered = units.filter(covered).count()
    gaps = list(units.exclude(covered).order_by("name")[:20])
    return total, n_covered, gaps


def coverage(viewer: Any, area: Area, gap_limit: int = 20) -> Coverage:
    """Coverage of the party's organisation over a subtree (A2 应建尽建), and the gaps to close."""
    area = get_scoped(viewer, Area, area.pk)
    prefix = area.path
    cov = Coverage(area=area)

    # A compound is covered by an organisation on it, or by the branch of the grid it lies in (一网格多小区).
    org_area_ids = set(
        PartyOrganisation.objects.filter(area__path__prefix=prefix).values_list("area_id", flat=True).distinct()
    )
    compounds = list(Area.objects.filter(kind=AreaKind.COMPOUND, path__prefix=prefix).order_by("path"))
    parents = {
        a.path: a.pk
        for a in Area.objects.filter(path__in={c.path[: -Area.steplen] for c in compounds}).only("pk", "path")
    }
    uncovered = [c for c in compounds if c.pk not in org_area_ids and parents.get(c.path[: -Area.steplen]) not in
                 org_area_ids]
    cov.compounds = len(compounds)
    cov.compounds_with_org = len(compounds) - len(uncovered)
    cov.uncovered_compounds = uncovered[:gap_limit]

    units = MemberUnit.objects.filter(area__path__prefix=prefix)
    cov.non_public_units, cov.non_public_covered, np_gaps = _unit_coverage(units.filter(sector=Sector.NON_PUBLIC))
    cov.social_orgs, cov.social_orgs_covered, so_gaps = _unit_coverage(units.filter(sector=Sector.SOCIAL_ORG))
    cov.uncovered_units = (np_gaps + so_gaps)[:gap_limit]

    by_level = (
        PartyOrganisation.objects.filter(area__path__prefix=prefix).values("level").annotate(n=Count("pk"))
    )
    cov.party_orgs_by_level = {row["level"]: row["n"] for row in by_level}
    cov.party_orgs = sum(cov.party_orgs_by_level.values())

    members = PartyMember.objects.filter(organisation__area__path__prefix=prefix)
    m = members.aggregate(
        n_total=Count("pk", distinct=True),
        n_mobile=Count("pk", filter=Q(is_mobile=True), distinct=True),
        n_in_service=Count("pk", filter=Q(in_service=True), distinct=True),
        n_registered=Count("pk", filter=Q(in_service=True, registrations__isnull=False), distinct=True),
    )
    cov.party_members, cov.mobile_members = m["n_total"], m["n_mobile"]
    cov.in_service_members, cov.in_service_registered = m["n_in_service"], m["n_registered"]

    groups = GrassrootsGroup.objects.filter(area__path__prefix=prefix).values("outcome").annotate(n=Count("pk"))
    cov.grassroots_by_outcome = {row["outcome"]: row["n"] for row in groups}
    cov.grassroots_groups = sum(cov.grassroots_by_outcome.values())
    cov.grassroots_pending = cov.grassroots_by_outcome.get(GroupOutcome.PENDING, 0)

    cov.households = sum(
        Area.objects.filter(kind=AreaKind.COMMUNITY, path__prefix=prefix).values_list("households", flat=True)
    ) if area.kind not in (AreaKind.GRID, AreaKind.COMPOUND, AreaKind.BUILDING) else area.households
    posts = StaffPost.objects.filter(area__path__prefix=prefix, until__isnull=True).values("kind").annotate(
        n=Count("person", distinct=True)
    )
    by_kind = {row["kind"]: row["n"] for row in posts}
    cov.community_workers = by_kind.get(PostKind.COMMUNITY_WORKER, 0)
    cov.grid_workers = by_kind.get(PostKind.GRID_WORKER, 0)
    cov.volunteers = by_kind.get(PostKind.VOLUNTEER, 0)
    cov.community_workers_needed = -(-cov.households // HOUSEHOLDS_PER_COMMUNITY_WORKER)
    return cov


def coverage_by_child(viewer: Any, area: Area) -> list[Coverage]:
    """Coverage for each child of ``area``: the bars of the comparison chart."""
    return [coverage(viewer, child) for child in area_children(viewer, area)]


# ------------------------------------------------------------------------- pairings (A6)


def quarter_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = dt.date(day.year, first_month, 1)
    end = dt.date(day.year + (first_month == 10), (first_month + 2) % 12 + 1, 1) - dt.timedelta(days=1)
    return start, end


@dataclass
class PairingFigures:
    area: Area
    quarter_start: dt.date
    quarter_end: dt.date
    by_kind: dict[str, int]
    per_community: list[dict[str, Any]]
    visits_due: list[dict[str, Any]]  # pairings under a visit rule and their visits this quarter

    def as_dict(self) -> dict[str, Any]:
        return {
            "area": {"id": self.area.pk, "code": self.area.code, "name": self.area.name},
            "quarter": [self.quarter_start, self.quarter_end],
            "by_kind": self.by_kind,
            "per_community": self.per_community,
            "visits": self.visits_due,
        }


def pairing_figures(viewer: Any, area: Area, day: dt.date) -> PairingFigures:
    """Pairings per community in a subtree, and visits this quarter against the rule (东港: ≥1 per quarter)."""
    area = get_scoped(viewer, Area, area.pk)
    q_start, q_end = quarter_bounds(day)
    active = scoped(viewer, Pairing).filter(area__path__prefix=area.path, started_on__lte=q_end).filter(
        Q(ended_on__isnull=True) | Q(ended_on__gte=q_start)
    )
    by_kind = {row["kind"]: row["n"] for row in active.values("kind").annotate(n=Count("pk"))}

    communities = list(Area.objects.filter(kind=AreaKind.COMMUNITY, path__prefix=area.path).order_by("path"))
    counts: dict[str, dict[str, int]] = {}
    for path, kind in active.values_list("area__path", "kind"):
        community_path = path[: 4 * Area.steplen]
        counts.setdefault(community_path, {}).setdefault(kind, 0)
        counts[community_path][kind] += 1
    per_community = [
        {"id": c.pk, "code": c.code, "name": c.name, "by_kind": counts.get(c.path, {}),
         "total": sum(counts.get(c.path, {}).values())}
        for c in communities
    ]

    ruled = active.filter(kind__in=list(MIN_VISITS_PER_QUARTER)).select_related("person", "area", "unit")
    visits = dict(
        PairingVisit.objects.filter(pairing__in=ruled, visited_on__range=(q_start, q_end))
        .values("pairing").annotate(n=Count("pk")).values_list("pairing", "n")
    )
    visits_due = []
    for p in ruled.order_by("area__path"):
        need = MIN_VISITS_PER_QUARTER[p.kind]
        visits_due.append({
            "pairing": p.pk, "kind": p.kind, "who": str(p.person or p.unit or p.organisation),
            "area": p.area.name, "visits": visits.get(p.pk, 0), "required": need,
            "met": visits.get(p.pk, 0) >= need,
        })
    return PairingFigures(area, q_start, q_end, by_kind, per_community, visits_due)
