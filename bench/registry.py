"""Registry benchmark at city scale (issue 2): tree subtree listing, point→grid lookup, demo load time, worker RSS.

Usage: .venv/bin/python bench/registry.py [--skip-server]
The database is a fresh SQLite file in a temporary folder, or the PostgreSQL database named by
GONGZHI_DATABASE_URL (dropped and recreated: never point it at data you keep).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def fresh_database(data_dir: str, name_suffix: str) -> dict[str, str]:
    env = {"GONGZHI_DATA_DIR": data_dir, "DJANGO_SETTINGS_MODULE": "gongzhi.settings"}
    url = os.environ.get("GONGZHI_DATABASE_URL")
    if url:
        parsed = urllib.parse.urlparse(url)
        db = parsed.path.lstrip("/") + name_suffix
        admin = parsed._replace(path="/postgres").geturl()
        import psycopg

        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}"')
            conn.execute(f'CREATE DATABASE "{db}"')
        env["GONGZHI_DATABASE_URL"] = parsed._replace(path="/" + db).geturl()
    return env


def run_child(env: dict[str, str], *args: str) -> str:
    out = subprocess.run([sys.executable, __file__, *args], env={**os.environ, **env}, cwd=ROOT, check=True,
                         capture_output=True, text=True)
    return out.stdout


def child_load(size: str) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from gongzhi.registry.demo import load_demo_city

    started = time.perf_counter()
    report = load_demo_city(size)
    print(f"load_seconds={time.perf_counter() - started:.2f}")
    print("counts=" + ",".join(f"{k}:{v}" for k, v in report.counts.items()))


def child_measure() -> None:
    import django

    django.setup()
    import numpy as np

    from gongzhi.registry.geo import grid_index
    from gongzhi.registry.models import Area, AreaKind
    from gongzhi.registry.selectors import area_subtree_rows

    streets = list(Area.objects.filter(kind=AreaKind.STREET).values_list("path", flat=True))
    area_subtree_rows(streets[0])  # warm the connection and caches
    timings, sizes = [], []
    for _ in range(3):
        for path in streets:
            t = time.perf_counter()
            rows = area_subtree_rows(path)
            timings.append((time.perf_counter() - t) * 1000)
            sizes.append(len(rows))
    timings.sort()
    print(f"subtree_nodes_mean={statistics.mean(sizes):.0f}")
    print(f"subtree_ms_p50={timings[len(timings) // 2]:.2f}")
    print(f"subtree_ms_p95={timings[int(len(timings) * 0.95)]:.2f}")

    t = time.perf_counter()
    index = grid_index()
    print(f"grid_index_build_s={time.perf_counter() - t:.2f}")
    print(f"grids={len(index.ids)}")
    bounds = index.tree.geometries
    import shapely

    minx, miny, maxx, maxy = shapely.total_bounds(bounds)
    rng = np.random.default_rng(7)
    n = 1_000_000
    lngs = rng.uniform(minx, maxx, n)
    lats = rng.uniform(miny, maxy, n)
    index.locate_many(lngs[:1000], lats[:1000])
    t = time.perf_counter()
    found = index.locate_many(lngs, lats)
    batch_s = time.perf_counter() - t
    print(f"batch_points_per_s={n / batch_s:,.0f}")
    print(f"batch_hit_share={float((found >= 0).mean()):.3f}")
    # Check the batch against single lookups on a sample: both paths must agree.
    sample = range(0, n, n // 2000)
    mismatches = sum(1 for i in sample if (index.locate(lngs[i], lats[i]) or -1) != found[i])
    print(f"single_vs_batch_mismatches={mismatches}")
    singles = []
    for i in range(20_000):
        t = time.perf_counter()
        index.locate(float(lngs[i]), float(lats[i]))
        singles.append((time.perf_counter() - t) * 1e6)
    singles.sort()
    print(f"single_us_p50={singles[len(singles) // 2]:.1f}")
    print(f"single_us_p99={singles[int(len(singles) * 0.99)]:.1f}")


def worker_rss(env: dict[str, str]) -> tuple[float, list[str]]:
    """Serve the city-scale database with one gunicorn worker, log in, fetch pages, read the worker's VmRSS."""
    port = 8765
    full_env = {**os.environ, **env}
    subprocess.run([sys.executable, "-m", "django", "collectstatic", "--noinput", "-v0"], env=full_env, check=True,
                   cwd=ROOT)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "gongzhi.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--worker-class", "gthread", "--threads", "4"],
        env=full_env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    visited: list[str] = []
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/login/", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(base + "/login/").read().decode()
        token = next(c.value for c in jar if c.name == "csrftoken")
        data = urllib.parse.urlencode({"username": "city", "password": "gongzhi-demo",
                                       "csrfmiddlewaretoken": token}).encode()
        opener.open(urllib.request.Request(base + "/login/", data=data, headers={"Referer": base + "/login/"}))
        for path in ["/", "/areas/", "/people/", "/units/", "/orgs/", "/pairings/", "/api/v1/areas/roots",
                     "/api/v1/people?limit=200", "/api/v1/openapi.json"]:
            for _ in range(5):
                try:
                    opener.open(base + path, timeout=60).read()
                except urllib.error.HTTPError as exc:  # a page not there yet is reported, not fatal
                    path = f"{path} ({exc.code})"
                    break
            visited.append(path)
        del page
        children = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
        rss_kb = 0
        for pid in children:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss_kb = max(rss_kb, int(line.split()[1]))
        return rss_kb / 1024, visited
    finally:
        server.terminate()
        server.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=["load-small", "load-city", "measure"])
    parser.add_argument("--skip-server", action="store_true")
    args = parser.parse_args()
    if args.child == "load-small":
        return child_load("small")
    if args.child == "load-city":
        return child_load("city")
    if args.child == "measure":
        return child_measure()

    backend = "postgresql" if os.environ.get("GONGZHI_DATABASE_URL") else "sqlite"
    print(f"# gongzhi registry benchmark ({backend}, {os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory() as small_dir:
        env = fresh_database(small_dir, "_small")
        out = run_child(env, "--child", "load-small")
        secs = float(out.split("load_seconds=")[1].split()[0])
        print(f"demo city (default size) generated+loaded: {secs:.1f} s   (target ≤ 30 s)")
    with tempfile.TemporaryDirectory() as city_dir:
        env = fresh_database(city_dir, "_city")
        out = run_child(env, "--child", "load-city")
        loaded_in = out.split("load_seconds=")[1].split()[0]
        print("city scale: " + out.split("counts=")[1].strip() + f"  (loaded in {loaded_in} s)")
        figures = dict(line.split("=", 1) for line in run_child(env, "--child", "measure").split())
        print(f"street subtree listed: p50 {figures['subtree_ms_p50']} ms, p95 {figures['subtree_ms_p95']} ms "
              f"(≈{figures['subtree_nodes_mean']} nodes)   (target ≤ 5 ms)")
        print(f"grid index built in {figures['grid_index_build_s']} s for {figures['grids']} grids")
        print(f"point→grid batch: {figures['batch_points_per_s']} points/s, {figures['batch_hit_share']} inside a grid,"
              f" {figures['single_vs_batch_mismatches']} mismatches vs single   (target ≥ 200,000/s)")
        print(f"point→grid single: p50 {figures['single_us_p50']} µs, p99 {figures['single_us_p99']} µs"
              f"   (target ≤ 50 µs)")
        if not args.skip_server:
            rss, visited = worker_rss(env)
            print(f"one server worker after {len(visited)} pages: {rss:.0f} MB resident   (target ≤ 250 MB)")
            print("  pages: " + ", ".join(visited))


if __name__ == "__main__":
    main()
