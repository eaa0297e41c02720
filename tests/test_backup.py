"""Backups (issue 15, item 5): ``gongzhi manage backup`` writes the database and the uploaded files; restoring into a
fresh database gives the same row count in every table and the same checksum, and the files come back."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from gongzhi.core import backup
from gongzhi.registry import services as registry
from tests.cast import build_cast

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fresh_database(tmp_path: Path) -> Any:
    """An empty database of the same engine, dropped afterwards (PostgreSQL, MariaDB: CREATE DATABASE on the
    server)."""
    settings_dict = dict(connection.settings_dict)
    if connection.vendor == "sqlite":
        settings_dict["NAME"] = str(tmp_path / "restored.sqlite3")
        yield settings_dict
        return
    name = f"gongzhi_restore_{uuid.uuid4().hex[:8]}"
    if connection.vendor == "mysql":
        import pymysql

        def server() -> Any:
            return pymysql.connect(host=settings_dict.get("HOST") or "localhost",
                                   port=int(settings_dict.get("PORT") or 3306), user=settings_dict.get("USER") or None,
                                   password=settings_dict.get("PASSWORD") or "", autocommit=True)

        with server() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        settings_dict["NAME"] = name
        yield settings_dict
        with server() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        return
    import psycopg

    params = {"host": settings_dict.get("HOST") or None, "port": settings_dict.get("PORT") or None,
              "user": settings_dict.get("USER") or None, "password": settings_dict.get("PASSWORD") or None}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    settings_dict["NAME"] = name
    yield settings_dict
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_backup_restores_into_a_fresh_database_with_the_same_counts_checksum_and_files(
        tmp_path: Path, settings: Any, fresh_database: dict[str, Any]) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "media" / "cases").mkdir(parents=True)
    (tmp_path / "media" / "cases" / "photo.jpg").write_bytes(b"\xff\xd8 a photo")
    cast = build_cast()
    registry.area_update(actor=cast.admin, area=cast.grid1, changes={"households": 455}, reason="入户核查")
    archive = tmp_path / "out" / "gongzhi.tar.gz"
    out = io.StringIO()
    call_command("backup", "--out", str(archive), stdout=out)
    assert "gongzhi.tar.gz" in out.getvalue() and archive.exists()
    manifest = backup.read_manifest(archive)
    counts, checksum = backup.fingerprint()
    assert manifest.counts == counts and manifest.checksum == checksum and manifest.media_files == 1
    assert manifest.counts["registry_area"] == 15 and manifest.counts["core_auditentry"] > 0

    restored_media = tmp_path / "restored-media"
    again = backup.restore(archive, database=fresh_database, media_root=restored_media)
    assert again.checksum == checksum  # restore() itself recounted the fresh database and compared
    assert (restored_media / "cases" / "photo.jpg").read_bytes() == b"\xff\xd8 a photo"


def test_a_restore_that_does_not_match_its_manifest_is_refused(tmp_path: Path, settings: Any,
                                                                fresh_database: dict[str, Any]) -> None:
    import json
    import tarfile

    settings.MEDIA_ROOT = tmp_path / "media"
    build_cast()
    archive = tmp_path / "gongzhi.tar.gz"
    backup.backup(archive)
    # The same archive with a manifest claiming one more area than the dump holds.
    forged = tmp_path / "forged.tar.gz"
    with tarfile.open(archive, "r:gz") as src, tarfile.open(forged, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json":
                manifest = json.loads(data)
                manifest["counts"]["registry_area"] += 1
                data = json.dumps(manifest).encode()
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    with pytest.raises(backup.BackupError, match="不一致"):
        backup.restore(forged, database=fresh_database, media_root=tmp_path / "m2")


def test_restore_asks_for_confirmation_and_refuses_what_is_not_a_backup(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")
    with pytest.raises(CommandError, match="不是共治的备份文件"):
        call_command("restore", str(junk), "--yes")
    build_cast()
    archive = tmp_path / "gongzhi.tar.gz"
    backup.backup(archive, media_root=tmp_path / "none")
    with pytest.raises(CommandError, match="--yes"):
        call_command("restore", str(archive))


def test_restore_puts_the_live_database_back_as_it_was(tmp_path: Path, settings: Any) -> None:
    from gongzhi.registry.models import Area

    settings.MEDIA_ROOT = tmp_path / "media"
    cast = build_cast()
    archive = tmp_path / "gongzhi.tar.gz"
    call_command("backup", "--out", str(archive), stdout=io.StringIO())
    registry.area_create(actor=cast.admin, parent=cast.community, name="后来的网格", code="X9", kind="grid")
    assert Area.objects.filter(code="X9").exists()
    out = io.StringIO()
    call_command("restore", str(archive), "--yes", stdout=out)
    assert "restored and verified" in out.getvalue()
    assert not Area.objects.filter(code="X9").exists() and Area.objects.count() == 15
