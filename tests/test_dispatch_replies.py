"""答复意见评价: the scoring of replies per measure, the replies a viewer may see, the page and the API."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from gongzhi.accounts import services as accounts
from gongzhi.cases import services as cases
from gongzhi.core.validators import credit_code_check_char
from gongzhi.dispatch import replies as engine
from gongzhi.dispatch import selectors_replies as selectors
from gongzhi.registry import services as registry
from gongzhi.registry.models import Sector
from tests.cast import Cast

TZ = ZoneInfo("Asia/Shanghai")
ASKED = dt.datetime(2026, 11, 2, 9, 30, tzinfo=TZ)  # a Monday
_ago = dt.date.today() - dt.timedelta(days=120)
# Cases of the platform were reported a Monday four months ago (the page's default period is the last year).
BASE = dt.datetime.combine(_ago - dt.timedelta(days=_ago.weekday()), dt.time(9, 30), tzinfo=TZ)

TITLE = "海鸥花园3号楼门前路灯不亮"
MESSAGE = "海鸥花园3号楼门前的两盏路灯已经坏了半个月，晚上一片漆黑，老人出行容易摔倒，请尽快修复。"
GOOD = ("鲍女士：您好！您反映的海鸥花园3号楼门前路灯不亮的问题已收悉。经我局工作人员11月3日现场核实，"
        "该处两盏路灯因线路老化损坏属实。我局已安排维修班组更换线路和灯具，目前两盏路灯均已恢复照明。"
        "根据《城市道路照明设施管理规定》，小区内公共照明由物业与我局共同维护，下一步我们将每月巡查一次。"
        "如仍有问题，请拨打城管服务热线联系我们。感谢您对城市管理工作的支持！")
EVASIVE = "您好，留言已收悉。"


def score(reply: str, replied_at: dt.datetime, **kw: Any) -> engine.ReplyScore:
    return engine.score_reply(TITLE, MESSAGE, reply, ASKED, replied_at, **kw)


# ---- the engine


def test_a_complete_relevant_timely_reply_beats_an_evasive_late_one_on_every_measure() -> None:
    good = score(GOOD, ASKED + dt.timedelta(days=2))
    evasive = score(EVASIVE, ASKED + dt.timedelta(days=40))
    assert good.relevance > 80 > 10 > evasive.relevance
    assert good.completeness == 100 and evasive.completeness <= 5
    assert (good.workdays, good.timeliness) == (2, 100)
    assert evasive.workdays == 29 and evasive.timeliness < 25
    assert good.total > 90 > 20 > evasive.total
    assert good.reasons == ()
    assert "仅有套话，未作实质答复" in evasive.reasons
    assert any("超过15个工作日" in r for r in evasive.reasons)


def test_relevance_falls_when_the_reply_is_about_something_else() -> None:
    off_topic = ("您好！经核实，您所在单位的公积金已按规定足额缴存，具体明细可登录公积金网站查询。"
                 "根据《住房公积金管理条例》，单位应按时缴存。如有疑问请拨打热线咨询。感谢您的支持！")
    on = score(GOOD, ASKED)
    off = score(off_topic, ASKED)
    assert off.relevance < 30 < 80 < on.relevance
    assert off.completeness > 60  # well formed, but not an answer to this message
    assert set(on.covered) == {"海鸥花园", "3号楼"} and on.missed == ()
    assert set(off.missed) == {"海鸥花园", "3号楼"}
    assert "未提及留言中的地点或对象" in off.reasons  # the names (data) are shown beside it from ``missed``


def test_completeness_names_each_missing_element_and_cuts_short_replies() -> None:
    bare = "海鸥花园3号楼门前路灯已修复。"
    s = score(bare, ASKED)
    assert "measures" in s.elements and "basis" not in s.elements and "follow_up" not in s.elements
    assert s.completeness < 15
    assert "未说明政策法规依据" in s.reasons and "缺后续安排或联系方式" in s.reasons
    assert any(r.startswith("答复过短") for r in s.reasons)
    explained = s.explanations()
    assert "处理措施/结果" in explained["completeness"] and "缺" in explained["completeness"]
    transferred = score("您好，您反映的问题已转交市城管局办理。", ASKED)
    assert "measures" not in transferred.elements
    assert "仅告知已转办，未答复办理结果" in transferred.reasons or "仅有套话，未作实质答复" in transferred.reasons


# The official calendar is read with the administrator's CalendarDay table: every score needs the database.
pytestmark = pytest.mark.django_db


def test_timeliness_counts_working_days_on_the_official_calendar() -> None:
    # 2025年国庆中秋: 10月1日–8日 off, so 9 September 30 → October 9 is one working day (Monday–Friday: seven).
    before, after = dt.datetime(2025, 9, 30, 10, tzinfo=TZ), dt.datetime(2025, 10, 9, 10, tzinfo=TZ)
    official = engine.score_reply(TITLE, MESSAGE, GOOD, before, after)
    weekdays = engine.score_reply(TITLE, MESSAGE, GOOD, before, after, workdays_fn=engine.count_weekdays)
    assert (official.workdays, weekdays.workdays) == (1, 7)
    assert official.timeliness == 100 and weekdays.timeliness == 92
    assert [engine._timeliness(n) for n in (0, 5, 10, 15, 30, 45, 60, 200)] == [100, 100, 80, 60, 20, 10, 0, 0]
    assert engine.count_weekdays(dt.date(2026, 11, 6), dt.date(2026, 11, 9)) == 1  # Friday → Monday
    assert score(GOOD, ASKED - dt.timedelta(days=1)).workdays == 0  # a reply stamped before the message


def test_the_total_weighs_the_measures_as_the_page_says() -> None:
    s = score(GOOD, ASKED + dt.timedelta(days=30))
    assert sum(engine.WEIGHTS.values()) == 100
    assert s.total == round((35 * s.relevance + 40 * s.completeness + 25 * s.timeliness) / 100)
    assert [str(name) for name, _sentence in engine.MEASURE] == ["相关性", "完整性", "及时性", "总分"]


def test_named_terms_are_the_places_and_objects_of_the_message() -> None:
    assert engine.named_terms("碧海社区海鸥花园1号楼门口的路灯不亮") == ["碧海社区", "海鸥花园", "1号楼"]
    assert engine.named_terms("A7县黄花镇合心村通自来水的收费") == ["A7县", "黄花镇", "合心村"]
    assert engine.named_terms("楼道灯坏了") == []


# ---- the platform's replies


def handled(cast: Cast, pipeline: dict[str, Any], title: str, description: str, feedback: str, *,
            unit: Any = None, handler: Any = None, days: int = 1):
    case = cases.case_submit(actor=cast.bob, title=title, description=description, area=cast.building, now=BASE)
    case = cases.transition(actor=cast.alice, case=case, name="accept", category=pipeline["property"], now=BASE)
    case = cases.transition(actor=cast.alice, case=case, name="dispatch", unit=unit or pipeline["unit"], now=BASE)
    handler = handler or pipeline["hank"]
    case = cases.transition(actor=handler, case=case, name="start", now=BASE)
    return cases.transition(actor=handler, case=case, name="handle", feedback=feedback,
                            now=BASE + dt.timedelta(days=days))


@pytest.fixture
def world(cast: Cast, pipeline: dict[str, Any]) -> dict[str, Any]:
    first17 = "91350100M00020011"
    other = registry.unit_create(actor=None, area=cast.city, name="市供水公司",
                                 credit_code=first17 + credit_code_check_char(first17), sector=Sector.STATE_ENTERPRISE)
    wendy = accounts.user_create(actor=None, username="wendy", password=cast.password)
    accounts.grant_role(actor=None, user=wendy, role="unit_handler", unit=other)
    good = handled(cast, pipeline, TITLE, MESSAGE, GOOD, days=2)
    poor = handled(cast, pipeline, "小区门口垃圾桶满了", "垃圾桶满了好几天没人清运", "已处理", days=40)
    water = handled(cast, pipeline, "3号楼停水", "3号楼昨天起停水", "您好，经抢修，3号楼供水已恢复。感谢您的理解！",
                    unit=other, handler=wendy)
    return {"other": other, "wendy": wendy, "good": good, "poor": poor, "water": water, **pipeline}


def test_replies_are_seen_by_supervisors_and_the_units_own_handlers_only(cast: Cast, world) -> None:
    def seen(user: Any) -> set[int]:
        return {c.pk for c in selectors.replies(user)}

    everything = {world["good"].pk, world["poor"].pk, world["water"].pk}
    assert seen(cast.alice) == everything  # the community's dispatcher
    assert seen(world["dora"]) == everything  # the street's dispatcher
    assert seen(world["hank"]) == {world["good"].pk, world["poor"].pk}  # his unit only
    assert seen(world["wendy"]) == {world["water"].pk}  # a handler of another unit does not see 城管局's
    assert seen(cast.bob) == set()  # the resident who reported them all
    assert not selectors.may_view(cast.bob)
    assert seen(cast.charlie) == set()  # another community's dispatcher
    assert seen(cast.gina) == set()  # a grid worker handles on her own level, supervises no unit
    assert {c.pk for c in selectors.replies(cast.alice, unit_id=world["other"].pk)} == {world["water"].pk}
    day = (BASE + dt.timedelta(days=2)).date()
    assert {c.pk for c in selectors.replies(cast.alice, start=day, end=day)} == {world["good"].pk}
    assert [u.name for u in selectors.units(world["hank"])] == ["市城市管理局"]


def test_per_unit_averages_and_a_bounded_number_of_queries(cast: Cast, world, django_assert_max_num_queries) -> None:
    qs = selectors.replies(cast.alice)
    with django_assert_max_num_queries(1):
        summary = selectors.unit_averages(qs)
        names = [(u.name, u.count) for u in summary.rows]
    assert dict(names) == {"市城市管理局": 2, "市供水公司": 1}
    city = next(u for u in summary.rows if u.name == "市城市管理局")
    good, poor = selectors.score_case(world["good"]), selectors.score_case(world["poor"])
    assert city.total == round((good.total + poor.total) / 2, 1)
    assert city.late == 1 and city.late_rate == 50.0
    assert good.total > 85 > 40 > poor.total
    assert (summary.counted, summary.truncated) == (3, False)
    assert selectors.unit_averages(qs, limit=2).truncated
    with django_assert_max_num_queries(1):
        rows = selectors.scored(list(qs))
        assert {r.unit.name for r in rows} == {"市城市管理局", "市供水公司"}


# ---- the page and the API (need the lead's urls and router)


def test_the_page_shows_averages_replies_and_the_measure(cast: Cast, world, client: Client) -> None:
    client.force_login(cast.alice)
    r = client.get("/dispatch/replies/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "答复质量" in html and "评分口径" in html and "相关性×35%" in html
    assert world["good"].number in html and f"/cases/{world['good'].pk}/" in html
    assert "市供水公司" in html and "chart-replies" in html
    assert "超过15个工作日答复" in html  # the late reply's reason
    r = client.get(f"/dispatch/replies/?unit={world['other'].pk}")
    assert world["water"].number in r.content.decode() and world["good"].number not in r.content.decode()
    r = client.get("/dispatch/replies/?start=bad")
    assert r.status_code == 200 and "请输入有效的日期" in r.content.decode()
    client.force_login(world["wendy"])
    html = client.get("/dispatch/replies/").content.decode()
    assert world["water"].number in html and world["good"].number not in html
    client.force_login(cast.bob)
    assert client.get("/dispatch/replies/").status_code == 404


def test_the_api_lists_scored_replies_and_unit_averages(cast: Cast, world) -> None:
    _token, key = accounts.token_create(actor=None, user=cast.alice, name="t")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    days = (dt.date.today() - BASE.date()).days + 5
    r = api.get(f"/api/v1/dispatch/replies?days={days}&limit=2")
    assert r.status_code == 200, r.content
    body = r.json()
    assert len(body["items"]) == 2 and body["next"] is not None
    rest = api.get(f"/api/v1/dispatch/replies?days={days}&limit=2&after={body['next']}").json()
    ids = {i["case_id"] for i in body["items"] + rest["items"]}
    assert ids == {world["good"].pk, world["poor"].pk, world["water"].pk} and rest["next"] is None
    good = next(i for i in body["items"] + rest["items"] if i["case_id"] == world["good"].pk)
    assert good["score"]["total"] > 85 and good["unit"]["name"] == "市城市管理局"
    assert set(good["score"]["explanations"]) == {"relevance", "completeness", "timeliness"}
    only = api.get(f"/api/v1/dispatch/replies?days={days}&unit_id={world['other'].pk}").json()
    assert [i["case_id"] for i in only["items"]] == [world["water"].pk]
    assert api.get("/api/v1/dispatch/replies?limit=500").status_code == 400
    units = api.get(f"/api/v1/dispatch/replies/units?days={days}").json()
    assert {u["unit"]["name"]: u["count"] for u in units["units"]} == {"市城市管理局": 2, "市供水公司": 1}
    assert units["weights"] == {"relevance": 35, "completeness": 40, "timeliness": 25}
    assert len(units["measure"]) == 4
    _token, bob_key = accounts.token_create(actor=None, user=cast.bob, name="t")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {bob_key}").get("/api/v1/dispatch/replies").status_code == 403
