"""Case pipeline benchmark on PostgreSQL (issue 3): 1 million cases in the city-scale demo city, then
- intake through the API under concurrent load on loopback (wrk, 8 connections, production server config),
- workbench queue latency for a community, a street and the whole city (p50/p95),
- the G1 figures for a district and for the city.

Usage: GONGZHI_DATABASE_URL=postgres://postgres@127.0.0.1/gongzhi_bench .venv/bin/python bench/cases.py
       [--cases 1000000 (up to 10000000)] [--duration 20] [--keep]   (needs wrk: apt-get install wrk)
The city figures are also computed as a DuckDB scan of the same rows (duckdb from the test extras) and the ratio
printed; disk used and the time of each preparation step are printed.
The database named by the URL is dropped and recreated (with --keep, an existing one with cases is reused).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import load  # noqa: E402

GENERATE_SQL = """
WITH grids AS (
    SELECT (row_number() OVER (ORDER BY g.path)) - 1 AS i, g.id, g.path, c.id AS community_id
    FROM registry_area g JOIN registry_area c ON c.path = substr(g.path, 1, 16)
    WHERE g.kind = 'grid'
), cats AS (
    SELECT (row_number() OVER (ORDER BY code)) - 1 AS j, id FROM cases_category WHERE depth = 3 AND code LIKE '03%%'
), sizes AS (SELECT (SELECT count(*) FROM grids) AS ng, (SELECT count(*) FROM cats) AS nc),
rows AS (
    SELECT s, random() AS r, random() AS r2, now() - random() * interval '365 days' AS created
    FROM generate_series(1, %(n)s) s
)
INSERT INTO cases_case (kind, title, description, channel, contact_name, contact_phone, address, area_path, level,
    owner_path, claimable, state, priority, is_public, created_at, accepted_at, response_due_at, dispatched_at,
    due_at, handled_at, verified_at, closed_at, overdue_at, closed_level, closed_on_time, resolved, feedback, rating,
    reopen_count, escalation_count, duplicate_count, follower_count, urge_count, version, area_id, owner_area_id,
    category_id)
SELECT 'general', '性能测试诉求 ' || rows.s, '用于性能测试的诉求内容，编号 ' || rows.s, 'app', '', '', '',
    grids.path, 'community', substr(grids.path, 1, 16), false,
    CASE WHEN r < 0.93 THEN 'closed' WHEN r < 0.95 THEN 'in_progress' WHEN r < 0.97 THEN 'dispatched'
         WHEN r < 0.985 THEN 'accepted' ELSE 'submitted' END,
    3, true, created,
    CASE WHEN r < 0.985 THEN created + interval '1 hour' END,
    created + interval '4 hours',
    CASE WHEN r < 0.97 THEN created + interval '2 hours' END,
    CASE WHEN r < 0.97 THEN created + interval '5 days' END,
    CASE WHEN r < 0.93 THEN created + (r2 * 6) * interval '1 day' END,
    CASE WHEN r < 0.93 THEN created + (r2 * 6 + 0.5) * interval '1 day' END,
    CASE WHEN r < 0.93 THEN created + (r2 * 6 + 1) * interval '1 day' END,
    CASE WHEN r >= 0.93 AND r < 0.97 AND created + interval '5 days' < now() THEN created + interval '5 days' END,
    CASE WHEN r < 0.93 THEN (CASE WHEN r2 < 0.9 THEN 'community' ELSE 'street' END) ELSE '' END,
    CASE WHEN r < 0.93 THEN r2 < 0.83 END,
    CASE WHEN r < 0.93 THEN r2 < 0.97 END,
    '', CASE WHEN r < 0.93 THEN (CASE WHEN r2 < 0.95 THEN 'satisfied' ELSE 'basic' END) ELSE '' END,
    CASE WHEN r < 0.93 AND r2 > 0.98 THEN 1 ELSE 0 END, 0, 0, 0, 0, 1,
    grids.id, grids.community_id, cats.id
