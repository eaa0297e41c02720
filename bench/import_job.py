"""A 100,000-row people import as a background job (issue 9, item 4), with logins by another user during it.

Usage: .venv/bin/python bench/import_job.py [--rows 100000]
       GONGZHI_DATABASE_URL=postgres://postgres@127.0.0.1/gongzhi_bench .venv/bin/python bench/import_job.py

Builds a small area tree (one street, two communities, 40 buildings) and two accounts in a throw-away data folder
(SQLite) or a recreated PostgreSQL database, writes the people sheet, serves the platform with gunicorn (1 worker,
4 threads) beside the django-tasks database worker — the `gongzhi up` layout — uploads the file through the
transfer page, follows the job's status.json every second and, meanwhile, logs another user in every 2 seconds.
Prints the import time (upload → job done), the worker's peak memory (VmHWM) and the login latencies.
Targets: import ≤ 60 s, login ≤ 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.registry import fresh_database  # noqa: E402

PASSWORD = "bench-pass-9071"
BUILDINGS = 40


def child_setup(rows: int, sheet: str) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from openpyxl import Workbook

    from gongzhi.accounts import services as accounts
    from gongzhi.registry import services as registry
    from gongzhi.registry.models import AreaKind

    call_command("migrate", verbosity=0)

    def add(parent, name, code, kind):  # type: ignore[no-untyped-def]
        return registry.area_create(actor=None, parent=parent, name=name, code=code, kind=kind)

    city = add(None, "基准市", "980100", AreaKind.CITY)
    district = add(city, "基准区", "980101", AreaKind.DISTRICT)
    street = add(district, "基准街道", "980101001000", AreaKind.STREET)
    codes = []
    for c in range(2):
        community = add(street, f"基准第{c + 1}社区", f"98010100100{c + 1}", AreaKind.COMMUNITY)
        grid = add(community, f"基准第{c + 1}社区第1网格", f"98010100100{c + 1}001", AreaKind.GRID)
        compound = add(grid, f"基准{c + 1}花园", f"98010100100{c + 1}00101", AreaKind.COMPOUND)
        for b in range(BUILDINGS // 2):
            codes.append(add(compound, f"{b + 1}号楼", f"98010100100{c + 1}00101{b + 1:03d}", AreaKind.BUILDING).code)
    for name, role, area in (("importer", "sysadmin", city), ("visitor", "street_official", street)):
        user = accounts.user_create(actor=None, username=name, password=PASSWORD)
        accounts.grant_role(actor=None, user=user, role=role, area=area)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("人员")
    ws.append(["姓名", "区域代码", "电话", "身份证号", "困难/独居"])
    for i in range(rows):
        ws.append([f"居民{i:06d}", codes[i % len(codes)], f"139{i:08d}", "", "是" if i % 17 == 0 else ""])
    wb.save(sheet)


def child_worker() -> None:
    """The django-tasks database worker, as `gongzhi up` starts it (the registry's own per-file limit applies)."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("jobs_worker", "--no-reload", "--no-startup-delay", "--interval", "0.2", verbosity=0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _session(base: str, username: str) -> tuple[urllib.request.OpenerDirector, CookieJar, float]:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(base + "/login/", timeout=30).read()
    token = next(c.value for c in jar if c.name == "csrftoken")
    data = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token}).encode()
    started = time.perf_counter()
    response = opener.open(urllib.request.Request(base + "/login/", data=data, headers={"Referer": base + "/login/"}),
                           timeout=30)
    response.read()
    elapsed = time.perf_counter() - started
    if "/login/" in response.geturl():
        raise RuntimeError(f"login of {username} failed")
    return opener, jar, elapsed


