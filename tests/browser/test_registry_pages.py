"""What a person clicks in the registry: the tree, a person, a unit form with an error, charts, phone, English."""

from __future__ import annotations

import pytest

from gongzhi.registry.models import MemberUnit
from tests.browser.conftest import login, shot
from tests.cast import build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_community_worker_walks_the_tree_sees_a_resident_and_registers_a_unit(page) -> None:
    cast = build_cast()
    login(page, "alice", cast.password)
    page.click("nav >> text=区域")
    page.click("button.toggle")  # 碧海社区 → its grids
    page.locator("a", has_text="碧海社区第1网格").wait_for()
    grid_node = page.locator("span.node", has=page.locator("a", has_text="碧海社区第1网格"))
    grid_node.locator("button.toggle").click()
    page.locator("a", has_text="海鸥花园").wait_for()
    page.click("text=碧海社区第1网格")
    assert "碧海社区第1网格" in page.inner_text("h1")
    shot(page, "browser-area")

    page.click("nav >> text=人员")
    page.click("text=鲍勃")
    assert page.inner_text("#person-phone") == "13800138000"  # a community worker needs the number

    page.click("nav >> text=驻区单位")
    page.click("text=登记单位")
    page.fill("#id_name", "碧海物业服务有限公司")
    page.fill("#id_credit_code", "91350100M000100Y44")  # wrong check character
    page.select_option("#id_sector", "property")
    page.click("main button[type=submit]")
    assert "校验码" in page.inner_text("#error-credit_code")
    assert not MemberUnit.objects.exists()
    shot(page, "browser-unit-error")
    page.fill("#id_credit_code", "91350100M000100Y43")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=已登记驻区单位")
    assert MemberUnit.objects.get().name == "碧海物业服务有限公司"


def test_a_street_official_sees_masked_numbers_and_a_drawn_coverage_chart(page) -> None:
    cast = build_cast()
    login(page, "stan", cast.password)
    canvas = page.locator("#coverage-chart canvas")
    canvas.wait_for()
    assert canvas.bounding_box()["width"] > 100
    drawn = page.evaluate("""() => { const c = document.querySelector('#coverage-chart canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; } return n; }""")
    assert drawn > 1000  # the chart is painted, not an empty canvas
    page.wait_for_timeout(600)  # ECharts' entry animation
    shot(page, "browser-street-dashboard")
    page.goto("/people/")
    assert "138****8000" in page.inner_text("main")
    assert "13800138000" not in page.content()
    shot(page, "browser-street-home")


def test_a_phone_sized_screen_gets_the_menu_button_and_english_is_one_click_away(page) -> None:
    cast = build_cast()
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "bob", cast.password)
    assert page.locator(".hamburger").is_visible()
    assert not page.locator(".sidenav").is_visible()
    page.click(".hamburger")
    page.locator(".sidenav").wait_for(state="visible")
    page.wait_for_timeout(300)  # the slide-in
    shot(page, "browser-phone-menu")
    page.click(".hamburger")
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Report a problem" in page.inner_text("main")


def test_a_community_worker_records_a_visit_and_a_fulfilled_commitment_on_a_pairing(page) -> None:
    import datetime as dt

    from gongzhi.registry import services as registry
    from gongzhi.registry.models import CommitmentItem, PairingVisit

    cast = build_cast()
    leader = registry.person_create(actor=None, area=cast.building, name="于宏建")
    pairing = registry.pairing_create(actor=None, kind="leader_community", person=leader, area=cast.community,
                                      started_on=dt.date(2026, 1, 1))
    registry.commitment_create(actor=None, pairing=pairing, title="市领导联系社区承诺书",
                               signed_on=dt.date(2026, 1, 2), items=[{"text": "每季度走访社区一次"}])
    login(page, "alice", cast.password)
    page.goto(f"/pairings/?area={cast.community.pk}")
    page.click("table >> text=市领导联系社区")
    page.click("text=记录一次走访")
    page.fill("#id_visited_on", "2025-12-01")  # before the pairing began
    page.click("#visits button[type=submit]")
    assert "早于" in page.inner_text("#error-visited_on")
    assert not PairingVisit.objects.exists()
    page.fill("#id_visited_on", "2026-02-03")
    page.fill("#id_note", "走访座谈，听取居民意见")
    page.click("#visits button[type=submit]")
    page.wait_for_selector("text=已记录走访")
    page.click("text=登记兑现")
    page.locator("textarea[name$=evidence]").fill("2月3日已走访")
    page.click(".commitment button[type=submit]")
    page.wait_for_selector("text=已登记兑现情况")
    assert CommitmentItem.objects.get().fulfilled_on is not None
    shot(page, "browser-pairing")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/areas/{cast.community.pk}/")
    assert page.locator(".hamburger").is_visible() and not page.locator(".sidenav").is_visible()
    shot(page, "browser-phone-area")
