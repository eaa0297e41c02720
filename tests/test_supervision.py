"""督查考核 (E6) through the services, the pages and the API: 月述月评 (the secretary writes, the level above gives its
verdict or returns it, never her own; one report per organisation and month, also when two save at once; the
month's overview of who submitted and who is missing) and 交叉核查 (a team from another area of the same level, the
问题台账 with working-day deadlines and the overdue flag, 整改 filed by the responsible side and verified or sent back
by the inspecting side, counts per area, both ledgers in Excel). An outsider sees nothing: 404, not 403."""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from gongzhi.accounts import services as accounts
from gongzhi.accounts.models import RoleGrant
from gongzhi.core import workdays
from gongzhi.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from gongzhi.core.models import AuditEntry
from gongzhi.core.scope import forget_scope
from gongzhi.registry import services as registry
from gongzhi.registry.demo import credit_code
from gongzhi.registry.models import OrgLevel, PartyOrganisation, Sector
from gongzhi.supervision import selectors, services
from gongzhi.supervision.models import CrossCheck, Finding, MonthlyReport, Rectification
from gongzhi.supervision.workflow import FINDING, REPORT, FindingState, ReportState
from tests.cast import Cast, build_cast

THIS_MONTH = timezone.localdate().replace(day=1)


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


def user(cast: Cast, name: str, role: str, area: Any) -> Any:
    u = accounts.user_create(actor=None, username=name, password=cast.password)
    accounts.grant_role(actor=None, user=u, role=role, area=area)
    forget_scope()
    return u


class World:
    """The cast plus the party organisations of 新华街道 and its two communities, their secretaries (sue: 碧海,
    pat: 港北), a district official (dan) and an outsider (quinn: community worker of 桥东社区, 新城街道)."""

    def __init__(self, cast: Cast) -> None:
        self.cast = cast
        self.street_org = registry.party_org_create(actor=None, area=cast.street, name="中共新华街道工作委员会",
                                                    level=OrgLevel.WORKING_COMMITTEE)
        self.org = registry.party_org_create(actor=None, area=cast.community, name="中共碧海社区委员会",
                                             level=OrgLevel.COMMITTEE, parent=self.street_org)
        self.org2 = registry.party_org_create(actor=None, area=cast.community2, name="中共港北社区委员会",
                                              level=OrgLevel.COMMITTEE, parent=self.street_org)
        # Not expected to report monthly: a party group, and a unit's organisation.
        registry.party_org_create(actor=None, area=cast.community, name="1号楼党小组", level=OrgLevel.GROUP,
                                  parent=self.org)
        registry.party_org_create(actor=None, area=cast.community, name="某物业公司党支部", level=OrgLevel.BRANCH,
                                  sector=Sector.PROPERTY)
        self.sue = user(cast, "sue", "party_secretary", cast.community)
        self.pat = user(cast, "pat", "party_secretary", cast.community2)
        self.dan = user(cast, "dan", "district_official", cast.district)
        self.quinn = user(cast, "quinn", "community_worker", cast.community3)


@pytest.fixture
def world(cast: Cast) -> World:
    return World(cast)


def report(w: World, **kw: Any) -> MonthlyReport:
    return services.report_create(actor=kw.pop("actor", w.sue), organisation=kw.pop("organisation", w.org),
                                  month=kw.pop("month", THIS_MONTH), work_done=kw.pop("work_done", "召开党委会2次"),
                                  problems=kw.pop("problems", "网格党支部活动不规律"),
                                  next_plan=kw.pop("next_plan", "开展“三访民情”"), **kw)


def a_check(w: World, **kw: Any) -> CrossCheck:
    c = w.cast
    return services.check_create(actor=kw.pop("actor", c.stan), area=kw.pop("area", c.community),
                                 inspecting_area=kw.pop("inspecting_area", c.community2),
                                 checked_on=kw.pop("checked_on", timezone.localdate()),
                                 team=kw.pop("team", [c.charlie]), methods=kw.pop("methods", ["records", "site"]),
                                 summary=kw.pop("summary", "查阅台账资料、实地查看党群服务中心"), **kw)


def a_finding(w: World, check: CrossCheck, **kw: Any) -> Finding:
    return services.finding_add(actor=kw.pop("actor", w.cast.charlie), cross_check=check,
                                description=kw.pop("description", "党群服务中心未公示服务事项"),
                                category=kw.pop("category", "position"), place=kw.pop("place", "碧海社区党群服务中心"),
                                deadline_days=kw.pop("deadline_days", 5), **kw)


def fields(exc: DomainError) -> set[str]:
    return set(exc.fields)


# ------------------------------------------------------------------------------------------ the tables


def test_the_declared_tables_reach_every_state_and_refusals_need_reasons() -> None:
    assert REPORT.reachable() == set(ReportState.values)
    assert FINDING.reachable() == set(FindingState.values)
    assert REPORT["return"].needs_reason and FINDING["send_back"].needs_reason
    assert not REPORT["review"].needs_reason
    assert REPORT["submit"].sources == {ReportState.DRAFT, ReportState.RETURNED}


# ------------------------------------------------------------------------------------------ 月述月评


