"""The README's first command, minus the bootstrap: ``gongzhi up`` on a fresh data folder migrates an embedded
SQLite database, loads the demo city, collects static files and serves them with gunicorn."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_up_serves_the_demo_city_with_static_files_from_a_fresh_folder(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"GONGZHI_DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env["GONGZHI_DATA_DIR"] = str(tmp_path)
    server = subprocess.Popen(
        [sys.executable, "-m", "gongzhi.cli", "up", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 300  # migrate, collect static files, load the demo city on a busy machine
        page = ""
        while time.monotonic() < deadline:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=2).read().decode()
                break
            except OSError:
                if server.poll() is not None:
                    break
                time.sleep(0.5)
        assert page, "the server did not answer"
        assert (tmp_path / "gongzhi.sqlite3").exists()
        static = [line.split('"')[0] for line in page.split('/static/')[1:]]
        assert static, "the login page references no static file"
        asset = urllib.request.urlopen(f"http://127.0.0.1:{port}/static/{static[0]}", timeout=5)
        assert asset.status == 200 and asset.read()
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert "演示账号" in out and "community" in out
