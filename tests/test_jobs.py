"""Long work as background jobs (issue 9, item 4): a big import from the transfer page becomes a job whose progress
the page shows, the owner alone sees its report or its row/column/reason table, a big export produces a file, and
the real database worker of django-tasks runs a queued job."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django_tasks_db.models import DBTaskResult
from openpyxl import Workbook, load_workbook

from gongzhi.accounts import services as accounts
from gongzhi.jobs import files
from gongzhi.jobs.models import Job, JobKind, JobState
from gongzhi.jobs.tasks import run_job
from gongzhi.registry import excel
from gongzhi.registry.models import Person
from tests.cast import Cast

PEOPLE = ["姓名", "区域代码", "电话", "身份证号", "困难/独居"]
DUMMY = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_for(user: Any) -> Client:
    _token, key = accounts.token_create(actor=None, user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def people_file(rows: list[list[Any]]) -> io.BytesIO:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(PEOPLE)
    for row in rows:
        ws.append(row)
    data = io.BytesIO()
    wb.save(data)
    data.seek(0)
    data.name = "人员台账.xlsx"
    return data


@pytest.fixture
def jobs_on(settings: Any, tmp_path: Path) -> Any:
    """Every upload becomes a job; tasks are queued but not run (the test runs them, or the real worker does)."""
    settings.MEDIA_ROOT = tmp_path
    settings.GONGZHI_IMPORT_JOB_BYTES = 0
    settings.TASKS = DUMMY
    return settings


def test_an_import_from_the_page_becomes_a_job_whose_progress_moves_and_only_its_owner_sees(
        cast: Cast, jobs_on: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    client = logged_in(cast.alice)
    names = [f"居民{i}" for i in range(6)]
    response = client.post("/transfer/", {"kind": "people", "dry_run": "0",
                                          "file": people_file([[n, cast.building.code, "", "", ""] for n in names])})
    assert response.status_code == 302
    job = Job.objects.get(owner=cast.alice)
    assert response["Location"] == f"/transfer/?job={job.pk}"
    assert job.kind == JobKind.REGISTRY_IMPORT and job.state == JobState.QUEUED and job.task_id
    upload = files.path_of(job.source)
    assert upload.exists()  # the upload waits for the worker
    page = client.get(response["Location"]).content.decode()
    assert f'data-job-status="/jobs/{job.pk}/status.json"' in page and "<progress" in page and "刷新进度" in page
    assert not Person.objects.filter(name__in=names).exists()

    # While the worker runs, the page's status endpoint follows it.
    monkeypatch.setattr(excel, "PROGRESS_EVERY", 2)
    seen: list[tuple[str, int, int]] = []
    original = files.write_progress

    def spy(job_id: int, done: int, total: int) -> None:
        original(job_id, done, total)
        s = client.get(f"/jobs/{job_id}/status.json").json()
        seen.append((s["state"], s["done"], s["total"]))

    monkeypatch.setattr(files, "write_progress", spy)
    monkeypatch.setattr(files, "PROGRESS_SECONDS", 0)
    run_job.call(job.pk)
    assert seen and all(state == "running" and total == 6 for state, _done, total in seen)
    assert [done for _s, done, _t in seen] == [2, 4, 6]
    job.refresh_from_db()
    assert job.state == JobState.DONE and job.report["created"] == 6 and (job.done, job.total) == (6, 6)
    assert Person.objects.filter(name__in=names).count() == 6
    assert not job.source and not upload.exists()  # personal data: the upload is gone once read

    # The owner sees the report, on the job's page, the transfer page, the list and the API.
    detail = client.get(f"/jobs/{job.pk}/").content.decode()
    assert 'id="job-report"' in detail and "导入成功" in detail and 'data-finished="1"' in detail
    assert "导入成功" in client.get(f"/transfer/?job={job.pk}").content.decode()
    assert job.label in client.get("/jobs/").content.decode()
    api = api_for(cast.alice)
    got = api.get(f"/api/v1/jobs/{job.pk}").json()
    assert got["state"] == "done" and got["report"]["created"] == 6 and got["percent"] == 100
    assert [j["id"] for j in api.get("/api/v1/jobs").json()["items"]] == [job.pk]

    # Anyone else: 404 everywhere, and an empty list.
    other = logged_in(cast.charlie)
    for url in (f"/jobs/{job.pk}/", f"/jobs/{job.pk}/status.json", f"/jobs/{job.pk}/result"):
        assert other.get(url).status_code == 404
    assert job.label not in other.get("/jobs/").content.decode()
    assert logged_in(cast.admin).get(f"/transfer/?job={job.pk}").status_code == 404
    outsider = api_for(cast.charlie)
    assert outsider.get(f"/api/v1/jobs/{job.pk}").status_code == 404
    assert outsider.get("/api/v1/jobs").json()["items"] == []


def test_a_failed_import_shows_the_row_column_reason_table_and_writes_nothing(cast: Cast, jobs_on: Any) -> None:
    client = logged_in(cast.alice)
    client.post("/transfer/", {"kind": "people", "file": people_file([
        ["好人", cast.building.code, "", "", ""], ["坏号码", cast.building.code, "12345", "", ""]])})
    job = Job.objects.get(owner=cast.alice)
    run_job.call(job.pk)
    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.report["refused"] == 1
    assert job.errors[0]["row"] == 3 and job.errors[0]["column"] == "电话" and job.errors[0]["reason"]
    assert not Person.objects.filter(name__in=["好人", "坏号码"]).exists()
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert 'id="import-errors"' in page and "<td>3</td><td>电话</td>" in page
    assert "<td>3</td><td>电话</td>" in client.get(f"/transfer/?job={job.pk}").content.decode()
    got = api_for(cast.alice).get(f"/api/v1/jobs/{job.pk}").json()
    assert got["state"] == "failed" and got["errors"][0]["column"] == "电话"


def test_a_dry_run_job_counts_what_would_change_and_writes_nothing(cast: Cast, jobs_on: Any) -> None:
    client = logged_in(cast.alice)
    client.post("/transfer/", {"kind": "people", "dry_run": "1", "file": people_file(
        [["预检甲", cast.building.code, "", "", ""], ["预检乙", cast.building.code, "", "", ""]])})
    job = Job.objects.get(owner=cast.alice)
    assert job.kind == JobKind.REGISTRY_DRY_RUN and job.label.startswith("预检")
    run_job.call(job.pk)
    job.refresh_from_db()
    assert job.state == JobState.DONE and job.report["dry_run"] and job.report["created"] == 2
    assert not Person.objects.filter(name__startswith="预检").exists()
    assert "预检通过" in client.get(f"/jobs/{job.pk}/").content.decode()


def test_a_small_file_is_still_imported_at_once(cast: Cast, settings: Any) -> None:
    settings.GONGZHI_IMPORT_JOB_BYTES = 10 * 1024 * 1024
    response = logged_in(cast.alice).post("/transfer/", {"kind": "people", "file": people_file(
        [["即时", cast.building.code, "", "", ""]])})
    assert response.status_code == 200 and "导入成功" in response.content.decode()
    assert not Job.objects.exists() and Person.objects.filter(name="即时").exists()


def test_a_big_export_becomes_a_job_that_produces_the_file(cast: Cast, jobs_on: Any) -> None:
    client = logged_in(cast.alice)
    excel.import_workbook(actor=cast.alice, kind="people", data=people_file(
        [[f"导出{i}", cast.building.code, "", "", ""] for i in range(5)]).getvalue())
    visible = excel.MODELS["people"].objects.filter(area__path__startswith=cast.community.path).count()
    jobs_on.GONGZHI_EXPORT_JOB_ROWS = visible + 10
    small = client.get("/export/people.xlsx")  # under the threshold: the file at once, with its Chinese name
    assert small.status_code == 200 and "filename*=" in small["Content-Disposition"]
    jobs_on.GONGZHI_EXPORT_JOB_ROWS = 2
    response = client.get(f"/export/people.xlsx?area={cast.community.pk}")
    job = Job.objects.get(owner=cast.alice, kind=JobKind.REGISTRY_EXPORT)
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert job.params["filters"] == {"area": str(cast.community.pk)}
    run_job.call(job.pk)
    job.refresh_from_db()
    assert job.state == JobState.DONE and job.report["rows"] == visible and job.result_name.startswith("人员-")
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert 'id="job-result"' in page
    download = client.get(f"/jobs/{job.pk}/result")
    assert download.status_code == 200 and "filename*=utf-8''" in download["Content-Disposition"].lower()
    ws = load_workbook(io.BytesIO(b"".join(download.streaming_content))).worksheets[0]
    names = [row[0] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert len(names) == visible and "导出3" in names
    api = api_for(cast.alice)
    assert api.get(f"/api/v1/jobs/{job.pk}").json()["result_url"] == f"/api/v1/jobs/{job.pk}/result"
    assert api.get(f"/api/v1/jobs/{job.pk}/result").status_code == 200
    assert api_for(cast.charlie).get(f"/api/v1/jobs/{job.pk}/result").status_code == 404


def test_the_job_list_is_bounded_in_queries(cast: Cast, jobs_on: Any, django_assert_max_num_queries: Any) -> None:
    for i in range(12):
        Job.objects.create(owner=cast.alice, kind=JobKind.REGISTRY_EXPORT, label=f"导出{i}",
                           state=JobState.DONE, report={"rows": i})
    client = logged_in(cast.alice)
    client.get("/jobs/")
    with django_assert_max_num_queries(12):
        page = client.get("/jobs/").content.decode()
    assert page.count('class="job-bar"') == 12
    api = api_for(cast.alice)
    api.get("/api/v1/jobs?limit=1")
    with django_assert_max_num_queries(12):  # authentication and scope caching included; not one per job
        first = api.get("/api/v1/jobs?limit=5").json()
    assert len(first["items"]) == 5 and first["next"]
    assert len(api.get(f"/api/v1/jobs?limit=5&after={first['next']}").json()["items"]) == 5


@pytest.mark.django_db(transaction=True)
def test_the_database_worker_of_django_tasks_runs_a_queued_import(cast: Cast, settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path
    settings.GONGZHI_IMPORT_JOB_BYTES = 0
    assert settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"
    client = logged_in(cast.alice)
    client.post("/transfer/", {"kind": "people", "file": people_file([["工人", cast.building.code, "", "", ""]])})
    job = Job.objects.get(owner=cast.alice)
    task = DBTaskResult.objects.get(id=job.task_id)
    assert task.status == "READY" and job.state == JobState.QUEUED
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    job.refresh_from_db()
    task.refresh_from_db()
    assert job.state == JobState.DONE and job.report["created"] == 1 and task.status == "SUCCESSFUL"
    assert Person.objects.filter(name="工人").exists()
