"""一张图 and 大屏 in a real browser (issue 14): a resident on a phone drags the pin and the compound and building
are found, the case page shows the point; a dispatcher filters overdue cases on the city map and opens one; the
大屏 at 1920×1080 updates when a case is reported, without a reload. No request leaves the platform."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from gongzhi.accounts import services as accounts
from gongzhi.cases import services as cases
from gongzhi.cases.models import Case
from gongzhi.registry import services as registry
from tests.browser.conftest import login, shot
from tests.cast import build_cast, square
from tests.test_maps import make_overdue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _only_our_host(page: Any, live_server: Any) -> list[str]:
    """Every request the page makes, to check that none goes anywhere but the platform (intranets are offline)."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    return seen


def _foreign(seen: list[str], live_server: Any) -> list[str]:
    return [u for u in seen if not (u.startswith(live_server.url) or u.startswith("data:") or u.startswith("blob:"))]


def test_a_resident_drags_the_pin_and_the_case_page_shows_the_point(browser: Any, live_server: Any) -> None:
    cast = build_cast()
    registry.area_update(actor=cast.admin, area=cast.compound, changes={"boundary": square(123.401, 41.801, 0.006)})
    registry.area_create(actor=cast.admin, parent=cast.compound, name="2号楼", code="99010100100100101002",
                         kind="building", households=48)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  base_url=live_server.url, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    seen = _only_our_host(page, live_server)
    login(page, "bob", cast.password)
    page.goto("/cases/report/")
    page.fill("#id_title", "小区门口路灯不亮")
    page.fill("#id_description", "晚上很黑，老人出门不方便")
    page.wait_for_selector("#report-map .leaflet-interactive")
    pin = page.locator("#report-map .gz-pin")
    pin.scroll_into_view_if_needed()
    # Drag the pin to a point inside 海鸥花园 (the map's pixel for it, from Leaflet itself).
    box = pin.bounding_box()
    assert box is not None
    goal = page.evaluate("""() => {
        const map = document.querySelector('#report-map')._gzmap.map;
        const p = map.latLngToContainerPoint([41.8045, 123.4045]);
        const r = document.querySelector('#report-map').getBoundingClientRect();
        return [r.left + p.x, r.top + p.y]; }""")
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 2)
    page.mouse.down()
    page.mouse.move(goal[0], goal[1] - 10, steps=12)
    page.mouse.move(goal[0], goal[1], steps=4)
    page.mouse.up()
    page.wait_for_selector("#report-found .found-place")
    assert "海鸥花园" in page.inner_text("#report-found") and "碧海社区第1网格" in page.inner_text("#report-found")
    page.click("#report-found .chip:has-text('2号楼')")
    assert page.locator("#id_area option:checked").inner_text().endswith("2号楼")
    lng, lat = float(page.input_value("[name=lng]")), float(page.input_value("[name=lat]"))
    assert abs(lng - 123.4045) < 0.0006 and abs(lat - 41.8045) < 0.0006
    shot(page, "browser-map-resident-pin")
    page.click("main button[type=submit]")
    page.wait_for_selector("#case-state")
    case = Case.objects.latest("pk")
    assert case.area.name == "2号楼" and abs(case.lng - lng) < 1e-6 and abs(case.lat - lat) < 1e-6
    page.wait_for_selector("#case-map .gz-pin")
    assert f"{case.lng:.6f}" in page.inner_text("main")
    shot(page, "browser-map-case-point")
    assert _foreign(seen, live_server) == []
    context.close()


