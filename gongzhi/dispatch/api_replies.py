"""答复意见评价 in the JSON API: the scored replies of the units in the caller's scope, and each unit's averages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema

from gongzhi.api.auth import user_of
from gongzhi.core.errors import Forbidden

from . import selectors_replies as selectors
from .replies import LATE_WORKDAYS, MEASURE, WEIGHTS

router = Router(tags=["派单智能 dispatch"])


class ReplyUnitRef(Schema):
    id: int
    name: str


class ReplyScoreOut(Schema):
    relevance: int
    completeness: int
    timeliness: int
    total: int
    workdays: int
    late: bool
    elements: list[str]
    reasons: list[str]
    explanations: dict[str, str]


class ReplyOut(Schema):
    case_id: int
    number: str
    title: str
    unit: ReplyUnitRef
    asked_at: dt.datetime
    replied_at: dt.datetime
    feedback: str
    score: ReplyScoreOut


class ReplyPage(Schema):
    items: list[ReplyOut]
    next: int | None


class ReplyUnitAverage(Schema):
    unit: ReplyUnitRef
    count: int
    relevance: float
    completeness: float
    timeliness: float
    total: float
    late: int
    late_rate: float


class ReplyUnitsOut(Schema):
    since: dt.datetime
    counted: int
    truncated: bool
    weights: dict[str, int]
    late_workdays: int
    measure: list[dict[str, str]]
    units: list[ReplyUnitAverage]


def _viewer(request: HttpRequest) -> Any:
    user = user_of(request)
    if not selectors.may_view(user):
        raise Forbidden("只有受理派遣、督办人员和承办单位可以查看答复质量")
    return user


def _since(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


@router.get("/dispatch/replies", response=ReplyPage, summary="答复质量 Scored replies")
def reply_list(request: HttpRequest, unit_id: int | None = None, days: int = Query(90, ge=1, le=3650),
               limit: int = Query(50, ge=1, le=200), after: int | None = None) -> dict[str, Any]:
    """The replies (办理情况) handled in the last ``days`` days, newest case first, each scored for relevance,
    completeness and timeliness with the reasons; ``after`` is the ``next`` of the previous page."""
    qs = selectors.replies(_viewer(request), unit_id=unit_id, since=_since(days)).order_by("-pk")
    if after is not None:
        qs = qs.filter(pk__lt=after)
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    items = []
    for r in selectors.scored(rows):
        s, c = r.score, r.case
        items.append({
            "case_id": c.pk, "number": c.number, "title": c.title,
            "unit": {"id": r.unit.pk, "name": r.unit.name}, "asked_at": c.created_at, "replied_at": c.handled_at,
            "feedback": c.feedback,
            "score": {"relevance": s.relevance, "completeness": s.completeness, "timeliness": s.timeliness,
                      "total": s.total, "workdays": s.workdays, "late": s.late, "elements": list(s.elements),
                      "reasons": list(s.reasons), "explanations": s.explanations()},
        })
    return {"items": items, "next": rows[-1].pk if more and rows else None}


@router.get("/dispatch/replies/units", response=ReplyUnitsOut, summary="各单位答复质量 Per-unit averages")
def reply_units(request: HttpRequest, unit_id: int | None = None,
                days: int = Query(90, ge=1, le=3650)) -> dict[str, Any]:
    """Each unit's average scores over its replies of the last ``days`` days (at most the latest 1,000 replies in
    all are averaged: ``truncated`` says so), best total first, with the measure explained."""
    since = _since(days)
    summary = selectors.unit_averages(selectors.replies(_viewer(request), unit_id=unit_id, since=since))
    return {
        "since": since, "counted": summary.counted, "truncated": summary.truncated, "weights": WEIGHTS,
        "late_workdays": LATE_WORKDAYS,
        "measure": [{"name": str(name), "sentence": str(sentence)} for name, sentence in MEASURE],
        "units": [{"unit": {"id": u.unit_id, "name": u.name}, "count": u.count, "relevance": u.relevance,
                   "completeness": u.completeness, "timeliness": u.timeliness, "total": u.total, "late": u.late,
                   "late_rate": u.late_rate} for u in summary.rows],
    }