def test_a_report_is_written_submitted_and_reviewed_one_level_up(world: World) -> None:
    c = world.cast
    r = report(world)
    assert (r.state, r.month, r.area_path) == (ReportState.DRAFT, THIS_MONTH, c.community.path)
    r = services.report_update(actor=world.sue, report=r, work_done="召开党委会3次", problems="", next_plan="走访")
    assert r.work_done == "召开党委会3次" and r.version == 2
    assert [t.name for t in services.report_steps(world.sue, r)] == ["submit"]
    assert services.report_steps(c.stan, r) == []  # a draft is not hers to review yet
    r = services.report_step(actor=world.sue, report=r, step="submit")
    assert r.state == ReportState.SUBMITTED and r.submitted_by == world.sue and r.submitted_at is not None
    with pytest.raises(InvalidInput) as e:
        services.report_update(actor=world.sue, report=r, work_done="改一下")
    assert fields(e.value) == {"state"}
    with pytest.raises(Forbidden):
        services.report_step(actor=world.sue, report=r, step="review", verdict="good")
    assert [t.name for t in services.report_steps(c.stan, r)] == ["review", "return"]
    r = services.report_step(actor=c.stan, report=r, step="review", verdict="fairly_good", note="工作扎实")
    assert (r.state, r.verdict, r.review_note, r.reviewed_by) == (ReportState.REVIEWED, "fairly_good", "工作扎实",
                                                                   c.stan)
    actions = list(AuditEntry.objects.filter(object_id=str(r.pk), action__startswith="supervision.report")
                   .order_by("pk").values_list("action", flat=True))
    assert actions == ["supervision.report.create", "supervision.report.update", "supervision.report.submit",
                       "supervision.report.review"]


def test_the_street_committee_is_reviewed_by_the_district_not_the_street(world: World) -> None:
    c = world.cast
    street_secretary = user(c, "sid", "party_secretary", c.street)
    r = report(world, actor=street_secretary, organisation=world.street_org, submit=True)
    assert r.state == ReportState.SUBMITTED
    with pytest.raises(Forbidden):
        services.report_step(actor=c.stan, report=r, step="review", verdict="good")
    assert r not in selectors.review_queue(c.stan)
    assert selectors.review_queue(world.dan) == [r]
    r = services.report_step(actor=world.dan, report=r, step="review", verdict="good")
    assert r.verdict == "good"


def test_nobody_reviews_a_report_she_wrote_or_submitted(world: World) -> None:
    c = world.cast
    accounts.grant_role(actor=None, user=c.stan, role="party_secretary", area=c.community)
    forget_scope()
    r = report(world, actor=c.stan, submit=True)
    assert selectors.review_queue(c.stan) == []
    assert services.report_steps(c.stan, r) == []
    with pytest.raises(Forbidden) as e:
        services.report_step(actor=c.stan, report=r, step="review", verdict="good")
    assert "本人" in e.value.message
    other = user(c, "stella", "street_official", c.street)
    assert services.report_step(actor=other, report=r, step="review", verdict="good").state == ReportState.REVIEWED


def test_verdicts_returns_and_wrong_steps_are_refused(world: World) -> None:
    c = world.cast
    r = report(world)
    with pytest.raises(Conflict):
        services.report_step(actor=c.stan, report=r, step="review", verdict="good")  # still a draft
    r = services.report_step(actor=world.sue, report=r, step="submit")
    with pytest.raises(InvalidInput) as e:
        services.report_step(actor=c.stan, report=r, step="review", verdict="")
    assert fields(e.value) == {"verdict"}
    with pytest.raises(InvalidInput) as e:
        services.report_step(actor=c.stan, report=r, step="review", verdict="poor")
    assert fields(e.value) == {"note"}
    with pytest.raises(InvalidInput) as e:
        services.report_step(actor=c.stan, report=r, step="return")
    assert fields(e.value) == {"reason"}
    with pytest.raises(InvalidInput) as e:
        services.report_step(actor=c.stan, report=r, step="archive")
    assert fields(e.value) == {"transition"}
    with pytest.raises(Conflict):
        services.report_step(actor=c.stan, report=r, step="return", reason="x", expected_version=r.version - 1)
    r = services.report_step(actor=c.stan, report=r, step="return", reason="问题分析不具体")
    assert (r.state, r.return_reason, r.returned_by) == (ReportState.RETURNED, "问题分析不具体", c.stan)
    r = services.report_update(actor=world.sue, report=r, work_done="召开党委会2次", problems="网格支部活动少：原因…")
    r = services.report_step(actor=world.sue, report=r, step="submit")
    r = services.report_step(actor=c.stan, report=r, step="review", verdict="poor", note="整改不到位")
    assert (r.state, r.verdict) == (ReportState.REVIEWED, "poor")
    with pytest.raises(Conflict):
        services.report_step(actor=world.sue, report=r, step="submit")
    assert MonthlyReport.objects.get().state == ReportState.REVIEWED


def test_reports_are_validated_and_one_per_organisation_and_month(world: World) -> None:
    nxt = (THIS_MONTH + dt.timedelta(days=32)).replace(day=1)
    for month, field in ((nxt, "month"), ("2026-13", "month"), ("去年", "month"),
                         (THIS_MONTH.replace(year=THIS_MONTH.year - 2), "month")):
        with pytest.raises(InvalidInput) as e:
            report(world, month=month)
        assert fields(e.value) == {field}, month
    with pytest.raises(InvalidInput) as e:
        report(world, work_done="  ")
    assert fields(e.value) == {"work_done"}
    with pytest.raises(InvalidInput) as e:
        report(world, problems="问" * 2001)
    assert fields(e.value) == {"problems"}
    with pytest.raises(Forbidden):
        report(world, actor=world.pat)  # 港北's secretary, not 碧海's
    with pytest.raises(Forbidden):
        report(world, actor=world.cast.alice)  # a community worker writes no report
    report(world, month=f"{THIS_MONTH:%Y-%m}")
    with pytest.raises(InvalidInput) as e:
        report(world)
    assert fields(e.value) == {"month"}
    assert MonthlyReport.objects.count() == 1
    assert AuditEntry.objects.filter(action="supervision.report.create").count() == 1


