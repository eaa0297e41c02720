"""一张图 and 大屏 benchmark on PostgreSQL (issue 14): the city-scale demo city (10,000 grids, ~100,000 buildings, every
level with boundaries) and 1 million cases with their reported points, then through the JSON API in-process
(Django's test client with a bearer token, so the figure is the server's time without the network):

- the city map's first paint at city scale: the area level the map asks for at a 1,600-pixel-wide view of the whole
  city, plus the cases layer on it (counted cells of the open cases of the last 90 days) — p50/p95 and bytes;
- the same zoomed in on a street and on one community (where grids and markers appear);
- the 大屏's data endpoint for the city dispatcher — p50/p95 (the hot spots' grouping is kept for 120 s, so the
  first call, printed apart, pays it).

Usage: GONGZHI_DATABASE_URL=postgres://postgres@127.0.0.1/gongzhi_bench .venv/bin/python bench/maps.py
       [--cases 1000000] [--keep]
The database ``<name>_maps`` is dropped and recreated (with --keep, one that already has the cases is reused).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The reported point of each generated case: somewhere in its grid's cell (the demo's grids are ~0.0042° × 0.0030°).
POINTS_SQL = """
UPDATE cases_case c SET
    lng = (a.boundary->'coordinates'->0->0->>0)::float + 0.0005 + random() * 0.003,
    lat = (a.boundary->'coordinates'->0->0->>1)::float + 0.0004 + random() * 0.002
FROM registry_area a WHERE a.id = c.area_id AND c.lng IS NULL AND a.boundary IS NOT NULL
"""


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def child() -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from gongzhi.accounts import services as accounts
    from gongzhi.maps.selectors import bounds_of
    from gongzhi.registry.models import Area, AreaKind

    def client_for(username: str) -> Client:
        user = get_user_model().objects.get(username=username)
        _token, key = accounts.token_create(actor=None, user=user, name="bench")
        return Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def box(area: Area) -> str:
        found = bounds_of(area)
        assert found is not None, area
        (south, west), (north, east) = found
        return f"{west},{south},{east},{north}"

    def measure(client: Client, urls: list[str], n: int = 30) -> tuple[float, float, float, int, int, list[Any]]:
        # As a browser asks: compressed answers accepted (the layers are gzipped by the server).
        t = time.perf_counter()
        bodies = [client.get(u, HTTP_ACCEPT_ENCODING="gzip") for u in urls]
        cold = (time.perf_counter() - t) * 1000
        for r in bodies:
            assert r.status_code == 200, r.content[:300]
        samples = []
        for _ in range(n):
            t = time.perf_counter()
            for u in urls:
                client.get(u, HTTP_ACCEPT_ENCODING="gzip")
            samples.append((time.perf_counter() - t) * 1000)

        def plain(r: Any) -> bytes:
            return gzip.decompress(r.content) if r.get("Content-Encoding") == "gzip" else r.content

        raw = sum(len(plain(r)) for r in bodies)
        wire = sum(len(r.content) for r in bodies)
        return cold, _p(samples, 0.5), _p(samples, 0.95), raw, wire, [json.loads(plain(r)) for r in bodies]

    city_user = client_for("city")
    city = Area.objects.get(depth=1)
    street = Area.objects.filter(kind=AreaKind.STREET).order_by("path")[3]
    community = Area.objects.filter(kind=AreaKind.COMMUNITY, path__startswith=street.path).order_by("path").first()
    assert community is not None
    for label, area, width, target in (("city", city, 1600, True), ("a street", street, 1200, False),
                                       ("a community", community, 1000, False)):
        b = box(area)
        urls = [f"/api/v1/map/areas?bbox={b}&width={width}", f"/api/v1/map/cases?bbox={b}&width={width}&state=open"]
        cold, p50, p95, raw, wire, (areas, cases) = measure(city_user, urls)
        n_cases = cases["total"]
        shown = len(cases.get("cells", cases.get("markers", [])))
        line = (f"map first paint, {label:<11} {areas['kind']:<9} {len(areas['features']):5,} areas, "
                f"{n_cases:7,} open cases as {shown:4,} {cases['mode']:<7}  first {cold:7.1f} ms  "
                f"p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  {wire / 1e6:5.2f} MB over the wire "
                f"({raw / 1e6:4.2f} MB of JSON)")
        if target:
            line += "   target p95 <= 300 ms, <= 2 MB"
        print(line)
    dispatcher = client_for("dispatcher")
    cold, p50, p95, raw, _wire, (screen,) = measure(dispatcher, ["/api/v1/map/screen"])
    print(f"大屏 data endpoint ({screen['area']['name']}, {screen['open']:,} open, {screen['overdue']:,} overdue)  "
          f"first {cold:7.1f} ms  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  {raw / 1e3:.1f} kB   target p95 <= 100 ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child()
        return
    url = os.environ.get("GONGZHI_DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("set GONGZHI_DATABASE_URL to a PostgreSQL server (a database <name>_maps is dropped and recreated)")
    import psycopg

    from bench.cases import prepare
    from bench.load import env_for

    parsed = urllib.parse.urlparse(url)
    url = parsed._replace(path=parsed.path + "_maps").geturl()
    data_dir = tempfile.mkdtemp(prefix="gongzhi-bench-maps-")
    print(f"# gongzhi 一张图 benchmark (PostgreSQL, {os.cpu_count()} cores)")
    prepare(url, data_dir, args.cases, args.keep)
    t = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        placed = conn.execute(POINTS_SQL).rowcount
        if placed:
            conn.execute("VACUUM ANALYZE cases_case")
        counts = conn.execute("SELECT kind, count(*) FROM registry_area WHERE boundary IS NOT NULL GROUP BY kind "
                              "ORDER BY count(*)").fetchall()
    print(f"placed {placed:,} cases on their grids in {time.perf_counter() - t:.0f} s; areas with a boundary: "
          + ", ".join(f"{kind} {n:,}" for kind, n in counts))
    out = subprocess.run([sys.executable, __file__, "--child"], env=env_for(url, data_dir), cwd=ROOT, text=True,
                         capture_output=True)
    print(out.stdout.rstrip())
    if out.returncode:
        print(out.stderr[-3000:])
        sys.exit(out.returncode)


if __name__ == "__main__":
    main()
