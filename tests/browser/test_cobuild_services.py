"""Co-building's service organisations, admission control and funds as people click them: a resident books a lunch
slot on her phone and the slot is then full for the next resident; a department's request to push a form onto
communities is refused by the street official and shows on the 减负 figures; a community worker records a spending
and the public disclosure page (no sign-in) shows it."""

from __future__ import annotations

import datetime as dt

import pytest

from gongzhi.accounts import services as accounts
from gongzhi.cobuild.models import AdmissionRequest, Booking, Spending
from gongzhi.cobuild.services import bookings, funds
from gongzhi.core.validators import credit_code_check_char
from gongzhi.registry import services as registry
from gongzhi.registry.models import Sector
from tests.browser.conftest import login, shot
from tests.browser.test_case_pipeline import tiny_png
from tests.cast import build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _code(first17: str) -> str:
    return first17 + credit_code_check_char(first17)


def test_a_resident_books_the_last_lunch_place_on_her_phone_and_the_next_finds_it_full(page) -> None:
    cast = build_cast()
    org = bookings.org_register(actor=cast.alice, area=cast.community, name="碧海社区长者食堂", kind="meals")
    offering = bookings.offering_create(actor=cast.alice, org=org, title="老年助餐·午餐",
                                        price="12 元/餐，80 岁以上 8 元")
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    bookings.slots_create(actor=cast.alice, offering=offering, first_day=tomorrow, weeks=1,
                          weekdays=[tomorrow.weekday()], start=dt.time(11, 0), end=dt.time(12, 30), capacity=1)
    rita = accounts.user_create(actor=None, username="rita", password=cast.password)
    accounts.grant_role(actor=None, user=rita, role="resident", area=cast.community)
    registry.person_create(actor=None, area=cast.building, name="芮塔", user=rita)

    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "bob", cast.password)
    page.goto("/cobuild/services/")
    card = page.locator(".offering", has_text="老年助餐·午餐")
    assert "余 1 位" in card.inner_text()
    button = card.locator("button:has-text('预约')")
    assert button.bounding_box()["height"] >= 44
    shot(page, "browser-cobuild-booking-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    button.click()
    page.wait_for_url("**/cobuild/services/mine/")
    assert "预约成功" in page.inner_text("ul.messages")
    assert "已预约" in page.locator(".booking", has_text="老年助餐·午餐").inner_text()
    shot(page, "browser-cobuild-my-bookings-phone")
    assert Booking.objects.get().person.name == "鲍勃"

    login(page, "rita", cast.password)
    page.goto("/cobuild/services/")
    card = page.locator(".offering", has_text="老年助餐·午餐")
    assert "已约满" in card.inner_text() and card.locator("button:has-text('预约')").count() == 0
    shot(page, "browser-cobuild-slot-full-phone")

    # The canteen (run by the community) accepts it at its desk.
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, "alice", cast.password)
    page.goto(f"/cobuild/services/desk/?org={org.pk}&day={tomorrow:%Y-%m-%d}")
    page.locator("#desk tr", has_text="鲍勃").get_by_role("button", name="接单", exact=True).click()
    page.wait_for_selector("ul.messages")
    assert page.inner_text("#kpi-accepted") == "1"
    shot(page, "browser-cobuild-booking-desk")
    assert Booking.objects.get().state == "accepted"


def test_a_departments_form_is_refused_by_the_street_and_shows_on_the_figures(page) -> None:
    cast = build_cast()
    unit = registry.unit_create(actor=None, area=cast.district, name="区市场监管局",
                                credit_code=_code("11350100M00030000"), sector=Sector.ORGAN)
    mia = accounts.user_create(actor=None, username="mia", password=cast.password)
    accounts.grant_role(actor=None, user=mia, role="unit_handler", unit=unit)

    login(page, "mia", cast.password)
    page.goto("/cobuild/admission/")
    page.click("a:has-text('提交准入申请')")
    page.select_option("#id_area", label="中山区新华街道（街道）")
    page.select_option("#id_kind", value="report")
    page.fill("#id_title", "辖区商户经营情况统计表")
    page.fill("#id_description", "请各社区每月入户填报辖区商户经营情况统计表")
    page.fill("#id_communities", "2")
    page.click("button:has-text('保存')")
    page.wait_for_selector("#req-state")
    assert page.inner_text("#req-state") == "待审核"

    login(page, "stan", cast.password)
    page.goto("/cobuild/admission/")
    page.locator("#to-decide").locator("a:has-text('辖区商户经营情况统计表')").click()
    page.click("button:has-text('不予准入')")  # without a reason: said on the field
    assert "请填写理由" in page.inner_text("#error-reason")
    page.fill("#id_reason", "与市场监管系统已有数据重复，不得要求社区填报")
    page.click("button:has-text('不予准入')")
    page.wait_for_selector("ul.messages")
    assert page.inner_text("#req-state") == "不予准入"
    shot(page, "browser-cobuild-admission-refused")
    page.goto(f"/cobuild/admission/figures/?area={cast.street.pk}")
    assert page.inner_text("#kpi-refused") == "1" and page.inner_text("#kpi-spared") == "2"
    page.wait_for_selector("[data-chart='chart-admission'] canvas")
    shot(page, "browser-cobuild-admission-figures")
    assert AdmissionRequest.objects.get().decision_reason.startswith("与市场监管系统")

    login(page, "mia", cast.password)
    page.goto("/cobuild/admission/")
    assert "与市场监管系统已有数据重复" in page.inner_text("#mine")


def test_a_community_worker_records_a_spending_and_the_public_page_shows_it(page, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    cast = build_cast()
    year = dt.date.today().year
    rule = funds.rule_create(actor=cast.olga, area=cast.district, year=year, source="city", base_amount=20000,
                             per_hundred_households=2000)
    funds.allocation_apply(actor=cast.olga, rule=rule)

    login(page, "alice", cast.password)
    page.goto("/cobuild/funds/")
    assert "44000.00" in page.inner_text("#budgets")
    page.click("a:has-text('记录支出')")
    page.select_option("#id_budget", index=1)
    page.fill("#id_amount", "3600")
    page.select_option("#id_purpose", value="service")
    page.fill("#id_description", "长者食堂餐具及保温设备购置")
    page.fill("#id_payee", "新华厨具商行")
    page.set_input_files("#id_receipt", str(tiny_png(tmp_path / "receipt.png")))
    page.click("button:has-text('保存')")
    page.wait_for_selector("ul.messages")
    assert page.inner_text("#budget-balance") == "40400.00"
    shot(page, "browser-cobuild-budget")
    assert Spending.objects.get().receipt_type == "image/png"

    page.context.clear_cookies()  # the public: no sign-in
    page.goto(f"/cobuild/funds/public/{cast.community.pk}/")
    text = page.inner_text("#public-spendings")
    assert "长者食堂餐具及保温设备购置" in text and "新华厨具商行" in text and "3600.00" in text
    assert page.inner_text("#pub-balance") == "40400.00"
    shot(page, "browser-cobuild-funds-public")
