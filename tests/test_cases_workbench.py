"""Workbench depth and the dead ends (issue 8, items 6 and 7): a level's own staff sign for and handle what it
keeps, the 领单 pool reaches party members and units, 剩余/超期 time sorted, 督办 and 催办 as declared actions, the
place with its compound, and the figures page answering bad dates with an error on the field."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from gongzhi.accounts import services as accounts
from gongzhi.cases import services as cases
from gongzhi.cases.models import Case
from gongzhi.cases.workflow import TRANSITIONS, State
from gongzhi.core.errors import Forbidden
from gongzhi.core.models import AuditEntry
from gongzhi.notifications.models import Notification
from gongzhi.registry import services as registry
from gongzhi.registry.models import PartyMember
from tests.cast import Cast

TZ = ZoneInfo("Asia/Shanghai")


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(user: Any) -> Client:
    _token, key = accounts.token_create(actor=None, user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def submit(cast: Cast, **kw: Any) -> Case:
    return cases.case_submit(actor=cast.bob, title=kw.pop("title", "楼道堆放杂物"),
                             description=kw.pop("description", "楼道堆满纸箱"), area=kw.pop("area", cast.building),
                             **kw)


def dispatched(cast: Cast, pipeline: dict[str, Any], **kw: Any) -> Case:
    case = cases.transition(actor=cast.alice, case=submit(cast, **kw), name="accept", category=pipeline["property"])
    return cases.transition(actor=cast.alice, case=case, name="dispatch", unit=pipeline["unit"])


# ------------------------------------------------------------------------------------------ own staff


def test_a_case_the_street_keeps_is_signed_for_and_handled_by_the_streets_own_staff(
        cast: Cast, pipeline, django_capture_on_commit_callbacks) -> None:
    case = cases.transition(actor=cast.alice, case=submit(cast), name="accept", category=pipeline["street_order"])
    assert case.level == "street"
    with django_capture_on_commit_callbacks(execute=True):
        case = cases.transition(actor=pipeline["dora"], case=case, name="dispatch")  # 新华街道本级工作力量
    assert case.assignee_unit is None and case.owner_area == cast.street
    assert Notification.objects.filter(user=cast.stan, object_id=str(case.pk)).exists()
    stan = logged_in(cast.stan)
    assert case.title in stan.get("/cases/?queue=mine").content.decode()
    assert 'data-action="start"' in stan.get(f"/cases/{case.pk}/").content.decode()
    stan.post(f"/cases/{case.pk}/", {"action": "start", "version": case.version})
    case.refresh_from_db()
    stan.post(f"/cases/{case.pk}/", {"action": "handle", "version": case.version, "feedback": "街道城管中队已清理"})
    case.refresh_from_db()
    assert case.state == State.HANDLED
    # A community's workers are not the street's own staff, nor is the district.
    other = cases.transition(actor=cast.alice, case=submit(cast), name="accept", category=pipeline["street_order"])
    other = cases.transition(actor=pipeline["dora"], case=other, name="dispatch")
    for outsider in (cast.alice, pipeline["dina"]):
        with pytest.raises(Forbidden):
            cases.transition(actor=outsider, case=other, name="start")


# ------------------------------------------------------------------------------------------ 领单


def test_the_claim_pool_is_claimable_by_units_and_party_members(cast: Cast, pipeline) -> None:
    pooled = cases.transition(actor=cast.alice, case=submit(cast, title="独居老人探望"), name="accept",
                              category=pipeline["property"], claimable=True)
    hank = logged_in(pipeline["hank"])
    assert "独居老人探望" in hank.get("/cases/?queue=claimable").content.decode()
    # A party member who is a resident: the pool in 我的诉求, and the case page to claim it from.
    member = accounts.user_create(actor=None, username="mei", password=cast.password)
    accounts.grant_role(actor=None, user=member, role="resident", area=cast.community)
    org = registry.party_org_create(actor=None, area=cast.community, name="碧海社区党委", level="committee")
    person = registry.person_create(actor=None, area=cast.building, name="梅", user=member)
    PartyMember.objects.create(person=person, organisation=org, joined_on=dt.date(2000, 7, 1))
    mei = logged_in(member)
    assert "独居老人探望" in mei.get("/cases/mine/").content.decode()
    assert 'data-action="claim"' in mei.get(f"/cases/{pooled.pk}/").content.decode()
    mei.post(f"/cases/{pooled.pk}/", {"action": "claim", "version": pooled.version})
    pooled.refresh_from_db()
    assert pooled.state == State.IN_PROGRESS and pooled.claimed_by == person
    assert "独居老人探望" in mei.get("/cases/mine/").content.decode()  # now under 我领的单
    # Bob is no party member: no pool for him, and a pooled case reported by someone else stays closed to him.
    another = cases.transition(
        actor=cast.alice, case=cases.case_submit(actor=member, title="清理小广告", description="单元门小广告",
                                                 area=cast.building), name="accept",
        category=pipeline["property"], claimable=True)
    bob = logged_in(cast.bob)
    assert 'id="mine-pool"' not in bob.get("/cases/mine/").content.decode()
    assert bob.get(f"/cases/{another.pk}/").status_code == 404
    claimed = api(pipeline["hank"]).post(f"/api/v1/cases/{another.pk}/transitions/claim", json.dumps({}),
                                         content_type="application/json")
    assert claimed.status_code == 200 and claimed.json()["assignee_unit"]["id"] == pipeline["unit"].pk


# ------------------------------------------------------------------------------------------ time left, sorting


def test_time_left_reads_as_people_say_it() -> None:
    now = dt.datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
    case = Case(state=State.IN_PROGRESS, due_at=now - dt.timedelta(days=3, hours=2))
    assert case.time_left(now) == ("超期3天", True)
    case.due_at = now + dt.timedelta(hours=4, minutes=20)
    assert case.time_left(now) == ("剩余4小时", False)
    case.due_at = now + dt.timedelta(days=2, hours=1)
    assert case.time_left(now) == ("剩余2天", False)
    case.state = State.CLOSED
    assert case.time_left(now) is None


def test_the_workbench_shows_and_sorts_by_time_left_with_the_compound_and_bounded_queries(
        cast: Cast, pipeline, django_assert_max_num_queries) -> None:
    late = dispatched(cast, pipeline, title="最早到期")
    soon = dispatched(cast, pipeline, title="稍后到期")
    Case.objects.filter(pk=late.pk).update(due_at=timezone.now() - dt.timedelta(days=3, hours=1))
    Case.objects.filter(pk=soon.pk).update(due_at=timezone.now() + dt.timedelta(hours=4, minutes=30))
    dispatched(cast, pipeline, title="在小区", area=cast.compound)
    hank = logged_in(pipeline["hank"])
    body = hank.get("/cases/?queue=mine&sort=due").content.decode()
    assert "超期3天" in body and "剩余4小时" in body and "海鸥花园 1号楼" in body
    assert body.index("最早到期") < body.index("稍后到期") < body.index("在小区")
    newest_first = hank.get("/cases/?queue=mine").content.decode()
    assert newest_first.index("在小区") < newest_first.index("最早到期")
    assert hank.get("/cases/?queue=mine&sort=sideways").status_code == 404
    # Keyset pages in deadline order, through the API too.
    first = api(pipeline["hank"]).get("/api/v1/cases?queue=mine&sort=due&limit=2").json()
    assert [i["title"] for i in first["items"]] == ["最早到期", "稍后到期"]
    assert first["items"][0]["time_left"] == "超期3天" and first["items"][0]["place"] == "海鸥花园 1号楼"
    rest = api(pipeline["hank"]).get(f"/api/v1/cases?queue=mine&sort=due&limit=2&after={first['next']}").json()
    assert [i["title"] for i in rest["items"]] == ["在小区"] and rest["next"] is None
    for i in range(15):
        dispatched(cast, pipeline, title=f"批量{i}", area=cast.building if i % 2 else cast.compound)
    with django_assert_max_num_queries(40):
        hank.get("/cases/?queue=mine&sort=due")


def test_the_case_lists_ask_as_many_queries_for_eighteen_rows_as_for_three(cast: Cast, pipeline) -> None:
    """Each list reads its rows' columns in one statement (selectors.LISTED): a column a row shows but the list
    left out would be fetched row by row, and the counts would differ."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    hank = pipeline["hank"]
    lists = [(logged_in(hank), "/cases/?queue=mine&sort=due"), (logged_in(cast.alice), "/cases/?queue=all"),
             (api(hank), "/api/v1/cases?queue=mine"), (api(cast.alice), "/api/v1/cases?queue=all"),
             (Client(), "/cases/public/"), (Client(), "/api/v1/public/cases")]

    def counts() -> list[int]:
        out = []
        for client, url in lists:
            client.get(url)  # warm caches (scope, calendar) alike for both counts
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            out.append(len(ctx.captured_queries))
        return out

    for i in range(3):
        dispatched(cast, pipeline, title=f"少{i}", area=cast.building if i % 2 else cast.compound)
    few = counts()
    for i in range(15):
        dispatched(cast, pipeline, title=f"多{i}", area=cast.building if i % 2 else cast.compound)
    submit(cast, title="刚反映")
    assert counts() == few
    items = api(hank).get("/api/v1/cases?queue=mine&limit=200").json()["items"]
    assert len(items) >= 10 and all(i["state_label"] and i["assignee_unit"] and i["place"] for i in items)


