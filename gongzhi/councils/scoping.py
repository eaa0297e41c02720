"""How councils hang on the tree, for :mod:`gongzhi.core.scope`. A council's convener reaches her own council (and
its meetings and items) wherever it sits, since she runs it."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q

from gongzhi.core import scope

from . import models as m


def _convened(lookup: str) -> Callable[[scope.Scope], Q | None]:
    def extra(s: scope.Scope) -> Q | None:
        return Q(**{lookup: s.person_id}) if s.person_id is not None else None

    return extra


scope.register(m.Council, area="area__path", extra=_convened("convener_id"))
scope.register(m.CouncilMember, area="council__area__path", extra=_convened("council__convener_id"))
scope.register(m.Meeting, area="council__area__path", extra=_convened("council__convener_id"))
scope.register(m.AgendaItem, area="council__area__path", extra=_convened("council__convener_id"))
