"""``gongzhi manage replicas``: each configured standby (GONGZHI_REPLICA_URLS), whether it is one and how far its
replay lags; exit status 1 when one is unfit to read from (a monitoring check can call it)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gongzhi.core import replicas


class Command(BaseCommand):
    help = "只读副本的状态与复制延迟 The read replicas' state and replication lag"

    def handle(self, *args: Any, **options: Any) -> None:
        found = replicas.status()
        if not found:
            self.stdout.write("未配置只读副本 no replicas configured (GONGZHI_REPLICA_URLS)")
            return
        for s in found:
            db = settings.DATABASES[s.alias]
            where = f"{db.get('HOST') or 'local'}:{db.get('PORT') or 5432}/{db.get('NAME')}"
            if s.in_recovery is None:
                state = f"无法连接 unreachable: {s.error}"
            elif not s.in_recovery:
                state = "已提升为主库 promoted (not a standby: not read from)"
            elif s.lag is None:
                state = "备库 standby, 延迟未知 lag unknown (behind, nothing replayed since it started)"
            else:
                state = f"备库 standby, 延迟 lag {s.lag:.3f} s"
            fit = "可读 in use" if s.usable else f"不可读 not read from (max lag {replicas.max_lag():g} s)"
            self.stdout.write(f"{s.alias}  {where}  {state}  {fit}")
        if not all(s.usable for s in found):
            raise CommandError("有副本不可读 a replica is unfit to read from")
