"""A big import and a big export as background jobs, in a real browser, with django-tasks' database worker running
beside the live server: upload → the progress bar on the transfer page → done → the report; export → 我的任务 →
the file."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django_tasks_db.management.commands.db_worker import Worker
from openpyxl import Workbook

from gongzhi.jobs.models import Job, JobState
from gongzhi.registry import excel
from gongzhi.registry.models import Person
from tests.browser.conftest import login, shot
from tests.cast import build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Worker]:
    """The real database worker loop, in a thread of the test process (signals are the command's only extra)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.GONGZHI_IMPORT_JOB_BYTES = 0
    settings.GONGZHI_EXPORT_JOB_ROWS = 5
    monkeypatch.setattr(excel, "PROGRESS_EVERY", 5)
    w = Worker(queue_names=["default"], interval=0.2, batch=False, backend_name="default", startup_delay=False,
               max_tasks=None, worker_id="browser-test", excluded_queue_names=[])
    thread = threading.Thread(target=w.run, daemon=True)
    thread.start()
    yield w
    w.running = False
    thread.join(timeout=30)


def test_an_upload_runs_as_a_job_with_a_progress_bar_and_an_export_gives_its_file(
        page: Any, worker: Worker, tmp_path: Path) -> None:
    cast = build_cast()
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["姓名", "区域代码", "电话", "身份证号", "困难/独居"])
    for i in range(40):
        ws.append([f"住户{i:02d}", cast.building.code, "", "", ""])
    sheet = tmp_path / "人员台账.xlsx"
    wb.save(sheet)

    login(page, "alice", cast.password)
    page.goto("/transfer/")
    page.select_option("#id_kind", "people")
    page.set_input_files("#id_file", str(sheet))
    page.click("main button[type=submit]")  # 导入
    page.wait_for_url("**/transfer/?job=*")
    assert page.locator("#job progress").count() == 1  # the page answered at once, with the bar
    shot(page, "jobs-transfer-progress")
    page.wait_for_selector("#job-report", timeout=60_000)  # the script polled, saw the end, reloaded
    assert "导入成功" in page.inner_text("#job")
    assert page.locator("#job progress").get_attribute("value") == "100"
    assert Person.objects.filter(name__startswith="住户").count() == 40
    shot(page, "jobs-transfer-done")

    # An export over the threshold: a job, then its file.
    page.click("text=导出现有人员")
    page.wait_for_url("**/jobs/*/")
    page.wait_for_selector("#job-result", timeout=60_000)
    with page.expect_download() as info:
        page.click("#job-result")
    assert info.value.suggested_filename.startswith("人员-") and info.value.suggested_filename.endswith(".xlsx")
    shot(page, "jobs-export-done")

    page.goto("/jobs/")
    assert page.locator("#jobs tr").count() == 3  # header + two jobs
    assert Job.objects.filter(owner=cast.alice, state=JobState.DONE).count() == 2
    shot(page, "jobs-index")
