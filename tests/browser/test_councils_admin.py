"""Councils set up in the browser: the system administrator keeps the kinds (议事组织类型), a community worker
creates a council on the councils page with a convener and mans it (a unit and a party organisation join, the unit
leaves), and the convener — a resident without the council capability — runs her own council."""

from __future__ import annotations

import datetime as dt

import pytest

from gongzhi.councils.models import Council, CouncilKind, load_default_kinds
from gongzhi.registry import services as registry
from gongzhi.registry.models import Sector
from tests.browser.conftest import login, shot
from tests.cast import build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_kinds_then_a_council_with_members_then_its_convener_runs_it(page) -> None:
    load_default_kinds()  # an earlier transactional test flushed what the migration loaded
    cast = build_cast()
    registry.unit_create(actor=None, area=cast.community, name="碧海物业", credit_code="91350100M000100Y43",
                         sector=Sector.PROPERTY)
    registry.party_org_create(actor=None, area=cast.grid1, name="第1网格党支部", level="branch")

    login(page, "admin", cast.password)  # the administrator finds the kinds in the navigation
    page.click("nav.sidenav >> text=议事组织类型")
    page.fill("#id_new-code", "neighbourhood")
    page.fill("#id_new-name", "邻里议事会")
    page.fill("#id_new-order", "65")
    page.click("button:has-text('新增类型')")
    page.wait_for_selector("ul.messages")
    homeland = page.locator("form#kind-homeland")
    homeland.locator("input[type=text]").fill("小区家园议事会")
    homeland.locator("input[type=checkbox]").uncheck()  # retired: no new councils of this kind
    homeland.locator("button").click()
    page.wait_for_selector("ul.messages")
    row = page.inner_text("tr[data-kind=homeland]")
    assert "已停用" in row
    assert page.input_value("form#kind-neighbourhood input[type=text]") == "邻里议事会"
    shot(page, "browser-council-kinds")

    login(page, "alice", cast.password)  # a community worker creates a council with its convener
    page.click("nav.sidenav >> text=议事协商")
    form = page.locator("#new-council form[method=post]")
    kinds = form.locator("select[name=kind] option").all_inner_texts()
    assert "邻里议事会" in kinds and "小区家园议事会" not in kinds
    form.locator("select[name=area]").select_option(label="海鸥花园（小区）")
    form.locator("input[name=name]").fill("海鸥花园邻里议事会")
    form.locator("select[name=kind]").select_option(label="邻里议事会")
    form.locator("select[name=cadence]").select_option("monthly")
    form.locator("select[name=procedure]").select_option("homeland")
    form.locator("select[name=convener]").select_option(label="鲍勃（1号楼）")
    shot(page, "browser-council-new")
    form.locator("button:has-text('新建议事组织')").click()
    page.wait_for_selector("ul.messages")
    assert "海鸥花园邻里议事会" in page.inner_text("h1") and "邻里议事会" in page.inner_text("h1")
    assert "鲍勃" in page.inner_text("#members")

    add = page.locator("#add-member")  # members: a unit, then a party organisation as adviser
    add.locator("select[name=member-unit]").select_option(label="碧海物业")
    add.locator("button:has-text('添加成员')").click()
    page.wait_for_selector("ul.messages")
    add = page.locator("#add-member")
    add.locator("select[name=member-organisation]").select_option(label="第1网格党支部")
    add.locator("select[name=member-role]").select_option("adviser")
    add.locator("button:has-text('添加成员')").click()
    page.wait_for_selector("ul.messages")
    members = page.inner_text("#members ul")
    assert "碧海物业" in members and "第1网格党支部" in members and "指导员" in members
    add = page.locator("#add-member")  # a duplicate is refused on its field
    add.locator("select[name=member-unit]").select_option(label="碧海物业")
    add.locator("button:has-text('添加成员')").click()
    assert "已是本议事组织成员" in page.inner_text("#error-member-unit")
    page.locator("#members li", has_text="碧海物业").locator("button:has-text('移出')").click()
    page.wait_for_selector("ul.messages")
    assert "碧海物业" not in page.inner_text("#members ul")
    shot(page, "browser-council-members")

    council = Council.objects.get(name="海鸥花园邻里议事会")
    assert council.kind == CouncilKind.objects.get(code="neighbourhood")
    login(page, "bob", cast.password)  # bob, a resident, convenes it: he schedules and holds its meeting
    page.goto(f"/councils/{council.pk}/")
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    page.fill("input[name=scheduled_for]", f"{tomorrow}T19:00")
    page.fill("input[name=place]", "海鸥花园议事亭")
    page.click("button:has-text('安排会议')")
    page.wait_for_selector("ul.messages")
    page.click("a[href*='/councils/meetings/']")
    page.fill("#id_minutes", "邻里议事：楼道堆物清理")
    page.click("button:has-text('保存会议记录')")
    page.wait_for_selector("ul.messages")
    assert "已召开" in page.inner_text("h1")
    assert council.meetings.get().held
