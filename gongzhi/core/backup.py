"""Backups a city can restore (issue 15, item 5): one ``.tar.gz`` holding the database and the uploaded files, with a
manifest of every table's row count and a checksum, so a restore proves itself before anyone relies on it.

- SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot while the platform runs.
- PostgreSQL: ``pg_dump --format=custom`` (the same major version as the server), restored with ``pg_restore``.
- The MySQL family: ``mysqldump --single-transaction`` (a consistent snapshot of InnoDB tables while the platform
  runs), restored with the ``mysql`` client.
- Uploaded files: ``MEDIA_ROOT`` as ``media/`` in the archive.

The checksum covers the row counts and the audit trail (id, action, object, time of every entry, in order): the trail
is append-only and touches every change, so a restore that lost or reordered a write does not match.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections

FORMAT = 1
DB_SQLITE = "database.sqlite3"
DB_DUMP = "database.dump"
DB_MYSQL = "database.sql"
ENGINES = {"sqlite3": "sqlite", "postgresql": "postgresql", "mysql": "mysql"}
AUDIT_TABLE = "core_auditentry"


class BackupError(Exception):
    """The archive cannot be written or restored as asked (the message says why, in Chinese first)."""


@dataclass
class Manifest:
    vendor: str
    created_at: str
    counts: dict[str, int]
    checksum: str
    media_files: int

    def as_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "vendor": self.vendor, "created_at": self.created_at, "counts": self.counts,
                "checksum": self.checksum, "media_files": self.media_files}


def _tables(using: str) -> list[str]:
    connection = connections[using]
    with connection.cursor() as cursor:
        names = connection.introspection.table_names(cursor)
    return sorted(n for n in names if not n.startswith("sqlite_"))


def _fingerprint(cursor: Any, tables: Iterable[str], quote: Any) -> tuple[dict[str, int], str]:
    """Row counts of ``tables`` and the checksum, read through any DB-API cursor (the live or the restored one)."""
    counts: dict[str, int] = {}
    for table in tables:
        cursor.execute(f"SELECT count(*) FROM {quote(table)}")
        counts[table] = int(cursor.fetchone()[0])
    digest = hashlib.sha256(json.dumps(counts, sort_keys=True).encode())
    if AUDIT_TABLE in counts:
        cursor.execute(f"SELECT id, action, object_type, object_id, at FROM {quote(AUDIT_TABLE)} ORDER BY id")
        while rows := cursor.fetchmany(5000):
            for row in rows:
                digest.update(repr((row[0], row[1], row[2], row[3], _instant(row[4]))).encode())
    return counts, digest.hexdigest()


def _instant(value: Any) -> str:
    """The audit time as one text whatever the driver returns (SQLite: text; PostgreSQL: an aware datetime)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return str(value)


def fingerprint(using: str = "default") -> tuple[dict[str, int], str]:
    connection = connections[using]
    with connection.cursor() as cursor:
        return _fingerprint(cursor, _tables(using), connection.ops.quote_name)


def _pg_args(db: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    args = ["--dbname", db["NAME"]]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            args += [flag, str(db[key])]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def _mysql_args(db: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    args = ["--default-character-set=utf8mb4"]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--user", "USER")):
        if db.get(key):
            args.append(f"{flag}={db[key]}")
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["MYSQL_PWD"] = str(db["PASSWORD"])  # not on the command line, where `ps` shows it
    return args, env


def _run(command: list[str], env: dict[str, str], *, stdin: Path | None = None, stdout: Path | None = None) -> None:
    if shutil.which(command[0]) is None:
        client = "postgresql-client" if command[0].startswith("pg_") else "mariadb-client"
        raise BackupError(f"找不到 {command[0]}：请安装与数据库服务器同一大版本的客户端 ({client})")
    with open(stdin or os.devnull, "rb") as source, open(stdout or os.devnull, "wb") as sink:
        done = subprocess.run(command, env=env, stdin=source, stdout=sink, stderr=subprocess.PIPE)
    if done.returncode:
        raise BackupError(f"{command[0]} 失败：{done.stderr.decode(errors='replace').strip()[-800:]}")


def backup(out: Path, *, using: str = "default", media_root: Path | None = None) -> Manifest:
    """Write the archive to ``out`` (a ``.tar.gz``); returns its manifest."""
    connection = connections[using]
    media = Path(media_root or settings.MEDIA_ROOT)
    counts, checksum = fingerprint(using)
    with tempfile.TemporaryDirectory(prefix="gongzhi-backup-") as work:
        folder = Path(work)
        if connection.vendor == "sqlite":
            connection.ensure_connection()
            target = sqlite3.connect(folder / DB_SQLITE)
            try:
                connection.connection.backup(target)  # a consistent snapshot, the platform still running
            finally:
                target.close()
            db_file = DB_SQLITE
        elif connection.vendor == "postgresql":
            args, env = _pg_args(connection.settings_dict)
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file",
                  str(folder / DB_DUMP), *args], env)
            db_file = DB_DUMP
        elif connection.vendor == "mysql":
            args, env = _mysql_args(connection.settings_dict)
            _run(["mysqldump", *args, "--single-transaction", "--routines", "--triggers", "--no-tablespaces",
                  "--hex-blob", connection.settings_dict["NAME"]], env, stdout=folder / DB_MYSQL)
            db_file = DB_MYSQL
        else:
            raise BackupError(f"不支持备份 {connection.vendor} 数据库")
        files = [p for p in media.rglob("*") if p.is_file()] if media.is_dir() else []
        manifest = Manifest(vendor=connection.vendor, created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                            counts=counts, checksum=checksum, media_files=len(files))
        (folder / "manifest.json").write_text(json.dumps(manifest.as_dict(), ensure_ascii=False, indent=1))
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(folder / "manifest.json", arcname="manifest.json")
            tar.add(folder / db_file, arcname=db_file)
            for path in files:
                tar.add(path, arcname=str(Path("media") / path.relative_to(media)))
        partial.replace(out)  # never a half-written archive under the final name
    return manifest


