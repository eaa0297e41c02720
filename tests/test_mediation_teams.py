"""Mediation teams as data and disputes opened from the web (issue 8, item 8; B8): teams (移动调解室,
物业纠纷调解中心, 人民调解委员会, 评理说事点…) with members from the registry, created and manned through the pages
and the API; a dispute opened with its parties and a team; (re)assignment; the team's members as mediators of the
hearings; scope, errors naming their fields, the audit trail and bounded query counts."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from gongzhi.accounts import services as accounts
from gongzhi.cases import services
from gongzhi.cases.models import Case, CaseKind, Category, Hearing, Mediation, MediationTeam, MediationTeamMember
from gongzhi.cases.workflow import State
from gongzhi.core.models import AuditEntry
from gongzhi.notifications.models import Notification
from gongzhi.registry import services as registry
from gongzhi.registry.models import Person
from tests.cast import Cast


def web(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


class Api:
    def __init__(self, user: Any) -> None:
        _token, key = accounts.token_create(actor=None, user=user, name="test")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def get(self, url: str) -> Any:
        return self.client.get(f"/api/v1{url}")

    def post(self, url: str, body: dict[str, Any]) -> Any:
        return self.client.post(f"/api/v1{url}", json.dumps(body), content_type="application/json")

    def put(self, url: str, body: dict[str, Any]) -> Any:
        return self.client.put(f"/api/v1{url}", json.dumps(body), content_type="application/json")

    def patch(self, url: str, body: dict[str, Any]) -> Any:
        return self.client.patch(f"/api/v1{url}", json.dumps(body), content_type="application/json")

    def delete(self, url: str) -> Any:
        return self.client.delete(f"/api/v1{url}")


def mediator(cast: Cast, name: str = "老周", phone: str = "13900139001", username: str = "zhou") -> tuple[Any, Person]:
    """A retired party member of 碧海 who mediates: a person in the registry with her own (resident) account."""
    user = accounts.user_create(actor=None, username=username, password=cast.password)
    accounts.grant_role(actor=None, user=user, role="resident", area=cast.community)
    person = registry.person_create(actor=None, area=cast.building, name=name, phone=phone, user=user)
    return user, person


def errors(response: Any) -> dict[str, list[str]]:
    return {k: [str(e) for e in v] for k, v in response.context["form"].errors.items()}


def in_progress(cast: Cast, case: Case) -> Case:
    """The community's worker takes the dispute for her own staff (受理 → 派遣本级 → 签收)."""
    case = services.transition(actor=cast.alice, case=case, name="accept",
                               category=Category.objects.get(code="030204"))  # 房屋纠纷
    for name in ("dispatch", "start"):
        case = services.transition(actor=cast.alice, case=case, name=name)
    return case


# ------------------------------------------------------------------------------------------ teams on the pages


