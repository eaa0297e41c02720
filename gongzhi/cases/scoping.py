"""How cases hang on the tree, for :mod:`gongzhi.core.scope`: staff see the cases located in or owned by their
subtree and the cases assigned to their unit; residents see the cases they reported, follow or claimed."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from gongzhi.accounts.roles import Cap
from gongzhi.core import scope

from .models import Case, CaseFollower


def _owned_or_followed(s: scope.Scope) -> Q | None:
    q = Q()
    terms = False
    for prefix in s.area_prefixes(Cap.CASE_VIEW):
        # Escalated cases are owned by the upper level; they stay visible to it wherever they happened.
        q |= Q(owner_path__prefix=prefix)
        terms = True
    if s.person_id is not None:
        q |= Q(claimed_by_id=s.person_id) | Q(
            Exists(CaseFollower.objects.filter(case=OuterRef("pk"), person_id=s.person_id))
        )
        terms = True
    return q if terms else None


scope.register(Case, area="area_path", unit="assignee_unit_id", person="reporter_id", cap=Cap.CASE_VIEW,
               extra=_owned_or_followed)
