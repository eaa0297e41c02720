"""The case pipeline's part of the JSON API (a django-ninja router mounted under /api/v1/ by gongzhi.api).

Thin by design: parse (pydantic) → scoped fetch → the module's actions/selectors → schema. Errors are the domain
errors, which the API renders in its one error shape.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Header, Query, Router, Schema, Status
from ninja.responses import NinjaJSONEncoder

from gongzhi.api.auth import user_of
from gongzhi.core import idempotency, replicas
from gongzhi.core.errors import InvalidInput, NotFound
from gongzhi.core.scope import get_scoped
from gongzhi.registry.models import Area, AreaKind, MemberUnit, Person
from gongzhi.registry.presenters import phone_for

from . import selectors, services
from .models import Case, Category, Extension
from .workflow import TRANSITIONS

router = Router(tags=["诉求 cases"])

MAX_LIMIT = 200


class CasePartyIn(Schema):
    name: str = Field(..., min_length=1, max_length=50, description="姓名")
    role: str = Field("", max_length=20, description="身份：申请人、被申请人…")


class CaseIn(Schema):
    title: str = Field(..., min_length=1, max_length=100, description="标题")
    description: str = Field(..., min_length=1, max_length=4000, description="内容")
    category_code: str | None = Field(None, max_length=16, description="诉求分类代码 (DB44/T 2479)")
    area_id: int | None = Field(None, description="发生地：社区/网格/小区/楼栋节点")
    lng: float | None = Field(None, ge=-180, le=180, description="经度 (WGS84)")
    lat: float | None = Field(None, ge=-90, le=90, description="纬度 (WGS84)")
    address: str = Field("", max_length=200)
    channel: Literal["app", "patrol", "reception", "mediation_point", "hotline", "window", "meeting", "visit"] = Field(
        "app", description="来源渠道：工作人员代居民登记时选择（热线、窗口、居民接待日、评理说事点、网格巡查、"
                           "入户走访、会议决定）")
    kind: Literal["general", "mediation"] = "general"
    parties: list[CasePartyIn] = Field(default_factory=list, max_length=20, description="调解当事人")
    is_public: bool = True
    reporter_id: int | None = Field(None, description="代居民反映：反映人（人员 id，须在您的工作范围内）")
    reporter_phone: str = Field("", max_length=20, description="代居民反映：反映人手机号，匹配到唯一居民时自动关联")
    contact_name: str = Field("", max_length=50, description="反映人姓名（未登记的居民）")


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
    due_at: dt.datetime | dt.date | None = Field(None, description="督办：新的办结时限（日期为当天结束）")


class UpdateIn(Schema):
    text: str = Field("", max_length=1000, description="补充说明")
    photos: list[Annotated[str, Field(max_length=7_000_000)]] = Field(
        default_factory=list, max_length=6, description="照片，base64 编码的 JPEG/PNG（每张不超过 5 MB）")


class CaseVisitIn(Schema):
    method: Literal["phone", "questionnaire", "in_person"]
    result: Literal["resolved", "unresolved", "unreachable"]
    satisfaction: Literal["satisfied", "basic", "dissatisfied", ""] = ""
    note: str = Field("", max_length=1000)


class ExtensionIn(Schema):
    days: int = Field(..., ge=1, le=30)
    reason: str = Field(..., min_length=1, max_length=1000)


class DecisionIn(Schema):
    approve: bool
    reason: str = Field("", max_length=1000)


def _case_out(viewer: Any, case: Case, *, detail: bool = False, fresh: bool = False) -> dict[str, Any]:
    """``fresh``: the case was reported in this request — no update or visit can exist yet, so none is looked up."""
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
        "duplicate_count": case.duplicate_count, "follower_count": case.follower_count,
        "place": case.place or case.area.name, "time_left": case.time_left_text or None,
        "supervised_at": case.supervised_at, "urge_count": case.urge_count, "version": case.version,
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
            "updates": [] if fresh else [{"at": u.created_at, "text": u.text, "photos": u.photo_count}
                                         for u in case.updates.order_by("created_at")[:50]],
            "visits": [] if fresh else [{"at": v.at, "method": v.method, "result": v.result,
                                         "satisfaction": v.satisfaction, "note": v.note}
                                        for v in case.visits.order_by("-at")[:20]],
            "timeline": [
                {"at": e.at, "action": e.action.rsplit(".", 1)[-1], "by": e.actor_name, "reason": e.reason}
                for e in selectors.timeline(case)
            ],
        })
    return out


def _cursor(case: Case, sort: str = "new") -> str:
    stamp, pk = selectors.page_key(case, sort)
    return base64.urlsafe_b64encode(f"{stamp.isoformat() if stamp else '-'}|{pk}".encode()).decode()


def _after(cursor: str | None) -> tuple[dt.datetime | None, int] | None:
    if not cursor:
        return None
    try:
        stamp, pk = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return (None if stamp == "-" else dt.datetime.fromisoformat(stamp)), int(pk)
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
def create_case(request: HttpRequest, payload: CaseIn,
                idempotency_key: str | None = Header(None, alias="Idempotency-Key", min_length=1, max_length=255,
                                                     description="重试时带同一个键：不会重复立案")) -> HttpResponse:
    """With an ``Idempotency-Key`` header a retry of the same request returns the first answer (header
    ``Idempotent-Replayed: true``) and never creates a second case."""
    user = user_of(request)

    def run() -> idempotency.Response:
        area = get_scoped(user, Area, payload.area_id) if payload.area_id else None
        reporter = get_scoped(user, Person, payload.reporter_id) if payload.reporter_id else None
        case = services.case_submit(
            actor=user, title=payload.title, description=payload.description, channel=payload.channel, area=area,
            lng=payload.lng, lat=payload.lat, address=payload.address, category=_category(payload.category_code),
            kind=payload.kind, parties=[p.dict() for p in payload.parties], is_public=payload.is_public,
            reporter=reporter,
            reporter_phone=payload.reporter_phone, contact_name=payload.contact_name,
        )
        body = json.dumps(_case_out(user, selectors.case_reported(case), detail=True, fresh=True), cls=NinjaJSONEncoder)
        return idempotency.Response(201, "application/json; charset=utf-8", body)

    result, replayed = idempotency.once(request=request, user=user, endpoint="api.cases.create",
                                        key=idempotency.key_of(request), run=run)
    response = HttpResponse(result.body, status=result.status, content_type=result.content_type)
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


@router.get("/cases", response=dict, summary="工作台队列 Workbench queues")
def list_cases(request: HttpRequest, queue: str = Query("all", max_length=100), area_id: int | None = None,
               category: str = Query("", max_length=100), q: str = Query("", max_length=50),
               limit: int = Query(50, ge=1, le=200), after: str | None = Query(None, max_length=64),
               sort: Literal["new", "due"] = "new") -> dict[str, Any]:
    """``sort=due``: the nearest deadline first (the most overdue on top), cases without one last."""
    with replicas.routed(request):  # a list or figures: may be read from a standby
        user = user_of(request)
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput.on("limit", f"须在 1 到 {MAX_LIMIT} 之间")
        area = get_scoped(user, Area, area_id) if area_id else None
        qs = selectors.queue(user, queue, area=area, category_code=category[:16], text=q[:50])
        page = selectors.queue_page(qs, limit=limit + 1, after=_after(after), sort=sort)
        more = len(page) > limit
        page = page[:limit]
        return {"items": [_case_out(user, c) for c in page],
                "next": _cursor(page[-1], sort) if more and page else None}


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
    if payload.due_at:
        data["due_at"] = payload.due_at
    case = services.transition(actor=user, case=case, name=name, expected_version=payload.version,
                               reason=payload.reason, **data)
    return _case_out(user, selectors.case_get(user, case.pk), detail=True)


def _photos(encoded: list[str]) -> list[tuple[str, bytes]]:
    out = []
    for i, item in enumerate(encoded):
        try:
            out.append((f"photo{i}", base64.b64decode(item, validate=True)))
        except ValueError:
            raise InvalidInput.on(f"photos[{i}]", "照片须为 base64 编码") from None
    return out


@router.post("/cases/{case_id}/updates", response={201: dict}, summary="反映人补充 Add an update or photos")
def add_update(request: HttpRequest, case_id: int, payload: UpdateIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    update = services.case_update_add(actor=user, case=selectors.case_get(user, case_id), text=payload.text,
                                      photos=_photos(payload.photos))
    return Status(201, {"id": update.pk, "text": update.text, "photos": update.photo_count, "at": update.created_at})


def _followable(user: Any, case_id: int) -> Case:
    try:
        return selectors.case_get(user, case_id)
    except NotFound:
        return selectors.public_case_get(case_id)  # 我也遇到 on a public case


@router.post("/cases/{case_id}/follow", response=dict, summary="我也遇到 Follow a case")
def follow_case(request: HttpRequest, case_id: int) -> dict[str, Any]:
    user = user_of(request)
    case = _followable(user, case_id)
    follower = services.case_follow(actor=user, case=case)
    case.refresh_from_db(fields=["follower_count"])
    return {"following": True, "kind": follower.kind, "follower_count": case.follower_count}


@router.delete("/cases/{case_id}/follow", response=dict, summary="取消关注 Unfollow a case")
def unfollow_case(request: HttpRequest, case_id: int) -> dict[str, Any]:
    user = user_of(request)
    case = _followable(user, case_id)
    services.case_unfollow(actor=user, case=case)
    return {"following": False, "follower_count": case.follower_count}


@router.post("/cases/{case_id}/visits", response={201: dict}, summary="回访 Record a follow-up visit")
def record_visit(request: HttpRequest, case_id: int, payload: CaseVisitIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    visit = services.case_visit_record(actor=user, case=selectors.case_get(user, case_id), method=payload.method,
                                       result=payload.result, satisfaction=payload.satisfaction, note=payload.note)
    return Status(201, {"id": visit.pk, "method": visit.method, "result": visit.result,
                        "satisfaction": visit.satisfaction, "note": visit.note, "at": visit.at})


def _public_out(case: Case) -> dict[str, Any]:
    """A public case: no names, phones or exact addresses (the place stops at the compound)."""
    return {
        "id": case.pk, "number": case.number, "title": case.title, "state": case.state,
        "state_label": case.get_state_display(),
        "category": {"code": case.category.code, "name": case.category.name} if case.category else None,
        "place": case.place or case.area.name, "follower_count": case.follower_count,
        "created_at": case.created_at, "closed_at": case.closed_at,
    }


@router.get("/public/cases", response=dict, auth=None, summary="公开诉求 Public cases (no sign-in)")
def public_cases(request: HttpRequest, area_id: int | None = None, limit: int = Query(50, ge=1, le=200),
                 after: str | None = Query(None, max_length=64)) -> dict[str, Any]:
    with replicas.routed(request):  # a list or figures: may be read from a standby
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput.on("limit", f"须在 1 到 {MAX_LIMIT} 之间")
        area = None
        if area_id is not None:
            area = Area.objects.filter(pk=area_id, kind__in=[AreaKind.CITY, AreaKind.DISTRICT, AreaKind.STREET,
                                                             AreaKind.COMMUNITY]).first()
            if area is None:
                raise NotFound("未找到")
        page = selectors.queue_page(selectors.public_cases(area), limit=limit + 1, after=_after(after))
        more = len(page) > limit
        page = selectors.with_places(page[:limit], compound_only=True)
        return {"items": [_public_out(c) for c in page], "next": _cursor(page[-1]) if more and page else None}


@router.get("/public/cases/{case_id}", response=dict, auth=None, summary="公开诉求详情 A public case")
def public_case(request: HttpRequest, case_id: int) -> dict[str, Any]:
    return _public_out(selectors.public_case_get(case_id))


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
    with replicas.routed(request):  # a list or figures: may be read from a standby
        user = user_of(request)
        end = end or timezone.localdate()
        start = start or (end - dt.timedelta(days=365) if end.year > 2000 else end)
        selectors.check_period(start, end)
        area = get_scoped(user, Area, area_id)
        return {
            "figures": selectors.figures(user, area, start, end).as_dict(),
            "by_child": [f.as_dict() for f in selectors.figures_by_child(user, area, start, end)],
            "by_unit": [{"unit": {"id": u.pk, "name": u.name}, **f.as_dict()}
                        for u, f in selectors.figures_by_unit(user, area, start, end)],
        }


@router.get("/categories", response=list[dict], summary="诉求分类 Categories")
def categories(request: HttpRequest, parent: str = Query("", max_length=100)) -> list[dict[str, Any]]:
    qs = Category.objects.filter(active=True)
    qs = qs.filter(parent__code=parent) if parent else qs.filter(depth=1)
    return [{"code": c.code, "name": c.name, "depth": c.depth, "time_limit": c.time_limit,
             "default_level": c.default_level} for c in qs.order_by("code")[:200]]
