"""Services anywhere and service sites benchmark (issue 13), printed beside the targets:
- the 15-minute coverage of the whole city (``gongzhi.sites.coverage.compute``) on a city-scale tree: 10,000 grids
  with boundaries, ≥ 100,000 buildings with households, ≥ 500 sites with a point (target ≤ 2 s), for any site and
  for one service offered at a fifth of them;
- the coverage of every item of the catalogue at once (``coverage.by_item``, the coverage page's table);
- a window's queue (``selectors.window_queue``, the first page of 50 as the 窗口受理 page reads it) with 1,000,000
  applications in the city, for a community clerk (target p95 ≤ 20 ms), and the department's queue beside it.

The tree, sites, people and applications are written directly (bulk_create; the applications with one SQL statement
on PostgreSQL) into a throw-away database: a fresh SQLite file in a temporary folder, or the PostgreSQL database named
by GONGZHI_DATABASE_URL with the suffix ``_govservice`` (dropped and recreated: never point it at data you keep).

Usage: .venv/bin/python bench/govservice.py [--grids 10000] [--buildings 10] [--sites 600] [--applications 1000000]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CELL = (0.0042, 0.0030)  # ≈ 350 m × 330 m, as the demo city's grids
ORIGIN = (123.0, 41.5)

APPLICATIONS_SQL = """
WITH c AS (SELECT (row_number() OVER (ORDER BY path)) - 1 AS i, id, path FROM registry_area WHERE kind = 'community'),
n AS (SELECT count(*) AS nc FROM c),
p AS (SELECT (row_number() OVER (ORDER BY id)) - 1 AS j, id FROM registry_person),
np AS (SELECT count(*) AS n FROM p),
rows AS (SELECT s, random() AS r, now() - random() * interval '365 days' AS t FROM generate_series(1, %(n)s) s)
INSERT INTO govservice_application (item_id, department_id, applicant_id, area_id, area_path, window_area_id,
    window_path, site_tier, tongban, online, consent, consent_note, form_data, state, submitted_at, accepted_at,
    due_at, paused_days, missing, correction_note, refuse_reason, issue_method, rating_reason, version)
SELECT %(item)s, %(unit)s, p.id, home.id, home.path, win.id, win.path, 'community', home.id <> win.id, false, '', '',
    '{}', CASE WHEN r < 0.90 THEN 'issued' WHEN r < 0.93 THEN 'decided' WHEN r < 0.96 THEN 'processing'
               WHEN r < 0.98 THEN 'awaiting' ELSE 'submitted' END,
    t, t, t + interval '5 days', 0, '[]', '', '', '', '', 1
