"""Who sees what of dispatch intelligence: a case's suggestion goes with the case (its area, its unit); the
platform-wide rows (model versions, settings, switches) are read by those who configure the case pipeline."""

from __future__ import annotations

from django.db.models import Q

from gongzhi.accounts.roles import Cap
from gongzhi.core import scope

from . import models as m

scope.register(m.Suggestion, area="case__area_path", unit="case__assignee_unit_id", cap=Cap.CASE_VIEW)
for _model in (m.ClassifierVersion, m.AutoDispatch, m.DispatchSettings):
    scope.register(_model, cap=Cap.CASE_DISPATCH,
                   extra=lambda s: Q() if s.has(Cap.CASE_DISPATCH) or s.has(Cap.CASE_CONFIGURE) else None)
