"""Load on loopback for the benchmarks: the production server (gunicorn as `gongzhi up` runs it) or the bare
ceiling (`bench/bare_app.py`) on a free port, driven by wrk with a Lua script; figures parsed from wrk's output."""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The production server configuration of `gongzhi up`; GONGZHI_BENCH_SERVER overrides it for experiments.
SERVER_ARGS = os.environ.get("GONGZHI_BENCH_SERVER", "--workers 2 --worker-class gthread --threads 4").split()
SERVER_LABEL = os.environ.get("GONGZHI_BENCH_SERVER", "2 gthread workers × 4 threads")

# wrk calls request() once per request; each request reports from another grid's centre.
BODY = "%E6%A5%BC%E9%81%93%E5%A0%86%E6%94%BE%E6%9D%82%E7%89%A9+"  # 楼道堆放杂物, URL-encoded
OPEN311 = """
local points = {points}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
request = function()
  i = i + 1
  local p = points[(i % #points) + 1]
  local body = "api_key={key}&service_code=030602&lat=" .. p[2] .. "&long=" .. p[1] .. "&description={body}" .. i
  return wrk.format(nil, "{path}", nil, body)
end
"""
API = """
local points = {points}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
request = function()
  i = i + 1
  local p = points[(i % #points) + 1]
  local body = '{{"title": "楼道堆放杂物", "description": "楼道堆放杂物 ' .. i .. '", "lng": ' .. p[1] ..
               ', "lat": ' .. p[2] .. '}}'
  return wrk.format(nil, "/api/v1/cases", nil, body)
end
"""


def env_for(url: str, data_dir: str) -> dict[str, str]:
    return {**os.environ, "GONGZHI_DATABASE_URL": url, "GONGZHI_DATA_DIR": data_dir,
            "DJANGO_SETTINGS_MODULE": "gongzhi.settings"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(env: dict[str, str], *, bare: bool = False, probe: str = "/open311/v2/discovery.json") -> Iterator[str]:
    """A gunicorn serving gongzhi (or the bare ceiling) until the block ends; yields its base URL."""
    port = free_port()
    app = "django.core.wsgi:get_wsgi_application()" if bare else "gongzhi.wsgi:application"
    server_env = {**env, "GONGZHI_CONN_MAX_AGE": "600", "PYTHONPATH": str(ROOT)}
    if bare:
        server_env["DJANGO_SETTINGS_MODULE"] = "bench.bare_app"
    # The server's log goes to a file (a pipe nobody reads would fill and stall the workers); printed on failure.
    log = Path(tempfile.mkstemp(prefix="gongzhi-bench-server-", suffix=".log")[1])
    with open(log, "w") as sink:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}",
                                   *SERVER_ARGS], env=server_env, cwd=ROOT, stdout=sink, stderr=sink)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + ("/list" if bare else probe), timeout=2)
                break
            except urllib.error.HTTPError:
                break  # it answers
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError(log.read_text()[-5000:]) from None
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        errors = [line for line in log.read_text(errors="replace").splitlines() if "Error" in line or "error" in line]
        if errors:
            print(f"  (server log {log}: {len(errors)} error lines, e.g. {errors[-1][:200]})", flush=True)


def lua_file(source: str) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(source)
        return fh.name


def _ms(text: str) -> float:
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60_000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def wrk(base: str, lua: str, *, duration: int, connections: int, warm: int = 3) -> dict[str, float]:
    """req/s, p50/p90/p99 (ms) and non-2xx answers of one wrk run (after a short warm-up run)."""
    if warm:
        subprocess.run(["wrk", "-t1", "-c2", f"-d{warm}s", "-s", lua, base], capture_output=True)
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", lua, base],
                         capture_output=True, text=True).stdout
    figures: dict[str, float] = {"errors": 0.0}
    for line in out.splitlines():
        parts = line.split()
        if line.strip().startswith("Requests/sec:"):
            figures["rps"] = float(parts[1])
        elif parts[:1] in (["50%"], ["90%"], ["99%"]):
            figures["p" + parts[0].rstrip("%")] = _ms(parts[1])
        elif "Non-2xx" in line:
            figures["errors"] = float(parts[-1])
        elif line.strip().startswith("Socket errors"):
            figures["errors"] += sum(int(p.rstrip(",")) for p in parts if p.rstrip(",").isdigit())
    if "rps" not in figures:
        raise RuntimeError("wrk printed no figures:\n" + out)
    return figures


def token_and_points(env: dict[str, str], username: str = "grid", points: int = 500) -> tuple[str, list[list[float]]]:
    """An API key of ``username`` and grid centres to report from, spread over the city."""
    script = f"""
import django, json; django.setup()
from django.contrib.auth import get_user_model
from gongzhi.accounts.services import token_create
from gongzhi.registry.geo import grid_index
import shapely
user = get_user_model().objects.get(username={username!r})
_, key = token_create(actor=None, user=user, name="bench")
idx = grid_index()
pts = shapely.get_coordinates(shapely.centroid(idx.tree.geometries[::7]))
print(json.dumps({{"key": key, "points": pts.round(6).tolist()[:{points}]}}))
"""
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout
    data = json.loads(out.strip().splitlines()[-1])
    return data["key"], data["points"]


def lua_points(points: list[list[float]]) -> str:
    return "{" + ",".join(f"{{{lng},{lat}}}" for lng, lat in points) + "}"


def load_average() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load {one:.2f} / {five:.2f}"


def interleaved(env: dict[str, str], scripts: dict[str, str], *, bare: str, rounds: int, duration: int,
                connections: int) -> dict[str, list[dict[str, float]]]:
    """Round by round, each script under wrk — the one named ``bare`` against the bare ceiling, the others
    against gongzhi — both servers up the whole time; prints every run. Returns the runs by script."""
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in scripts}
    with serve(env, bare=True) as ceiling, serve(env) as gongzhi:
        for round_no in range(1, rounds + 1):
            for name, lua in scripts.items():
                f = wrk(ceiling if name == bare else gongzhi, lua, duration=duration, connections=connections)
                runs[name].append(f)
                print(f"round {round_no} {name:<13} {f['rps']:8.0f} req/s  p50 {f['p50']:6.1f} ms  "
                      f"p99 {f['p99']:6.1f} ms  errors {f['errors']:.0f}  ({load_average()})", flush=True)
    return runs


def median(runs: list[dict[str, float]], figure: str) -> float:
    return statistics.median(r[figure] for r in runs)


def postgres_and_wrk() -> str:
    """The PostgreSQL URL the benchmark may drop and recreate, once wrk is there too (else exit, saying why)."""
    url = os.environ.get("GONGZHI_DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("set GONGZHI_DATABASE_URL to a PostgreSQL database (it is dropped and recreated)")
    if not shutil.which("wrk"):
        sys.exit("wrk is needed for the load: apt-get install wrk")
    return url