def test_a_community_worker_creates_and_mans_a_team_on_the_pages(cast: Cast) -> None:
    alice = web(cast.alice)
    assert alice.get("/cases/mediation/teams/").status_code == 200
    page = alice.get("/cases/mediation/teams/new/")
    assert page.status_code == 200 and "评理说事点" in page.content.decode()

    bad = alice.post("/cases/mediation/teams/new/", {"name": "", "kind": "talk_point", "area": cast.community.pk})
    assert "name" in errors(bad)
    outside = alice.post("/cases/mediation/teams/new/", {"name": "港北评理说事点", "kind": "talk_point",
                                                          "area": cast.community2.pk})
    assert errors(outside)["area"] == ["请从列表中选择"]
    phone = alice.post("/cases/mediation/teams/new/", {"name": "碧海评理说事点", "kind": "talk_point",
                                                       "area": cast.community.pk, "phone": "12"})
    assert "电话号码无效" in errors(phone)["phone"][0]
    assert not MediationTeam.objects.exists()

    done = alice.post("/cases/mediation/teams/new/", {"name": "碧海评理说事点", "kind": "talk_point",
                                                      "area": cast.community.pk, "place": "海鸥花园党群之家",
                                                      "phone": "0411-82345678"})
    team = MediationTeam.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/cases/mediation/teams/{team.pk}/"
    assert (team.kind, team.area, team.place, team.phone, team.active) == (
        "talk_point", cast.community, "海鸥花园党群之家", "0411-82345678", True)
    again = alice.post("/cases/mediation/teams/new/", {"name": "碧海评理说事点", "kind": "peoples",
                                                       "area": cast.community.pk})
    assert errors(again)["name"] == ["该区域已有同名调解组织"]

    _user, zhou = mediator(cast)
    added = alice.post(f"/cases/mediation/teams/{team.pk}/", {"action": "add_member", "member-person": zhou.pk,
                                                               "member-role": "director"})
    assert added.status_code == 302
    member = MediationTeamMember.objects.get(team=team)
    assert (member.person, member.role, member.left_on) == (zhou, "director", None)
    twice = alice.post(f"/cases/mediation/teams/{team.pk}/", {"action": "add_member", "member-person": zhou.pk,
                                                               "member-role": "mediator"})
    assert twice.status_code == 200 and "已是本调解组织成员" in twice.content.decode()
    body = alice.get(f"/cases/mediation/teams/{team.pk}/").content.decode()
    assert "老周" in body and "主任" in body and "海鸥花园党群之家" in body and "0411-82345678" in body
    assert 'id="trail"' in body  # her change record (变更记录)

    trail = [e.action for e in alice.get(f"/cases/mediation/teams/{team.pk}/").context["trail"]]
    assert trail == ["cases.mediation_member.add", "cases.mediation_team.create"]
    removed = alice.post(f"/cases/mediation/teams/{team.pk}/", {"action": "remove_member", "member": member.pk})
    assert removed.status_code == 302
    member.refresh_from_db()
    assert member.left_on == timezone.localdate()
    assert list(AuditEntry.objects.filter(object_type="cases.mediationteammember").values_list(
        "action", flat=True).order_by("pk")) == ["cases.mediation_member.add", "cases.mediation_member.remove"]

    edited = alice.post(f"/cases/mediation/teams/{team.pk}/edit/", {
        "name": "碧海社区评理说事点", "kind": "talk_point", "place": "", "phone": "", "reason": "更名"})
    assert edited.status_code == 302
    team.refresh_from_db()
    assert (team.name, team.place, team.active) == ("碧海社区评理说事点", "", False)  # unticked: retired
    entry = AuditEntry.objects.filter(action="cases.mediation_team.update").get()
    assert entry.after["name"] == "碧海社区评理说事点" and entry.reason == "更名"

    charlie = web(cast.charlie)  # 港北's worker: not her team, not her area
    assert charlie.get(f"/cases/mediation/teams/{team.pk}/").status_code == 404
    assert charlie.get(f"/cases/mediation/teams/{team.pk}/edit/").status_code == 404
    assert "碧海社区评理说事点" not in charlie.get("/cases/mediation/teams/").content.decode()
    assert web(cast.bob).get("/cases/mediation/teams/").status_code == 404  # a resident on no team


def test_a_street_team_serves_its_communities_and_members_see_their_team(cast: Cast) -> None:
    center = services.mediation_team_create(actor=cast.stan, area=cast.street, name="新华街道物业纠纷调解分中心",
                                            kind="property")
    point = services.mediation_team_create(actor=cast.alice, area=cast.community, name="碧海评理说事点",
                                           kind="talk_point")
    listed = web(cast.charlie).get("/cases/mediation/teams/").content.decode()
    assert "新华街道物业纠纷调解分中心" in listed and "碧海评理说事点" not in listed
    # The street's team is seen by the community's worker but edited only by the street.
    assert web(cast.alice).get(f"/cases/mediation/teams/{center.pk}/edit/").status_code == 404
    with pytest.raises(Exception, match="权限"):
        services.mediation_member_add(actor=cast.alice, team=center, person=mediator(cast)[1])
    user, person = mediator(cast, name="老李", phone="13900139002", username="li")
    services.mediation_member_add(actor=cast.alice, team=point, person=person)
    mine = web(user)
    assert "碧海评理说事点" in mine.get("/cases/mediation/teams/").content.decode()
    assert mine.get(f"/cases/mediation/teams/{point.pk}/").status_code == 200
    assert mine.get(f"/cases/mediation/teams/{center.pk}/").status_code == 404
    filtered = web(cast.alice).get("/cases/mediation/teams/?kind=property").content.decode()
    assert "新华街道物业纠纷调解分中心" in filtered and "碧海评理说事点" not in filtered
    with pytest.raises(Exception, match="服务区域"):
        services.mediation_team_create(actor=None, area=cast.compound, name="小区调解室", kind="mobile")


