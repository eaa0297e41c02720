"""答复意见评价 on the platform: the replies (办理情况, ``Case.feedback`` written at the handle step) of the member
units in the viewer's scope, each scored by :func:`gongzhi.dispatch.replies.score_reply`, and each unit's averages.

Who sees which replies: a dispatcher or official (``case_dispatch``) those of the cases located in her subtree; a
unit's own handlers (``case_handle`` granted on a unit) those of their unit. Everybody else — residents included,
who see their own cases elsewhere — sees none. The scope helper's filter applies on top, as for every read.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from gongzhi.accounts.roles import Cap
from gongzhi.cases.models import Case
from gongzhi.core import workdays
from gongzhi.core.scope import as_scope, scoped
from gongzhi.registry.models import MemberUnit

from .replies import LATE_WORKDAYS, ReplyScore, score_reply

# Per-unit averages are taken over at most this many of the latest replies that match the filters (said on the page).
MAX_AVERAGED = 1000
_FIELDS = ("pk", "title", "description", "feedback", "created_at", "handled_at", "version", "area_path",
           "assignee_unit_id", "assignee_unit__name")
_CACHE_SIZE = 20_000
_cache: OrderedDict[tuple[Any, ...], ReplyScore] = OrderedDict()


@dataclass
class ScoredReply:
    case: Case
    score: ReplyScore

    @property
    def unit(self) -> MemberUnit:
        return self.case.assignee_unit  # type: ignore[return-value]


@dataclass
class UnitAverage:
    unit_id: int
    name: str
    count: int
    relevance: float
    completeness: float
    timeliness: float
    total: float
    late: int  # replies later than LATE_WORKDAYS working days

    @property
    def late_rate(self) -> float:
        return round(100 * self.late / self.count, 1) if self.count else 0.0


@dataclass
class UnitSummary:
    rows: list[UnitAverage]
    counted: int  # replies averaged
    truncated: bool  # more replies matched than MAX_AVERAGED


def may_view(viewer: Any) -> bool:
    s = as_scope(viewer)
    return s.has(Cap.CASE_DISPATCH) or bool(s.unit_ids(Cap.CASE_HANDLE))


def _supervised(viewer: Any) -> Q | None:
    s = as_scope(viewer)
    q = Q()
    found = False
    for prefix in s.area_prefixes(Cap.CASE_DISPATCH):
        q |= Q(area_path__prefix=prefix)
        found = True
    units = s.unit_ids(Cap.CASE_HANDLE)
    if units:
        q |= Q(assignee_unit_id__in=units)
        found = True
    return q if found else None


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=workdays.TZ)


def _base(viewer: Any, *, unit_id: int | None, start: dt.date | None, end: dt.date | None,
          since: dt.datetime | None) -> QuerySet[Case]:
    q = _supervised(viewer)
    if q is None:
        return Case.objects.none()
    qs = scoped(viewer, Case).filter(q).filter(assignee_unit__isnull=False, handled_at__isnull=False).exclude(
        feedback="")
    if unit_id is not None:
        qs = qs.filter(assignee_unit_id=unit_id)
    if start is not None:
        qs = qs.filter(handled_at__gte=_day_start(start))
    if end is not None:
        qs = qs.filter(handled_at__lt=_day_start(end + dt.timedelta(days=1)))
    if since is not None:
        qs = qs.filter(handled_at__gte=since)
    return qs


def replies(viewer: Any, *, unit_id: int | None = None, start: dt.date | None = None, end: dt.date | None = None,
            since: dt.datetime | None = None) -> QuerySet[Case]:
    """The viewer's replies, latest handled first, with their unit in the same query."""
    return (_base(viewer, unit_id=unit_id, start=start, end=end, since=since)
            .select_related("assignee_unit").only(*_FIELDS).order_by("-handled_at", "-pk"))


def units(viewer: Any) -> list[MemberUnit]:
    """The units whose replies the viewer sees (for the filter)."""
    ids = _base(viewer, unit_id=None, start=None, end=None, since=None).values("assignee_unit_id")
    return list(MemberUnit.objects.filter(pk__in=ids).only("pk", "name").order_by("name")[:500])


def score_case(case: Case) -> ReplyScore:
    """The score of a case's reply, remembered per process until the case or its texts change."""
    key = (case.pk, case.version, case.created_at, case.handled_at, hash((case.title, case.description, case.feedback)))
    hit = _cache.get(key)
    if hit is not None:
        _cache.move_to_end(key)
        return hit
    score = score_reply(case.title, case.description, case.feedback, case.created_at,
                        case.handled_at or case.created_at)
    _cache[key] = score
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return score


def scored(cases: list[Case]) -> list[ScoredReply]:
    return [ScoredReply(case=c, score=score_case(c)) for c in cases]


def unit_averages(qs: QuerySet[Case], limit: int = MAX_AVERAGED) -> UnitSummary:
    """Each unit's average scores over the latest ``limit`` replies of ``qs`` (best total first)."""
    rows = list(qs[: limit + 1])
    truncated = len(rows) > limit
    rows = rows[:limit]
    groups: dict[int, list[ReplyScore]] = {}
    names: dict[int, str] = {}
    for case in rows:
        uid = case.assignee_unit_id
        if uid is None:  # pragma: no cover - filtered out by the queryset
            continue
        groups.setdefault(uid, []).append(score_case(case))
        names[uid] = case.assignee_unit.name if case.assignee_unit else ""

    def mean(values: list[int]) -> float:
        return round(sum(values) / len(values), 1)

    out = [UnitAverage(unit_id=uid, name=names[uid], count=len(ss),
                       relevance=mean([s.relevance for s in ss]), completeness=mean([s.completeness for s in ss]),
                       timeliness=mean([s.timeliness for s in ss]), total=mean([s.total for s in ss]),
                       late=sum(1 for s in ss if s.workdays > LATE_WORKDAYS))
           for uid, ss in groups.items()]
    out.sort(key=lambda u: (-u.total, u.name))
    return UnitSummary(rows=out, counted=len(rows), truncated=truncated)
