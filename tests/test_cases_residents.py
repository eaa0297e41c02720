"""Residents' own channel on cases (issue 8, item 5): public pages without signing in, updates and photos on her own
case, withdrawing it, following a case (我也遇到, counting toward 并单 heat), cases staff register for her, and 回访 —
through the test client and the JSON API."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from gongzhi.accounts import services as accounts
from gongzhi.cases import rollup, selectors
from gongzhi.cases import services as cases
from gongzhi.cases.models import Case, CaseFollower, CasePhoto, CaseVisit
from gongzhi.cases.selectors import _aggregate
from gongzhi.cases.workflow import State
from gongzhi.core.models import AuditEntry
from gongzhi.notifications.models import Notification
from gongzhi.registry import services as registry
from gongzhi.registry.models import Person
from tests.cast import Cast
from tests.test_patrol import png as _png

PNG = _png()


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(user: Any) -> Client:
    _token, key = accounts.token_create(actor=None, user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def submit(cast: Cast, **kw: Any) -> Case:
    return cases.case_submit(actor=kw.pop("actor", cast.bob), title=kw.pop("title", "楼道堆放杂物"),
                             description=kw.pop("description", "3单元楼道堆满纸箱，存在消防隐患"),
                             area=kw.pop("area", cast.building), **kw)


@pytest.fixture
def carol(cast: Cast) -> Any:
    """A second resident of 碧海社区, who meets the same problem."""
    user = accounts.user_create(actor=None, username="carol", password=cast.password)
    accounts.grant_role(actor=None, user=user, role="resident", area=cast.community)
    registry.person_create(actor=None, area=cast.building, name="卡萝", phone="13900139000", user=user)
    return user


def walk_to_verified(cast: Cast, pipeline: dict[str, Any], case: Case) -> Case:
    case = cases.transition(actor=cast.alice, case=case, name="accept", category=pipeline["property"])
    case = cases.transition(actor=cast.alice, case=case, name="dispatch")
    case = cases.transition(actor=cast.alice, case=case, name="start")
    case = cases.transition(actor=cast.alice, case=case, name="handle", feedback="已清理")
    return cases.transition(actor=cast.gina, case=case, name="verify")


# ------------------------------------------------------------------------------------------ public pages


def test_public_cases_open_without_login_and_show_no_personal_data(cast: Cast, pipeline) -> None:
    shown = submit(cast, address="3单元402室门口")
    hidden = submit(cast, title="家里漏水不想公开", is_public=False)
    gone = submit(cast, title="已撤回的问题")
    cases.transition(actor=cast.bob, case=gone, name="withdraw", reason="已自行解决")
    anonymous = Client()
    page = anonymous.get("/cases/public/")
    assert page.status_code == 200
    body = page.content.decode()
    assert shown.title in body and hidden.title not in body and gone.title not in body
    assert "海鸥花园" in body and "1号楼" not in body  # the place stops at the compound
    assert "鲍勃" not in body and "13800138000" not in body and "402" not in body
    detail = anonymous.get(f"/cases/public/{shown.pk}/")
    assert detail.status_code == 200
    text = detail.content.decode()
    assert shown.title in text and "鲍勃" not in text and "402" not in text and "纸箱" not in text
    assert anonymous.get(f"/cases/public/{hidden.pk}/").status_code == 404
    # Following needs signing in.
    follow = anonymous.post(f"/cases/public/{shown.pk}/")
    assert follow.status_code == 302 and "/login/" in follow["Location"]
    # A district, street or community narrows it; a building is not a public filter.
    assert shown.title in anonymous.get(f"/cases/public/?area={cast.community.pk}").content.decode()
    assert shown.title not in anonymous.get(f"/cases/public/?area={cast.community2.pk}").content.decode()
    assert anonymous.get(f"/cases/public/?area={cast.building.pk}").status_code == 404


def test_the_public_api_needs_no_token_and_carries_no_personal_data(cast: Cast, pipeline) -> None:
    case = submit(cast, address="3单元402室门口")
    submit(cast, title="不公开", is_public=False)
    listed = Client().get("/api/v1/public/cases").json()
    assert [i["id"] for i in listed["items"]] == [case.pk]
    item = listed["items"][0]
    assert item["place"] == "海鸥花园" and "contact_phone" not in item and "reporter" not in item
    assert "402" not in json.dumps(item, ensure_ascii=False)
    assert Client().get(f"/api/v1/public/cases/{case.pk}").json()["title"] == case.title


def test_public_list_queries_do_not_grow_with_the_cases(cast: Cast, pipeline, django_assert_max_num_queries) -> None:
    for i in range(3):
        submit(cast, title=f"问题{i}")
    with django_assert_max_num_queries(8):
        Client().get("/cases/public/")
    for i in range(20):
        submit(cast, title=f"更多问题{i}", area=cast.compound if i % 2 else cast.building)
    with django_assert_max_num_queries(8):
        body = Client().get("/cases/public/").content.decode()
    assert body.count("/cases/public/") >= 23


# ------------------------------------------------------------------------------------------ updates and photos


def test_the_reporter_adds_an_update_and_a_photo_and_the_handler_hears_of_it(
        cast: Cast, pipeline, settings, tmp_path, django_capture_on_commit_callbacks) -> None:
    settings.MEDIA_ROOT = tmp_path
    case = submit(cast)
    case = cases.transition(actor=cast.alice, case=case, name="accept", category=pipeline["property"])
    case = cases.transition(actor=cast.alice, case=case, name="dispatch", unit=pipeline["unit"])
    bob = logged_in(cast.bob)
    photo = tmp_path / "more.png"
    photo.write_bytes(PNG)
    with django_capture_on_commit_callbacks(execute=True), open(photo, "rb") as fh:
        response = bob.post(f"/cases/{case.pk}/", {"action": "update", "text": "今天又多了几袋垃圾", "photos": fh})
    assert response.status_code == 302
    page = bob.get(f"/cases/{case.pk}/").content.decode()
    assert "今天又多了几袋垃圾" in page and "反映人补充" in page
    assert CasePhoto.objects.filter(case=case, stage="update").count() == 1
    assert Notification.objects.filter(user=pipeline["hank"], object_id=str(case.pk), message__contains="补充").exists()
    assert AuditEntry.objects.filter(action="cases.case.update", object_id=str(case.pk)).count() == 1
    assert Case.objects.get(pk=case.pk).version == case.version  # an update does not move the case

    # An empty update names its field; someone else cannot add to her case.
    empty = bob.post(f"/cases/{case.pk}/", {"action": "update", "text": ""}, follow=True).content.decode()
    assert "请填写补充说明或上传照片" in empty
    stranger = logged_in(cast.alice).post(f"/cases/{case.pk}/", {"action": "update", "text": "x"}, follow=True)
    assert "只有反映人可以补充诉求" in stranger.content.decode()


def test_updates_and_photos_through_the_api(cast: Cast, pipeline, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    case = submit(cast)
    bob = api(cast.bob)
    made = bob.post(f"/api/v1/cases/{case.pk}/updates", json.dumps({
        "text": "补一张照片", "photos": [base64.b64encode(PNG).decode()]}), content_type="application/json")
    assert made.status_code == 201 and made.json()["photos"] == 1
    bad = bob.post(f"/api/v1/cases/{case.pk}/updates", json.dumps({"photos": ["not-base64!"]}),
                   content_type="application/json")
    assert bad.status_code == 400 and "photos[0]" in bad.json()["error"]["fields"]
    detail = bob.get(f"/api/v1/cases/{case.pk}").json()
    assert detail["updates"][0]["text"] == "补一张照片"


# ------------------------------------------------------------------------------------------ withdraw


def test_the_reporter_withdraws_her_case_until_it_is_handled(cast: Cast, pipeline) -> None:
    case = submit(cast)
    bob = logged_in(cast.bob)
    page = bob.get(f"/cases/{case.pk}/").content.decode()
    assert 'data-action="withdraw"' in page
    no_reason = bob.post(f"/cases/{case.pk}/", {"action": "withdraw", "version": case.version}, follow=True)
    assert "请填写理由" in no_reason.content.decode()
    bob.post(f"/cases/{case.pk}/", {"action": "withdraw", "version": case.version, "reason": "物业已处理"})
    case.refresh_from_db()
    assert case.state == State.WITHDRAWN and case.closed_at is not None
    assert AuditEntry.objects.get(action="cases.case.withdraw", object_id=str(case.pk)).reason == "物业已处理"
    # The rollup still equals a full count.
    today = timezone.localdate()
    assert rollup.totals(cast.city.path, today - dt.timedelta(days=2), today) == _aggregate(
        Case.objects.exclude(state="merged"))

    handled = walk_to_verified(cast, pipeline, submit(cast, title="另一件"))
    assert "withdraw" not in cases.allowed_transitions(cast.bob, handled)
    via_api = api(cast.bob).post(f"/api/v1/cases/{handled.pk}/transitions/withdraw",
                                 json.dumps({"reason": "不想等了"}), content_type="application/json")
    assert via_api.status_code == 409


# ------------------------------------------------------------------------------------------ follow (我也遇到)


def test_a_neighbour_follows_a_public_case_and_the_heat_shows_where_duplicates_are_listed(
        cast: Cast, pipeline, carol, django_capture_on_commit_callbacks) -> None:
    case = submit(cast)
    c = logged_in(carol)
    assert c.get(f"/cases/{case.pk}/").status_code == 404  # not hers yet
    assert "我也遇到" in c.get(f"/cases/public/{case.pk}/").content.decode()
    c.post(f"/cases/public/{case.pk}/", {"action": "follow"})
    c.post(f"/cases/public/{case.pk}/", {"action": "follow"})  # twice counts once
    case.refresh_from_db()
    assert case.follower_count == 1 and CaseFollower.objects.get(case=case).kind == "me_too"
    assert case.title in c.get("/cases/mine/").content.decode()
    assert c.get(f"/cases/{case.pk}/").status_code == 200  # now she follows it
    # She hears of each step.
    with django_capture_on_commit_callbacks(execute=True):
        cases.transition(actor=cast.alice, case=case, name="accept", category=pipeline["property"])
    assert Notification.objects.filter(user=carol, object_id=str(case.pk)).exists()
    # The workbench and the duplicate suggestions show the heat.
    assert "1人也遇到" in logged_in(cast.alice).get("/cases/?queue=to_dispatch").content.decode()
    other = submit(cast, actor=carol, title="楼道堆放杂物很多", description="3单元楼道堆满纸箱")
    dupes = selectors.suggest_duplicates(cast.alice, other)
    assert dupes and dupes[0].case.pk == case.pk and "1 人也遇到" in dupes[0].reasons
    # The reporter herself does not follow her own case; unfollowing takes the heat back.
    own = logged_in(cast.bob).post(f"/cases/public/{case.pk}/", {"action": "follow"}, follow=True)
    assert "无需关注" in own.content.decode()
    c.post(f"/cases/{case.pk}/", {"action": "unfollow"})
    case.refresh_from_db()
    assert case.follower_count == 0 and not CaseFollower.objects.filter(case=case).exists()


def test_follow_and_unfollow_through_the_api(cast: Cast, pipeline, carol) -> None:
    case = submit(cast)
    client = api(carol)
    followed = client.post(f"/api/v1/cases/{case.pk}/follow")
    assert followed.status_code == 200 and followed.json()["follower_count"] == 1
    assert client.get(f"/api/v1/cases/{case.pk}").json()["follower_count"] == 1
    assert client.delete(f"/api/v1/cases/{case.pk}/follow").json()["follower_count"] == 0
    assert client.delete(f"/api/v1/cases/{case.pk}/follow").status_code == 400
    private = submit(cast, is_public=False)
    assert client.post(f"/api/v1/cases/{private.pk}/follow").status_code == 404


# ------------------------------------------------------------------------------------------ reported for her


def test_a_grid_worker_reports_for_a_resident_by_phone_and_she_sees_and_rates_it(cast: Cast, pipeline) -> None:
    gina = logged_in(cast.gina)
    form = gina.get("/cases/report/").content.decode()
    assert 'name="channel"' in form and "热线" in form and "居民接待日" in form and "评理说事点" in form
    response = gina.post("/cases/report/", {"title": "路灯不亮", "description": "门口路灯坏了",
                                            "area": cast.building.pk, "channel": "reception",
                                            "reporter_phone": "138 0013 8000"})
    assert response.status_code == 302
    case = Case.objects.get(title="路灯不亮")
    assert case.reporter.name == "鲍勃" and case.channel == "reception"
    bob = logged_in(cast.bob)
    assert "路灯不亮" in bob.get("/cases/mine/").content.decode()
    case = walk_to_verified(cast, pipeline, case)
    bob.post(f"/cases/{case.pk}/", {"action": "rate", "version": case.version, "rating": "satisfied"})
    case.refresh_from_db()
    assert case.state == State.CLOSED and case.rating == "satisfied"

    # A number that matches nobody stays the contact; the grid worker is not the reporter.
    gina.post("/cases/report/", {"title": "井盖松动", "description": "井盖松动", "area": cast.building.pk,
                                 "channel": "hotline", "reporter_phone": "13700137000", "contact_name": "王先生"})
    walk_in = Case.objects.get(title="井盖松动")
    assert walk_in.reporter is None and walk_in.contact_phone == "13700137000" and walk_in.contact_name == "王先生"
    # A bad number names its field.
    bad = gina.post("/cases/report/", {"title": "x", "description": "y", "area": cast.building.pk,
                                       "channel": "window", "reporter_phone": "123"}).content.decode()
    assert 'id="error-reporter_phone"' in bad
    # Staff pick the person from her page (?reporter=): the form says for whom.
    person = Person.objects.get(name="鲍勃")
    picked = gina.get(f"/cases/report/?reporter={person.pk}").content.decode()
    assert "代居民反映：鲍勃" in picked
    gina.post(f"/cases/report/?reporter={person.pk}", {"title": "窗口登记", "description": "在窗口反映",
                                                       "area": cast.building.pk, "channel": "window",
                                                       "reporter": person.pk})
    assert Case.objects.get(title="窗口登记").reporter == person


def test_report_for_a_resident_through_the_api_and_residents_cannot_pick_a_channel(cast: Cast, pipeline) -> None:
    person = Person.objects.get(name="鲍勃")
    made = api(cast.alice).post("/api/v1/cases", json.dumps({
        "title": "热线来电", "description": "电梯坏了", "area_id": cast.building.pk, "channel": "hotline",
        "reporter_id": person.pk}), content_type="application/json")
    assert made.status_code == 201 and made.json()["channel"] == "hotline"
    assert Case.objects.get(pk=made.json()["id"]).reporter == person
    assert made.json()["id"] in [c["id"] for c in api(cast.bob).get("/api/v1/cases?queue=reported").json()["items"]]
    by_phone = api(cast.alice).post("/api/v1/cases", json.dumps({
        "title": "窗口来访", "description": "x", "area_id": cast.building.pk, "channel": "window",
        "reporter_phone": "13800138000"}), content_type="application/json")
    assert Case.objects.get(pk=by_phone.json()["id"]).reporter == person
    resident = api(cast.bob).post("/api/v1/cases", json.dumps({
        "title": "x", "description": "y", "area_id": cast.building.pk, "channel": "hotline"}),
        content_type="application/json")
    assert resident.status_code == 400 and "channel" in resident.json()["error"]["fields"]
    outsider = api(cast.charlie).post("/api/v1/cases", json.dumps({
        "title": "x", "description": "y", "area_id": cast.grid3.pk, "channel": "hotline",
        "reporter_id": person.pk}), content_type="application/json")
    assert outsider.status_code == 404  # bob is outside 港北社区's scope


# ------------------------------------------------------------------------------------------ 回访


def test_staff_record_a_follow_up_visit_after_closing_and_the_figures_count_it(cast: Cast, pipeline) -> None:
    case = walk_to_verified(cast, pipeline, submit(cast))
    alice = logged_in(cast.alice)
    assert 'data-action="visit"' not in alice.get(f"/cases/{case.pk}/").content.decode()
    early = alice.post(f"/cases/{case.pk}/", {"action": "visit", "method": "phone", "result": "resolved",
                                              "satisfaction": "satisfied"}, follow=True)
    assert "诉求办结后才能回访" in early.content.decode()
    case = cases.rate(actor=cast.bob, case=case, rating="satisfied")
    assert 'data-action="visit"' in alice.get(f"/cases/{case.pk}/").content.decode()
    missing = alice.post(f"/cases/{case.pk}/", {"action": "visit", "method": "phone", "result": "resolved"},
                         follow=True).content.decode()
    assert "满意度：请选择满意、基本满意或不满意" in missing
    alice.post(f"/cases/{case.pk}/", {"action": "visit", "method": "phone", "result": "resolved",
                                      "satisfaction": "satisfied", "note": "居民表示楼道已干净"})
    visit = CaseVisit.objects.get(case=case)
    assert (visit.result, visit.satisfaction, visit.by) == ("resolved", "satisfied", cast.alice)
    assert AuditEntry.objects.filter(action="cases.case.visit", object_id=str(case.pk)).exists()
    assert "居民表示楼道已干净" in alice.get(f"/cases/{case.pk}/").content.decode()
    assert "居民表示楼道已干净" in logged_in(cast.bob).get(f"/cases/{case.pk}/").content.decode()
    # The resident cannot record one; the API records one too; the figures count both.
    assert logged_in(cast.bob).post(f"/cases/{case.pk}/", {"action": "visit", "method": "phone",
                                                           "result": "resolved", "satisfaction": "basic"})
    assert CaseVisit.objects.count() == 1
    made = api(cast.alice).post(f"/api/v1/cases/{case.pk}/visits", json.dumps({
        "method": "questionnaire", "result": "unreachable"}), content_type="application/json")
    assert made.status_code == 201 and made.json()["satisfaction"] == ""
    f = selectors.figures(cast.alice, cast.community, timezone.localdate(), timezone.localdate())
    assert (f.visits, f.visits_reached, f.visits_satisfied, f.visit_satisfaction_rate) == (2, 1, 1, 100.0)
    assert "回访" in alice.get(f"/cases/figures/?area={cast.community.pk}").content.decode()
