"""Where a job keeps its files (MEDIA_ROOT/jobs/<id>/) and how its progress crosses from the worker to the pages.

Progress is a small JSON file, not a database row: an import runs in one transaction, so a row updated inside it
would stay invisible until the end (and on SQLite a second connection could not write beside it at all). The
file is replaced atomically, so a reader sees either the old or the new figures.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpResponseBase

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PROGRESS_SECONDS = 0.25  # at most four progress writes a second


def root() -> Path:
    return Path(settings.MEDIA_ROOT) / "jobs"


def path_of(name: str) -> Path:
    """A stored name (relative to MEDIA_ROOT/jobs) as a path; never outside that folder."""
    base = root().resolve()
    full = (base / name).resolve()
    if base not in full.parents:
        raise ValueError(name)
    return full


def save_upload(data: bytes, suffix: str = ".xlsx") -> str:
    name = f"uploads/{uuid.uuid4().hex}{suffix}"
    target = path_of(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    target.chmod(0o600)  # personal data: readable by the platform only
    return name


def result_name(job_id: int, filename: str) -> str:
    return f"{job_id}/{filename}"


def remove(name: str) -> None:
    if name:
        path_of(name).unlink(missing_ok=True)


def _progress_file(job_id: int) -> Path:
    return root() / str(job_id) / "progress.json"


def write_progress(job_id: int, done: int, total: int) -> None:
    target = _progress_file(job_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_suffix(f".{os.getpid()}.tmp")
    scratch.write_text(json.dumps({"done": done, "total": total}), encoding="utf-8")
    os.replace(scratch, target)


def read_progress(job_id: int) -> tuple[int, int] | None:
    try:
        data: Any = json.loads(_progress_file(job_id).read_text(encoding="utf-8"))
        return int(data["done"]), int(data["total"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def clear_progress(job_id: int) -> None:
    _progress_file(job_id).unlink(missing_ok=True)


def progress_writer(job_id: int) -> Callable[[int, int], None]:
    """The ``progress(done, total)`` callback handed to the work: throttled, the last call always written."""
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - last[0] >= PROGRESS_SECONDS:
            last[0] = now
            write_progress(job_id, done, total)

    return progress


def attachment(content: bytes | HttpResponseBase, filename: str) -> HttpResponseBase:
    """A download under a Chinese file name (RFC 5987 ``filename*``), through the ledger's helper."""
    from gongzhi.core.ledger import attachment as ledger_attachment

    return ledger_attachment(content, filename)
