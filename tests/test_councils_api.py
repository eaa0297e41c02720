"""The councils' JSON API through real HTTP calls (the test client, JSON bodies, bearer tokens): councils and
members, meetings with attendance and minutes, the agenda-item ledger with its steps (409 on a stale version),
kinds; scope, bounds and the one error shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from gongzhi.accounts import services as accounts
from gongzhi.councils import services
from gongzhi.councils.models import Council, CouncilMember, load_default_kinds
from gongzhi.registry import services as registry
from gongzhi.registry.models import Person, Sector
from tests.cast import Cast


@pytest.fixture(autouse=True)
def _kinds(db) -> None:
    load_default_kinds()  # a transactional test earlier in the run flushed what the migration loaded


class Api:
    def __init__(self, user: Any) -> None:
        _token, key = accounts.token_create(actor=None, user=user, name="test")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def get(self, url: str) -> Any:
        return self.client.get(f"/api/v1{url}")

    def post(self, url: str, body: dict[str, Any]) -> Any:
        return self.client.post(f"/api/v1{url}", json.dumps(body), content_type="application/json")

    def patch(self, url: str, body: dict[str, Any]) -> Any:
        return self.client.patch(f"/api/v1{url}", json.dumps(body), content_type="application/json")

    def delete(self, url: str) -> Any:
        return self.client.delete(f"/api/v1{url}")


def test_a_council_is_created_and_manned_through_the_api(cast: Cast) -> None:
    alice, charlie = Api(cast.alice), Api(cast.charlie)
    bob = Person.objects.get(name="鲍勃")
    unit = registry.unit_create(actor=None, area=cast.community, name="碧海物业", credit_code="91350100M000100Y43",
                                sector=Sector.PROPERTY)
    org = registry.party_org_create(actor=None, area=cast.grid1, name="第1网格党支部", level="branch")
    body = {"area_id": cast.community.pk, "name": "碧海社区大党委联席会议", "kind": "party_committee",
            "cadence": "quarterly", "convener_id": bob.pk}

    bad = alice.post("/councils", {**body, "name": "x" * 101, "cadence": "daily"})
    assert bad.status_code == 400 and {"name", "cadence"} <= set(bad.json()["error"]["fields"])
    bad = alice.post("/councils", {**body, "kind": "no_such_kind"})
    assert bad.status_code == 400 and "kind" in bad.json()["error"]["fields"]
    assert charlie.post("/councils", body).status_code == 404  # 碧海社区 is outside his scope
    assert Api(cast.gina).post("/councils", {**body, "area_id": cast.grid1.pk,
                                             "convener_id": None}).status_code == 403  # no council capability
    created = alice.post("/councils", body)
    assert created.status_code == 201, created.content
    council = created.json()
    assert council["kind"] == {"code": "party_committee", "name": "大党委"} and council["can_run"]
    assert [(m["name"], m["role"]) for m in council["members"]] == [("鲍勃", "convener")]

    cid = council["id"]
    for ref, role in (({"unit_id": unit.pk}, "member"), ({"organisation_id": org.pk}, "member")):
        added = alice.post(f"/councils/{cid}/members", {"role": role, **ref})
        assert added.status_code == 201, added.content
    both = alice.post(f"/councils/{cid}/members", {"person_id": bob.pk, "unit_id": unit.pk})
    assert both.status_code == 400 and "person" in both.json()["error"]["fields"]
    again = alice.post(f"/councils/{cid}/members", {"unit_id": unit.pk})
    assert again.status_code == 400 and "unit" in again.json()["error"]["fields"]
    assert alice.post(f"/councils/{cid}/members", {"unit_id": unit.pk, "role": "boss"}).status_code == 400
    detail = alice.get(f"/councils/{cid}").json()
    assert [(m["kind"], m["name"]) for m in detail["members"]] == [
        ("person", "鲍勃"), ("unit", "碧海物业"), ("organisation", "第1网格党支部")]
    unit_member = detail["members"][1]["id"]
    removed = alice.delete(f"/councils/{cid}/members/{unit_member}?reason=单位撤出")
    assert removed.status_code == 200 and removed.json()["left_on"]
    assert alice.delete(f"/councils/{cid}/members/{unit_member}").status_code == 409
    assert len(alice.get(f"/councils/{cid}").json()["members"]) == 2
    assert charlie.get(f"/councils/{cid}").status_code == 404


def test_meetings_and_items_walk_their_workflow_with_a_conflict_on_a_stale_version(cast: Cast) -> None:
    secretary = accounts.user_create(actor=None, username="sally", password=cast.password)
    accounts.grant_role(actor=None, user=secretary, role="party_secretary", area=cast.community)
    api, bob = Api(secretary), Api(cast.bob)
    council = services.council_create(actor=None, area=cast.community, name="碧海社区三联办", kind="tripartite",
                                      cadence="weekly", procedure="six_steps")
    member = services.member_add(actor=None, council=council, role="member", person=Person.objects.get(name="鲍勃"))

    assert api.post(f"/councils/{council.pk}/meetings", {"scheduled_for": "2026-12-03T14:30",
                                                         "place": ""}).status_code == 400
    made = api.post(f"/councils/{council.pk}/meetings", {"scheduled_for": "2026-12-03T14:30", "place": "党群服务中心"})
    assert made.status_code == 201, made.content
    meeting = made.json()
    assert meeting["scheduled_for"].startswith("2026-12-03T14:30:00+08:00")
    assert bob.post(f"/councils/{council.pk}/meetings", {"scheduled_for": "2026-12-04T14:30",
                                                         "place": "x"}).status_code == 403

    proposed = bob.post(f"/councils/{council.pk}/items", {"title": "物业费收缴率低", "description": "仅三成住户缴费"})
    assert proposed.status_code == 201 and proposed.json()["source"] == "resident"
    item = proposed.json()
    assert item["allowed_steps"] == []  # a resident proposes; she does not run the council
    item = api.get(f"/agenda-items/{item['id']}").json()
    assert item["allowed_steps"] == ["party_propose"]  # six steps: the party organisation proposes first
    stale = item["version"]
    item = api.post(f"/agenda-items/{item['id']}/steps/party_propose", {"version": stale}).json()
    assert item["state"] == "party_proposed"
    conflict = api.post(f"/agenda-items/{item['id']}/steps/schedule", {"version": stale,
                                                                      "meeting_id": meeting["id"]})
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "conflict"
    assert api.post(f"/agenda-items/{item['id']}/steps/fly", {}).status_code == 404
    item = api.post(f"/agenda-items/{item['id']}/steps/schedule", {"version": item["version"],
                                                                  "meeting_id": meeting["id"]}).json()
    no_deadline = api.post(f"/agenda-items/{item['id']}/steps/decide", {"decision": "物业公示收支",
                                                                       "responsible": "物业公司"})
    assert no_deadline.status_code == 400 and "deadline" in no_deadline.json()["error"]["fields"]
    too_long = api.post(f"/agenda-items/{item['id']}/steps/decide", {"decision": "x" * 4001})
    assert too_long.status_code == 400 and "decision" in too_long.json()["error"]["fields"]
    item = api.post(f"/agenda-items/{item['id']}/steps/decide", {
        "version": item["version"], "decision": "物业公示收支，业委会监督", "responsible": "物业公司",
        "deadline": "2026-12-31"}).json()
    assert item["state"] == "decided" and item["allowed_steps"] == ["publish"]

    outsider = Api(cast.charlie)
    assert outsider.post(f"/meetings/{meeting['id']}/hold", {"minutes": "x"}).status_code == 404
    assert api.post(f"/meetings/{meeting['id']}/hold", {"present_ids": [member.pk + 999],
                                                        "minutes": "议事"}).status_code == 400
    assert api.post(f"/meetings/{meeting['id']}/hold", {"present_ids": [member.pk],
                                                        "minutes": ""}).status_code == 400
    held = api.post(f"/meetings/{meeting['id']}/hold", {"present_ids": [member.pk], "minutes": "研究物业费问题"})
    assert held.status_code == 200, held.content
    held = held.json()
    assert held["held"] and held["minutes"] == "研究物业费问题"
    assert [m["name"] for m in held["present"]] == ["鲍勃"]
    assert [i["title"] for i in held["items"]] == ["物业费收缴率低"]
    assert api.post(f"/meetings/{meeting['id']}/hold", {"minutes": "再来"}).status_code == 409
    assert str(Council.objects.get(pk=council.pk).last_met_on) == "2026-12-03"
    # The minutes and the notice as Word files, with Chinese names; outsiders get nothing.
    import io

    from docx import Document

    minutes = api.get(f"/meetings/{meeting['id']}/minutes.docx")
    assert minutes.status_code == 200 and "filename*=UTF-8''" in minutes["Content-Disposition"]
    assert "研究物业费问题" in "\n".join(p.text for p in Document(io.BytesIO(minutes.content)).paragraphs)
    assert api.get(f"/meetings/{meeting['id']}/notice.docx").status_code == 200
    assert outsider.get(f"/meetings/{meeting['id']}/minutes.docx").status_code == 404


def test_lists_are_scoped_keyset_pages_with_bounded_queries(cast: Cast, django_assert_max_num_queries) -> None:
    bob = Person.objects.get(name="鲍勃")
    for i in range(7):
        area = cast.community if i % 2 else cast.compound
        services.council_create(actor=None, area=area, name=f"议事会{i}", kind="other", cadence="monthly",
                                convener=bob)
    services.council_create(actor=None, area=cast.community2, name="港北社区议事会", kind="other",
                            cadence="monthly")
    council = Council.objects.get(name="议事会1")
    for i in range(9):
        services.item_propose(actor=None, council=council, title=f"议题{i}", description="内容")
    alice = Api(cast.alice)
    alice.get("/councils?limit=1")  # warm-up: the first request also reads the token and the scope generations

    seen: list[int] = []
    url = "/councils?limit=3"
    while url:
        with django_assert_max_num_queries(5):
            body = alice.get(url).json()
        seen += [c["id"] for c in body["items"]]
        url = f"/councils?limit=3&after={body['next']}" if body["next"] else ""
    assert len(seen) == len(set(seen)) == 7  # not 港北社区's
    assert len(alice.get(f"/councils?area_id={cast.compound.pk}").json()["items"]) == 4
    assert alice.get("/councils?limit=201").status_code == 400
    assert list(alice.get("/councils?limit=0").json()["error"]["fields"]) == ["limit"]

    titles: list[str] = []
    url = f"/councils/{council.pk}/items?limit=4"
    while url:
        with django_assert_max_num_queries(5):
            body = alice.get(url).json()
        titles += [i["title"] for i in body["items"]]
        url = f"/councils/{council.pk}/items?limit=4&after={body['next']}" if body["next"] else ""
    assert titles == [f"议题{i}" for i in range(8, -1, -1)]  # newest first, each once
    assert alice.get(f"/councils/{council.pk}/items?after=garbage").status_code == 400
    assert len(alice.get(f"/councils/{council.pk}/items?state=proposed").json()["items"]) == 9
    with django_assert_max_num_queries(8):
        detail = alice.get(f"/councils/{council.pk}").json()
    assert detail["members"][0]["name"] == "鲍勃"
    assert Api(cast.charlie).get(f"/councils/{council.pk}/items").status_code == 404
    # bob convenes 议事会N: he reaches them (and only them) though a resident's scope holds no councils above him
    assert len(Api(cast.bob).get("/councils?limit=200").json()["items"]) == 7
    assert CouncilMember.objects.filter(role="convener").count() == 7


def test_kinds_are_listed_to_all_and_kept_by_the_system_administrator(cast: Cast) -> None:
    admin, alice = Api(cast.admin), Api(cast.alice)
    kinds = alice.get("/council-kinds").json()
    assert [k["code"] for k in kinds] == ["joint_meeting", "working_committee", "party_committee", "tripartite",
                                          "homeland", "other"]
    body = {"code": "neighbourhood", "name": "邻里议事会", "order": 65}
    assert alice.post("/council-kinds", body).status_code == 403
    bad = admin.post("/council-kinds", {**body, "code": "Not-A-Code", "order": 10000})
    assert bad.status_code == 400 and {"code", "order"} <= set(bad.json()["error"]["fields"])
    assert admin.post("/council-kinds", body).status_code == 201
    dup = admin.post("/council-kinds", {**body, "code": "neighbourhood2"})
    assert dup.status_code == 400 and "name" in dup.json()["error"]["fields"]  # names are unique too
    assert alice.patch("/council-kinds/homeland", {"active": False}).status_code == 403
    patched = admin.patch("/council-kinds/homeland", {"name": "小区议事会", "active": False})
    assert patched.json() == {"code": "homeland", "name": "小区议事会", "order": 50, "active": False, "version": 2}
    assert admin.patch("/council-kinds/nothing", {"active": False}).status_code == 404
    codes = [k["code"] for k in alice.get("/council-kinds").json()]
    assert "homeland" not in codes and codes[-2:] == ["other", "neighbourhood"]  # by order: 60, 65
    assert len(alice.get("/council-kinds?include_inactive=true").json()) == 7
    refused = alice.post("/councils", {"area_id": cast.compound.pk, "name": "x", "kind": "homeland"})
    assert refused.status_code == 400 and "kind" in refused.json()["error"]["fields"]


def test_the_openapi_document_lists_the_council_endpoints(cast: Cast) -> None:
    paths = Api(cast.alice).get("/openapi.json").json()["paths"]
    assert {"/api/v1/councils", "/api/v1/councils/{council_id}/members", "/api/v1/meetings/{meeting_id}/hold",
            "/api/v1/agenda-items/{item_id}/steps/{name}", "/api/v1/council-kinds/{code}"} <= set(paths)
