"""How credit points' records hang on the tree, for :mod:`gongzhi.core.scope`.

Rules and store items are public in the area they serve: besides the subtree of one's grants, they are seen from
below (a district's rule applies in each of its communities, so a resident or a community worker there sees it).
Claims, accounts, ledger entries and redemptions name residents: they need the people-list capability, and a
resident always sees her own."""

from __future__ import annotations

from django.db.models import Q

from gongzhi.accounts.roles import Cap
from gongzhi.core import scope
from gongzhi.registry.models import Area, Person

from .models import PointAccount, PointClaim, PointEntry, PointRule, Redemption, StoreItem


def ancestor_paths(path: str) -> list[str]:
    """The path of every node from the root down to ``path`` itself."""
    return [path[:i] for i in range(Area.steplen, len(path) + 1, Area.steplen)]


def _from_below(s: scope.Scope) -> Q | None:
    paths: set[str] = set()
    for prefix in s.area_prefixes(Cap.VIEW):
        paths.update(ancestor_paths(prefix))
    if s.person_id is not None:
        home = Person.objects.filter(pk=s.person_id).values_list("area__path", flat=True).first()
        if home:
            paths.update(ancestor_paths(home))
    return Q(area_path__in=sorted(paths)) if paths else None


scope.register(PointRule, area="area_path", cap=Cap.VIEW, extra=_from_below)
scope.register(StoreItem, area="area_path", cap=Cap.VIEW, extra=_from_below)
scope.register(PointClaim, area="area_path", person="person", cap=Cap.VIEW_PEOPLE)
scope.register(PointAccount, area="area_path", person="person", cap=Cap.VIEW_PEOPLE)
scope.register(PointEntry, area="area_path", person="person", cap=Cap.VIEW_PEOPLE)
scope.register(Redemption, area="area_path", person="person", cap=Cap.VIEW_PEOPLE)
