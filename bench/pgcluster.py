"""PostgreSQL clusters of one's own on loopback, for the failover drill and the replica test: a primary made with
``initdb`` and a hot standby copied from it with ``pg_basebackup`` (streaming replication, optionally synchronous),
each on a free port in a throw-away folder. Run as root, the servers run as the ``postgres`` user (PostgreSQL
refuses root)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import free_port


def bindir() -> Path | None:
    """Where initdb, pg_ctl and pg_basebackup live (the newest installed server), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def available() -> str:
    """Why clusters cannot be made here ("" when they can)."""
    if bindir() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) are not installed"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run the servers as"
    return ""


def _as_owner(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _run(args: list[str]) -> str:
    done = subprocess.run(_as_owner(args), capture_output=True, text=True, cwd="/tmp")
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass
class Cluster:
    datadir: Path
    port: int
    name: str
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.datadir.parent / f"{self.name}.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def ctl(self, *args: str) -> str:
        return _run([str(bindir() / "pg_ctl"), "-D", str(self.datadir), *args])

    def start(self) -> Cluster:
        self.ctl("-w", "-t", "60", "-l", str(self.log), "-o", f"-p {self.port} -k /tmp", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        self.ctl("-w", "-m", mode, "stop")

    def promote(self) -> None:
        self.ctl("-w", "-t", "60", "promote")

    def sql(self, statement: str, database: str = "postgres") -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            cur = conn.execute(statement)
            return cur.fetchall() if cur.description else []


def _folder(root: Path, name: str) -> Path:
    path = root / name
    path.mkdir(mode=0o700)
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    return path


def workspace() -> Path:
    root = Path(tempfile.mkdtemp(prefix="gongzhi-pg-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    return root


def primary(root: Path, name: str = "primary") -> Cluster:
    """A fresh primary that accepts replication connections from loopback."""
    datadir = _folder(root, name)
    _run([str(bindir() / "initdb"), "-D", str(datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
          "--locale=C.UTF-8"])
    with open(datadir / "postgresql.conf", "a") as conf:
        conf.write("listen_addresses = '127.0.0.1'\nwal_level = replica\nmax_wal_senders = 5\nhot_standby = on\n"
                   "fsync = on\nshared_buffers = 64MB\n")
    with open(datadir / "pg_hba.conf", "a") as hba:
        hba.write("host replication all 127.0.0.1/32 trust\n")
    return Cluster(datadir, free_port(), name).start()


def standby(root: Path, of: Cluster, name: str = "standby1") -> Cluster:
    """A hot standby of ``of`` by pg_basebackup (-R: it streams from ``of``, as application ``name``)."""
    datadir = _folder(root, name)
    _run([str(bindir() / "pg_basebackup"), "-D", str(datadir), "-X", "stream", "-R", "--checkpoint=fast",
          "-d", f"host=127.0.0.1 port={of.port} user=postgres application_name={name}"])
    return Cluster(datadir, free_port(), name).start()


def make_synchronous(primary_: Cluster, standby_name: str) -> None:
    """Commits wait until the standby has applied them: what the primary acknowledged survives its loss."""
    primary_.sql(f"ALTER SYSTEM SET synchronous_standby_names = '{standby_name}'")
    primary_.sql("ALTER SYSTEM SET synchronous_commit = 'remote_apply'")
    primary_.sql("SELECT pg_reload_conf()")
    for _ in range(100):
        rows = primary_.sql(f"SELECT sync_state FROM pg_stat_replication WHERE application_name = '{standby_name}'")
        if rows and rows[0][0] == "sync":
            return
        time.sleep(0.1)
    raise RuntimeError(f"{standby_name} did not become a synchronous standby")


def wait_replayed(primary_: Cluster, standby_: Cluster, timeout: float = 30.0) -> None:
    """Until the standby has replayed everything the primary has written so far."""
    (target,) = primary_.sql("SELECT pg_current_wal_lsn()::text")[0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (done,) = standby_.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")[0]
        if done:
            return
        time.sleep(0.05)
    raise RuntimeError("the standby did not catch up")


def remove(root: Path, *clusters: Cluster) -> None:
    for c in clusters:
        try:
            c.stop("immediate")
        except RuntimeError:
            pass  # already stopped (the drill crashes the primary on purpose)
    shutil.rmtree(root, ignore_errors=True)
