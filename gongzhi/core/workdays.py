"""Working days and working hours on the official Chinese calendar (B5).

``chinesecalendar`` knows the State Council's holidays and 调休 make-up working days for the years it covers; for
other years it raises. An administrator-maintained table (:class:`gongzhi.cases.models.CalendarDay`) overrides or
extends it, and outside both we fall back to Monday–Friday, so a deadline is always computable and never crashes.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

TZ = ZoneInfo("Asia/Shanghai")
# The working window of a day, for limits in working hours.
DAY_START = dt.time(9, 0)
DAY_END = dt.time(18, 0)
HOURS_PER_DAY = 9

_overrides_loader: Callable[[], dict[dt.date, bool]] | None = None
# The administrator's table is read once per OVERRIDES_TTL seconds per process: a day marked in one worker reaches
# the others (and the jobs process) within that time, and at once in the worker that marked it (clear_cache).
OVERRIDES_TTL = 60.0
_cached: dict[dt.date, bool] | None = None
_loaded_at = 0.0


def set_overrides_loader(loader: Callable[[], dict[dt.date, bool]]) -> None:
    global _overrides_loader
    _overrides_loader = loader
    clear_cache()


def _overrides() -> dict[dt.date, bool]:
    global _cached, _loaded_at
    if _cached is None:
        _cached = _overrides_loader() if _overrides_loader else {}
        _loaded_at = time.monotonic()
    return _cached


def _expire() -> None:
    if _cached is not None and time.monotonic() - _loaded_at > OVERRIDES_TTL:
        clear_cache()


def clear_cache() -> None:
    global _cached
    _cached = None
    _is_workday.cache_clear()


def library_covers(day: dt.date) -> bool:
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


def is_workday(day: dt.date) -> bool:
    _expire()
    return _is_workday(day)


@lru_cache(maxsize=4096)
def _is_workday(day: dt.date) -> bool:
    override = _overrides().get(day)
    if override is not None:
        return override
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def next_workday(day: dt.date) -> dt.date:
    day += dt.timedelta(days=1)
    while not is_workday(day):
        day += dt.timedelta(days=1)
    return day


def add_workdays(start: dt.datetime, days: int) -> dt.datetime:
    """The end of the ``days``-th working day after the day of ``start`` (N个工作日内: the start day not counted)."""
    local = start.astimezone(TZ)
    day = local.date()
    for _ in range(max(days, 0)):
        day = next_workday(day)
    if days <= 0 and not is_workday(day):
        day = next_workday(day)
    return dt.datetime.combine(day, DAY_END, tzinfo=TZ)


def workdays_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end`` is not after ``start``): the days a
    stopped clock was stopped, the days an application took."""
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        if is_workday(day):
            count += 1
    return count


def add_work_hours(start: dt.datetime, hours: float) -> dt.datetime:
    """``start`` plus ``hours`` counted only inside working windows (09:00–18:00 on working days)."""
    local = start.astimezone(TZ)
    remaining = dt.timedelta(hours=hours)
    day = local.date()
    cursor = local
    while True:
        if is_workday(day):
            window_start = dt.datetime.combine(day, DAY_START, tzinfo=TZ)
            window_end = dt.datetime.combine(day, DAY_END, tzinfo=TZ)
            begin = max(cursor, window_start)
            if begin < window_end:
                available = window_end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += dt.timedelta(days=1)
        cursor = dt.datetime.combine(day, DAY_START, tzinfo=TZ)


def deadline(start: dt.datetime, amount: int, unit: str) -> dt.datetime:
    return add_work_hours(start, amount) if unit == "hours" else add_workdays(start, amount)
