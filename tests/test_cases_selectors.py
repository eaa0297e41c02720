"""Queues, duplicates and figures of the case pipeline, on cases moved through the real actions."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from gongzhi.cases import selectors
from gongzhi.cases import services as cases
from gongzhi.cases.models import Case, CaseSettings, Category, Rating
from gongzhi.cases.workflow import State
from gongzhi.core.errors import NotFound
from tests.cast import Cast

TZ = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=TZ)


def report(cast: Cast, title: str, *, area=None, when: dt.datetime | None = None, **kw):
    return cases.case_submit(actor=cast.bob, title=title, description=kw.pop("description", title + "，请处理"),
                             area=area or cast.building, now=when, **kw)


def walk(cast: Cast, pipeline, case, *, rating: str | None = Rating.SATISFIED, late: bool = False,
         escalate: bool = False, when: dt.datetime):
    case = cases.transition(actor=cast.alice, case=case, name="accept", category=pipeline["property"], now=when)
    if escalate:
        case = cases.transition(actor=cast.alice, case=case, name="escalate", reason="协调不了", now=when)
        case = cases.transition(actor=pipeline["dora"], case=case, name="dispatch", unit=pipeline["unit"], now=when)
    else:
        case = cases.transition(actor=cast.alice, case=case, name="dispatch", unit=pipeline["unit"], now=when)
    case = cases.transition(actor=pipeline["hank"], case=case, name="start", now=when)
    handled = when + dt.timedelta(days=10 if late else 1)
    case = cases.transition(actor=pipeline["hank"], case=case, name="handle", feedback="已处理", now=handled)
    case = cases.transition(actor=cast.gina, case=case, name="verify", now=handled)
    if rating:
        case = cases.rate(actor=cast.bob, case=case, rating=rating)
    return case


def test_each_role_sees_its_own_queue(cast: Cast, pipeline) -> None:
    fresh = report(cast, "楼道灯坏了")
    accepted = cases.transition(actor=cast.alice, case=report(cast, "垃圾桶满了"), name="accept",
                                category=pipeline["property"])
    dispatched = cases.transition(actor=cast.alice, case=report(cast, "电梯故障"), name="accept",
                                  category=pipeline["property"])
    dispatched = cases.transition(actor=cast.alice, case=dispatched, name="dispatch", unit=pipeline["unit"])

    def keys(user, key):
        return {c.pk for c in selectors.queue(user, key)}

    assert keys(cast.alice, "to_accept") == {fresh.pk}
    assert keys(cast.alice, "to_dispatch") == {accepted.pk}
    assert keys(pipeline["hank"], "mine") == {dispatched.pk}
    assert keys(cast.charlie, "to_accept") == set()  # another community's worker
    assert keys(cast.bob, "reported") == {fresh.pk, accepted.pk, dispatched.pk}
    assert keys(cast.bob, "to_accept") == set()


def test_escalated_cases_wait_in_the_upper_levels_queue(cast: Cast, pipeline) -> None:
    case = cases.transition(actor=cast.alice, case=report(cast, "占道经营"), name="accept",
                            category=pipeline["property"])
    case = cases.transition(actor=cast.alice, case=case, name="escalate", reason="需要街道执法")
    assert [c.pk for c in selectors.queue(pipeline["dora"], "escalated")] == [case.pk]
    assert list(selectors.queue(cast.alice, "escalated")) == []


def test_queue_pages_are_keyset_paginated_and_run_a_bounded_number_of_queries(
        cast: Cast, pipeline, django_assert_max_num_queries) -> None:
    for i in range(12):
        report(cast, f"问题{i}", when=at(2026, 11, 1, 9, i))
    qs = selectors.queue(cast.alice, "to_accept")
    seen, after = [], None
    while True:
        with django_assert_max_num_queries(2):
            page = selectors.queue_page(qs, limit=5, after=after)
        if not page:
            break
        for c in page:
            _ = (c.category, c.area.name, c.owner_area.name, c.assignee_unit)
        seen += [c.pk for c in page]
        after = (page[-1].created_at, page[-1].pk)
    assert len(seen) == len(set(seen)) == 12


def test_duplicates_are_suggested_by_place_category_and_text(cast: Cast, pipeline) -> None:
    first = report(cast, "3单元楼道堆满纸箱", description="3单元楼道堆满纸箱，有消防隐患")
    cases.transition(actor=cast.alice, case=first, name="accept", category=pipeline["property"])
    report(cast, "小区门口路灯不亮", description="晚上门口一片漆黑")
    report(cast, "楼道堆满纸箱", area=cast.grid3, description="港北的楼道也堆满纸箱")  # another community
    second = report(cast, "楼道纸箱堆积", description="3单元楼道纸箱堆积，有消防隐患", category=pipeline["property"])
    found = selectors.suggest_duplicates(cast.alice, second)
    assert [d.case.pk for d in found] == [first.pk]
    assert found[0].score > 0.3
    # A case that can no longer be merged into (handled, closed, rejected…) is not offered: only open ones are.
    Case.objects.filter(pk=first.pk).update(state=State.HANDLED)
    assert selectors.suggest_duplicates(cast.alice, second) == []
    Case.objects.filter(pk=first.pk).update(state=State.CLOSED)
    assert selectors.suggest_duplicates(cast.alice, second) == []
    Case.objects.filter(pk=first.pk).update(state=State.IN_PROGRESS)
    assert [d.case.pk for d in selectors.suggest_duplicates(cast.alice, second)] == [first.pk]


def test_figures_count_response_on_time_resolution_satisfaction_reopens_and_levels(
        cast: Cast, pipeline) -> None:
    day = at(2026, 11, 2, 9, 0)
    walk(cast, pipeline, report(cast, "a", when=day), when=day)
    walk(cast, pipeline, report(cast, "b", when=day), when=day, rating=Rating.BASIC)
    walk(cast, pipeline, report(cast, "c", when=day), when=day, late=True)
    walk(cast, pipeline, report(cast, "d", when=day), when=day, escalate=True)
    reopened = walk(cast, pipeline, report(cast, "e", when=day), when=day, rating=Rating.DISSATISFIED)
    assert reopened.state == State.REOPENED
    report(cast, "f", when=day)  # still waiting
    report(cast, "old", when=at(2025, 1, 1, 9, 0))  # outside the period
    f = selectors.figures(cast.stan, cast.street, dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert (f.received, f.closed, f.closed_on_time, f.rated) == (6, 4, 3, 5)
    assert f.by_level == {"grid": 0, "community": 3, "street": 1, "district": 0, "city": 0}
    assert f.satisfaction_rate == 80.0  # (3 satisfied + 1 basic) / 5 rated
    settings = CaseSettings.current()
    settings.basic_counts_as_satisfied = False
    settings.save()
    f = selectors.figures(cast.stan, cast.street, dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert f.satisfaction_rate == 60.0
    assert f.on_time_rate == 75.0 and f.open_cases == 2
    by_child = {c.area.name: c.received for c in selectors.figures_by_child(cast.stan, cast.street,
                                                                              dt.date(2026, 11, 1),
                                                                              dt.date(2026, 11, 30))}
    assert by_child == {"碧海社区": 6, "港北社区": 0}
    units = selectors.figures_by_unit(cast.stan, cast.street, dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert [(u.name, fi.received) for u, fi in units] == [("市城市管理局", 5)]


def test_figures_are_scoped(cast: Cast, pipeline) -> None:
    with pytest.raises(NotFound):
        selectors.figures(cast.charlie, cast.community, dt.date(2026, 1, 1), dt.date(2026, 12, 31))


def test_public_cases_hide_nothing_but_are_only_the_public_ones(cast: Cast, pipeline) -> None:
    public = report(cast, "公开问题")
    report(cast, "私密问题", is_public=False)
    assert [c.pk for c in selectors.public_cases(cast.community)] == [public.pk]
    assert Category.objects.filter(depth=1).count() == 14


def test_the_daily_rollup_always_equals_a_full_count(cast: Cast, pipeline) -> None:
    """Every kind of change keeps the rollup equal to counting the cases; a rebuild gives the same rows."""
    from gongzhi.cases import rollup
    from gongzhi.cases.models import Case, CaseStat

    day = at(2026, 11, 2, 9, 0)
    walk(cast, pipeline, report(cast, "a", when=day), when=day)
    walk(cast, pipeline, report(cast, "b", when=day), when=day, rating=Rating.DISSATISFIED)
    walk(cast, pipeline, report(cast, "c", when=day), when=day, escalate=True, late=True)
    rejected = report(cast, "d", when=day)
    cases.transition(actor=cast.alice, case=rejected, name="reject", reason="不属于受理范围")
    first = cases.transition(actor=cast.alice, case=report(cast, "e", when=day), name="accept",
                             category=pipeline["property"])
    cases.transition(actor=cast.alice, case=report(cast, "f", when=day), name="merge", into=first, reason="重复")
    late = cases.transition(actor=cast.alice, case=first, name="dispatch", unit=pipeline["unit"], now=day)
    cases.mark_overdue(now=at(2026, 11, 30, 9, 0))
    ext = cases.extension_request(actor=pipeline["hank"], case=Case.objects.get(pk=late.pk), days=5, reason="等待配件")
    cases.extension_decide(actor=cast.alice, extension=ext, approve=True, now=at(2026, 11, 3, 9, 0))
    report(cast, "g", area=cast.grid3, when=at(2026, 11, 5, 23, 30))  # late evening: still its local day

    from gongzhi.cases.selectors import _aggregate

    counted = _aggregate(Case.objects.exclude(state="merged"))
    summed = rollup.totals(cast.city.path, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert summed == counted and summed["received"] == 6 and summed["closed"] == 2
    incremental = sorted(CaseStat.objects.values_list("day", "street_path", "received", "closed", "open_cases"))
    rollup.rebuild()
    assert sorted(CaseStat.objects.values_list("day", "street_path", "received", "closed", "open_cases")) == \
        incremental
    assert {d for d, *_ in incremental} == {dt.date(2026, 11, 2), dt.date(2026, 11, 5)}


def test_writers_on_other_connections_add_to_other_rows_of_the_same_day_and_street(cast: Cast) -> None:
    """The rollup spreads one (day, street) over a row per writing connection; every reader adds them up."""
    from django.db import connection
    from django.db.models import Sum

    from gongzhi.cases import rollup
    from gongzhi.cases.models import Case, CaseStat
    from gongzhi.cases.selectors import _aggregate

    day = at(2026, 11, 2, 9, 0)
    for shard in (0, 3, 3, rollup.SHARDS - 1):
        connection.gongzhi_rollup_shard = shard  # as three other connections would have
        report(cast, f"第{shard}路", when=day)
    rows = CaseStat.objects.filter(day=dt.date(2026, 11, 2))
    assert sorted(rows.values_list("shard", "received")) == [(0, 1), (3, 2), (rollup.SHARDS - 1, 1)]
    assert rollup.totals(cast.city.path, dt.date(2026, 11, 1), dt.date(2026, 11, 30)) == \
        _aggregate(Case.objects.exclude(state="merged"))
    assert selectors.area_figures(cast.city, dt.date(2026, 11, 1), dt.date(2026, 11, 30)).received == 4
    rollup.rebuild()  # a rebuild folds them into one row, with the same sums
    assert list(CaseStat.objects.values_list("shard", "received")) == [(0, 4)]
    assert CaseStat.objects.aggregate(n=Sum("received"))["n"] == 4
