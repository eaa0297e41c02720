from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from gongzhi.cases.rollup import rebuild


class Command(BaseCommand):
    help = "重新统计诉求日汇总表。Recount the daily case figures from the cases (after bulk loads)."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            rows = rebuild()
        self.stdout.write(f"rebuilt {rows} daily rows")
