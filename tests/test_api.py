"""The JSON API: scope on every endpoint, masking, one error shape, tokens, pagination bounds, OpenAPI."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from gongzhi.accounts import services as accounts
from gongzhi.cases import services as cases
from gongzhi.registry import services as registry
from gongzhi.registry.models import Area, MemberUnit, Person, Sector
from tests.cast import Cast

CREDIT = "91350100M000100Y43"


def client_for(user: Any) -> Client:
    _token, key = accounts.token_create(actor=None, user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.fixture
def world(cast: Cast) -> dict[str, Any]:
    """Objects in 碧海社区 for the scope walk."""
    unit = registry.unit_create(actor=None, area=cast.community, name="碧海物业", credit_code=CREDIT,
                                sector=Sector.PROPERTY, contact_phone="13912345678")
    org = registry.party_org_create(actor=None, area=cast.grid1, name="第1网格党支部", level="branch")
    group = registry.grassroots_group_create(actor=None, area=cast.community, name="广场舞队", kind="广场舞队")
    leader = registry.person_create(actor=None, area=cast.building, name="领导")
    pairing = registry.pairing_create(actor=None, kind="leader_community", person=leader, area=cast.community,
                                      started_on=dt.date(2026, 1, 1))
    case = cases.case_submit(actor=cast.bob, title="楼道堆物", description="楼道堆放杂物", area=cast.building)
    bob = Person.objects.get(name="鲍勃")
    return {"unit": unit, "org": org, "group": group, "pairing": pairing, "case": case, "bob": bob}


def get_endpoints(cast: Cast, w: dict[str, Any]) -> list[str]:
    c = cast.community.pk
    return [
        f"/api/v1/areas/{c}", f"/api/v1/areas/{c}/children", f"/api/v1/areas/{c}/subtree",
        f"/api/v1/areas/{c}/ancestors", f"/api/v1/areas/{c}/coverage", f"/api/v1/areas/{c}/pairing-figures",
        f"/api/v1/units?area_id={c}", f"/api/v1/units/{w['unit'].pk}", f"/api/v1/organisations?area_id={c}",
        f"/api/v1/organisations/{w['org'].pk}", f"/api/v1/people?area_id={c}", f"/api/v1/people/{w['bob'].pk}",
        f"/api/v1/party-members?area_id={c}", f"/api/v1/grassroots-groups?area_id={c}",
        f"/api/v1/pairings?area_id={c}", f"/api/v1/pairings/{w['pairing'].pk}",
        f"/api/v1/audit/registry.area/{c}", f"/api/v1/audit/registry.person/{w['bob'].pk}",
        f"/api/v1/cases/{w['case'].pk}", f"/api/v1/cases/{w['case'].pk}/duplicates",
        f"/api/v1/case-figures?area_id={c}", "/api/v1/areas/locate?lng=123.405&lat=41.805",
    ]


def test_every_get_endpoint_is_scoped(cast: Cast, world: dict[str, Any]) -> None:
    alice, charlie = client_for(cast.alice), client_for(cast.charlie)
    for url in get_endpoints(cast, world):
        assert alice.get(url).status_code == 200, url
        response = charlie.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found", url
        assert "碧海" not in response.content.decode(), url


def test_a_resident_sees_only_himself(cast: Cast, world: dict[str, Any]) -> None:
    registry.person_create(actor=None, area=cast.building, name="邻居", phone="13700000000")
    page = client_for(cast.bob).get("/api/v1/people").json()
    assert [p["name"] for p in page["items"]] == ["鲍勃"]
    assert page["items"][0]["phone"] == "13800138000"  # his own number, in full


def test_numbers_are_masked_unless_the_role_needs_them(cast: Cast, world: dict[str, Any]) -> None:
    url = f"/api/v1/people/{world['bob'].pk}"
    full = client_for(cast.alice).get(url).json()
    masked = client_for(cast.stan).get(url).json()
    assert (full["phone"], full["id_number"]) == ("13800138000", "11010519491231002X")
    assert (masked["phone"], masked["id_number"]) == ("138****8000", "110***********002X")
    assert client_for(cast.stan).get(f"/api/v1/units/{world['unit'].pk}").json()["contact_phone"] == "139****5678"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"area_id": 0, "name": "王五", "id_number": "110105194912310021"}, "id_number"),
        ({"name": "王五"}, "area_id"),
        ({"area_id": 0, "name": ""}, "name"),
        ({"area_id": 0, "name": "王五", "phone": "12345"}, "phone"),
        ({"area_id": 0, "name": ["王五"]}, "name"),
    ],
)
def test_bad_people_name_the_field_and_write_nothing(cast: Cast, body: dict[str, Any], field: str) -> None:
    if body.get("area_id") == 0:
        body["area_id"] = cast.building.pk
    before = Person.objects.count()
    response = client_for(cast.alice).post("/api/v1/people", json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert Person.objects.count() == before


def test_a_bad_credit_code_is_a_field_error(cast: Cast) -> None:
    body = {"area_id": cast.community.pk, "name": "某公司", "credit_code": "91350100M000100Y44", "sector": "non_public"}
    response = client_for(cast.alice).post("/api/v1/units", json.dumps(body), content_type="application/json")
    assert response.status_code == 400 and "credit_code" in response.json()["error"]["fields"]
    assert not MemberUnit.objects.exists()


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("get", "/api/v1/people?limit=0", None),
        ("get", "/api/v1/people?limit=999999999999999999999", None),
        ("get", "/api/v1/people?after=%%%", None),
        ("get", "/api/v1/areas/notanumber", None),
        ("get", "/api/v1/people?q=%00", None),
        ("post", "/api/v1/people", "{not json"),
        ("post", "/api/v1/people", json.dumps({"area_id": 1, "name": "a\u0000b"})),
        ("post", "/api/v1/areas", json.dumps({"name": "x", "code": "x", "kind": "grid", "households": 10**30})),
        ("post", "/api/v1/cases", json.dumps({"title": "x", "description": "y", "lng": "east", "lat": 1})),
        ("post", "/api/v1/cases/1/transitions/teleport", json.dumps({})),
    ],
)
def test_malformed_input_is_a_clean_error_never_a_500(cast: Cast, method: str, url: str, body: str | None) -> None:
    client = client_for(cast.alice)
    response = client.get(url) if method == "get" else client.post(url, body, content_type="application/json")
    assert 400 <= response.status_code < 500, (url, response.status_code)
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_tokens_authenticate_and_revoked_ones_do_not(cast: Cast) -> None:
    token, key = accounts.token_create(actor=None, user=cast.alice, name="手机")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/me").json()["username"] == "alice"
    accounts.token_revoke(actor=None, token=token)
    assert client.get("/api/v1/me").status_code == 401
    assert Client(HTTP_AUTHORIZATION="Bearer nonsense").get("/api/v1/me").status_code == 401


def test_session_writes_need_the_csrf_token(cast: Cast) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.alice)
    assert client.get("/api/v1/me").status_code == 200
    response = client.post("/api/v1/tokens", json.dumps({"name": "x"}), content_type="application/json")
    assert response.status_code in (401, 403)


def test_keyset_pages_walk_everything_once_with_bounded_queries(cast: Cast, django_assert_max_num_queries) -> None:
    for i in range(23):
        registry.person_create(actor=None, area=cast.building, name=f"居民{i}", phone=f"139000000{i:02d}")
    client = client_for(cast.alice)
    client.get("/api/v1/me")  # warm the token cache
    seen: list[int] = []
    url = "/api/v1/people?limit=5"
    while url:
        with django_assert_max_num_queries(6):
            body = client.get(url).json()
        seen += [p["id"] for p in body["items"]]
        url = f"/api/v1/people?limit=5&after={body['next']}" if body["next"] else ""
    assert len(seen) == len(set(seen)) == 24
    with django_assert_max_num_queries(6):
        assert len(client.get("/api/v1/people?limit=200").json()["items"]) == 24


def test_openapi_lists_the_paths_and_the_docs_use_no_cdn(client: Client, cast: Cast) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/areas/{area_id}", "/api/v1/people", "/api/v1/cases", "/api/v1/tokens"} <= set(schema["paths"])
    html = client.get("/api/v1/docs").content.decode()
    assert "swagger" in html.lower()
    assert "http://" not in html and "https://" not in html


def test_cases_through_the_api_with_optimistic_versions(cast: Cast, pipeline: dict[str, Any]) -> None:
    bob, alice = client_for(cast.bob), client_for(cast.alice)
    made = bob.post("/api/v1/cases", json.dumps({"title": "路灯不亮", "description": "门口路灯不亮",
                                                  "area_id": cast.building.pk}), content_type="application/json")
    assert made.status_code == 201
    case = made.json()
    moved = alice.post(f"/api/v1/cases/{case['id']}/transitions/accept",
                       json.dumps({"version": case["version"], "category_code": "030501"}),
                       content_type="application/json")
    assert moved.status_code == 200 and moved.json()["state"] == "accepted"
    stale = alice.post(f"/api/v1/cases/{case['id']}/transitions/reject",
                       json.dumps({"version": case["version"], "reason": "重复"}), content_type="application/json")
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "conflict"
    listed = alice.get("/api/v1/cases?queue=to_dispatch").json()
    assert [c["id"] for c in listed["items"]] == [case["id"]]
    assert client_for(cast.charlie).get(f"/api/v1/cases/{case['id']}").status_code == 404
    assert Area.objects.filter(pk=cast.building.pk).exists()
