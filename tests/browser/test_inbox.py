"""The inbox as people click it (issue 8 item 4): the unread count in the header, the item that leads to its case,
全部标为已读, and choosing SMS — after which the next case step reaches a real local SMS gateway."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gongzhi.cases import services as cases
from gongzhi.notifications.models import Kind, Notification
from tests.browser.conftest import login, shot
from tests.cast import build_cast
from tests.conftest import build_pipeline
from tests.test_notifications import BOB_PHONE, Gateway

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_resident_reads_her_inbox_follows_a_case_marks_all_read_and_chooses_sms(page: Any, settings: Any) -> None:
    cast = build_cast()
    world = build_pipeline(cast)
    case = cases.case_submit(actor=cast.bob, title="楼道堆放杂物", description="3单元楼道堆满纸箱",
                             area=cast.building)
    case = cases.transition(actor=cast.alice, case=case, name="accept", category=world["property"])
    Notification.objects.create(user=cast.bob, kind=Kind.NOTICE, message="社区议事会本周五召开")

    login(page, "bob", cast.password)
    assert page.inner_text("#unread-count") == "2"
    page.click("#inbox-link")
    page.wait_for_url("**/inbox/")
    assert page.locator("#inbox li.unread").count() == 2
    assert page.locator("#inbox li").first.inner_text().count("社区议事会本周五召开") == 1  # newest first
    shot(page, "inbox-unread")

    page.click(f"#inbox li.unread a:has-text('{case.number}')")
    page.wait_for_url(f"**/cases/{case.pk}/")
    assert page.inner_text("#unread-count") == "1"
    page.click("#inbox-link")
    page.wait_for_url("**/inbox/")
    page.locator("#inbox").wait_for()
    assert page.locator("#inbox li.unread").count() == 1
    page.click("#mark-all-read")
    page.wait_for_selector("ul.messages")
    assert page.locator("#inbox li.unread").count() == 0 and page.locator("#unread-count").count() == 0

    with Gateway() as gateway:
        settings.GONGZHI_SMS_URL, settings.GONGZHI_SMS_TOKEN = gateway.url, "tok"
        page.check("#id_sms")
        page.click("#preferences button[type=submit]")
        page.wait_for_selector("ul.messages >> text=已保存消息提醒方式")
        assert page.is_checked("#id_sms")
        case = cases.transition(actor=cast.alice, case=case, name="dispatch", unit=world["unit"])
        case = cases.transition(actor=world["hank"], case=case, name="start")
        case = cases.transition(actor=world["hank"], case=case, name="handle", feedback="已联系物业清理")
        # Dispatched, signed for, handled: each step reaches her by SMS too.
        texts = [json.loads(r["body"]) for r in gateway.received]
    assert len(texts) == 3 and all(t["phone"] == BOB_PHONE and case.number in t["text"] for t in texts)
    assert "办理反馈" in texts[-1]["text"]
    page.reload()
    assert page.inner_text("#unread-count") == "3"
    assert page.locator("#inbox li.unread").count() == 3
    shot(page, "inbox-after-sms")

    page.set_viewport_size({"width": 390, "height": 800})  # on a phone the count stays in the header
    page.reload()
    assert page.is_visible("#unread-count")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing pushed off the screen
    shot(page, "inbox-phone")
