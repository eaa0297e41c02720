"""How applications hang on the tree, for :mod:`gongzhi.core.scope`.

An application is seen in its resident's home community and above (``SERVICE_VIEW``), by the windows
(``SERVICE_ACCEPT``) of the area that accepted it and of the home area, by whoever applied on the resident's behalf
(帮办代办), by the handlers of the deciding department (``SERVICE_DECIDE`` on the unit), and by the resident herself.
A rectification follows its application. The catalogue itself is open to every signed-in user (no rule needed)."""

from __future__ import annotations

from django.db.models import Q

from gongzhi.accounts.roles import Cap
from gongzhi.core import scope

from .models import Application, Rectification


def _extra(s: scope.Scope, via: str = "") -> Q | None:
    q = Q(**{f"{via}agent_id": s.user_id or 0})
    for prefix in s.area_prefixes(Cap.SERVICE_ACCEPT):
        q |= Q(**{f"{via}window_path__prefix": prefix}) | Q(**{f"{via}area_path__prefix": prefix})
    units = s.unit_ids(Cap.SERVICE_DECIDE)
    if units:
        q |= Q(**{f"{via}department_id__in": units})
    return q


scope.register(Application, area="area_path", person="applicant_id", cap=Cap.SERVICE_VIEW, extra=_extra)
scope.register(Rectification, area="area_path", person="application__applicant_id", cap=Cap.SERVICE_VIEW,
               extra=lambda s: _extra(s, "application__"))
