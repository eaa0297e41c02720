"""How assessment records hang on the tree, for :mod:`gongzhi.core.scope`.

Staff with ``Cap.ASSESS_VIEW`` see the schemes, rounds and results of their subtree, and the schemes and rounds of
the levels above that cover them (a community sees the district's round it takes part in). A rater sees the rounds,
subjects and sheets she was given, whatever her role; a member unit (any role on it) sees its own results and
sanctions — its credit file. Residents' answers are read only as counts; their comments by managers of the area.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q

from gongzhi.accounts.roles import Cap
from gongzhi.core import scope
from gongzhi.registry.models import Area

from . import models as m

STEP = Area.steplen
V = Cap.ASSESS_VIEW


def _above(lookup: str) -> Callable[[scope.Scope], Q | None]:
    """Records on an ancestor of the user's nodes (the city's scheme for a community that is assessed by it)."""

    def extra(s: scope.Scope) -> Q | None:
        ancestors: set[str] = set()
        for prefix in s.area_prefixes(V):
            ancestors.update(prefix[:k] for k in range(STEP, len(prefix), STEP))
        return Q(**{f"{lookup}__in": sorted(ancestors)}) if ancestors else None

    return extra


def _own_units(s: scope.Scope) -> list[int]:
    return sorted({g.unit_id for g in s.grants if g.unit_id})


def _either(*parts: Callable[[scope.Scope], Q | None]) -> Callable[[scope.Scope], Q | None]:
    def extra(s: scope.Scope) -> Q | None:
        q, any_term = Q(), False
        for part in parts:
            more = part(s)
            if more is not None:
                q |= more
                any_term = True
        return q if any_term else None

    return extra


def _rater(lookup: str) -> Callable[[scope.Scope], Q | None]:
    return lambda s: Q(**{lookup: s.user_id}) if s.user_id else None


def _unit(lookup: str) -> Callable[[scope.Scope], Q | None]:
    def extra(s: scope.Scope) -> Q | None:
        units = _own_units(s)
        return Q(**{f"{lookup}__in": units}) if units else None

    return extra


scope.register(m.Scheme, area="area_path", cap=V, extra=_above("area_path"))
scope.register(m.SchemeVersion, area="scheme__area_path", cap=V, extra=_above("scheme__area_path"))
def _rounds_of_rater(s: scope.Scope) -> Q | None:
    """Subqueries rather than joins, so a round with many sheets or subjects appears once."""
    if not s.user_id:
        return None
    return Q(pk__in=m.Assignment.objects.filter(rater_id=s.user_id).values("round_id"))


def _rounds_of_units(s: scope.Scope) -> Q | None:
    units = _own_units(s)
    return Q(pk__in=m.Subject.objects.filter(unit_id__in=units).values("round_id")) if units else None


def _versions_of_rater(s: scope.Scope) -> Q | None:
    if not s.user_id:
        return None
    return Q(scheme_version_id__in=m.Assignment.objects.filter(rater_id=s.user_id).values("round__scheme_version_id"))


scope.register(m.Indicator, area="scheme_version__scheme__area_path", cap=V,
               extra=_either(_above("scheme_version__scheme__area_path"), _versions_of_rater))
scope.register(m.RaterGroup, area="scheme_version__scheme__area_path", cap=V,
               extra=_above("scheme_version__scheme__area_path"))
scope.register(m.Round, area="area_path", cap=V,
               extra=_either(_above("area_path"), _rounds_of_rater, _rounds_of_units))
scope.register(m.Subject, area="area_path", cap=V,
               extra=_either(lambda s: Q(pk__in=m.Assignment.objects.filter(rater_id=s.user_id).values("subject_id"))
                             if s.user_id else None, _unit("unit_id")))
scope.register(m.Assignment, area="area_path", cap=Cap.ASSESS_MANAGE, extra=_rater("rater_id"))
scope.register(m.Score, area="assignment__area_path", cap=Cap.ASSESS_MANAGE, extra=_rater("assignment__rater_id"))
scope.register(m.ComputedValue, area="subject__area_path", cap=V, extra=_unit("subject__unit_id"))
scope.register(m.Review, area="subject__area_path", cap=V, extra=_unit("subject__unit_id"))
scope.register(m.Objection, area="subject__area_path", cap=V, extra=_rater("by_id"))
scope.register(m.SurveyAnswer, area="subject__area_path", cap=Cap.ASSESS_MANAGE)
scope.register(m.Sanction, area="area_path", cap=V, extra=_unit("unit_id"))
