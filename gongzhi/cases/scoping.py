"""How cases hang on the tree, for :mod:`gongzhi.core.scope`: staff see the cases located in or owned by their
subtree and the cases assigned to their unit; residents see the cases they reported, follow or claimed; the members
of a mediation team see the disputes assigned to their team."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from gongzhi.accounts.roles import Cap
from gongzhi.core import scope
from gongzhi.registry.models import Area

from .models import Case, CaseFollower, MediationTeam, MediationTeamMember


def _claimed_or_followed(s: scope.Scope) -> Q | None:
    """People also reach the cases they claimed (领单), those they follow after a merge (并单), and the disputes
    of the mediation teams they serve on.

    No clause for the owning level is needed: a case's owner is always an ancestor of (or the same node as) where
    it happened, so whoever may see the owner's subtree already sees the case by its ``area_path``."""
    if s.person_id is None:
        return None
    return Q(claimed_by_id=s.person_id) | Q(
        Exists(CaseFollower.objects.filter(case=OuterRef("pk"), person_id=s.person_id))
    ) | Q(Exists(MediationTeamMember.objects.filter(team__mediations__case=OuterRef("pk"), person_id=s.person_id,
                                                    left_on__isnull=True)))


scope.register(Case, area="area_path", unit="assignee_unit_id", person="reporter_id", cap=Cap.CASE_VIEW,
               extra=_claimed_or_followed)


def _team_reach(s: scope.Scope) -> Q | None:
    """Staff also see the teams serving the levels above them (a street's 物业纠纷调解中心分中心 takes a community's
    disputes), and members see their own team wherever it sits."""
    step = Area.steplen
    above = {p[: i * step] for p in s.area_prefixes(Cap.CASE_VIEW) for i in range(1, len(p) // step)}
    q = Q(area__path__in=sorted(above)) if above else None
    if s.person_id is not None:
        mine = Q(Exists(MediationTeamMember.objects.filter(team=OuterRef("pk"), person_id=s.person_id,
                                                           left_on__isnull=True)))
        q = mine if q is None else q | mine
    return q


scope.register(MediationTeam, area="area__path", cap=Cap.CASE_VIEW, extra=_team_reach)
scope.register(MediationTeamMember, area="team__area__path", cap=Cap.CASE_VIEW)
