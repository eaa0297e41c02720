"""What the system administrator clicks to configure the case pipeline: the dashboard's calendar warning → the
year view → a holiday marked and removed; a routing rule made with the search selects, previewed and deleted."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from gongzhi.cases.models import CalendarDay, RoutingRule
from gongzhi.core.models import AuditEntry
from gongzhi.registry import services as registry
from gongzhi.registry.models import Sector
from tests.browser.conftest import login, shot
from tests.cast import build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_administrator_marks_holidays_of_an_uncovered_year(page, monkeypatch) -> None:
    monkeypatch.setattr("gongzhi.cases.templatetags.case_config._today", lambda: dt.date(2026, 11, 20))
    cast = build_cast()
    login(page, "admin", cast.password)
    warning = page.locator(".calendar-warning")
    assert "2027年的放假安排尚未录入" in warning.inner_text()
    shot(page, "browser-dashboard-calendar-warning")
    warning.locator("a").click()
    page.wait_for_url("**/cases/calendar/?year=2027")
    assert page.locator("#calendar-uncovered").is_visible()
    assert page.locator(".cal-month").count() == 12
    shot(page, "browser-calendar-uncovered")

    page.click("a[data-day='2027-10-01']")
    assert "默认周一至周五" in page.inner_text("#picked-source")
    page.check("input[name=kind][value=holiday]")
    page.fill("#id_note", "国庆节")
    page.click("#edit button[type=submit]")
    page.wait_for_selector("text=已将 2027-10-01 设为休（放假）")
    assert page.locator("#calendar-uncovered").count() == 0
    assert "管理员设定" in page.inner_text("#picked-source")
    assert page.inner_text("a[data-day='2027-10-01'] i") == "休"
    assert CalendarDay.objects.get(day=dt.date(2027, 10, 1)).note == "国庆节"

    page.click("a[data-day='2027-10-09']")  # a Saturday made a 调休 working day
    page.check("input[name=kind][value=workday]")
    page.fill("#id_note", "国庆调休")
    page.click("#edit button[type=submit]")
    page.wait_for_selector("text=已将 2027-10-09 设为班（调休上班）")
    assert page.inner_text("a[data-day='2027-10-09'] i") == "班"
    shot(page, "browser-calendar-marked")

    page.click("#clear-day")
    page.wait_for_selector("text=已清除 2027-10-09 的人工调整")
    assert page.locator("a[data-day='2027-10-09'] i").count() == 0
    assert not CalendarDay.objects.filter(day=dt.date(2027, 10, 9)).exists()

    page.goto("/")
    assert page.locator(".calendar-warning").count() == 0  # 2027 now has holidays in the table


def test_the_administrator_makes_previews_and_deletes_a_routing_rule(page) -> None:
    cast = build_cast()
    registry.unit_create(actor=None, area=cast.city, name="市城市管理局", credit_code="91350100M000100Y43",
                         sector=Sector.ORGAN)
    login(page, "admin", cast.password)
    page.click("nav >> text=派单规则")
    page.wait_for_url("**/cases/routing/")
    assert "尚无规则" in page.inner_text("#rules")

    new = page.locator("#new-rule")
    new.locator(".search-select[data-kind=category] input").fill("物业管理")
    expect(page.locator("#id_category option:checked")).to_contain_text("0306")
    new.locator(".search-select[data-kind=area] input").fill("中山")
    expect(page.locator("#id_area option:checked")).to_contain_text("中山区")
    page.select_option("#id_level", "street")
    new.locator(".search-select[data-kind=unit] input").fill("城市管理")
    expect(page.locator("#id_unit option:checked")).to_contain_text("市城市管理局")
    new.locator("button[type=submit]").click()
    page.wait_for_selector("text=已新增派单规则")
    rule = RoutingRule.objects.get()
    assert (rule.area_id, rule.level, rule.category.code) == (cast.district.pk, "street", "0306")
    assert "市城市管理局" in page.inner_text(f"tr[data-rule='{rule.pk}']")

    preview = page.locator("#preview")
    preview.locator(".search-select[data-kind=category] input").fill("030602")
    expect(page.locator("#id_p_category option:checked")).to_contain_text("030602")
    preview.locator(".search-select[data-kind=place] input").fill("1号楼")
    expect(page.locator("#id_p_area option:checked")).to_contain_text("1号楼")
    preview.locator("button[type=submit]").click()
    page.wait_for_selector("#route-result")
    assert "新华街道" in page.inner_text("#route-level")
    assert page.inner_text("#route-unit") == "市城市管理局"
    shot(page, "browser-routing")

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"tr[data-rule='{rule.pk}'] button").click()
    page.wait_for_selector("text=已删除派单规则")
    assert not RoutingRule.objects.exists()
    assert AuditEntry.objects.filter(action="cases.routing_rule.delete").exists()