# ------------------------------------------------------------------------------------------ opening a dispute


def open_form(cast: Cast, team: MediationTeam | None, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "party_name": ["王芳", "李强"], "party_role": ["申请人", "被申请人"],
        "description": "楼上卫生间漏水到楼下，双方就维修费用发生争执", "area": cast.building.pk,
        "team": team.pk if team else "", "channel": "mediation_point", "title": "", "address": "",
    }
    data.update(over)
    return data


def test_a_dispute_is_opened_from_the_web_with_its_parties_and_team(cast: Cast,
                                                                   django_capture_on_commit_callbacks: Any) -> None:
    point = services.mediation_team_create(actor=None, area=cast.community, name="碧海评理说事点", kind="talk_point")
    other = services.mediation_team_create(actor=None, area=cast.community2, name="港北人民调解委员会",
                                           kind="peoples")
    zhou_user, zhou = mediator(cast)
    services.mediation_member_add(actor=None, team=point, person=zhou, role="mediator")
    alice = web(cast.alice)
    page = alice.get(f"/cases/mediation/new/?team={point.pk}")
    assert page.status_code == 200 and page.context["form"].initial["team"] == point.pk
    assert "海鸥花园 1号楼" in page.content.decode()  # the compound with the building (3号楼 alone is ambiguous)

    one = alice.post("/cases/mediation/new/", open_form(cast, point, party_name=["王芳", ""],
                                                        party_role=["申请人", ""]))
    assert one.status_code == 200 and one.context["party_errors"] == ["矛盾纠纷须至少填写两方当事人"]
    nameless = alice.post("/cases/mediation/new/", open_form(cast, point, party_name=["王芳", ""],
                                                             party_role=["申请人", "被申请人"]))
    assert nameless.context["party_errors"] == ["当事人2 姓名：请填写当事人姓名"]
    no_text = alice.post("/cases/mediation/new/", open_form(cast, point, description=""))
    assert "description" in errors(no_text)
    foreign = alice.post("/cases/mediation/new/", open_form(cast, other))  # 港北's team: not hers to see
    assert errors(foreign)["team"] == ["请从列表中选择"]
    assert not Case.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = alice.post("/cases/mediation/new/", open_form(cast, point, party_name=["王芳", "李强", "海鸥物业"],
                                                             party_role=["申请人", "被申请人", "第三人"]))
    case = Case.objects.get()
    assert done.status_code == 302 and done["Location"] == f"/cases/{case.pk}/"
    assert (case.kind, case.channel, case.area, case.is_public, case.title) == (
        CaseKind.MEDIATION, "mediation_point", cast.building, False, "王芳与李强的矛盾纠纷")
    mediation = Mediation.objects.get(case=case)
    assert mediation.team == point and [p["name"] for p in mediation.parties] == ["王芳", "李强", "海鸥物业"]
    assert AuditEntry.objects.filter(action="cases.mediation.assign", object_id=str(case.pk)).count() == 1
    assert Notification.objects.filter(user=zhou_user, object_id=str(case.pk)).exists()  # the team hears of it

    body = alice.get(f"/cases/{case.pk}/").content.decode()
    assert "碧海评理说事点" in body and f"/cases/mediation/teams/{point.pk}/" in body
    team_page = alice.get(f"/cases/mediation/teams/{point.pk}/").content.decode()
    assert case.number in team_page and "调解中" in team_page
    # The team's member sees the team's dispute, on the team page and the case page, without any case role.
    assert case.number in web(zhou_user).get(f"/cases/mediation/teams/{point.pk}/").content.decode()
    assert web(zhou_user).get(f"/cases/{case.pk}/").status_code == 200
    assert web(cast.charlie).get(f"/cases/{case.pk}/").status_code == 404
    assert web(cast.bob).get("/cases/mediation/new/").status_code == 404  # residents do not open disputes
    assert case.pk not in [c["id"] for c in Client().get("/api/v1/public/cases").json()["items"]]