def test_the_street_and_community_columns_select_what_the_path_prefix_selects(cast: Cast, pipeline) -> None:
    """The database computes street_path and community_path from area_path on every insert (the intake service, a
    bulk load alike); ``in_area`` uses them for a street or a community and the prefix elsewhere — the same cases
    on every level of the tree."""
    from gongzhi.cases.selectors import in_area

    for area in (cast.building, cast.compound, cast.grid2, cast.community):
        submit(cast, title=f"在{area.name}", area=area)
    other = submit(cast, title="港北", area=cast.grid3)
    Case.objects.bulk_create([Case(title="批量", description="批量导入", channel="app", area=cast.grid1,
                                   area_path=cast.grid1.path, owner_area=cast.community,
                                   owner_path=cast.community.path)])
    rows = list(Case.objects.values_list("area_path", "street_path", "community_path"))
    assert len(rows) >= 6 and all(s == p[:12] and c == p[:16] for p, s, c in rows)
    for node in (cast.city, cast.district, cast.street, cast.street2, cast.community, cast.community2, cast.grid1,
                 cast.compound, cast.building):
        by_column = set(Case.objects.filter(in_area(node.path)).values_list("pk", flat=True))
        assert by_column == set(Case.objects.filter(area_path__startswith=node.path).values_list("pk", flat=True))
    assert other.pk not in set(Case.objects.filter(in_area(cast.community.path)).values_list("pk", flat=True))
    assert other.pk in set(Case.objects.filter(in_area(cast.community2.path)).values_list("pk", flat=True))
    assert set(Case.objects.filter(in_area(cast.community.path)).values_list("title", flat=True)) >= {
        "在1号楼", "批量", f"在{cast.community.name}"}


