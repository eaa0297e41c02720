"""我的任务: the owner's jobs, one job's progress and outcome, its figures as JSON for the progress bar, its file."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render

from gongzhi.web.pages import not_found_as_404

from . import files, selectors

PAGE = 50


@login_required
def index(request: HttpRequest) -> HttpResponse:
    qs = selectors.jobs_of(request.user).order_by("-id")
    before = request.GET.get("before", "")
    if before.isdigit():
        qs = qs.filter(pk__lt=int(before))
    jobs = list(qs[: PAGE + 1])
    more = jobs[PAGE].pk + 1 if len(jobs) > PAGE else None
    rows = [(job, selectors.status(job)) for job in jobs[:PAGE]]
    return render(request, "jobs/index.html", {"rows": rows, "more": more})


@login_required
@not_found_as_404
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.job_of(request.user, pk)
    return render(request, "jobs/detail.html", {"job": job, "status": selectors.status(job)})


@login_required
@not_found_as_404
def status(request: HttpRequest, pk: int) -> JsonResponse:
    job = selectors.job_of(request.user, pk)
    data = selectors.status(job)
    data.pop("errors")  # the page reloads to show them
    return JsonResponse(data)


@login_required
@not_found_as_404
def result(request: HttpRequest, pk: int) -> HttpResponseBase:
    job = selectors.job_of(request.user, pk)
    if not job.result:
        raise Http404
    try:
        handle = files.path_of(job.result).open("rb")
    except (OSError, ValueError):
        raise Http404 from None
    return files.attachment(FileResponse(handle, content_type=files.XLSX), job.result_name)