FROM rows JOIN n ON true JOIN np ON true
JOIN c home ON home.i = rows.s %% n.nc
JOIN c win ON win.i = CASE WHEN rows.r * 10 - floor(rows.r * 10) < 0.2 THEN (rows.s * 7) %% n.nc ELSE rows.s %% n.nc END
JOIN p ON p.j = rows.s %% np.n
"""


def _p(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(len(s) * q))]


def _path(*steps: int) -> str:
    return "".join(f"{n:04d}" for n in steps)


def _square(ix: int, iy: int) -> dict[str, Any]:
    x0, y0 = ORIGIN[0] + ix * CELL[0], ORIGIN[1] + iy * CELL[1]
    x1, y1 = x0 + CELL[0], y0 + CELL[1]
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def build(grids: int, buildings: int, sites: int) -> dict[str, Any]:
    """1 city, 10 districts × 10 streets × 10 communities, the grids spread over them on a lattice, ``buildings``
    per grid, ``sites`` sites at grid centres (one in five offering the benchmark's service), a unit and an item."""
    from gongzhi.accounts import services as accounts
    from gongzhi.core.validators import credit_code_check_char
    from gongzhi.govservice import services as govservice
    from gongzhi.registry import services as registry
    from gongzhi.registry.models import Area, AreaKind, Person
    from gongzhi.sites.models import Site

    rng = random.Random(13)
    per_community = max(1, -(-grids // 1000))
    side = int(grids ** 0.5) + 1
    areas = [Area(path=_path(1), depth=1, numchild=10, name="性能市", code="B0", kind=AreaKind.CITY)]
    cells: list[tuple[str, int, int]] = []
    made = 0
    for d in range(1, 11):
        areas.append(Area(path=_path(1, d), depth=2, numchild=10, name=f"第{d}区", code=f"B{d}",
                          kind=AreaKind.DISTRICT))
        for s in range(1, 11):
            areas.append(Area(path=_path(1, d, s), depth=3, numchild=10, name=f"第{d}区{s}街道", code=f"B{d}-{s}",
                              kind=AreaKind.STREET))
            for c in range(1, 11):
                n = min(per_community, max(0, grids - made))
                areas.append(Area(path=_path(1, d, s, c), depth=4, numchild=n, name=f"第{d}区{s}街{c}社区",
                                  code=f"B{d}-{s}-{c}", kind=AreaKind.COMMUNITY))
                for g in range(1, n + 1):
                    ix, iy = made % side, made // side
                    path = _path(1, d, s, c, g)
                    areas.append(Area(path=path, depth=5, numchild=buildings, code=f"B{d}-{s}-{c}-{g}",
                                      name=f"第{d}区{s}街{c}社区第{g}网格", kind=AreaKind.GRID,
                                      households=buildings * 48, boundary=_square(ix, iy)))
                    cells.append((path, ix, iy))
                    for b in range(1, buildings + 1):
                        areas.append(Area(path=path + f"{b:04d}", depth=6, numchild=0, name=f"{b}号楼",
                                          code=f"B{d}-{s}-{c}-{g}-{b}", kind=AreaKind.BUILDING,
                                          households=rng.randint(36, 60)))
                    made += 1
    Area.objects.bulk_create(areas, batch_size=5000)
    city = Area.objects.get(kind=AreaKind.CITY)
    body = "11350100M00020000"
    unit = registry.unit_create(actor=None, area=city, name="市民政局", credit_code=body + credit_code_check_char(body),
                                sector="organ")
    item = govservice.item_save(actor=None, code="B-001", data={"name": "高龄津贴申领", "department": unit.pk,
                                                                "time_limit_days": 3})
    ids = dict(Area.objects.filter(kind=AreaKind.GRID).values_list("path", "pk"))
    chosen = rng.sample(cells, min(sites, len(cells)))
    rows = [Site(name=f"阵地{i}", kind="party_centre", tier="community", area_id=ids[path], area_path=path,
                 lon=ORIGIN[0] + (ix + 0.5) * CELL[0], lat=ORIGIN[1] + (iy + 0.5) * CELL[1])
            for i, (path, ix, iy) in enumerate(chosen)]
    Site.objects.bulk_create(rows, batch_size=2000)
    through = Site.items.through
    through.objects.bulk_create([through(site_id=s.pk, serviceitem_id=item.pk) for s in rows[::5]])
    grid_ids = list(ids.values())
    Person.objects.bulk_create([Person(name=f"居民{i}", area_id=grid_ids[i % len(grid_ids)]) for i in range(20_000)],
                               batch_size=5000)
    # The clerk of one community, the department's handler.
    community = Area.objects.filter(kind=AreaKind.COMMUNITY).order_by("path")[37]
    clerk = accounts.user_create(actor=None, username="clerk", password="pass-word-123")
    accounts.grant_role(actor=None, user=clerk, role="community_worker", area=community)
    handler = accounts.user_create(actor=None, username="handler", password="pass-word-123")
    accounts.grant_role(actor=None, user=handler, role="unit_handler", unit=unit)
    return {"item": item.pk, "unit": unit.pk, "buildings": Area.objects.filter(kind=AreaKind.BUILDING).count(),
            "grids": len(cells), "sites": len(rows)}


def applications(n: int, item: int, unit: int) -> float:
    from django.db import connection

    from gongzhi.govservice.models import Application
    from gongzhi.registry.models import Area, AreaKind, Person

    t = time.perf_counter()
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(APPLICATIONS_SQL, {"n": n, "item": item, "unit": unit})
            cur.execute("ANALYZE govservice_application")
        return time.perf_counter() - t
    import datetime as dt

    from django.utils import timezone

    rng = random.Random(14)
    communities = list(Area.objects.filter(kind=AreaKind.COMMUNITY).order_by("path").values_list("pk", "path"))
    people = list(Person.objects.values_list("pk", flat=True))
    now = timezone.now()
    states = ["issued"] * 90 + ["decided"] * 3 + ["processing"] * 3 + ["awaiting"] * 2 + ["submitted"] * 2
    batch: list[Application] = []
    for s in range(n):
        home = communities[s % len(communities)]
        win = communities[(s * 7) % len(communities)] if rng.random() < 0.2 else home
        at = now - dt.timedelta(days=rng.random() * 365)
        batch.append(Application(item_id=item, department_id=unit, applicant_id=people[s % len(people)],
                                 area_id=home[0], area_path=home[1], window_area_id=win[0], window_path=win[1],
                                 tongban=win != home, state=rng.choice(states), submitted_at=at, accepted_at=at,
                                 due_at=at + dt.timedelta(days=5)))
        if len(batch) == 20_000:
            Application.objects.bulk_create(batch)
            batch = []
    Application.objects.bulk_create(batch)
    return time.perf_counter() - t


def child(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from gongzhi.core.scope import forget_scope
    from gongzhi.govservice import selectors
    from gongzhi.govservice.models import ServiceItem
    from gongzhi.registry.models import Area
    from gongzhi.sites import coverage

    call_command("migrate", verbosity=0)
    t = time.perf_counter()
    built = build(args.grids, args.buildings, args.sites)
    print(f"built: {built['grids']:,} grids, {built['buildings']:,} buildings, {built['sites']:,} sites "
          f"in {time.perf_counter() - t:.1f} s")
    city = Area.objects.get(depth=1)
    item = ServiceItem.objects.get(pk=built["item"])
    for label, kw in (("any site", {}), ("one service (a fifth of the sites)", {"item": item})):
        times, result = [], None
        for _ in range(3):
            t = time.perf_counter()
            result = coverage.compute(city, **kw)
            times.append(time.perf_counter() - t)
        assert result is not None
        print(f"coverage of the city, {label}: best {min(times):.2f} s, worst {max(times):.2f} s  (target ≤ 2 s)"
              f"  — {result.share}% of {result.households:,} households, {result.sites} sites, "
              f"{result.buildings_outside:,} buildings outside")
    times = []
    for _ in range(3):
        t = time.perf_counter()
        rows = coverage.by_item(city)
        times.append(time.perf_counter() - t)
    print(f"coverage of the city by service ({len(rows)} items): best {min(times):.2f} s, worst {max(times):.2f} s"
          f"  (the coverage page's table)")
    secs = applications(args.applications, built["item"], built["unit"])
    print(f"applications: {args.applications:,} written in {secs:.1f} s")
    User = get_user_model()
    for who, label, fn in (("clerk", "window queue (community clerk)", selectors.window_queue),
                           ("handler", "department queue (the deciding unit)", selectors.department_queue)):
        user = User.objects.get(username=who)
        samples = []
        for i in range(args.repeat):
            forget_scope(user.pk)  # every request builds the viewer's scope afresh
            t = time.perf_counter()
            rows = list(fn(user)[:51])
            for a in rows:  # what the page shows of each row
                _ = (a.item.name, a.applicant.name, a.area.name, a.window_area.name)
            samples.append((time.perf_counter() - t) * 1000)
            if i == 0:
                first = len(rows)
        target = "  (target p95 ≤ 20 ms)" if who == "clerk" else ""
        print(f"{label}: first page of {first} rows, p50 {_p(samples, 0.5):.1f} ms, p95 {_p(samples, 0.95):.1f} ms"
              f"{target}")
    if os.environ.get("BENCH_EXPLAIN") and connection.vendor == "postgresql":
        qs = selectors.window_queue(User.objects.get(username="clerk"))[:51]
        print(qs.explain(analyze=True))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--grids", type=int, default=10_000)
    parser.add_argument("--buildings", type=int, default=10, help="buildings per grid")
    parser.add_argument("--sites", type=int, default=600)
    parser.add_argument("--applications", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    from bench.registry import fresh_database

    data_dir = tempfile.mkdtemp(prefix="gongzhi-bench-govservice-")
    env = fresh_database(data_dir, "_govservice")
    url = env.get("GONGZHI_DATABASE_URL", "")
    print(f"# gongzhi services and sites benchmark ({'PostgreSQL' if url else 'SQLite'}, {os.cpu_count()} cores)")
    out = subprocess.run([sys.executable, __file__, "--child", "--grids", str(args.grids), "--buildings",
                          str(args.buildings), "--sites", str(args.sites), "--applications", str(args.applications),
                          "--repeat", str(args.repeat)], env={**os.environ, **env}, cwd=ROOT, text=True,
                         capture_output=True)
    print(out.stdout.rstrip())
    if out.returncode:
        print(out.stderr[-3000:])
        sys.exit(out.returncode)


if __name__ == "__main__":
    main()
