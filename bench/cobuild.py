"""Co-building benchmark on PostgreSQL (issue 10): the city-scale demo city (≈10,000 grids) plus a year of
co-building generated in SQL — resources of every unit, needs in every community, ≥ 200,000 deliveries with their
volunteers — then, printed beside their targets:
- suggested matches for one open need (p50/p95; target p95 ≤ 50 ms),
- every open need of one district given its suggestions (target ≤ 2 s),
- a community's co-building page (p50/p95; target p95 ≤ 100 ms),
- a district's figures (p50/p95; target ≤ 200 ms).

Usage: GONGZHI_DATABASE_URL=postgres://postgres@127.0.0.1/gongzhi_bench_cobuild .venv/bin/python bench/cobuild.py
       [--deliveries 200000] [--keep]
The database named by the URL is dropped and recreated (with --keep, an existing one with the data is reused).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KINDS = "ARRAY['elderly','meals','medical','legal','education','culture','science','environment','facilities','venue']"

GENERATE_SQL = f"""
-- every unit offers two resources, serving its own street
WITH u AS (SELECT m.id, a.id AS area_id, a.path FROM registry_memberunit m JOIN registry_area a ON a.id = m.area_id),
ins AS (
    INSERT INTO cobuild_resource (owner_kind, unit_id, area_id, area_path, kind, title, description, capacity, used,
        measure, cadence, valid_from, valid_until, active, created_at, version)
    SELECT 'unit', u.id, u.area_id, u.path, ({KINDS})[1 + (u.id * 7 + k) %% 10], '性能测试资源 ' || u.id || '-' || k,
        '', 6 + (u.id %% 20), (u.id %% 5), '次', '每年', current_date - 100, current_date + 265, true, now(), 1
    FROM u CROSS JOIN generate_series(1, 2) k
    RETURNING id, area_path
)
INSERT INTO cobuild_resourcereach (resource_id, area_id, area_path)
SELECT ins.id, a.id, a.path FROM ins JOIN registry_area a ON a.path = substr(ins.area_path, 1, 12);

-- three needs per community, most of them open
INSERT INTO cobuild_need (area_id, area_path, kind, title, description, scale, quantity, beneficiaries, urgency,
    source, state, created_at, version)
SELECT c.id, c.path, ({KINDS})[1 + (c.id + k) %% 10], '性能测试需求 ' || c.id || '-' || k, '', '', 1, 30, 'normal',
    'community', CASE WHEN k = 3 THEN 'met' ELSE 'open' END, now() - (k * interval '20 days'), 1
FROM registry_area c CROSS JOIN generate_series(1, 3) k WHERE c.kind = 'community';

-- deliveries spread over the grids and the year, each with one volunteer from the grid's residents
WITH g AS (SELECT (row_number() OVER (ORDER BY path)) - 1 AS i, id, path FROM registry_area WHERE kind = 'grid'),
u AS (SELECT (row_number() OVER (ORDER BY id)) - 1 AS j, id FROM registry_memberunit),
n AS (SELECT (SELECT count(*) FROM g) AS ng, (SELECT count(*) FROM u) AS nu),
d AS (
    INSERT INTO cobuild_delivery (area_id, area_path, kind, title, description, delivered_on, place, beneficiaries,
        hours, unit_id, recorded_at)
    SELECT g.id, g.path, ({KINDS})[1 + s %% 10], '性能测试服务 ' || s, '', current_date - (s %% 365), '',
        1 + s %% 40, 1 + (s %% 6) * 0.5, u.id, now()
    FROM generate_series(1, %(n)s) s JOIN n ON true JOIN g ON g.i = s %% n.ng JOIN u ON u.j = s %% n.nu
    RETURNING id, area_path, delivered_on, hours
),
p AS (SELECT (row_number() OVER (ORDER BY id)) - 1 AS k, id FROM registry_person LIMIT 50000),
np AS (SELECT count(*) AS c FROM p)
INSERT INTO cobuild_participation (delivery_id, person_id, hours, area_path, delivered_on)
SELECT d.id, p.id, d.hours, d.area_path, d.delivered_on FROM d JOIN np ON true JOIN p ON p.k = d.id %% np.c;
"""


def _env(url: str, data_dir: str) -> dict[str, str]:
    return {**os.environ, "GONGZHI_DATABASE_URL": url, "GONGZHI_DATA_DIR": data_dir,
            "DJANGO_SETTINGS_MODULE": "gongzhi.settings"}


def _manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "gongzhi.cli", "manage", *args], env=env, cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout


def prepare(url: str, data_dir: str, n: int, keep: bool) -> None:
    import psycopg

    parsed = urllib.parse.urlparse(url)
    db = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone()
        city_loaded = False
        if exists and keep:
            with psycopg.connect(url) as c2:
                have = c2.execute("SELECT count(*) FROM cobuild_delivery").fetchone()[0]  # type: ignore[index]
                city_loaded = bool(c2.execute("SELECT count(*) FROM registry_area").fetchone()[0])  # type: ignore
            if have >= n:
                print(f"reusing {db}: {have:,} deliveries")
                return
        if not city_loaded:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}"')
            conn.execute(f'CREATE DATABASE "{db}"')
    env = _env(url, data_dir)
    if not city_loaded:
        t = time.perf_counter()
        _manage(env, "migrate", "-v0")
        _manage(env, "demo_city", "--size", "city")
        print(f"city-scale demo city loaded in {time.perf_counter() - t:.0f} s")
    else:
        print(f"reusing the city-scale demo city in {db}")
    t = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in GENERATE_SQL.split(";\n"):  # one statement at a time (prepared statements)
            if statement.strip():
                conn.execute(statement, {"n": n})
        counts = {table: conn.execute(f"SELECT count(*) FROM cobuild_{table}").fetchone()[0]  # type: ignore[index]
                  for table in ("resource", "need", "delivery", "participation")}
        grids = conn.execute("SELECT count(*) FROM registry_area WHERE kind = 'grid'").fetchone()[0]  # type: ignore
        conn.execute("VACUUM ANALYZE")
    print(f"generated in {time.perf_counter() - t:.0f} s: {grids:,} grids, "
          + ", ".join(f"{v:,} {k}s" for k, v in counts.items()))


READS = r"""
import django, time, datetime as dt, random; django.setup()
from django.utils import timezone
from gongzhi.cobuild.models import Need
from gongzhi.cobuild.selectors import figures as fig
from gongzhi.cobuild.selectors import library
from gongzhi.registry.models import Area

