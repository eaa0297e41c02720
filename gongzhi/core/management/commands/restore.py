"""``gongzhi manage restore FILE --yes``: put a backup back (the running servers should be stopped first) and prove
it: the restored row counts and checksum must equal the archive's manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gongzhi.core import backup


class Command(BaseCommand):
    help = "从备份恢复数据库与上传文件并核对行数与校验和 Restore a backup and verify it"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path)
        parser.add_argument("--yes", action="store_true", help="replace the current database (required)")

    def handle(self, *args: Any, **options: Any) -> None:
        archive: Path = options["archive"]
        try:
            manifest = backup.read_manifest(archive)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        if not options["yes"]:
            raise CommandError(f"恢复会替换当前数据库（备份于 {manifest.created_at}）；确认请加 --yes "
                               "(restoring replaces the current database; add --yes)")
        try:
            backup.restore(archive)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"已恢复并核对 restored and verified: {archive} ({sum(manifest.counts.values()):,} rows, "
                          f"{manifest.media_files} files, checksum {manifest.checksum[:16]}…)")
