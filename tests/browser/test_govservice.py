"""Services anywhere and service sites in the browser (issue 13): a clerk of 碧海社区 accepts an application for a
港北社区 resident (通办); the department asks for a missing material (待补正, the clock stops); the resident adds it
from her phone; the department approves, the window issues it, and the resident rates it on the phone. A grid
worker applies on behalf of an elderly resident with her consent. A community worker adds her centre and a room;
a resident books the room on the phone and the slot is then taken for anyone else; the 15-minute coverage page
shows the share and the map of gaps."""

from __future__ import annotations

import pytest

from gongzhi.govservice.models import Application
from gongzhi.sites.models import RoomBooking, Site
from tests.browser.conftest import login, shot
from tests.cast import build_cast
from tests.test_govservice import _png, build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _world() -> dict:
    cast = build_cast()
    return {"cast": cast, **build_world(cast)}


def _phone(page):
    ctx = page.context.browser.new_context(viewport=PHONE, base_url=page.url.split("/", 3)[0] + "//" +
                                           page.url.split("/", 3)[2], locale="zh-CN", is_mobile=True)
    return ctx.new_page()


def test_an_application_across_communities_from_window_to_rating_on_the_phone(page) -> None:
    w = _world()
    cast, item = w["cast"], w["item"]

    # 前台综合受理: 碧海's clerk serves a 港北 resident, with the required materials; the photo is not there yet.
    login(page, "alice", cast.password)
    page.goto("/services/window/")
    page.fill("#id_id_number", "110105194001010018")
    page.select_option("#id_item", str(item.pk))
    page.click("#find")
    assert "李秀兰" in page.inner_text("#applicant") and page.inner_text("#home-community") == "港北社区"
    page.fill("#id_f_bank_card", "6217000000001234")
    page.select_option("#id_f_live_alone", "是")
    for name in ("居民身份证", "户口簿"):
        page.check(f"#materials label:has-text('{name}') input[type=checkbox]")
    page.click("#accept")
    page.wait_for_selector("#app-state")
    assert page.inner_text("#app-state") == "办理中" and page.is_visible("#tongban")
    app = Application.objects.get()
    assert app.window_path == cast.community.path and app.area_path == cast.community2.path
    url = f"/services/applications/{app.pk}/"

    # 后台分类审批: the department asks for the photo; the clock stops.
    login(page, "minzheng", cast.password)
    page.goto("/services/department/")
    page.click(f"a[href='{url}']")
    page.check("#step-request_materials label:has-text('照片') input")
    page.fill("#id_reason_request_materials", "请补交近期免冠照片")
    page.click("#step-request_materials button")
    page.wait_for_selector("#missing")
    assert page.inner_text("#app-state") == "待补正" and "补正期间停止计时" in page.inner_text("#due")

    # The resident adds it from her phone.
    phone = _phone(page)
    login(phone, "lixl", cast.password)
    phone.goto("/services/mine/")
    assert "请补交" in phone.inner_text("#my-applications")
    phone.click(f"#my-applications a[href='{url}']")
    phone.set_input_files("li[data-material='照片'] input[type=file]",
                          files=[{"name": "photo.png", "mimeType": "image/png", "buffer": _png()}])
    phone.click("li[data-material='照片'] button")
    phone.wait_for_selector("ul.messages")
    assert phone.inner_text("#app-state") == "办理中"

    # Approved by the department, issued by the window.
    login(page, "minzheng", cast.password)
    page.goto(url)
    page.click("#step-approve button")
    page.wait_for_selector("#app-state:has-text('已办结')")
    login(page, "alice", cast.password)
    page.goto(url)
    page.select_option("#id_method", "collected")
    page.click("#step-issue button")
    page.wait_for_selector("#app-state:has-text('已出件')")

    # 好差评 on the phone: a bad rating needs a reason (said on the page), a good one is recorded.
    phone.goto(url)
    phone.check("#rate-choices input[value='2']")
    phone.click("#step-rate button")
    phone.wait_for_selector("ul.messages li.error")
    assert "评价为不满意时请写明理由" in phone.inner_text("ul.messages")
    phone.check("#rate-choices input[value='5']")
    phone.click("#step-rate button")
    phone.wait_for_selector("#rating")
    assert "非常满意" in phone.inner_text("#rating")
    shot(phone, "browser-govservice-rated-phone")
    app.refresh_from_db()
    assert (app.state, app.rating, app.approved) == ("issued", 5, True) and app.paused_days >= 0
    phone.context.close()

    # 帮办代办: the grid worker applies at the door of an elderly resident of her grid, with her consent.
    login(page, "gina", cast.password)
    page.goto("/services/window/")
    page.fill("#id_id_number", "11010519491231002X")
    page.select_option("#id_item", str(item.pk))
    page.click("#find")
    page.fill("#id_f_bank_card", "6217000000005678")
    page.select_option("#id_f_live_alone", "否")
    for name in ("居民身份证", "户口簿"):
        page.check(f"#materials label:has-text('{name}') input[type=checkbox]")
    page.check("#id_on_behalf")
    page.click("#accept")
    page.wait_for_selector("ul.errorlist, ul.messages li.error")
    assert "帮办代办须记录本人授权方式" in page.inner_text("main")
    page.check("#id_on_behalf")
    page.select_option("#id_consent", "in_person")
    page.fill("#id_consent_note", "老人行动不便，上门代办")
    for name in ("居民身份证", "户口簿"):
        page.check(f"#materials label:has-text('{name}') input[type=checkbox]")
    page.fill("#id_f_bank_card", "6217000000005678")
    page.select_option("#id_f_live_alone", "否")
    page.click("#accept")
    page.wait_for_selector("#agent")
    assert "当面确认" in page.inner_text("#agent")
    assert Application.objects.filter(agent__username="gina", consent="in_person").count() == 1
    shot(page, "browser-govservice-on-behalf")


