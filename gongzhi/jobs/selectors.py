"""Reads: a user's own jobs (anyone else's is a 404), their progress, and the export's queryset."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from gongzhi.core.errors import NotFound
from gongzhi.core.scope import get_scoped, scoped

from . import files
from .models import Job, JobState


def jobs_of(user: Any) -> QuerySet[Job]:
    return Job.objects.filter(owner_id=user.pk)


def job_of(user: Any, job_id: int) -> Job:
    job = jobs_of(user).filter(pk=job_id).first()
    if job is None:
        raise NotFound("未找到")
    return job


def progress(job: Job) -> tuple[int, int]:
    """(done, total): the worker's latest figures while it runs, the stored ones before and after."""
    if job.state == JobState.RUNNING:
        return files.read_progress(job.pk) or (job.done, job.total)
    return job.done, job.total


def status(job: Job) -> dict[str, Any]:
    done, total = progress(job)
    return {
        "id": job.pk, "kind": job.kind, "label": job.label, "state": job.state,
        "state_label": str(job.get_state_display()), "done": done, "total": total,
        "percent": (100 * done // total) if total else (100 if job.finished else 0),
        "finished": job.finished, "created_at": job.created_at, "started_at": job.started_at,
        "finished_at": job.finished_at, "report": job.report, "errors": job.errors,
        "has_result": bool(job.result), "result_name": job.result_name,
    }


def export_queryset(viewer: Any, kind: str, *, area: str = "", q: str = "", sector: str = "") -> QuerySet[Any]:
    """What a registry list page shows with its filters (area subtree, name contains, sector), through the scope.
    The export page and the export job build it the same way."""
    from gongzhi.registry import excel
    from gongzhi.registry.models import Area, Sector

    qs = scoped(viewer, excel.MODELS[kind])
    if area:
        if not area.isdigit():
            raise NotFound("未找到")
        node = get_scoped(viewer, Area, int(area))
        qs = qs.filter(path__prefix=node.path) if kind == "areas" else qs.filter(area__path__prefix=node.path)
    q = q.strip()[:50]
    if q:
        qs = qs.filter(name__contains=q)
    if kind in ("units", "organisations") and sector in Sector.values:
        qs = qs.filter(sector=sector)
    return qs
