"""The demand and resource libraries and matching: services, scope, suggestions, the race on the last slot, the API
and the Excel ledgers / needs import."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from openpyxl import Workbook, load_workbook

from gongzhi.accounts import services as accounts
from gongzhi.cobuild import excel_library
from gongzhi.cobuild.models import Kind, Match, Need, OwnerKind, Resource
from gongzhi.cobuild.selectors import library as selectors
from gongzhi.cobuild.services import library as lib
from gongzhi.cobuild.workflow import MatchState, NeedState
from gongzhi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from gongzhi.core.models import AuditEntry
from gongzhi.core.validators import credit_code_check_char
from gongzhi.registry import services as registry
from gongzhi.registry.models import Sector
from tests.cast import Cast, build_cast

TODAY = dt.date.today()
YEAR_END = dt.date(TODAY.year + 1, 12, 31)


def _code(n: int) -> str:
    first = f"91350100M{n:07d}A"[:17]
    return first + credit_code_check_char(first)


def _unit(cast: Cast, name: str, area: Any, n: int, handler: str | None = None) -> tuple[Any, Any]:
    unit = registry.unit_create(actor=None, area=area, name=name, credit_code=_code(n), sector=Sector.ORGAN)
    user = None
    if handler:
        user = accounts.user_create(actor=None, username=handler, password=cast.password)
        accounts.grant_role(actor=None, user=user, role="unit_handler", unit=unit)
    return unit, user


@pytest.fixture
def world(cast: Cast) -> dict[str, Any]:
    hospital, hank = _unit(cast, "中山区人民医院", cast.district, 1, "hank")
    school, sue = _unit(cast, "新华街道中学", cast.street, 2, "sue")
    return {"hospital": hospital, "hank": hank, "school": school, "sue": sue}


def _need(cast: Cast, **kw: Any) -> Need:
    args = {"actor": cast.alice, "area": cast.community, "kind": Kind.MEDICAL, "title": "老人义诊",
            "quantity": 1, **kw}
    return lib.need_register(**args)


def _resource(actor: Any, unit: Any, **kw: Any) -> Resource:
    args = {"actor": actor, "owner_kind": OwnerKind.UNIT, "unit": unit, "kind": Kind.MEDICAL, "title": "义诊进社区",
            "capacity": 6, "measure": "次", "cadence": "每年 6 次", "valid_from": TODAY, "valid_until": YEAR_END,
            **kw}
    return lib.resource_offer(**args)


# ------------------------------------------------------------------------------------------------ needs


def test_community_staff_register_needs_and_others_cannot(cast: Cast) -> None:
    need = _need(cast, wanted_by=TODAY + dt.timedelta(days=30))
    assert need.state == NeedState.OPEN and need.area_path == cast.community.path
    assert AuditEntry.objects.filter(action="cobuild.need.create", object_id=str(need.pk)).exists()
    _need(cast, area=cast.compound, title="小区助餐")  # a compound of her community
    for who in (cast.bob, cast.charlie, cast.gina):  # a resident, an outsider, a grid worker (no COBUILD_MANAGE)
        with pytest.raises(Forbidden):
            _need(cast, actor=who)
    with pytest.raises(InvalidInput) as exc:
        _need(cast, area=cast.street)
    assert "area" in exc.value.fields
    with pytest.raises(InvalidInput) as exc:
        _need(cast, wanted_by=TODAY - dt.timedelta(days=1))
    assert "wanted_by" in exc.value.fields
    with pytest.raises(InvalidInput) as exc:
        _need(cast, title="\u200b \u202e")
    assert "title" in exc.value.fields
    with pytest.raises(InvalidInput) as exc:
        _need(cast, description="长" * 2001)
    assert "description" in exc.value.fields
    with pytest.raises(InvalidInput) as exc:
        _need(cast, kind="nope")
    assert "kind" in exc.value.fields


def test_charlie_of_gangbei_does_not_see_bihai_needs(cast: Cast) -> None:
    need = _need(cast)
    assert list(selectors.needs(cast.alice)) == [need]
    assert list(selectors.needs(cast.stan)) == [need]  # her street sees it
    assert list(selectors.needs(cast.charlie)) == []
    with pytest.raises(NotFound):
        selectors.need_get(cast.charlie, need.pk)
    assert list(selectors.needs(cast.bob)) == []


def test_need_update_checks_the_version_and_steps_follow_the_table(cast: Cast) -> None:
    need = _need(cast)
    v = need.version
    need = lib.need_update(actor=cast.alice, need=need, expected_version=v, kind=Kind.MEDICAL, title="老人义诊（两次）",
                           quantity=2)
    assert need.version == v + 1 and need.quantity == 2
    with pytest.raises(Conflict):
        lib.need_update(actor=cast.alice, need=need, expected_version=v, kind=Kind.MEDICAL, title="旧版本")
    with pytest.raises(Forbidden):
        lib.need_update(actor=cast.charlie, need=need, expected_version=need.version, kind=Kind.MEDICAL, title="x")
    with pytest.raises(InvalidInput):
        lib.need_step(actor=cast.alice, need=need, step="match")  # taken by the system only
    with pytest.raises(Conflict):
        lib.need_step(actor=cast.alice, need=need, step="meet")  # not from open
    with pytest.raises(InvalidInput) as exc:
        lib.need_step(actor=cast.alice, need=need, step="withdraw")
    assert "reason" in exc.value.fields
    need = lib.need_step(actor=cast.alice, need=need, step="withdraw", reason="居民已自行解决")
    assert need.state == NeedState.WITHDRAWN


def test_a_case_becomes_a_need_and_the_link_is_kept_both_ways(cast: Cast) -> None:
    from gongzhi.cases import services as cases

    case = cases.case_submit(actor=cast.bob, title="独居老人吃饭难", description="楼里有5位独居老人无人做饭",
                             area=cast.building)
    need = lib.need_from_case(actor=cast.alice, case=case, kind=Kind.MEALS)
    assert need.case_id == case.pk and list(case.needs.all()) == [need]
    assert need.area_id == cast.compound.pk  # the case's building → its compound
    assert need.title == case.title and need.source == "case"
    with pytest.raises(InvalidInput):
        lib.need_from_case(actor=cast.alice, case=case, kind=Kind.MEALS)  # once
    with pytest.raises(NotFound):
        lib.need_from_case(actor=cast.charlie, case=case, kind=Kind.MEALS)


# ------------------------------------------------------------------------------------------------ resources


def test_a_unit_offers_and_edits_only_its_own_resources(cast: Cast, world: dict[str, Any]) -> None:
    r = _resource(world["hank"], world["hospital"])
    # Default reach: the owner's community, else its street, else its own node (the district hospital: the district).
    assert [x.area_path for x in r.reach.all()] == [cast.district.path]
    with pytest.raises(Forbidden):
        _resource(world["sue"], world["hospital"])  # another unit's handler
    with pytest.raises(Forbidden):
        lib.resource_update(actor=world["sue"], resource=r, expected_version=r.version, title="改", capacity=6,
                            valid_from=r.valid_from, valid_until=r.valid_until)
    assert list(selectors.resources(world["sue"], mine=True)) == []
    assert list(selectors.resources(world["hank"], mine=True)) == [r]
    school = _resource(world["sue"], world["school"], kind=Kind.VENUE, title="周末操场", capacity=200, measure="平方米",
                       cadence="周末")
    assert [x.area_path for x in school.reach.all()] == [cast.street.path]
    # The community sees both: they serve her area, though they sit on the district's and the street's nodes.
    assert set(selectors.resources(cast.alice)) == {r, school}
    assert set(selectors.resources(cast.alice, kind=Kind.VENUE)) == {school}
    assert list(selectors.resources(world["hank"])) == [r]


def test_capacity_never_goes_below_used_and_stale_edits_conflict(cast: Cast, world: dict[str, Any]) -> None:
    r = _resource(world["hank"], world["hospital"], capacity=3)
    need = _need(cast, quantity=2)
    m = lib.match_propose(actor=cast.alice, need=need, resource=r)
    lib.match_confirm(actor=world["hank"], match=m)
    r.refresh_from_db()
    assert r.used == 2
    with pytest.raises(InvalidInput) as exc:
        lib.resource_update(actor=world["hank"], resource=r, expected_version=r.version, title=r.title, capacity=1,
                            valid_from=r.valid_from, valid_until=r.valid_until)
    assert "capacity" in exc.value.fields
    r = lib.resource_update(actor=world["hank"], resource=r, expected_version=r.version, title=r.title, capacity=2,
                            valid_from=r.valid_from, valid_until=r.valid_until, reach=[cast.street])
    assert r.capacity == 2 and [x.area_path for x in r.reach.all()] == [cast.street.path]
    with pytest.raises(Conflict):
        lib.resource_update(actor=world["hank"], resource=r, expected_version=r.version - 1, title="x", capacity=9,
                            valid_from=r.valid_from, valid_until=r.valid_until)
    r = lib.resource_retire(actor=world["hank"], resource=r)
    assert not r.active


def test_a_person_offers_for_herself_only_when_a_member_or_volunteer(cast: Cast) -> None:
    from gongzhi.registry.models import Person, PostKind, StaffPost

    bob = Person.objects.get(user=cast.bob)
    kw = {"owner_kind": OwnerKind.PERSON, "person": bob, "kind": Kind.LEGAL, "title": "法律咨询", "capacity": 2,
          "measure": "小时", "valid_from": TODAY, "valid_until": YEAR_END}
    with pytest.raises(InvalidInput) as exc:
        lib.resource_offer(actor=cast.bob, **kw)
    assert "person" in exc.value.fields
    StaffPost.objects.create(person=bob, kind=PostKind.VOLUNTEER, area=cast.community)
    with pytest.raises(Forbidden):
        lib.resource_offer(actor=cast.alice, **kw)  # not for someone else
    r = lib.resource_offer(actor=cast.bob, **kw)
    assert r.area_id == cast.building.pk and [x.area_path for x in r.reach.all()] == [cast.community.path]
    assert list(selectors.resources(cast.bob, mine=True)) == [r]


# ------------------------------------------------------------------------------------------------ suggestions


def test_suggestions_rank_by_reach_then_capacity_then_reliability_and_explain(
        cast: Cast, world: dict[str, Any], django_assert_max_num_queries: Any) -> None:
    hospital, school = world["hospital"], world["school"]
    need = _need(cast, area=cast.grid1)
    district_big = _resource(world["hank"], hospital, title="全区义诊", capacity=50)
    street_small = _resource(world["sue"], school, title="街道校医", capacity=2, reach=[cast.street])
    community_one = _resource(world["sue"], school, title="社区校医", capacity=4, reach=[cast.community])
    community_two = _resource(world["hank"], hospital, title="社区家庭医生", capacity=4,
                              reach=[cast.community, cast.street])
    _resource(world["hank"], hospital, title="别的社区", capacity=99, reach=[cast.community2])  # not her area
    _resource(world["hank"], hospital, kind=Kind.LEGAL, title="法律", reach=[cast.community])  # another kind
    _resource(world["hank"], hospital, title="过期", valid_from=TODAY - dt.timedelta(days=30),
              valid_until=TODAY + dt.timedelta(days=1), reach=[cast.community])
    Resource.objects.filter(title="过期").update(valid_until=TODAY - dt.timedelta(days=1))
    # History: community_two completed one match; community_one had one declined → community_two ranks first.
    other = _need(cast, title="往年义诊")
    done = lib.match_propose(actor=cast.alice, need=other, resource=community_two)
    lib.match_confirm(actor=world["hank"], match=done)
    lib.match_complete(actor=cast.alice, match=done)
    lib.resource_update(actor=world["hank"], resource=community_two, expected_version=community_two.version + 0,
                        title=community_two.title, capacity=5, valid_from=TODAY, valid_until=YEAR_END)
    failed = lib.match_propose(actor=cast.alice, need=other, resource=community_one)
    lib.match_decline(actor=world["sue"], match=failed, reason="时间冲突")
    with django_assert_max_num_queries(2):
        found = selectors.suggest(need)
    assert [s.resource.title for s in found] == ["社区家庭医生", "社区校医", "街道校医", "全区义诊"]
    assert found[0].explanation == "同类资源 · 服务本社区 · 剩余 4 次 · 以往对接 1 次完成 1 次"
    assert found[1].explanation == "同类资源 · 服务本社区 · 剩余 4 次 · 以往对接 1 次完成 0 次"
    assert found[2].explanation == "同类资源 · 服务本街道 · 剩余 2 次 · 暂无对接记录"
    assert found[3].explanation == "同类资源 · 服务全区 · 剩余 50 次 · 暂无对接记录"
    assert found[0].reliability == 1.0 and found[1].reliability == 0.0 and found[2].reliability is None
    # A resource already proposed to this need leaves the suggestions.
    lib.match_propose(actor=cast.alice, need=need, resource=street_small)
    assert "街道校医" not in [s.resource.title for s in selectors.suggest(need)]
    assert [s.resource.title for s in selectors.suggest(need, limit=1)] == ["社区家庭医生"]
    assert district_big in [s.resource for s in selectors.suggest(need)]


# ------------------------------------------------------------------------------------------------ matching


def test_a_match_is_proposed_by_one_side_and_confirmed_by_the_other(cast: Cast, world: dict[str, Any]) -> None:
    r = _resource(world["hank"], world["hospital"])
    need = _need(cast, quantity=2)
    with pytest.raises(Forbidden):
        lib.match_propose(actor=cast.charlie, need=need, resource=r)
    m = lib.match_propose(actor=cast.alice, need=need, resource=r)
    assert m.proposed_by_side == "need" and m.quantity == 2
    with pytest.raises(InvalidInput):
        lib.match_propose(actor=cast.alice, need=need, resource=r)  # one live match per pair
    with pytest.raises(Forbidden):
        lib.match_confirm(actor=cast.alice, match=m)  # not her own proposal
    with pytest.raises(Forbidden):
        lib.match_confirm(actor=world["sue"], match=m)  # not the resource's owner
    m = lib.match_confirm(actor=world["hank"], match=m)
    r.refresh_from_db()
    need.refresh_from_db()
    assert m.state == MatchState.CONFIRMED and r.used == 2 and need.state == NeedState.MATCHED
    m = lib.match_cancel(actor=world["hank"], match=m, reason="医生临时出诊")
    r.refresh_from_db()
    assert m.state == MatchState.CANCELLED and r.used == 0  # given back
    # The resource side proposes; the need side confirms.
    m2 = lib.match_propose(actor=world["hank"], need=need, resource=r, quantity=1)
    assert m2.proposed_by_side == "resource"
    with pytest.raises(Forbidden):
        lib.match_confirm(actor=world["hank"], match=m2)
    m2 = lib.match_confirm(actor=cast.alice, match=m2)
    with pytest.raises(Forbidden):
        lib.match_complete(actor=world["hank"], match=m2)
    m2 = lib.match_complete(actor=cast.alice, match=m2)
    assert m2.state == MatchState.DONE
    with pytest.raises(InvalidInput):
        lib.match_propose(actor=cast.alice, need=need, resource=r, quantity=99)  # beyond what is left


def test_a_resource_not_serving_the_area_cannot_be_proposed(cast: Cast, world: dict[str, Any]) -> None:
    r = _resource(world["sue"], world["school"], reach=[cast.community2])
    with pytest.raises(InvalidInput) as exc:
        lib.match_propose(actor=cast.alice, need=_need(cast), resource=r)
    assert "resource" in exc.value.fields


@pytest.mark.django_db(transaction=True)
def test_two_confirmations_racing_for_the_last_slot_exactly_one_wins() -> None:
    cast = build_cast()
    hospital, hank = _unit(cast, "中山区人民医院", cast.district, 1, "hank")
    r = _resource(hank, hospital, capacity=1)
    a = lib.match_propose(actor=cast.alice, need=_need(cast, title="碧海义诊"), resource=r)
    charlie_need = lib.need_register(actor=cast.charlie, area=cast.community2, kind=Kind.MEDICAL, title="港北义诊")
    b = lib.match_propose(actor=cast.charlie, need=charlie_need, resource=r)
    results: list[str] = []
    barrier = threading.Barrier(2)

    def confirm(pk: int) -> None:
        match = Match.objects.select_related("need", "resource").get(pk=pk)
        barrier.wait()
        try:
            lib.match_confirm(actor=hank, match=match)
            results.append("ok")
        except Conflict as exc:
            results.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm, args=(m.pk,)) for m in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=lambda x: x != "ok")[0] == "ok" and len(results) == 2
    loser = next(x for x in results if x != "ok")
    assert "剩余数量不足" in loser
    r.refresh_from_db()
    assert r.used == 1
    assert Match.objects.filter(state=MatchState.CONFIRMED).count() == 1


# ------------------------------------------------------------------------------------------------ API


def _api(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_api_needs_resources_suggestions_and_matches(cast: Cast, world: dict[str, Any]) -> None:
    alice, hank = _api(cast.alice), _api(world["hank"])
    made = alice.post("/api/v1/cobuild/needs", json.dumps({
        "area_id": cast.community.pk, "kind": "medical", "title": "慢病随访", "quantity": 2}),
        content_type="application/json")
    assert made.status_code == 201, made.content
    need = made.json()
    assert _api(cast.bob).post("/api/v1/cobuild/needs", json.dumps({
        "area_id": cast.community.pk, "kind": "medical", "title": "x"}), content_type="application/json"
    ).status_code in (403, 404)
    bad = alice.post("/api/v1/cobuild/needs", json.dumps({
        "area_id": cast.community.pk, "kind": "medical", "title": "x", "wanted_by": "2000-01-01"}),
        content_type="application/json")
    assert bad.status_code == 400 and "wanted_by" in bad.json()["error"]["fields"]
    assert _api(cast.charlie).get(f"/api/v1/cobuild/needs/{need['id']}").status_code == 404
    assert alice.get("/api/v1/cobuild/needs?limit=201").status_code in (400, 422)
    listed = alice.get("/api/v1/cobuild/needs?kind=medical").json()
    assert [n["id"] for n in listed["items"]] == [need["id"]]
    patched = alice.patch(f"/api/v1/cobuild/needs/{need['id']}", json.dumps({"version": 1, "scale": "约 40 户"}),
                          content_type="application/json")
    assert patched.status_code == 200 and patched.json()["scale"] == "约 40 户"
    stale = alice.patch(f"/api/v1/cobuild/needs/{need['id']}", json.dumps({"version": 1, "scale": "旧"}),
                        content_type="application/json")
    assert stale.status_code == 409
    offered = hank.post("/api/v1/cobuild/resources", json.dumps({
        "owner_kind": "unit", "unit_id": world["hospital"].pk, "kind": "medical", "title": "家庭医生签约",
        "capacity": 3, "valid_from": str(TODAY), "valid_until": str(YEAR_END),
        "reach_area_ids": [cast.community.pk]}), content_type="application/json")
    assert offered.status_code == 201, offered.content
    res = offered.json()
    assert res["reach"][0]["id"] == cast.community.pk
    other = _api(world["sue"]).patch(f"/api/v1/cobuild/resources/{res['id']}",
                                     json.dumps({"version": res["version"], "capacity": 9}),
                                     content_type="application/json")
    assert other.status_code in (403, 404)  # another unit's handler: not hers to edit
    sugg = alice.get(f"/api/v1/cobuild/needs/{need['id']}/suggestions").json()
    assert sugg[0]["resource"]["id"] == res["id"] and sugg[0]["explanation"].startswith("同类资源 · 服务本社区")
    m = alice.post("/api/v1/cobuild/matches", json.dumps({"need_id": need["id"], "resource_id": res["id"]}),
                   content_type="application/json")
    assert m.status_code == 201, m.content
    own = alice.post(f"/api/v1/cobuild/matches/{m.json()['id']}/step", json.dumps({"step": "confirm"}),
                     content_type="application/json")
    assert own.status_code == 403
    ok = hank.post(f"/api/v1/cobuild/matches/{m.json()['id']}/step", json.dumps({"step": "confirm"}),
                   content_type="application/json")
    assert ok.status_code == 200 and ok.json()["state"] == "confirmed"
    assert alice.get(f"/api/v1/cobuild/needs/{need['id']}").json()["state"] == "matched"
    below = hank.patch(f"/api/v1/cobuild/resources/{res['id']}", json.dumps({"version": res["version"],
                                                                               "capacity": 1}),
                       content_type="application/json")
    assert below.status_code == 400 and "capacity" in below.json()["error"]["fields"]
    met = alice.post(f"/api/v1/cobuild/needs/{need['id']}/step", json.dumps({"step": "meet"}),
                     content_type="application/json")
    assert met.status_code == 200 and met.json()["state"] == "met"


# ------------------------------------------------------------------------------------------------ pages and Excel


def test_pages_render_and_a_resident_has_none(cast: Cast, world: dict[str, Any]) -> None:
    r = _resource(world["hank"], world["hospital"])
    need = _need(cast)
    lib.match_propose(actor=cast.alice, need=need, resource=r)
    alice = _api(cast.alice)
    for url in ("/cobuild/needs/", f"/cobuild/needs/{need.pk}/", "/cobuild/resources/", f"/cobuild/resources/{r.pk}/",
                "/cobuild/needs/new/", "/cobuild/needs/import/"):
        assert alice.get(url).status_code == 200, url
    page = alice.get(f"/cobuild/needs/{need.pk}/").content.decode()
    assert "等待对方确认" in page
    hank_page = _api(world["hank"]).get(f"/cobuild/resources/{r.pk}/").content.decode()
    assert 'data-step="confirm"' in hank_page
    assert _api(world["hank"]).get("/cobuild/resources/mine/").status_code == 200
    assert _api(cast.bob).get("/cobuild/needs/").status_code == 404
    assert _api(cast.charlie).get(f"/cobuild/needs/{need.pk}/").status_code == 404
    form = alice.post("/cobuild/needs/new/", {"area": cast.community.pk, "kind": "medical", "title": " ",
                                              "quantity": 1, "urgency": "normal"})
    assert form.status_code == 200 and "error-title" in form.content.decode()


def test_excel_ledgers_follow_the_scope(cast: Cast, world: dict[str, Any]) -> None:
    _need(cast, title="碧海助老")
    lib.need_register(actor=cast.charlie, area=cast.community2, kind=Kind.ELDERLY, title="港北助老")
    _resource(world["hank"], world["hospital"])
    got = _api(cast.alice).get("/cobuild/needs/?download=1")
    wb = load_workbook(io.BytesIO(b"".join(got.streaming_content)), read_only=True)
    titles = [row[1] for row in wb.active.iter_rows(values_only=True) if len(row) > 1]
    assert "碧海助老" in titles and "港北助老" not in titles
    got = _api(cast.alice).get("/cobuild/resources/?download=1")
    wb = load_workbook(io.BytesIO(b"".join(got.streaming_content)), read_only=True)
    assert "义诊进社区" in [row[1] for row in wb.active.iter_rows(values_only=True) if len(row) > 1]


def _sheet(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["需求名称", "需求类别", "区域代码", "需求数量", "紧急程度", "期望解决时间"])
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_needs_import_is_all_or_nothing_with_row_and_column_errors(cast: Cast) -> None:
    template = load_workbook(io.BytesIO(excel_library.needs_template()))
    assert template.active.title == "社区需求"
    bad = _sheet([["助餐", "助餐", cast.community.code, 2, "较急", None],
                  ["港北的", "助老", cast.community2.code, 1, "", None],
                  ["错类别", "吃饭", cast.grid1.code, 1, "", None]])
    report = excel_library.import_needs(actor=cast.alice, data=bad)
    assert not report.ok and Need.objects.count() == 0
    assert {(e.row, e.column) for e in report.errors} == {(3, "区域代码"), (4, "需求类别")}
    good = _sheet([["助餐", "助餐", cast.community.code, 2, "较急", None],
                   ["网格助老", "助老", cast.grid1.code, "", "", TODAY + dt.timedelta(days=10)]])
    report = excel_library.import_needs(actor=cast.alice, data=good)
    assert report.ok and report.created == 2
    assert set(Need.objects.values_list("title", "urgency")) == {("助餐", "urgent"), ("网格助老", "normal")}
    assert not excel_library.import_needs(actor=cast.bob, data=good).ok  # a resident may not
    client = _api(cast.alice)
    upload = io.BytesIO(_sheet([["页面导入", "文体", cast.community.code, 1, "", None]]))
    upload.name = "needs.xlsx"
    assert client.post("/cobuild/needs/import/", {"file": upload}).status_code == 302
    assert Need.objects.filter(title="页面导入").exists()


def _resource_sheet(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["资源名称", "资源类别", "单位信用代码", "可提供数量", "计量单位", "资金金额（元）", "有效期起",
               "有效期止", "服务区域代码"])
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_a_unit_imports_its_own_resources_all_or_nothing(cast: Cast, world: dict[str, Any]) -> None:
    template = load_workbook(io.BytesIO(excel_library.resources_template()))
    assert template.active.title == "共建资源"
    school, hospital = world["school"], world["hospital"]
    end = TODAY + dt.timedelta(days=200)
    bad = _resource_sheet([
        ["周末场地", "场地", school.credit_code, 8, "次", None, TODAY, end, cast.community.code],
        ["别人的义诊", "医疗", hospital.credit_code, 6, "次", None, TODAY, end, ""],  # not sue's unit
        ["助学金", "资金", school.credit_code, 1, "元", "两万", TODAY, end, ""],
        ["讲座", "教育", school.credit_code, 4, "次", None, TODAY, end, "nosuchcode"],
    ])
    report = excel_library.import_resources(actor=world["sue"], data=bad)
    assert not report.ok and not Resource.objects.exists()
    assert {(e.row, e.column) for e in report.errors} == {(3, "单位信用代码"), (4, "资金金额（元）"),
                                                          (5, "服务区域代码")}
    good = _resource_sheet([
        ["周末场地", "场地", school.credit_code, 8, "次", None, TODAY, end,
         f"{cast.community.code}、{cast.community2.code}"],
        ["助学金", "资金", school.credit_code, 1, "元", "20000", TODAY, end, ""],
    ])
    dry = excel_library.import_resources(actor=world["sue"], data=good, dry_run=True)
    assert dry.ok and dry.created == 2 and not Resource.objects.exists()
    report = excel_library.import_resources(actor=world["sue"], data=good)
    assert report.ok and report.created == 2
    venue = Resource.objects.get(title="周末场地")
    assert venue.unit == school and set(venue.reach.values_list("area_id", flat=True)) == {
        cast.community.pk, cast.community2.pk}
    assert str(Resource.objects.get(title="助学金").amount) == "20000.00"
    assert AuditEntry.objects.filter(action="cobuild.resource.create").count() == 2
    assert not excel_library.import_resources(actor=cast.alice, data=good).ok  # staff do not offer for a unit
    client = _api(world["sue"])
    assert "resources-import" in client.get("/cobuild/resources/mine/").content.decode()
    upload = io.BytesIO(_resource_sheet([["页面导入", "文体", school.credit_code, 3, "", None, TODAY, end, ""]]))
    upload.name = "resources.xlsx"
    assert client.post("/cobuild/resources/import/", {"file": upload}).status_code == 302
    assert Resource.objects.filter(title="页面导入", unit=school).exists()
    assert _api(cast.bob).get("/cobuild/resources/import/").status_code == 404


def test_demo_loader_builds_through_the_services(cast: Cast, world: dict[str, Any]) -> None:
    import random

    from gongzhi.cobuild import demo_library
    from gongzhi.cobuild.demo import DemoAreas
    from gongzhi.registry.models import MemberUnit

    areas = DemoAreas(city=cast.city, communities=[cast.community, cast.community2, cast.community3],
                      focus=[cast.community, cast.community2], compounds={cast.community.path: [cast.compound]},
                      streets=[cast.street, cast.street2], districts=[cast.district])
    counts = demo_library.load(areas=areas, units=list(MemberUnit.objects.select_related("area")), people=[],
                               today=TODAY, rng=random.Random(7))
    assert counts["cobuild_resources"] == Resource.objects.count() > 0
    assert counts["cobuild_needs"] == Need.objects.count() == 12
    assert counts["cobuild_matches"] == Match.objects.exclude(state=MatchState.PROPOSED).count() > 0
    assert all(r.used <= r.capacity for r in Resource.objects.all())


def test_the_case_page_offers_to_turn_a_case_into_a_need_and_links_back(cast, client) -> None:
    from gongzhi.cases import services as cases

    case = cases.case_submit(actor=cast.bob, title="小区缺少老年活动场所", description="老人们希望有个活动室",
                             area=cast.building)
    client.force_login(cast.alice)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "转为社区需求" in page and f"/cobuild/cases/{case.pk}/need/" in page
    need = lib.need_from_case(actor=cast.alice, case=case, kind="facilities")
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert f"/cobuild/needs/{need.pk}/" in page and "转为社区需求" not in page
    client.force_login(cast.bob)  # the resident sees her case, not the community's needs
    assert f"/cobuild/needs/{need.pk}/" not in client.get(f"/cases/{case.pk}/").content.decode()


def test_every_open_need_of_an_area_gets_the_same_suggestions_in_a_fixed_number_of_queries(
        cast, django_assert_max_num_queries) -> None:
    """匹配建议 for a street: the batch ranks each need exactly as the one-need suggestion does, in five queries
    however many needs and resources there are, and only over the needs the viewer sees."""
    today = dt.date.today()
    units = [_unit(cast, f"共建单位{i}", cast.street, 300 + i)[0] for i in range(3)]
    for i, unit in enumerate(units):
        lib.resource_offer(actor=None, owner_kind=OwnerKind.UNIT, unit=unit, kind=Kind.MEDICAL, title=f"义诊{i}",
                           capacity=6 - i,
                           valid_from=today, valid_until=YEAR_END,
                           reach=[cast.community if i == 0 else cast.street])
    needs = [lib.need_register(actor=None, area=area, kind=Kind.MEDICAL, title=f"义诊需求{j}")
             for j, area in enumerate([cast.community, cast.grid1, cast.community2])]
    with django_assert_max_num_queries(5 + 3):  # five of its own, three to load the viewer's scope
        rows = selectors.suggest_for_area(cast.stan, cast.street)
    assert {n.pk for n, _s in rows} == {n.pk for n in needs}
    for need, suggestions in rows:
        one = selectors.suggest(need, 3)
        assert [s.resource.pk for s in suggestions] == [s.resource.pk for s in one]
        assert [s.explanation for s in suggestions] == [s.explanation for s in one]
    assert {n.pk for n, _s in selectors.suggest_for_area(cast.alice, cast.street)} == {needs[0].pk, needs[1].pk}
    client = Client()
    client.force_login(cast.stan)
    page = client.get(f"/cobuild/needs/matching/?area={cast.street.pk}").content.decode()
    assert "义诊需求2" in page and "发起对接" in page
    token = accounts.token_create(actor=None, user=cast.stan, name="t")[1]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    body = api.get(f"/api/v1/cobuild/needs/matching?area_id={cast.street.pk}").json()
    assert len(body) == 3 and body[0]["suggestions"][0]["explanation"]
    charlie = Client(HTTP_AUTHORIZATION=f"Bearer {accounts.token_create(actor=None, user=cast.charlie, name='t')[1]}")
    assert charlie.get(f"/api/v1/cobuild/needs/matching?area_id={cast.street.pk}").status_code == 404
