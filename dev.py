#!/usr/bin/env python3
"""Bootstrap for a fresh machine that has only Python 3.11 and git (standard library only).

    python3 dev.py up     create .venv, install, migrate the embedded SQLite database, load the demo city, serve
    python3 dev.py test   create .venv with the test tools, make sure Chromium and a CJK font exist, run every test

Extra arguments after ``test`` go to pytest; after ``up`` to ``gongzhi up``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def run(cmd: list[str], **kw: object) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)  # type: ignore[call-overload]


def ensure_venv(extra: str | None) -> None:
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"gongzhi needs Python 3.11 (this is {sys.version.split()[0]})")
    if not PY.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    spec = "." + (f"[{extra}]" if extra else "")
    stamp = VENV / f".installed-{extra or 'base'}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    run([str(PY), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    run([str(PY), "-m", "pip", "install", "--quiet", "-e", spec], cwd=ROOT)
    stamp.write_text(digest)


def ensure_browser() -> None:
    """Debian's chromium and a CJK font for the browser tests (without the font Chinese renders as boxes)."""
    have_font = subprocess.run("fc-list 2>/dev/null | grep -qi wqy", shell=True).returncode == 0
    # WeasyPrint (the PDF reports) needs Pango; chromium usually brings it, but ask for it by name.
    have_pango = subprocess.run("ldconfig -p 2>/dev/null | grep -q libpangoft2", shell=True).returncode == 0
    if shutil.which("chromium") and have_font and have_pango:
        return
    if os.geteuid() != 0:
        sys.exit("browser tests need: apt-get install chromium fonts-wqy-zenhei libpango-1.0-0 libpangoft2-1.0-0"
                 " (run this as root once)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-qq"], env=env)
    run(["apt-get", "install", "-y", "-qq", "chromium", "fonts-wqy-zenhei", "libpango-1.0-0", "libpangoft2-1.0-0"],
        env=env)


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"up", "test"}:
        print(__doc__)
        return 2
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "up":
        ensure_venv(None)
        os.execv(str(BIN / "gongzhi"), [str(BIN / "gongzhi"), "up", *rest])
    ensure_venv("test")
    ensure_browser()
    return subprocess.run([str(PY), "-m", "pytest", *rest], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