def test_a_site_a_room_booked_on_the_phone_and_the_coverage_map(page) -> None:
    cast = build_cast()
    login(page, "alice", cast.password)
    page.goto("/sites/")
    page.click("#new-site")
    page.fill("#id_name", "碧海社区党群服务中心")
    page.select_option("#id_kind", "party_centre")
    page.select_option("#id_tier", "community")
    page.select_option("#id_area", str(cast.community.pk))
    page.fill("#id_hours", "周一至周日 8:30–20:00")
    page.fill("#id_lon", "123.405")
    page.fill("#id_lat", "91")
    page.click("#save-site")
    page.wait_for_selector("#site-errors")
    assert "须在3到54之间" in page.inner_text("#site-errors") and Site.objects.count() == 0
    page.fill("#id_lat", "41.805")
    page.click("#save-site")
    page.wait_for_selector("#site-info")
    site = Site.objects.get()
    page.fill("#id_room_name", "议事厅")
    page.fill("#id_capacity", "20")
    page.click("#room-form button")
    page.wait_for_selector("#book-form")

    # A resident books it on the phone; the next one finds the slot taken.
    phone = _phone(page)
    login(phone, "bob", cast.password)
    phone.goto(f"/sites/{site.pk}/")
    phone.fill("#id_start", "14:00")
    phone.fill("#id_end", "15:30")
    phone.fill("#id_purpose", "楼栋议事")
    phone.click("#book")
    phone.wait_for_selector("ul.messages")
    assert "已预约" in phone.inner_text("ul.messages") and RoomBooking.objects.count() == 1
    shot(phone, "browser-sites-booked-phone")
    phone.context.close()
    login(page, "charlie", cast.password)
    page.goto(f"/sites/{site.pk}/")
    assert "已约" in page.inner_text("#week") and "楼栋议事" not in page.inner_text("#week")
    page.fill("#id_start", "15:00")
    page.fill("#id_end", "16:00")
    page.fill("#id_purpose", "又一场")
    page.click("#book")
    page.wait_for_selector("ul.messages li.error")
    assert "该时段已被预约" in page.inner_text("ul.messages") and RoomBooking.objects.count() == 1

    # The 15-minute circle of the street: 碧海 inside, 港北 (1.6 km away) outside.
    login(page, "stan", cast.password)
    page.goto(f"/sites/coverage/?area={cast.street.pk}")
    assert page.inner_text("#kpi-share .value").startswith("55.8")  # (60 + 420) of (60 + 420 + 380) households
    assert page.locator(".coverage-map path.out").count() == 1 and page.locator(".coverage-map path.in").count() == 2
    assert "港北社区" in page.inner_text("#by-community")
    page.wait_for_selector("[data-chart='chart-coverage'] canvas")
    shot(page, "browser-sites-coverage")
