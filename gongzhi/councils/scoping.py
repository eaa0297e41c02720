"""How councils hang on the tree, for :mod:`gongzhi.core.scope`.

Council pages, minutes and ledgers name members and their attendance: inside the tree they are for staff in scope
(``Cap.VIEW_PEOPLE``, which residents do not hold), not for every resident of the area. A council's convener reaches
her own council (and its meetings and items) wherever it sits, since she runs it; a current member (a person on
the council) reaches hers. Residents otherwise read the public results page (``councils:public``)."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q

from gongzhi.accounts.roles import Cap
from gongzhi.core import scope

from . import models as m


def _own(council: str) -> Callable[[scope.Scope], Q | None]:
    """Councils the user convenes or sits on, through the lookup ``council`` to the council ("" for the council)."""
    prefix = f"{council}__" if council else ""

    def extra(s: scope.Scope) -> Q | None:
        if s.person_id is None:
            return None
        seats = m.CouncilMember.objects.filter(person_id=s.person_id, left_on__isnull=True).values("council_id")
        return Q(**{f"{prefix}convener_id": s.person_id}) | Q(**{f"{prefix}pk__in": seats})

    return extra


scope.register(m.Council, area="area__path", cap=Cap.VIEW_PEOPLE, extra=_own(""))
scope.register(m.CouncilMember, area="council__area__path", cap=Cap.VIEW_PEOPLE, extra=_own("council"))
scope.register(m.Meeting, area="council__area__path", cap=Cap.VIEW_PEOPLE, extra=_own("council"))
scope.register(m.AgendaItem, area="council__area__path", cap=Cap.VIEW_PEOPLE, extra=_own("council"))