# ------------------------------------------------------------------------------------------ 督办 and 催办


def test_supervise_and_urge_are_declared_actions_that_leave_the_state(cast: Cast, pipeline) -> None:
    for name in ("supervise", "urge"):
        assert TRANSITIONS[name].target is None and not TRANSITIONS[name].moves
    assert TRANSITIONS["supervise"].needs_reason


def test_a_superior_supervises_with_a_note_and_a_new_deadline_and_the_handler_is_notified(
        cast: Cast, pipeline, django_capture_on_commit_callbacks) -> None:
    case = dispatched(cast, pipeline)
    assert "supervise" not in cases.allowed_transitions(cast.alice, case)  # the owning community is not above it
    dina = logged_in(pipeline["dina"])
    assert 'data-action="supervise"' in dina.get(f"/cases/{case.pk}/").content.decode()
    new_due = timezone.localdate() + dt.timedelta(days=2)
    no_note = dina.post(f"/cases/{case.pk}/", {"action": "supervise", "version": case.version}, follow=True)
    assert "理由：请填写理由" in no_note.content.decode()
    past = dina.post(f"/cases/{case.pk}/", {"action": "supervise", "version": case.version, "reason": "尽快",
                                            "due_at": "2020-01-01"}, follow=True)
    assert "新的办结时限：新的办结时限须晚于现在" in past.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        dina.post(f"/cases/{case.pk}/", {"action": "supervise", "version": case.version,
                                         "reason": "群众反映强烈，请两天内办结", "due_at": new_due.isoformat()})
    case.refresh_from_db()
    assert case.state == State.DISPATCHED and case.supervised_at is not None and case.version == 4
    assert timezone.localtime(case.due_at).date() == new_due
    note = Notification.objects.get(user=pipeline["hank"], object_id=str(case.pk), message__contains="督办")
    assert "两天内办结" in note.message
    entry = AuditEntry.objects.get(action="cases.case.supervise", object_id=str(case.pk))
    assert entry.reason == "群众反映强烈，请两天内办结" and entry.actor == pipeline["dina"]
    page = logged_in(pipeline["hank"]).get(f"/cases/{case.pk}/").content.decode()
    assert 'id="case-supervised"' in page and "群众反映强烈" in page
    assert "督办" in logged_in(pipeline["hank"]).get("/cases/?queue=mine").content.decode()


