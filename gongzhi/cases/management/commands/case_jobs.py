from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from gongzhi.cases.services import close_unrated, mark_overdue, warn_due_soon
from gongzhi.core.idempotency import forget_expired


class Command(BaseCommand):
    help = "到期预警、超期标记、评价期满结案。Deadline jobs: due-soon warnings, overdue flags, unrated closing."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--loop", type=int, default=0, help="repeat every N seconds (0: run once)")

    def handle(self, *args: Any, loop: int, **options: Any) -> None:
        while True:
            overdue, due_soon, closed = mark_overdue(), warn_due_soon(), close_unrated()
            forget_expired()  # Idempotency-Key rows older than a day
            if overdue or due_soon or closed or not loop:
                self.stdout.write(f"超期 {overdue} · 临期预警 {due_soon} · 自动结案 {closed}")
            if not loop:
                return
            time.sleep(loop)
