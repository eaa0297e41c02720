"""A council worker opens a scheduled meeting, downloads its 会议通知 and, once held, its 会议纪要: Word files with
Chinese names, on A4."""

from __future__ import annotations

import datetime as dt

import pytest
from docx import Document

from gongzhi.councils import services
from gongzhi.councils.models import load_default_kinds
from gongzhi.registry.models import Person
from tests.browser.conftest import login, shot
from tests.cast import build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_notice_and_then_the_minutes_download_from_the_meeting_page(page, tmp_path) -> None:
    load_default_kinds()
    cast = build_cast()
    council = services.council_create(actor=None, area=cast.compound, name="海鸥花园家园议事会", kind="homeland",
                                      cadence="monthly", convener=Person.objects.get(name="鲍勃"))
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    login(page, "alice", cast.password)
    page.goto(f"/councils/{council.pk}/")
    page.fill("input[name=scheduled_for]", f"{tomorrow.isoformat()}T14:30")
    page.fill("input[name=place]", "海鸥花园党群服务站")
    page.click("button:has-text('安排会议')")
    page.wait_for_selector("ul.messages")
    page.click("a[href*='/councils/meetings/']")
    with page.expect_download() as notice:
        page.click("text=下载会议通知 Word")
    assert notice.value.suggested_filename == f"关于召开海鸥花园家园议事会会议的通知（{tomorrow.isoformat()}）.docx"
    path = tmp_path / "notice.docx"
    notice.value.save_as(path)
    doc = Document(str(path))
    assert doc.paragraphs[0].text == "关于召开海鸥花园家园议事会会议的通知"
    assert round(doc.sections[0].page_width.mm) == 210
    shot(page, "meeting-notice")

    page.fill("#id_minutes", "研究了近期工作。")
    page.click("button:has-text('保存会议记录')")
    page.wait_for_selector("ul.messages")
    assert page.locator("text=下载会议通知 Word").count() == 0
    with page.expect_download() as minutes:
        page.click("text=下载会议纪要 Word")
    assert minutes.value.suggested_filename == f"海鸥花园家园议事会会议纪要（{tomorrow.isoformat()}）.docx"
    minutes.value.save_as(tmp_path / "minutes.docx")
    lines = [p.text for p in Document(str(tmp_path / "minutes.docx")).paragraphs]
    assert "出席：鲍勃" in lines and "主持人：鲍勃" in lines
    shot(page, "meeting-minutes")
