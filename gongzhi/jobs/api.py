"""我的任务 through the API: the caller's own jobs (anyone else's is a 404), their progress and their files."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponseBase
from ninja import Query, Router, Schema

from gongzhi.api.auth import user_of
from gongzhi.core.errors import NotFound
from gongzhi.registry.api import page

from . import files, selectors
from .models import Job

router = Router(tags=["后台任务 jobs"])


class RowErrorOut(Schema):
    row: int
    column: str
    reason: str


class JobOut(Schema):
    id: int
    kind: str
    label: str
    state: str
    state_label: str
    done: int
    total: int
    percent: int
    finished: bool
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    report: dict[str, Any]
    errors: list[RowErrorOut]
    result_name: str
    result_url: str | None


class JobPage(Schema):
    items: list[JobOut]
    next: str | None


def job_out(job: Job) -> dict[str, Any]:
    data = selectors.status(job)
    data["result_url"] = f"/api/v1/jobs/{job.pk}/result" if data.pop("has_result") else None
    return data


@router.get("/jobs", response=JobPage, summary="我的任务（最新的在后）")
def job_list(request: HttpRequest, limit: int = Query(50, ge=1, le=200),
             after: str | None = Query(None, max_length=64)) -> dict[str, Any]:
    return page(selectors.jobs_of(user_of(request)), limit, after, job_out)


@router.get("/jobs/{job_id}", response=JobOut, summary="任务进度与结果")
def job_get(request: HttpRequest, job_id: int) -> dict[str, Any]:
    return job_out(selectors.job_of(user_of(request), job_id))


@router.get("/jobs/{job_id}/result", summary="下载任务的结果文件")
def job_result(request: HttpRequest, job_id: int) -> HttpResponseBase:
    job = selectors.job_of(user_of(request), job_id)
    if not job.result:
        raise NotFound("任务没有结果文件")
    try:
        handle = files.path_of(job.result).open("rb")
    except (OSError, ValueError):
        raise NotFound("结果文件已不存在") from None
    return files.attachment(FileResponse(handle, content_type=files.XLSX), job.result_name)