def _race(actors: list[Any], go: Any) -> list[str]:
    results: list[str] = [""] * len(actors)
    barrier = threading.Barrier(len(actors))

    def run(actor: Any, i: int) -> None:
        try:
            barrier.wait()
            go(actor)
            results[i] = "ok"
        except DomainError:
            results[i] = "refused"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(a, i)) for i, a in enumerate(actors)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(results)


@pytest.mark.django_db(transaction=True)
def test_two_secretaries_saving_the_same_month_at_once_make_one_report() -> None:
    w = World(build_cast())
    deputy = user(w.cast, "deb", "party_secretary", w.cast.community)
    assert _race([w.sue, deputy], lambda actor: report(w, actor=actor)) == ["ok", "refused"]
    assert MonthlyReport.objects.filter(organisation=w.org, month=THIS_MONTH).count() == 1
    assert AuditEntry.objects.filter(action="supervision.report.create").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_at_once_one_verdict() -> None:
    w = World(build_cast())
    other = user(w.cast, "stella", "street_official", w.cast.street)
    r = report(w, submit=True)
    assert _race([w.cast.stan, other], lambda actor: services.report_step(
        actor=actor, report=MonthlyReport.objects.get(pk=r.pk), step="review", verdict="good")) == ["ok", "refused"]
    assert AuditEntry.objects.filter(action="supervision.report.review").count() == 1


def test_the_month_of_an_area_shows_who_submitted_and_who_is_missing(world: World) -> None:
    c = world.cast
    r = report(world, submit=True)
    services.report_step(actor=c.stan, report=r, step="review", verdict="good")
    report(world, actor=world.pat, organisation=world.org2)  # a draft is still missing
    with CaptureQueriesContext(connection) as ctx:
        o = selectors.month_overview(c.stan, c.street, THIS_MONTH)
    assert len(ctx.captured_queries) <= 4
    assert [row.organisation.name for row in o.rows] == ["中共新华街道工作委员会", "中共碧海社区委员会",
                                                        "中共港北社区委员会"]
    assert (o.expected, o.submitted, o.reviewed, o.missing) == (3, 1, 1, 2)
    assert o.verdicts == {"good": 1, "fairly_good": 0, "average": 0, "poor": 0}
    last = (THIS_MONTH - dt.timedelta(days=1)).replace(day=1)
    assert selectors.month_overview(c.stan, c.street, last).submitted == 0
    assert selectors.month_overview(c.stan, c.community, THIS_MONTH).expected == 1


def test_an_outsider_sees_no_report(world: World) -> None:
    c = world.cast
    r = report(world, submit=True)
    with pytest.raises(NotFound):
        selectors.report_get(c.charlie, r.pk)
    assert list(selectors.reports(c.charlie)) == []
    assert selectors.month_overview(c.charlie, c.community2, THIS_MONTH).rows[0].report is None
    assert logged_in(c.charlie).get(f"/supervision/reports/{r.pk}/").status_code == 404
    assert Api(c.charlie).get(f"/supervision/reports/{r.pk}").status_code == 404
    assert logged_in(c.charlie).post(f"/supervision/reports/{r.pk}/step/", {
        "step": "review", "verdict": "good"}).status_code == 404
    assert MonthlyReport.objects.get().state == ReportState.SUBMITTED


# ------------------------------------------------------------------------------------------ 交叉核查


def test_a_check_needs_a_team_from_another_area_of_the_same_level(world: World) -> None:
    c = world.cast
    cases: list[tuple[dict[str, Any], str]] = [
             ({"inspecting_area": c.street2}, "inspecting_area"), ({"inspecting_area": c.community}, "inspecting_area"),
             ({"area": c.grid1, "inspecting_area": c.grid3}, "area"), ({"team": []}, "team"),
             ({"team": [c.alice]}, "team"), ({"team": [world.quinn]}, "team"), ({"methods": []}, "methods"),
             ({"methods": ["phone"]}, "methods"), ({"checked_on": timezone.localdate() + dt.timedelta(days=1)},
                                                   "checked_on")]
    for kw, field in cases:
        with pytest.raises(InvalidInput) as e:
            a_check(world, **kw)
        assert fields(e.value) == {field}, kw
    with pytest.raises(Forbidden):
        a_check(world, actor=c.alice)
    with pytest.raises(InvalidInput) as e:  # stan runs checks in his street only
        a_check(world, inspecting_area=c.community3, team=[world.quinn])
    assert fields(e.value) == {"inspecting_area"}
    assert CrossCheck.objects.count() == 0
    check = a_check(world)
    assert list(check.team.all()) == [c.charlie] and check.methods == ["records", "site"]
    assert AuditEntry.objects.filter(action="supervision.cross_check.create").count() == 1