def test_urge_through_the_api_counts_and_notifies_and_a_stale_version_conflicts(
        cast: Cast, pipeline, django_capture_on_commit_callbacks) -> None:
    case = dispatched(cast, pipeline)
    client = api(cast.alice)  # the owning level's dispatcher may urge
    with django_capture_on_commit_callbacks(execute=True):
        urged = client.post(f"/api/v1/cases/{case.pk}/transitions/urge",
                            json.dumps({"version": case.version, "reason": "请今天联系居民"}),
                            content_type="application/json")
    assert urged.status_code == 200 and urged.json()["urge_count"] == 1 and urged.json()["state"] == "dispatched"
    assert Notification.objects.filter(user=pipeline["hank"], object_id=str(case.pk), message__contains="催办").exists()
    stale = client.post(f"/api/v1/cases/{case.pk}/transitions/urge", json.dumps({"version": case.version}),
                        content_type="application/json")
    assert stale.status_code == 409
    supervised = api(pipeline["dina"]).post(f"/api/v1/cases/{case.pk}/transitions/supervise", json.dumps({
        "reason": "区里督办", "due_at": (timezone.localdate() + dt.timedelta(days=3)).isoformat()}),
        content_type="application/json")
    assert supervised.status_code == 200 and supervised.json()["supervised_at"]
    assert api(pipeline["hank"]).post(f"/api/v1/cases/{case.pk}/transitions/supervise",
                                      json.dumps({"reason": "x"}), content_type="application/json").status_code == 403


# ------------------------------------------------------------------------------------------ intake channel


def test_staff_pick_the_channel_and_the_channels_include_the_seeds(cast: Cast) -> None:
    from gongzhi.cases.models import STAFF_CHANNELS

    labels = {str(c.label) for c in STAFF_CHANNELS}
    assert {"热线", "服务窗口", "居民接待日", "评理说事点", "网格巡查", "会议决定"} <= labels
    alice = logged_in(cast.alice)
    alice.post("/cases/report/", {"title": "评理说事点登记", "description": "邻里纠纷", "area": cast.building.pk,
                                  "channel": "mediation_point"})
    case = Case.objects.get(title="评理说事点登记")
    assert case.channel == "mediation_point" and "评理说事点" in alice.get(f"/cases/{case.pk}/").content.decode()
    assert 'name="channel"' not in logged_in(cast.bob).get("/cases/report/").content.decode()


# ------------------------------------------------------------------------------------------ figures period


@pytest.mark.parametrize("query, field", [
    ("start=2026-11-30&end=2026-11-01", "end"),
    ("start=0001-01-01&end=2026-11-01", "start"),
    ("end=9999-12-31", "end"),
    ("start=not-a-date", "start"),
])
def test_the_figures_page_answers_bad_dates_with_an_error_on_the_field(cast: Cast, query: str, field: str) -> None:
    response = logged_in(cast.alice).get(f"/cases/figures/?area={cast.community.pk}&{query}")
    assert response.status_code == 400
    assert f'id="error-{field}"' in response.content.decode()


def test_the_figures_api_answers_bad_dates_with_an_error_on_the_field(cast: Cast) -> None:
    client = api(cast.alice)
    backwards = client.get(f"/api/v1/case-figures?area_id={cast.community.pk}&start=2026-11-30&end=2026-11-01")
    assert backwards.status_code == 400 and "end" in backwards.json()["error"]["fields"]
    far = client.get(f"/api/v1/case-figures?area_id={cast.community.pk}&end=9999-12-31")
    assert far.status_code == 400 and "end" in far.json()["error"]["fields"]

