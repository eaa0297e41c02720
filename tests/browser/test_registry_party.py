"""What a community worker and the organisation department click for the party-building side of the registry:
a grassroots survey round and its outcomes, a 大党委 part-time member, 双报到, ending a pairing and a post, and
the grid-size and staffing flags on the area page."""

from __future__ import annotations

import datetime as dt

import pytest

from gongzhi.registry import services as registry
from gongzhi.registry.models import (
    DualRegistration,
    GrassrootsSurvey,
    GroupOutcome,
    OrganisationPost,
    OrgLevel,
    Pairing,
    PostKind,
    Sector,
    StaffPost,
)
from tests.browser.conftest import login, shot
from tests.cast import build_cast
from tests.test_web_registry import credit_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _world() -> dict:
    cast = build_cast()
    org = registry.party_org_create(actor=None, area=cast.community, name="中共碧海社区委员会",
                                    level=OrgLevel.COMMITTEE)
    unit = registry.unit_create(actor=None, area=cast.community, name="碧海物业", credit_code=credit_code(1),
                                sector=Sector.PROPERTY)
    dance = registry.grassroots_group_create(actor=None, area=cast.community, name="广场舞队", kind="广场舞队",
                                             member_count=20, party_member_count=2)
    person = registry.person_create(actor=None, area=cast.building, name="在职党员甲")
    member = registry.party_member_register(actor=None, person=person, organisation=org, work_unit=unit)
    leader = registry.person_create(actor=None, area=cast.building, name="市领导")
    pairing = registry.pairing_create(actor=None, kind="leader_community", person=leader, area=cast.community,
                                      started_on=dt.date(2026, 1, 1))
    staff = registry.person_create(actor=None, area=cast.building, name="社工丙")
    post = registry.staff_post_assign(actor=None, person=staff, kind=PostKind.COMMUNITY_WORKER, area=cast.community,
                                      since=dt.date(2025, 1, 1))
    registry.area_update(actor=None, area=cast.grid2, changes={"households": 620})
    return {"cast": cast, "org": org, "unit": unit, "dance": dance, "member": member, "pairing": pairing,
            "staff": staff, "post": post}


def test_a_community_worker_runs_a_survey_round_sends_an_instructor_and_ends_a_pairing_and_a_post(page) -> None:
    w = _world()
    cast = w["cast"]
    login(page, "alice", cast.password)
    page.click("nav >> text=草根组织排查")
    page.click("text=新建排查")
    page.select_option("#id_area", str(cast.community.pk))
    page.click("main button[type=submit]")
    dance = w["dance"]
    page.fill(f"#id_g{dance.pk}_party", "30")  # more party members than members
    page.click("text=保存排查")
    assert "党员数不能多于成员数" in page.inner_text(f"#error-g{dance.pk}_party")
    assert not GrassrootsSurvey.objects.exists()
    shot(page, "browser-survey-error")
    page.fill(f"#id_g{dance.pk}_members", "21")
    page.fill(f"#id_g{dance.pk}_party", "2")
    page.click("text=保存排查")
    page.wait_for_selector("text=已登记排查")
    assert GrassrootsSurvey.objects.get().entries.get().member_count == 21
    shot(page, "browser-survey")

    page.click(f"#entry-{dance.pk} >> text=选派指导员")
    page.select_option("#id_instructor", label="在职党员甲（1号楼）")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=已为“广场舞队”选派党建指导员")
    dance.refresh_from_db()
    assert dance.outcome == GroupOutcome.INSTRUCTOR
    assert "已选派党建指导员" in page.inner_text(f"#group-{dance.pk}")

    page.goto(f"/pairings/{w['pairing'].pk}/")
    page.click("text=结束结对")
    page.fill("#id_ended_on", "2025-06-30")
    page.click("main button[type=submit]")
    assert "结束日期不能早于开始日期" in page.inner_text("#error-ended_on")
    page.fill("#id_ended_on", "2026-06-30")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=已结束结对")
    assert Pairing.objects.get().ended_on == dt.date(2026, 6, 30)

    page.goto(f"/people/{w['staff'].pk}/")
    page.click(f"#post-{w['post'].pk} >> text=离任")
    page.fill("#id_until", "2026-06-30")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=已登记离任")
    assert StaffPost.objects.get(pk=w["post"].pk).until == dt.date(2026, 6, 30)
    assert "离任" in page.inner_text(f"#post-{w['post'].pk}")

    page.goto(f"/areas/{cast.community.pk}/")
    assert "偏大" in page.inner_text("#children")
    assert "缺" in page.inner_text("#kpi-staffing")
    shot(page, "browser-area-norms")


def test_the_organisation_department_sets_up_a_joint_committee_and_registers_a_member(page) -> None:
    w = _world()
    cast, org = w["cast"], w["org"]
    login(page, "olga", cast.password)
    page.goto(f"/orgs/{org.pk}/")
    page.click("main >> text=编辑")
    page.check("#id_has_joint_committee")
    page.fill("#id_reason", "设立大党委")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=已保存")
    page.click("text=新增大工委/大党委兼职委员")
    page.select_option("#id_person", label="在职党员甲（1号楼）")
    page.select_option("#id_representing", label="碧海物业")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=已任命")
    assert "碧海物业" in page.inner_text("#org-posts") and "兼职" in page.inner_text("#org-posts")
    assert OrganisationPost.objects.get().body == "joint"
    shot(page, "browser-org-joint-committee")

    page.click("nav >> text=双报到")
    page.click("main >> text=登记双报到")
    page.select_option("#id_party_member", label="在职党员甲（1号楼）")
    page.select_option("#id_community", str(cast.community.pk))
    page.click("main button[type=submit]")
    page.wait_for_selector("text=已登记双报到")
    assert DualRegistration.objects.get().party_member == w["member"]
    assert "在职党员甲" in page.inner_text("#registrations")
    shot(page, "browser-dual-registrations")

    page.goto(f"/people/{w['member'].person_id}/")
    page.click("text=编辑党员信息")
    page.check("#id_is_mobile")
    page.click("main button[type=submit]")
    assert "流动党员须填写流出地或流入地" in page.inner_text("#error-outflow_place")
    page.fill("#id_inflow_place", "深圳")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=已保存")
    assert "流动党员" in page.inner_text("main")
