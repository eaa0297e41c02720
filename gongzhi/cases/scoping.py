"""How cases hang on the tree, for :mod:`gongzhi.core.scope`: staff see the cases located in or owned by their
subtree and the cases assigned to their unit; residents see the cases they reported, follow or claimed."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from gongzhi.accounts.roles import Cap
from gongzhi.core import scope

from .models import Case, CaseFollower


def _claimed_or_followed(s: scope.Scope) -> Q | None:
    """People also reach the cases they claimed (领单) and those they follow after a merge (并单).

    No clause for the owning level is needed: a case's owner is always an ancestor of (or the same node as) where
    it happened, so whoever may see the owner's subtree already sees the case by its ``area_path``."""
    if s.person_id is None:
        return None
    return Q(claimed_by_id=s.person_id) | Q(
        Exists(CaseFollower.objects.filter(case=OuterRef("pk"), person_id=s.person_id))
    )


scope.register(Case, area="area_path", unit="assignee_unit_id", person="reporter_id", cap=Cap.CASE_VIEW,
               extra=_claimed_or_followed)
