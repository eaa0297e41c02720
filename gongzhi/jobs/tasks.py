"""The work itself, run by the django-tasks worker (``gongzhi manage db_worker``, started by ``gongzhi up``)."""

from __future__ import annotations

import inspect
import logging
from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from . import files, services
from .models import Job, JobKind
from .selectors import export_queryset

logger = logging.getLogger("gongzhi.jobs")


@task()
def run_job(job_id: int) -> str:
    job = services.job_claim(job_id=job_id)
    if job is None:
        return "skipped"  # another worker has it, or it was already run
    try:
        with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
            if job.kind == JobKind.REGISTRY_EXPORT:
                _export(job)
            elif job.kind == JobKind.DISPATCH_TRAIN:
                _dispatch_train(job)
            else:
                _import(job, dry_run=job.kind == JobKind.REGISTRY_DRY_RUN)
    except Exception:
        logger.exception("job %s failed", job_id)
        with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
            reason = _("任务执行出错，未写入任何数据；请稍后重试或联系管理员")
        services.job_finish(job=job, ok=False, done=0, total=0, errors=[{"row": 0, "column": "", "reason": reason}])
        raise
    return job.kind


def _import(job: Job, *, dry_run: bool) -> None:
    from gongzhi.registry import excel

    data = files.path_of(job.source).read_bytes()
    report = excel.import_workbook(actor=job.owner, kind=job.params["sheet"], data=data, dry_run=dry_run,
                                   progress=files.progress_writer(job.pk))
    refused = len({e.row for e in report.errors})
    figures = {"rows": report.rows, "created": report.created, "updated": report.updated,
               "unchanged": report.unchanged, "refused": refused, "errors": len(report.errors),
               "dry_run": dry_run}
    # A 预检 has done its work even when it finds problems: its report is the answer.
    services.job_finish(job=job, ok=report.ok or dry_run, done=report.rows, total=report.rows, report=figures,
                        errors=[asdict(e) for e in report.errors])


def _dispatch_train(job: Job) -> None:
    from gongzhi.dispatch import services as dispatch_services

    stages = {"读取": 0, "特征": 1, "校准": 2, "训练": 3, "检验": 4}

    def progress(what: str, done: int, total: int) -> None:
        # Five stages on one bar: reading, features, calibration, the final fit, the hold-out.
        stage = stages.get(what, 0)
        files.write_progress(job.pk, stage * 100 + (100 * done // max(total, 1)), 500)

    version = dispatch_services.train_from_cases(actor=job.owner, activate=bool(job.params.get("activate")),
                                                 progress=progress)
    report = {"version": version.number, "rows": version.training_rows, "holdout": version.holdout_rows,
              "macro_f1": version.scores.get("macro_f1"), "accuracy": version.scores.get("accuracy"),
              "active": version.active}
    services.job_finish(job=job, ok=True, done=version.training_rows, total=version.training_rows, report=report)


def _export(job: Job) -> None:
    from gongzhi.registry import excel

    kind = job.params["sheet"]
    qs = export_queryset(job.owner, kind, **job.params.get("filters", {}))
    total = qs.count()
    files.write_progress(job.pk, 0, total)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    filename = f"{excel.SHEETS[kind].title}-{stamp}.xlsx"
    name = files.result_name(job.pk, filename)
    target = files.path_of(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    extra: dict[str, Any] = {}
    if "progress" in inspect.signature(excel.write_export).parameters:  # the ledger writer reports rows as it goes
        extra["progress"] = files.progress_writer(job.pk)
    with target.open("wb") as out:
        excel.write_export(out, viewer=job.owner, kind=kind, queryset=qs, **extra)
    target.chmod(0o600)
    services.job_finish(job=job, ok=True, done=total, total=total, report={"rows": total}, result=name,
                        result_name=filename)
