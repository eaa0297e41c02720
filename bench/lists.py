"""Lists at the speed of the database (issue 15): how long the lists take in-process and what the server serves
under load, beside a bare Django view that returns the same rows (`bench/bare_app.py`).

1. In-process (a child process, Django's test client, bearer token: the server's time without the network), p50/p95
   over ``--samples`` calls: Open311 ``GET requests.json`` (100 a page), the JSON API's public list and the
   dispatcher's workbench queue (100 a page), the community's and the city's to-dispatch queues through the
   selectors (50 a page), each beside the time of its SQL statement alone — the rest is Python turning rows into
   the answer.
2. Under load (wrk -t1 -c8, persistent connections, the production server configuration, interleaved rounds): the
   Open311 list against the bare list on the same PostgreSQL.

Usage: GONGZHI_DATABASE_URL=postgres://postgres@127.0.0.1/gongzhi_bench_lists .venv/bin/python bench/lists.py
       [--cases 100000] [--rounds 3] [--duration 10] [--samples 40] [--keep]   (needs wrk: apt-get install wrk)
Targets: ≥ 5× the peer's req/s on the same list (issue 15 measured the peer, 6aika/issue-reporting, at 41–93 req/s
on this machine: ≥ 465 req/s), a community's queue p95 ≤ 20 ms and the city's ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PEER_BEST = 93.0  # req/s, issue 15's measurement of 6aika/issue-reporting's GET requests.json on this machine
GET_LIST = """
wrk.method = "GET"
request = function()
  return wrk.format(nil, "{path}")
end
"""


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def child(samples: int) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from gongzhi.accounts import services as accounts
    from gongzhi.cases import selectors

    users = get_user_model().objects

    def client_for(username: str) -> Client:
        _token, key = accounts.token_create(actor=None, user=users.get(username=username), name="bench")
        return Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def sql_alone(run: Any) -> float:
        """The time of the statements ``run`` sends, each run again on its own (the database's share)."""
        with CaptureQueriesContext(connection) as ctx:
            run()
        total = 0.0
        with connection.cursor() as cursor:
            for q in ctx.captured_queries:
                sql = q["sql"]
                if not sql.lstrip().upper().startswith("SELECT"):
                    continue
                t = time.perf_counter()
                cursor.execute(sql)
                cursor.fetchall()
                total += time.perf_counter() - t
        return total * 1000

    def measure(label: str, run: Any, rows: Any) -> None:
        run()
        took = []
        for _ in range(samples):
            t = time.perf_counter()
            run()
            took.append((time.perf_counter() - t) * 1000)
        sql = statistics.median(sql_alone(run) for _ in range(5))
        print(f"{label:<44} {rows(run):>4} rows  p50 {_p(took, 0.5):6.1f} ms  p95 {_p(took, 0.95):6.1f} ms  "
              f"(its SQL alone {sql:5.1f} ms)", flush=True)

    anonymous = Client()
    dispatcher = client_for("dispatcher")

    def open311() -> Any:
        return anonymous.get("/open311/v2/requests.json?page_size=100")

    def public() -> Any:
        return anonymous.get("/api/v1/public/cases?limit=100")

    def workbench() -> Any:
        return dispatcher.get("/api/v1/cases?limit=100")

    measure("Open311 GET requests.json (anonymous)", open311, lambda run: len(run().json()))
    measure("API GET /public/cases (anonymous)", public, lambda run: len(run().json()["items"]))
    measure("API GET /cases (city dispatcher, all)", workbench, lambda run: len(run().json()["items"]))
    for username in ("community", "city"):
        user = users.get(username=username)
        for key in ("to_dispatch", "all"):
            def queue(user: Any = user, key: str = key) -> list[Any]:
                return selectors.queue_page(selectors.queue(user, key), limit=50)

            measure(f"queue {username} {key} (selectors)", queue, lambda run: len(run()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="reuse the database when it already has the cases")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.samples)
        return
    from bench import load

    url = load.postgres_and_wrk()
    from bench.cases import prepare

    data_dir = tempfile.mkdtemp(prefix="gongzhi-bench-lists-")
    print(f"# lists (PostgreSQL, {os.cpu_count()} cores, {load.SERVER_LABEL}, wrk -t1 -c{args.connections} "
          f"-d{args.duration}s)")
    prepare(url, data_dir, args.cases, args.keep)
    env = load.env_for(url, data_dir)
    subprocess.run([sys.executable, __file__, "--child", "--samples", str(args.samples)], env=env, cwd=ROOT,
                   check=True)
    scripts = {"bare list": load.lua_file(GET_LIST.format(path="/list")),
               "Open311 list": load.lua_file(GET_LIST.format(path="/open311/v2/requests.json?page_size=100"))}
    runs = load.interleaved(env, scripts, bare="bare list", rounds=args.rounds, duration=args.duration,
                            connections=args.connections)
    ceiling = load.median(runs["bare list"], "rps")
    print(f"\nmedians of {args.rounds} rounds:")
    for name, rs in runs.items():
        rps = load.median(rs, "rps")
        target = "" if name == "bare list" else f"   (target ≥ {5 * PEER_BEST:.0f} req/s: 5× the peer's best)"
        print(f"  {name:<13} {rps:8.0f} req/s  {rps / ceiling:5.2f} of the bare list  "
              f"{rps / PEER_BEST:5.1f}× the peer{target}")
    print(json.dumps({name: [r["rps"] for r in rs] for name, rs in runs.items()}))


if __name__ == "__main__":
    main()