def test_a_finding_is_rectified_sent_back_and_closed(world: World) -> None:
    c = world.cast
    check = a_check(world)
    before = timezone.now()
    f = a_finding(world, check)
    assert f.state == FindingState.OPEN and f.area == c.community and f.inspecting_path == c.community2.path
    assert workdays.add_workdays(before, 5) <= f.due_at <= workdays.add_workdays(timezone.now(), 5)
    with pytest.raises(Forbidden):
        a_finding(world, check, actor=c.alice)  # the inspected side files no findings on itself
    with pytest.raises(InvalidInput) as e:
        a_finding(world, check, area=c.community2)
    assert fields(e.value) == {"area"}
    with pytest.raises(InvalidInput) as e:
        a_finding(world, check, deadline_days=0)
    assert fields(e.value) == {"deadline_days"}
    assert [t.name for t in services.finding_steps(c.alice, f)] == ["rectify"]
    assert services.finding_steps(c.charlie, f) == []
    with pytest.raises(Conflict):
        services.finding_step(actor=c.charlie, finding=f, step="verify")
    with pytest.raises(Forbidden):
        services.finding_step(actor=c.charlie, finding=f, step="rectify", measures="x", completion_note="y")
    with pytest.raises(InvalidInput) as e:
        services.finding_step(actor=c.alice, finding=f, step="rectify", measures="已制作公示牌")
    assert fields(e.value) == {"completion_note"}
    f = services.finding_step(actor=c.alice, finding=f, step="rectify", measures="制作服务事项公示牌",
                              completion_note="已上墙公示")
    assert (f.state, f.rounds) == (FindingState.RECTIFIED, 1)
    assert Rectification.objects.get().outcome == "pending"
    with pytest.raises(Forbidden):
        services.finding_step(actor=c.alice, finding=f, step="verify")
    with pytest.raises(InvalidInput) as e:
        services.finding_step(actor=c.charlie, finding=f, step="send_back")
    assert fields(e.value) == {"reason"}
    f = services.finding_step(actor=c.charlie, finding=f, step="send_back", reason="公示内容不全")
    assert f.state == FindingState.RETURNED
    first = Rectification.objects.get()
    assert (first.outcome, first.verify_note, first.verified_by) == ("sent_back", "公示内容不全", c.charlie)
    f = services.finding_step(actor=c.alice, finding=f, step="rectify", measures="补齐15项服务事项",
                              completion_note="已重新公示")
    assert [t.name for t in services.finding_steps(c.stan, f)] == ["verify", "send_back"]  # the organiser too
    f = services.finding_step(actor=c.charlie, finding=f, step="verify", note="现场核实已整改")
    assert (f.state, f.rounds) == (FindingState.CLOSED, 2) and f.closed_at is not None and not f.is_overdue()
    assert list(Rectification.objects.order_by("pk").values_list("outcome", flat=True)) == ["sent_back", "accepted"]
    assert list(AuditEntry.objects.filter(action__startswith="supervision.finding").order_by("pk")
                .values_list("action", flat=True)) == [
        "supervision.finding.create", "supervision.finding.rectify", "supervision.finding.send_back",
        "supervision.finding.rectify", "supervision.finding.verify"]


def test_nobody_verifies_her_own_rectification(world: World) -> None:
    c = world.cast
    f = a_finding(world, a_check(world))
    accounts.grant_role(actor=None, user=c.stan, role="community_worker", area=c.community)  # both sides at once
    forget_scope()
    c.stan = type(c.stan).objects.get(pk=c.stan.pk)
    f = services.finding_step(actor=c.stan, finding=f, step="rectify", measures="x", completion_note="y")
    assert "verify" not in [t.name for t in services.finding_steps(c.stan, f)]
    with pytest.raises(Forbidden):
        services.finding_step(actor=c.stan, finding=f, step="verify")
    assert services.finding_step(actor=c.charlie, finding=f, step="verify").state == FindingState.CLOSED


def test_a_team_member_whose_roles_there_are_revoked_is_no_inspector_any_more(world: World) -> None:
    c = world.cast
    check = a_check(world)
    f = a_finding(world, check)
    f = services.finding_step(actor=c.alice, finding=f, step="rectify", measures="x", completion_note="y")
    assert [x.pk for x in selectors.to_verify(c.charlie)] == [f.pk]
    for grant in RoleGrant.objects.filter(user=c.charlie):
        accounts.revoke_role(actor=None, grant=grant, reason="调离")
    forget_scope()
    c.charlie = type(c.charlie).objects.get(pk=c.charlie.pk)
    assert selectors.to_verify(c.charlie) == []
    assert services.finding_steps(c.charlie, f) == []
    with pytest.raises(Forbidden):
        services.finding_step(actor=c.charlie, finding=f, step="verify")
    with pytest.raises(Forbidden):
        a_finding(world, check)
    assert [x.pk for x in selectors.to_verify(c.stan)] == [f.pk]  # the organiser still verifies it


def test_the_verify_queue_leaves_out_a_rectification_she_filed_herself(world: World) -> None:
    c = world.cast
    f = a_finding(world, a_check(world, team=[c.charlie]))
    accounts.grant_role(actor=None, user=c.charlie, role="community_worker", area=c.community)  # both sides
    forget_scope()
    c.charlie = type(c.charlie).objects.get(pk=c.charlie.pk)
    f = services.finding_step(actor=c.charlie, finding=f, step="rectify", measures="x", completion_note="y")
    assert selectors.to_verify(c.charlie) == []
    assert [x.pk for x in selectors.to_verify(c.stan)] == [f.pk]


def test_the_ledger_totals_count_every_child_however_many_are_listed(world: World, monkeypatch: Any) -> None:
    c = world.cast
    check = a_check(world, area=c.community2, inspecting_area=c.community, team=[c.alice])
    a_finding(world, check, actor=c.alice, place="港北社区")
    monkeypatch.setattr(selectors, "MAX_CHILDREN", 1)
    led = selectors.ledger_counts(c.stan, c.street)
    assert [r.area.name for r in led.rows] == ["港北社区"]  # the one with findings, before those without
    assert (led.total.total, led.total.open) == (1, 1)


