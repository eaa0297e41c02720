"""Services anywhere in the JSON API (mounted under /api/v1/): the catalogue, applications (create at a window or
online, the steps, a missing material, the rectification of a bad rating), the queues and an area's figures.
Parse → scoped fetch → service → schema; lists are keyset-paginated on the id (limit ≤ 200). Files travel as base64
(a JPEG, PNG or PDF up to 10 MB)."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from gongzhi.accounts.roles import Cap
from gongzhi.api.auth import user_of
from gongzhi.core.errors import InvalidInput, NotFound
from gongzhi.core.scope import get_scoped, scope_of
from gongzhi.registry.models import Area, Person
from gongzhi.registry.presenters import id_number_for

from . import selectors, services
from .models import Application, Material, Rectification, ServiceItem

router = Router(tags=["政务服务 govservice"])

MAX_LIMIT = 200
MAX_B64 = 14_000_000  # 10 MB once decoded
FieldName = Annotated[str, Field(max_length=32)]
FieldValue = Annotated[str, Field(max_length=200)]
Base64File = Annotated[str, Field(max_length=MAX_B64)]


class FormField(Schema):
    name: str = Field(..., max_length=32)
    label: str = Field(..., max_length=50)
    type: Literal["text", "number", "date", "choice"] = "text"
    required: bool = False
    choices: list[Annotated[str, Field(max_length=50)]] = Field(default_factory=list, max_length=30)


class MaterialIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    original_required: bool = False
    required: bool = True


class ServiceItemIn(Schema):
    code: str = Field(..., min_length=1, max_length=20, description="事项编码")
    name: str = Field(..., min_length=1, max_length=100)
    department_id: int = Field(..., description="审批部门（成员单位 id）")
    time_limit_days: int = Field(..., ge=1, le=60, description="承诺时限（工作日）")
    previous_time_limit_days: int | None = Field(None, ge=1, le=365, description="改革前时限（工作日）")
    eligibility: str = Field("", max_length=200)
    min_age: int | None = Field(None, ge=0, le=120)
    fee_yuan: float = Field(0, ge=0, le=99999.99)
    anywhere: bool = Field(True, description="全市通办；否则只在 tiers 层级的阵地受理")
    tiers: list[Literal["zone", "community", "station"]] = Field(default_factory=list, max_length=3)
    form_fields: list[FormField] = Field(default_factory=list, max_length=20)
    description: str = Field("", max_length=1000)
    active: bool = True
    materials: list[MaterialIn] = Field(default_factory=list, max_length=15)


class MaterialFile(Schema):
    material_id: int = Field(..., description="材料 id（事项的申请材料）")
    file: Base64File = Field(..., description="文件（base64）")


class ApplicationIn(Schema):
    item_id: int
    applicant_id: int | None = Field(None, description="申请人（人员 id）；窗口可用 id_number；本人申请可省略")
    id_number: str = Field("", max_length=18, description="申请人身份证号（窗口受理）")
    form_data: dict[FieldName, FieldValue | int | float | None] = Field(default_factory=dict,
                                                                        description="申请表（按事项的表单字段）")
    provided: list[int] = Field(default_factory=list, max_length=15, description="已收取的材料 id")
    files: list[MaterialFile] = Field(default_factory=list, max_length=15, description="材料文件（JPEG/PNG/PDF）")
    site_id: int | None = Field(None, description="受理阵地")
    on_behalf: bool = Field(False, description="帮办代办")
    consent: Literal["signed", "phone", "in_person", ""] = Field("", description="本人授权方式（帮办代办时必填）")
    consent_note: str = Field("", max_length=200)
    accept: bool = Field(True, description="窗口录入后立即受理")
    note: str = Field("", max_length=500, description="受理意见 / 补正告知")


class ApplicationStepIn(Schema):
    step: Literal["accept", "reject", "request_materials", "approve", "refuse", "issue", "rate"]
    reason: str = Field("", max_length=500)
    missing: list[int] = Field(default_factory=list, max_length=15, description="需补正的材料（申请材料 id）")
    method: Literal["collected", "delivered", "mailed", ""] = ""
    rating: int | None = Field(None, ge=1, le=5, description="5 非常满意 … 1 非常不满意")
    version: int | None = Field(None, ge=1)


class MaterialFileIn(Schema):
    file: str | None = Field(None, max_length=MAX_B64, description="文件（base64）；窗口收纸质材料时可省略")
    original_seen: bool = False


class AnswerIn(Schema):
    answer: str = Field(..., min_length=1, max_length=1000)
    version: int | None = Field(None, ge=1)


# ------------------------------------------------------------------------------------------ shapes


def _item_out(i: ServiceItem) -> dict[str, Any]:
    return {"id": i.pk, "code": i.code, "name": i.name, "department": {"id": i.department_id,
                                                                        "name": i.department.name},
            "time_limit_days": i.time_limit_days, "previous_time_limit_days": i.previous_time_limit_days,
            "eligibility": i.eligibility, "min_age": i.min_age, "fee_yuan": float(i.fee_yuan),
            "anywhere": i.anywhere, "tiers": i.tiers, "where": i.where_label(), "form_fields": i.form_fields,
            "description": i.description, "active": i.active, "version": i.version,
            "materials": [{"id": m.pk, "name": m.name, "original_required": m.original_required,
                           "required": m.required, "template": m.template.url if m.template else None}
                          for m in i.materials.all()]}


def _app_out(user: Any, a: Application, detail: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": a.pk, "number": a.number, "item": {"id": a.item_id, "code": a.item.code, "name": a.item.name},
        "applicant": {"id": a.applicant_id, "name": a.applicant.name},
        "home_area": {"id": a.area_id, "name": a.area.name},
        "window_area": {"id": a.window_area_id, "name": a.window_area.name},
        "department": {"id": a.department_id, "name": a.department.name}, "site_id": a.site_id,
        "state": a.state, "state_label": a.get_state_display(), "tongban": a.tongban, "online": a.online,
        "on_behalf": a.agent_id is not None, "submitted_at": a.submitted_at, "accepted_at": a.accepted_at,
        "due_at": a.due_at, "paused_days": a.paused_days, "missing": a.missing, "decided_at": a.decided_at,
        "approved": a.approved, "working_days": a.working_days, "on_time": a.on_time, "issued_at": a.issued_at,
        "rating": a.rating, "overdue": a.is_overdue(), "version": a.version}
    if detail:
        person = a.applicant
        out["applicant"]["id_number"] = id_number_for(user, person.id_number, a.area_path, person.pk)
        out.update({
            "form_data": a.form_data, "consent": a.consent or None, "consent_note": a.consent_note,
            "correction_note": a.correction_note, "refuse_reason": a.refuse_reason,
            "issue_method": a.issue_method or None, "rating_reason": a.rating_reason,
            "materials": [{"id": m.pk, "name": m.name, "provided": m.provided, "original_seen": m.original_seen,
                           "file": bool(m.file)} for m in a.materials.all()],
            "steps": [t.name for t in services.application_steps(user, a)]})
    return out


def _page(qs: Any, limit: int, after: int | None) -> dict[str, Any]:
    if after is not None:
        qs = qs.filter(pk__lt=after)
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return {"rows": rows, "next": rows[-1].pk if more and rows else None}


def _decode(raw: str, field: str) -> bytes:
    if len(raw) > MAX_B64:
        raise InvalidInput.on(field, "文件不能超过10MB")
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError:
        raise InvalidInput.on(field, "文件须为 base64 编码") from None


def _app(user: Any, pk: int) -> Application:
    return get_scoped(user, Application.objects.select_related(
        "item", "applicant", "area", "window_area", "department"), pk)


# ------------------------------------------------------------------------------------------ the catalogue


@router.get("/services/items", response=dict, summary="服务事项目录 The service catalogue")
def list_items(request: HttpRequest, include_inactive: bool = False) -> dict[str, Any]:
    user = user_of(request)
    manage = scope_of(user).has(Cap.SERVICE_CATALOGUE)
    return {"items": [_item_out(i) for i in selectors.catalogue(active_only=not (include_inactive and manage))]}


@router.get("/services/items/{item_id}", response=dict, summary="服务事项 One catalogue item")
def get_item(request: HttpRequest, item_id: int) -> dict[str, Any]:
    item = selectors.catalogue(active_only=False).filter(pk=item_id).first()
    if item is None:
        raise NotFound("服务事项不存在")
    return _item_out(item)


@router.put("/services/items", response=dict, summary="保存服务事项 Create or update an item by its code")
def save_item(request: HttpRequest, payload: ServiceItemIn) -> dict[str, Any]:
    data = payload.dict()
    materials = data.pop("materials")
    data["department"] = data.pop("department_id")
    item = services.item_save(actor=user_of(request), code=payload.code, data=data, materials=materials)
    return _item_out(selectors.catalogue(active_only=False).get(pk=item.pk))


class TemplateIn(Schema):
    filename: str = Field(..., min_length=5, max_length=100, description="文件名（.pdf、.docx 或 .xlsx）")
    file: Base64File = Field(..., description="文件（base64）")


@router.post("/services/items/{item_id}/materials/{material_id}/template", response=dict,
             summary="上传样表 Attach a template to a material")
def upload_template(request: HttpRequest, item_id: int, material_id: int, payload: TemplateIn) -> dict[str, Any]:
    material = Material.objects.filter(pk=material_id, item_id=item_id).first()
    if material is None:
        raise NotFound("材料不存在")
    services.material_template_save(actor=user_of(request), material=material, filename=payload.filename,
                                    data=_decode(payload.file, "file"))
    return _item_out(selectors.catalogue(active_only=False).get(pk=item_id))


@router.post("/services/catalogue/defaults", response=dict, summary="载入默认目录 Load the default catalogue")
def load_defaults(request: HttpRequest) -> dict[str, Any]:
    return {"created": services.load_default_catalogue(actor=user_of(request))}


# ------------------------------------------------------------------------------------------ applications


@router.post("/services/applications", response={201: dict}, summary="申请/窗口受理 Apply or accept at a window")
def create_application(request: HttpRequest, payload: ApplicationIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    item = ServiceItem.objects.filter(pk=payload.item_id).first()
    if item is None:
        raise InvalidInput.on("item_id", "服务事项不存在")
    s = scope_of(user)
    if payload.id_number:
        applicant = services.find_applicant(actor=user, id_number=payload.id_number)
    elif payload.applicant_id is not None:
        if payload.applicant_id == s.person_id:
            applicant = Person.objects.get(pk=s.person_id)
        else:
            applicant = get_scoped(user, Person, payload.applicant_id)
    elif s.person_id is not None:
        applicant = Person.objects.get(pk=s.person_id)
    else:
        raise InvalidInput.on("id_number", "请填写申请人身份证号")
    site = None
    if payload.site_id is not None:
        from gongzhi.sites.models import Site

        site = Site.objects.filter(pk=payload.site_id).first()
        if site is None:
            raise InvalidInput.on("site_id", "服务阵地不存在")
    files = {f.material_id: (f"file{f.material_id}", _decode(f.file, f"files.{f.material_id}")) for f in payload.files}
    app = services.application_create(
        actor=user, item=item, applicant=applicant, form_data=payload.form_data, provided=payload.provided,
        files=files, site=site, on_behalf=payload.on_behalf, consent=payload.consent,
        consent_note=payload.consent_note, accept=payload.accept, note=payload.note)
    return Status(201, _app_out(user, _app(user, app.pk), detail=True))


@router.get("/services/applications", response=dict, summary="办件 Applications (queue: window/department/mine)")
def list_applications(request: HttpRequest, queue: Literal["window", "department", "mine", "all"] = "all",
                      area_id: int | None = None, state: str = Query("", max_length=12),
                      limit: int = Query(50, ge=1, le=MAX_LIMIT), after: int | None = None) -> dict[str, Any]:
    user = user_of(request)
    if queue == "window":
        qs = selectors.window_queue(user, state)
    elif queue == "department":
        qs = selectors.department_queue(user, state)
    elif queue == "mine":
        qs = selectors.my_applications(user)
    else:
        area = get_scoped(user, Area, area_id, cap=Cap.SERVICE_VIEW) if area_id is not None else None
        qs = selectors.applications(user, area=area, state=state)
    page = _page(qs, limit, after)
    return {"items": [_app_out(user, a) for a in page["rows"]], "next": page["next"]}


@router.get("/services/applications/{application_id}", response=dict, summary="办件详情 One application")
def get_application(request: HttpRequest, application_id: int) -> dict[str, Any]:
    user = user_of(request)
    return _app_out(user, _app(user, application_id), detail=True)


@router.post("/services/applications/{application_id}/steps", response=dict,
             summary="办理 Take a step (accept, reject, request materials, approve, refuse, issue, rate)")
def application_step(request: HttpRequest, application_id: int, payload: ApplicationStepIn) -> dict[str, Any]:
    user = user_of(request)
    app = services.application_step(actor=user, app=_app(user, application_id), step=payload.step,
                                     reason=payload.reason, missing=payload.missing, method=payload.method,
                                     rating=payload.rating, expected_version=payload.version)
    return _app_out(user, _app(user, app.pk), detail=True)


@router.post("/services/applications/{application_id}/materials/{material_id}", response=dict,
             summary="补正材料 Add a missing material")
def provide_material(request: HttpRequest, application_id: int, material_id: int,
                     payload: MaterialFileIn) -> dict[str, Any]:
    user = user_of(request)
    file = (f"material{material_id}", _decode(payload.file, "file")) if payload.file else None
    app = services.material_provide(actor=user, app=_app(user, application_id), material_id=material_id, file=file,
                                    original_seen=payload.original_seen)
    return _app_out(user, _app(user, app.pk), detail=True)


@router.post("/services/applications/{application_id}/rectification", response=dict,
             summary="答复差评整改 Answer a bad rating's rectification")
def answer_rectification(request: HttpRequest, application_id: int, payload: AnswerIn) -> dict[str, Any]:
    user = user_of(request)
    app = _app(user, application_id)
    rect = Rectification.objects.filter(application=app).first()
    if rect is None:
        raise NotFound("该办件没有差评整改")
    rect = services.rectification_answer(actor=user, rectification=rect, answer=payload.answer,
                                         expected_version=payload.version)
    return {"id": rect.pk, "state": rect.state, "answer": rect.answer, "answered_at": rect.answered_at}


@router.get("/services/figures", response=dict, summary="政务服务统计 Figures of an area")
def service_figures(request: HttpRequest, area_id: int) -> dict[str, Any]:
    user = user_of(request)
    f = selectors.figures(user, get_scoped(user, Area, area_id, cap=Cap.SERVICE_VIEW))
    return {"area": {"id": f.area.pk, "name": f.area.name}, "total": f.total, "tongban": f.tongban,
            "tongban_share": f.tongban_share, "on_behalf": f.on_behalf, "online": f.online, "decided": f.decided,
            "on_time_rate": f.on_time_rate, "rated": f.rated, "good_rate": f.good_rate, "by_state": f.by_state,
            "by_tier": f.by_tier, "ratings": {str(k): v for k, v in f.ratings.items()},
            "by_window": [{"window": w, "count": n} for w, n in f.by_window],
            "items": [{"code": i.item.code, "name": i.item.name, "total": i.total, "decided": i.decided,
                       "on_time_rate": i.on_time_rate, "avg_working_days": i.avg_days,
                       "time_limit_days": i.item.time_limit_days,
                       "previous_time_limit_days": i.item.previous_time_limit_days} for i in f.items]}