def read_manifest(archive: Path) -> Manifest:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile("manifest.json")
            if member is None:
                raise KeyError("manifest.json")
            data = json.loads(member.read())
    except (OSError, KeyError, tarfile.TarError, json.JSONDecodeError) as exc:
        raise BackupError(f"不是共治的备份文件：{exc}") from None
    if data.get("format") != FORMAT:
        raise BackupError(f"备份格式 {data.get('format')} 不受支持")
    return Manifest(vendor=data["vendor"], created_at=data["created_at"], counts=data["counts"],
                    checksum=data["checksum"], media_files=data["media_files"])


def restore(archive: Path, *, using: str = "default", database: dict[str, Any] | None = None,
            media_root: Path | None = None) -> Manifest:
    """Restore ``archive`` into the database ``using`` (or the one described by ``database``, a DATABASES entry:
    a fresh database for a restore drill) and its files into ``media_root``; then count and checksum the restored
    database and refuse (:class:`BackupError`) unless both equal the manifest's."""
    manifest = read_manifest(archive)
    target = database or connections[using].settings_dict
    vendor = ENGINES.get(target["ENGINE"].rsplit(".", 1)[-1], "")
    if vendor != manifest.vendor:
        raise BackupError(f"备份来自 {manifest.vendor}，不能恢复到 {vendor or target['ENGINE']}")
    media = Path(media_root or settings.MEDIA_ROOT)
    with tempfile.TemporaryDirectory(prefix="gongzhi-restore-") as work:
        folder = Path(work)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(folder, filter="data")
        if vendor == "sqlite":
            source = sqlite3.connect(folder / DB_SQLITE)
            if database is None:
                connection = connections[using]
                connection.ensure_connection()
                destination = connection.connection
                close = False
            else:
                destination, close = sqlite3.connect(target["NAME"]), True
            try:
                source.backup(destination)
            finally:
                source.close()
            if close:
                destination.close()
        elif vendor == "mysql":
            if database is None:
                connections[using].close()
            args, env = _mysql_args(target)
            _run(["mysql", *args, target["NAME"]], env, stdin=folder / DB_MYSQL)
        else:
            if database is None:
                connections[using].close()
            args, env = _pg_args(target)
            _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--exit-on-error",
                  *args, str(folder / DB_DUMP)], env)
        if (folder / "media").is_dir():
            media.mkdir(parents=True, exist_ok=True)
            shutil.copytree(folder / "media", media, dirs_exist_ok=True)
    counts, checksum = _restored_fingerprint(target, vendor, list(manifest.counts), using if database is None else "")
    if counts != manifest.counts or checksum != manifest.checksum:
        wrong = {t: (manifest.counts.get(t), counts.get(t)) for t in set(counts) | set(manifest.counts)
                 if counts.get(t) != manifest.counts.get(t)}
        raise BackupError(f"恢复后的数据与备份不一致：{wrong or '校验和不同'}")
    return manifest


def _restored_fingerprint(target: dict[str, Any], vendor: str, tables: list[str],
                          using: str) -> tuple[dict[str, int], str]:
    if using:
        connections[using].close()
        connection = connections[using]
        with connection.cursor() as cursor:
            return _fingerprint(cursor, tables, connection.ops.quote_name)
    if vendor == "sqlite":
        conn = sqlite3.connect(target["NAME"])
        try:
            return _fingerprint(conn.cursor(), tables, lambda n: f'"{n}"')
        finally:
            conn.close()
    if vendor == "mysql":
        import pymysql

        conn_my = pymysql.connect(database=target["NAME"], host=target.get("HOST") or "localhost",
                                  port=int(target.get("PORT") or 3306), user=target.get("USER") or None,
                                  password=target.get("PASSWORD") or "", charset="utf8mb4")
        try:
            with conn_my.cursor() as cursor:
                return _fingerprint(cursor, tables, lambda n: f"`{n}`")
        finally:
            conn_my.close()
    import psycopg

    conn_pg = psycopg.connect(dbname=target["NAME"], host=target.get("HOST") or None,
                              port=target.get("PORT") or None, user=target.get("USER") or None,
                              password=target.get("PASSWORD") or None)
    try:
        with conn_pg.cursor() as cursor:
            return _fingerprint(cursor, tables, lambda n: f'"{n}"')
    finally:
        conn_pg.close()
