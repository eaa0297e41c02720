"""Co-building projects through the real actions: the four lists opened from a council decision or a need, claims
from the pool with their limits (and two claims racing for one 实事), progress with photos, acceptance and ratings,
deliveries with volunteers' hours, and the 双报到 feedback to a member's own party branch. Scope: residents see only
public projects; a unit sees its own and its district's pool."""

from __future__ import annotations

import datetime as dt
import io
import json
import struct
import threading
import zlib
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from openpyxl import load_workbook

from gongzhi.accounts import services as accounts
from gongzhi.cobuild.models import Claim, ListType, Need, Participation, Project, load_default_list_types
from gongzhi.cobuild.selectors import projects as sel
from gongzhi.cobuild.services import projects as svc
from gongzhi.cobuild.workflow import ClaimState, NeedState, ProjectState
from gongzhi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from gongzhi.core.models import AuditEntry
from gongzhi.councils import services as councils
from gongzhi.councils.models import load_default_kinds
from gongzhi.registry import services as registry
from gongzhi.registry.models import Person, Sector
from tests.cast import Cast

TZ = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2026, 11, 20)  # a Friday


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes([40, 120, 40] * 4) for _ in range(4))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class Api:
    def __init__(self, user: Any) -> None:
        _token, key = accounts.token_create(actor=None, user=user, name="test")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def get(self, url: str) -> Any:
        return self.client.get(f"/api/v1{url}")

    def post(self, url: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(f"/api/v1{url}", json.dumps(body or {}, default=str), content_type="application/json")


@pytest.fixture(autouse=True)
def _types(db) -> None:
    load_default_list_types()
    load_default_kinds()


@pytest.fixture
def media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def build_world(cast: Cast) -> dict[str, Any]:
    """A unit of the district with its handler (hank) and its 机关 party branch; 王芳, an in-service member of that
    branch registered (双报到) with 碧海社区, with an account; a unit of the other district (outsider)."""
    unit = registry.unit_create(actor=None, area=cast.district, name="中山区卫生健康局",
                                credit_code="11210200MB00000010", sector=Sector.ORGAN)
    hank = accounts.user_create(actor=None, username="hank", password=cast.password)
    accounts.grant_role(actor=None, user=hank, role="unit_handler", unit=unit)
    far = registry.unit_create(actor=None, area=cast.district2, name="长安区文旅局", credit_code="11210200MB00000023",
                               sector=Sector.ORGAN)
    fred = accounts.user_create(actor=None, username="fred", password=cast.password)
    accounts.grant_role(actor=None, user=fred, role="unit_handler", unit=far)
    branch = registry.party_org_create(actor=None, area=cast.district, name="区卫健局机关党支部", level="branch",
                                       unit=unit)
    wang = accounts.user_create(actor=None, username="wang", password=cast.password)
    accounts.grant_role(actor=None, user=wang, role="resident", area=cast.community)
    person = registry.person_create(actor=None, area=cast.compound, name="王芳", user=wang)
    member = registry.party_member_register(actor=None, person=person, organisation=branch, work_unit=unit,
                                            in_service=True)
    registry.dual_register(actor=None, community=cast.community, party_member=member, registered_on=TODAY)
    return {"unit": unit, "hank": hank, "far": far, "fred": fred, "branch": branch, "wang": wang, "wang_p": person,
            "member": member}


@pytest.fixture
def world(cast: Cast) -> dict[str, Any]:
    return build_world(cast)


def livelihood() -> ListType:
    return ListType.objects.get(code="livelihood")


def open_project(cast: Cast, **kw: Any) -> Project:
    data: dict[str, Any] = dict(actor=cast.alice, area=cast.community, list_type=livelihood(),
                                title="为海鸥花园加装扶手", task="1号楼至5号楼楼道加装扶手",
                                standard="每栋楼每层装好并验收",
                                target_value=Decimal("5"), target_measure="栋", starts_on=TODAY, limit_days=5)
    data.update(kw)
    return svc.project_open(**data)


def decided_item(cast: Cast) -> Any:
    council = councils.council_create(actor=cast.alice, area=cast.community, name="碧海社区议事会",
                                      kind="homeland", cadence="monthly")
    item = councils.item_propose(actor=cast.alice, council=council, title="老楼加装扶手",
                                 description="老人上下楼困难")
    meeting = councils.meeting_schedule(actor=cast.alice, council=council, place="党群服务中心",
                                        scheduled_for=dt.datetime.combine(TODAY, dt.time(14, 30), tzinfo=TZ))
    item = councils.item_step(actor=cast.alice, item=item, step="schedule", meeting=meeting)
    return councils.item_step(actor=cast.alice, item=item, step="decide", decision="由卫健局牵头加装扶手",
                              responsible="区卫健局", deadline=TODAY + dt.timedelta(days=30))


# ---------------------------------------------------------------------------------------------- the four lists


def test_the_deadline_is_counted_in_working_days_and_the_four_lists_are_kept(cast: Cast, world) -> None:
    p = open_project(cast, lead_unit=world["unit"], units=[world["far"]], person_in_charge=world["wang_p"])
    assert p.due_on == dt.date(2026, 11, 27)  # Fri + 5 working days (the weekend not counted)
    assert p.state == ProjectState.OPEN and p.area_path == cast.community.path
    assert list(p.units.all()) == [world["far"]] and p.lead_unit == world["unit"]
    entry = AuditEntry.objects.get(action="cobuild.project.create")
    assert entry.after["title"] == "为海鸥花园加装扶手"
    given = open_project(cast, limit_days=0, due_on=dt.date(2026, 12, 31))
    assert given.due_on == dt.date(2026, 12, 31)
    with pytest.raises(InvalidInput) as exc:
        open_project(cast, limit_days=0)
    assert "limit_days" in exc.value.fields
    with pytest.raises(InvalidInput) as exc:
        open_project(cast, target_measure="")
    assert "target_measure" in exc.value.fields
    with pytest.raises(Forbidden):
        open_project(cast, actor=cast.charlie)
    with pytest.raises(Forbidden):
        open_project(cast, actor=world["hank"])


def test_a_council_decision_opens_a_project_and_an_undecided_item_does_not(cast: Cast, world) -> None:
    item = decided_item(cast)
    p = open_project(cast, agenda_item=item)
    assert p.agenda_item == item
    fresh = councils.item_propose(actor=cast.alice, council=item.council, title="另一议题", description="未决议")
    with pytest.raises(InvalidInput) as exc:
        open_project(cast, agenda_item=fresh)
    assert "agenda_item" in exc.value.fields


def test_the_council_item_page_offers_the_project_and_then_links_to_it(cast: Cast, world, client) -> None:
    item = decided_item(cast)
    client.force_login(cast.alice)
    page = client.get(f"/councils/items/{item.pk}/").content.decode()
    assert f"/cobuild/projects/from-item/{item.pk}/" in page
    p = open_project(cast, agenda_item=item)
    page = client.get(f"/councils/items/{item.pk}/").content.decode()
    assert f"/cobuild/projects/{p.pk}/" in page
    client.force_login(cast.charlie)  # not hers: the item is a 404 to begin with
    assert client.get(f"/councils/items/{item.pk}/").status_code == 404


def test_a_project_from_a_need_delivers_it_and_acceptance_meets_it(cast: Cast, world, media) -> None:
    need = Need.objects.create(area=cast.community, area_path=cast.community.path, kind="elderly", title="老人助浴")
    p = open_project(cast, need=need)
    assert Need.objects.get(pk=need.pk).state == NeedState.IN_DELIVERY
    claim = svc.claim_create(actor=world["hank"], project=p, unit=world["unit"], pledge="三个月内完成")
    p = Project.objects.get(pk=p.pk)
    assert p.state == ProjectState.IN_PROGRESS and p.claims_active == 1
    p = svc.project_step(actor=world["hank"], project=p, name="report", text="已装好3栋", progress=60,
                         achieved_value=3, photos=[("a.png", png())])
    assert p.progress == 60 and p.achieved_value == Decimal("3.00")
    report = p.reports.get()
    assert report.photos.count() == 1
    assert AuditEntry.objects.filter(action="cobuild.project.report").exists()
    p = svc.project_step(actor=world["hank"], project=p, name="deliver")
    with pytest.raises(Forbidden):
        svc.project_step(actor=world["hank"], project=p, name="accept")
    with pytest.raises(InvalidInput) as exc:
        svc.project_step(actor=cast.alice, project=p, name="refuse")
    assert "reason" in exc.value.fields
    p = svc.project_step(actor=cast.alice, project=p, name="refuse", reason="5号楼未装")
    assert p.state == ProjectState.IN_PROGRESS and p.acceptance_note == "5号楼未装"
    p = svc.project_step(actor=world["hank"], project=p, name="deliver")
    p = svc.project_step(actor=cast.alice, project=p, name="accept", note="全部完成")
    assert p.state == ProjectState.ACCEPTED and p.accepted_at is not None and p.claims_active == 0
    assert Need.objects.get(pk=need.pk).state == NeedState.MET
    assert Claim.objects.get(pk=claim.pk).state == ClaimState.DONE
    with pytest.raises(Conflict):  # a stale version
        svc.project_step(actor=cast.alice, project=p, name="cancel", reason="x", expected_version=1)


def test_residents_rate_an_accepted_public_project_once(cast: Cast, world) -> None:
    p = open_project(cast)
    with pytest.raises(Conflict):
        svc.project_rate(actor=cast.bob, project=p, score=5)
    p = svc.project_step(actor=cast.alice, project=p, name="start")
    p = svc.project_step(actor=cast.alice, project=p, name="deliver")
    p = svc.project_step(actor=cast.alice, project=p, name="accept")
    with pytest.raises(InvalidInput) as exc:
        svc.project_rate(actor=cast.bob, project=p, score=6)
    assert "score" in exc.value.fields
    with pytest.raises(Forbidden):  # no person behind the account
        svc.project_rate(actor=cast.charlie, project=p, score=5)
    svc.project_rate(actor=cast.bob, project=p, score=4, comment="扶手很结实")
    svc.project_rate(actor=world["wang"], project=p, score=5)
    with pytest.raises(Conflict):
        svc.project_rate(actor=cast.bob, project=p, score=1)
    p = Project.objects.get(pk=p.pk)
    assert (p.rating_count, p.rating_total, p.rating) == (2, 9, 4.5)


def test_milestones_are_added_and_marked_done(cast: Cast, world) -> None:
    p = open_project(cast, lead_unit=world["unit"])
    m = svc.milestone_add(actor=world["hank"], project=p, title="采购扶手", due_on=TODAY + dt.timedelta(days=3))
    with pytest.raises(Forbidden):
        svc.milestone_add(actor=world["fred"], project=p, title="x", due_on=TODAY)
    m = svc.milestone_done(actor=cast.alice, milestone=m, done_on=TODAY)
    assert m.done_on == TODAY
    with pytest.raises(Conflict):
        svc.milestone_done(actor=cast.alice, milestone=m, done_on=TODAY)


def test_overdue_projects_are_computed_and_filtered(cast: Cast, world) -> None:
    late = open_project(cast, starts_on=TODAY - dt.timedelta(days=30), limit_days=5)
    on_time = open_project(cast, title="另一个")
    assert sel.is_overdue(late, TODAY) and not sel.is_overdue(on_time, TODAY)
    assert list(sel.projects(cast.alice, overdue=True, today=TODAY)) == [late]


# ---------------------------------------------------------------------------------------------- claiming


def test_claims_respect_the_limit_withdrawal_returns_to_the_pool(cast: Cast, world) -> None:
    p = open_project(cast)
    assert p in sel.pool(world["hank"])
    assert p not in sel.pool(world["fred"])  # another district's unit
    with pytest.raises(Forbidden):
        svc.claim_create(actor=world["fred"], project=p, unit=world["far"])
    with pytest.raises(Forbidden):
        svc.claim_create(actor=world["hank"], project=p, unit=world["far"])  # not her unit
    claim = svc.claim_create(actor=world["hank"], project=p, unit=world["unit"])
    assert p not in sel.pool(world["hank"])  # full
    with pytest.raises(Conflict):
        svc.claim_create(actor=world["wang"], project=Project.objects.get(pk=p.pk))
    with pytest.raises(InvalidInput) as exc:
        svc.claim_withdraw(actor=world["hank"], claim=claim, reason="")
    assert "reason" in exc.value.fields
    with pytest.raises(Forbidden):
        svc.claim_withdraw(actor=world["wang"], claim=claim, reason="不是我的")
    svc.claim_withdraw(actor=world["hank"], claim=claim, reason="人手不足")
    p = Project.objects.get(pk=p.pk)
    assert p.state == ProjectState.OPEN and p.claims_active == 0
    assert AuditEntry.objects.filter(action="cobuild.project.release").exists()
    assert p in sel.pool(world["wang"])


def test_party_members_and_volunteers_claim_as_themselves_with_their_identity_shown(cast: Cast, world) -> None:
    projects = [open_project(cast, title=f"小实事{i}", list_type=ListType.objects.get(code="micro"), claim_limit=2)
                for i in range(4)]
    with pytest.raises(Forbidden):  # a resident who is neither a party member nor a volunteer
        svc.claim_create(actor=cast.bob, project=projects[0])
    svc.claim_create(actor=world["wang"], project=projects[0], pledge="每周六上午到岗")
    with pytest.raises(Conflict):  # the same person twice
        svc.claim_create(actor=world["wang"], project=Project.objects.get(pk=projects[0].pk))
    assert Project.objects.get(pk=projects[0].pk).claims_active == 1  # the failed second claim gave nothing away
    for p in projects[1:3]:
        svc.claim_create(actor=world["wang"], project=p)
    with pytest.raises(InvalidInput):
        svc.claim_create(actor=world["wang"], project=projects[3])
    ident = sel.identities(projects[0])[0]
    assert (ident.who, ident.as_what, ident.organisation, ident.registered) == (
        "王芳", "在职党员", "区卫健局机关党支部", ["碧海社区"])
    assert ident.claim.pledge == "每周六上午到岗"
    registry.staff_post_assign(actor=None, person=Person.objects.get(name="鲍勃"), kind="volunteer",
                               area=cast.community)
    claim = svc.claim_create(actor=cast.bob, project=projects[0])
    assert sel.identities(projects[0])[1].as_what == "志愿者"
    assert Project.objects.get(pk=projects[0].pk).claims_active == 2
    assert [c.pk for c in sel.my_claims(cast.bob)] == [claim.pk]


@pytest.mark.django_db(transaction=True)
def test_two_claims_of_one_project_exactly_one_wins() -> None:
    from tests.cast import build_cast

    load_default_list_types()
    cast = build_cast()
    w = build_world(cast)
    other = accounts.user_create(actor=None, username="hank2", password=cast.password)
    accounts.grant_role(actor=None, user=other, role="unit_handler", unit=w["far"])
    # Both units may claim in 碧海社区: the second is moved into the district for this race.
    second = registry.unit_create(actor=None, area=cast.street, name="新华街道卫生院", credit_code="12210200MB00000033",
                                  sector=Sector.ORGAN)
    accounts.grant_role(actor=None, user=other, role="unit_handler", unit=second)
    p = open_project(cast)
    results: list[str] = []
    barrier = threading.Barrier(2)

    def claim(user: Any, unit: Any) -> None:
        copy = Project.objects.select_related("list_type").get(pk=p.pk)
        barrier.wait()
        try:
            svc.claim_create(actor=user, project=copy, unit=unit)
            results.append("ok")
        except Conflict:
            results.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(w["hank"], w["unit"])),
               threading.Thread(target=claim, args=(other, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict", "ok"]
    p = Project.objects.get(pk=p.pk)
    assert p.claims_active == 1 and p.state == ProjectState.IN_PROGRESS
    assert Claim.objects.filter(project=p, state=ClaimState.ACTIVE).count() == 1

    # With two places both claims stand, even though only one of them can be the one that starts the project.
    two = open_project(cast, title="楼道照明改造", claim_limit=2)
    results.clear()
    barrier = threading.Barrier(2)

    def claim_two(user: Any, unit: Any) -> None:
        copy = Project.objects.select_related("list_type").get(pk=two.pk)
        barrier.wait()
        try:
            svc.claim_create(actor=user, project=copy, unit=unit)
            results.append("ok")
        except Conflict as exc:
            results.append(f"conflict: {exc.message}")
        finally:
            connection.close()

    threads = [threading.Thread(target=claim_two, args=(w["hank"], w["unit"])),
               threading.Thread(target=claim_two, args=(other, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["ok", "ok"]
    two = Project.objects.get(pk=two.pk)
    assert two.claims_active == 2 and two.state == ProjectState.IN_PROGRESS
    assert AuditEntry.objects.filter(action="cobuild.project.claim", object_id=str(two.pk)).count() == 1


# ---------------------------------------------------------------------------------------------- scope


def test_residents_see_only_public_projects_units_their_own_and_their_districts_pool(cast: Cast, world) -> None:
    public = open_project(cast)
    hidden = open_project(cast, title="内部台账整理", public=False, list_type=ListType.objects.get(code="routine"))
    other = open_project(cast, actor=cast.charlie, area=cast.community2, title="港北社区实事")
    led = open_project(cast, title="牵头项目", lead_unit=world["unit"], public=False,
                       list_type=ListType.objects.get(code="key"))
    bob = set(sel.projects(cast.bob))
    assert public in bob and hidden not in bob and other not in bob
    assert {public, hidden, led} <= set(sel.projects(cast.alice)) and other not in set(sel.projects(cast.alice))
    hank = set(sel.projects(world["hank"]))
    assert led in hank and public in hank  # its own, and its district's
    assert not set(sel.projects(world["fred"])) & {public, hidden, led}
    with pytest.raises(NotFound):
        sel.project_get(cast.bob, hidden.pk)


def test_project_lists_take_a_bounded_number_of_queries(cast: Cast, world, django_assert_max_num_queries) -> None:
    for i in range(12):
        open_project(cast, title=f"项目{i}", lead_unit=world["unit"], person_in_charge=world["wang_p"])
    api = Api(cast.alice)
    api.get("/cobuild/projects?limit=1")  # the first request fills the token and scope caches
    with django_assert_max_num_queries(6):
        r = api.get("/cobuild/projects?limit=50")
    assert r.status_code == 200 and len(r.json()["items"]) == 12
    client = Client()
    client.force_login(cast.alice)
    client.get("/cobuild/projects/")
    with django_assert_max_num_queries(16):
        r = client.get("/cobuild/projects/")
    assert r.status_code == 200 and "项目11" in r.content.decode()


# ---------------------------------------------------------------------------------------------- deliveries and hours


def test_deliveries_count_volunteer_hours_and_feed_back_to_the_members_branch(cast: Cast, world, media) -> None:
    p = open_project(cast)
    svc.claim_create(actor=world["wang"], project=p, pledge="带队服务")
    bob_p = Person.objects.get(name="鲍勃")
    d = svc.delivery_record(actor=world["wang"], area=cast.compound, kind="elderly", title="楼道扶手安装",
                            delivered_on=TODAY, beneficiaries=60, project=p,
                            participants=[(world["wang_p"], "3.5"), (bob_p, 2)], photos=[("x.png", png())])
    assert d.hours == Decimal("5.5") and d.photos.count() == 1
    assert Participation.objects.get(delivery=d, person=world["wang_p"]).area_path == cast.compound.path
    # Outside her registration community: counted in her hours, not in the 双报到 feedback.
    svc.delivery_record(actor=world["hank"], area=cast.community3, kind="medical", title="义诊", unit=world["unit"],
                        delivered_on=TODAY, participants=[(world["wang_p"], 2)])
    with pytest.raises(Forbidden):
        svc.delivery_record(actor=cast.bob, area=cast.community, kind="elderly", title="x", delivered_on=TODAY)
    with pytest.raises(InvalidInput) as exc:
        svc.delivery_record(actor=cast.alice, area=cast.community, kind="elderly", title="x",
                            delivered_on=TODAY + dt.timedelta(days=400))
    assert "delivered_on" in exc.value.fields
    with pytest.raises(InvalidInput) as exc:
        svc.delivery_record(actor=cast.alice, area=cast.community, kind="elderly", title="x", delivered_on=TODAY,
                            participants=[(bob_p, 30)])
    assert "participants[0].hours" in exc.value.fields
    mine = sel.my_hours(world["wang"])
    assert (mine["hours"], mine["times"]) == (Decimal("5.5"), 2)
    org, rows = sel.feedback(world["hank"], world["branch"].pk)
    assert org == world["branch"]
    assert [(r.name, r.times, r.hours, r.what, r.communities) for r in rows] == [
        ("王芳", 1, Decimal("3.5"), ["楼道扶手安装"], ["碧海社区"])]
    with pytest.raises(NotFound):
        sel.feedback(world["fred"], world["branch"].pk)
    with pytest.raises(NotFound):  # a resident does not read a branch's feedback
        sel.feedback(cast.bob, world["branch"].pk)
    people = {r["person__name"]: r["hours"] for r in sel.hours_per_person(cast.alice)}
    assert people == {"王芳": Decimal("3.5"), "鲍勃": Decimal("2")}
    units = {r["unit__name"]: r["hours"] for r in sel.hours_per_unit(world["hank"])}
    assert units == {"中山区卫生健康局": Decimal("2")}


def test_teams_collect_members_and_their_deliveries(cast: Cast, world) -> None:
    team = svc.team_create(actor=world["hank"], name="卫健局志愿服务队", area=cast.district, unit=world["unit"])
    svc.team_add_member(actor=world["hank"], team=team, person=world["wang_p"])
    with pytest.raises(InvalidInput):
        svc.team_add_member(actor=world["hank"], team=team, person=world["wang_p"])
    with pytest.raises(Forbidden):
        svc.team_create(actor=world["fred"], name="x", area=cast.district, unit=world["unit"])
    svc.delivery_record(actor=world["hank"], area=cast.community, kind="medical", title="义诊", team=team,
                        delivered_on=TODAY, hours=6, participants=[(world["wang_p"], 3)])
    teams = sel.hours_per_team(world["hank"])
    assert [(t["team__name"], t["hours"], t["times"]) for t in teams] == [("卫健局志愿服务队", Decimal("6"), 1)]


# ---------------------------------------------------------------------------------------------- API and pages


def test_the_api_opens_claims_steps_and_records(cast: Cast, world, media) -> None:
    item = decided_item(cast)
    alice, hank, bob, wang = Api(cast.alice), Api(world["hank"]), Api(cast.bob), Api(world["wang"])
    body = {"area_id": cast.community.pk, "list_type": "livelihood", "title": "加装扶手", "task": "装扶手",
            "standard": "装好5栋", "target_value": "5", "target_measure": "栋", "starts_on": "2026-11-20",
            "limit_days": 5, "lead_unit_id": world["unit"].pk, "agenda_item_id": item.pk}
    r = alice.post("/cobuild/projects", {**body, "title": "   "})
    assert r.status_code == 400 and "title" in json.dumps(r.json(), ensure_ascii=False)
    r = alice.post("/cobuild/projects", {**body, "list_type": "nope"})
    assert r.status_code == 400
    r = alice.post("/cobuild/projects", body)
    assert r.status_code == 201, r.content
    pid = r.json()["id"]
    assert r.json()["due_on"] == "2026-11-27" and r.json()["agenda_item_id"] == item.pk
    assert hank.get("/cobuild/pool").json()["items"][0]["id"] == pid
    r = hank.post(f"/cobuild/projects/{pid}/claims", {"unit_id": world["unit"].pk, "pledge": "一个月内完成"})
    assert r.status_code == 201, r.content
    cid = r.json()["id"]
    assert [c["id"] for c in hank.get("/cobuild/claims/mine").json()] == [cid]
    r = wang.post(f"/cobuild/projects/{pid}/claims", {})
    assert r.status_code == 409
    import base64

    r = hank.post(f"/cobuild/projects/{pid}/step", {"name": "report", "text": "已完成一半", "progress": 50,
                                                    "photos": [base64.b64encode(png()).decode()]})
    assert r.status_code == 200, r.content
    assert r.json()["reports"][0]["photos"]
    r = hank.post("/cobuild/deliveries", {"area_id": cast.community.pk, "kind": "facilities", "title": "安装扶手",
                                          "delivered_on": "2026-11-20", "project_id": pid, "unit_id": world["unit"].pk,
                                          "participants": [{"person_id": world["wang_p"].pk, "hours": "4"}]})
    assert r.status_code == 201, r.content
    assert hank.post(f"/cobuild/projects/{pid}/step", {"name": "deliver"}).status_code == 200
    assert hank.post(f"/cobuild/projects/{pid}/step", {"name": "accept"}).status_code == 403
    r = alice.post(f"/cobuild/projects/{pid}/step", {"name": "accept", "note": "合格"})
    assert r.status_code == 200 and r.json()["state"] == "accepted"
    r = bob.post(f"/cobuild/projects/{pid}/rate", {"score": 5})
    assert r.status_code == 201 and r.json()["rating_count"] == 1
    assert bob.post(f"/cobuild/projects/{pid}/rate", {"score": 9}).status_code in (400, 422)
    assert bob.post(f"/cobuild/projects/{pid}/rate", {"score": 4}).status_code == 409
    hours = wang.get("/cobuild/hours").json()
    assert (Decimal(str(hours["mine"]["hours"])), hours["mine"]["times"]) == (Decimal("4"), 1)
    fb = hank.get(f"/cobuild/feedback/{world['branch'].pk}").json()
    assert fb["members"][0]["name"] == "王芳" and fb["members"][0]["times"] == 1
    assert bob.get(f"/cobuild/feedback/{world['branch'].pk}").status_code == 404
    assert len(alice.get("/cobuild/deliveries").json()["items"]) == 1
    r = alice.post(f"/cobuild/projects/{pid}/milestones", {"title": "x", "due_on": "2026-12-01"})
    assert r.status_code == 409
    r = hank.post("/cobuild/teams", {"name": "卫健局志愿服务队", "area_id": cast.district.pk,
                                     "unit_id": world["unit"].pk})
    assert r.status_code == 201, r.content
    r = hank.post(f"/cobuild/teams/{r.json()['id']}/members", {"person_id": world["wang_p"].pk})
    assert r.status_code == 200 and r.json()["members"] == [world["wang_p"].pk]  # her unit's party member
    r = hank.post(f"/cobuild/teams/{r.json()['id']}/members", {"person_id": Person.objects.get(name="鲍勃").pk})
    assert r.status_code == 400 and "person_id" in json.dumps(r.json())  # a resident the unit does not know
    other = alice.post("/cobuild/projects", {**body, "agenda_item_id": None, "title": "节点测试"}).json()["id"]
    m = alice.post(f"/cobuild/projects/{other}/milestones", {"title": "采购", "due_on": "2026-11-25"})
    assert m.status_code == 201
    done = alice.post(f"/cobuild/milestones/{m.json()['id']}/done", {"done_on": "2026-11-20"})
    assert done.status_code == 200 and done.json()["done_on"] == "2026-11-20"
    assert Api(world["fred"]).post(f"/cobuild/milestones/{m.json()['id']}/done", {}).status_code == 404


def test_photos_are_served_only_to_those_who_may_read_the_project(cast: Cast, world, media) -> None:
    p = open_project(cast)
    p = svc.project_step(actor=cast.alice, project=p, name="start")
    p = svc.project_step(actor=cast.alice, project=p, name="report", text="进展", progress=10,
                         photos=[("a.png", png())])
    photo = p.reports.get().photos.get()
    for user, status in ((cast.bob, 200), (cast.alice, 200), (cast.charlie, 404), (world["fred"], 404)):
        client = Client()
        client.force_login(user)
        assert client.get(f"/cobuild/project-photos/{photo.pk}/").status_code == status, user


def test_the_pages_open_claim_and_export_the_feedback(cast: Cast, world, media) -> None:
    item = decided_item(cast)
    client = Client()
    client.force_login(cast.alice)
    r = client.get(f"/cobuild/projects/new/?agenda_item={item.pk}")
    assert r.status_code == 200 and "老楼加装扶手" in r.content.decode()
    page = r.content.decode()
    for heading in ("任务清单", "责任清单", "标准清单", "时限清单"):
        assert heading in page
    r = client.post(f"/cobuild/projects/new/?agenda_item={item.pk}", {
        "list_type": livelihood().pk, "area": cast.community.pk, "title": "老楼加装扶手", "task": "装扶手",
        "standard": "装好", "starts_on": "2026-11-20", "limit_days": "5", "public": "on", "claim_limit": "1",
        "agenda_item": item.pk})
    assert r.status_code == 302, r.content.decode()[:3000]
    p = Project.objects.get(title="老楼加装扶手")
    assert p.agenda_item == item
    hank = Client()
    hank.force_login(world["hank"])
    assert "老楼加装扶手" in hank.get("/cobuild/pool/").content.decode()
    bob = Client()
    bob.force_login(cast.bob)
    page = bob.get("/cobuild/pool/").content.decode()  # a resident who is neither member nor volunteer
    assert "老楼加装扶手" in page and 'id="claim-who"' in page and "我来认领" not in page
    r = hank.post(f"/cobuild/projects/{p.pk}/claim/", {"unit": world["unit"].pk, "pledge": "两周完成"})
    assert r.status_code == 302
    assert Project.objects.get(pk=p.pk).state == ProjectState.IN_PROGRESS
    assert "两周完成" in hank.get(f"/cobuild/projects/{p.pk}/").content.decode()
    svc.delivery_record(actor=world["hank"], area=cast.community, kind="facilities", title="安装扶手",
                        delivered_on=TODAY, unit=world["unit"], project=p, participants=[(world["wang_p"], 3)])
    r = hank.get(f"/cobuild/feedback/?org={world['branch'].pk}")
    assert r.status_code == 200 and "王芳" in r.content.decode()
    r = hank.get(f"/cobuild/feedback/?org={world['branch'].pk}&format=xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(b"".join(r.streaming_content) if hasattr(r, "streaming_content")
                                  else r.content)).active
    values = [[c for c in row] for row in ws.iter_rows(values_only=True)]
    assert any(row and "王芳" in [str(v) for v in row] for row in values)
    wang = Client()
    wang.force_login(world["wang"])
    assert "3.0" in wang.get("/cobuild/hours/").content.decode()


def test_the_demo_builds_a_year_of_projects_claims_and_deliveries(cast: Cast, world) -> None:
    import random

    from gongzhi.cobuild import demo, demo_projects
    from gongzhi.registry.models import MemberUnit

    areas = demo._areas()
    assert areas is not None
    units = list(MemberUnit.objects.select_related("area"))
    people = list(Person.objects.select_related("area"))
    counts = demo_projects.load(areas=areas, units=units, people=people, today=TODAY, rng=random.Random(7))
    assert counts["cobuild_projects"] == len(demo_projects.PROJECTS) * len(areas.focus)
    assert counts["cobuild_deliveries"] >= demo_projects.DELIVERIES_PER_COMMUNITY * len(areas.focus)
    assert Project.objects.filter(state=ProjectState.ACCEPTED).count() == counts["cobuild_accepted"] > 0
    assert Claim.objects.count() == counts["cobuild_claims"] > 0
    assert AuditEntry.objects.filter(action="cobuild.delivery.create").count() == counts["cobuild_deliveries"]
    # 王芳 (registered with 碧海社区) volunteers there: her branch's feedback shows it.
    _org, rows = sel.feedback(world["hank"], world["branch"].pk, since=dt.date(2026, 1, 1))
    assert rows[0].times == Participation.objects.filter(person=world["wang_p"],
                                                         area_path__startswith=cast.community.path).count() > 0
    client = Client()
    client.force_login(cast.alice)
    for url in ("/cobuild/projects/", "/cobuild/pool/", "/cobuild/deliveries/", "/cobuild/hours/",
                "/cobuild/teams/", f"/cobuild/projects/{Project.objects.first().pk}/"):
        assert client.get(url).status_code == 200, url


def test_a_decided_council_item_becomes_a_community_need(cast: Cast, world, client) -> None:
    item = decided_item(cast)
    client.force_login(cast.alice)
    assert f"/cobuild/needs/new/?item={item.pk}" in client.get(f"/councils/items/{item.pk}/").content.decode()
    form = client.get(f"/cobuild/needs/new/?item={item.pk}").content.decode()
    assert "老楼加装扶手" in form and "由卫健局牵头加装扶手" in form
    made = client.post(f"/cobuild/needs/new/?item={item.pk}", {
        "kind": "facilities", "title": "老楼加装扶手", "description": "由卫健局牵头加装扶手", "area": cast.community.pk,
        "quantity": 1, "beneficiaries": 0, "urgency": "normal", "scale": ""})
    assert made.status_code == 302
    need = Need.objects.get(title="老楼加装扶手")
    assert need.agenda_item == item and need.source == "council"
    fresh = councils.item_propose(actor=cast.alice, council=item.council, title="未决议题", description="x")
    token = accounts.token_create(actor=None, user=cast.alice, name="t")[1]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    refused = api.post("/api/v1/cobuild/needs", json.dumps({
        "area_id": cast.community.pk, "kind": "facilities", "title": "未决", "agenda_item_id": fresh.pk}),
        content_type="application/json")
    assert refused.status_code == 400 and "agenda_item" in refused.json()["error"]["fields"]
