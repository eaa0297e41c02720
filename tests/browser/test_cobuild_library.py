"""The libraries in the browser: a community worker registers a need; a unit handler offers a resource that serves
the community; the community worker proposes the match from the need's suggestions and the unit handler confirms it
on her resource page — the capacity goes down and the need shows 已对接."""

from __future__ import annotations

import datetime as dt

import pytest

from gongzhi.accounts import services as accounts
from gongzhi.cobuild.models import Match, Need, Resource
from gongzhi.core.validators import credit_code_check_char
from gongzhi.registry import services as registry
from gongzhi.registry.models import Sector
from tests.browser.conftest import login, shot
from tests.cast import build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_need_is_matched_with_a_unit_resource(page) -> None:
    cast = build_cast()
    first = "91350100M0000011A"
    unit = registry.unit_create(actor=None, area=cast.street, name="新华街道社区卫生服务中心",
                                credit_code=first + credit_code_check_char(first), sector=Sector.ORGAN)
    hank = accounts.user_create(actor=None, username="hank", password=cast.password)
    accounts.grant_role(actor=None, user=hank, role="unit_handler", unit=unit)

    # 1. The community worker registers a need.
    login(page, "alice", cast.password)
    page.goto("/cobuild/needs/")
    page.click("#need-new")
    page.select_option("#id_area", label="新华街道碧海社区（社区）")
    page.select_option("#id_kind", label="医疗")
    page.fill("#id_title", "独居老人上门义诊")
    page.fill("#id_scale", "受益约 40 位独居老人")
    page.fill("#id_quantity", "2")
    page.fill("#id_wanted_by", (dt.date.today() + dt.timedelta(days=60)).isoformat())
    page.click("form.stacked button[type=submit]")
    page.wait_for_url("**/cobuild/needs/*/")
    need = Need.objects.get()
    assert "暂无可推荐的同类资源" in page.inner_text("#suggestions")
    shot(page, "browser-cobuild-need-registered")

    # 2. The unit handler offers a resource serving 碧海社区.
    login(page, "hank", cast.password)
    page.goto("/cobuild/resources/mine/")
    page.click("#resource-new")
    page.select_option("#id_kind", label="医疗")
    page.fill("#id_title", "家庭医生义诊进社区")
    page.fill("#id_capacity", "6")
    page.fill("#id_cadence", "每年 6 次")
    page.select_option("#id_reach", label="新华街道碧海社区（社区）")
    shot(page, "browser-cobuild-resource-form")
    page.click("form.stacked button[type=submit]")
    page.wait_for_url("**/cobuild/resources/*/")
    resource = Resource.objects.get()
    assert resource.unit_id == unit.pk and "剩余 6 次" in page.inner_text("#resource-capacity")

    # 3. The community worker proposes it from the need's suggestions, with the reason it ranks there.
    login(page, "alice", cast.password)
    page.goto(f"/cobuild/needs/{need.pk}/")
    row = page.locator("#suggestions tr", has_text="家庭医生义诊进社区")
    assert "同类资源 · 服务本社区 · 剩余 6 次 · 暂无对接记录" in row.inner_text()
    shot(page, "browser-cobuild-suggestions")
    row.locator("button[data-propose]").click()
    page.wait_for_selector("#match-list:has-text('等待对方确认')")
    assert page.locator("#match-list button[data-step='confirm']").count() == 0  # not hers to confirm
    match = Match.objects.get()
    assert match.state == "proposed" and match.quantity == 2

    # 4. The unit handler confirms on her resource page.
    login(page, "hank", cast.password)
    page.goto(f"/cobuild/resources/{resource.pk}/")
    page.locator(f"#match-{match.pk} button[data-step='confirm']").click()
    page.wait_for_selector(f"#match-{match.pk}:has-text('已确认')")
    assert "剩余 4 次" in page.inner_text("#resource-capacity")
    shot(page, "browser-cobuild-match-confirmed")
    need.refresh_from_db()
    assert need.state == "matched"
    login(page, "alice", cast.password)
    page.goto(f"/cobuild/needs/{need.pk}/")
    assert "已对接" in page.inner_text("#need-state")