def test_overdue_flags_and_counts_per_area(world: World) -> None:
    c = world.cast
    check = a_check(world)
    long_ago = timezone.now() - dt.timedelta(days=40)
    late = a_finding(world, check, deadline_days=2, now=long_ago, area=c.grid1)
    a_finding(world, check, deadline_days=10)
    on_time = a_finding(world, check, deadline_days=10, description="三会一课记录不全", category="records")
    services.finding_step(actor=c.alice, finding=on_time, step="rectify", measures="补记", completion_note="已补")
    services.finding_step(actor=c.charlie, finding=Finding.objects.get(pk=on_time.pk), step="verify")
    assert late.is_overdue() and not Finding.objects.get(pk=on_time.pk).is_overdue()
    assert [f.pk for f in selectors.findings(c.stan, overdue=True)] == [late.pk]
    assert selectors.findings(c.stan, state="open").count() == 2
    with CaptureQueriesContext(connection) as ctx:
        led = selectors.ledger_counts(c.stan, c.street)
    assert len(ctx.captured_queries) <= 3
    rows = {r.area.name: r for r in led.rows}
    here = rows["碧海社区"]
    assert (here.total, here.open, here.overdue, here.closed) == (3, 2, 1, 1)
    assert rows["港北社区"].total == 0
    assert (led.total.open, led.total.overdue, led.total.closed) == (2, 1, 1)
    inside = {r.area.name: r for r in selectors.ledger_counts(c.alice, c.community).rows}
    assert (inside["碧海社区第1网格"].overdue, inside["碧海社区"].own, inside["碧海社区"].total) == (1, True, 2)
    services.finding_step(actor=c.alice, finding=late, step="rectify", measures="补", completion_note="完")
    services.finding_step(actor=c.charlie, finding=Finding.objects.get(pk=late.pk), step="verify")
    assert selectors.ledger_counts(c.stan, c.street).total.closed_late == 1
    assert Finding.objects.get(pk=late.pk).is_overdue()  # closed after its deadline: 逾期整改


def test_both_sides_see_the_check_and_an_outsider_sees_nothing(world: World) -> None:
    c = world.cast
    check = a_check(world)
    f = a_finding(world, check)
    for viewer in (c.stan, c.alice, c.charlie, world.sue, world.dan):
        assert selectors.check_get(viewer, check.pk) == check
        assert selectors.finding_get(viewer, f.pk) == f
    assert selectors.findings(c.charlie).count() == 1  # a team of one: no duplicate rows
    for outsider in (world.quinn, c.gina):
        with pytest.raises(NotFound):
            selectors.check_get(outsider, check.pk)
        with pytest.raises(NotFound):
            selectors.finding_get(outsider, f.pk)
        assert selectors.findings(outsider).count() == 0 and selectors.rectifications(outsider).count() == 0
    client = logged_in(world.quinn)
    assert client.get(f"/supervision/checks/{check.pk}/").status_code == 404
    assert client.post(f"/supervision/findings/{f.pk}/step/", {"step": "verify"}).status_code == 404
    assert Api(world.quinn).get(f"/supervision/findings/{f.pk}").status_code == 404
    assert Finding.objects.get().state == FindingState.OPEN


def test_a_member_unit_responsible_for_a_finding_rectifies_it_through_the_api(world: World) -> None:
    c = world.cast
    unit = registry.unit_create(actor=None, area=c.community, name="海鸥物业服务有限公司",
                                credit_code="91350100M000100Y43", sector=Sector.PROPERTY)
    handler = accounts.user_create(actor=None, username="hank", password=c.password)
    accounts.grant_role(actor=None, user=handler, role="unit_handler", unit=unit)
    check = a_check(world)
    f = a_finding(world, check, unit=unit, description="小区党群活动室被物业占用", category="position")
    other = a_finding(world, check)
    page = logged_in(handler).get("/supervision/checks/")  # from the navigation: what waits for the unit
    assert page.status_code == 200 and "小区党群活动室被物业占用" in page.content.decode()
    assert "/supervision/checks/" in logged_in(handler).get("/").content.decode()
    assert logged_in(handler).get(f"/supervision/checks/{check.pk}/").status_code == 200
    api = Api(handler)
    items = api.get("/supervision/findings?queue=rectify").json()["items"]
    assert [i["id"] for i in items] == [f.pk] and items[0]["unit"]["name"] == "海鸥物业服务有限公司"
    assert api.get(f"/supervision/findings/{other.pk}").status_code == 404
    done = api.post(f"/supervision/findings/{f.pk}/steps", {"step": "rectify", "measures": "腾退活动室",
                                                            "completion_note": "已恢复使用"})
    assert done.status_code == 200 and done.json()["state"] == "rectified"
    with pytest.raises(InvalidInput) as e:  # a unit outside the inspected area answers for nothing there
        far = registry.unit_create(actor=None, area=c.community3, name="桥东某公司",
                                   credit_code=credit_code(random.Random(7), "990101"), sector=Sector.NON_PUBLIC)
        a_finding(world, check, unit=far)
    assert fields(e.value) == {"unit"}


def _body(resp: Any) -> bytes:
    return b"".join(resp.streaming_content)


def _sheet_rows(content: bytes) -> list[list[Any]]:
    ws = load_workbook(io.BytesIO(content)).active
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    return rows


def _table(rows: list[list[Any]], first: str) -> tuple[list[Any], list[list[Any]]]:
    header_at = next(i for i, r in enumerate(rows) if r and r[0] == first)
    return rows[header_at], rows[header_at + 1:]


