"""Issue 4 as people click it: a compound council cannot settle an item and moves it up; the community council
cannot either and moves it to the street; the street answers; the answer shows on the compound council's page and
on the public results page."""

from __future__ import annotations

import datetime as dt

import pytest

from gongzhi.councils import services
from tests.browser.conftest import login, shot
from tests.cast import build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def step(page, name: str, **fields: str) -> None:
    form = page.locator(f"form[data-step={name}]")
    for field, value in fields.items():
        target = form.locator(f"[name={field}]")
        if target.evaluate("e => e.tagName") == "SELECT":
            target.select_option(value)
        else:
            target.fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_selector("ul.messages")


def schedule_meeting(page, when: str) -> None:
    page.fill("input[name=scheduled_for]", when)
    page.fill("input[name=place]", "党群服务中心")
    page.click("button:has-text('安排会议')")
    page.wait_for_selector("ul.messages")


def test_an_item_climbs_from_the_compound_to_the_street_and_the_answer_comes_back(page) -> None:
    cast = build_cast()
    street = services.council_create(actor=None, area=cast.street, name="新华街道大工委联席会议",
                                     kind="working_committee", cadence="quarterly")
    community = services.council_create(actor=None, area=cast.community, name="碧海社区大党委联席会议",
                                        kind="party_committee", cadence="quarterly")
    compound = services.council_create(actor=None, area=cast.compound, name="海鸥花园三方联席会",
                                       kind="tripartite", cadence="monthly")
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()

    login(page, "bob", cast.password)  # a resident raises the item (提事) from the public page
    page.goto("/councils/")  # residents see the public results, not the councils' internal pages
    assert "/councils/public/" in page.url
    page.select_option("#id_council", str(compound.pk))
    page.fill("#id_title", "小区停车难")
    page.fill("#id_description", "车位不足，消防通道常被占用")
    page.click("button:has-text('提交议题')")
    page.wait_for_selector("ul.messages")

    login(page, "alice", cast.password)  # the compound council meets and cannot settle it
    page.goto(f"/councils/{compound.pk}/")
    schedule_meeting(page, f"{tomorrow}T14:30")
    page.click("#ledger >> text=小区停车难")
    step(page, "schedule")
    page.click(".crumbs a")
    page.click("a[href*='/councils/meetings/']")  # the meeting
    page.fill("#id_minutes", "三方共同商议停车难问题，小区内无法解决")
    page.click("button:has-text('保存会议记录')")
    page.wait_for_selector("ul.messages")
    page.click("main ol >> text=小区停车难")
    step(page, "fail", reason="小区内没有可新建车位的空地")
    step(page, "escalate", reason="需社区协调驻区单位开放停车场")
    assert "已上移" in page.inner_text("#item-state")

    page.goto(f"/councils/{community.pk}/")  # the community council takes it up and cannot settle it either
    assert "小区停车难" in page.inner_text("#pending")
    schedule_meeting(page, f"{tomorrow}T09:00")
    page.click("#pending >> text=小区停车难")
    step(page, "schedule")
    step(page, "fail", reason="驻区单位暂不同意开放")
    step(page, "escalate", reason="需街道协调市直单位")

    login(page, "stan", cast.password)  # the street answers
    page.goto(f"/councils/{street.pk}/")
    schedule_meeting(page, f"{tomorrow}T10:00")
    page.click("#pending >> text=小区停车难")
    step(page, "schedule")
    step(page, "answer", answer="街道协调市住建局夜间开放停车场，下月起实施")
    assert "上级已答复" in page.inner_text("#item-state")

    login(page, "alice", cast.password)  # the answer is on the compound council's page …
    page.goto(f"/councils/{compound.pk}/")
    ledger = page.inner_text("#ledger")
    assert "上级已答复" in ledger and "街道协调市住建局夜间开放停车场" in ledger
    shot(page, "browser-council-answered")

    login(page, "bob", cast.password)  # … and on the public results page, without names
    page.goto("/councils/public/")
    public = page.inner_text("#public-results")
    assert "街道协调市住建局夜间开放停车场" in public and "鲍勃" not in public
    shot(page, "browser-council-public")
