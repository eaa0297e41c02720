"""Grid patrol's part of the JSON API (mounted under /api/v1/ by gongzhi.api): plans, the rounds due, a round with
its checklist and household visits, problem → case, figures per grid. Parse → scoped fetch → service → schema."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Annotated, Any, Literal

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from gongzhi.accounts.roles import Cap
from gongzhi.api.auth import user_of
from gongzhi.core.errors import InvalidInput
from gongzhi.core.scope import get_scoped
from gongzhi.registry.models import Area, AreaKind, Person

from . import selectors, services
from .models import HouseholdVisit, PatrolCheck, PatrolPlan, PatrolRound

router = Router(tags=["网格巡查 patrol"])

MAX_LIMIT = 200


class PlanIn(Schema):
    area_id: int = Field(..., description="巡查区域：网格、小区或社区")
    name: str = Field(..., min_length=1, max_length=60, description="计划名称，如“每天常态巡访”")
    frequency: Literal["daily", "weekly", "monthly", "quarterly"] = Field(..., description="巡查频次")
    checklist: list[Annotated[str, Field(max_length=40)]] = Field(..., min_length=1, max_length=30,
                                                                   description="巡查清单（每项不超过40字）")
    patroller_id: int | None = Field(None, description="巡查人（账号 id）；空则本区域工作人员均可")
    starts_on: dt.date | None = None


class PlanUpdateIn(Schema):
    name: str = Field(..., min_length=1, max_length=60)
    checklist: list[Annotated[str, Field(max_length=40)]] = Field(..., min_length=1, max_length=30)
    patroller_id: int | None = None
    reason: str = Field("", max_length=200)
    version: int | None = Field(None, ge=1, description="读取时的版本号；已被他人修改时返回 409")


class CheckIn(Schema):
    status: Literal["ok", "problem"] = Field(..., description="正常 / 有问题")
    note: str = Field("", max_length=1000, description="问题描述（有问题时必填）")
    photo: str | None = Field(None, max_length=7_000_000, description="照片，base64 编码的 JPEG/PNG")


class PatrolVisitIn(Schema):
    person_id: int | None = Field(None, description="走访的居民（人员 id）")
    building_id: int | None = Field(None, description="或：楼栋")
    door: str = Field("", max_length=20, description="门牌号（按楼栋记录时必填）")
    visited_on: dt.date | None = None
    note: str = Field("", max_length=1000)
    problem_found: bool = False


class CloseIn(Schema):
    summary: str = Field("", max_length=1000)


def _user(raw: int | None) -> Any:
    if raw is None:
        return None
    user = get_user_model().objects.filter(pk=raw).first()
    if user is None:
        raise InvalidInput.on("patroller_id", "巡查人不存在")
    return user


def _period_out(p: selectors.Period) -> dict[str, Any]:
    return {"start": p.start, "end": p.end, "status": p.status, "status_label": str(p.label),
            "round_id": p.round.pk if p.round else None}


def _plan_out(plan: PatrolPlan, periods: list[selectors.Period] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": plan.pk, "name": plan.name, "area": {"id": plan.area_id, "name": plan.area.name},
        "frequency": plan.frequency, "frequency_label": plan.get_frequency_display(),
        "patroller": {"id": plan.patroller_id, "username": plan.patroller.username} if plan.patroller else None,
        "checklist": list(plan.checklist), "starts_on": plan.starts_on, "ended_on": plan.ended_on,
        "version": plan.version,
    }
    if periods is not None:
        out["periods"] = [_period_out(p) for p in periods]
    return out


def _check_out(c: PatrolCheck) -> dict[str, Any]:
    return {"id": c.pk, "label": c.label, "status": c.status, "note": c.note, "has_photo": bool(c.photo),
            "checked_at": c.checked_at, "case": {"id": c.case_id, "number": c.case.number} if c.case else None}


def _visit_out(v: HouseholdVisit) -> dict[str, Any]:
    return {"id": v.pk, "household": v.household_label, "person_id": v.person_id, "building_id": v.building_id,
            "door": v.door, "visited_on": v.visited_on, "note": v.note, "problem_found": v.problem_found,
            "case": {"id": v.case_id, "number": v.case.number} if v.case else None}


def _round_out(r: PatrolRound, *, detail: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": r.pk, "plan": {"id": r.plan_id, "name": r.plan.name}, "area": {"id": r.area_id, "name": r.area.name},
        "period_start": r.period_start, "period_end": r.period_end, "state": r.state,
        "state_label": r.get_state_display(), "patroller": r.patroller.username, "started_at": r.started_at,
        "closed_at": r.closed_at, "summary": r.summary,
    }
    if detail:
        out["checks"] = [_check_out(c) for c in selectors.round_checks(r)]
        out["visits"] = [_visit_out(v) for v in selectors.round_visits(r)]
    return out


def _limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.on("limit", f"须在 1 到 {MAX_LIMIT} 之间")


@router.get("/patrol/plans", response=dict, summary="巡查计划 Patrol plans")
def list_plans(request: HttpRequest, area_id: int | None = None, limit: int = Query(50, ge=1, le=200),
               after: int | None = None) -> dict[str, Any]:
    """Keyset pagination on the id: pass the last ``next`` as ``after``."""
    user = user_of(request)
    _limit(limit)
    area = get_scoped(user, Area, area_id) if area_id else None
    qs = selectors.plans(user, area).order_by("pk")
    if after is not None:
        qs = qs.filter(pk__gt=after)
    page = list(qs[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return {"items": [_plan_out(p) for p in page], "next": page[-1].pk if more and page else None}


@router.post("/patrol/plans", response={201: dict}, summary="新增巡查计划 Create a plan")
def create_plan(request: HttpRequest, payload: PlanIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    area = get_scoped(user, Area, payload.area_id)  # visible, then the service checks the capability
    plan = services.plan_create(actor=user, area=area, name=payload.name, frequency=payload.frequency,
                                checklist=payload.checklist, patroller=_user(payload.patroller_id),
                                starts_on=payload.starts_on)
    return Status(201, _plan_out(selectors.plan_get(user, plan.pk)))


@router.get("/patrol/plans/{plan_id}", response=dict, summary="巡查计划及各周期 A plan and its periods")
def get_plan(request: HttpRequest, plan_id: int, periods: int = 12) -> dict[str, Any]:
    user = user_of(request)
    if not 1 <= periods <= 100:
        raise InvalidInput.on("periods", "须在 1 到 100 之间")
    plan = selectors.plan_get(user, plan_id)
    return _plan_out(plan, selectors.plan_views([plan], count=periods)[0].periods)


@router.put("/patrol/plans/{plan_id}", response=dict, summary="修改巡查计划 Update a plan")
def update_plan(request: HttpRequest, plan_id: int, payload: PlanUpdateIn) -> dict[str, Any]:
    user = user_of(request)
    plan = selectors.plan_get(user, plan_id)
    services.plan_update(actor=user, plan=plan, name=payload.name, checklist=payload.checklist,
                         patroller=_user(payload.patroller_id), reason=payload.reason,
                         expected_version=payload.version)
    return _plan_out(selectors.plan_get(user, plan_id))


@router.post("/patrol/plans/{plan_id}/end", response=dict, summary="结束巡查计划 End a plan")
def end_plan(request: HttpRequest, plan_id: int) -> dict[str, Any]:
    user = user_of(request)
    plan = services.plan_end(actor=user, plan=selectors.plan_get(user, plan_id))
    return _plan_out(plan)


@router.get("/patrol/due", response=list[dict], summary="我的巡查任务 The rounds I have due")
def due(request: HttpRequest) -> list[dict[str, Any]]:
    """The plans the caller walks, each with its current and last periods (待巡查 / 巡查中 / 已完成 / 未巡查)."""
    user = user_of(request)
    today = timezone.localdate()
    return [_plan_out(v.plan, v.periods) for v in selectors.plan_views(selectors.my_plans(user, today), today)]


@router.post("/patrol/plans/{plan_id}/rounds", response={201: dict}, summary="开始巡查 Start this period's round")
def start_round(request: HttpRequest, plan_id: int) -> Status[dict[str, Any]]:
    user = user_of(request)
    rnd = services.round_start(actor=user, plan=selectors.plan_get(user, plan_id))
    return Status(201, _round_out(selectors.round_get(user, rnd.pk), detail=True))


@router.get("/patrol/rounds", response=dict, summary="巡查记录 Rounds")
def list_rounds(request: HttpRequest, area_id: int | None = None, mine: bool = False,
                limit: int = Query(50, ge=1, le=200), after: int | None = None) -> dict[str, Any]:
    user = user_of(request)
    _limit(limit)
    area = get_scoped(user, Area, area_id) if area_id else None
    qs = selectors.rounds(user, area=area, patroller=user if mine else None).order_by("-pk")
    if after is not None:
        qs = qs.filter(pk__lt=after)
    page = list(qs[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return {"items": [_round_out(r) for r in page], "next": page[-1].pk if more and page else None}


@router.get("/patrol/rounds/{round_id}", response=dict, summary="巡查记录详情 A round")
def get_round(request: HttpRequest, round_id: int) -> dict[str, Any]:
    user = user_of(request)
    return _round_out(selectors.round_get(user, round_id), detail=True)


def _photo(raw: str | None) -> tuple[str, bytes] | None:
    if not raw:
        return None
    try:
        return "photo", base64.b64decode(raw, validate=True)
    except ValueError:
        raise InvalidInput.on("photo", "照片须为 base64 编码") from None


@router.post("/patrol/checks/{check_id}", response=dict, summary="检查巡查事项 Tick a checklist item")
def tick(request: HttpRequest, check_id: int, payload: CheckIn) -> dict[str, Any]:
    user = user_of(request)
    check = selectors.check_get(user, check_id)
    services.check_record(actor=user, check=check, status=payload.status, note=payload.note,
                          photo=_photo(payload.photo))
    return _check_out(selectors.check_get(user, check_id))


@router.post("/patrol/checks/{check_id}/case", response={201: dict}, summary="问题转为诉求 Problem → case")
def check_case(request: HttpRequest, check_id: int) -> Status[dict[str, Any]]:
    user = user_of(request)
    case = services.check_to_case(actor=user, check=selectors.check_get(user, check_id))
    return Status(201, {"case": {"id": case.pk, "number": case.number, "channel": case.channel}})


@router.post("/patrol/rounds/{round_id}/visits", response={201: dict}, summary="入户走访 Record a household visit")
def add_visit(request: HttpRequest, round_id: int, payload: PatrolVisitIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    rnd = selectors.round_get(user, round_id)
    person = get_scoped(user, Person, payload.person_id, cap=Cap.VIEW_PEOPLE) if payload.person_id else None
    building = get_scoped(user, Area.objects.filter(kind=AreaKind.BUILDING), payload.building_id) \
        if payload.building_id else None
    visit = services.visit_record(actor=user, round=rnd, person=person, building=building, door=payload.door,
                                  visited_on=payload.visited_on, note=payload.note,
                                  problem_found=payload.problem_found)
    return Status(201, _visit_out(selectors.visit_get(user, visit.pk)))


@router.post("/patrol/visits/{visit_id}/case", response={201: dict}, summary="走访问题转为诉求 Visit → case")
def visit_case(request: HttpRequest, visit_id: int) -> Status[dict[str, Any]]:
    user = user_of(request)
    case = services.visit_to_case(actor=user, visit=selectors.visit_get(user, visit_id))
    return Status(201, {"case": {"id": case.pk, "number": case.number, "channel": case.channel}})


@router.post("/patrol/rounds/{round_id}/close", response=dict, summary="完成巡查 Close a round")
def close_round(request: HttpRequest, round_id: int, payload: CloseIn) -> dict[str, Any]:
    user = user_of(request)
    services.round_close(actor=user, round=selectors.round_get(user, round_id), summary=payload.summary)
    return _round_out(selectors.round_get(user, round_id))


@router.get("/patrol/figures", response=dict, summary="巡查统计 Figures per grid")
def patrol_figures(request: HttpRequest, area_id: int, start: dt.date | None = None,
                   end: dt.date | None = None) -> dict[str, Any]:
    """Per grid under the area: households, distinct households visited in the period and their share, rounds due,
    done and missed, problems found and cases opened. Default period: this quarter so far."""
    user = user_of(request)
    d_start, d_end = selectors.default_period()
    area = get_scoped(user, Area, area_id, cap=Cap.VIEW_PEOPLE)
    f = selectors.figures(user, area, start or d_start, end or d_end)
    return {"area": {"id": area.pk, "name": area.name}, "start": f.start, "end": f.end,
            "total": f.total.as_dict() if f.total else None, "grids": [g.as_dict() for g in f.grids]}
