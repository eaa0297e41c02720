"""Starting background jobs and moving them along queued → running → done | failed.

The start functions are the write path for the pages and the API: they check the capability, save what the job
needs, record the start in the audit trail and enqueue the task (django-tasks). The task (``tasks.py``) runs in the
worker and reports through :func:`job_claim` and :func:`job_finish`, each one conditional UPDATE.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from gongzhi.accounts.roles import Cap
from gongzhi.core import audit
from gongzhi.core.errors import Forbidden, InvalidInput
from gongzhi.core.scope import as_scope

from . import files
from .models import Job, JobKind, JobState

MAX_ERRORS = 1000  # error rows kept on a job; the report counts them all
EXPORT_FILTERS = ("area", "q", "sector")


def _enqueue(job: Job) -> Job:
    from .tasks import run_job

    result = run_job.enqueue(job.pk)
    Job.objects.filter(pk=job.pk).update(task_id=str(result.id))
    job.refresh_from_db()
    return job


@transaction.atomic
def import_start(*, actor: Any, kind: str, filename: str, data: bytes, dry_run: bool = False) -> Job:
    """A registry import (or, with ``dry_run``, its 预检) as a job; the file is kept until the job has read it."""
    from gongzhi.registry import excel

    if not as_scope(actor).has(Cap.IMPORT):  # anywhere: each row is checked against its own area by the import
        raise Forbidden(_("您没有导入台账的权限"))
    if kind not in excel.SHEETS:
        raise InvalidInput.on("kind", _("请选择表格类型"))
    if not data:
        raise InvalidInput.on("file", _("请上传 .xlsx 文件"))
    title = excel.SHEETS[kind].title
    name = (filename or "").rsplit("/", 1)[-1][:100]
    label = (_("预检{title}：{name}") if dry_run else _("导入{title}：{name}")).format(title=title, name=name)
    job = Job.objects.create(
        owner=actor, kind=JobKind.REGISTRY_DRY_RUN if dry_run else JobKind.REGISTRY_IMPORT, label=label[:200],
        params={"sheet": kind, "filename": name, "language": translation.get_language() or ""},
        source=files.save_upload(data))
    audit.record(actor=actor, action="job.start", obj=job, after={"kind": job.kind, "label": job.label},
                 area_path="")
    return _enqueue(job)


@transaction.atomic
def export_start(*, actor: Any, kind: str, filters: dict[str, str]) -> Job:
    """A registry export as a job: the worker writes the file under MEDIA_ROOT/jobs/ with the same filters."""
    from gongzhi.registry import excel

    if kind not in excel.SHEETS:
        raise InvalidInput.on("kind", _("未知的表格类型"))
    title = excel.SHEETS[kind].title
    kept = {k: str(filters[k])[:50] for k in EXPORT_FILTERS if filters.get(k)}
    job = Job.objects.create(owner=actor, kind=JobKind.REGISTRY_EXPORT, label=_("导出{title}").format(title=title),
                             params={"sheet": kind, "filters": kept,
                                     "language": translation.get_language() or ""})
    audit.record(actor=actor, action="job.start", obj=job, after={"kind": job.kind, "label": job.label},
                 area_path="")
    return _enqueue(job)


def dispatch_train_start(*, actor: Any, activate: bool = False) -> Job:
    """Training the dispatch classifier on the platform's closed cases, as a job (the caller checked the right)."""
    job = Job.objects.create(owner=actor, kind=JobKind.DISPATCH_TRAIN, label=_("训练派单分类模型"),
                             params={"activate": bool(activate), "language": translation.get_language() or ""})
    audit.record(actor=actor, action="job.start", obj=job, after={"kind": job.kind, "label": job.label},
                 area_path="")
    return _enqueue(job)


def job_claim(*, job_id: int) -> Job | None:
    """Queued → running; None when another worker got there first (or the job is gone)."""
    claimed = Job.objects.filter(pk=job_id, state=JobState.QUEUED).update(
        state=JobState.RUNNING, started_at=timezone.now())
    return Job.objects.select_related("owner").get(pk=job_id) if claimed else None


def job_finish(*, job: Job, ok: bool, done: int, total: int, report: dict[str, Any] | None = None,
               errors: list[dict[str, Any]] | None = None, result: str = "", result_name: str = "") -> None:
    """Running → done (``ok``) or failed, with the figures, the error rows and the result file."""
    Job.objects.filter(pk=job.pk, state=JobState.RUNNING).update(
        state=JobState.DONE if ok else JobState.FAILED, done=done, total=total, finished_at=timezone.now(),
        report=report or {}, errors=(errors or [])[:MAX_ERRORS], result=result, result_name=result_name,
        source="")
    files.remove(job.source)
    files.clear_progress(job.pk)