def test_a_dispute_is_reassigned_and_heard_by_the_team_members(cast: Cast) -> None:
    point = services.mediation_team_create(actor=None, area=cast.community, name="碧海评理说事点", kind="talk_point")
    center = services.mediation_team_create(actor=None, area=cast.street, name="新华街道物业纠纷调解分中心",
                                            kind="property", place="新华街道司法所")
    far = services.mediation_team_create(actor=None, area=cast.street2, name="新城街道移动调解室", kind="mobile")
    zhou_user, zhou = mediator(cast)
    li_user, li = mediator(cast, name="老李", phone="13900139002", username="li")
    services.mediation_member_add(actor=None, team=center, person=zhou, role="director")
    services.mediation_member_add(actor=None, team=center, person=li, role="legal")
    case = services.mediation_case_open(actor=cast.alice, description="物业费纠纷", area=cast.compound, team=point,
                                        parties=[{"name": "王芳", "role": "业主"},
                                                 {"name": "海鸥物业", "role": "物业服务企业"}])
    alice = web(cast.alice)
    moved = alice.post(f"/cases/{case.pk}/mediation/team/", {"team": center.pk, "reason": "涉及物业服务合同"})
    assert moved.status_code == 302
    assert Mediation.objects.get(case=case).team == center
    entry = AuditEntry.objects.filter(action="cases.mediation.assign").order_by("-pk").first()
    assert entry is not None and entry.before == {"team": "碧海评理说事点"} and entry.reason == "涉及物业服务合同"
    services.mediation_team_assign(actor=None, case=case, team=point)
    with pytest.raises(Exception, match="不服务纠纷发生地"):
        services.mediation_team_assign(actor=None, case=case, team=far)
    services.mediation_team_assign(actor=None, case=case, team=center)
    with pytest.raises(Exception, match="权限"):  # another community's worker is neither dispatcher nor handler
        services.mediation_team_assign(actor=cast.charlie, case=case, team=point)

    case = in_progress(cast, case)
    page = alice.get(f"/cases/{case.pk}/").content.decode()
    assert f'name="mediator" value="{zhou.pk}"' in page and f'name="mediator" value="{li.pk}"' in page
    assert "新华街道司法所" in page  # the team's place fills the hearing form

    held = (timezone.localtime() - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    none = alice.post(f"/cases/{case.pk}/", {"action": "hearing", "held_at": held, "place": "司法所",
                                             "notes": "首次调解"}, follow=True)
    assert "调解员：请选择或填写调解员" in none.content.decode()
    alice.post(f"/cases/{case.pk}/", {"action": "hearing", "held_at": held, "place": "司法所", "notes": "首次调解",
                                      "mediator": [zhou.pk, li.pk], "mediators": "宝仁律师事务所 陈律师"})
    hearing = Hearing.objects.get()
    assert hearing.mediators == "老周、老李、宝仁律师事务所 陈律师"
    assert set(hearing.mediator_people.all()) == {zhou, li}
    with pytest.raises(Exception, match="在任成员"):
        services.hearing_record(actor=cast.alice, case=case, held_at=timezone.now(), place="x", notes="y",
                                mediator_people=[Person.objects.get(user=cast.bob)])
    # A member of the team records the next hearing and the outcome herself.
    zhou_client = web(zhou_user)
    assert 'id="hearing-form"' in zhou_client.get(f"/cases/{case.pk}/").content.decode()
    zhou_client.post(f"/cases/{case.pk}/", {"action": "hearing", "held_at": held, "place": "司法所",
                                            "notes": "双方同意分摊维修费", "mediator": [zhou.pk]})
    zhou_client.post(f"/cases/{case.pk}/", {"action": "conclude", "outcome": "agreement",
                                            "agreement": "物业承担一半维修费"})
    mediation = Mediation.objects.get(case=case)
    assert mediation.hearings.count() == 2 and mediation.outcome == "agreement"
    services.mediation_member_remove(actor=None, member=MediationTeamMember.objects.get(person=li))
    assert web(li_user).get(f"/cases/{case.pk}/").status_code == 404  # she left: the dispute is no longer hers


# ------------------------------------------------------------------------------------------ the API


def test_teams_and_disputes_through_the_api(cast: Cast) -> None:
    alice, charlie, stan = Api(cast.alice), Api(cast.charlie), Api(cast.stan)
    bad = alice.post("/mediation-teams", {"name": "港北评理说事点", "kind": "talk_point",
                                          "area_id": cast.community2.pk})
    assert bad.status_code == 400 and "area_id" in bad.json()["error"]["fields"]
    wrong_kind = alice.post("/mediation-teams", {"name": "x", "kind": "court", "area_id": cast.community.pk})
    assert wrong_kind.status_code in (400, 422)
    made = alice.post("/mediation-teams", {"name": "碧海评理说事点", "kind": "talk_point", "area_id": cast.community.pk,
                                           "place": "党群之家", "phone": "13900139000"})
    assert made.status_code == 201, made.content
    team_id = made.json()["id"]
    assert made.json()["kind_label"] == "评理说事点" and made.json()["member_count"] == 0
    center = stan.post("/mediation-teams", {"name": "新华街道物业纠纷调解分中心", "kind": "property",
                                            "area_id": cast.street.pk}).json()

    listed = charlie.get("/mediation-teams").json()["items"]
    assert [t["name"] for t in listed] == ["新华街道物业纠纷调解分中心"]  # the street's, not 碧海's
    assert charlie.get(f"/mediation-teams/{team_id}").status_code == 404
    assert [t["id"] for t in alice.get("/mediation-teams?kind=talk_point").json()["items"]] == [team_id]

    patched = alice.patch(f"/mediation-teams/{team_id}", {"name": "碧海社区评理说事点", "reason": "更名"})
    assert patched.status_code == 200 and patched.json()["name"] == "碧海社区评理说事点"
    assert alice.patch(f"/mediation-teams/{center['id']}", {"name": "x"}).status_code == 403

    zhou_user, zhou = mediator(cast)
    added = alice.post(f"/mediation-teams/{team_id}/members", {"person_id": zhou.pk, "role": "director"})
    assert added.status_code == 201 and added.json()["role_label"] == "主任"
    assert alice.post(f"/mediation-teams/{team_id}/members", {"person_id": zhou.pk}).json()["error"]["fields"] == {
        "person": ["已是本调解组织成员"]}
    far_grid = registry.area_create(actor=None, parent=cast.community3, name="桥东社区第1网格", code="990101002001001",
                                    kind="grid")
    far_compound = registry.area_create(actor=None, parent=far_grid, name="桥东小区", code="99010100200100101",
                                        kind="compound")
    outsider = registry.person_create(actor=None, area=far_compound, name="外人")
    assert alice.post(f"/mediation-teams/{team_id}/members", {"person_id": outsider.pk}).status_code == 400
    assert [m["person"]["name"] for m in alice.get(f"/mediation-teams/{team_id}/members").json()] == ["老周"]

    opened = alice.post("/mediation-cases", {
        "description": "邻里噪音纠纷", "area_id": cast.building.pk, "team_id": team_id,
        "parties": [{"name": "王芳", "role": "申请人"}, {"name": "李强", "role": "被申请人"}]})
    assert opened.status_code == 201, opened.content
    out = opened.json()
    assert out["kind"] == "mediation" and out["mediation"]["team"]["id"] == team_id
    assert out["mediation"]["parties"][1] == {"name": "李强", "role": "被申请人"}
    case_id = out["id"]
    one_party = alice.post("/mediation-cases", {"description": "x", "area_id": cast.building.pk,
                                                "parties": [{"name": "王芳", "role": "申请人"}]})
    assert one_party.status_code in (400, 422)
    empty_role = alice.post("/mediation-cases", {"description": "x", "area_id": cast.building.pk, "parties": [
        {"name": "王芳", "role": "申请人"}, {"name": "李强", "role": ""}]})
    assert empty_role.json()["error"]["fields"] == {"parties[1].role": ["请填写当事人身份（如申请人、被申请人）"]}

    reassigned = alice.put(f"/mediation-cases/{case_id}/team", {"team_id": center["id"], "reason": "转分中心"})
    assert reassigned.status_code == 200
    assert reassigned.json()["mediation"]["team"]["name"] == "新华街道物业纠纷调解分中心"
    assert alice.put(f"/mediation-cases/{case_id}/team", {"team_id": center["id"]}).status_code == 400
    assert charlie.put(f"/mediation-cases/{case_id}/team", {"team_id": None}).status_code == 404
    alice.put(f"/mediation-cases/{case_id}/team", {"team_id": team_id})

    assert [c["id"] for c in Api(zhou_user).get(f"/mediation-teams/{team_id}/cases").json()["items"]] == [case_id]
    hearing = {"held_at": timezone.now().isoformat(), "place": "党群之家", "mediator_ids": [zhou.pk],
               "notes": "首次调解"}
    assert alice.post(f"/mediation-cases/{case_id}/hearings", hearing).status_code == 409  # not signed for yet
    in_progress(cast, Case.objects.get(pk=case_id))
    heard = Api(zhou_user).post(f"/mediation-cases/{case_id}/hearings", hearing)
    assert heard.status_code == 201
    assert heard.json()["mediators"] == "老周" and heard.json()["mediator_ids"] == [zhou.pk]
    strangers = alice.post(f"/mediation-cases/{case_id}/hearings", {**hearing, "mediator_ids": [outsider.pk]})
    assert strangers.json()["error"]["fields"] == {"mediator_people": ["调解员须为本调解组织的在任成员"]}
    detail = alice.get(f"/mediation-cases/{case_id}").json()
    assert [h["mediator_ids"] for h in detail["mediation"]["hearings"]] == [[zhou.pk]]

    member_id = added.json()["id"]
    assert alice.delete(f"/mediation-teams/{team_id}/members/{member_id}").status_code == 204
    assert alice.get(f"/mediation-teams/{team_id}/members").json() == []
    assert len(alice.get(f"/mediation-teams/{team_id}/members?former=true").json()) == 1
    assert Api(zhou_user).get(f"/mediation-cases/{case_id}").status_code == 404  # she left the team
    assert Case.objects.get(pk=case_id).state == State.IN_PROGRESS


def test_the_openapi_document_lists_the_mediation_endpoints(cast: Cast) -> None:
    paths = Api(cast.alice).get("/openapi.json").json()["paths"]
    for p in ("/api/v1/mediation-teams", "/api/v1/mediation-teams/{team_id}/members", "/api/v1/mediation-cases",
              "/api/v1/mediation-cases/{case_id}/team", "/api/v1/mediation-cases/{case_id}/hearings"):
        assert p in paths


# ------------------------------------------------------------------------------------------ bounded lists


@pytest.mark.parametrize("n", [2, 20])
def test_team_lists_do_not_grow_queries_with_the_number_of_teams(cast: Cast, n: int,
                                                                  django_assert_max_num_queries) -> None:
    _u, zhou = mediator(cast)
    for i in range(n):
        team = services.mediation_team_create(actor=None, area=cast.community, name=f"调解室{i}", kind="mobile")
        services.mediation_member_add(actor=None, team=team, person=zhou)
        services.mediation_case_open(actor=cast.alice, description="纠纷", area=cast.building, team=team,
                                     parties=[{"name": "甲", "role": "申请人"}, {"name": "乙", "role": "被申请人"}])
    alice, api = web(cast.alice), Api(cast.alice)
    alice.get("/cases/mediation/teams/")
    with django_assert_max_num_queries(12):
        page = alice.get("/cases/mediation/teams/")
    assert page.status_code == 200 and len(page.context["teams"]) == n
    api.get("/mediation-teams?limit=1")  # warm-up: the first request also reads the token and scope generations
    with django_assert_max_num_queries(8):
        items = api.get("/mediation-teams?limit=200").json()["items"]
    assert len(items) == n and all(t["member_count"] == 1 for t in items)
    team = MediationTeam.objects.order_by("pk").first()
    assert team is not None
    for _i in range(n):
        services.mediation_case_open(actor=cast.alice, description="纠纷", area=cast.building, team=team,
                                     parties=[{"name": "甲", "role": "申请人"}, {"name": "乙", "role": "被申请人"}])
    with django_assert_max_num_queries(20):
        page = alice.get(f"/cases/mediation/teams/{team.pk}/")
    assert len(page.context["cases"]) == n + 1
