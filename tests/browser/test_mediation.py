"""Mediation as people click it (issue 8, item 8): a community worker sets up her community's 评理说事点 with a
retired party member as its mediator, opens a dispute between three parties with that team, takes it for her own
staff and records a hearing with the team's member as mediator."""

from __future__ import annotations

import pytest

from gongzhi.cases.models import Case, Hearing, Mediation
from gongzhi.registry import services as registry
from tests.browser.conftest import login, shot
from tests.cast import build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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


def test_a_community_worker_opens_a_dispute_with_a_team_and_records_a_hearing(page) -> None:
    cast = build_cast()
    zhou = registry.person_create(actor=None, area=cast.building, name="周建国", phone="13900139001")

    login(page, "alice", cast.password)
    page.goto("/cases/mediation/teams/")
    page.click("#new-team")
    page.fill("#id_name", "碧海社区评理说事点")
    page.select_option("#id_kind", "talk_point")
    page.select_option("#id_area", str(cast.community.pk))
    page.fill("#id_place", "海鸥花园党群之家")
    page.click("main button[type=submit]")
    page.wait_for_selector("#members")
    page.select_option("#id_member-person", str(zhou.pk))
    page.select_option("#id_member-role", "director")
    page.click("#add-member button[type=submit]")
    page.wait_for_selector("#members >> text=周建国")
    assert "主任" in page.inner_text("#members")
    shot(page, "mediation-team")

    page.click("#open-for-team")
    page.wait_for_selector("#open-form")
    rows = page.locator("#parties .party-row")
    rows.nth(0).locator("[name=party_name]").fill("王芳")
    rows.nth(1).locator("[name=party_name]").fill("李强")
    page.click("#add-party")
    third = page.locator("#parties .party-row").nth(2)
    third.locator("[name=party_name]").fill("海鸥物业")
    third.locator("[name=party_role]").fill("第三人")
    page.fill("#id_description", "楼上卫生间漏水到楼下，双方就维修费用发生争执")
    page.select_option("#id_area", label="海鸥花园 1号楼")
    assert page.locator("#id_team option:checked").inner_text().startswith("碧海社区评理说事点")
    shot(page, "mediation-open")
    page.click("#open-form button[type=submit]")
    page.wait_for_selector("#case-state")
    assert "碧海社区评理说事点" in page.inner_text("#mediation-team")
    assert "第三人 海鸥物业" in page.inner_text("main")

    act(page, "accept", category="030204")  # 房屋纠纷
    act(page, "dispatch")  # to the community's own staff
    act(page, "start")
    page.fill("#id_held_at", "2026-03-02T15:00")
    page.check(f"#team-mediators input[value='{zhou.pk}']")
    page.fill("#id_mediators", "宝仁律师事务所 陈律师")
    page.fill("#id_hearing_notes", "双方同意先由物业查明漏水原因")
    page.click("#hearing-form button[type=submit]")
    page.wait_for_selector("#hearings li")
    assert "周建国、宝仁律师事务所 陈律师" in page.inner_text("#hearings")
    shot(page, "mediation-case")

    case = Case.objects.get()
    assert Mediation.objects.get(case=case).team is not None
    hearing = Hearing.objects.get()
    assert list(hearing.mediator_people.all()) == [zhou]

    page.click("#mediation-team a")  # the team's page lists its dispute
    page.wait_for_selector("#team-cases")
    assert case.number in page.inner_text("#team-cases")
