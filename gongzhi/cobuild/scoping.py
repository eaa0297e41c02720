"""How co-building records hang on the tree, for :mod:`gongzhi.core.scope`.

Staff see the co-building of their subtree (``Cap.COBUILD_VIEW``). A member unit's handler (a grant on the unit)
sees what is the unit's own — its resources, matches, claims, deliveries, bookings of its service organisations,
its admission requests — and the needs and claiming pool of the district the unit sits in, since those are what it
may offer to. People see their own resources, claims, bookings and hours. Work admitted at a street or district
(准入清单, admitted requests) is visible to the communities below it, because it is theirs to carry out.
Residents read public projects and offerings through their own selectors (:mod:`.selectors`), never these rules.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q

from gongzhi.accounts.roles import Cap
from gongzhi.core import scope
from gongzhi.registry.models import Area, MemberUnit

from . import models as m

STEP = Area.steplen
DISTRICT_PATH = 2 * STEP  # 市 → 区: the first two steps of a path


def _unit_districts(s: scope.Scope) -> list[str]:
    units = s.unit_ids(Cap.COBUILD_OFFER)
    if not units:
        return []
    paths = MemberUnit.objects.filter(pk__in=units).values_list("area__path", flat=True)
    return sorted({p[:DISTRICT_PATH] for p in paths})


def _in_unit_district(lookup: str) -> Callable[[scope.Scope], Q | None]:
    def extra(s: scope.Scope) -> Q | None:
        districts = _unit_districts(s)
        if not districts:
            return None
        q = Q()
        for d in districts:
            q |= Q(**{f"{lookup}__startswith": d})
        return q

    return extra


def _above(lookup: str) -> Callable[[scope.Scope], Q | None]:
    """Records on an ancestor of the user's nodes (a street's 准入清单 for its communities)."""

    def extra(s: scope.Scope) -> Q | None:
        ancestors: set[str] = set()
        for prefix in s.area_prefixes(Cap.COBUILD_VIEW):
            ancestors.update(prefix[:k] for k in range(STEP, len(prefix), STEP))
        return Q(**{f"{lookup}__in": sorted(ancestors)}) if ancestors else None

    return extra


def _reach_covers(s: scope.Scope) -> Q | None:
    """Resources offered to the user's area: a reach at or above one of her nodes (a district hospital serving her
    community) or inside it (a unit serving one of her grids) — the library she may draw on, whoever owns it."""
    prefixes = s.area_prefixes(Cap.COBUILD_VIEW)
    if not prefixes:
        return None
    above: set[str] = set()
    inside = Q()
    for p in prefixes:
        above.update(p[:k] for k in range(STEP, len(p) + 1, STEP))
        inside |= Q(area_path__startswith=p)
    return Q(pk__in=m.ResourceReach.objects.filter(Q(area_path__in=sorted(above)) | inside).values("resource_id"))


V = Cap.COBUILD_VIEW
scope.register(m.Need, area="area_path", cap=V, extra=_in_unit_district("area_path"))
scope.register(m.Resource, area="area_path", unit="unit_id", person="person_id", cap=V, extra=_reach_covers)
scope.register(m.ResourceReach, area="resource__area_path", unit="resource__unit_id", cap=V)
scope.register(m.Match, area="area_path", unit="resource__unit_id", person="resource__person_id", cap=V)
scope.register(m.ListType, cap=V, extra=lambda s: Q() if s.has(V) else None)
scope.register(m.Project, area="area_path", unit="lead_unit_id", person="person_in_charge_id", cap=V,
               extra=_in_unit_district("area_path"))
scope.register(m.Milestone, area="project__area_path", unit="project__lead_unit_id", cap=V)
scope.register(m.ProgressReport, area="project__area_path", unit="project__lead_unit_id", cap=V)
scope.register(m.ProjectRating, area="project__area_path", person="person_id", cap=V)
scope.register(m.Claim, area="area_path", unit="unit_id", person="person_id", cap=V)
scope.register(m.VolunteerTeam, area="area_path", unit="unit_id", cap=V)
scope.register(m.Delivery, area="area_path", unit="unit_id", cap=V)
scope.register(m.Participation, area="area_path", person="person_id", cap=V)
scope.register(m.CobuildPhoto, area="area_path", cap=V)
scope.register(m.ServiceOrg, area="area_path", unit="unit_id", cap=V)
scope.register(m.Offering, area="area_path", unit="org__unit_id", cap=V)
scope.register(m.Slot, area="area_path", unit="offering__org__unit_id", cap=V)
scope.register(m.Booking, area="area_path", unit="slot__offering__org__unit_id", person="person_id", cap=V)
scope.register(m.AdmittedItem, area="area_path", unit="department_id", cap=V, extra=_above("area_path"))
scope.register(m.AdmissionRequest, area="area_path", unit="department_id", cap=V, extra=_above("area_path"))
scope.register(m.UnadmittedFlag, area="area_path", unit="department_id", cap=V)
scope.register(m.AllocationRule, area="area_path", cap=V)
scope.register(m.Budget, area="area_path", cap=V)
scope.register(m.Spending, area="area_path", cap=V)
