"""The party-building pages of the registry and their API, through the test client: grassroots survey rounds and
their outcomes, committee and 大工委/大党委 posts, 双报到, organisation and member edits, ending a pairing or a post.
Errors name their field and write nothing; outsiders get 404; lists cost a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from gongzhi.accounts import services as accounts
from gongzhi.registry import services as registry
from gongzhi.registry.models import (
    DualRegistration,
    GrassrootsGroup,
    GrassrootsSurvey,
    GroupOutcome,
    OrganisationPost,
    OrgLevel,
    Pairing,
    PartyMember,
    PartyOrganisation,
    PostKind,
    Sector,
    StaffPost,
    SurveyEntry,
)
from tests.cast import Cast
from tests.test_web_registry import credit_code, field_error


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_for(user: Any) -> Client:
    _token, key = accounts.token_create(actor=None, user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.fixture
def world(cast: Cast) -> dict[str, Any]:
    org = registry.party_org_create(actor=None, area=cast.community, name="中共碧海社区委员会",
                                    level=OrgLevel.COMMITTEE)
    branch = registry.party_org_create(actor=None, area=cast.grid1, name="第1网格党支部", level=OrgLevel.BRANCH,
                                       parent=org)
    unit = registry.unit_create(actor=None, area=cast.community, name="碧海物业", credit_code=credit_code(1),
                                sector=Sector.PROPERTY)
    dance = registry.grassroots_group_create(actor=None, area=cast.community, name="广场舞队", kind="广场舞队",
                                             member_count=20, party_member_count=4)
    yangge = registry.grassroots_group_create(actor=None, area=cast.grid1, name="秧歌队", kind="秧歌队",
                                              member_count=12, party_member_count=1)
    worker = registry.person_create(actor=None, area=cast.building, name="在职党员甲")
    member = registry.party_member_register(actor=None, person=worker, organisation=org, work_unit=unit)
    retired = registry.person_create(actor=None, area=cast.building, name="退休党员乙")
    retired_member = registry.party_member_register(actor=None, person=retired, organisation=branch)
    leader = registry.person_create(actor=None, area=cast.building, name="市领导")
    pairing = registry.pairing_create(actor=None, kind="leader_community", person=leader, area=cast.community,
                                      started_on=dt.date(2026, 1, 1))
    staff = registry.person_create(actor=None, area=cast.building, name="社工丙")
    post = registry.staff_post_assign(actor=None, person=staff, kind=PostKind.COMMUNITY_WORKER, area=cast.community,
                                      since=dt.date(2025, 1, 1))
    return {"org": org, "branch": branch, "unit": unit, "dance": dance, "yangge": yangge, "member": member,
            "retired": retired_member, "pairing": pairing, "post": post, "staff": staff}


# ------------------------------------------------------------------------------------------ grassroots survey


def survey_post(w: dict[str, Any], **override: Any) -> dict[str, Any]:
    data = {"conducted_on": "2026-04-01", "note": "春季排查",
            f"g{w['dance'].pk}_include": "on", f"g{w['dance'].pk}_members": "22", f"g{w['dance'].pk}_party": "5",
            f"g{w['yangge'].pk}_include": "on", f"g{w['yangge'].pk}_members": "12",
            f"g{w['yangge'].pk}_party": "2"}
    data.update(override)
    return data


def test_a_survey_round_is_recorded_line_by_line_from_the_navigation(cast: Cast, world: dict[str, Any]) -> None:
    alice = logged_in(cast.alice)
    assert 'href="/surveys/"' in alice.get("/").content.decode()  # the navigation links the list
    listing = alice.get("/surveys/").content.decode()
    assert 'href="/surveys/new/"' in listing
    step1 = alice.get("/surveys/new/").content.decode()
    assert f'value="{cast.community.pk}"' in step1 and 'method="get"' in step1
    url = f"/surveys/new/?area={cast.community.pk}"
    form = alice.get(url).content.decode()
    assert "广场舞队" in form and "秧歌队" in form

    # A line with more party members than members: the error is on that line, nothing is written.
    bad = alice.post(url, survey_post(world, **{f"g{world['yangge'].pk}_party": "30"}))
    assert bad.status_code == 200
    assert "党员数不能多于成员数" in field_error(bad.content.decode(), f"g{world['yangge'].pk}_party")
    assert not GrassrootsSurvey.objects.exists() and not SurveyEntry.objects.exists()
    world["dance"].refresh_from_db()
    assert world["dance"].member_count == 20  # the first line was not half-written either

    # Nothing ticked: said on top, in Chinese.
    none = alice.post(url, {"conducted_on": "2026-04-01"})
    assert "排查须至少登记一个草根组织" in none.content.decode()

    done = alice.post(url, survey_post(world, **{f"g{world['yangge'].pk}_include": ""}))
    survey = GrassrootsSurvey.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/surveys/{survey.pk}/"
    entry = SurveyEntry.objects.get()
    assert (entry.group, entry.member_count, entry.party_member_count, entry.can_form_org) == (
        world["dance"], 22, 5, True)
    world["dance"].refresh_from_db()
    assert world["dance"].last_surveyed_on == dt.date(2026, 4, 1)
    page = alice.get(done["Location"]).content.decode()
    assert "具备" in page and f'href="/groups/{world["dance"].pk}/instructor/"' in page
    assert f'href="/groups/{world["dance"].pk}/form-org/"' not in page  # forming needs 党建 rights (olga)
    olga_page = logged_in(cast.olga).get(done["Location"]).content.decode()
    assert f'href="/groups/{world["dance"].pk}/form-org/"' in olga_page
    assert "22/5" in page and "1/" in alice.get("/surveys/").content.decode()

    charlie = logged_in(cast.charlie)
    assert charlie.get(done["Location"]).status_code == 404
    assert charlie.get(url).status_code == 404
    assert logged_in(cast.bob).get("/surveys/new/").status_code == 404  # a resident cannot survey


def test_a_group_gets_its_party_organisation_or_an_instructor_from_the_groups_page(
        cast: Cast, world: dict[str, Any]) -> None:
    dance, yangge = world["dance"], world["yangge"]
    olga, alice = logged_in(cast.olga), logged_in(cast.alice)
    groups = olga.get(f"/groups/?area={cast.community.pk}").content.decode()
    assert f'href="/groups/{dance.pk}/form-org/"' in groups
    assert f'href="/groups/{yangge.pk}/form-org/"' not in groups  # one party member: cannot form its own
    assert f'href="/groups/{yangge.pk}/instructor/"' in alice.get("/groups/").content.decode()
    assert 'href="/groups/new/"' in alice.get("/groups/").content.decode()

    form = olga.get(f"/groups/{dance.pk}/form-org/").content.decode()
    assert "广场舞队党支部" in form and "中共碧海社区委员会" in form
    bad = olga.post(f"/groups/{dance.pk}/form-org/", {"name": "广场舞队党支部", "parent": "",
                                                       "founded_on": "2026-05-01"})
    assert field_error(bad.content.decode(), "parent")
    done = olga.post(f"/groups/{dance.pk}/form-org/", {"name": "广场舞队党支部", "parent": world["org"].pk,
                                                        "founded_on": "2026-05-01", "reason": "排查后组建"})
    org = PartyOrganisation.objects.get(name="广场舞队党支部")
    assert done["Location"] == f"/orgs/{org.pk}/"
    assert (org.sector, org.parent, org.area) == (Sector.GRASSROOTS, world["org"], cast.community)
    dance.refresh_from_db()
    assert (dance.outcome, dance.party_org) == (GroupOutcome.ORG_FORMED, org)
    assert olga.get(f"/groups/{dance.pk}/form-org/").status_code == 200
    again = olga.post(f"/groups/{dance.pk}/form-org/", {"name": "x", "parent": world["org"].pk,
                                                         "founded_on": "2026-05-01"})
    assert "该组织已组建党组织" in again.content.decode()

    person = world["retired"].person
    assert "退休党员乙" in alice.get(f"/groups/{yangge.pk}/instructor/").content.decode()
    done = alice.post(f"/groups/{yangge.pk}/instructor/", {"instructor": person.pk, "since": "2026-05-02"})
    assert done.status_code == 302
    yangge.refresh_from_db()
    assert (yangge.outcome, yangge.instructor) == (GroupOutcome.INSTRUCTOR, person)
    assert StaffPost.objects.filter(person=person, kind=PostKind.INSTRUCTOR, area=cast.grid1).exists()

    assert logged_in(cast.charlie).get(f"/groups/{yangge.pk}/instructor/").status_code == 404
    assert alice.get(f"/groups/{yangge.pk}/form-org/").status_code == 404  # not a 党建 editor

    new = alice.post("/groups/new/", {"name": "太极队", "kind": "兴趣团体", "area": cast.grid2.pk,
                                      "member_count": "3", "party_member_count": "5"})
    assert "党员数不能多于成员数" in field_error(new.content.decode(), "party_member_count")
    alice.post("/groups/new/", {"name": "太极队", "kind": "兴趣团体", "area": cast.grid2.pk, "member_count": "8"})
    assert GrassrootsGroup.objects.filter(name="太极队", area=cast.grid2).exists()


# ------------------------------------------------------------------------------------------ organisations, posts


def test_an_organisation_is_edited_and_gets_committee_and_joint_committee_members(
        cast: Cast, world: dict[str, Any]) -> None:
    org, branch = world["org"], world["branch"]
    olga = logged_in(cast.olga)
    page = olga.get(f"/orgs/{org.pk}/").content.decode()
    assert f'href="/orgs/{org.pk}/edit/"' in page and f'href="/orgs/{org.pk}/posts/new/?body=committee"' in page
    assert "?body=joint" not in page  # no 大工委 yet
    assert f'href="/orgs/{org.pk}/edit/"' not in logged_in(cast.alice).get(f"/orgs/{org.pk}/").content.decode()

    # A joint-committee seat before the organisation has one: said on the field.
    person = world["member"].person
    seat = {"person": person.pk, "body": "joint", "title": "兼职委员", "is_part_time": "on",
            "representing": world["unit"].pk, "since": "2026-03-01"}
    bad = olga.post(f"/orgs/{org.pk}/posts/new/", seat)
    assert "该党组织未设大工委/大党委" in field_error(bad.content.decode(), "body")
    assert not OrganisationPost.objects.exists()

    edit = {"name": "中共碧海社区委员会", "level": "committee", "sector": "community", "parent": branch.pk,
            "has_joint_committee": "on", "founded_on": "2008-07-01", "reason": "设立大党委"}
    cycle = olga.post(f"/orgs/{org.pk}/edit/", edit)  # its own branch cannot be its parent
    assert "上级党组织" in field_error(cycle.content.decode(), "parent")
    org.refresh_from_db()
    assert not org.has_joint_committee
    done = olga.post(f"/orgs/{org.pk}/edit/", {**edit, "parent": ""})
    assert done["Location"] == f"/orgs/{org.pk}/"
    org.refresh_from_db()
    assert org.has_joint_committee and org.founded_on == dt.date(2008, 7, 1)

    assert olga.post(f"/orgs/{org.pk}/posts/new/", seat).status_code == 302
    olga.post(f"/orgs/{org.pk}/posts/new/", {"person": world["retired"].person.pk, "body": "committee",
                                             "title": "书记"})
    page = olga.get(f"/orgs/{org.pk}/").content.decode()
    assert "兼职委员" in page and "碧海物业" in page and "书记" in page and "?body=joint" in page
    post = OrganisationPost.objects.get(title="兼职委员")
    assert post.is_part_time and post.representing == world["unit"] and post.body == "joint"

    assert logged_in(cast.charlie).get(f"/orgs/{org.pk}/edit/").status_code == 404
    assert logged_in(cast.alice).get(f"/orgs/{org.pk}/posts/new/").status_code == 404


def test_a_party_member_is_edited_from_the_person_page(cast: Cast, world: dict[str, Any]) -> None:
    member = world["retired"]
    olga = logged_in(cast.olga)
    person_page = olga.get(f"/people/{member.person_id}/").content.decode()
    assert f'href="/members/{member.pk}/edit/"' in person_page
    assert f'href="/members/{member.pk}/edit/"' in olga.get("/members/").content.decode()
    assert "/edit/" not in logged_in(cast.alice).get("/members/").content.decode()

    data = {"organisation": world["branch"].pk, "status": "full", "is_mobile": "on", "outflow_place": "",
            "inflow_place": "", "needs_home_study": "on"}
    bad = olga.post(f"/members/{member.pk}/edit/", data)
    assert "流动党员须填写流出地或流入地" in field_error(bad.content.decode(), "outflow_place")
    member.refresh_from_db()
    assert not member.is_mobile
    done = olga.post(f"/members/{member.pk}/edit/", {**data, "outflow_place": "碧海社区", "inflow_place": "深圳",
                                                     "organisation": world["org"].pk, "reason": "外出务工"})
    assert done["Location"] == f"/people/{member.person_id}/"
    member.refresh_from_db()
    assert (member.is_mobile, member.inflow_place, member.organisation, member.needs_home_study) == (
        True, "深圳", world["org"], True)
    assert logged_in(cast.charlie).get(f"/members/{member.pk}/edit/").status_code == 404
    assert logged_in(cast.alice).get(f"/members/{member.pk}/edit/").status_code == 404


# ------------------------------------------------------------------------------------------ 双报到


def test_an_in_service_member_reports_to_her_community(cast: Cast, world: dict[str, Any]) -> None:
    member = world["member"]
    olga = logged_in(cast.olga)
    assert 'href="/dual-registrations/"' in logged_in(cast.alice).get("/").content.decode()
    listing = olga.get("/dual-registrations/").content.decode()
    assert 'href="/dual-registrations/new/"' in listing and "?flag=unregistered" in listing
    person_page = olga.get(f"/people/{member.person_id}/").content.decode()
    assert f"/dual-registrations/new/?member={member.pk}" in person_page

    form = olga.get(f"/dual-registrations/new/?member={member.pk}")
    assert form.context["form"].initial["community"] == cast.community.pk  # where she lives
    bad = olga.post("/dual-registrations/new/", {"party_member": world["retired"].pk,
                                                 "community": cast.community.pk, "registered_on": "2026-03-01"})
    assert "只有在职党员需要双报到" in field_error(bad.content.decode(), "party_member")
    neither = olga.post("/dual-registrations/new/", {"community": cast.community.pk, "registered_on": "2026-03-01"})
    assert field_error(neither.content.decode(), "party_member")
    assert not DualRegistration.objects.exists()

    data = {"party_member": member.pk, "community": cast.community.pk, "registered_on": "2026-03-01"}
    assert olga.post("/dual-registrations/new/", data).status_code == 302
    again = olga.post("/dual-registrations/new/", data)
    assert "已向该社区报到过" in field_error(again.content.decode(), "party_member")
    olga.post("/dual-registrations/new/", {"unit": world["unit"].pk, "community": cast.community.pk,
                                           "registered_on": "2026-03-02"})
    assert DualRegistration.objects.count() == 2

    alice = logged_in(cast.alice)
    listing = alice.get(f"/dual-registrations/?area={cast.community.pk}")
    body = listing.content.decode()
    assert "在职党员甲" in body and "碧海物业" in body
    assert listing.context["figures"] == {"in_service": 1, "unregistered": 0}
    assert 'href="/dual-registrations/new/"' not in body  # not hers to register
    assert alice.get("/dual-registrations/new/").status_code == 404
    assert "在职党员甲" not in logged_in(cast.charlie).get("/dual-registrations/").content.decode()
    assert "在职党员甲" in alice.get("/dual-registrations/?q=在职").content.decode()


# ------------------------------------------------------------------------------------------ ending


def test_a_pairing_is_ended_from_its_page(cast: Cast, world: dict[str, Any]) -> None:
    pairing = world["pairing"]
    alice = logged_in(cast.alice)
    assert f'href="/pairings/{pairing.pk}/end/"' in alice.get(f"/pairings/{pairing.pk}/").content.decode()
    bad = alice.post(f"/pairings/{pairing.pk}/end/", {"ended_on": "2025-12-31"})
    assert "结束日期不能早于开始日期" in field_error(bad.content.decode(), "ended_on")
    assert alice.post(f"/pairings/{pairing.pk}/end/", {"ended_on": "2026-06-30", "reason": "换届"}).status_code == 302
    pairing.refresh_from_db()
    assert pairing.ended_on == dt.date(2026, 6, 30)
    page = alice.get(f"/pairings/{pairing.pk}/").content.decode()
    assert "已结束" in page and f'href="/pairings/{pairing.pk}/end/"' not in page
    assert "该结对已结束" in field_error(
        alice.post(f"/pairings/{pairing.pk}/end/", {"ended_on": "2026-07-01"}).content.decode(), "ended_on")
    assert logged_in(cast.charlie).post(f"/pairings/{pairing.pk}/end/", {"ended_on": "2026-07-01"}).status_code == 404


def test_a_staff_post_is_ended_from_the_person_page(cast: Cast, world: dict[str, Any]) -> None:
    post, staff = world["post"], world["staff"]
    alice = logged_in(cast.alice)
    page = alice.get(f"/people/{staff.pk}/").content.decode()
    assert f'href="/posts/{post.pk}/end/"' in page and "在任" in page
    bad = alice.post(f"/posts/{post.pk}/end/", {"until": "2024-12-31"})
    assert "离任日期不能早于任职日期" in field_error(bad.content.decode(), "until")
    done = alice.post(f"/posts/{post.pk}/end/", {"until": "2026-06-30"})
    assert done["Location"] == f"/people/{staff.pk}/"
    post.refresh_from_db()
    assert post.until == dt.date(2026, 6, 30)
    page = alice.get(f"/people/{staff.pk}/").content.decode()
    assert "已于 2026年6月30日 离任" in page and f'href="/posts/{post.pk}/end/"' not in page
    assert logged_in(cast.charlie).get(f"/posts/{post.pk}/end/").status_code == 404
    assert logged_in(cast.olga).get(f"/posts/{post.pk}/end/").status_code == 404  # no EDIT_PEOPLE


# ------------------------------------------------------------------------------------------ the API


def test_every_new_action_is_in_the_api_and_scoped(cast: Cast, world: dict[str, Any]) -> None:
    alice, olga, charlie = api_for(cast.alice), api_for(cast.olga), api_for(cast.charlie)
    dance, yangge = world["dance"], world["yangge"]
    body = {"area_id": cast.community.pk, "conducted_on": "2026-04-01",
            "entries": [{"group_id": dance.pk, "party_member_count": 6}, {"group_id": yangge.pk}]}
    assert charlie.post("/api/v1/grassroots-surveys", body, content_type="application/json").status_code == 404
    bad = alice.post("/api/v1/grassroots-surveys", {**body, "entries": [{"group_id": dance.pk,
                                                                          "party_member_count": 99}]},
                     content_type="application/json")
    assert bad.status_code == 400 and "entries[0].party_member_count" in bad.json()["error"]["fields"]
    made = alice.post("/api/v1/grassroots-surveys", body, content_type="application/json")
    assert made.status_code == 201
    sid = made.json()["id"]
    assert [e["can_form_org"] for e in made.json()["entries"]] == [True, False]
    assert alice.get(f"/api/v1/grassroots-surveys?area_id={cast.community.pk}").json()["items"][0]["id"] == sid
    assert alice.get(f"/api/v1/grassroots-surveys/{sid}").json()["entries"][0]["party_member_count"] == 6
    assert charlie.get(f"/api/v1/grassroots-surveys/{sid}").status_code == 404
    assert charlie.get("/api/v1/grassroots-surveys").json()["items"] == []

    formed = olga.post(f"/api/v1/grassroots-groups/{dance.pk}/form-org", {
        "name": "广场舞队党支部", "parent_id": world["org"].pk, "founded_on": "2026-05-01"},
        content_type="application/json")
    assert formed.status_code == 201 and formed.json()["group"]["outcome"] == "org_formed"
    assert alice.post(f"/api/v1/grassroots-groups/{dance.pk}/form-org", {
        "name": "x", "parent_id": world["org"].pk, "founded_on": "2026-05-01"},
        content_type="application/json").status_code in (400, 403)
    sent = alice.post(f"/api/v1/grassroots-groups/{yangge.pk}/instructor", {
        "person_id": world["retired"].person_id, "since": "2026-05-02"}, content_type="application/json")
    assert sent.status_code == 200 and sent.json()["outcome"] == "instructor"

    org = world["org"]
    patched = olga.patch(f"/api/v1/organisations/{org.pk}", {"has_joint_committee": True, "reason": "设大党委"},
                         content_type="application/json")
    assert patched.status_code == 200 and patched.json()["has_joint_committee"] is True
    assert olga.patch(f"/api/v1/organisations/{org.pk}", {"parent_id": world["branch"].pk},
                      content_type="application/json").json()["error"]["fields"].keys() == {"parent"}
    assert alice.patch(f"/api/v1/organisations/{org.pk}", {"name": "x"},
                       content_type="application/json").status_code == 403
    seat = olga.post(f"/api/v1/organisations/{org.pk}/posts", {
        "person_id": world["member"].person_id, "title": "兼职委员", "body": "joint", "is_part_time": True,
        "representing_id": world["unit"].pk}, content_type="application/json")
    assert seat.status_code == 201 and seat.json()["representing_id"] == world["unit"].pk
    assert [p["title"] for p in alice.get(f"/api/v1/organisations/{org.pk}/posts").json()["items"]] == ["兼职委员"]
    assert charlie.get(f"/api/v1/organisations/{org.pk}/posts").status_code == 404

    member = world["member"]
    moved = olga.patch(f"/api/v1/party-members/{member.pk}", {"is_mobile": True, "inflow_place": "深圳"},
                       content_type="application/json")
    assert moved.status_code == 200 and moved.json()["is_mobile"] is True
    assert olga.patch(f"/api/v1/party-members/{world['retired'].pk}", {"is_mobile": True},
                      content_type="application/json").json()["error"]["fields"].keys() == {"outflow_place"}
    assert charlie.patch(f"/api/v1/party-members/{member.pk}", {"needs_home_study": True},
                         content_type="application/json").status_code == 404

    reg = olga.post("/api/v1/dual-registrations", {"community_id": cast.community.pk, "registered_on": "2026-03-01",
                                                   "party_member_id": member.pk}, content_type="application/json")
    assert reg.status_code == 201
    assert [r["id"] for r in alice.get("/api/v1/dual-registrations").json()["items"]] == [reg.json()["id"]]
    assert charlie.get("/api/v1/dual-registrations").json()["items"] == []
    assert alice.post("/api/v1/dual-registrations", {"community_id": cast.community.pk,
                                                     "registered_on": "2026-03-01", "unit_id": world["unit"].pk},
                      content_type="application/json").status_code == 403

    pairing, post = world["pairing"], world["post"]
    assert charlie.post(f"/api/v1/pairings/{pairing.pk}/end", {"on": "2026-06-30"},
                        content_type="application/json").status_code == 404
    ended = alice.post(f"/api/v1/pairings/{pairing.pk}/end", {"on": "2026-06-30"}, content_type="application/json")
    assert ended.status_code == 200 and ended.json()["ended_on"] == "2026-06-30"
    assert Pairing.objects.get(pk=pairing.pk).ended_on == dt.date(2026, 6, 30)
    gone = alice.post(f"/api/v1/staff-posts/{post.pk}/end", {"on": "2026-06-30"}, content_type="application/json")
    assert gone.status_code == 200 and gone.json()["until"] == "2026-06-30"
    assert alice.post(f"/api/v1/staff-posts/{post.pk}/end", {"on": "2026-07-01"},
                      content_type="application/json").json()["error"]["fields"].keys() == {"until"}
    assert PartyMember.objects.get(pk=member.pk).is_mobile


# ------------------------------------------------------------------------------------------ bounded lists


def test_the_new_lists_cost_the_same_queries_for_few_and_many_rows(
        cast: Cast, world: dict[str, Any], django_assert_max_num_queries: Callable[..., Any]) -> None:
    org = world["org"]
    client = logged_in(cast.admin)

    def grow(n: int) -> None:
        for i in range(n):
            p = registry.person_create(actor=None, area=cast.building, name=f"在职党员{i}")
            m = registry.party_member_register(actor=None, person=p, organisation=org, work_unit=world["unit"])
            registry.dual_register(actor=None, community=cast.community, registered_on=dt.date(2026, 3, 1),
                                   party_member=m)
            registry.survey_record(actor=None, area=cast.community, conducted_on=dt.date(2026, 4, 1),
                                   entries=[{"group": world["dance"]}, {"group": world["yangge"]}])
            registry.org_post_create(actor=None, organisation=org, person=p, title="委员")

    pages = ["/surveys/", "/dual-registrations/", f"/orgs/{org.pk}/", f"/groups/?area={cast.community.pk}"]
    grow(3)
    counts = {}
    for url in pages:
        client.get(url)
        with django_assert_max_num_queries(40) as few:
            assert client.get(url).status_code == 200
        counts[url] = len(few.captured_queries)
    grow(40)
    for url in pages:
        client.get(url)
        with django_assert_max_num_queries(counts[url]):
            client.get(url)
    survey = GrassrootsSurvey.objects.first()
    assert survey is not None
    client.get(f"/surveys/{survey.pk}/")
    with django_assert_max_num_queries(30):
        client.get(f"/surveys/{survey.pk}/")