def _multipart(fields: dict[str, str], name: str, filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for key, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    parts.append((f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                  "Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n").encode())
    parts.append(content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--child", choices=["setup", "worker"])
    parser.add_argument("--sheet", default="")
    args = parser.parse_args()
    if args.child == "setup":
        return child_setup(args.rows, args.sheet)
    if args.child == "worker":
        return child_worker()

    data_dir = tempfile.mkdtemp(prefix="gongzhi-bench-jobs-")
    env = {**os.environ, **fresh_database(data_dir, "_jobs"),
           "GONGZHI_IMPORT_JOB_BYTES": "0"}  # every upload a job, whatever its size
    database = "PostgreSQL" if env.get("GONGZHI_DATABASE_URL") else "SQLite"
    sheet = str(Path(data_dir) / "people.xlsx")
    t = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--child", "setup", "--rows", str(args.rows), "--sheet", sheet],
                   env=env, cwd=ROOT, check=True)
    print(f"database: {database}   rows: {args.rows:,}   setup: {time.perf_counter() - t:.1f} s   "
          f"file: {Path(sheet).stat().st_size / 1e6:.1f} MB")
    subprocess.run([sys.executable, "-m", "django", "collectstatic", "--noinput", "-v0"], env=env, check=True,
                   cwd=ROOT)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server_log = Path(data_dir) / "server.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "gongzhi.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--worker-class", "gthread", "--threads", "4"],
        # The server's log goes to a file: a pipe read only at the end would fill up and stall the server.
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=server_log.open("wb"))
    worker = subprocess.Popen([sys.executable, __file__, "--child", "worker"], env=env, cwd=ROOT)
    logins: list[float] = []
    idle: list[float] = []
    failures: list[str] = []
    polls: list[float] = []
    stalls: list[str] = []
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/login/", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        opener, _jar, _t = _session(base, "importer")
        _session(base, "visitor")  # warm up the login path once
        idle.extend(_session(base, "visitor")[2] for _ in range(3))  # the same login with nothing else running
        page = opener.open(base + "/transfer/").read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, "no CSRF token on the transfer page"
        body, ctype = _multipart({"csrfmiddlewaretoken": token.group(1), "kind": "people", "dry_run": "0"},
                                 "file", "people.xlsx", Path(sheet).read_bytes())
        started = time.perf_counter()
        response = opener.open(urllib.request.Request(base + "/transfer/", data=body, headers={
            "Content-Type": ctype, "Referer": base + "/transfer/"}), timeout=120)
        upload_seconds = time.perf_counter() - started
        found = re.search(r"[?&]job=(\d+)", response.geturl())
        assert found, f"the upload did not become a job: {response.geturl()}"
        job_id = int(found.group(1))
        print(f"upload answered in {upload_seconds:.2f} s → job {job_id}")

        stop = threading.Event()

        def login_loop() -> None:
            while not stop.is_set():
                try:
                    logins.append(_session(base, "visitor")[2])
                except (urllib.error.HTTPError, OSError, RuntimeError) as exc:
                    failures.append(repr(exc))
                stop.wait(2)

        thread = threading.Thread(target=login_loop, daemon=True)
        thread.start()
        status: dict = {}
        last = ""
        while True:
            asked = time.perf_counter()
            try:
                status = json.loads(opener.open(f"{base}/jobs/{job_id}/status.json", timeout=30).read())
            except (urllib.error.HTTPError, OSError) as exc:
                stalls.append(f"{time.perf_counter() - started:.0f} s: {exc!r}")
                continue
            polls.append(time.perf_counter() - asked)
            figures = f"{status['state']:<8} {status['done']:>7,}/{status['total']:,}"
            if figures != last:
                print(f"  {time.perf_counter() - started:6.1f} s  {figures}", flush=True)
                last = figures
            if status["finished"]:
                break
            time.sleep(1)
        total_seconds = time.perf_counter() - started
        stop.set()
        thread.join(timeout=30)
        peak = _peak_kb(worker.pid) / 1024
    finally:
        worker.terminate()
        server.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:  # in the middle of a long import: it would finish it first
            worker.kill()
        server.wait(timeout=30)
    err = server_log.read_text(encoding="utf-8", errors="replace")
    causes = sorted({line.strip() for line in err.splitlines()
                     if "Error:" in line and not line.startswith(" ")})
    report = status.get("report", {})
    print(f"job: {status.get('state')}  created {report.get('created')}  errors {report.get('errors')}")
    if status.get("errors"):
        print("  first errors:", status["errors"][:3])
    print(f"import as a job: {total_seconds:.1f} s   (target ≤ 60 s: {verdict(total_seconds <= 60)})")
    print(f"worker peak memory (VmHWM): {peak:.0f} MB")
    if idle:
        print(f"login with nothing running: p50 {statistics.median(idle) * 1000:.0f} ms  max {max(idle) * 1000:.0f} ms")
    if logins:
        print(f"logins during the import: {len(logins)}  p50 {statistics.median(logins) * 1000:.0f} ms  "
              f"max {max(logins) * 1000:.0f} ms   (target ≤ 1000 ms: "
              f"{verdict(max(logins) <= 1 and not failures)})")
    if polls:
        print(f"progress polls: {len(polls)}  p50 {statistics.median(polls) * 1000:.0f} ms  "
              f"max {max(polls) * 1000:.0f} ms  failed {len(stalls)}" + (f"  e.g. {stalls[0]}" if stalls else ""))
    print(f"failed logins: {len(failures)}" + (f"  e.g. {failures[0]}" if failures else ""))
    for cause in causes[:5]:
        print(f"  server error: {cause[:200]}")


if __name__ == "__main__":
    main()
