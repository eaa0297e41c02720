"""Failover drill (issue 15), scripted on loopback: promote the standby, repoint the platform, check that nothing
the primary acknowledged was lost.

    .venv/bin/python bench/failover_drill.py [--cases 200]

1. A primary of its own (initdb, on a free port) gets gongzhi's schema (`gongzhi manage migrate`) and a small area
   tree; a hot standby is copied from it with pg_basebackup and made **synchronous** (``synchronous_commit =
   remote_apply``: a commit is acknowledged once the standby has applied it).
2. ``--cases`` cases are reported through the platform's service; each id is kept only once its commit returned.
3. The primary is killed (``pg_ctl stop -m immediate``: no shutdown checkpoint, as in a crash).
4. The standby is promoted (``pg_ctl promote``) and the platform repointed to it (GONGZHI_DATABASE_URL); it must
   hold every acknowledged case, and take new ones.

The same steps on production servers: see README, "When the primary fails". With an asynchronous standby (the
PostgreSQL default) the last commits before a crash can be lost; a city that cannot lose an acknowledged report
runs a synchronous one, as here, and pays one network round trip per commit.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def env_for(url: str, data_dir: str, replicas: str = "") -> dict[str, str]:
    return {**os.environ, "GONGZHI_DATABASE_URL": url, "GONGZHI_DATA_DIR": data_dir,
            "GONGZHI_REPLICA_URLS": replicas, "DJANGO_SETTINGS_MODULE": "gongzhi.settings",
            "PYTHONPATH": str(ROOT)}


def child(env: dict[str, str], name: str, *args: str) -> Any:
    """Run one step in a Django process of its own; its last line of output is the step's JSON answer."""
    done = subprocess.run([sys.executable, __file__, "--child", name, *args], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"step {name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------ steps (in a child)


def _seed() -> dict[str, Any]:
    """A city down to one grid, a community worker who reports (alice) and a street official who reads (stan)."""
    from gongzhi.accounts import services as accounts
    from gongzhi.registry import services as registry
    from gongzhi.registry.models import AreaKind

    def add(parent: Any, name: str, code: str, kind: str) -> Any:
        return registry.area_create(actor=None, parent=parent, name=name, code=code, kind=kind)

    city = add(None, "演练市", "990100", AreaKind.CITY)
    district = add(city, "演练区", "990101", AreaKind.DISTRICT)
    street = add(district, "演练街道", "990101001000", AreaKind.STREET)
    community = add(street, "演练社区", "990101001001", AreaKind.COMMUNITY)
    grid = add(community, "演练社区第1网格", "990101001001001", AreaKind.GRID)
    keys = {}
    for username, role, area in (("alice", "community_worker", community), ("stan", "street_official", street)):
        user = accounts.user_create(actor=None, username=username, password="drill-pass-123")
        accounts.grant_role(actor=None, user=user, role=role, area=area)
        keys[username] = accounts.token_create(actor=None, user=user, name="drill")[1]
    return {"grid": grid.pk, "keys": keys}


def _write(n: int, grid_id: int) -> list[int]:
    """Report ``n`` cases; an id is kept once its commit returned (acknowledged to the reporter)."""
    from django.contrib.auth import get_user_model

    from gongzhi.cases import services
    from gongzhi.registry.models import Area

    alice = get_user_model().objects.get(username="alice")
    grid = Area.objects.get(pk=grid_id)
    return [services.case_submit(actor=alice, title=f"演练诉求{i}", description=f"演练诉求{i}", area=grid).pk
            for i in range(n)]


def _present(ids: list[int]) -> dict[str, Any]:
    from gongzhi.cases.models import Case

    found = set(Case.objects.filter(pk__in=ids).values_list("pk", flat=True))
    return {"present": len(found), "missing": sorted(set(ids) - found)[:20]}


def _status() -> list[dict[str, Any]]:
    from gongzhi.core import replicas

    return [{"alias": s.alias, "in_recovery": s.in_recovery, "lag": s.lag, "usable": s.usable}
            for s in replicas.status()]


def _routing(seed: dict[str, Any]) -> dict[str, Any]:
    """Reads of the marked views from the standby, the writer's own from the primary, a lagging standby skipped
    (GONGZHI_REPLICA_URLS names the standby). Replay is paused on the standby so that a stale read shows."""
    import io

    import psycopg
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import override_settings

    from gongzhi.core import replicas

    replica = settings.DATABASES["replica1"]
    standby = psycopg.connect(host=replica["HOST"], port=replica["PORT"], user=replica["USER"],
                              dbname=replica["NAME"], autocommit=True)
    alice = Client(HTTP_AUTHORIZATION=f"Bearer {seed['keys']['alice']}")
    stan = Client(HTTP_AUTHORIZATION=f"Bearer {seed['keys']['stan']}")
    anonymous = Client()

    def ids(client: Client, url: str) -> set[int]:
        answer = client.get(url)
        assert answer.status_code == 200, answer.content
        return {item["id"] for item in answer.json()["items"]}

    def report(title: str) -> int:
        made = alice.post("/api/v1/cases", {"title": title, "description": title, "area_id": seed["grid"]},
                          content_type="application/json")
        assert made.status_code == 201, made.content
        return int(made.json()["id"])

    def on_standby(pk: int) -> bool:
        return bool(standby.execute("SELECT count(*) FROM cases_case WHERE id = %s", [pk]).fetchone()[0])  # type: ignore[index]

    first = report("副本演练一")  # replayed before the pause, so the standby can tell its lag
    while not on_standby(first):
        time.sleep(0.05)
    out: dict[str, Any] = {"before": _status()}
    standby.execute("SELECT pg_wal_replay_pause()")
    new = report("副本演练二")
    out["writer sees her case"] = new in ids(alice, "/api/v1/cases?queue=all")
    out["reader sees it on the paused standby"] = new in ids(stan, "/api/v1/cases?queue=all")
    out["public list shows it on the paused standby"] = new in ids(anonymous, "/api/v1/public/cases")
    buffer = io.StringIO()
    try:
        call_command("replicas", stdout=buffer)
    except Exception as exc:  # CommandError when a standby is unfit: its lines were written before
        out["command error"] = str(exc)
    out["command"] = buffer.getvalue()
    time.sleep(1.2)  # the paused standby falls behind
    with override_settings(GONGZHI_REPLICA_MAX_LAG=0.5):
        replicas.forget_lags()
        out["lagging standby skipped: reader sees it"] = new in ids(stan, "/api/v1/cases?queue=all")
        out["lagging"] = _status()
    standby.execute("SELECT pg_wal_replay_resume()")
    for _ in range(200):
        if on_standby(new):
            break
        time.sleep(0.05)
    replicas.forget_lags()
    out["standby caught up: reader sees it"] = new in ids(stan, "/api/v1/cases?queue=all")
    out["after"] = _status()
    return out


def run_child(name: str, args: list[str]) -> None:
    import django

    django.setup()
    if name == "seed":
        out: Any = _seed()
    elif name == "write":
        out = _write(int(args[0]), int(args[1]))
    elif name == "present":
        out = _present(json.loads(Path(args[0]).read_text()))
    elif name == "status":
        out = _status()
    elif name == "routing":
        out = _routing(json.loads(Path(args[0]).read_text()))
    else:
        raise SystemExit(f"unknown step {name}")
    print(json.dumps(out))


# ------------------------------------------------------------------------------------------ the drill


def prepare(root: Path, data_dir: str, *, synchronous: bool = True) -> tuple[Any, Any, dict[str, Any]]:
    """Primary with the schema and the seed, then its standby. Returns (primary, standby, seed)."""
    from bench import pgcluster

    primary = pgcluster.primary(root)
    standby = None
    try:
        primary.sql("CREATE DATABASE gongzhi")
        env = env_for(primary.url("gongzhi"), data_dir)
        for step in (["migrate", "-v0"], ["createcachetable"]):
            subprocess.run([sys.executable, "-m", "gongzhi.cli", "manage", *step], env=env, cwd=ROOT, check=True,
                           capture_output=True)
        seed = child(env, "seed")
        standby = pgcluster.standby(root, primary)
        if synchronous:
            pgcluster.make_synchronous(primary, "standby1")
    except BaseException:  # no server left running on a failed preparation
        pgcluster.remove(root, *([standby] if standby else []), primary)
        raise
    return primary, standby, seed


def drill(root: Path, primary: Any, standby: Any, seed: dict[str, Any], data_dir: str, cases: int) -> dict[str, Any]:
    """Steps 2–4; returns what was acknowledged, what the promoted standby holds and the time each step took."""
    took: dict[str, float] = {}
    t = time.perf_counter()
    ids = child(env_for(primary.url("gongzhi"), data_dir), "write", str(cases), str(seed["grid"]))
    took["write"] = time.perf_counter() - t
    t = time.perf_counter()
    primary.stop("immediate")
    took["crash"] = time.perf_counter() - t
    t = time.perf_counter()
    standby.promote()
    took["promote"] = time.perf_counter() - t
    repointed = env_for(standby.url("gongzhi"), data_dir)
    acknowledged = root / "acknowledged.json"
    acknowledged.write_text(json.dumps(ids))
    t = time.perf_counter()
    found = child(repointed, "present", str(acknowledged))
    after = child(repointed, "write", "1", str(seed["grid"]))
    took["repoint and check"] = time.perf_counter() - t
    return {"acknowledged": len(ids), "present": found["present"], "missing": found["missing"],
            "written after": len(after), "took": took}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child[0], args.child[1:])
        return
    import tempfile

    from bench import pgcluster

    why = pgcluster.available()
    if why:
        sys.exit(why)
    root = pgcluster.workspace()
    data_dir = tempfile.mkdtemp(prefix="gongzhi-drill-")
    t = time.perf_counter()
    primary, standby, seed = prepare(root, data_dir)
    print(f"# failover drill on loopback: primary :{primary.port}, synchronous standby :{standby.port} "
          f"(ready in {time.perf_counter() - t:.1f} s)")
    try:
        result = drill(root, primary, standby, seed, data_dir, args.cases)
    finally:
        pgcluster.remove(root, standby, primary)
    for step, seconds in result["took"].items():
        print(f"  {step:<18} {seconds:6.2f} s")
    ok = result["present"] == result["acknowledged"] and result["written after"] == 1
    print(f"acknowledged {result['acknowledged']}, present after the failover {result['present']}, "
          f"missing {result['missing'] or 'none'}; a new case written on the promoted server: "
          f"{'yes' if result['written after'] else 'no'}  →  {'PASSED' if ok else 'FAILED'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
