"""Hot spots (热点问题): the engine on a small hand-made set (three real groups, noise, one message out of the time
window), the heat order, the selector in the viewer's scope, merging a hot spot into one 并单 group, raising it on a
council's agenda, and the page and the API."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from gongzhi.accounts import services as accounts
from gongzhi.cases import services as cases
from gongzhi.cases.models import Case
from gongzhi.cases.workflow import State
from gongzhi.core.errors import Conflict, Forbidden, InvalidInput
from gongzhi.councils import services as councils
from gongzhi.councils.models import AgendaItem, CouncilKind, Source, load_default_kinds
from gongzhi.dispatch import selectors_hotspots as selectors
from gongzhi.dispatch import services_hotspots as services
from gongzhi.dispatch.hotspots import Message, extract_places, find_hotspots, heat_index, places_agree
from tests.cast import Cast

TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=TZ)


def msg(key: str, title: str, text: str, day: float, likes: int = 0, author: str = "") -> Message:
    return Message(key=key, title=title, text=text, time=T0 + dt.timedelta(days=day), likes=likes,
                   author=author or key)


# Three real problems, each at its own place, told in different words; noise around them: the same problem at
# another place, another problem at the same place, an unrelated question, and the first problem again 100 days
# later (out of the 30-day window).
SET = [
    msg("a1", "海鸥花园3栋电梯又坏了", "海鸥花园3栋电梯经常停运，老人上下楼很困难，请物业尽快维修电梯。", 0, likes=6),
    msg("a2", "海鸥花园电梯故障困人", "昨天海鸥花园3栋电梯突然停在半层，困住两位老人，电梯故障太频繁。", 2, likes=3),
    msg("a3", "反映海鸥花园电梯频繁故障", "海鸥花园小区的电梯频繁故障停运，物业维修不及时，请督促维修。", 5),
    msg("b1", "东港路路灯不亮", "东港路从小学门口到菜市场一段路灯晚上全部不亮，行人摸黑走路很危险。", 10),
    msg("b2", "东港路晚上路灯全灭", "东港路一段路灯全灭好几天了，晚上行人摸黑，请尽快修复路灯。", 10.2),
    msg("b3", "东港路路灯坏了没人修", "东港路一段路灯晚上不亮，坏了一周没人修，行人摸黑很危险。", 10.5),
    msg("c1", "阳光小区垃圾堆积无人清运", "阳光小区北门垃圾站垃圾堆积好几天无人清运，臭气熏天。", 1),
    msg("c2", "阳光小区北门垃圾没人清运", "阳光小区北门垃圾站的垃圾又堆满了，无人清运，气味很大。", 12),
    msg("c3", "阳光小区垃圾站垃圾堆积", "阳光小区垃圾站垃圾堆积如山，清运不及时，夏天苍蝇很多。", 21),
    msg("n1", "碧桂园小区电梯故障", "碧桂园小区2栋电梯故障停运，老人上下楼很困难，请物业维修电梯。", 3),
    msg("n2", "东港路占道经营严重", "东港路菜市场门口流动摊贩占道经营，早上交通拥堵。", 11),
    msg("n3", "咨询社保卡补办流程", "社保卡丢了，请问在哪里补办，需要带什么材料？", 4),
    msg("a4", "海鸥花园电梯又坏了", "海鸥花园3栋电梯又坏了，停运三天，老人上下楼很困难。", 105),
]


def test_places_are_read_as_people_write_them() -> None:
    assert extract_places("A2区丽发新城小区旁边建搅拌站") == ["丽发新城小区", "建搅拌站", "A2区"]
    assert extract_places("共治市中山区新华街道碧海社区海鸥花园1号楼电梯坏了") == [
        "新华街道", "碧海社区", "海鸥花园", "共治市", "中山区"]
    assert extract_places("反映春华镇金鼎村水泥路的问题") == ["春华镇", "金鼎村", "水泥路"]
    assert places_agree(["丽发新城小区"], ["丽发新城"]) is True
    assert places_agree(["海鸥花园"], ["碧桂园小区"]) is False
    assert places_agree([], ["碧桂园小区"]) is None


def test_the_hand_made_set_is_grouped_exactly() -> None:
    spots = find_hotspots(SET, window_days=30)
    groups = {frozenset(s.members) for s in spots}
    assert groups == {frozenset({"a1", "a2", "a3"}), frozenset({"b1", "b2", "b3"}), frozenset({"c1", "c2", "c3"})}
    by_key = {frozenset(s.members): s for s in spots}
    lift = by_key[frozenset({"a1", "a2", "a3"})]
    assert lift.place == "海鸥花园"
    assert (lift.first, lift.last, lift.size, lift.likes, lift.people) == (T0, T0 + dt.timedelta(days=5), 3, 9, 3)
    assert lift.label in {m.title for m in SET[:3]}
    assert by_key[frozenset({"b1", "b2", "b3"})].place == "东港路"
    assert by_key[frozenset({"c1", "c2", "c3"})].place == "阳光小区"
    # A wider window takes the lift's breakdown 100 days later in too.
    wide = {frozenset(s.members) for s in find_hotspots(SET, window_days=120)}
    assert frozenset({"a1", "a2", "a3", "a4"}) in wide


def test_the_heat_orders_the_groups() -> None:
    spots = find_hotspots(SET)
    assert [str(sorted(map(str, s.members))[0])[0] for s in spots] == ["a", "c", "b"]
    lift, rubbish, lights = spots
    assert lift.heat == round(3 * (1 + math.log10(1 + 9)) * (1 + 5 / 30), 2) == 7.0
    assert rubbish.heat == round(3 * 1 * (1 + 20 / 30), 2) == 5.0
    assert lights.heat == round(3 * (1 + 0.5 / 30), 2)
    # One author writing three times is one person; a month-long problem counts at most double.
    assert heat_index(people=1, likes=0, dislikes=0, days=90) == 2.0
    same = [msg(f"s{i}", "阳光小区垃圾堆积无人清运", "阳光小区北门垃圾站垃圾堆积无人清运。", i, author="u1")
            for i in range(3)]
    assert find_hotspots(same)[0].people == 1
    assert find_hotspots(SET, limit=1)[0].members == ["a1", "a2", "a3"]
    assert find_hotspots(SET[:1]) == []


# ------------------------------------------------------------------------------------------ the platform


def report(cast: Cast, title: str, description: str, *, area: Any, days_ago: float, actor: Any = None,
           phone: str = "") -> Case:
    when = timezone.now() - dt.timedelta(days=days_ago)
    return cases.case_submit(actor=actor or cast.alice, title=title, description=description, area=area, now=when,
                             channel="hotline", contact_name="居民", contact_phone=phone or "13900000000")


@pytest.fixture
def spots(cast: Cast) -> dict[str, Any]:
    """Three reports of one lift at 海鸥花园 (碧海社区), two of one street light in 港北社区, one unrelated."""
    lift = [report(cast, "海鸥花园1号楼电梯又坏了", "海鸥花园1号楼电梯经常停运，老人上下楼困难，请物业尽快维修电梯。",
                   area=cast.building, days_ago=6, phone="13900000001"),
            report(cast, "海鸥花园电梯故障困人", "海鸥花园1号楼电梯突然停在半层困住老人，电梯故障太频繁，请维修。",
                   area=cast.building, days_ago=4, phone="13900000002"),
            report(cast, "反映海鸥花园电梯频繁故障", "海鸥花园小区1号楼电梯频繁故障停运，物业维修不及时。",
                   area=cast.compound, days_ago=2, phone="13900000003")]
    light = [report(cast, "港湾路路灯不亮", "港湾路一段路灯晚上全部不亮，行人摸黑走路很危险，请尽快修复路灯。",
                    area=cast.grid3, days_ago=3, actor=cast.charlie, phone="13900000004"),
             report(cast, "港湾路晚上路灯全灭", "港湾路路灯全灭好几天了，晚上行人摸黑，请尽快修复路灯。",
                    area=cast.grid3, days_ago=1, actor=cast.charlie, phone="13900000005")]
    other = report(cast, "咨询社保卡补办流程", "社保卡丢了，请问在哪里补办？", area=cast.grid2, days_ago=1)
    return {"lift": lift, "light": light, "other": other}


def members(found: list[selectors.CaseHotSpot]) -> list[set[int]]:
    return [{c.pk for c in s.cases} for s in found]


def test_the_selector_finds_the_hot_spots_in_the_viewers_scope(cast: Cast, spots) -> None:
    lift = {c.pk for c in spots["lift"]}
    light = {c.pk for c in spots["light"]}
    assert members(selectors.case_hotspots(cast.alice, days=30)) == [lift]  # 碧海社区 only
    assert members(selectors.case_hotspots(cast.charlie, days=30)) == [light]
    assert sorted(map(sorted, members(selectors.case_hotspots(cast.stan, days=7)))) == sorted([sorted(lift),
                                                                                             sorted(light)])
    assert members(selectors.case_hotspots(cast.stan, area=cast.community2, days=7)) == [light]
    first = selectors.case_hotspots(cast.stan, area=cast.community, days=7)[0]
    assert "海鸥花园" in first.spot.place and first.primary == spots["lift"][0]  # equal heat: the oldest
    assert members(selectors.case_hotspots(cast.bob, days=30)) == []  # a resident sees her own only: no group
    assert selectors.top_hotspots(cast.bob) == []
    with pytest.raises(InvalidInput):
        selectors.case_hotspots(cast.stan, days=8)
    # A hot spot older than the period is not in it.
    assert members(selectors.case_hotspots(cast.stan, area=cast.community, days=7)) == [lift]
    Case.objects.filter(pk__in=lift).update(created_at=timezone.now() - dt.timedelta(days=20))
    selectors.forget_hotspots()
    assert members(selectors.case_hotspots(cast.stan, area=cast.community, days=7)) == []


def test_a_hot_spot_becomes_one_merge_group(cast: Cast, pipeline, spots) -> None:
    first, second, third = spots["lift"]
    third = cases.transition(actor=cast.alice, case=third, name="accept", category=pipeline["property"])
    third = cases.transition(actor=cast.alice, case=third, name="dispatch", unit=pipeline["unit"])
    with pytest.raises(Forbidden):
        services.hotspot_merge(actor=cast.bob, cases=[first, second, third], reason="同一问题")
    with pytest.raises(Forbidden):  # charlie dispatches in 港北社区, not here
        services.hotspot_merge(actor=cast.charlie, cases=[first, second, third], reason="同一问题")
    assert set(Case.objects.filter(pk__in=[first.pk, second.pk]).values_list("state", flat=True)) == {"submitted"}
    done = services.hotspot_merge(actor=cast.alice, cases=[first, second, third], reason="同一部电梯")
    assert done.primary == first
    assert [c.pk for c in done.merged] == [second.pk]
    assert [(c.pk, "已派遣" in why) for c, why in done.skipped] == [(third.pk, True)]
    second.refresh_from_db()
    first.refresh_from_db()
    assert (second.state, second.merged_into_id) == (State.MERGED, first.pk)
    assert first.duplicate_count == 1 and first.state == State.SUBMITTED
    # Nothing left to merge: said, and nothing changes.
    with pytest.raises(InvalidInput):
        services.hotspot_merge(actor=cast.alice, cases=[first, third], reason="再并一次")
    # A primary of the caller's choosing, which must still be open.
    with pytest.raises(InvalidInput):
        services.hotspot_merge(actor=cast.alice, cases=spots["lift"], primary=second, reason="x")


def test_a_merge_is_all_or_nothing(cast: Cast, spots, monkeypatch) -> None:
    first, second, third = spots["lift"]
    real = cases.transition

    def moved_meanwhile(**kw: Any) -> Case:
        if kw["case"].pk == third.pk:  # someone took this one up while the others were being merged
            raise Conflict("该诉求已被他人处理")
        return real(**kw)

    monkeypatch.setattr(cases, "transition", moved_meanwhile)
    with pytest.raises(Conflict):
        services.hotspot_merge(actor=cast.alice, cases=[first, second, third], reason="同一部电梯")
    assert set(Case.objects.filter(pk__in=[c.pk for c in spots["lift"]]).values_list("state", flat=True)) == {
        "submitted"}
    assert Case.objects.get(pk=first.pk).duplicate_count == 0


def test_a_hot_spot_goes_on_a_councils_agenda(cast: Cast, spots) -> None:
    if not CouncilKind.objects.exists():
        load_default_kinds()
    community = councils.council_create(actor=cast.alice, area=cast.community, name="碧海社区大党委联席会议",
                                        kind="party_committee", cadence="quarterly")
    compound = councils.council_create(actor=cast.alice, area=cast.compound, name="海鸥花园家园议事会",
                                       kind="homeland", cadence="monthly", procedure="homeland")
    lift = spots["lift"]
    item = services.hotspot_to_council_item(actor=cast.alice, cases=lift, council=community)
    assert item.source == Source.CASE and item.case_id == lift[0].pk and item.council == community
    assert all(c.number in item.description for c in lift)
    assert item.title.startswith("热点问题：")
    with pytest.raises(InvalidInput):  # 1号楼 is in the compound, the grid-2 case is not
        services.hotspot_to_council_item(actor=cast.alice, cases=[lift[0], spots["other"]], council=compound)
    with pytest.raises(Forbidden):
        services.hotspot_to_council_item(actor=cast.bob, cases=lift, council=community)
    assert AgendaItem.objects.count() == 1


def test_the_page_shows_hot_spots_and_merges_one(cast: Cast, spots, client: Client) -> None:
    lift = spots["lift"]
    client.force_login(cast.alice)
    page = client.get("/dispatch/hotspots/?days=30")
    assert page.status_code == 200
    html = page.content.decode()
    assert "合并为一组（并单）" in html and "热度 = 反映人数" in html
    assert all(c.number in html for c in lift) and spots["light"][0].number not in html
    r = client.post("/dispatch/hotspots/act/", {"action": "merge", "case": [c.pk for c in lift], "primary": lift[1].pk,
                                                "reason": "同一部电梯", "days": 30})
    assert r.status_code == 302 and r["Location"] == f"/cases/{lift[1].pk}/"
    assert sorted(Case.objects.filter(pk__in=[c.pk for c in lift]).values_list("state", flat=True)) == [
        "merged", "merged", "submitted"]
    assert Case.objects.get(pk=lift[1].pk).duplicate_count == 2
    assert "合并为一组（并单）" not in client.get("/dispatch/hotspots/?days=30").content.decode()  # no group left
    client.force_login(cast.bob)
    assert client.get("/dispatch/hotspots/").status_code == 404
    assert client.post("/dispatch/hotspots/act/", {"action": "merge"}).status_code == 404


def test_the_card_lists_the_top_three(cast: Cast, spots) -> None:
    from django.template.loader import render_to_string

    html = render_to_string("dispatch/_hotspots_card.html", selectors.card_context(cast.stan))
    assert "海鸥花园" in html and "港湾路" in html
    assert "暂无热点问题" in render_to_string("dispatch/_hotspots_card.html", selectors.card_context(cast.bob))


def test_the_api_lists_merges_and_raises_hot_spots(cast: Cast, spots) -> None:
    _t, key = accounts.token_create(actor=None, user=cast.stan, name="t")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    listed = api.get(f"/api/v1/dispatch/hotspots?area_id={cast.street.pk}&days=7&limit=5")
    assert listed.status_code == 200, listed.content
    items = listed.json()["items"]
    assert sorted(len(i["cases"]) for i in items) == [2, 3] and "热度" in listed.json()["heat_formula"]
    assert api.get("/api/v1/dispatch/hotspots?days=8").status_code in (400, 422)
    assert api.get("/api/v1/dispatch/hotspots?limit=201").status_code in (400, 422)
    light = [c.pk for c in spots["light"]]
    r = api.post("/api/v1/dispatch/hotspots/merge", json.dumps({"case_ids": light, "reason": "同一段路灯"}),
                 content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["primary"]["id"] == light[0] and [m["id"] for m in r.json()["merged"]] == [light[1]]
    if not CouncilKind.objects.exists():
        load_default_kinds()
    council = councils.council_create(actor=cast.stan, area=cast.street, name="新华街道大工委联席会议",
                                      kind="working_committee", cadence="quarterly")
    r = api.post("/api/v1/dispatch/hotspots/council-item",
                 json.dumps({"case_ids": [c.pk for c in spots["lift"]], "council_id": council.pk,
                             "title": "海鸥花园电梯频繁故障"}), content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["source"] == "case" and AgendaItem.objects.get(pk=r.json()["id"]).title == "海鸥花园电梯频繁故障"
    _t, bkey = accounts.token_create(actor=None, user=cast.bob, name="t")
    resident = Client(HTTP_AUTHORIZATION=f"Bearer {bkey}")
    assert resident.get("/api/v1/dispatch/hotspots").status_code == 403
    assert resident.post("/api/v1/dispatch/hotspots/merge", json.dumps({"case_ids": light}),
                         content_type="application/json").status_code == 403
