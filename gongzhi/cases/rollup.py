"""Keeping :class:`~gongzhi.cases.models.CaseStat` equal to what a full scan of the cases would count.

Every action that changes a case calls :func:`track` around its change; bulk loads call :func:`rebuild`. The test
suite checks the two agree after every kind of transition."""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Q
from django.db.models.functions import Substr, TruncDate

from gongzhi.core import workdays

from .models import STREET_PATH_LEN, Case, CaseStat, Rating
from .workflow import OPEN_STATES, State

MEASURES = [f.name for f in CaseStat._meta.get_fields() if f.name not in ("id", "day", "street_path", "shard")]


def contribution(case: Case) -> dict[str, int]:
    """What one case adds to its day's row, given its current state (a merged case counts nowhere)."""
    if case.state == State.MERGED:
        return {}
    closed = case.state == State.CLOSED
    is_open = case.state in OPEN_STATES
    c = {
        "received": 1,
        "accepted": int(case.accepted_at is not None),
        "accepted_in_time": int(case.accepted_at is not None and case.response_due_at is not None
                                and case.accepted_at <= case.response_due_at),
        "closed": int(closed),
        "closed_on_time": int(closed and bool(case.closed_on_time)),
        "resolved": int(closed and bool(case.resolved)),
        "rated": int(bool(case.rating)),
        "satisfied": int(case.rating == Rating.SATISFIED),
        "basic": int(case.rating == Rating.BASIC),
        "reopened": int(closed and case.reopen_count > 0),
        "open_cases": int(is_open),
        "overdue_open": int(is_open and case.overdue_at is not None),
    }
    if closed and case.closed_level:
        c[f"closed_{case.closed_level}"] = 1
    return {k: v for k, v in c.items() if v}


def key(case: Case) -> tuple[dt.date, str]:
    return case.created_at.astimezone(workdays.TZ).date(), case.area_path[:STREET_PATH_LEN]


# Rows per (day, street). Each database connection writes to one shard of its own, so concurrent writers from one
# street take different row locks (measured in bench/intake.py: one row serialised a burst from one street).
SHARDS = settings.GONGZHI_ROLLUP_SHARDS
_next_shard = itertools.count(os.getpid())


def _shard() -> int:
    """This connection's shard: fixed for the connection's life (its wrapper is per thread), spread over threads
    and processes."""
    shard = getattr(connection, "gongzhi_rollup_shard", None)
    if shard is None:
        shard = next(_next_shard) % SHARDS
        connection.gongzhi_rollup_shard = shard  # type: ignore[attr-defined]
    return shard


def _upsert_sql(table: str, measures: list[str], changed: list[str]) -> str:
    """The one per-engine statement of the rollup: PostgreSQL and SQLite say ON CONFLICT, the MySQL family says
    ON DUPLICATE KEY (MariaDB, TiDB and OceanBase alike)."""
    columns = ", ".join(measures)
    placeholders = ", ".join(["%s"] * len(measures))
    head = f"INSERT INTO {table} (day, street_path, shard, {columns}) VALUES (%s, %s, %s, {placeholders}) "
    if connection.vendor == "mysql":
        return head + "ON DUPLICATE KEY UPDATE " + ", ".join(f"{m} = {m} + VALUES({m})" for m in changed)
    return head + "ON CONFLICT (day, street_path, shard) DO UPDATE SET " + ", ".join(
        f"{m} = {table}.{m} + excluded.{m}" for m in changed)


def apply(day: dt.date, street_path: str, delta: dict[str, int]) -> None:
    """Add ``delta`` to this connection's row of (day, street): one upsert, atomic under concurrency."""
    delta = {k: v for k, v in delta.items() if v}
    if not delta:
        return
    sql = _upsert_sql(CaseStat._meta.db_table, MEASURES, list(delta))
    with connection.cursor() as cursor:
        cursor.execute(sql, [day, street_path, _shard(), *(delta.get(m, 0) for m in MEASURES)])


def add(case: Case) -> None:
    apply(*key(case), contribution(case))


@contextmanager
def track(case: Case) -> Iterator[None]:
    """Count the difference the change inside the block makes to ``case`` (reloaded by the block)."""
    before = contribution(case)
    yield
    after = contribution(case)
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)}
    apply(*key(case), delta)


def measure_expressions() -> dict[str, Any]:
    """The same measures as :func:`contribution`, as SQL aggregates over a queryset of cases."""
    closed = Q(state=State.CLOSED)
    is_open = Q(state__in=list(OPEN_STATES))
    expressions: dict[str, Any] = {
        "received": Count("pk"),
        "accepted": Count("pk", filter=Q(accepted_at__isnull=False)),
        "accepted_in_time": Count("pk", filter=Q(accepted_at__lte=F("response_due_at"))),
        "closed": Count("pk", filter=closed),
        "closed_on_time": Count("pk", filter=closed & Q(closed_on_time=True)),
        "resolved": Count("pk", filter=closed & Q(resolved=True)),
        "rated": Count("pk", filter=~Q(rating="")),
        "satisfied": Count("pk", filter=Q(rating=Rating.SATISFIED)),
        "basic": Count("pk", filter=Q(rating=Rating.BASIC)),
        "reopened": Count("pk", filter=closed & Q(reopen_count__gt=0)),
        "open_cases": Count("pk", filter=is_open),
        "overdue_open": Count("pk", filter=is_open & Q(overdue_at__isnull=False)),
    }
    for level in LEVELS:
        expressions[f"closed_{level}"] = Count("pk", filter=closed & Q(closed_level=level))
    return expressions


LEVELS = ("grid", "community", "street", "district", "city")


def rebuild() -> int:
    """Recount every row from the cases in one grouped query (after bulk loads, or to repair)."""
    rows: Any = (
        Case.objects.exclude(state=State.MERGED)
        .annotate(day=TruncDate("created_at", tzinfo=workdays.TZ), street=Substr("area_path", 1, STREET_PATH_LEN))
        .values("day", "street")
        .annotate(**measure_expressions())
        .order_by()
    )
    stats = [CaseStat(day=row.pop("day"), street_path=row.pop("street"), **row) for row in rows]
    CaseStat.objects.all().delete()
    CaseStat.objects.bulk_create(stats, batch_size=5000)
    return len(stats)


def totals(street_prefix: str, start: dt.date, end: dt.date) -> dict[str, Any]:
    from django.db.models import Sum

    row = CaseStat.objects.filter(street_path__prefix=street_prefix, day__gte=start, day__lte=end).aggregate(
        **{m: Sum(m) for m in MEASURES}
    )
    return {k: v or 0 for k, v in row.items()}
