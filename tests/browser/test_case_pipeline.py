"""The case pipeline as people click it (issue 3): report with a photo, accept and dispatch, handle, verify,
a dissatisfied verdict that reopens, and a case escalated from the community to the district and closed there."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from gongzhi.cases.models import Case
from tests.browser.conftest import login, shot
from tests.cast import build_cast
from tests.conftest import build_pipeline

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def tiny_png(path: Path) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes([200, 40, 40] * 8) for _ in range(8))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return path


def act(page, action: str, **fields: str) -> None:
    form = page.locator(f"form[data-action={action}]")
    for name, value in fields.items():
        target = form.locator(f"[name={name}]")
        if target.evaluate("e => e.tagName") == "SELECT":
            target.select_option(value)
        else:
            target.fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_selector("ul.messages")


def report(page, title: str, photo: Path | None = None) -> int:
    page.click("nav >> text=我要反映")
    page.fill("#id_title", title)
    page.fill("#id_description", f"{title}，请尽快处理")
    page.select_option("#id_area", label="海鸥花园 1号楼")
    if photo:
        page.set_input_files("#id_photos", str(photo))
    page.click("main button[type=submit]")
    page.wait_for_selector("#case-state")
    return int(page.url.rstrip("/").split("/")[-1])


def test_a_report_travels_to_the_handler_and_back_and_a_dissatisfied_resident_reopens_it(page, tmp_path,
                                                                                           settings) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    cast = build_cast()
    world = build_pipeline(cast)
    pw = cast.password

    login(page, "bob", pw)
    case_id = report(page, "楼道堆放杂物", tiny_png(tmp_path / "photo.png"))
    assert page.inner_text("#case-state") == "待受理"
    assert page.locator("img[alt=反映]").count() == 1
    shot(page, "browser-case-reported")

    login(page, "alice", pw)
    page.click("nav >> text=工作台")
    page.click("a.btn:has-text('待受理')")
    page.click(f"a[href='/cases/{case_id}/']")
    act(page, "accept", category="030602")
    act(page, "dispatch", unit=str(world["unit"].pk))
    assert page.inner_text("#case-state") == "已派遣"

    login(page, "hank", pw)
    page.click("nav >> text=工作台")
    page.click(f"a[href='/cases/{case_id}/']")
    act(page, "start")
    act(page, "handle", feedback="已联系物业清理楼道杂物")
    assert page.inner_text("#case-state") == "待核实"

    login(page, "gina", pw)
    page.goto(f"/cases/{case_id}/")
    act(page, "verify")
    assert page.inner_text("#case-state") == "待评价"

    login(page, "bob", pw)
    page.click("nav >> text=我的诉求")
    page.click(f"a[href='/cases/{case_id}/']")
    assert "已联系物业清理楼道杂物" in page.inner_text("#case-feedback")
    act(page, "reopen", reason="杂物又堆回来了")
    assert page.inner_text("#case-state") == "返工"
    shot(page, "browser-case-reopened")
    case = Case.objects.get(pk=case_id)
    assert case.reopen_count == 1 and case.rating == "dissatisfied"


def test_a_street_level_case_escalates_to_the_district_and_is_closed_there(page, tmp_path, settings) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    cast = build_cast()
    world = build_pipeline(cast)
    pw = cast.password

    login(page, "bob", pw)
    case_id = report(page, "小区门口占道经营")

    login(page, "alice", pw)
    page.goto(f"/cases/{case_id}/")
    act(page, "accept", category="030703")  # 店外经营: owned by the street
    assert "街道级承办" in page.inner_text("main")

    login(page, "dora", pw)
    page.click("nav >> text=工作台")
    page.click(f"a[href='/cases/{case_id}/']")
    act(page, "escalate", reason="涉及多个街道的经营户，需要区级联合执法")
    assert "区级承办" in page.inner_text("main")

    login(page, "dina", pw)
    page.click("nav >> text=工作台")
    page.click("a.btn:has-text('上移到本级')")
    page.click(f"a[href='/cases/{case_id}/']")
    act(page, "dispatch", unit=str(world["unit"].pk))

    login(page, "hank", pw)
    page.goto(f"/cases/{case_id}/")
    act(page, "start")
    act(page, "handle", feedback="区城管联合执法，已清理占道摊点")

    login(page, "gina", pw)
    page.goto(f"/cases/{case_id}/")
    act(page, "verify")

    login(page, "bob", pw)
    page.goto(f"/cases/{case_id}/")
    act(page, "rate", rating="satisfied")
    assert page.inner_text("#case-state") == "已办结"
    shot(page, "browser-case-closed-at-district")
    case = Case.objects.get(pk=case_id)
    assert (case.state, case.closed_level, case.escalation_count) == ("closed", "district", 1)


def test_a_district_dispatcher_supervises_an_overdue_case_and_the_handler_sees_the_flag(page, settings,
                                                                                        tmp_path) -> None:
    import datetime as dt

    from django.utils import timezone

    from gongzhi.cases import services as cases

    settings.MEDIA_ROOT = tmp_path / "media"
    cast = build_cast()
    world = build_pipeline(cast)
    pw = cast.password
    case = cases.case_submit(actor=cast.bob, title="电梯停运三天", description="3单元电梯停运三天无人修",
                             area=cast.building)
    case = cases.transition(actor=cast.alice, case=case, name="accept", category=world["property"])
    case = cases.transition(actor=cast.alice, case=case, name="dispatch", unit=world["unit"])
    Case.objects.filter(pk=case.pk).update(due_at=timezone.now() - dt.timedelta(days=3, hours=1))

    login(page, "dina", pw)
    page.goto(f"/cases/{case.pk}/")
    assert page.inner_text("#case-time-left") == "超期3天"
    new_due = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    act(page, "supervise", reason="群众反映强烈，请两天内办结", due_at=new_due)
    assert page.locator("#case-supervised").count() == 1
    assert page.inner_text("#case-time-left").startswith("剩余")
    shot(page, "browser-case-supervised")

    login(page, "hank", pw)
    page.click("nav >> text=工作台")
    row = page.locator("table.case-list tr", has_text="电梯停运三天")
    assert "督办" in row.inner_text() and "海鸥花园 1号楼" in row.inner_text()
    page.click("#sort-due")
    shot(page, "browser-workbench-sorted")
    page.click(f"a[href='/cases/{case.pk}/']")
    assert "群众反映强烈，请两天内办结" in page.inner_text("#case-timeline")
    case = Case.objects.get(pk=case.pk)
    assert case.supervised_at is not None and case.state == "dispatched"
