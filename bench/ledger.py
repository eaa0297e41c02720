"""Case ledger export benchmark (issue 9): the 挂账台账 of the whole city as one Excel file, every row.

Loads the demo city into a throw-away data folder, adds N open cases (bulk insert, spread over the grids and the
last year), then, in a fresh process, exports the city official's ledger through the view (``?download=1``: the
streaming writer into a temporary file) and reads the whole response, measuring
- the time from request to the last byte, and rows per second,
- the process's peak resident memory (target ≤ 300 MB) and its growth over the process before the export,
- the file's size, and that every row is there (the X-Ledger-Rows header against the database count).

Usage: .venv/bin/python bench/ledger.py [--cases 1000000]                  # SQLite (embedded)
       GONGZHI_DATABASE_URL=postgres://postgres@127.0.0.1/gongzhi_bench .venv/bin/python bench/ledger.py
The PostgreSQL database named by the URL is dropped and recreated.
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

TARGET_RSS_MB = 300

LOAD = r"""
import datetime as dt, random, sys, time
import django; django.setup()
from django.utils import timezone
from gongzhi.cases.models import Case, Category
from gongzhi.registry.models import Area
n = int(sys.argv[1])
grids = list(Area.objects.filter(kind="grid").values_list("id", "path"))
communities = dict(Area.objects.filter(depth=4).values_list("path", "id"))
cats = list(Category.objects.filter(depth=3).values_list("id", flat=True))
rng = random.Random(9)
now = timezone.now()
states = ["submitted", "accepted", "dispatched", "in_progress", "handled"]
t = time.perf_counter()
batch = []
for i in range(n):
    gid, gpath = grids[i % len(grids)]
    created = now - dt.timedelta(seconds=rng.randrange(365 * 86400))
    batch.append(Case(kind="general", title=f"性能测试诉求 {i}", description="用于台账导出性能测试的诉求",
                      channel="app", contact_phone=f"138{i % 100_000_000:08d}", area_path=gpath,
                      level="community", owner_path=gpath[:16], state=states[i % len(states)], priority=3,
                      created_at=created, due_at=created + dt.timedelta(days=5), area_id=gid,
                      owner_area_id=communities.get(gpath[:16]), category_id=cats[i % len(cats)]))
    if len(batch) == 5000:
        Case.objects.bulk_create(batch)
        batch = []
Case.objects.bulk_create(batch)
print(f"inserted {n:,} open cases in {time.perf_counter() - t:.0f} s")
"""

EXPORT = r"""
import resource, sys, time
import django; django.setup()
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from gongzhi.cases import selectors
from gongzhi.cases.views import ledger_export


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


user = get_user_model().objects.get(username="city")
expected = selectors.queue(user, "ledger").count()
request = RequestFactory().get("/cases/ledger.xlsx", {"download": "1"})
request.user = user
before = rss_mb()
t = time.perf_counter()
response = ledger_export(request)
size = sum(len(chunk) for chunk in response.streaming_content)
elapsed = time.perf_counter() - t
response.close()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
rows = int(response["X-Ledger-Rows"])
print(f"{rows} {expected} {elapsed:.3f} {peak:.1f} {before:.1f} {size}")
"""


def _env(url: str, data_dir: str) -> dict[str, str]:
    env = {**os.environ, "GONGZHI_DATA_DIR": data_dir, "DJANGO_SETTINGS_MODULE": "gongzhi.settings"}
    if url:
        env["GONGZHI_DATABASE_URL"] = url
    else:
        env.pop("GONGZHI_DATABASE_URL", None)
    return env


def _run(env: dict[str, str], *args: str) -> str:
    out = subprocess.run([sys.executable, *args], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    return out.stdout


def _fresh_postgres(url: str) -> None:
    import psycopg

    parsed = urllib.parse.urlparse(url)
    db = parsed.path.lstrip("/")
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}"')
        conn.execute(f'CREATE DATABASE "{db}"')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    args = parser.parse_args()
    url = os.environ.get("GONGZHI_DATABASE_URL", "")
    engine = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    data_dir = tempfile.mkdtemp(prefix="gongzhi-bench-ledger-")
    env = _env(url, data_dir)
    print(f"# gongzhi case ledger export benchmark ({engine}, {os.cpu_count()} cores, {args.cases:,} cases)")
    if url.startswith("postgres"):
        _fresh_postgres(url)
    t = time.perf_counter()
    _run(env, "-m", "gongzhi.cli", "manage", "migrate", "-v0")
    _run(env, "-m", "gongzhi.cli", "manage", "demo_city")
    print(f"demo city loaded in {time.perf_counter() - t:.0f} s")
    print(_run(env, "-c", LOAD, str(args.cases)).strip())
    rows, expected, elapsed, peak, before, size = _run(env, "-c", EXPORT).split()
    n, seconds, peak_mb = int(rows), float(elapsed), float(peak)
    print(f"rows exported                 {n:>12,}   (target: all {int(expected):,} open cases, no cap)"
          f"   {'OK' if n == int(expected) else 'MISSING ROWS'}")
    print(f"time, request to last byte    {seconds:>11.1f} s   ({n / seconds:,.0f} rows/s)")
    print(f"peak resident memory          {peak_mb:>9.0f} MB   (target ≤ {TARGET_RSS_MB} MB)"
          f"   {'OK' if peak_mb <= TARGET_RSS_MB else 'OVER'}")
    print(f"memory growth during export   {peak_mb - float(before):>9.0f} MB   (process before export: "
          f"{float(before):.0f} MB)")
    print(f"file size                     {int(size) / 1e6:>9.1f} MB")


if __name__ == "__main__":
    main()
