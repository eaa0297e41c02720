"""PostgreSQL timestamps parsed by ``datetime.fromisoformat`` (gongzhi/core/pgtimes.py) read exactly what Django's
own loader reads, and fall back to it for everything that is not ISO text."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL connection's loader")]

UTC = dt.UTC
TEXTS = ["2026-12-04 05:17:00.123456+00", "2026-12-04 13:17:00+08", "2026-03-08 02:30:00.5-05",
         "2026-06-01 00:00:00.000001+05:30", "1900-01-01 00:00:00+00", "9999-12-31 23:59:59.999999+00",
         "2026-02-28 23:59:59-09:30:15"]


def _read(sql: str, params: list[object]) -> list[object]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _with_djangos_loader(fn):  # type: ignore[no-untyped-def]
    from django.db.backends.postgresql.psycopg_any import register_tzloader

    from gongzhi.core import pgtimes

    register_tzloader(UTC, connection.connection)
    try:
        return fn()
    finally:
        pgtimes.install(None, connection)


def test_the_connection_reads_timestamps_with_the_iso_loader_and_gets_what_djangos_loader_gets() -> None:
    from psycopg.pq import Format

    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(1184, Format.TEXT)
    assert loader.__name__ == "IsoTimestamptzLoader" and loader.timezone is UTC
    sql = "SELECT v::timestamptz FROM unnest(%s::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i"
    fast = _read(sql, [TEXTS])
    django_own = _with_djangos_loader(lambda: _read(sql, [TEXTS]))
    assert fast == django_own
    assert all(isinstance(v, dt.datetime) and v.tzinfo is UTC for v in fast)
    assert fast[0] == dt.datetime(2026, 12, 4, 5, 17, 0, 123456, tzinfo=UTC)
    assert fast[1] == dt.datetime(2026, 12, 4, 5, 17, tzinfo=UTC)
    # Written as aware values in other zones, read back as the same instants.
    written = [dt.datetime(2026, 7, 1, 1, 30, tzinfo=ZoneInfo("America/New_York")),
               dt.datetime(2026, 12, 4, 9, 0, 0, 7, tzinfo=ZoneInfo("Asia/Shanghai"))]
    assert _read("SELECT unnest(%s::timestamptz[])", [written]) == written


def test_what_is_not_iso_text_falls_back_to_djangos_loader() -> None:
    """Another DateStyle, infinity and BC dates: the fast loader raises what Django's loader raises."""

    def outcome(setup: str, text: str) -> str:
        with connection.cursor() as cursor:
            cursor.execute(setup)
            try:
                cursor.execute("SELECT %s::timestamptz", [text])
                return repr(cursor.fetchone()[0])
            except Exception as exc:  # the kind of failure is what is compared
                return type(exc).__name__
            finally:
                cursor.execute("SET DateStyle = 'ISO, MDY'")

    cases = [("SET DateStyle = 'SQL, DMY'", "2026-12-04 05:17:00.25+00"), ("SELECT 1", "infinity"),
             ("SELECT 1", "0044-03-15 12:00:00+00 BC"), ("SELECT 1", "2026-12-04 05:17:00.25+00")]
    fast = [outcome(setup, text) for setup, text in cases]
    assert fast == _with_djangos_loader(lambda: [outcome(setup, text) for setup, text in cases])
    assert fast[:3] == ["NotImplementedError", "DataError", "DataError"] and "2026" in fast[3]


def test_the_orm_reads_a_case_time_to_the_microsecond(cast, pipeline) -> None:  # type: ignore[no-untyped-def]
    from gongzhi.cases.models import Case
    from tests.test_cases_pipeline import submit

    case = submit(cast, title="时间")
    stored = Case.objects.values_list("created_at", flat=True).get(pk=case.pk)
    assert stored == case.created_at and stored.tzinfo is UTC and stored.microsecond == case.created_at.microsecond
