"""Issue 9, item 1 as people click it: the workbench's 导出挂账台账 opens a page that says how many rows the ledger
holds and downloads it with a Chinese name; the figures page downloads 诉求统计 as Excel and the printable PDF."""

from __future__ import annotations

import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from gongzhi.cases import services as cases
from tests.browser.conftest import login, shot
from tests.cast import build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_ledger_and_figures_downloads_from_the_pages(page) -> None:
    cast = build_cast()
    for i in range(3):
        cases.case_submit(actor=cast.bob, title=f"路灯不亮{i}", description="小区路灯坏了", area=cast.building)
    login(page, "alice", cast.password)
    page.goto("/cases/")
    page.click("#ledger-export")
    page.wait_for_selector("#ledger-count")
    assert "共 3 行" in page.inner_text("#ledger-count")
    shot(page, "ledger-page")
    with page.expect_download() as info:
        page.click("text=下载 Excel")
    download = info.value
    assert download.suggested_filename == f"挂账台账-{timezone.localdate():%Y%m%d}.xlsx"
    ws = load_workbook(io.BytesIO(open(download.path(), "rb").read()))["挂账台账"]
    assert ws.max_row == 3 + 2 and ws["H3"].is_date

    login(page, "stan", cast.password)
    page.goto(f"/cases/figures/?area={cast.street.pk}")
    page.wait_for_selector("#figures-exports")
    shot(page, "figures-exports")
    with page.expect_download() as info:
        page.click("#figures-exports >> text=导出 Excel")
    assert info.value.suggested_filename.startswith("新华街道诉求统计-")
    with page.expect_download() as info:
        page.click("#figures-exports >> text=打印版 PDF")
    pdf = info.value
    assert pdf.suggested_filename.endswith(".pdf")
    assert open(pdf.path(), "rb").read(4) == b"%PDF"