def test_a_dispatcher_filters_overdue_cases_on_the_city_map_and_opens_one(page: Any, live_server: Any) -> None:
    cast = build_cast()
    dispatcher = accounts.user_create(actor=None, username="dee", password=cast.password)
    accounts.grant_role(actor=None, user=dispatcher, role="dispatcher", area=cast.city)
    late = cases.case_submit(actor=cast.bob, title="下水道堵塞返味", description="一周了", lng=123.404, lat=41.804)
    cases.case_submit(actor=cast.bob, title="楼道灯坏了", description="三楼", lng=123.415, lat=41.806)
    make_overdue(cast, late)
    seen = _only_our_host(page, live_server)
    login(page, "dee", cast.password)
    page.click("nav >> text=城市一张图")
    page.wait_for_selector("#city-map .case-marker")
    assert page.locator("#city-map .case-marker").count() == 2
    # the areas carry their names (drawn from their own request, which may land after the cases')
    expect(page.locator("#city-map .map-label", has_text="碧海社区第1网格").first).to_be_visible()
    page.select_option("#map-filters [name=state]", "overdue")
    expect(page.locator("#city-map .case-marker")).to_have_count(1)
    assert "1" in page.inner_text("#map-status")
    page.select_option("#map-filters [name=figure]", "per_1000")
    expect(page.locator("#map-legend strong")).to_have_text("每千户诉求量")
    # 碧海第1网格: one case, 400 households, written on the area
    expect(page.locator("#city-map .map-label", has_text="2.5").first).to_be_visible()
    shot(page, "browser-map-city-overdue")
    page.locator("#city-map .case-marker").click()
    page.click(".leaflet-popup a.open-case")
    page.wait_for_selector("#case-state")
    assert page.url.rstrip("/").endswith(f"/cases/{late.pk}")
    assert _foreign(seen, live_server) == []


def test_the_screen_renders_at_wall_size_and_updates_without_a_reload(browser: Any, live_server: Any) -> None:
    cast = build_cast()
    dispatcher = accounts.user_create(actor=None, username="dee", password=cast.password)
    accounts.grant_role(actor=None, user=dispatcher, role="dispatcher", area=cast.city)
    cases.case_submit(actor=cast.bob, title="楼道灯坏了", description="三楼", lng=123.405, lat=41.805)
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, base_url=live_server.url,
                                  locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(20_000)
    seen = _only_our_host(page, live_server)
    login(page, "dee", cast.password)
    page.goto("/map/screen/?interval=2")
    expect(page.locator("#kpi-open")).to_have_text("1")
    page.evaluate("window.__stillHere = true")
    cases.case_submit(actor=cast.bob, title="电梯困人", description="2号楼", lng=123.406, lat=41.806)
    page.wait_for_selector("#screen-ticker li.new:has-text('电梯困人')")
    assert page.inner_text("#kpi-open") == "2" and page.inner_text("#kpi-today") == "2"
    assert page.evaluate("window.__stillHere") is True  # updated in place, not reloaded
    size = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    assert size == [1920, 1080]  # fills the wall without scrolling
    shot(page, "browser-map-screen")
    assert _foreign(seen, live_server) == []
    context.close()


def test_an_administrator_previews_then_imports_a_boundary_file(page: Any, live_server: Any, tmp_path: Any) -> None:
    import json

    cast = build_cast()
    ring = [[123.50, 41.85], [123.51, 41.85], [123.51, 41.86], [123.50, 41.86], [123.50, 41.85]]
    body = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"编码": cast.grid2.code, "名称": "二网格"},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}]}
    upload = tmp_path / "grids.geojson"
    upload.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    login(page, "admin", cast.password)
    page.click("nav >> text=区域")
    page.click("main >> text=导入区域边界")
    page.set_input_files("#id_file", str(upload))
    page.select_option("#id_crs", "WGS84")
    page.click("main button[type=submit]")  # 只预检 is ticked by default
    assert "预检结果" in page.inner_text("#import-result") and cast.grid2.code in page.inner_text("#import-updated")
    cast.grid2.refresh_from_db()
    assert cast.grid2.boundary["coordinates"][0][0] == [123.41, 41.80]
    page.set_input_files("#id_file", str(upload))
    page.uncheck("#id_dry_run")
    page.click("main button[type=submit]")
    page.wait_for_selector("ul.messages")
    cast.grid2.refresh_from_db()
    assert cast.grid2.boundary["coordinates"][0][0] == [123.50, 41.85]
    shot(page, "browser-map-boundary-import")
