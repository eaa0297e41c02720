"""Template tags of the case pipeline's configuration: the dashboard's warning when the holidays of the coming
year are not known (neither the official calendar nor the administrator's table has them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone

from gongzhi.accounts.roles import Cap
from gongzhi.core.scope import scope_of

from .. import services

register = template.Library()


def _today() -> dt.date:
    return timezone.localdate()


@register.inclusion_tag("cases/config/calendar_warning.html", takes_context=True)
def calendar_warning(context: template.Context) -> dict[str, Any]:
    """``{% calendar_warning %}``: for those who configure or dispatch cases, a warning per year (this one and the
    next) whose holidays are unknown, linking to the calendar page. At most two small queries, none when covered
    by the official calendar."""
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    scope = scope_of(user)
    can_edit = scope.has(Cap.CASE_CONFIGURE)
    if not (can_edit or scope.has(Cap.CASE_DISPATCH)):
        return {"years": []}
    this_year = _today().year
    years = [y for y in (this_year, this_year + 1) if not services.calendar_year_covered(y)]
    return {"years": years, "can_edit": can_edit}
