"""The demand and resource libraries and matching in the JSON API (mounted under /api/v1/): needs, resources,
suggestions for a need, matches and their steps. Parse → scoped fetch → service → schema; errors are rendered by
gongzhi.api.errors (400 names the field, 403, 404 outside the scope, 409 on a stale version or a full resource)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from gongzhi.accounts.roles import Cap
from gongzhi.api.auth import user_of
from gongzhi.api.fields import Money
from gongzhi.core.errors import InvalidInput
from gongzhi.core.scope import get_scoped
from gongzhi.registry.models import Area, MemberUnit, PartyOrganisation, Person

from ..models import Match, Need, Resource
from ..selectors import library as selectors
from ..services import library as services
from ..workflow import NeedState

router = Router(tags=["共驻共建 cobuild"])

MAX_LIMIT = 200
KindCode = Literal["elderly", "meals", "medical", "legal", "education", "culture", "science", "environment",
                   "facilities", "venue", "funds", "employment", "children", "other"]
UrgencyCode = Literal["normal", "urgent", "critical"]
VERSION_HELP = "乐观锁版本：读取时得到的 version；与当前不符则 409 冲突"


class NeedIn(Schema):
    area_id: int = Field(..., description="需求所在的社区、网格或小区")
    kind: KindCode = Field(..., description="需求类别")
    title: str = Field(..., min_length=1, max_length=100)
    description: str = Field("", max_length=2000)
    scale: str = Field("", max_length=100, description="需求规模，如“受益约 120 户”")
    quantity: int = Field(1, ge=1, le=1_000_000, description="需求数量（按资源的计量单位）")
    beneficiaries: int = Field(0, ge=0, le=1_000_000)
    urgency: UrgencyCode = "normal"
    wanted_by: dt.date | None = Field(None, description="期望解决时间，不能早于今天")
    case_id: int | None = Field(None, description="由诉求转化：诉求 id（须可见）")
    agenda_item_id: int | None = Field(None, description="由议事决议转化：已决议的议题 id（须可见）")


class NeedPatch(Schema):
    version: int = Field(..., ge=1, description=VERSION_HELP)
    kind: KindCode | None = None
    title: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=2000)
    scale: str | None = Field(None, max_length=100)
    quantity: int | None = Field(None, ge=1, le=1_000_000)
    beneficiaries: int | None = Field(None, ge=0, le=1_000_000)
    urgency: UrgencyCode | None = None
    wanted_by: dt.date | None = None
    reason: str = Field("", max_length=200)


class LibraryStepIn(Schema):
    step: str = Field(..., max_length=20, description="需求：meet / reopen / withdraw；对接：confirm / decline / "
                                                       "cancel / complete")
    version: int | None = Field(None, ge=1, description=VERSION_HELP)
    reason: str = Field("", max_length=200)


class ResourceIn(Schema):
    owner_kind: Literal["unit", "organisation", "person"] = Field(..., description="提供方类型")
    unit_id: int | None = Field(None, description="驻区单位（本单位经办人）")
    organisation_id: int | None = Field(None, description="党组织（其所在区域的管理人员）")
    person_id: int | None = Field(None, description="本人（党员或志愿者）")
    kind: KindCode
    title: str = Field(..., min_length=1, max_length=100)
    description: str = Field("", max_length=2000)
    capacity: int = Field(..., ge=1, le=1_000_000, description="可提供数量")
    measure: str = Field("次", min_length=1, max_length=10, description="计量单位：次、小时、平方米、元…")
    cadence: str = Field("", max_length=50, description="提供频次，如“每年 6 次”")
    amount: Money | None = None
    valid_from: dt.date
    valid_until: dt.date
    reach_area_ids: list[int] = Field(default_factory=list, max_length=30,
                                      description="服务区域（各含其下级）；留空为提供方所在社区/街道")


class ResourcePatch(Schema):
    version: int = Field(..., ge=1, description=VERSION_HELP)
    kind: KindCode | None = None
    title: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=2000)
    capacity: int | None = Field(None, ge=1, le=1_000_000, description="不能少于已对接数量")
    measure: str | None = Field(None, min_length=1, max_length=10)
    cadence: str | None = Field(None, max_length=50)
    amount: Money | None = None
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    reach_area_ids: list[int] | None = Field(None, max_length=30)
    active: Literal[False] | None = Field(None, description="false：下架")
    reason: str = Field("", max_length=200)


class MatchIn(Schema):
    need_id: int
    resource_id: int
    quantity: int | None = Field(None, ge=1, le=1_000_000, description="对接数量；留空为需求数量")
    note: str = Field("", max_length=300)
    side: Literal["need", "resource"] | None = Field(None, description="以哪一方发起（可代表双方时）")


def _need_out(n: Need) -> dict[str, Any]:
    return {"id": n.pk, "title": n.title, "kind": n.kind, "kind_label": n.get_kind_display(),
            "area": {"id": n.area_id, "name": n.area.name}, "description": n.description, "scale": n.scale,
            "quantity": n.quantity, "beneficiaries": n.beneficiaries, "urgency": n.urgency,
            "wanted_by": n.wanted_by, "source": n.source, "case_id": n.case_id, "state": n.state,
            "state_label": n.get_state_display(), "created_at": n.created_at, "met_at": n.met_at,
            "version": n.version}


def _resource_out(r: Resource, reach: list[Area] | None = None) -> dict[str, Any]:
    out = {"id": r.pk, "title": r.title, "kind": r.kind, "kind_label": r.get_kind_display(),
           "owner_kind": r.owner_kind, "owner": selectors.owner_name(r), "unit_id": r.unit_id,
           "organisation_id": r.organisation_id, "person_id": r.person_id, "description": r.description,
           "capacity": r.capacity, "used": r.used, "left": r.left, "measure": r.measure, "cadence": r.cadence,
           "amount": str(r.amount) if r.amount is not None else None, "valid_from": r.valid_from,
           "valid_until": r.valid_until, "active": r.active, "version": r.version}
    if reach is not None:
        out["reach"] = [{"id": a.pk, "name": a.name, "kind": a.kind} for a in reach]
    return out


def _match_out(m: Match) -> dict[str, Any]:
    return {"id": m.pk, "need_id": m.need_id, "resource_id": m.resource_id, "quantity": m.quantity,
            "proposed_by_side": m.proposed_by_side, "note": m.note, "state": m.state,
            "state_label": m.get_state_display(), "created_at": m.created_at, "confirmed_at": m.confirmed_at,
            "version": m.version}


def _page(qs: QuerySet[Any], limit: int, after: int | None, out: Any) -> dict[str, Any]:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.on("limit", f"须在 1 到 {MAX_LIMIT} 之间")
    qs = qs.order_by("-pk")
    if after is not None:
        qs = qs.filter(pk__lt=after)
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [out(r) for r in rows], "next": rows[-1].pk if more and rows else None}


def _area(user: Any, pk: int | None, field: str) -> Area | None:
    if pk is None:
        return None
    hit = Area.objects.filter(pk=pk).first()
    if hit is None:
        raise InvalidInput.on(field, "区域不存在")
    return hit


# ------------------------------------------------------------------------------------------------ needs


@router.get("/cobuild/needs", response=dict, summary="社区需求库 Needs")
def list_needs(request: HttpRequest, kind: KindCode | None = None, state: str | None = Query(None, max_length=12),
               area_id: int | None = None, limit: int = Query(50, ge=1, le=MAX_LIMIT),
               after: int | None = None) -> dict[str, Any]:
    """The needs in the caller's scope, newest first. Keyset pagination: pass ``next`` as ``after``."""
    user = user_of(request)
    if state and state not in NeedState.values:
        raise InvalidInput.on("state", "未知状态")
    area = get_scoped(user, Area, area_id, cap=Cap.COBUILD_VIEW) if area_id else None
    return _page(selectors.needs(user, kind=kind or "", state=state or "", area=area), limit, after, _need_out)