FROM rows
JOIN sizes ON true
JOIN grids ON grids.i = rows.s %% sizes.ng
JOIN cats ON cats.j = rows.s %% sizes.nc
"""


def _manage(env: dict[str, str], *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "gongzhi.cli", "manage", *args], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True)
    return out.stdout


def prepare(url: str, data_dir: str, n: int, keep: bool) -> None:
    import psycopg

    parsed = urllib.parse.urlparse(url)
    db = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone()
        if exists and keep:
            with psycopg.connect(url) as c2:
                have = c2.execute("SELECT count(*) FROM cases_case").fetchone()[0]  # type: ignore[index]
            if have >= n:
                print(f"reusing {db}: {have:,} cases")
                return
        conn.execute(f'DROP DATABASE IF EXISTS "{db}"')
        conn.execute(f'CREATE DATABASE "{db}"')
    env = load.env_for(url, data_dir)
    t = time.perf_counter()
    _manage(env, "migrate", "-v0")
    _manage(env, "demo_city", "--size", "city")
    print(f"city-scale demo city loaded in {time.perf_counter() - t:.0f} s")
    t = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        done = 0
        while done < n:  # in batches of a million, each its own statement, so 10M shows its progress
            batch = min(BATCH, n - done)
            conn.execute(GENERATE_SQL, {"n": batch})
            done += batch
            if n > BATCH:
                print(f"  {done:,} / {n:,} cases ({time.perf_counter() - t:.0f} s)", flush=True)
        total = conn.execute("SELECT count(*) FROM cases_case").fetchone()[0]  # type: ignore[index]
    print(f"generated {n:,} cases in {time.perf_counter() - t:.0f} s ({total:,} in all)")
    t = time.perf_counter()
    print(_manage(env, "case_rollup").strip() + f" in {time.perf_counter() - t:.0f} s")
    t = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        sizes = conn.execute("SELECT pg_database_size(current_database()), pg_total_relation_size('cases_case'), "
                             "pg_indexes_size('cases_case')").fetchone()
    assert sizes is not None
    print(f"vacuum analyze in {time.perf_counter() - t:.0f} s; disk: database {sizes[0] / 2**30:.2f} GiB, "
          f"cases {sizes[1] / 2**30:.2f} GiB of which indexes {sizes[2] / 2**30:.2f} GiB")


BATCH = 1_000_000
# The measures of the G1 figures, per local day, from the case rows themselves (what the rollup counts).
EXPORT_SQL = """
COPY (SELECT (created_at AT TIME ZONE 'Asia/Shanghai')::date AS day, accepted_at IS NOT NULL AS accepted,
             coalesce(accepted_at <= response_due_at, false) AS accepted_in_time, state = 'closed' AS closed,
             state = 'closed' AND closed_on_time AS closed_on_time, rating
      FROM cases_case WHERE state <> 'merged') TO STDOUT (FORMAT csv, HEADER)
"""
DUCK_SQL = """
SELECT count(*), count(*) FILTER (WHERE accepted), count(*) FILTER (WHERE accepted_in_time),
       count(*) FILTER (WHERE closed), count(*) FILTER (WHERE closed_on_time),
       count(*) FILTER (WHERE rating <> '' AND rating IS NOT NULL), count(*) FILTER (WHERE rating = 'satisfied')
