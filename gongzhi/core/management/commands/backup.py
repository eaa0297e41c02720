"""``gongzhi manage backup [--out FILE]``: the database and the uploaded files in one archive (see core.backup)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from gongzhi.core import backup


class Command(BaseCommand):
    help = "备份数据库与上传文件到一个 .tar.gz（含各表行数与校验和） Back up the database and uploaded files"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, default=None,
                            help="archive to write (default: <data folder>/backups/gongzhi-<time>.tar.gz)")

    def handle(self, *args: Any, **options: Any) -> None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = options["out"] or Path(settings.DATA_DIR) / "backups" / f"gongzhi-{stamp}.tar.gz"
        try:
            manifest = backup.backup(out)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from None
        rows = sum(manifest.counts.values())
        self.stdout.write(f"已备份 backed up: {out} ({manifest.vendor}, {len(manifest.counts)} tables, {rows:,} rows, "
                          f"{manifest.media_files} files, checksum {manifest.checksum[:16]}…)")