@router.post("/cobuild/needs", response={201: dict}, summary="登记需求 Register a need")
def create_need(request: HttpRequest, payload: NeedIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    args: dict[str, Any] = {"kind": payload.kind, "description": payload.description, "scale": payload.scale,
            "quantity": payload.quantity, "beneficiaries": payload.beneficiaries, "urgency": payload.urgency,
            "wanted_by": payload.wanted_by}
    if payload.case_id is not None:
        from gongzhi.cases import selectors as case_selectors

        case = case_selectors.case_get(user, payload.case_id)
        need = services.need_from_case(actor=user, case=case, title=payload.title, **args)
    else:
        area = get_scoped(user, Area, payload.area_id, cap=Cap.COBUILD_VIEW)
        item = None
        if payload.agenda_item_id is not None:
            from gongzhi.councils.models import AgendaItem

            item = get_scoped(user, AgendaItem, payload.agenda_item_id)
        need = services.need_register(actor=user, area=area, title=payload.title, agenda_item=item, **args)
    return Status(201, _need_out(selectors.need_get(user, need.pk)))


@router.get("/cobuild/needs/matching", response=list[dict], summary="匹配建议 Suggestions for an area")
def needs_matching(request: HttpRequest, area_id: int,
                   per_need: int = Query(3, ge=1, le=10, description="每个需求推荐几项资源")) -> list[dict[str, Any]]:
    """Every open need of the area's subtree the caller sees (at most 2,000), each with its best resources, ranked
    as for one need."""
    user = user_of(request)
    area = get_scoped(user, Area, area_id, cap=Cap.COBUILD_VIEW)
    return [{"need": {"id": n.pk, "title": n.title, "kind": n.kind, "area": n.area.name},
             "suggestions": [{"rank": s.rank, "resource": _resource_out(s.resource), "reach": s.reach_label,
                              "left": s.left, "explanation": s.explanation} for s in suggestions]}
            for n, suggestions in selectors.suggest_for_area(user, area, per_need)]


@router.get("/cobuild/needs/{need_id}", response=dict, summary="需求详情 A need")
def get_need(request: HttpRequest, need_id: int) -> dict[str, Any]:
    user = user_of(request)
    return _need_out(selectors.need_get(user, need_id))


@router.patch("/cobuild/needs/{need_id}", response=dict, summary="修改需求 Update a need (version)")
def update_need(request: HttpRequest, need_id: int, payload: NeedPatch) -> dict[str, Any]:
    user = user_of(request)
    need = selectors.need_get(user, need_id)
    given = payload.dict(exclude_unset=True)
    fields = {k: given.get(k, getattr(need, k)) for k in ("kind", "title", "description", "scale", "quantity",
                                                          "beneficiaries", "urgency", "wanted_by")}
    services.need_update(actor=user, need=need, expected_version=payload.version, reason=payload.reason, **fields)
    return _need_out(selectors.need_get(user, need_id))


@router.post("/cobuild/needs/{need_id}/step", response=dict, summary="需求操作 meet / reopen / withdraw")
def step_need(request: HttpRequest, need_id: int, payload: LibraryStepIn) -> dict[str, Any]:
    user = user_of(request)
    need = selectors.need_get(user, need_id)
    services.need_step(actor=user, need=need, step=payload.step, expected_version=payload.version,
                       reason=payload.reason)
    return _need_out(selectors.need_get(user, need_id))


@router.get("/cobuild/needs/{need_id}/suggestions", response=list[dict], summary="推荐资源 Suggested resources")
def need_suggestions(request: HttpRequest, need_id: int, limit: int = Query(10, ge=1, le=200)) -> list[dict[str, Any]]:
    """Ranked by reach (same community → street → district), capacity left, past reliability; each with its
    Chinese explanation."""
    user = user_of(request)
    need = selectors.need_get(user, need_id)
    return [{"rank": s.rank, "resource": _resource_out(s.resource), "reach": s.reach_label, "left": s.left,
             "done": s.done, "failed": s.failed, "reliability": s.reliability, "explanation": s.explanation}
            for s in selectors.suggest(need, limit)]


# ------------------------------------------------------------------------------------------------ resources


@router.get("/cobuild/resources", response=dict, summary="资源库 Resources")
def list_resources(request: HttpRequest, kind: KindCode | None = None,
                   owner_kind: Literal["unit", "organisation", "person"] | None = None,
                   active: Literal["1", "0", "all"] = "1", mine: bool = False, area_id: int | None = None,
                   limit: int = Query(50, ge=1, le=MAX_LIMIT), after: int | None = None) -> dict[str, Any]:
    """The library as the caller may browse it (her scope and what is offered to her area); ``mine``: her unit's
    and her own only."""
    user = user_of(request)
    area = get_scoped(user, Area, area_id, cap=Cap.COBUILD_VIEW) if area_id else None
    qs = selectors.resources(user, kind=kind or "", owner_kind=owner_kind or "", active=active, area=area,
                             mine=mine)
    return _page(qs, limit, after, _resource_out)


@router.post("/cobuild/resources", response={201: dict}, summary="提供资源 Offer a resource")
def create_resource(request: HttpRequest, payload: ResourceIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    unit = MemberUnit.objects.filter(pk=payload.unit_id).first() if payload.unit_id else None
    org = PartyOrganisation.objects.filter(pk=payload.organisation_id).first() if payload.organisation_id else None
    person = Person.objects.filter(pk=payload.person_id).first() if payload.person_id else None
    for given, found, field in ((payload.unit_id, unit, "unit_id"), (payload.organisation_id, org,
                                                                     "organisation_id"),
                                (payload.person_id, person, "person_id")):
        if given and found is None:
            raise InvalidInput.on(field, "不存在")
    reach = list(Area.objects.filter(pk__in=payload.reach_area_ids)) if payload.reach_area_ids else None
    if reach is not None and len(reach) != len(set(payload.reach_area_ids)):
        raise InvalidInput.on("reach_area_ids", "区域不存在")
    resource = services.resource_offer(
        actor=user, owner_kind=payload.owner_kind, unit=unit, organisation=org, person=person, kind=payload.kind,
        title=payload.title, description=payload.description, capacity=payload.capacity, measure=payload.measure,
        cadence=payload.cadence, amount=payload.amount, valid_from=payload.valid_from,
        valid_until=payload.valid_until, reach=reach)
    return Status(201, _resource_out(resource, selectors.reach_of(resource)))


@router.get("/cobuild/resources/{resource_id}", response=dict, summary="资源详情 A resource")
def get_resource(request: HttpRequest, resource_id: int) -> dict[str, Any]:
    user = user_of(request)
    r = selectors.resource_get(user, resource_id)
    return _resource_out(r, selectors.reach_of(r))


@router.patch("/cobuild/resources/{resource_id}", response=dict, summary="修改或下架资源 Update a resource (version)")
def update_resource(request: HttpRequest, resource_id: int, payload: ResourcePatch) -> dict[str, Any]:
    user = user_of(request)
    r = selectors.resource_get(user, resource_id)
    given = payload.dict(exclude_unset=True)
    if given.get("active") is False and len(set(given) - {"active", "version", "reason"}) == 0:
        services.resource_retire(actor=user, resource=r, expected_version=payload.version, reason=payload.reason)
    else:
        reach = None
        if payload.reach_area_ids is not None:
            reach = list(Area.objects.filter(pk__in=payload.reach_area_ids))
            if len(reach) != len(set(payload.reach_area_ids)):
                raise InvalidInput.on("reach_area_ids", "区域不存在")
        fields = {k: given.get(k, getattr(r, k)) for k in ("kind", "title", "description", "capacity", "measure",
                                                           "cadence", "amount", "valid_from", "valid_until")}
        r = services.resource_update(actor=user, resource=r, expected_version=payload.version, reach=reach,
                                     reason=payload.reason, **fields)
        if given.get("active") is False:
            services.resource_retire(actor=user, resource=r, reason=payload.reason)
    r = selectors.resource_get(user, resource_id)
    return _resource_out(r, selectors.reach_of(r))


# ------------------------------------------------------------------------------------------------ matches


@router.get("/cobuild/matches", response=dict, summary="对接记录 Matches")
def list_matches(request: HttpRequest, need_id: int | None = None, resource_id: int | None = None,
                 limit: int = Query(50, ge=1, le=MAX_LIMIT), after: int | None = None) -> dict[str, Any]:
    user = user_of(request)
    qs = selectors.matches(user)
    if need_id is not None:
        qs = qs.filter(need_id=need_id)
    if resource_id is not None:
        qs = qs.filter(resource_id=resource_id)
    return _page(qs, limit, after, _match_out)


@router.post("/cobuild/matches", response={201: dict}, summary="发起对接 Propose a match")
def create_match(request: HttpRequest, payload: MatchIn) -> Status[dict[str, Any]]:
    """Either side proposes; the other confirms (``POST /cobuild/matches/{id}/step`` with ``confirm``)."""
    user = user_of(request)
    need = selectors.need_get(user, payload.need_id)
    resource = selectors.resource_for_need(user, need, payload.resource_id)
    match = services.match_propose(actor=user, need=need, resource=resource, quantity=payload.quantity,
                                   note=payload.note, side=payload.side)
    return Status(201, _match_out(match))


@router.post("/cobuild/matches/{match_id}/step", response=dict,
             summary="对接操作 confirm / decline / cancel / complete")
def step_match(request: HttpRequest, match_id: int, payload: LibraryStepIn) -> dict[str, Any]:
    """Confirming takes the quantity from the resource: when it is no longer there, 409 with the reason."""
    user = user_of(request)
    match = selectors.match_get(user, match_id)
    match = services.match_step(actor=user, match=match, step=payload.step, expected_version=payload.version,
                                reason=payload.reason)
    return _match_out(match)



