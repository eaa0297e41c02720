"""django-tasks' database worker (``db_worker``), kept alive through SQLite's single-writer moments.

The library retries a busy database while it looks for a task, but not when it opens the claiming transaction: a
write held longer than busy_timeout elsewhere (an import commits, a login writes) would end the worker. This loop
starts it again after a pause instead; a task is claimed with a conditional UPDATE, so none runs twice.
"""

from __future__ import annotations

import time
from typing import Any

from django.db import OperationalError, close_old_connections
from django_tasks_db.management.commands.db_worker import Command as DbWorker
from django_tasks_db.utils import is_locked_database_exception


class Command(DbWorker):
    help = "Run the background-job worker (django-tasks database backend), retrying when SQLite is busy"

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            try:
                return super().handle(*args, **options)
            except OperationalError as exc:
                if not is_locked_database_exception(exc):
                    raise
                close_old_connections()
                time.sleep(1)