def test_the_ledgers_export_to_excel_one_row_per_item(world: World) -> None:
    c = world.cast
    check = a_check(world)
    f1 = a_finding(world, check)
    f2 = a_finding(world, check, description="党员积分管理台账缺失", category="records", place="")
    services.finding_step(actor=c.alice, finding=f1, step="rectify", measures="制作公示牌", completion_note="已公示")
    services.finding_step(actor=c.charlie, finding=Finding.objects.get(pk=f1.pk), step="send_back", reason="不全")
    resp = logged_in(c.stan).get(f"/supervision/ledger/findings.xlsx?area={c.street.pk}")
    assert resp.status_code == 200
    assert "filename*=UTF-8''" in resp["Content-Disposition"]
    header, body = _table(_sheet_rows(_body(resp)), "问题编号")
    assert header[:8] == ["问题编号", "核查日期", "被核查区域", "核查组所在区域", "核查组成员", "核查方式", "问题描述",
                          "问题类别"]
    assert [r[0] for r in body] == [f"WT{f1.pk:06d}", f"WT{f2.pk:06d}"]
    row = dict(zip(header, body[0], strict=True))
    assert (row["被核查区域"], row["核查组所在区域"], row["核查组成员"], row["核查方式"]) == (
        "碧海社区", "港北社区", "charlie", "查阅资料、现场检查")
    assert (row["状态"], row["是否逾期"], row["整改时限（工作日）"], row["责任区域"]) == (
        "退回整改", "否", 5, "碧海社区")
    assert isinstance(row["核查日期"], dt.datetime) and isinstance(row["整改期限"], dt.datetime)

    api = Api(c.stan)
    resp = api.get(f"/supervision/ledger/rectifications.xlsx?area_id={c.street.pk}")
    assert resp.status_code == 200
    header, body = _table(_sheet_rows(_body(resp)), "问题编号")
    assert header == ["问题编号", "问题描述", "责任区域", "责任单位", "整改措施", "完成情况", "整改填报人", "提交时间",
                      "核验结果", "核验意见/退回理由", "核验人", "核验时间"]
    assert len(body) == 1
    assert body[0][4:7] == ["制作公示牌", "已公示", "alice"] and body[0][8:11] == ["退回整改", "不全", "charlie"]
    # An outsider's ledger of her own area has none of it; another's area is a 404.
    resp = logged_in(world.quinn).get("/supervision/ledger/findings.xlsx")
    _header, body = _table(_sheet_rows(_body(resp)), "问题编号")
    assert body == []
    assert logged_in(world.quinn).get(f"/supervision/ledger/findings.xlsx?area={c.street.pk}").status_code == 404
    assert logged_in(c.stan).get("/supervision/ledger/other.xlsx").status_code == 404


# ------------------------------------------------------------------------------------------ the API


def test_the_api_runs_both_flows_and_names_the_field_in_errors(world: World) -> None:
    c = world.cast
    sue, stan, charlie, alice = Api(world.sue), Api(c.stan), Api(c.charlie), Api(c.alice)
    month = f"{THIS_MONTH:%Y-%m}"
    r = sue.post("/supervision/reports", {"organisation_id": world.org.pk, "month": month, "work_done": "召开党委会"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["state"], body["month"], body["steps"]) == ("draft", month, ["submit"])
    again = sue.post("/supervision/reports", {"organisation_id": world.org.pk, "month": month, "work_done": "x"})
    assert again.status_code == 400 and set(again.json()["error"]["fields"]) == {"month"}
    bad = sue.post("/supervision/reports", {"organisation_id": world.org2.pk, "month": month, "work_done": "x"})
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"organisation_id"}  # not hers to see
    bad = alice.post("/supervision/reports", {"organisation_id": world.org.pk, "month": month, "work_done": "x"})
    assert bad.status_code == 403  # she sees it but is not its secretary
    assert sue.post("/supervision/reports", {"organisation_id": 999999, "month": month,
                                             "work_done": "x"}).json()["error"]["fields"].keys() == {"organisation_id"}
    rid = body["id"]
    r = sue.put(f"/supervision/reports/{rid}", {"work_done": "召开党委会2次", "version": body["version"]})
    assert r.status_code == 200 and r.json()["work_done"] == "召开党委会2次"
    stale = sue.put(f"/supervision/reports/{rid}", {"work_done": "x", "version": body["version"]})
    assert stale.status_code == 409
    assert sue.post(f"/supervision/reports/{rid}/steps", {"step": "submit"}).json()["state"] == "submitted"
    queue = stan.get("/supervision/reports?queue=true").json()["items"]
    assert [i["id"] for i in queue] == [rid] and queue[0]["steps"] == ["review", "return"]
    poor = stan.post(f"/supervision/reports/{rid}/steps", {"step": "review", "verdict": "poor"})
    assert poor.status_code == 400 and set(poor.json()["error"]["fields"]) == {"note"}
    done = stan.post(f"/supervision/reports/{rid}/steps", {"step": "review", "verdict": "good", "note": "好"}).json()
    assert (done["state"], done["verdict"], done["verdict_label"]) == ("reviewed", "good", "好")
    ov = stan.get(f"/supervision/reports/overview?area_id={c.street.pk}&month={month}").json()
    assert (ov["expected"], ov["submitted"], ov["missing"], ov["verdicts"]["good"]) == (3, 1, 2, 1)
    assert Api(c.charlie).get(f"/supervision/reports/{rid}").status_code == 404

    chk = stan.post("/supervision/checks", {
        "area_id": c.community.pk, "inspecting_area_id": c.community2.pk, "checked_on": str(timezone.localdate()),
        "team": [c.charlie.pk], "methods": ["survey"], "summary": "问卷调查50份"})
    assert chk.status_code == 201, chk.content
    check_id = chk.json()["id"]
    wrong = stan.post("/supervision/checks", {
        "area_id": c.community.pk, "inspecting_area_id": c.street2.pk, "checked_on": str(timezone.localdate()),
        "team": [c.charlie.pk], "methods": ["survey"]})
    assert wrong.status_code == 400 and set(wrong.json()["error"]["fields"]) == {"inspecting_area_id"}
    nf = charlie.post(f"/supervision/checks/{check_id}/findings", {
        "description": "居民知晓率低", "category": "service", "deadline_days": 3, "area_id": c.community2.pk})
    assert nf.status_code == 400 and set(nf.json()["error"]["fields"]) == {"area_id"}
    nf = charlie.post(f"/supervision/checks/{check_id}/findings", {
        "description": "居民知晓率低", "category": "service", "deadline_days": 3, "area_id": c.grid1.pk})
    assert nf.status_code == 201, nf.content
    fid = nf.json()["id"]
    assert (nf.json()["state"], nf.json()["overdue"], nf.json()["area"]["name"]) == ("open", False, "碧海社区第1网格")
    todo = alice.get("/supervision/findings?queue=rectify").json()["items"]
    assert [i["id"] for i in todo] == [fid] and todo[0]["steps"] == ["rectify"]
    miss = alice.post(f"/supervision/findings/{fid}/steps", {"step": "rectify", "measures": "入户宣传"})
    assert miss.status_code == 400 and set(miss.json()["error"]["fields"]) == {"completion_note"}
    assert alice.post(f"/supervision/findings/{fid}/steps", {
        "step": "rectify", "measures": "入户宣传", "completion_note": "走访120户"}).json()["state"] == "rectified"
    assert [i["id"] for i in charlie.get("/supervision/findings?queue=verify").json()["items"]] == [fid]
    assert charlie.post(f"/supervision/findings/{fid}/steps", {"step": "verify"}).json()["state"] == "closed"
    detail = stan.get(f"/supervision/findings/{fid}").json()
    assert [r["outcome"] for r in detail["rectifications"]] == ["accepted"]
    assert stan.get(f"/supervision/checks/{check_id}").json()["findings"][0]["id"] == fid
    led = stan.get(f"/supervision/ledger?area_id={c.street.pk}").json()
    assert (led["total"]["closed"], led["total"]["open"]) == (1, 0)
    assert {a["area"]["name"]: a["closed"] for a in led["areas"]}["碧海社区"] == 1
    assert Api(world.quinn).get(f"/supervision/ledger?area_id={c.street.pk}").status_code == 404
    assert Api(world.quinn).get("/supervision/findings").json()["items"] == []


