"""Data validation found missing under probing (issue 9, item 7): bounded text, visible titles, a version check on
every editable registry record, persons only on compounds and buildings, and every 400 naming its field in the
request's language."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.test import Client

from gongzhi.accounts import services as accounts
from gongzhi.core.errors import Conflict, InvalidInput
from gongzhi.core.validators import has_visible_text, visible_text
from gongzhi.core.writes import apply_changes
from gongzhi.registry import services as registry
from gongzhi.registry.models import Area, Person
from tests.cast import Cast

INVISIBLE = ["\u202e", "\u200b", "   ", "\u3000", "\u200b\u202e\u200d", "\ufeff\t\n", "\u2800", "\u0301"]


def api(user: Any, **extra: Any) -> Client:
    _token, key = accounts.token_create(actor=None, user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}", **extra)


def send(client: Client, method: str, url: str, body: Any) -> Any:
    return getattr(client, method)(url, json.dumps(body), content_type="application/json")


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# ------------------------------------------------------------------------------ 1. lengths


def test_every_char_field_of_the_platform_has_a_max_length() -> None:
    for model in apps.get_models():
        if not model.__module__.startswith("gongzhi."):
            continue
        for field in model._meta.get_fields():
            if isinstance(field, models.CharField):
                assert field.max_length, f"{model.__name__}.{field.name}"


def _unbounded_strings(schema: Any, at: str) -> list[str]:
    if not isinstance(schema, dict) or "$ref" in schema:
        return []
    found = []
    if (schema.get("type") == "string" and "maxLength" not in schema and "enum" not in schema
            and "const" not in schema and schema.get("format") not in ("date", "date-time", "time", "binary")):
        found.append(at)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            found += _unbounded_strings(sub, at)
    for name, sub in (schema.get("properties") or {}).items():
        found += _unbounded_strings(sub, f"{at}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            found += _unbounded_strings(schema[key], f"{at}[]")
    return found


def test_every_string_the_api_accepts_is_bounded() -> None:
    """Request bodies and query parameters: each str has a max_length (a mediation party name took 1 MB)."""
    from gongzhi.api.main import api as ninja_api

    schema = ninja_api.get_openapi_schema()
    components = schema["components"]["schemas"]
    inputs: set[str] = set()
    unbounded: list[str] = []

    def collect(ref_holder: Any) -> None:
        text = json.dumps(ref_holder)
        for name in components:
            if f'"#/components/schemas/{name}"' in text and name not in inputs:
                inputs.add(name)
                collect(components[name])

    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if "requestBody" in operation:
                collect(operation["requestBody"])
            for param in operation.get("parameters", []):
                if param["in"] != "path":
                    unbounded += _unbounded_strings(param["schema"], f"{method.upper()} {path} ?{param['name']}")
    for name in inputs:
        unbounded += _unbounded_strings(components[name], name)
    assert inputs, "no request body schema found"
    assert not unbounded, unbounded


def test_mediation_party_names_are_bounded(cast: Cast) -> None:
    response = send(api(cast.alice), "post", "/api/v1/cases", {
        "title": "邻里噪音", "description": "楼上装修噪音", "area_id": cast.building.pk, "kind": "mediation",
        "parties": [{"name": "张" * 1_000_000, "role": "申请人"}, {"name": "李四", "role": "被申请人"}]})
    assert response.status_code == 400
    assert "parties[0].name" in response.json()["error"]["fields"]


def test_free_text_is_bounded_in_the_services(cast: Cast) -> None:
    import datetime as dt

    leader = registry.person_create(actor=None, area=cast.building, name="领导")
    pairing = registry.pairing_create(actor=None, kind="leader_community", person=leader, area=cast.community,
                                      started_on=dt.date(2026, 1, 1))
    with pytest.raises(InvalidInput) as exc:
        registry.visit_record(actor=None, pairing=pairing, visited_on=dt.date(2026, 2, 1), note="访" * 2001)
    assert list(exc.value.fields) == ["note"]
    with pytest.raises(InvalidInput) as exc:
        registry.survey_record(actor=None, area=cast.community, conducted_on=dt.date(2026, 2, 1), note="x" * 2001,
                               entries=[{"group": registry.grassroots_group_create(
                                   actor=None, area=cast.community, name="秧歌队", kind="秧歌队")}])
    assert list(exc.value.fields) == ["note"]


# ------------------------------------------------------------------------------ 2. visible titles


@pytest.mark.parametrize("value", INVISIBLE)
def test_a_title_of_only_invisible_characters_is_refused(value: str) -> None:
    assert not has_visible_text(value)
    with pytest.raises(InvalidInput) as exc:
        visible_text(value, "title")
    assert list(exc.value.fields) == ["title"]


def test_visible_text_keeps_real_titles() -> None:
    assert visible_text("  楼道堆物\u200b ", "title") == "楼道堆物\u200b"
    assert visible_text("A", "title") == "A"
    assert has_visible_text("\u202e路灯不亮")


def test_registry_names_must_be_visible(cast: Cast) -> None:
    with pytest.raises(InvalidInput) as exc:
        registry.area_create(actor=None, parent=cast.compound, name="\u202e\u200b", code="99010100100100101009",
                             kind="building")
    assert list(exc.value.fields) == ["name"]
    with pytest.raises(InvalidInput) as exc:
        registry.party_org_create(actor=None, area=cast.grid1, name="\u200b\u3000", level="branch")
    assert list(exc.value.fields) == ["name"]
    person = Person.objects.get(name="鲍勃")
    with pytest.raises(InvalidInput) as exc:
        registry.person_update(actor=None, person=person, changes={"name": "\u200b"})
    assert list(exc.value.fields) == ["name"]
    assert not Area.objects.filter(code="99010100100100101009").exists()


def test_the_api_refuses_an_invisible_name_naming_the_field(cast: Cast) -> None:
    response = send(api(cast.alice), "post", "/api/v1/people", {"area_id": cast.building.pk, "name": "\u202e\u200b"})
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["name"]
    assert not Person.objects.filter(area=cast.building, name__contains="\u202e").exists()


# ------------------------------------------------------------------------------ 3. versions


def test_two_simultaneous_edits_of_a_person_one_wins_the_other_gets_409(cast: Cast) -> None:
    bob = Person.objects.get(name="鲍勃")
    alice, gina = api(cast.alice), api(cast.gina)
    seen_a = alice.get(f"/api/v1/people/{bob.pk}").json()["version"]
    seen_g = gina.get(f"/api/v1/people/{bob.pk}").json()["version"]
    assert seen_a == seen_g == 1
    first = send(alice, "patch", f"/api/v1/people/{bob.pk}", {"name": "鲍勃甲", "version": seen_a})
    second = send(gina, "patch", f"/api/v1/people/{bob.pk}", {"name": "鲍勃乙", "version": seen_g})
    assert first.status_code == 200 and first.json()["version"] == 2
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "conflict" and "version" in second.json()["error"]["fields"]
    bob.refresh_from_db()
    assert (bob.name, bob.version) == ("鲍勃甲", 2)
    # With the fresh version the second editor's change goes through.
    assert send(gina, "patch", f"/api/v1/people/{bob.pk}", {"name": "鲍勃乙", "version": 2}).status_code == 200


def test_the_conditional_update_catches_a_write_between_read_and_save(cast: Cast) -> None:
    """Two workers loaded the person at version 1 and save one after the other: the second is refused even without
    an expected version, and nothing of it is written."""
    one, two = Person.objects.get(name="鲍勃"), Person.objects.get(name="鲍勃")
    apply_changes(actor=None, obj=one, changes={"name": "甲"}, allowed=["name"], action="test")
    with pytest.raises(Conflict):
        apply_changes(actor=None, obj=two, changes={"name": "乙"}, allowed=["name"], action="test")
    assert Person.objects.get(pk=one.pk).name == "甲"


def test_two_edit_pages_of_a_person_the_second_save_says_so(cast: Cast) -> None:
    bob = Person.objects.get(name="鲍勃")
    alice, gina = logged_in(cast.alice), logged_in(cast.gina)
    for client in (alice, gina):
        page = client.get(f"/people/{bob.pk}/edit/").content.decode()
        assert 'type="hidden" name="version" value="1"' in page
    form = {"area": cast.building.pk, "version": 1}
    assert alice.post(f"/people/{bob.pk}/edit/", {**form, "name": "鲍勃甲"}).status_code == 302
    response = gina.post(f"/people/{bob.pk}/edit/", {**form, "name": "鲍勃乙"})
    assert response.status_code == 200
    assert "该记录已被他人修改，请刷新后重试" in response.content.decode()
    assert Person.objects.get(pk=bob.pk).name == "鲍勃甲"


@pytest.mark.parametrize("what", ["area", "organisation", "party_member", "pairing_end"])
def test_other_registry_records_are_versioned_too(cast: Cast, what: str) -> None:
    import datetime as dt

    admin = api(cast.admin)
    if what == "area":
        url, body = f"/api/v1/areas/{cast.compound.pk}", {"households": 301}
        method = "patch"
    elif what == "organisation":
        org = registry.party_org_create(actor=None, area=cast.grid1, name="第1网格党支部", level="branch")
        url, body, method = f"/api/v1/organisations/{org.pk}", {"name": "第一网格党支部"}, "patch"
    elif what == "party_member":
        org = registry.party_org_create(actor=None, area=cast.grid1, name="第1网格党支部", level="branch")
        member = registry.party_member_register(actor=None, person=Person.objects.get(name="鲍勃"), organisation=org)
        url, body, method = f"/api/v1/party-members/{member.pk}", {"needs_home_study": True}, "patch"
    else:
        leader = registry.person_create(actor=None, area=cast.building, name="领导")
        pairing = registry.pairing_create(actor=None, kind="leader_community", person=leader, area=cast.community,
                                          started_on=dt.date(2026, 1, 1))
        url, body, method = f"/api/v1/pairings/{pairing.pk}/end", {"on": "2026-06-30"}, "post"
    assert send(admin, method, url, {**body, "version": 7}).status_code == 409
    ok = send(admin, method, url, {**body, "version": 1})
    assert ok.status_code == 200 and ok.json()["version"] == 2


# ------------------------------------------------------------------------------ 4. where people live


@pytest.mark.parametrize("kind", ["community", "grid", "street"])
def test_a_person_lives_on_a_compound_or_a_building_only(cast: Cast, kind: str) -> None:
    area = {"community": cast.community, "grid": cast.grid1, "street": cast.street}[kind]
    with pytest.raises(InvalidInput) as exc:
        registry.person_create(actor=None, area=area, name="无处安放")
    assert list(exc.value.fields) == ["area"]
    bob = Person.objects.get(name="鲍勃")
    with pytest.raises(InvalidInput) as exc:
        registry.person_update(actor=None, person=bob, changes={"area": area})
    assert list(exc.value.fields) == ["area"]
    response = send(api(cast.admin), "post", "/api/v1/people", {"area_id": area.pk, "name": "无处安放"})
    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["area"]
    assert registry.person_create(actor=None, area=cast.compound, name="小区居民").area == cast.compound


# ------------------------------------------------------------------------------ 5. every 400 names its field


def test_a_nul_character_is_refused_naming_its_field(cast: Cast) -> None:
    alice = api(cast.alice)
    in_query = alice.get("/api/v1/people?q=%00x")
    assert in_query.status_code == 400 and list(in_query.json()["error"]["fields"]) == ["q"]
    in_json = send(alice, "post", "/api/v1/people", {"area_id": cast.building.pk, "name": "张\u0000三"})
    assert in_json.status_code == 400 and list(in_json.json()["error"]["fields"]) == ["name"]
    nested = send(alice, "post", "/api/v1/cases", {"title": "t", "description": "d", "kind": "mediation",
                                                   "parties": [{"name": "a"}, {"name": "b\u0000"}]})
    assert nested.status_code == 400 and list(nested.json()["error"]["fields"]) == ["parties[1].name"]
    raw = alice.post("/api/v1/people", b"\x00\x01binary", content_type="application/octet-stream")
    assert raw.status_code == 400 and list(raw.json()["error"]["fields"]) == ["body"]


def test_request_validation_errors_are_per_field_in_chinese(cast: Cast) -> None:
    response = send(api(cast.alice), "post", "/api/v1/people", {"area_id": "楼", "name": "", "phone": "1" * 31})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["fields"] == {"area_id": ["须为整数"], "name": ["至少 1 个字符"], "phone": ["不能超过 30 个字符"]}
    assert error["message"].startswith("输入有误：")
    assert "should" not in json.dumps(error)
    missing = send(api(cast.alice), "post", "/api/v1/people", {"name": "张三"})
    assert missing.json()["error"]["fields"] == {"area_id": ["必填"]}
    bad_query = api(cast.alice).get("/api/v1/people?limit=0")
    assert bad_query.json()["error"]["fields"] == {"limit": ["须大于或等于 1"]}
    bad_json = api(cast.alice).post("/api/v1/people", "{not json", content_type="application/json")
    assert bad_json.status_code == 400 and list(bad_json.json()["error"]["fields"]) == ["body"]


# ------------------------------------------------------------------------------ 6. the OpenAPI document


def test_every_operation_documents_its_errors_and_lists_are_bounded() -> None:
    from gongzhi.api.main import api as ninja_api

    schema = ninja_api.get_openapi_schema()
    assert "ErrorOut" in schema["components"]["schemas"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for status in (400, 401, 403, 404, 409):
                response = operation["responses"].get(status) or operation["responses"].get(str(status))
                assert response, f"{method} {path} {status}"
                if status in (400, 409):
                    assert response["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/ErrorOut"}, f"{method} {path} {status}"
            for param in operation.get("parameters", []):
                if param["name"] == "limit":
                    bounds = param["schema"]
                    assert bounds.get("minimum") == 1 and bounds.get("maximum") == 200, f"{method} {path}"
