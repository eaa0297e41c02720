"""The ``gongzhi`` command: ``gongzhi up`` prepares and serves the platform; other words go to Django's manage.

    gongzhi up [--bind 127.0.0.1:8000] [--workers 2] [--size small|city] [--no-jobs]
    gongzhi manage <django command> ...
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys


def _django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongzhi.settings")
    import django

    django.setup()


def _print_accounts() -> None:
    from django.contrib.auth import get_user_model

    from gongzhi.accounts.roles import POLICIES
    from gongzhi.registry.demo import DEMO_ACCOUNTS, DEMO_PASSWORD

    users = {u.username: u for u in get_user_model().objects.filter(username__in=[a[0] for a in DEMO_ACCOUNTS])}
    if not users:
        return
    print(f"演示账号 Demo accounts (密码 password: {DEMO_PASSWORD})")
    for username, role, _where in DEMO_ACCOUNTS:
        if username in users:
            print(f"  {username:<11} {POLICIES[role].role.label}")


def _is_loopback_bind(bind: str) -> bool:
    import ipaddress

    if bind.startswith("unix:"):
        return True
    host = bind.rsplit(":", 1)[0].strip("[]") if ":" in bind else bind
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _print_first_run(bind: str) -> None:
    """On an empty platform: a one-time token for the first-run page (needed from any machine but this one)."""
    import secrets

    from django.conf import settings

    from gongzhi.accounts.services import needs_bootstrap

    token_file = settings.DATA_DIR / "setup_token"
    if not needs_bootstrap():
        token_file.unlink(missing_ok=True)
        return
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    token_file.write_text(token, encoding="utf-8")
    token_file.chmod(0o600)
    print("平台尚未初始化 (first start). 打开首次启动页面 open the first-run page:")
    print(f"  http://{bind}/accounts/setup/?token={token}")
    print("  或 or: gongzhi manage bootstrap --city-name … --city-code … --username …", flush=True)


def up(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="gongzhi up", description="migrate, load the demo city if empty, serve")
    parser.add_argument("--bind", default=os.environ.get("GONGZHI_BIND", "127.0.0.1:8000"))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("GONGZHI_WORKERS", "2")))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("GONGZHI_THREADS", "4")))
    parser.add_argument("--size", default="small", help="demo city size when the database is empty")
    parser.add_argument("--no-demo", action="store_true", help="do not load the demo city")
    parser.add_argument("--demo", action="store_true",
                        help="load the demo city (with its published passwords) even on a non-loopback bind")
    parser.add_argument("--check", action="store_true", help="prepare everything, then exit instead of serving")
    parser.add_argument("--no-jobs", action="store_true",
                        help="do not run the deadline jobs nor the background-job worker beside the server")
    args = parser.parse_args(argv)

    _django_setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    # Demo accounts share a published password: by default only on a server that answers this machine alone.
    loopback = _is_loopback_bind(args.bind)
    if args.demo or (loopback and not args.no_demo):
        call_command("demo_city", size=args.size, if_empty=True)
    elif not args.no_demo:
        print("未载入演示城市：监听地址不是本机 (no demo on a non-loopback bind; pass --demo to load it)")
    _print_accounts()
    _print_first_run(args.bind)
    if args.check:
        return 0
    print(f"共治 gongzhi 已启动: http://{args.bind}/  (Ctrl+C 停止)", flush=True)
    gunicorn = [
        sys.executable, "-m", "gunicorn", "gongzhi.wsgi:application",
        "--bind", args.bind,
        "--workers", str(args.workers),
        "--worker-class", "gthread",
        "--threads", str(args.threads),
        "--access-logfile", "-",
        "--graceful-timeout", "10",
        "--no-control-socket",  # gunicorn ≥ 25.1 opens one ~/.gunicorn/gunicorn.ctl shared by every instance
    ]
    # Beside the server: the deadline jobs (overdue flags, due-soon warnings) every minute, and the worker of the
    # background jobs (imports, exports: django-tasks' database worker). In production run them as services of
    # their own (`gongzhi manage case_jobs`, `gongzhi manage db_worker`), with --no-jobs here.
    helpers: list[subprocess.Popen[bytes]] = []
    if not args.no_jobs:
        manage = [sys.executable, "-m", "gongzhi.cli", "manage"]
        helpers.append(subprocess.Popen([*manage, "case_jobs", "--loop", "60"]))
        helpers.append(subprocess.Popen([*manage, "jobs_worker", "--no-reload", "--queue-name", "default"]))
    server = subprocess.Popen(gunicorn)

    def stop(signum: int, frame: object) -> None:
        server.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        return server.wait()
    finally:
        for helper in helpers:
            helper.terminate()  # the worker finishes the job it is running (a second signal would cut it short)
        for helper in helpers:
            try:
                helper.wait(timeout=30)
            except subprocess.TimeoutExpired:
                helper.kill()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    if argv[0] == "up":
        return up(argv[1:])
    if argv[0] == "manage":
        argv = argv[1:]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongzhi.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["gongzhi", *argv])
    return 0


if __name__ == "__main__":
    sys.exit(main())
