"""Admission control in the JSON API (社区工作事项准入): requests, decisions, the 准入清单, flags and the 减负
figures."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from gongzhi.accounts.roles import Cap
from gongzhi.api.auth import user_of
from gongzhi.core.errors import InvalidInput
from gongzhi.core.scope import get_scoped
from gongzhi.registry.models import Area, MemberUnit

from ..models import AdmissionRequest, AdmittedItem, UnadmittedFlag, WorkKind
from ..selectors import admission as selectors
from ..services import admission as services
from ..services.common import actor_units

router = Router(tags=["共驻共建 cobuild"])

KindLiteral = Literal[tuple(WorkKind.values)]  # type: ignore[valid-type]


class RequestIn(Schema):
    department_id: int = Field(..., description="申请部门（本人为其经办人）")
    area_id: int = Field(..., description="报送的街道或区")
    kind: KindLiteral = Field(..., description="task/meeting/report/signoff/assessment")  # type: ignore[valid-type]
    title: str = Field(..., min_length=1, max_length=100)
    description: str = Field(..., min_length=1, max_length=2000)
    basis: str = Field("", max_length=200)
    communities: int = Field(0, ge=0, le=10000, description="涉及社区数")


class RequestStepIn(Schema):
    step: Literal["admit", "refuse", "withdraw"]
    version: int | None = Field(None, ge=1)
    reason: str = Field("", max_length=300, description="不予准入时必填")
    admitted_item_id: int | None = Field(None, description="关联已有准入事项；空则新增")


class AdmittedItemIn(Schema):
    area_id: int
    kind: KindLiteral  # type: ignore[valid-type]
    name: str = Field(..., min_length=1, max_length=100)
    department_id: int | None = None
    basis: str = Field("", max_length=200)


class FlagIn(Schema):
    area_id: int = Field(..., description="社区")
    kind: KindLiteral  # type: ignore[valid-type]
    description: str = Field(..., min_length=1, max_length=1000)
    department_id: int | None = None
    department_name: str = Field("", max_length=150)


class HandleIn(Schema):
    note: str = Field(..., min_length=1, max_length=300)


def _request_out(r: AdmissionRequest) -> dict[str, Any]:
    return {"id": r.pk, "title": r.title, "kind": r.kind, "kind_label": r.get_kind_display(),
            "description": r.description, "basis": r.basis, "communities": r.communities,
            "department": {"id": r.department_id, "name": r.department.name},
            "area": {"id": r.area_id, "name": r.area.name}, "state": r.state, "state_label": r.get_state_display(),
            "version": r.version, "filed_at": r.filed_at, "decided_at": r.decided_at,
            "decision_reason": r.decision_reason, "admitted_item_id": r.admitted_item_id}


def _item_out(i: AdmittedItem) -> dict[str, Any]:
    return {"id": i.pk, "name": i.name, "kind": i.kind, "area": {"id": i.area_id, "name": i.area.name},
            "department_id": i.department_id, "basis": i.basis, "admitted_on": i.admitted_on, "active": i.active}


def _flag_out(f: UnadmittedFlag) -> dict[str, Any]:
    return {"id": f.pk, "area": {"id": f.area_id, "name": f.area.name}, "department_id": f.department_id,
            "department_name": f.department_name, "kind": f.kind, "description": f.description,
            "flagged_at": f.flagged_at, "handled_at": f.handled_at, "handling": f.handling}


def _page(qs: Any, limit: int, after: int | None, out: Any) -> dict[str, Any]:
    qs = qs.order_by("-pk")
    if after is not None:
        qs = qs.filter(pk__lt=after)
    page = list(qs[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return {"items": [out(x) for x in page], "next": page[-1].pk if more and page else None}


@router.get("/cobuild/admission/requests", response=dict, summary="准入申请 Admission requests")
def list_requests(request: HttpRequest, state: Literal["filed", "admitted", "refused", "withdrawn"] | None = None,
                  limit: int = Query(50, ge=1, le=200), after: int | None = None) -> dict[str, Any]:
    user = user_of(request)
    qs = selectors.requests(user)
    if state:
        qs = qs.filter(state=state)
    return _page(qs, limit, after, _request_out)


@router.post("/cobuild/admission/requests", response={201: dict}, summary="提交准入申请 File a request")
def file_request(request: HttpRequest, payload: RequestIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    if payload.department_id not in actor_units(user):
        raise InvalidInput.on("department_id", "只能以本单位名义申请")
    dept = MemberUnit.objects.get(pk=payload.department_id)
    area = Area.objects.filter(pk=payload.area_id).first()
    req = services.request_file(actor=user, department=dept, area=area, kind=payload.kind, title=payload.title,
                                description=payload.description, basis=payload.basis,
                                communities=payload.communities)
    return Status(201, _request_out(selectors.request_get(user, req.pk)))


@router.get("/cobuild/admission/requests/{request_id}", response=dict, summary="准入申请详情")
def get_request(request: HttpRequest, request_id: int) -> dict[str, Any]:
    return _request_out(selectors.request_get(user_of(request), request_id))


@router.post("/cobuild/admission/requests/{request_id}/steps", response=dict,
             summary="审核/撤回 Admit, refuse or withdraw")
def request_step(request: HttpRequest, request_id: int, payload: RequestStepIn) -> dict[str, Any]:
    user = user_of(request)
    req = selectors.request_get(user, request_id)
    item = selectors.item_get(user, payload.admitted_item_id) if payload.admitted_item_id else None
    services.request_step(actor=user, request=req, step=payload.step, expected_version=payload.version,
                          reason=payload.reason, admitted_item=item)
    return _request_out(selectors.request_get(user, request_id))


@router.get("/cobuild/admission/items", response=dict, summary="准入清单 Admitted items")
def list_items(request: HttpRequest, limit: int = Query(50, ge=1, le=200), after: int | None = None) -> dict[str, Any]:
    return _page(selectors.items(user_of(request)), limit, after, _item_out)


@router.post("/cobuild/admission/items", response={201: dict}, summary="新增准入事项 Add to the list")
def create_item(request: HttpRequest, payload: AdmittedItemIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    area = get_scoped(user, Area, payload.area_id, cap=Cap.COBUILD_MANAGE)
    dept = get_scoped(user, MemberUnit, payload.department_id) if payload.department_id else None
    item = services.admitted_item_create(actor=user, area=area, kind=payload.kind, name=payload.name,
                                         department=dept, basis=payload.basis)
    return Status(201, _item_out(item))


@router.post("/cobuild/admission/items/{item_id}/retire", response=dict, summary="移出准入清单 Retire an item")
def retire_item(request: HttpRequest, item_id: int) -> dict[str, Any]:
    user = user_of(request)
    return _item_out(services.admitted_item_retire(actor=user, item=selectors.item_get(user, item_id)))


@router.get("/cobuild/admission/flags", response=dict, summary="未准入事项反映 Flags")
def list_flags(request: HttpRequest, limit: int = Query(50, ge=1, le=200), after: int | None = None) -> dict[str, Any]:
    return _page(selectors.flags(user_of(request)), limit, after, _flag_out)


@router.post("/cobuild/admission/flags", response={201: dict}, summary="反映未准入事项 Flag unadmitted work")
def raise_flag(request: HttpRequest, payload: FlagIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    area = get_scoped(user, Area, payload.area_id, cap=Cap.COBUILD_MANAGE)
    dept = MemberUnit.objects.filter(pk=payload.department_id).first() if payload.department_id else None
    if payload.department_id and dept is None:
        raise InvalidInput.on("department_id", "单位不存在")
    flag = services.flag_raise(actor=user, area=area, kind=payload.kind, description=payload.description,
                               department=dept, department_name=payload.department_name)
    return Status(201, _flag_out(flag))


@router.post("/cobuild/admission/flags/{flag_id}/handle", response=dict, summary="处理反映 Handle a flag")
def handle_flag(request: HttpRequest, flag_id: int, payload: HandleIn) -> dict[str, Any]:
    user = user_of(request)
    flag = services.flag_handle(actor=user, flag=selectors.flag_get(user, flag_id), note=payload.note)
    return _flag_out(UnadmittedFlag.objects.select_related("area").get(pk=flag.pk))


@router.get("/cobuild/admission/figures", response=dict, summary="减负统计 Admission figures")
def figures(request: HttpRequest, area_id: int, start: dt.date | None = None,
            end: dt.date | None = None) -> dict[str, Any]:
    user = user_of(request)
    area = get_scoped(user, Area, area_id, cap=Cap.COBUILD_VIEW)
    today = timezone.localdate()
    f = selectors.figures(user, area, start or today.replace(month=1, day=1), end or today)

    def row(r: selectors.Row) -> dict[str, Any]:
        return {"label": r.label, "area_id": r.area.pk if r.area else None, "filed": r.filed,
                "admitted": r.admitted, "refused": r.refused, "withdrawn": r.withdrawn, "pending": r.pending,
                "spared": r.spared, "flags": r.flags, "flags_handled": r.flags_handled,
                "refusal_rate": r.refusal_rate}

    return {"area": {"id": area.pk, "name": area.name}, "start": f.start, "end": f.end,
            "rows": [row(r) for r in f.rows], "total": row(f.total)}