# ------------------------------------------------------------------------------------------ pages


def test_the_pages_are_in_the_navigation_for_their_roles(world: World) -> None:
    c = world.cast
    for u in (world.sue, c.stan, c.alice):
        html = logged_in(u).get("/").content.decode()
        assert "/supervision/reports/" in html and "/supervision/checks/" in html
    assert "/supervision/" not in logged_in(c.bob).get("/").content.decode()
    assert logged_in(c.bob).get("/supervision/reports/").status_code == 404
    assert logged_in(c.bob).get("/supervision/checks/").status_code == 404


def test_the_pages_run_the_flows(world: World) -> None:
    c = world.cast
    sue, stan = logged_in(world.sue), logged_in(c.stan)
    page = sue.get("/supervision/reports/").content.decode()
    assert "填报述职" in page and "中共碧海社区委员会" in page
    r = sue.post("/supervision/reports/", {"organisation": world.org.pk, "month": f"{THIS_MONTH:%Y-%m}",
                                           "work_done": "", "submit": "1"})
    assert r.status_code == 400 and 'id="error-work_done"' in r.content.decode()
    r = sue.post("/supervision/reports/", {"organisation": world.org.pk, "month": f"{THIS_MONTH:%Y-%m}",
                                           "work_done": "召开党委会2次", "submit": "1"})
    report_ = MonthlyReport.objects.get()
    assert r.status_code == 302 and report_.state == ReportState.SUBMITTED
    page = stan.get(f"/supervision/reports/?area={c.street.pk}").content.decode()
    assert 'id="review-queue"' in page and "未填报" in page
    r = stan.post(f"/supervision/reports/{report_.pk}/step/", {"step": "review", "verdict": "poor",
                                                               "version": report_.version})
    assert MonthlyReport.objects.get().state == ReportState.SUBMITTED
    r = stan.post(f"/supervision/reports/{report_.pk}/step/", {"step": "review", "verdict": "average", "note": "一般",
                                                               "version": report_.version}, follow=True)
    assert "已评议" in r.content.decode() and MonthlyReport.objects.get().verdict == "average"
    page = stan.get(f"/supervision/reports/?area={c.street.pk}").content.decode()
    assert 'data-chart="chart-verdicts"' in page

    page = stan.get("/supervision/checks/").content.decode()
    assert "登记交叉核查" in page
    r = stan.post(f"/supervision/checks/?area={c.street.pk}", {
        "check-area": c.community.pk, "check-inspecting_area": c.community2.pk,
        "check-checked_on": timezone.localdate().isoformat(), "check-methods": ["records"],
        "check-team": [str(c.charlie.pk)], "check-summary": ""})
    assert r.status_code == 302, r.content.decode()[:2000]
    check = CrossCheck.objects.get()
    charlie = logged_in(c.charlie)
    r = charlie.post(f"/supervision/checks/{check.pk}/", {
        "finding-description": "党建阵地标识不统一", "finding-category": "position", "finding-place": "",
        "finding-area": "", "finding-unit": "", "finding-deadline_days": 5})
    assert r.status_code == 302
    f = Finding.objects.get()
    alice = logged_in(c.alice)
    assert f"finding-{f.pk}" in alice.get("/supervision/checks/").content.decode()
    alice.post(f"/supervision/findings/{f.pk}/step/", {"step": "rectify", "measures": "统一制作标识",
                                                       "completion_note": "已更换", "version": f.version})
    f.refresh_from_db()
    assert f.state == FindingState.RECTIFIED
    charlie.post(f"/supervision/findings/{f.pk}/step/", {"step": "verify", "version": f.version})
    assert Finding.objects.get().state == FindingState.CLOSED
    page = stan.get(f"/supervision/checks/?area={c.street.pk}").content.decode()
    assert 'id="ledger-counts"' in page and "碧海社区" in page