def timed(fn, n=30):
    fn()
    out = []
    for _ in range(n):
        t = time.perf_counter(); fn(); out.append((time.perf_counter() - t) * 1000)
    out.sort()
    return out[len(out) // 2], out[min(len(out) - 1, int(len(out) * 0.95))]

rng = random.Random(7)
needs = list(Need.objects.filter(state="open").order_by("?")[:60])
samples = []
for need in needs:
    library.suggest(need)
for need in needs:
    t = time.perf_counter(); got = library.suggest(need); samples.append((time.perf_counter() - t) * 1000)
samples.sort()
p50, p95 = samples[len(samples) // 2], samples[int(len(samples) * 0.95)]
print(f"suggestions for one need       p50 {p50:7.1f} ms  p95 {p95:7.1f} ms   ({len(got)} suggestions)"
      "   target p95 <= 50 ms")
district = Area.objects.filter(kind="district").order_by("path").first()
open_needs = list(Need.objects.filter(state="open", area_path__startswith=district.path))
t = time.perf_counter()
for need in open_needs:
    library.suggest(need, 3)
one_by_one = time.perf_counter() - t
from django.contrib.auth import get_user_model
official = get_user_model().objects.get(username="city")
library.suggest_for_area(official, district)
t = time.perf_counter()
rows = library.suggest_for_area(official, district)
batch = time.perf_counter() - t
print(f"all open needs of a district   {batch:7.2f} s   ({len(rows):,} needs, {sum(1 for _n, s in rows if s):,} with "
      f"suggestions; one by one {one_by_one:.2f} s)   target <= 2 s")
community = Area.objects.filter(kind="community", path__startswith=district.path).order_by("path").first()
year = timezone.localdate().year
p50, p95 = timed(lambda: fig.community_page(community, year=year))
print(f"community co-building page     p50 {p50:7.1f} ms  p95 {p95:7.1f} ms   target p95 <= 100 ms")
today = timezone.localdate()
p50, p95 = timed(lambda: fig.figures(district, today - dt.timedelta(days=365), today), n=10)
f = fig.figures(district, today - dt.timedelta(days=365), today)
print(f"district figures               p50 {p50:7.1f} ms  p95 {p95:7.1f} ms   ({f.services:,} services, "
      f"{f.volunteers_active:,} volunteers)   target <= 200 ms")
p50, p95 = timed(lambda: fig.by_child(district, today - dt.timedelta(days=365), today), n=10)
print(f"district breakdown by street   p50 {p50:7.1f} ms  p95 {p95:7.1f} ms   target <= 200 ms")
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=200_000)
    parser.add_argument("--keep", action="store_true", help="reuse the database when it already has the data")
    args = parser.parse_args()
    url = os.environ.get("GONGZHI_DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("set GONGZHI_DATABASE_URL to a PostgreSQL database (it is dropped and recreated)")
    data_dir = tempfile.mkdtemp(prefix="gongzhi-bench-")
    print(f"# gongzhi co-building benchmark (PostgreSQL, {os.cpu_count()} cores)")
    prepare(url, data_dir, args.deliveries, args.keep)
    out = subprocess.run([sys.executable, "-c", READS], env=_env(url, data_dir), cwd=ROOT, check=True,
                         capture_output=True, text=True)
    print(out.stdout.rstrip())


if __name__ == "__main__":
    main()
