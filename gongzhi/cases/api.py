"""The case pipeline's part of the JSON API (a django-ninja router mounted under /api/v1/ by gongzhi.api).

Thin by design: parse (pydantic) → scoped fetch → the module's actions/selectors → schema. Errors are the domain
errors, which the API renders in its one error shape.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from gongzhi.api.auth import user_of
from gongzhi.core.errors import InvalidInput, NotFound
from gongzhi.core.scope import get_scoped
from gongzhi.registry.models import Area, MemberUnit
from gongzhi.registry.presenters import phone_for

from . import selectors, services
from .models import Case, Category, Extension
from .workflow import TRANSITIONS

router = Router(tags=["诉求 cases"])

MAX_LIMIT = 200


class CaseIn(Schema):
    title: str = Field(..., min_length=1, max_length=100, description="标题")
    description: str = Field(..., min_length=1, max_length=4000, description="内容")
    category_code: str | None = Field(None, max_length=16, description="诉求分类代码 (DB44/T 2479)")
    area_id: int | None = Field(None, description="发生地：社区/网格/小区/楼栋节点")
    lng: float | None = Field(None, ge=-180, le=180, description="经度 (WGS84)")
    lat: float | None = Field(None, ge=-90, le=90, description="纬度 (WGS84)")
    address: str = Field("", max_length=200)
    channel: Literal["app", "patrol", "reception", "mediation_point", "hotline", "window", "meeting"] = "app"
    kind: Literal["general", "mediation"] = "general"
    parties: list[dict[str, str]] = Field(default_factory=list, max_length=20, description="调解当事人")
    is_public: bool = True


class TransitionIn(Schema):
    version: int | None = Field(None, ge=1, description="乐观锁版本；与当前不符则 409")
    reason: str = Field("", max_length=1000)
    category_code: str | None = Field(None, max_length=16)
    unit_id: int | None = None
    time_limit: int | None = Field(None, ge=1, le=365, description="办理时限（工作日）")
    feedback: str = Field("", max_length=4000)
    resolved: bool = True
    rating: Literal["satisfied", "basic", "dissatisfied"] | None = None
    into_id: int | None = Field(None, description="并入的诉求")
    to_level: Literal["community", "street", "district", "city"] | None = None
    claimable: bool = False


class ExtensionIn(Schema):
    days: int = Field(..., ge=1, le=30)
    reason: str = Field(..., min_length=1, max_length=1000)


class DecisionIn(Schema):
    approve: bool
    reason: str = Field("", max_length=1000)


def _case_out(viewer: Any, case: Case, *, detail: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": case.pk, "number": case.number, "title": case.title, "state": case.state,
        "state_label": case.get_state_display(), "kind": case.kind, "channel": case.channel,
        "category": {"code": case.category.code, "name": case.category.name} if case.category else None,
        "area": {"id": case.area_id, "name": case.area.name}, "level": case.level,
        "owner": {"id": case.owner_area_id, "name": case.owner_area.name},
        "assignee_unit": {"id": case.assignee_unit_id, "name": case.assignee_unit.name}
        if case.assignee_unit else None,
        "created_at": case.created_at, "due_at": case.due_at, "overdue": case.is_overdue,
        "reopen_count": case.reopen_count, "escalation_count": case.escalation_count,
        "duplicate_count": case.duplicate_count, "version": case.version,
    }
    if detail:
        out.update({
            "description": case.description, "address": case.address, "lng": case.lng, "lat": case.lat,
            "feedback": case.feedback, "rating": case.rating, "resolved": case.resolved,
            "accepted_at": case.accepted_at, "dispatched_at": case.dispatched_at, "handled_at": case.handled_at,
            "verified_at": case.verified_at, "closed_at": case.closed_at,
            "contact_phone": phone_for(viewer, case.contact_phone, case.area_path),
            "merged_into": case.merged_into_id,
            "allowed_transitions": services.allowed_transitions(viewer, case),
            "timeline": [
                {"at": e.at, "action": e.action.rsplit(".", 1)[-1], "by": e.actor_name, "reason": e.reason}
                for e in selectors.timeline(case)
            ],
        })
    return out


def _cursor(case: Case) -> str:
    return base64.urlsafe_b64encode(f"{case.created_at.isoformat()}|{case.pk}".encode()).decode()


def _after(cursor: str | None) -> tuple[dt.datetime, int] | None:
    if not cursor:
        return None
    try:
        created, pk = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return dt.datetime.fromisoformat(created), int(pk)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput.on("after", "游标无效") from None


def _category(code: str | None) -> Category | None:
    if not code:
        return None
    category = services.CATEGORIES_BY_CODE.get().get(code)
    if category is None:
        raise InvalidInput.on("category_code", "未知诉求分类")
    return category


@router.post("/cases", response={201: dict}, summary="反映诉求 Report a case")
def create_case(request: HttpRequest, payload: CaseIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    area = get_scoped(user, Area, payload.area_id) if payload.area_id else None
    case = services.case_submit(
        actor=user, title=payload.title, description=payload.description, channel=payload.channel, area=area,
        lng=payload.lng, lat=payload.lat, address=payload.address, category=_category(payload.category_code),
        kind=payload.kind, parties=payload.parties, is_public=payload.is_public,
    )
    return Status(201, _case_out(user, selectors.case_get(user, case.pk), detail=True))


@router.get("/cases", response=dict, summary="工作台队列 Workbench queues")
def list_cases(request: HttpRequest, queue: str = "all", area_id: int | None = None, category: str = "",
               q: str = "", limit: int = 50, after: str | None = None) -> dict[str, Any]:
    user = user_of(request)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.on("limit", f"须在 1 到 {MAX_LIMIT} 之间")
    area = get_scoped(user, Area, area_id) if area_id else None
    qs = selectors.queue(user, queue, area=area, category_code=category[:16], text=q[:50])
    page = selectors.queue_page(qs, limit=limit + 1, after=_after(after))
    more = len(page) > limit
    page = page[:limit]
    return {"items": [_case_out(user, c) for c in page], "next": _cursor(page[-1]) if more and page else None}


@router.get("/cases/{case_id}", response=dict, summary="诉求详情 Case")
def get_case(request: HttpRequest, case_id: int) -> dict[str, Any]:
    user = user_of(request)
    return _case_out(user, selectors.case_get(user, case_id), detail=True)


@router.post("/cases/{case_id}/transitions/{name}", response=dict, summary="流转 Move a case")
def move_case(request: HttpRequest, case_id: int, name: str, payload: TransitionIn) -> dict[str, Any]:
    user = user_of(request)
    if name not in TRANSITIONS:
        raise NotFound("未知操作")
    case = selectors.case_get(user, case_id)
    data: dict[str, Any] = {"feedback": payload.feedback, "resolved": payload.resolved,
                            "claimable": payload.claimable}
    if payload.category_code:
        data["category"] = _category(payload.category_code)
    if payload.unit_id is not None:
        # Any department may be dispatched to, wherever it sits on the tree (its name is public).
        unit = MemberUnit.objects.filter(pk=payload.unit_id).first()
        if unit is None:
            raise InvalidInput.on("unit_id", "单位不存在")
        data["unit"] = unit
    if payload.time_limit:
        data["time_limit"] = payload.time_limit
    if payload.rating:
        data["rating"] = payload.rating
    if payload.into_id is not None:
        data["into"] = selectors.case_get(user, payload.into_id)
    if payload.to_level:
        data["to_level"] = payload.to_level
    case = services.transition(actor=user, case=case, name=name, expected_version=payload.version,
                               reason=payload.reason, **data)
    return _case_out(user, selectors.case_get(user, case.pk), detail=True)


@router.post("/cases/{case_id}/extensions", response={201: dict}, summary="申请延期 Request an extension")
def request_extension(request: HttpRequest, case_id: int, payload: ExtensionIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    ext = services.extension_request(actor=user, case=selectors.case_get(user, case_id), days=payload.days,
                                     reason=payload.reason)
    return Status(201, {"id": ext.pk, "days": ext.days, "decision": ext.decision})


@router.post("/extensions/{extension_id}/decision", response=dict, summary="审批延期 Decide an extension")
def decide_extension(request: HttpRequest, extension_id: int, payload: DecisionIn) -> dict[str, Any]:
    user = user_of(request)
    ext = Extension.objects.filter(pk=extension_id).select_related("case").first()
    if ext is None:
        raise NotFound("未找到")
    selectors.case_get(user, ext.case_id)  # visible to the caller, or 404
    ext = services.extension_decide(actor=user, extension=ext, approve=payload.approve, reason=payload.reason)
    return {"id": ext.pk, "decision": ext.decision, "due_at": ext.case.due_at}


@router.get("/cases/{case_id}/duplicates", response=list[dict], summary="疑似重复 Likely duplicates")
def duplicates(request: HttpRequest, case_id: int) -> list[dict[str, Any]]:
    user = user_of(request)
    case = selectors.case_get(user, case_id)
    return [{"case": _case_out(user, d.case), "score": d.score, "reasons": d.reasons}
            for d in selectors.suggest_duplicates(user, case)]


@router.get("/case-figures", response=dict, summary="诉求统计 Figures (G1)")
def case_figures(request: HttpRequest, area_id: int, start: dt.date | None = None,
                 end: dt.date | None = None) -> dict[str, Any]:
    user = user_of(request)
    end = end or timezone.localdate()
    start = start or end - dt.timedelta(days=365)
    area = get_scoped(user, Area, area_id)
    return {
        "figures": selectors.figures(user, area, start, end).as_dict(),
        "by_child": [f.as_dict() for f in selectors.figures_by_child(user, area, start, end)],
        "by_unit": [{"unit": {"id": u.pk, "name": u.name}, **f.as_dict()}
                    for u, f in selectors.figures_by_unit(user, area, start, end)],
    }


@router.get("/categories", response=list[dict], summary="诉求分类 Categories")
def categories(request: HttpRequest, parent: str = "") -> list[dict[str, Any]]:
    qs = Category.objects.filter(active=True)
    qs = qs.filter(parent__code=parent) if parent else qs.filter(depth=1)
    return [{"code": c.code, "name": c.name, "depth": c.depth, "time_limit": c.time_limit,
             "default_level": c.default_level} for c in qs.order_by("code")[:200]]
