from __future__ import annotations

import datetime as dt

from django.db import DatabaseError


def load_overrides() -> dict[dt.date, bool]:
    from .models import CalendarDay

    try:
        return dict(CalendarDay.objects.values_list("day", "is_workday"))
    except DatabaseError:  # before the first migration
        return {}
