"""The registry's reads. Everything here takes the viewer and goes through :mod:`gongzhi.core.scope`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, Substr

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

# 天长: one community worker for about every 350 households (the default of the setting below).
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


# ------------------------------------------------------------------------- coverage (A2) and norms


def grid_households_norm() -> tuple[int, int]:
    """天长: a grid takes 300–500 households (``GONGZHI_GRID_HOUSEHOLDS``)."""
    low, high = getattr(settings, "GONGZHI_GRID_HOUSEHOLDS", (300, 500))
    return int(low), int(high)


def households_per_community_worker() -> int:
    """天长: one community worker for about every 350 households (``GONGZHI_HOUSEHOLDS_PER_COMMUNITY_WORKER``)."""
    return int(getattr(settings, "GONGZHI_HOUSEHOLDS_PER_COMMUNITY_WORKER", HOUSEHOLDS_PER_COMMUNITY_WORKER))


def compound_covered() -> Q:
    """A compound is covered by a party organisation on it, or by the branch of the grid it lies in (一网格多小区).

    One rule, looked up from the compound itself, so a compound's own figure and the figure of every area above it
    agree (the grid's branch sits outside the compound's subtree, and only a grid's own branch counts: a unit's
    organisation on the grid, or the 社区党委 above a compound hung directly on the community, does not)."""
    own = Exists(PartyOrganisation.objects.filter(area_id=OuterRef("pk")))
    grid_branch = Exists(PartyOrganisation.objects.filter(
        unit__isnull=True, area__kind=AreaKind.GRID,
        area__path=Substr(OuterRef("path"), 1, (OuterRef("depth") - 1) * Area.steplen)))
    return own | grid_branch  # type: ignore[return-value]


def unit_covered() -> Q:
    """A unit is covered by a party organisation of its own or by a joint branch (联合党支部) covering it."""
    return Exists(PartyOrganisation.objects.filter(unit=OuterRef("pk"))) | Exists(  # type: ignore[return-value]
        PartyOrganisation.covered_units.through.objects.filter(memberunit_id=OuterRef("pk"))
    )


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
    households_per_worker: int = HOUSEHOLDS_PER_COMMUNITY_WORKER
    communities: int = 0
    communities_understaffed: int = 0
    grid_norm: tuple[int, int] = (300, 500)
    grids: int = 0
    grids_undersized: int = 0
    grids_oversized: int = 0
    grid_workers: int = 0
    volunteers: int = 0
    uncovered_compounds: list[Area] = field(default_factory=list)
    uncovered_units: list[MemberUnit] = field(default_factory=list)
    off_norm_grids: list[Area] = field(default_factory=list)
    understaffed: list[dict[str, Any]] = field(default_factory=list)  # {"area", "households", "workers", "needed"}

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

    @property
    def grids_off_norm(self) -> int:
        return self.grids_undersized + self.grids_oversized

    @property
    def community_workers_short(self) -> int:
        return max(0, self.community_workers_needed - self.community_workers)

    @property
    def grid_flag(self) -> str | None:
        """For a grid itself: "undersized" / "oversized" against the 300–500 rule, None when within it (or unknown)."""
        if self.area.kind != AreaKind.GRID or not self.area.households:
            return None
        low, high = self.grid_norm
        return "undersized" if self.area.households < low else "oversized" if self.area.households > high else None

    @property
    def staffing_applies(self) -> bool:
        """The staffing norm is about communities and the levels above them (community workers serve a community)."""
        return self.area.kind in (AreaKind.CITY, AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY)

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
            "community_workers_short": self.community_workers_short,
            "households_per_worker": self.households_per_worker,
            "communities": self.communities,
            "communities_understaffed": self.communities_understaffed,
            "grid_norm": list(self.grid_norm),
            "grids": self.grids,
            "grids_undersized": self.grids_undersized,
            "grids_oversized": self.grids_oversized,
            "grid_flag": self.grid_flag,
            "grid_workers": self.grid_workers,
            "volunteers": self.volunteers,
            "uncovered_compounds": [{"id": a.pk, "code": a.code, "name": a.name} for a in self.uncovered_compounds],
            "uncovered_units": [{"id": u.pk, "name": u.name, "sector": u.sector} for u in self.uncovered_units],
            "off_norm_grids": [{"id": a.pk, "code": a.code, "name": a.name, "households": a.households}
                               for a in self.off_norm_grids],
            "understaffed": [{"id": r["area"].pk, "code": r["area"].code, "name": r["area"].name,
                              "households": r["households"], "workers": r["workers"], "needed": r["needed"]}
                             for r in self.understaffed],
        }


def _by_bucket(qs: QuerySet[Any], path: str, length: int, *keys: str, **aggregates: Any) -> dict[Any, dict[str, Any]]:
    """Aggregate ``qs`` per subtree: rows grouped by the first ``length`` characters of their ``path`` lookup (the
    subtree of one area), and by ``keys``. One query whatever the number of areas."""
    rows = qs.annotate(_bucket=Substr(path, 1, length)).values("_bucket", *keys).annotate(**aggregates).order_by()
    return {(r["_bucket"], *(r[k] for k in keys)) if keys else r["_bucket"]: r for r in rows}


def _community_staffing(within: str) -> QuerySet[Area]:
    """Communities under ``within`` with their serving community workers counted (``workers``)."""
    workers = (StaffPost.objects.filter(area=OuterRef("pk"), kind=PostKind.COMMUNITY_WORKER, until__isnull=True)
               .order_by().values("area").annotate(n=Count("person", distinct=True)).values("n"))
    return Area.objects.filter(kind=AreaKind.COMMUNITY, path__prefix=within).annotate(
        workers=Coalesce(Subquery(workers, output_field=IntegerField()), 0))


def _coverages(areas: list[Area], within: str, gap_limit: int = 0) -> list[Coverage]:
    """Coverage of each area in ``areas`` (siblings at one depth, all under the path ``within``) in a fixed number of
    queries, whatever their number: every figure is counted per subtree in the database."""
    if not areas:
        return []
    length = len(areas[0].path)
    assert all(len(a.path) == length and a.path.startswith(within) for a in areas)
    low, high = grid_households_norm()
    per_worker = households_per_community_worker()

    compounds = Area.objects.filter(kind=AreaKind.COMPOUND, path__prefix=within)
    n_compounds = _by_bucket(compounds, "path", length, n=Count("pk"))
    n_covered = _by_bucket(compounds.filter(compound_covered()), "path", length, n=Count("pk"))

    units = MemberUnit.objects.filter(area__path__prefix=within, sector__in=[Sector.NON_PUBLIC, Sector.SOCIAL_ORG])
    n_units = _by_bucket(units, "area__path", length, "sector", n=Count("pk"))
    n_units_covered = _by_bucket(units.filter(unit_covered()), "area__path", length, "sector", n=Count("pk"))

    levels = _by_bucket(PartyOrganisation.objects.filter(area__path__prefix=within), "area__path", length, "level",
                        n=Count("pk"))
    members = _by_bucket(
        PartyMember.objects.filter(organisation__area__path__prefix=within), "organisation__area__path", length,
        n_total=Count("pk", distinct=True),
        n_mobile=Count("pk", filter=Q(is_mobile=True), distinct=True),
        n_in_service=Count("pk", filter=Q(in_service=True), distinct=True),
        n_registered=Count("pk", filter=Q(in_service=True, registrations__isnull=False), distinct=True),
    )
    outcomes = _by_bucket(GrassrootsGroup.objects.filter(area__path__prefix=within), "area__path", length, "outcome",
                          n=Count("pk"))
    posts = _by_bucket(StaffPost.objects.filter(area__path__prefix=within, until__isnull=True), "area__path", length,
                       "kind", n=Count("person", distinct=True))
    grids = _by_bucket(Area.objects.filter(kind=AreaKind.GRID, path__prefix=within), "path", length,
                       n=Count("pk"),
                       small=Count("pk", filter=Q(households__gt=0, households__lt=low)),  # 0: not recorded
                       large=Count("pk", filter=Q(households__gt=high)))
    communities = _community_staffing(within)
    short = Q(households__gt=F("workers") * per_worker)  # workers < ⌈households / per_worker⌉
    staffing = _by_bucket(communities, "path", length, n=Count("pk"), short=Count("pk", filter=short))
    above_communities = [a for a in areas if a.kind in (AreaKind.CITY, AreaKind.DISTRICT, AreaKind.STREET)]
    households = _by_bucket(Area.objects.filter(kind=AreaKind.COMMUNITY, path__prefix=within), "path", length,
                            n=Sum("households")) if above_communities else {}

    result = []
    for area in areas:
        b = area.path
        cov = Coverage(area=area, grid_norm=(low, high), households_per_worker=per_worker)
        cov.compounds = n_compounds.get(b, {}).get("n", 0)
        cov.compounds_with_org = n_covered.get(b, {}).get("n", 0)
        cov.non_public_units = n_units.get((b, Sector.NON_PUBLIC), {}).get("n", 0)
        cov.non_public_covered = n_units_covered.get((b, Sector.NON_PUBLIC), {}).get("n", 0)
        cov.social_orgs = n_units.get((b, Sector.SOCIAL_ORG), {}).get("n", 0)
        cov.social_orgs_covered = n_units_covered.get((b, Sector.SOCIAL_ORG), {}).get("n", 0)
        cov.party_orgs_by_level = {k[1]: r["n"] for k, r in levels.items() if k[0] == b}
        cov.party_orgs = sum(cov.party_orgs_by_level.values())
        m = members.get(b, {})
        cov.party_members, cov.mobile_members = m.get("n_total", 0), m.get("n_mobile", 0)
        cov.in_service_members, cov.in_service_registered = m.get("n_in_service", 0), m.get("n_registered", 0)
        cov.grassroots_by_outcome = {k[1]: r["n"] for k, r in outcomes.items() if k[0] == b}
        cov.grassroots_groups = sum(cov.grassroots_by_outcome.values())
        cov.grassroots_pending = cov.grassroots_by_outcome.get(GroupOutcome.PENDING, 0)
        by_kind = {k[1]: r["n"] for k, r in posts.items() if k[0] == b}
        cov.community_workers = by_kind.get(PostKind.COMMUNITY_WORKER, 0)
        cov.grid_workers = by_kind.get(PostKind.GRID_WORKER, 0)
        cov.volunteers = by_kind.get(PostKind.VOLUNTEER, 0)
        cov.households = (households.get(b, {}).get("n") or 0) if area in above_communities else area.households
        cov.community_workers_needed = -(-cov.households // per_worker)
        g = grids.get(b, {})
        cov.grids, cov.grids_undersized, cov.grids_oversized = g.get("n", 0), g.get("small", 0), g.get("large", 0)
        s = staffing.get(b, {})
        cov.communities, cov.communities_understaffed = s.get("n", 0), s.get("short", 0)
        result.append(cov)

    if gap_limit and len(areas) == 1:
        cov = result[0]
        cov.uncovered_compounds = list(compounds.exclude(compound_covered()).order_by("path")[:gap_limit])
        cov.uncovered_units = list(units.exclude(unit_covered()).order_by("sector", "name")[:gap_limit])
        cov.off_norm_grids = list(
            Area.objects.filter(kind=AreaKind.GRID, path__prefix=within)
            .filter(Q(households__gt=0, households__lt=low) | Q(households__gt=high)).order_by("path")[:gap_limit])
        cov.understaffed = [
            {"area": c, "households": c.households, "workers": c.workers, "needed": -(-c.households // per_worker)}
            for c in communities.filter(short).order_by("path")[:gap_limit]
        ]
    return result


def coverage(viewer: Any, area: Area, gap_limit: int = 20) -> Coverage:
    """Coverage of the party's organisation over a subtree (A2 应建尽建), the staffing and grid-size norms, and the
    gaps to close."""
    area = get_scoped(viewer, Area, area.pk)
    return _coverages([area], area.path, gap_limit=gap_limit)[0]


def coverage_of(areas: list[Area], within: str) -> list[Coverage]:
    """:func:`coverage` of sibling areas already fetched through the viewer's scope (the map colours the areas on
    screen by it), in the same fixed number of queries."""
    return _coverages(areas, within)


def coverage_by_child(viewer: Any, area: Area) -> list[Coverage]:
    """Coverage for each child of ``area`` (the bars of the comparison chart): the same figures as
    :func:`coverage` of each child, counted for all children at once."""
    children = list(area_children(viewer, area)[:500])
    return _coverages(children, area.path)


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


# ------------------------------------------------------------------------- public contacts


@dataclass
class CommunityContacts:
    """What a resident may know without signing in: who serves her community (names and posts, no numbers)."""

    community: Area
    secretaries: list[tuple[str, str]]  # (title, name) of the community's party organisation
    community_workers: list[str]
    grids: list[tuple[Area, list[str]]]  # each grid with its grid workers' names


def community_contacts(community: Area) -> CommunityContacts:
    """Four queries whatever the community's size; posts still running only."""
    from .models import OrganisationPost, PostKind, StaffPost

    heads = (OrganisationPost.objects.filter(organisation__area=community, until__isnull=True,
                                             title__in=["书记", "第一书记", "副书记"])
             .select_related("person").order_by("title", "pk")[:10])
    grids = list(Area.objects.filter(path__prefix=community.path, kind=AreaKind.GRID).order_by("path")[:200])
    posts = (StaffPost.objects.filter(area__path__prefix=community.path, until__isnull=True,
                                      kind__in=[PostKind.COMMUNITY_WORKER, PostKind.GRID_WORKER])
             .select_related("person").order_by("pk")[:1000])
    workers: list[str] = []
    by_grid: dict[int, list[str]] = {}
    for post in posts:
        if post.kind == PostKind.COMMUNITY_WORKER and post.area_id == community.pk:
            workers.append(post.person.name)
        elif post.kind == PostKind.GRID_WORKER:
            by_grid.setdefault(post.area_id, []).append(post.person.name)
    return CommunityContacts(community=community, secretaries=[(h.title, h.person.name) for h in heads],
                             community_workers=workers, grids=[(g, by_grid.get(g.pk, [])) for g in grids])
