"""How patrol records hang on the tree, for :mod:`gongzhi.core.scope`. Plans are part of an area's structure
(whoever sees the area sees its plans); rounds, their checks and household visits name residents, so they need the
people-list capability."""

from __future__ import annotations

from gongzhi.accounts.roles import Cap
from gongzhi.core import scope

from .models import HouseholdVisit, PatrolCheck, PatrolPlan, PatrolRound

scope.register(PatrolPlan, area="area_path", cap=Cap.VIEW)
scope.register(PatrolRound, area="area_path", cap=Cap.VIEW_PEOPLE)
scope.register(PatrolCheck, area="area_path", cap=Cap.VIEW_PEOPLE)
scope.register(HouseholdVisit, area="area_path", cap=Cap.VIEW_PEOPLE)
