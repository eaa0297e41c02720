"""Grid patrol (三访民情, issue 8 item 8) through the pages and the API: plans with a schedule and a checklist, due
rounds derived from the schedule (done / in progress / due / missed), a grid worker's round (tick the checklist,
visit households, close), a problem becoming a case in one step, and the figures per grid with bounded queries."""

from __future__ import annotations

import datetime as dt
import json
import struct
import zlib
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from gongzhi.accounts import services as accounts
from gongzhi.cases.models import Case, CasePhoto, Channel
from gongzhi.core.errors import Conflict, Forbidden, InvalidInput
from gongzhi.core.models import AuditEntry
from gongzhi.patrol import demo, selectors, services
from gongzhi.patrol.models import (
    Frequency,
    HouseholdVisit,
    PatrolCheck,
    PatrolPlan,
    PatrolRound,
    period_end,
    period_index,
    period_start,
)
from gongzhi.registry import services as registry
from gongzhi.registry.models import AreaKind, Person
from tests.cast import Cast


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes([200, 40, 40] * 4) for _ in range(4))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


class Api:
    def __init__(self, user: Any) -> None:
        _token, key = accounts.token_create(actor=None, user=user, name="test")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def get(self, url: str) -> Any:
        return self.client.get(f"/api/v1{url}")

    def post(self, url: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(f"/api/v1{url}", json.dumps(body or {}), content_type="application/json")

    def put(self, url: str, body: dict[str, Any]) -> Any:
        return self.client.put(f"/api/v1{url}", json.dumps(body), content_type="application/json")


@pytest.fixture
def media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def daily_plan(cast: Cast, **kw: Any) -> PatrolPlan:
    return services.plan_create(actor=cast.alice, area=kw.pop("area", cast.grid1), name=kw.pop("name", "每天常态巡访"),
                                frequency=kw.pop("frequency", Frequency.DAILY),
                                checklist=kw.pop("checklist", ["消防通道", "楼道堆物", "独居老人"]), **kw)


# ------------------------------------------------------------------------------------------ periods


def test_periods_are_days_iso_weeks_months_and_quarters() -> None:
    day = dt.date(2026, 11, 20)  # a Friday
    assert period_start("daily", day) == day
    assert period_start("weekly", day) == dt.date(2026, 11, 16)
    assert period_end("weekly", dt.date(2026, 11, 16)) == dt.date(2026, 11, 22)
    assert period_start("monthly", day) == dt.date(2026, 11, 1) and period_end("monthly", day.replace(day=1)) == \
        dt.date(2026, 11, 30)
    assert period_start("quarterly", day) == dt.date(2026, 10, 1)
    assert period_end("quarterly", dt.date(2026, 10, 1)) == dt.date(2026, 12, 31)
    assert period_index("monthly", dt.date(2027, 1, 3)) - period_index("monthly", day) == 2
    assert period_index("weekly", dt.date(2026, 11, 23)) - period_index("weekly", day) == 1


# ------------------------------------------------------------------------------------------ plans


def test_a_community_worker_creates_and_edits_a_plan_on_the_web(cast: Cast) -> None:
    client = logged_in(cast.alice)
    page = client.get("/patrol/plans/new/")
    assert page.status_code == 200 and "消防通道" in page.content.decode()
    r = client.post("/patrol/plans/new/", {"name": "每月重点巡访", "area": cast.grid1.pk, "frequency": "monthly",
                                           "patroller": cast.gina.pk, "checklist": "消防通道\n楼道堆物\n\n独居老人",
                                           "starts_on": "2026-01-01"})
    plan = PatrolPlan.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/patrol/plans/{plan.pk}/"
    assert plan.checklist == ["消防通道", "楼道堆物", "独居老人"] and plan.patroller == cast.gina
    assert plan.area_path == cast.grid1.path
    assert AuditEntry.objects.filter(action="patrol.patrol_plan.create", object_id=str(plan.pk)).exists()
    # Every error names its field.
    r = client.post("/patrol/plans/new/", {"name": "空清单", "area": cast.grid1.pk, "frequency": "daily",
                                           "checklist": "   \n"})
    assert r.status_code == 200 and 'id="error-checklist"' in r.content.decode()
    r = client.post("/patrol/plans/new/", {"name": "外人", "area": cast.grid1.pk, "frequency": "daily",
                                           "checklist": "消防通道", "patroller": cast.charlie.pk})
    assert 'id="error-patroller"' in r.content.decode()
    r = client.post(f"/patrol/plans/{plan.pk}/edit/", {"name": "每月重点巡访", "patroller": "",
                                                       "checklist": "消防通道\n矛盾纠纷", "reason": "调整清单"})
    assert r.status_code == 302
    plan.refresh_from_db()
    assert plan.checklist == ["消防通道", "矛盾纠纷"] and plan.patroller is None
    assert "矛盾纠纷" in client.get(f"/patrol/plans/{plan.pk}/").content.decode()
    assert f'href="/patrol/plans/{plan.pk}/"' in client.get("/patrol/plans/").content.decode()
    assert "每月重点巡访" in logged_in(cast.stan).get("/patrol/").content.decode()  # officials see the plans
    # An outsider does not see the plan; a resident has no patrol pages.
    assert logged_in(cast.charlie).get(f"/patrol/plans/{plan.pk}/").status_code == 404
    assert logged_in(cast.bob).get("/patrol/").status_code == 404
    # A street official sees plans but may not edit them.
    assert logged_in(cast.stan).get(f"/patrol/plans/{plan.pk}/edit/").status_code == 404
    with pytest.raises(Forbidden):
        services.plan_update(actor=cast.stan, plan=plan, name="x", checklist=["y"])


def test_each_round_keeps_its_own_copy_of_the_checklist(cast: Cast) -> None:
    plan = daily_plan(cast)
    rnd = services.round_start(actor=cast.gina, plan=plan)
    services.plan_update(actor=cast.alice, plan=plan, name=plan.name, checklist=["全新事项"])
    assert [c.label for c in selectors.round_checks(rnd)] == ["消防通道", "楼道堆物", "独居老人"]
    with pytest.raises(Conflict):  # one round per period
        services.round_start(actor=cast.gina, plan=plan)


def test_due_rounds_come_from_the_schedule(cast: Cast) -> None:
    today = timezone.localdate()
    plan = daily_plan(cast, starts_on=today - dt.timedelta(days=4))
    for back in (4, 2):
        rnd = services.round_start(actor=cast.gina, plan=plan, today=today - dt.timedelta(days=back))
        PatrolCheck.objects.filter(round=rnd).update(status="ok")
        services.round_close(actor=cast.gina, round=rnd)
    services.round_start(actor=cast.gina, plan=plan, today=today - dt.timedelta(days=1))
    view = selectors.plan_views([plan], today)[0]
    assert [p.status for p in view.periods] == ["due", "open", "done", "missed", "done"]
    assert view.periods[0].start == today
    body = logged_in(cast.gina).get("/patrol/").content.decode()
    assert "每天常态巡访" in body and "开始巡查" in body and "未巡查" in body
    # A plan that names its patroller is hers alone.
    named = daily_plan(cast, name="指定巡查", patroller=cast.gina)
    assert named in selectors.my_plans(cast.gina) and named not in selectors.my_plans(cast.alice)
    with pytest.raises(Forbidden):
        services.round_start(actor=cast.alice, plan=named)
    # An ended plan asks for nothing more.
    services.plan_end(actor=cast.alice, plan=named)
    with pytest.raises(Conflict):
        services.round_start(actor=cast.gina, plan=named, today=today + dt.timedelta(days=1))


# ------------------------------------------------------------------------------------------ the round on the web


def test_a_grid_worker_walks_a_round_and_turns_problems_into_cases(cast: Cast, pipeline, media) -> None:
    plan = daily_plan(cast)
    bob_person = Person.objects.get(name="鲍勃")
    client = logged_in(cast.gina)
    r = client.post(f"/patrol/plans/{plan.pk}/start/")
    rnd = PatrolRound.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/patrol/rounds/{rnd.pk}/"
    assert rnd.patroller == cast.gina and rnd.period_start == timezone.localdate()
    checks = {c.label: c for c in rnd.checks.all()}
    page = client.get(f"/patrol/rounds/{rnd.pk}/").content.decode()
    assert "消防通道" in page and "已检查 0/3" in page

    # 正常; 有问题 without a note is refused on the note field; with a note and a photo it is kept.
    assert client.post(f"/patrol/checks/{checks['消防通道'].pk}/",
                       {f"c{checks['消防通道'].pk}-status": "ok"}).status_code == 302
    c = checks["楼道堆物"]
    r = client.post(f"/patrol/checks/{c.pk}/", {f"c{c.pk}-status": "problem", f"c{c.pk}-note": ""})
    assert r.status_code == 400 and f'id="error-c{c.pk}-note"' in r.content.decode()
    r = client.post(f"/patrol/checks/{c.pk}/", {f"c{c.pk}-status": "problem", f"c{c.pk}-note": "x",
                                                f"c{c.pk}-photo": SimpleUploadedFile("a.gif", b"GIF89a...")})
    assert r.status_code == 400 and f'id="error-c{c.pk}-photo"' in r.content.decode()
    r = client.post(f"/patrol/checks/{c.pk}/", {f"c{c.pk}-status": "problem",
                                                f"c{c.pk}-note": "3单元楼道堆放纸箱和旧家具",
                                                f"c{c.pk}-photo": SimpleUploadedFile("a.png", png())})
    assert r.status_code == 302
    c.refresh_from_db()
    assert c.status == "problem" and c.photo and c.photo_type == "image/png"
    assert client.get(f"/patrol/checks/{c.pk}/photo/")["Content-Type"] == "image/png"
    assert logged_in(cast.charlie).get(f"/patrol/checks/{c.pk}/photo/").status_code == 404

    # One step: the problem becomes a case (网格巡查, at the round's grid, the note as its description).
    r = client.post(f"/patrol/checks/{c.pk}/case/")
    assert r.status_code == 302
    c.refresh_from_db()
    case = Case.objects.get(pk=c.case_id)
    assert case.channel == Channel.GRID_PATROL and case.area == cast.grid1
    assert case.description == "3单元楼道堆放纸箱和旧家具" and "楼道堆物" in case.title
    assert CasePhoto.objects.filter(case=case).count() == 1
    assert case.number in client.get(f"/patrol/rounds/{rnd.pk}/").content.decode()
    client.post(f"/patrol/checks/{c.pk}/case/")  # a second press opens nothing more
    assert Case.objects.count() == 1

    # Household visits: a resident on the register, a door of a building; errors name their field.
    r = client.post(f"/patrol/rounds/{rnd.pk}/visits/", {"visit-building": cast.building.pk, "visit-door": "",
                                                         "visit-visited_on": timezone.localdate().isoformat()})
    assert r.status_code == 400 and 'id="error-visit-door"' in r.content.decode()
    r = client.post(f"/patrol/rounds/{rnd.pk}/visits/", {
        "visit-person": bob_person.pk, "visit-visited_on": timezone.localdate().isoformat(),
        "visit-note": "卫生间漏水到楼下，需要协调", "visit-problem_found": "on"})
    assert r.status_code == 302
    assert client.post(f"/patrol/rounds/{rnd.pk}/visits/", {
        "visit-building": cast.building.pk, "visit-door": "302",
        "visit-visited_on": timezone.localdate().isoformat(), "visit-note": "一切正常"}).status_code == 302
    visit = HouseholdVisit.objects.get(person=bob_person)
    assert visit.household_key == f"p{bob_person.pk}"
    assert HouseholdVisit.objects.get(door="302").household_key == f"b{cast.building.pk}:302"
    r = client.post(f"/patrol/visits/{visit.pk}/case/")
    visit.refresh_from_db()
    case2 = Case.objects.get(pk=visit.case_id)
    assert case2.channel == Channel.VISIT and case2.reporter == bob_person and case2.area == cast.building
    # The resident sees the case reported for her.
    assert logged_in(cast.bob).get(f"/cases/{case2.pk}/").status_code == 200

    # Closing needs every item ticked.
    r = client.post(f"/patrol/rounds/{rnd.pk}/close/", {"close-summary": "巡查完毕"})
    assert r.status_code == 400 and "独居老人" in r.content.decode() and 'id="error-checks"' in r.content.decode()
    d = checks["独居老人"]
    client.post(f"/patrol/checks/{d.pk}/", {f"c{d.pk}-status": "ok"})
    r = client.post(f"/patrol/rounds/{rnd.pk}/close/", {"close-summary": "巡查完毕"})
    assert r.status_code == 302
    rnd.refresh_from_db()
    assert rnd.state == "closed" and rnd.summary == "巡查完毕"
    with pytest.raises(Conflict):
        services.check_record(actor=cast.gina, check=d, status="problem", note="改")
    actions = set(AuditEntry.objects.filter(action__startswith="patrol.").values_list("action", flat=True))
    assert actions >= {"patrol.patrol_round.begin", "patrol.patrol_check.tick", "patrol.patrol_check.to_case",
                       "patrol.household_visit.create", "patrol.household_visit.to_case",
                       "patrol.patrol_round.finish"}
    # Someone else's round is read-only to her colleague, invisible to an outsider.
    colleague = logged_in(cast.alice).get(f"/patrol/rounds/{rnd.pk}/").content.decode()
    assert "巡查完毕" in colleague and 'class="check-form"' not in colleague
    assert logged_in(cast.charlie).get(f"/patrol/rounds/{rnd.pk}/").status_code == 404


def test_only_the_patroller_records_and_households_stay_in_the_round_area(cast: Cast) -> None:
    plan = daily_plan(cast)
    rnd = services.round_start(actor=cast.gina, plan=plan)
    check = rnd.checks.first()
    assert check is not None
    with pytest.raises(Forbidden):
        services.check_record(actor=cast.alice, check=check, status="ok")
    other_compound = registry.area_create(actor=None, parent=cast.grid2, name="白鹭小区", code="99010100100100201",
                                          kind="compound")
    stranger = registry.person_create(actor=None, area=other_compound, name="邻网格居民")
    with pytest.raises(InvalidInput) as err:
        services.visit_record(actor=cast.gina, round=rnd, person=stranger)
    assert "person" in err.value.fields
    with pytest.raises(InvalidInput) as err:
        services.visit_record(actor=cast.gina, round=rnd, building=cast.building, door="1",
                              visited_on=timezone.localdate() + dt.timedelta(days=1))
    assert "visited_on" in err.value.fields
    with pytest.raises(InvalidInput) as err:
        services.visit_record(actor=cast.gina, round=rnd)
    assert "person" in err.value.fields
    with pytest.raises(InvalidInput) as err:
        services.check_to_case(actor=cast.gina, check=check)  # still unticked
    assert "status" in err.value.fields


# ------------------------------------------------------------------------------------------ the API


def test_the_round_through_the_api(cast: Cast, pipeline, media) -> None:
    import base64

    alice, gina, charlie = Api(cast.alice), Api(cast.gina), Api(cast.charlie)
    r = alice.post("/patrol/plans", {"area_id": cast.grid1.pk, "name": "每周巡查", "frequency": "weekly",
                                     "checklist": ["消防通道", "矛盾纠纷"], "patroller_id": cast.gina.pk})
    assert r.status_code == 201, r.content
    plan_id = r.json()["id"]
    assert Api(cast.stan).post("/patrol/plans", {"area_id": cast.grid1.pk, "name": "x", "frequency": "daily",
                                                 "checklist": ["a"]}).status_code == 403
    bad = alice.post("/patrol/plans", {"area_id": cast.building.pk, "name": "x", "frequency": "daily",
                                       "checklist": ["a"]})
    assert bad.status_code == 400 and "area" in bad.json()["error"]["fields"]
    assert charlie.get(f"/patrol/plans/{plan_id}").status_code == 404
    due = gina.get("/patrol/due").json()
    assert due[0]["id"] == plan_id and due[0]["periods"][0]["status"] == "due"

    r = gina.post(f"/patrol/plans/{plan_id}/rounds")
    assert r.status_code == 201
    rnd = r.json()
    assert [c["label"] for c in rnd["checks"]] == ["消防通道", "矛盾纠纷"]
    assert gina.post(f"/patrol/plans/{plan_id}/rounds").status_code == 409
    first, second = rnd["checks"]
    assert gina.post(f"/patrol/checks/{first['id']}", {"status": "ok"}).json()["status"] == "ok"
    r = gina.post(f"/patrol/checks/{second['id']}", {"status": "problem", "note": "邻里噪音纠纷",
                                                     "photo": base64.b64encode(png()).decode()})
    assert r.status_code == 200 and r.json()["has_photo"]
    r = gina.post(f"/patrol/checks/{second['id']}/case")
    assert r.status_code == 201 and r.json()["case"]["channel"] == "patrol"
    assert gina.post(f"/patrol/checks/{second['id']}/case").status_code == 409
    bob_person = Person.objects.get(name="鲍勃")
    r = gina.post(f"/patrol/rounds/{rnd['id']}/visits", {"person_id": bob_person.pk, "note": "正常"})
    assert r.status_code == 201 and r.json()["household"] == "鲍勃"
    assert gina.post(f"/patrol/visits/{r.json()['id']}/case").status_code == 400  # no problem found
    assert charlie.get(f"/patrol/rounds/{rnd['id']}").status_code == 404
    r = gina.post(f"/patrol/rounds/{rnd['id']}/close", {"summary": "完成"})
    assert r.status_code == 200 and r.json()["state"] == "closed"
    assert gina.get("/patrol/due").json()[0]["periods"][0]["status"] == "done"
    assert alice.get(f"/patrol/rounds?area_id={cast.community.pk}").json()["items"][0]["id"] == rnd["id"]
    r = alice.put(f"/patrol/plans/{plan_id}", {"name": "每周巡查", "checklist": ["消防通道"], "patroller_id": None})
    assert r.status_code == 200 and r.json()["checklist"] == ["消防通道"] and r.json()["patroller"] is None
    assert alice.get(f"/patrol/rounds/{rnd['id']}").json()["checks"][1]["label"] == "矛盾纠纷"
    figures = alice.get(f"/patrol/figures?area_id={cast.community.pk}").json()
    grid1 = next(g for g in figures["grids"] if g["area"]["id"] == cast.grid1.pk)
    assert grid1["households_visited"] == 1 and grid1["rounds_done"] == 1 and grid1["problems"] == 1
    assert grid1["cases"] == 1 and grid1["rounds_due"] == 1
    assert alice.post(f"/patrol/plans/{plan_id}/end").json()["ended_on"] is not None


# ------------------------------------------------------------------------------------------ figures


def _walk(cast: Cast, plan: PatrolPlan, day: dt.date, people: list[Person]) -> PatrolRound:
    actor = plan.patroller or cast.alice
    rnd = services.round_start(actor=actor, plan=plan, today=day)
    for c in rnd.checks.all():
        services.check_record(actor=actor, check=c, status="ok")
    for p in people:
        services.visit_record(actor=actor, round=rnd, person=p, visited_on=day)
    services.round_close(actor=actor, round=rnd)
    return rnd


def test_figures_share_of_households_visited_and_rounds_done_against_due(cast: Cast) -> None:
    today = timezone.localdate()
    start = today - dt.timedelta(days=9)
    plan = daily_plan(cast, starts_on=start, checklist=["消防通道"])
    people = [registry.person_create(actor=None, area=cast.building, name=f"住户{i}") for i in range(4)]
    _walk(cast, plan, start, people[:3])
    _walk(cast, plan, start + dt.timedelta(days=1), people[1:])  # two of them again: four distinct households
    monthly = services.plan_create(actor=cast.alice, area=cast.grid2, name="每月重点巡访", frequency="monthly",
                                   checklist=["消防通道"], starts_on=start)
    f = selectors.figures(cast.alice, cast.community, start, today)
    g1 = next(g for g in f.grids if g.area == cast.grid1)
    g2 = next(g for g in f.grids if g.area == cast.grid2)
    assert (g1.households, g1.visited, g1.visits, g1.visit_rate) == (400, 4, 6, 1.0)
    assert (g1.rounds_due, g1.rounds_done, g1.missed) == (10, 2, 8)
    expected_months = period_index("monthly", today) - period_index("monthly", start) + 1
    assert (g2.rounds_due, g2.rounds_done) == (expected_months, 0)
    assert f.total is not None and f.total.visited == 4 and f.total.households == 820
    assert selectors.figures(cast.charlie, cast.community2, start, today).grids[0].visited == 0
    assert monthly.pk
    with pytest.raises(InvalidInput) as err:
        selectors.figures(cast.alice, cast.community, today, start)
    assert "end" in err.value.fields
    # The page: KPIs, the table per grid and the two ECharts options.
    body = logged_in(cast.alice).get(f"/patrol/figures/?area={cast.community.pk}&start={start}&end={today}") \
        .content.decode()
    assert 'id="grid-figures"' in body and 'data-chart="chart-visits"' in body and 'id="chart-rounds"' in body
    assert "碧海社区第1网格" in body
    r = logged_in(cast.alice).get(f"/patrol/figures/?area={cast.community.pk}&start={today}&end={start}")
    assert r.status_code == 200 and 'id="error-end"' in r.content.decode()
    r = logged_in(cast.alice).get(f"/patrol/figures/?area={cast.community.pk}&start=2026-13-01")
    assert r.status_code == 200 and 'id="error-start"' in r.content.decode()


def test_figures_run_the_same_queries_for_2_and_20_grids(cast: Cast, django_assert_max_num_queries) -> None:
    today = timezone.localdate()
    start = today - dt.timedelta(days=30)

    def grid_with_a_round(i: int) -> None:
        grid = registry.area_create(actor=None, parent=cast.community3, name=f"桥东第{i}网格",
                                    code=f"99010100200100{i:02d}", kind=AreaKind.GRID, households=300)
        building = registry.area_create(actor=None, parent=grid, name=f"{i}号楼", code=f"99010100200100{i:02d}01",
                                        kind=AreaKind.BUILDING, households=30)
        worker = accounts.user_create(actor=None, username=f"w{i}", password=cast.password)
        accounts.grant_role(actor=None, user=worker, role="grid_worker", area=grid)
        person = registry.person_create(actor=None, area=building, name=f"居民{i}")
        plan = services.plan_create(actor=None, area=grid, name="每周巡查", frequency="weekly",
                                    checklist=["消防通道"], patroller=worker, starts_on=start)
        _walk(cast, plan, today, [person])

    for i in range(2):
        grid_with_a_round(i)
    admin_client = logged_in(cast.admin)
    url = f"/patrol/figures/?area={cast.community3.pk}"
    admin_client.get(url)
    with django_assert_max_num_queries(20) as few:
        selectors.figures(cast.admin, cast.community3, start, today)
    with django_assert_max_num_queries(40) as page_few:
        admin_client.get(url)
    for i in range(2, 20):
        grid_with_a_round(i)
    with django_assert_max_num_queries(len(few.captured_queries)):
        f = selectors.figures(cast.admin, cast.community3, start, today)
    assert len(f.grids) == 20 and all(g.visited == 1 and g.rounds_done == 1 for g in f.grids)
    with django_assert_max_num_queries(len(page_few.captured_queries)):
        body = admin_client.get(url).content.decode()
    assert body.count("桥东第") >= 20
    api = Api(cast.admin)
    assert len(api.get(f"/patrol/figures?area_id={cast.community3.pk}").json()["grids"]) == 20


def test_the_due_rounds_page_runs_a_bounded_number_of_queries(cast: Cast, django_assert_max_num_queries) -> None:
    client = logged_in(cast.gina)
    daily_plan(cast, patroller=cast.gina)
    client.get("/patrol/")
    with django_assert_max_num_queries(30) as few:
        client.get("/patrol/")
    for i in range(12):
        plan = daily_plan(cast, name=f"计划{i}", patroller=cast.gina)
        services.round_start(actor=cast.gina, plan=plan)
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get("/patrol/").content.decode()
    assert body.count("计划") >= 12


def test_the_demo_loads_plans_rounds_and_visits(cast: Cast) -> None:
    grid = accounts.user_create(actor=None, username="grid", password=cast.password)
    accounts.grant_role(actor=None, user=grid, role="grid_worker", area=cast.grid1)
    community = accounts.user_create(actor=None, username="community", password=cast.password)
    accounts.grant_role(actor=None, user=community, role="community_worker", area=cast.community)
    for i in range(6):
        registry.person_create(actor=None, area=cast.building, name=f"演示居民{i}")
    today = timezone.localdate()
    counts = demo.load(size="small", seed=7, today=today, progress=lambda step, frac: None)
    assert counts["patrol_plans"] == PatrolPlan.objects.count() > 0
    assert counts["patrol_rounds"] == PatrolRound.objects.count() > 0 and HouseholdVisit.objects.exists()
    daily = PatrolPlan.objects.get(frequency="daily")
    assert daily.patroller == grid and daily in selectors.my_plans(grid)
    assert selectors.plan_views([daily], today)[0].periods[0].status == "due"  # today's round is hers to start
    f = selectors.figures(community, cast.community, today - dt.timedelta(days=90), today)
    assert sum(g.rounds_done for g in f.grids) > 0