# ------------------------------------------------------------------------------------------ the demo


def test_the_demo_builds_months_of_reports_and_a_check_in_every_state(world: World) -> None:
    from gongzhi.supervision import demo

    c = world.cast
    secretary = user(c, "secretary", "party_secretary", c.community)
    street = user(c, "street", "street_official", c.street)
    user(c, "district", "district_official", c.district)
    user(c, "community", "community_worker", c.community)
    outsider = user(c, "community2", "community_worker", c.community3)
    counts = demo.load(size="small", seed=1, today=timezone.localdate(), progress=lambda *a: None)
    assert counts["monthly_reports"] >= 9 and counts["cross_checks"] == 1 and counts["findings"] == len(demo.FINDINGS)
    reports_ = list(MonthlyReport.objects.all())
    assert all(r.state in ReportState.values for r in reports_)
    assert all(bool(r.verdict) == (r.state == ReportState.REVIEWED) for r in reports_)
    assert all(r.review_note for r in reports_ if r.verdict == "poor")
    assert {r.month for r in reports_} >= {THIS_MONTH, (THIS_MONTH - dt.timedelta(days=1)).replace(day=1)}
    mine = MonthlyReport.objects.get(organisation=world.org, month=THIS_MONTH)
    assert mine.state == ReportState.DRAFT and mine.created_by == secretary
    assert [t.name for t in services.report_steps(secretary, mine)] == ["submit"]
    last = (THIS_MONTH - dt.timedelta(days=1)).replace(day=1)
    assert selectors.month_overview(street, c.street, last).missing == 0
    assert selectors.month_overview(street, c.street, THIS_MONTH).missing >= 1
    findings_ = list(Finding.objects.all())
    assert {f.state for f in findings_} == set(FindingState.values)
    assert any(f.is_overdue() for f in findings_ if f.state != FindingState.CLOSED)
    assert any(f.is_overdue() for f in findings_ if f.state == FindingState.CLOSED)
    for f in findings_:
        outcomes = list(f.rectifications.values_list("outcome", flat=True))
        assert outcomes == {"open": [], "rectified": ["pending"], "returned": ["sent_back"],
                            "closed": ["accepted"]}[f.state]
    assert selectors.findings(outsider).count() == len(demo.FINDINGS)  # the inspected side sees its ledger
    assert [t.name for t in services.finding_steps(outsider, findings_[0])] in (["rectify"], [])
    first = sorted(MonthlyReport.objects.values_list("organisation_id", "month", "state", "verdict"))
    Rectification.objects.all().delete()
    Finding.objects.all().delete()
    CrossCheck.objects.all().delete()
    MonthlyReport.objects.all().delete()
    demo.load(size="small", seed=1, today=timezone.localdate(), progress=lambda *a: None)
    assert sorted(MonthlyReport.objects.values_list("organisation_id", "month", "state", "verdict")) == first


def test_only_the_organisations_own_secretary_reports_and_only_those_expected_to(world: World) -> None:
    c = world.cast
    street_secretary = user(c, "stu", "party_secretary", c.street)
    with pytest.raises(Forbidden):  # the street's secretary does not write the community's report
        report(world, actor=street_secretary)
    group = PartyOrganisation.objects.get(name="1号楼党小组")
    with pytest.raises(InvalidInput) as e:  # a party group is not asked for a monthly report
        report(world, organisation=group)
    assert set(e.value.fields) == {"organisation"}
    mine = report(world, actor=street_secretary, organisation=world.street_org)
    assert mine.organisation == world.street_org
    assert "secretary" not in services.report_roles(street_secretary, report(world))


def test_a_residents_account_is_no_member_of_an_inspection_team(world: World) -> None:
    c = world.cast
    resident = user(c, "rosa", "resident", c.community2)
    with pytest.raises(InvalidInput) as e:
        a_check(world, team=[resident])
    assert set(e.value.fields) == {"team"}
    assert a_check(world, team=[c.charlie]).team.get() == c.charlie  # staff of the inspecting community


def test_the_findings_api_list_asks_a_fixed_number_of_queries_whatever_the_rows(world: World) -> None:
    c = world.cast
    check = a_check(world)
    api = Api(c.charlie)  # a team member: her inspector role comes from the team, not from a capability

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = api.get("/supervision/findings?state=all")
            assert response.status_code == 200
        return len(ctx.captured_queries)

    a_finding(world, check)
    queries()  # the token and the scope are cached after the first request
    one = queries()
    for i in range(5):
        a_finding(world, check, description=f"问题{i}")
    assert queries() == one
