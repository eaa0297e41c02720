from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from gongzhi.registry.demo import DEMO_PASSWORD, SIZES, load_demo_city
from gongzhi.registry.models import Area


class Command(BaseCommand):
    help = "载入演示城市（确定性生成）。Load the deterministic demo city into an empty database."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--size", choices=sorted(SIZES), default="small")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when areas exist already")

    def handle(self, *args: Any, size: str, if_empty: bool, **options: Any) -> None:
        if Area.objects.exists():
            if if_empty:
                self.stdout.write("演示城市已存在，跳过载入 (demo city already loaded)")
                return
            raise CommandError("数据库中已有区域数据 (the database already has areas)")
        started = time.perf_counter()
        show = sys.stdout.isatty()

        def progress(step: str, fraction: float) -> None:
            bar = "█" * int(fraction * 30)
            line = f"\r载入演示城市 [{bar:<30}] {fraction:4.0%} {step}   "
            if show:
                self.stdout.write(line, ending="")
                self.stdout.flush()
            else:
                self.stdout.write(line.strip())

        report = load_demo_city(size, progress=progress)
        self.stdout.write("")
        counts = ", ".join(f"{k}={v}" for k, v in report.counts.items())
        self.stdout.write(f"演示城市已载入 ({size}, {time.perf_counter() - started:.1f}s): {counts}")
        self.stdout.write(f"演示账号 (密码 / password: {DEMO_PASSWORD}):")
        for username, role, node in report.accounts:
            self.stdout.write(f"  {username:<11} {role:<10} {node}")