FROM cases WHERE day BETWEEN ? AND ?
"""


def duckdb_reference(url: str, start: dt.date, end: dt.date, runs: int = 10) -> tuple[float, int, float]:
    """The city's figures as a scan of the case rows in DuckDB (the columns exported from PostgreSQL once):
    p50 ms of the scan, the cases received it counts, and the export's seconds."""
    import duckdb
    import psycopg

    t = time.perf_counter()
    path = Path(tempfile.mkdtemp(prefix="gongzhi-duck-")) / "cases.csv"
    with psycopg.connect(url) as conn, conn.cursor() as cur, open(path, "wb") as fh:
        with cur.copy(EXPORT_SQL) as copy:
            for data in copy:
                fh.write(bytes(data))
    db = duckdb.connect()
    db.execute(f"CREATE TABLE cases AS SELECT * FROM read_csv_auto('{path}')")
    exported = time.perf_counter() - t
    took = []
    received = 0
    for _ in range(runs):
        t = time.perf_counter()
        row = db.execute(DUCK_SQL, [start, end]).fetchone()
        took.append((time.perf_counter() - t) * 1000)
        received = int(row[0]) if row else 0
    path.unlink()
    return sorted(took)[len(took) // 2], received, exported


def intake(url: str, data_dir: str, duration: int, connections: int) -> dict[str, float]:
    """Open311 POSTs from the grids' centres against the production server configuration (bench/load.py)."""
    env = load.env_for(url, data_dir)
    key, points = load.token_and_points(env)
    lua = load.lua_file(load.OPEN311.format(points=load.lua_points(points), key=key, body=load.BODY,
                                            path="/open311/v2/requests.json"))
    with load.serve(env) as base:
        return load.wrk(base, lua, duration=duration, connections=connections)


def reads(url: str, data_dir: str) -> str:
    env = load.env_for(url, data_dir)
    script = r"""
import django, time, statistics, datetime as dt; django.setup()
from django.contrib.auth import get_user_model
from django.db import connection
from gongzhi.cases import selectors
from gongzhi.registry.models import Area
User = get_user_model()
def timed(fn, n=30):
    fn()
    out = []
    for _ in range(n):
        t = time.perf_counter(); fn(); out.append((time.perf_counter() - t) * 1000)
    out.sort()
    return out[len(out) // 2], out[int(len(out) * 0.95)]
users = {"community": User.objects.get(username="community"), "street": User.objects.get(username="street"),
         "city": User.objects.get(username="city")}
for name, user in users.items():
    for key in ("to_dispatch", "ledger", "overdue", "all"):
        p50, p95 = timed(lambda: selectors.queue_page(selectors.queue(user, key), limit=50))
        print(f"queue {name:<9} {key:<11} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms")
today = dt.date.today()
city = Area.objects.get(depth=1)
district = Area.objects.filter(depth=2).order_by("path").first()
for label, area in (("district", district), ("city", city)):
    p50, p95 = timed(lambda: selectors.figures(users["city"], area, today - dt.timedelta(days=365), today), n=10)
    n = selectors.figures(users["city"], area, today - dt.timedelta(days=365), today).received
    print(f"figures {label:<8} ({n:,} cases) p50 {p50:6.1f} ms  p95 {p95:6.1f} ms   (target city ≤ 200 ms)")
print(f"CITY {p50} {n} {(today - dt.timedelta(days=365)).isoformat()} {today.isoformat()}")
"""
    return subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="reuse the database when it already has the cases")
    parser.add_argument("--intake-only", action="store_true", help="with --keep: skip the read measurements")
    args = parser.parse_args()
    url = load.postgres_and_wrk()
    data_dir = tempfile.mkdtemp(prefix="gongzhi-bench-")
    print(f"# gongzhi case pipeline benchmark (PostgreSQL, {os.cpu_count()} cores)")
    prepare(url, data_dir, args.cases, args.keep)
    if not args.intake_only:
        out = reads(url, data_dir).rstrip().splitlines()
        print("\n".join(line for line in out if not line.startswith("CITY ")))
        _, p50, received, start, end = next(line for line in out if line.startswith("CITY ")).split()
        try:
            duck, counted, exported = duckdb_reference(url, dt.date.fromisoformat(start), dt.date.fromisoformat(end))
        except ImportError:
            print("DuckDB reference skipped: pip install duckdb")
        else:
            print(f"DuckDB scan of the same rows (exported in {exported:.0f} s): p50 {duck:.1f} ms for "
                  f"{counted:,} cases received ({'same count' if counted == int(received) else 'COUNT DIFFERS'}); "
                  f"gongzhi's city figures {float(p50):.1f} ms = {float(p50) / duck:.2f}× the scan")
    f = intake(url, data_dir, args.duration, args.connections)
    print(f"intake (Open311 POST, {args.connections} connections, {args.duration} s, {load.SERVER_LABEL}): "
          f"{f['rps']:.0f} cases/s, p50 {f['p50']:.1f} ms, p90 {f['p90']:.1f} ms, p99 {f['p99']:.1f} ms, "
          f"errors {f['errors']:.0f}   (target ≥ 800/s, p99 ≤ 50 ms; bench/intake.py sets it beside the ceiling)")


if __name__ == "__main__":
    main()
