"""Registry pages through the test client: the new list/detail pages, the create/edit forms (field errors, nothing
written on error), scope for outsiders, masking, bounded queries, English."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from gongzhi.core.validators import credit_code_check_char
from gongzhi.registry import services as registry
from gongzhi.registry.models import (
    Area,
    Commitment,
    OrgLevel,
    Pairing,
    PairingVisit,
    Person,
    Sector,
)
from tests.cast import Cast


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def credit_code(n: int) -> str:
    first17 = f"91990101MA{n:07d}"
    return first17 + credit_code_check_char(first17)


def field_error(body: str, field: str) -> str:
    match = re.search(rf'id="error-{re.escape(field)}">(.*?)</ul>', body, re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)) if match else ""


@pytest.fixture
def world(cast: Cast) -> dict[str, Any]:
    org = registry.party_org_create(actor=None, area=cast.community, name="中共碧海社区委员会",
                                    level=OrgLevel.COMMITTEE, has_joint_committee=True)
    unit = registry.unit_create(actor=None, area=cast.community, name="碧海物业", credit_code=credit_code(1),
                                sector=Sector.PROPERTY, contact_phone="13912345678")
    bob = Person.objects.get(name="鲍勃")
    worker = registry.person_create(actor=None, area=cast.building, name="在职党员甲")
    member = registry.party_member_register(actor=None, person=worker, organisation=org, work_unit=unit)
    leader = registry.person_create(actor=None, area=cast.building, name="市领导")
    pairing = registry.pairing_create(actor=None, kind="leader_community", person=leader, area=cast.community,
                                      started_on=dt.date(2026, 1, 1))
    commitment = registry.commitment_create(actor=None, pairing=pairing, title="共建协议",
                                            signed_on=dt.date(2026, 1, 2), items=[{"text": "每季度走访一次"}])
    return {"org": org, "unit": unit, "bob": bob, "member": member, "pairing": pairing,
            "item": commitment.items.get()}


def community_pages(cast: Cast, w: dict[str, Any]) -> list[str]:
    return [f"/orgs/{w['org'].pk}/", f"/members/?area={cast.community.pk}", f"/units/{w['unit'].pk}/edit/",
            f"/people/{w['bob'].pk}/edit/", f"/pairings/{w['pairing'].pk}/", f"/pairings/new/?area={cast.community.pk}"]


def test_an_outsider_gets_404_on_the_pages_and_actions_of_another_community(cast: Cast, world: dict[str, Any]) -> None:
    alice, charlie = logged_in(cast.alice), logged_in(cast.charlie)
    for url in community_pages(cast, world):
        assert alice.get(url).status_code == 200, url
        assert charlie.get(url).status_code == 404, url
    pk, item = world["pairing"].pk, world["item"].pk
    assert charlie.post(f"/pairings/{pk}/visits/", {"visited_on": "2026-03-01"}).status_code == 404
    assert charlie.post(f"/pairings/{pk}/items/{item}/fulfil/", {
        f"item{item}-fulfilled_on": "2026-03-01", f"item{item}-evidence": "x"}).status_code == 404
    assert not PairingVisit.objects.exists()
    assert logged_in(cast.alice).get(f"/areas/new/?parent={cast.community.pk}").status_code == 404  # not their cap


def test_members_list_shows_flow_and_dual_registration_and_filters(cast: Cast, world: dict[str, Any]) -> None:
    client = logged_in(cast.alice)
    body = client.get("/members/").content.decode()
    assert "在职党员甲" in body and "未报到" in body
    assert "在职党员甲" in client.get("/members/?flag=unregistered").content.decode()
    registry.dual_register(actor=None, community=cast.community, registered_on=dt.date(2026, 2, 1),
                           party_member=world["member"])
    assert "在职党员甲" not in client.get("/members/?flag=unregistered").content.decode()
    assert "已报到" in client.get("/members/").content.decode()
    assert "在职党员甲" not in client.get("/members/?flag=mobile").content.decode()


def test_an_organisation_page_shows_its_place_members_and_joint_committee(cast: Cast, world: dict[str, Any]) -> None:
    body = logged_in(cast.stan).get(f"/orgs/{world['org'].pk}/").content.decode()
    assert "中共碧海社区委员会" in body and "大工委/大党委" in body and "碧海社区" in body


def test_editing_a_unit_with_a_bad_credit_code_shows_the_error_and_changes_nothing(
        cast: Cast, world: dict[str, Any]) -> None:
    unit = world["unit"]
    client = logged_in(cast.alice)
    form = client.get(f"/units/{unit.pk}/edit/").content.decode()
    assert "13912345678" in form  # alice's role needs the number: the placeholder shows it
    data = {"name": "碧海物业新名", "credit_code": credit_code(1)[:-1] + "0", "sector": "property",
            "area": cast.community.pk, "staff_count": "5"}
    if data["credit_code"] == credit_code(1):
        data["credit_code"] = credit_code(1)[:-1] + "1"
    response = client.post(f"/units/{unit.pk}/edit/", data)
    assert "校验码" in field_error(response.content.decode(), "credit_code")
    unit.refresh_from_db()
    assert unit.name == "碧海物业" and unit.contact_phone == "13912345678"
    response = client.post(f"/units/{unit.pk}/edit/", {**data, "credit_code": credit_code(1)})
    assert response.status_code == 302
    unit.refresh_from_db()
    assert unit.name == "碧海物业新名" and unit.staff_count == 5 and unit.contact_phone == "13912345678"


def test_editing_a_person_never_puts_numbers_back_and_keeps_them_when_left_blank(
        cast: Cast, world: dict[str, Any]) -> None:
    bob = world["bob"]
    gina = logged_in(cast.gina)  # a grid worker may edit people but not see ID numbers
    form = gina.get(f"/people/{bob.pk}/edit/").content.decode()
    assert "11010519491231002X" not in form and 'value="13800138000"' not in form
    response = gina.post(f"/people/{bob.pk}/edit/", {"name": "鲍勃", "area": cast.building.pk,
                                                     "id_number": "110105194912310021"})
    assert "校验" in field_error(response.content.decode(), "id_number")
    response = gina.post(f"/people/{bob.pk}/edit/", {"name": "鲍勃二", "area": cast.building.pk,
                                                     "is_vulnerable": "on"})
    assert response.status_code == 302
    bob.refresh_from_db()
    assert bob.name == "鲍勃二" and bob.is_vulnerable and bob.phone == "13800138000"
    assert bob.id_number == "11010519491231002X"
    assert logged_in(cast.stan).get(f"/people/{bob.pk}/edit/").status_code == 404  # officials do not edit people


def test_a_new_person_form_shows_a_phone_error_next_to_the_field(cast: Cast) -> None:
    response = logged_in(cast.alice).post("/people/new/", {"name": "新居民", "area": cast.building.pk,
                                                           "phone": "12345"})
    assert field_error(response.content.decode(), "phone")
    assert not Person.objects.filter(name="新居民").exists()


def test_the_area_forms_check_kind_and_code_and_write_only_when_valid(cast: Cast) -> None:
    admin = logged_in(cast.admin)
    url = f"/areas/new/?parent={cast.community.pk}"
    response = admin.post(url, {"name": "新网格", "code": "990101001001009", "kind": "grid",
                                "boundary": "{not json"})
    assert "JSON" in field_error(response.content.decode(), "boundary")
    response = admin.post(url, {"name": "新网格", "code": "990101001001", "kind": "grid"})  # a taken code
    assert field_error(response.content.decode(), "code")
    assert not Area.objects.filter(name="新网格").exists()
    response = admin.post(url, {"name": "新网格", "code": "990101001001009", "kind": "grid", "households": "350"})
    new = Area.objects.get(name="新网格")
    assert response["Location"] == f"/areas/{new.pk}/" and new.households == 350
    assert new.path.startswith(cast.community.path)
    response = admin.post(f"/areas/{new.pk}/edit/", {"name": "新网格", "code": "990101001001009",
                                                     "households": "-3"})
    assert field_error(response.content.decode(), "households")
    assert admin.post(f"/areas/{new.pk}/edit/", {"name": "新网格改", "code": "990101001001009",
                                                 "households": "360"}).status_code == 302
    new.refresh_from_db()
    assert new.name == "新网格改" and new.households == 360


def test_a_pairing_is_created_visited_and_its_commitment_fulfilled_through_the_pages(
        cast: Cast, world: dict[str, Any]) -> None:
    client = logged_in(cast.alice)
    response = client.post("/pairings/new/", {"kind": "department_community", "area": cast.community.pk,
                                              "started_on": "2026-03-01"})
    assert field_error(response.content.decode(), "unit")  # this kind needs a unit
    response = client.post("/pairings/new/", {"kind": "department_community", "area": cast.community.pk,
                                              "unit": world["unit"].pk, "started_on": "2026-03-01"})
    pairing = Pairing.objects.get(kind="department_community")
    assert response["Location"] == f"/pairings/{pairing.pk}/"

    pk = world["pairing"].pk
    response = client.post(f"/pairings/{pk}/visits/", {"visited_on": "2025-12-01", "note": "早于结对"})
    assert "早于" in field_error(response.content.decode(), "visited_on")
    assert not PairingVisit.objects.exists()
    assert client.post(f"/pairings/{pk}/visits/", {"visited_on": "2026-02-03", "note": "座谈"}).status_code == 302
    assert PairingVisit.objects.get().note == "座谈"

    item = world["item"]
    url = f"/pairings/{pk}/items/{item.pk}/fulfil/"
    response = client.post(url, {f"item{item.pk}-fulfilled_on": "2026-03-01", f"item{item.pk}-evidence": " "})
    assert field_error(response.content.decode(), f"item{item.pk}-evidence")
    item.refresh_from_db()
    assert item.fulfilled_on is None
    client.post(url, {f"item{item.pk}-fulfilled_on": "2026-03-01", f"item{item.pk}-evidence": "已走访"})
    item.refresh_from_db()
    assert item.fulfilled_on == dt.date(2026, 3, 1)

    response = client.post(f"/pairings/{pk}/commitments/", {"title": "空协议", "signed_on": "2026-03-01",
                                                           "items": "  \n "})
    assert field_error(response.content.decode(), "items")
    client.post(f"/pairings/{pk}/commitments/", {"title": "第二份", "signed_on": "2026-03-01", "items": "一\n二"})
    assert Commitment.objects.get(title="第二份").items.count() == 2
    page = client.get(f"/pairings/{pk}/").content.decode()
    assert "已兑现" in page and "座谈" in page


def test_a_resident_sees_a_pairing_without_its_action_forms(cast: Cast, world: dict[str, Any]) -> None:
    body = logged_in(cast.bob).get(f"/pairings/{world['pairing'].pk}/").content.decode()
    assert "记录一次走访" not in body  # a resident may look but not record


def _grow(kind: str, cast: Cast, world: dict[str, Any], start: int, n: int) -> None:
    for i in range(start, start + n):
        if kind == "units":
            registry.unit_create(actor=None, area=cast.community, name=f"单位{i}", credit_code=credit_code(100 + i),
                                 sector=Sector.NON_PUBLIC, contact_phone=f"139{i:08d}")
        elif kind == "orgs":
            registry.party_org_create(actor=None, area=cast.grid1, name=f"支部{i}", level=OrgLevel.BRANCH,
                                      parent=world["org"])
        elif kind == "members":
            p = registry.person_create(actor=None, area=cast.building, name=f"党员{i}")
            registry.party_member_register(actor=None, person=p, organisation=world["org"],
                                           work_unit=world["unit"] if i % 2 else None, is_mobile=i % 3 == 0,
                                           outflow_place="外地" if i % 3 == 0 else "")
        elif kind == "pairings":
            p = registry.person_create(actor=None, area=cast.building, name=f"包楼党员{i}")
            registry.pairing_create(actor=None, kind="member_building", person=p, area=cast.building,
                                    started_on=dt.date(2026, 1, 1))
        elif kind == "groups":
            registry.grassroots_group_create(actor=None, area=cast.community, name=f"舞蹈队{i}", kind="文体",
                                             member_count=10)


@pytest.mark.parametrize(("kind", "url"), [("units", "/units/"), ("orgs", "/orgs/"), ("members", "/members/"),
                                           ("pairings", "/pairings/"), ("groups", "/groups/")])
def test_list_pages_cost_the_same_queries_for_5_and_60_rows(
        cast: Cast, world: dict[str, Any], kind: str, url: str,
        django_assert_max_num_queries: Callable[..., Any]) -> None:
    client = logged_in(cast.alice)
    client.get(url)
    _grow(kind, cast, world, 0, 5)
    with django_assert_max_num_queries(30) as few:
        assert client.get(url).status_code == 200
    _grow(kind, cast, world, 5, 55)
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get(url).content.decode()
    assert "下一页" in body or (kind == "orgs" and body.count("支部") >= 50)


def test_the_dashboard_has_its_charts_and_figures(cast: Cast, world: dict[str, Any]) -> None:
    body = logged_in(cast.stan).get("/").content.decode()
    for chart in ("chart-coverage", "chart-levels", "chart-members", "chart-groups"):
        assert f'id="{chart}"' in body
    assert "人口" in body and "小区党组织覆盖率" in body


def test_the_new_pages_read_in_english(cast: Cast, world: dict[str, Any]) -> None:
    client = logged_in(cast.alice)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    body = client.get("/members/").content.decode()
    outside_rows = re.sub(r"<td.*?</td>", "", body, flags=re.S)  # names in the rows stay as registered
    assert 'lang="en"' in body and "Party members" in body and "党员" not in outside_rows

