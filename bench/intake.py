"""Intake against the hardware's ceiling, in one run (issue 15): the bare Django insert (`bench/bare_app.py`),
gongzhi's Open311 POST and gongzhi's JSON API POST, interleaved round by round on the same PostgreSQL, server
configuration and wrk load (one wrk thread, 8 connections, persistent connections), over a city with ``--cases``
cases already in it. Prints each round, the medians, the ratio to the ceiling and the load average.

Usage: GONGZHI_DATABASE_URL=postgres://postgres@127.0.0.1/gongzhi_bench_intake .venv/bin/python bench/intake.py
       [--cases 100000] [--rounds 3] [--duration 15] [--connections 8] [--keep]   (needs wrk: apt-get install wrk)
Targets: ≥ 800 cases/s with p99 ≤ 50 ms through both, and ≥ 0.5 of the ceiling measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cases as case_bench
from bench import load


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="reuse the database when it already has the cases")
    args = parser.parse_args()
    url = load.postgres_and_wrk()
    import psycopg

    from bench.bare_app import TABLE_SQL  # reads GONGZHI_DATABASE_URL when imported

    data_dir = tempfile.mkdtemp(prefix="gongzhi-bench-")
    print(f"# intake against the bare-insert ceiling (PostgreSQL, {os.cpu_count()} cores, {load.SERVER_LABEL}, "
          f"wrk -t1 -c{args.connections} -d{args.duration}s)")
    case_bench.prepare(url, data_dir, args.cases, args.keep)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(TABLE_SQL)
    env = load.env_for(url, data_dir)
    key, points = load.token_and_points(env)
    pts = load.lua_points(points)
    scripts = {
        "bare insert": load.lua_file(load.OPEN311.format(points=pts, key="-", body=load.BODY, path="/insert")),
        "Open311 POST": load.lua_file(load.OPEN311.format(points=pts, key=key, body=load.BODY,
                                                     path="/open311/v2/requests.json")),
        "API POST": load.lua_file(load.API.format(points=pts, key=key)),
    }
    runs = load.interleaved(env, scripts, bare="bare insert", rounds=args.rounds, duration=args.duration,
                            connections=args.connections)
    ceiling = load.median(runs["bare insert"], "rps")
    print(f"\nmedians of {args.rounds} rounds:")
    for name, rs in runs.items():
        rps, p99 = load.median(rs, "rps"), load.median(rs, "p99")
        target = "" if name == "bare insert" else "   (target ≥ 800/s, p99 ≤ 50 ms, ≥ 0.50 of the ceiling)"
        print(f"  {name:<13} {rps:8.0f} req/s  p99 {p99:6.1f} ms  {rps / ceiling:5.2f} of the ceiling{target}")
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT count(*), sum(received) FROM cases_casestat").fetchone()
        cases = conn.execute("SELECT count(*) FROM cases_case WHERE state <> 'merged'").fetchone()
    assert rows is not None and cases is not None
    print(f"rollup: {rows[0]:,} rows, {rows[1]:,} received = {cases[0]:,} cases counted "
          f"({'equal' if rows[1] == cases[0] else 'NOT EQUAL'})")


if __name__ == "__main__":
    main()
