"""The case pipeline through its real actions: the declared workflow, routing, deadlines, concurrency."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from gongzhi.accounts import services as accounts
from gongzhi.cases import services as cases
from gongzhi.cases.models import Case, CaseFollower, Category, Extension, Rating
from gongzhi.cases.workflow import TRANSITIONS, State
from gongzhi.core.errors import Conflict, Forbidden, InvalidInput
from gongzhi.core.models import AuditEntry
from gongzhi.notifications.models import Notification
from gongzhi.registry import services as registry
from gongzhi.registry.models import Person, Sector
from tests.cast import Cast

TZ = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)


def submit(cast: Cast, **kw) -> Case:
    return cases.case_submit(actor=cast.bob, title=kw.pop("title", "楼道堆放杂物"),
                             description=kw.pop("description", "3单元楼道堆满纸箱，存在消防隐患"),
                             area=kw.pop("area", cast.building), **kw)


def test_the_workflow_table_is_the_only_graph_and_every_state_is_reachable() -> None:
    reachable = {State.SUBMITTED} | {t.target for t in TRANSITIONS.values() if t.target is not None}
    assert reachable == set(State.values)
    assert all(t.sources for t in TRANSITIONS.values())
    # Actions that leave the state as it is (督办, 催办) are rows of the same table.
    assert {t.name for t in TRANSITIONS.values() if not t.moves} == {"supervise", "urge"}


def test_a_resident_report_travels_to_closed_with_a_full_record(cast: Cast, pipeline) -> None:
    case = submit(cast)
    assert case.state == State.SUBMITTED and case.reporter.name == "鲍勃" and case.area_path == cast.building.path
    case = cases.transition(actor=cast.alice, case=case, name="accept", category=pipeline["property"])
    assert case.level == "community" and case.owner_area == cast.community
    case = cases.transition(actor=cast.alice, case=case, name="dispatch")  # to the community's own team
    assert case.due_at is not None
    with pytest.raises(Forbidden):  # the community's own team handles it: community workers, not grid workers
        cases.transition(actor=cast.gina, case=case, name="start")
    case = cases.transition(actor=cast.alice, case=case, name="start")
    case = cases.transition(actor=cast.alice, case=case, name="handle", feedback="已清理楼道杂物", resolved=True)
    case = cases.transition(actor=cast.gina, case=case, name="verify")
    case = cases.rate(actor=cast.bob, case=case, rating=Rating.SATISFIED)
    assert case.state == State.CLOSED and case.closed_level == "community" and case.closed_on_time
    actions = list(AuditEntry.objects.filter(object_type="cases.case", object_id=str(case.pk))
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["cases.case.submit", "cases.case.accept", "cases.case.dispatch", "cases.case.start",
                       "cases.case.handle", "cases.case.verify", "cases.case.rate"]


def test_an_illegal_transition_is_a_conflict_and_changes_nothing(cast: Cast, pipeline) -> None:
    case = submit(cast)
    with pytest.raises(Conflict):
        cases.transition(actor=cast.alice, case=case, name="verify")
    case.refresh_from_db()
    assert case.state == State.SUBMITTED and case.version == 1


def test_a_stale_copy_cannot_overwrite_a_newer_state(cast: Cast, pipeline) -> None:
    case = submit(cast)
    first, second = Case.objects.get(pk=case.pk), Case.objects.get(pk=case.pk)
    cases.transition(actor=cast.alice, case=first, name="accept", category=pipeline["property"])
    with pytest.raises(Conflict):
        cases.transition(actor=cast.alice, case=second, name="reject", reason="重复")
    assert Case.objects.get(pk=case.pk).state == State.ACCEPTED


@pytest.mark.django_db(transaction=True)
def test_two_handlers_acting_at_once_exactly_one_succeeds() -> None:
    from tests.cast import build_cast

    cast = build_cast()
    unit = registry.unit_create(actor=None, area=cast.city, name="市城市管理局", credit_code="91350100M000100Y43",
                                sector=Sector.ORGAN)
    h1 = accounts.user_create(actor=None, username="h1", password="pass-word-123")
    h2 = accounts.user_create(actor=None, username="h2", password="pass-word-123")
    for h in (h1, h2):
        accounts.grant_role(actor=None, user=h, role="unit_handler", unit=unit)
    case = submit(cast)
    case = cases.transition(actor=cast.alice, case=case, name="accept", category=Category.objects.get(code="030602"))
    case = cases.transition(actor=cast.alice, case=case, name="dispatch", unit=unit)
    results: list[str] = []
    barrier = threading.Barrier(2)

    def act(user, name: str, **data) -> None:
        copy = Case.objects.get(pk=case.pk)
        barrier.wait()
        try:
            cases.transition(actor=user, case=copy, name=name, **data)
            results.append("ok")
        except Conflict:
            results.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=act, args=(h1, "start")),
               threading.Thread(target=act, args=(h2, "return"), kwargs={"reason": "非本单位职责"})]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict", "ok"]
    assert Case.objects.get(pk=case.pk).version == case.version + 1


def test_the_handler_returns_a_wrongly_dispatched_case_to_the_dispatcher(cast: Cast, pipeline) -> None:
    case = submit(cast)
    case = cases.transition(actor=cast.alice, case=case, name="accept", category=pipeline["property"])
    case = cases.transition(actor=cast.alice, case=case, name="dispatch", unit=pipeline["unit"])
    with pytest.raises(InvalidInput) as exc:
        cases.transition(actor=pipeline["hank"], case=case, name="return")
    assert "reason" in exc.value.fields
    case = cases.transition(actor=pipeline["hank"], case=case, name="return", reason="属物业职责，非城管")
    assert case.state == State.RETURNED and case.assignee_unit is None
    assert "return" not in cases.allowed_transitions(pipeline["hank"], case)
    assert "dispatch" in cases.allowed_transitions(cast.alice, case)


def test_outsiders_cannot_act(cast: Cast, pipeline) -> None:
    case = submit(cast)
    with pytest.raises(Forbidden):
        cases.transition(actor=cast.charlie, case=case, name="accept", category=pipeline["property"])


def test_escalation_goes_up_one_level_at_a_time_and_is_closed_there(cast: Cast, pipeline) -> None:
    case = submit(cast)
    case = cases.transition(actor=cast.alice, case=case, name="accept", category=pipeline["property"])
    case = cases.transition(actor=cast.alice, case=case, name="escalate", reason="涉及多个小区，社区协调不了")
    assert (case.level, case.owner_area, case.state) == ("street", cast.street, State.ACCEPTED)
    with pytest.raises(InvalidInput):  # 物业管理 may not skip levels
        cases.transition(actor=pipeline["dora"], case=case, name="escalate", reason="x", to_level="city")
    case = cases.transition(actor=pipeline["dora"], case=case, name="escalate", reason="需区级部门联合执法")
    assert case.level == "district" and case.escalation_count == 2
    # the community worker no longer owns it, the district dispatcher does
    assert "dispatch" not in cases.allowed_transitions(cast.alice, case)
    case = cases.transition(actor=pipeline["dina"], case=case, name="dispatch", unit=pipeline["unit"])
    case = cases.transition(actor=pipeline["hank"], case=case, name="start")
    case = cases.transition(actor=pipeline["hank"], case=case, name="handle", feedback="联合执法清理完毕")
    case = cases.transition(actor=cast.gina, case=case, name="verify")
    case = cases.rate(actor=cast.bob, case=case, rating=Rating.BASIC)
    assert case.state == State.CLOSED and case.closed_level == "district"


def test_public_safety_may_skip_levels(cast: Cast, pipeline) -> None:
    case = submit(cast, title="燃气泄漏")
    case = cases.transition(actor=cast.alice, case=case, name="accept", category=Category.objects.get(code="07"))
    case = cases.transition(actor=pipeline["dora"], case=case, name="escalate", reason="重大隐患", to_level="city")
    assert case.level == "city"


def test_a_dissatisfied_resident_reopens_the_case_and_it_is_counted(cast: Cast, pipeline) -> None:
    case = submit(cast)
    case = cases.transition(actor=cast.alice, case=case, name="accept", category=pipeline["property"])
    case = cases.transition(actor=cast.alice, case=case, name="dispatch", unit=pipeline["unit"])
    case = cases.transition(actor=pipeline["hank"], case=case, name="start")
    case = cases.transition(actor=pipeline["hank"], case=case, name="handle", feedback="已处理")
    case = cases.transition(actor=cast.gina, case=case, name="verify")
    with pytest.raises(Forbidden):
        cases.rate(actor=cast.alice, case=case, rating=Rating.SATISFIED)  # only the reporter rates
    case = cases.rate(actor=cast.bob, case=case, rating=Rating.DISSATISFIED, comment="杂物又堆回来了")
    assert case.state == State.REOPENED and case.reopen_count == 1 and case.rating == Rating.DISSATISFIED
    assert Notification.objects.filter(user=pipeline["hank"],
                                       link=f"/cases/{case.pk}/").exists() is False  # only on commit
    case = cases.transition(actor=pipeline["hank"], case=case, name="start")
    assert case.state == State.IN_PROGRESS


def test_notifications_reach_the_people_concerned_on_commit(cast: Cast, pipeline,
                                                            django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        case = submit(cast)
        case = cases.transition(actor=cast.alice, case=case, name="accept", category=pipeline["property"])
        case = cases.transition(actor=cast.alice, case=case, name="dispatch", unit=pipeline["unit"])
    assert Notification.objects.filter(user=cast.bob, object_type="cases.case",
                                       object_id=str(case.pk)).count() == 2  # accepted, dispatched
    assert Notification.objects.filter(user=pipeline["hank"],
                                       link=f"/cases/{case.pk}/").count() == 1  # dispatched to his unit


def test_merging_a_duplicate_keeps_its_reporter_informed(cast: Cast, pipeline) -> None:
    neighbour_user = accounts.user_create(actor=None, username="nina", password=cast.password)
    accounts.grant_role(actor=None, user=neighbour_user, role="resident", area=cast.community)
    registry.person_create(actor=None, area=cast.building, name="邻居", user=neighbour_user)
    first = submit(cast)
    second = cases.case_submit(actor=neighbour_user, title="楼道杂物", description="楼道纸箱堆积", area=cast.building)
    first = cases.transition(actor=cast.alice, case=first, name="accept", category=pipeline["property"])
    second = cases.transition(actor=cast.alice, case=second, name="merge", into=first, reason="同一问题")
    first.refresh_from_db()
    assert second.state == State.MERGED and second.merged_into == first and first.duplicate_count == 1
    assert CaseFollower.objects.filter(case=first, person__name="邻居").exists()
    from gongzhi.core.scope import scoped

    assert first in scoped(neighbour_user, Case)  # she follows the surviving case


def test_claimable_cases_are_claimed_by_party_members(cast: Cast, pipeline) -> None:
    org = registry.party_org_create(actor=None, area=cast.grid1, name="支部", level="branch")
    bob = Person.objects.get(name="鲍勃")
    volunteer_user = accounts.user_create(actor=None, username="vera", password=cast.password)
    accounts.grant_role(actor=None, user=volunteer_user, role="resident", area=cast.community)
    member = registry.person_create(actor=None, area=cast.building, name="党员小王", user=volunteer_user)
    registry.party_member_register(actor=None, person=member, organisation=org)
    case = submit(cast)
    case = cases.transition(actor=cast.alice, case=case, name="accept", category=pipeline["property"],
                            claimable=True)
    with pytest.raises(Forbidden):
        cases.transition(actor=cast.bob, case=case, name="claim")  # bob is no party member
    case = cases.transition(actor=volunteer_user, case=case, name="claim")
    assert case.claimed_by == member and case.state == State.IN_PROGRESS and case.due_at
    case = cases.transition(actor=volunteer_user, case=case, name="handle", feedback="党员志愿者已清理")
    assert case.state == State.HANDLED and bob.pk == case.reporter_id


def test_deadlines_count_working_days_across_national_day_and_a_make_up_saturday(cast: Cast, pipeline) -> None:
    case = submit(cast, now=at(2026, 9, 30, 9, 0))
    case = cases.transition(actor=cast.alice, case=case, name="accept", category=pipeline["property"],
                            now=at(2026, 9, 30, 9, 30))
    case = cases.transition(actor=cast.alice, case=case, name="dispatch", time_limit=3, now=at(2026, 9, 30, 10, 0))
    # The day of dispatch does not count; 10-01…10-07 are holidays; 10-08 and 10-09 are the first two working days
    # and the third is Saturday 10-10, a make-up working day (调休).
    assert case.due_at == at(2026, 10, 10, 18, 0)
    assert cases.mark_overdue(now=at(2026, 10, 7, 12, 0)) == 0
    assert cases.mark_overdue(now=at(2026, 10, 10, 17, 59)) == 0
    assert cases.mark_overdue(now=at(2026, 10, 10, 18, 1)) == 1
    assert cases.mark_overdue(now=at(2026, 10, 10, 18, 2)) == 0  # idempotent
    case.refresh_from_db()
    assert case.is_overdue and case.overdue_at == at(2026, 10, 10, 18, 1)


def test_years_beyond_the_library_use_the_holiday_table_and_never_crash(cast: Cast, pipeline) -> None:
    case = submit(cast, now=at(2026, 12, 30, 9, 0))
    case = cases.transition(actor=cast.alice, case=case, name="accept", category=pipeline["property"],
                            now=at(2026, 12, 30, 9, 0))
    case = cases.transition(actor=cast.alice, case=case, name="dispatch", time_limit=2, now=at(2026, 12, 30, 10, 0))
    # 2026-12-31 (Thu) then 2027-01-01 (Fri): the library stops at 2026, so 2027 falls back to Mon–Fri…
    assert case.due_at == at(2027, 1, 1, 18, 0)
    cases.calendar_day_set(actor=cast.admin, day=dt.date(2027, 1, 1), is_workday=False, note="元旦")
    case = cases.transition(actor=cast.alice, case=case, name="escalate", reason="x")
    case = cases.transition(actor=cast.stan, case=case, name="dispatch", time_limit=2, now=at(2026, 12, 30, 10, 0))
    assert case.due_at == at(2027, 1, 4, 18, 0)  # …until the administrator records 元旦 as a holiday


def test_extensions_are_requested_by_the_handler_and_decided_by_the_dispatcher(cast: Cast, pipeline) -> None:
    case = submit(cast, now=at(2026, 11, 2, 9, 0))
    case = cases.transition(actor=cast.alice, case=case, name="accept", category=pipeline["property"])
    case = cases.transition(actor=cast.alice, case=case, name="dispatch", unit=pipeline["unit"],
                            now=at(2026, 11, 2, 10, 0))
    assert case.due_at == at(2026, 11, 5, 18, 0)
    ext = cases.extension_request(actor=pipeline["hank"], case=case, days=2, reason="需协调供电部门")
    with pytest.raises(Conflict):
        cases.extension_request(actor=pipeline["hank"], case=case, days=1, reason="再延")
    with pytest.raises(Forbidden):
        cases.extension_decide(actor=pipeline["hank"], extension=ext, approve=True)
    cases.extension_decide(actor=cast.alice, extension=ext, approve=True)
    case.refresh_from_db()
    assert case.due_at == at(2026, 11, 9, 18, 0) and ext.decision == Extension.Decision.APPROVED


def test_mediation_cases_need_parties_a_hearing_and_an_outcome(cast: Cast, pipeline) -> None:
    with pytest.raises(InvalidInput) as exc:
        submit(cast, kind="mediation", parties=[{"name": "张三", "role": "申请人"}])
    assert "parties" in exc.value.fields
    case = submit(cast, title="楼上漏水纠纷", kind="mediation",
                  parties=[{"name": "张三", "role": "申请人"}, {"name": "李四", "role": "被申请人"}])
    case = cases.transition(actor=cast.alice, case=case, name="accept", category=Category.objects.get(code="030204"))
    case = cases.transition(actor=cast.alice, case=case, name="dispatch")
    case = cases.transition(actor=cast.alice, case=case, name="start")
    with pytest.raises(InvalidInput):
        cases.transition(actor=cast.alice, case=case, name="handle", feedback="调解完毕")
    cases.hearing_record(actor=cast.alice, case=case, held_at=at(2026, 11, 3, 15, 0), place="社区调解室",
                         mediators="王调解员、律师李某", notes="双方陈述，约定维修")
    cases.mediation_conclude(actor=cast.alice, case=case, outcome="agreement", agreement="楼上住户三日内维修防水")
    case = cases.transition(actor=cast.alice, case=case, name="handle", feedback="达成调解协议")
    assert case.state == State.HANDLED


def test_a_point_on_the_map_finds_its_grid(cast: Cast, pipeline) -> None:
    case = cases.case_submit(actor=cast.bob, title="路灯不亮", description="小区门口路灯坏了", lng=123.415,
                             lat=41.805)
    assert case.area == cast.grid2 and case.owner_area == cast.community
    with pytest.raises(InvalidInput) as exc:
        cases.case_submit(actor=cast.bob, title="x", description="y", lng=120.0, lat=30.0)
    assert "lng" in exc.value.fields


def test_photos_are_checked_by_content_and_size(cast: Cast, pipeline, tmp_path, settings) -> None:
    settings.MEDIA_ROOT = tmp_path
    from tests.test_patrol import png as real_png

    png = real_png()
    case = submit(cast, photos=[("a.png", png)])
    assert case.photos.count() == 1 and case.photos.get().content_type == "image/png"
    with pytest.raises(InvalidInput) as exc:
        submit(cast, photos=[("evil.png", b"<?php echo 1; ?>")])
    assert "photos[0]" in exc.value.fields
    with pytest.raises(InvalidInput):  # a PNG signature followed by anything else is not a picture
        submit(cast, photos=[("polyglot.png", b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>")])
    with pytest.raises(InvalidInput):
        submit(cast, photos=[("big.jpg", b"\xff\xd8\xff" + b"0" * (6 * 1024 * 1024))])


def test_routing_rules_send_a_category_to_its_department(cast: Cast, pipeline) -> None:
    cases.routing_rule_create(actor=cast.admin, area=cast.district, level="street",
                              category=pipeline["street_order"].parent, unit=pipeline["unit"])
    case = submit(cast, title="店外经营占道")
    case = cases.transition(actor=cast.alice, case=case, name="accept", category=pipeline["street_order"])
    # 0307 街面秩序 → the street owns it and 市城管局 is suggested as handler
    assert case.level == "street" and case.assignee_unit == pipeline["unit"]
