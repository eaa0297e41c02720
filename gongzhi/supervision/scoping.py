"""How supervision's records hang on the tree, for :mod:`gongzhi.core.scope`.

Monthly reports are seen in the organisation's area and above (``ASSESS_VIEW``). A cross-check, its findings and
rectifications are seen by both sides: the inspected (responsible) area's subtree and the inspecting area's subtree,
and by the members of its team wherever their own grants are; a finding whose responsible side is a member unit is
seen by the unit's handlers too (they file its rectification), and so is the check it belongs to."""

from __future__ import annotations

from django.db.models import Q

from gongzhi.accounts.roles import Cap
from gongzhi.core import scope

from .models import CrossCheck, Finding, MonthlyReport, Rectification


def _team_checks(s: scope.Scope) -> object:
    return CrossCheck.team.through.objects.filter(user_id=s.user_id or 0).values("crosscheck_id")


def _check_extra(s: scope.Scope) -> Q | None:
    q = Q(pk__in=_team_checks(s))
    for prefix in s.area_prefixes(Cap.ASSESS_VIEW):
        q |= Q(inspecting_path__prefix=prefix)
    units = s.unit_ids(Cap.SUPERVISION_RECTIFY)
    if units:  # a unit named on one of its findings opens the check to rectify there (it sees only its findings)
        q |= Q(pk__in=Finding.objects.filter(unit_id__in=units).values("cross_check_id"))
    return q


def _finding_extra(s: scope.Scope, via: str = "") -> Q | None:
    q = Q(**{f"{via}cross_check_id__in": _team_checks(s)})
    for prefix in s.area_prefixes(Cap.ASSESS_VIEW):
        q |= Q(**{f"{via}inspecting_path__prefix": prefix})
    units = s.unit_ids(Cap.SUPERVISION_RECTIFY)
    if units:
        q |= Q(**{f"{via}unit_id__in": units})
    return q


scope.register(MonthlyReport, area="area_path", cap=Cap.ASSESS_VIEW)
scope.register(CrossCheck, area="area_path", cap=Cap.ASSESS_VIEW, extra=_check_extra)
scope.register(Finding, area="area_path", cap=Cap.ASSESS_VIEW, extra=_finding_extra)
scope.register(Rectification, area="area_path", cap=Cap.ASSESS_VIEW,
               extra=lambda s: _finding_extra(s, "finding__"))
