"""The write path of services anywhere (F1–F2). Every function is keyword-only, atomic and audited, checks the actor
and validates before it writes; state moves through the declared tables of :mod:`gongzhi.govservice.workflow`.

- Catalogue (目录管理, ``SERVICE_CATALOGUE``): :func:`item_save` writes one item with its materials and form;
  :func:`load_default_catalogue` loads the shipped one (the catalogue page's button, the demo, a fresh install);
  :func:`import_catalogue` takes the Excel sheet (:mod:`.excel`).
- 前台综合受理: a window clerk (``SERVICE_ACCEPT`` anywhere: 全市通办) enters an application for any resident of the
  city — looked up by ID number — and accepts it at once (:func:`application_create` with ``accept=True``); with a
  required material missing it is accepted as 待补正 and the clock is stopped until the material comes. A grid worker
  or station staff applying at a resident's door records that she applied on the resident's behalf and how the
  resident consented (帮办代办). A resident applies for herself from the phone (网上申请): a window of her home
  community accepts it (:func:`application_step` ``accept``).
- 后台分类审批: the deciding department's handler (``SERVICE_DECIDE`` on the unit) approves, refuses with a reason or
  asks for materials (the clock stops again).
- 统一窗口出件: a window of the accepting or the home area hands it out; the resident rates it (好差评); a bad rating
  opens a rectification that the department answers (:func:`rectification_answer`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.accounts.roles import Cap
from gongzhi.core import audit, workdays
from gongzhi.core.errors import Forbidden, InvalidInput, NotFound
from gongzhi.core.permissions import require
from gongzhi.core.scope import as_scope
from gongzhi.core.validators import normalize_id_number
from gongzhi.core.validators import text_in as _text
from gongzhi.core.validators import whole_number as _int
from gongzhi.core.workflow import Transition
from gongzhi.registry.models import Area, AreaKind, MemberUnit, Person

from . import catalogue
from .models import (
    BAD_RATINGS,
    MAX_LIMIT_DAYS,
    Application,
    ApplicationMaterial,
    Consent,
    IssueMethod,
    Material,
    Rating,
    Rectification,
    ServiceItem,
)
from .workflow import APPLICANT, APPLICATION, DEPARTMENT, RECTIFICATION, WINDOW, ApplicationState

MAX_MATERIALS = 15
MAX_FILE_BYTES = 10 * 1024 * 1024
PDF_SIGNATURE = b"%PDF-"
ITEM_FIELDS = ["name", "department", "time_limit_days", "previous_time_limit_days", "eligibility", "min_age",
               "fee_yuan", "anywhere", "tiers", "form_fields", "description", "active"]


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) else None


def _require_catalogue(actor: Any) -> None:
    """The catalogue is the city's: whoever keeps it (``SERVICE_CATALOGUE`` anywhere) keeps all of it."""
    if actor is not None and not as_scope(actor).has(Cap.SERVICE_CATALOGUE):
        raise Forbidden(_("您没有权限执行此操作"))


# ------------------------------------------------------------------------------------------ the catalogue


def _department(value: Any) -> MemberUnit:
    if isinstance(value, MemberUnit):
        return value
    text = str(value or "").strip()
    if not text:
        raise InvalidInput.on("department", _("请选择审批部门"))
    unit = (MemberUnit.objects.filter(pk=int(text)).first() if text.isdigit()
            else MemberUnit.objects.filter(name=text).first())
    if unit is None:
        raise InvalidInput.on("department", _("审批部门不存在：{name}").format(name=text[:50]))
    return unit


def _fee(value: Any) -> Decimal:
    try:
        fee = Decimal(str(value if value not in (None, "") else "0")).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise InvalidInput.on("fee_yuan", _("收费须为金额（元）")) from None
    if fee < 0 or fee > Decimal("99999.99"):
        raise InvalidInput.on("fee_yuan", _("收费须在0到99999.99元之间"))
    return fee


def _materials(value: Any) -> list[tuple[str, bool, bool]]:
    """``[(name, original_required, required)]`` from tuples or dicts; names unique."""
    out: list[tuple[str, bool, bool]] = []
    for i, raw in enumerate(value or []):
        if isinstance(raw, dict):
            name, original, required = raw.get("name"), raw.get("original_required"), raw.get("required", True)
        elif isinstance(raw, (list, tuple)) and raw:
            name, original, required = [*raw, False, True][:3]
        else:
            name, original, required = raw, False, True
        name = _text(str(name or ""), f"materials[{i}]", 100, required=True, message=_("请填写材料名称"))
        if any(name == n for n, _o, _r in out):
            raise InvalidInput.on(f"materials[{i}]", _("材料重复：{name}").format(name=name))
        out.append((name, bool(original), bool(required)))
    if len(out) > MAX_MATERIALS:
        raise InvalidInput.on("materials", _("申请材料最多{n}项").format(n=MAX_MATERIALS))
    return out


def _item_values(data: dict[str, Any]) -> dict[str, Any]:
    limit = _int(data.get("time_limit_days"), "time_limit_days", 1, MAX_LIMIT_DAYS)
    before = data.get("previous_time_limit_days")
    min_age = data.get("min_age")
    anywhere = bool(data.get("anywhere", True))
    tiers = catalogue.clean_tiers(data.get("tiers") or [])
    if not anywhere and not tiers:
        raise InvalidInput.on("tiers", _("不是全市通办的事项须选择可办理的阵地层级"))
    return {
        "name": _text(data.get("name"), "name", 100, required=True, message=_("请填写事项名称")),
        "department": _department(data.get("department")),
        "time_limit_days": limit,
        "previous_time_limit_days": (None if before in (None, "") else
                                     _int(before, "previous_time_limit_days", 1, 365)),
        "eligibility": _text(data.get("eligibility"), "eligibility", 200),
        "min_age": None if min_age in (None, "") else _int(min_age, "min_age", 0, 120),
        "fee_yuan": _fee(data.get("fee_yuan")),
        "anywhere": anywhere,
        "tiers": [] if anywhere else tiers,
        "form_fields": catalogue.clean_form_fields(data.get("form_fields")),
        "description": _text(data.get("description"), "description", 1000),
        "active": bool(data.get("active", True)),
    }


@transaction.atomic
def item_save(*, actor: Any, code: str, data: dict[str, Any], materials: Any = None) -> ServiceItem:
    """Create the item ``code`` or rewrite it (a new version); ``materials`` (if given) replaces its list, keeping
    the rows (and templates) of materials whose name stays."""
    _require_catalogue(actor)
    code = _text(code, "code", 20, required=True, message=_("请填写事项编码")).upper()
    values = _item_values(data)
    wanted = None if materials is None else _materials(materials)
    item = ServiceItem.objects.select_for_update().filter(code=code).first()
    if item is None:
        item = ServiceItem(code=code, **values)
        try:
            with transaction.atomic():
                item.save(force_insert=True)
        except IntegrityError:
            raise InvalidInput.on("code", _("事项编码已存在：{code}").format(code=code)) from None
        before: dict[str, Any] = {}
        action = "govservice.item.create"
    else:
        before = audit.snapshot(item, ITEM_FIELDS)
        for k, v in values.items():
            setattr(item, k, v)
        item.version += 1
        item.save()
        action = "govservice.item.update"
    if wanted is not None:
        keep = {n for n, _o, _r in wanted}
        item.materials.exclude(name__in=keep).delete()
        existing = {m.name: m for m in item.materials.all()}
        for pos, (name, original, required) in enumerate(wanted):
            m = existing.get(name) or Material(item=item, name=name)
            m.original_required, m.required, m.position = original, required, pos
            m.save()
    after = audit.snapshot(item, ITEM_FIELDS)
    after["materials"] = list(item.materials.values_list("name", flat=True))
    audit.record(actor=actor, action=action, obj=item, before=before, after=after)
    return item


@transaction.atomic
def material_template_save(*, actor: Any, material: Material, filename: str, data: bytes) -> Material:
    """Attach a 样表 (a PDF, Word or Excel file) to a material."""
    _require_catalogue(actor)
    suffix = (filename.rsplit(".", 1)[-1] if "." in filename else "").lower()
    if suffix not in ("pdf", "docx", "xlsx") or len(data) > MAX_FILE_BYTES:
        raise InvalidInput.on("template", _("样表须为不超过10MB的 PDF、Word 或 Excel 文件"))
    signature = PDF_SIGNATURE if suffix == "pdf" else b"PK\x03\x04"
    if not data.startswith(signature):
        raise InvalidInput.on("template", _("文件内容与扩展名不符"))
    material.template.save(f"template.{suffix}", ContentFile(data), save=True)
    audit.record(actor=actor, action="govservice.material.template", obj=material,
                 after={"template": material.template.name}, area_path="")
    return material


def load_default_catalogue(*, actor: Any) -> int:
    """The shipped catalogue (our own wording): items whose code exists are left alone; departments missing from the
    registry are skipped. Returns how many items were created."""
    _require_catalogue(actor)
    created = 0
    units = dict(MemberUnit.objects.filter(name__in={d["department"] for d in catalogue.DEFAULT_ITEMS})
                 .values_list("name", "pk"))
    for d in catalogue.DEFAULT_ITEMS:
        if d["department"] not in units or ServiceItem.objects.filter(code=d["code"]).exists():
            continue
        item_save(actor=actor, code=d["code"], materials=d["materials"], data={
            "name": d["name"], "department": units[d["department"]], "time_limit_days": d["limit"],
            "previous_time_limit_days": d.get("before"), "eligibility": d.get("eligibility", ""),
            "min_age": d.get("min_age"), "fee_yuan": d.get("fee", "0"), "anywhere": d.get("anywhere", True),
            "tiers": d.get("tiers", []), "form_fields": d.get("fields", []), "description": d.get("description", "")})
        created += 1
    return created


# ------------------------------------------------------------------------------------------ who is who


def home_community(area: Area) -> Area:
    """The community an area lies in (the area itself above community level)."""
    if area.kind == AreaKind.COMMUNITY:
        return area
    community = Area.objects.filter(kind=AreaKind.COMMUNITY, path__in=[area.path[:i] for i in
                                                                   range(Area.steplen, len(area.path),
                                                                         Area.steplen)]).first()
    return community or area


def application_roles(actor: Any, app: Application) -> set[str]:
    if actor is None:
        return {WINDOW, DEPARTMENT, APPLICANT}
    s = as_scope(actor)
    roles = set()
    if s.can(Cap.SERVICE_ACCEPT, area_path=app.window_path) or s.can(Cap.SERVICE_ACCEPT, area_path=app.area_path):
        roles.add(WINDOW)
    if app.department_id in s.unit_ids(Cap.SERVICE_DECIDE):
        roles.add(DEPARTMENT)
    if s.person_id is not None and s.person_id == app.applicant_id:
        roles.add(APPLICANT)
    return roles


def application_steps(actor: Any, app: Application) -> list[Transition]:
    """The steps the caller may take now (the page's buttons); a resident rates only once."""
    steps = APPLICATION.available(app.state, actors=application_roles(actor, app))
    if app.rating is not None:
        steps = [t for t in steps if t.name != "rate"]
    return steps


def find_applicant(*, actor: Any, id_number: str) -> Person:
    """The resident a window serves, found by her ID number (the card she shows): any resident of the city, because
    any window serves any resident (全市通办). Only staff who accept applications may look."""
    if actor is not None and not as_scope(actor).has(Cap.SERVICE_ACCEPT):
        raise Forbidden(_("您没有权限执行此操作"))
    number = normalize_id_number(id_number, "id_number")
    person = Person.objects.select_related("area").filter(id_number=number).first()
    if person is None:
        raise InvalidInput.on("id_number", _("未找到该身份证号的居民，请先在人员库登记"))
    return person


def _window_area(actor: Any, site: Any) -> Area:
    if site is not None:
        return Area.objects.get(pk=site.area_id)
    s = as_scope(actor)
    prefixes = [p for p in s.area_prefixes(Cap.SERVICE_ACCEPT) if p]
    if not prefixes:
        raise Forbidden(_("您没有受理窗口"))
    return Area.objects.get(path=max(prefixes, key=len))


# ------------------------------------------------------------------------------------------ files


def clean_file(name: str, data: bytes, field: str) -> tuple[bytes, str, str]:
    """A material's file checked like a case photo: a JPEG or PNG is decoded and encoded afresh (no metadata,
    nothing appended); a PDF must start as one; at most 10 MB. Returns (bytes, content type, suffix)."""
    from gongzhi.cases.services import reencode_photo

    if not data:
        raise InvalidInput.on(field, _("文件为空"))
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput.on(field, _("文件不能超过10MB"))
    if data.startswith(PDF_SIGNATURE):
        if b"%%EOF" not in data[-1024:]:
            raise InvalidInput.on(field, _("PDF 文件不完整"))
        return data, "application/pdf", ".pdf"
    cleaned, kind = reencode_photo(data, field=field)
    return cleaned, kind, ".png" if kind == "image/png" else ".jpg"


def _store(am: ApplicationMaterial, file: tuple[str, bytes], field: str) -> None:
    data, kind, suffix = clean_file(file[0], file[1], field)
    am.content_type = kind
    am.file.save(f"material{suffix}", ContentFile(data), save=False)


# ------------------------------------------------------------------------------------------ applications


def _provided(item: ServiceItem, provided: Any, files: dict[int, tuple[str, bytes]]) -> set[int]:
    ids = {m.pk for m in item.materials.all()}
    chosen = set()
    for raw in provided or []:
        try:
            pk = int(getattr(raw, "pk", raw))
        except (TypeError, ValueError):
            raise InvalidInput.on("provided", _("材料无效")) from None
        if pk not in ids:
            raise InvalidInput.on("provided", _("该事项没有这项材料"))
        chosen.add(pk)
    for pk in files:
        if pk not in ids:
            raise InvalidInput.on("files", _("该事项没有这项材料"))
        chosen.add(pk)
    return chosen


def _missing_names(app: Application) -> list[str]:
    return [am.name for am in app.materials.all() if not am.provided and am.material_id is not None
            and am.material is not None and am.material.required]


@transaction.atomic
def application_create(*, actor: Any, item: ServiceItem, applicant: Person, form_data: Any = None,
                       provided: Any = None, files: dict[int, tuple[str, bytes]] | None = None, site: Any = None,
                       on_behalf: bool = False, consent: str = "", consent_note: str = "", accept: bool = True,
                       note: str = "", now: dt.datetime | None = None) -> Application:
    """An application for ``applicant``.

    A resident for herself (网上申请): 待受理 at her home community's window. Staff (``SERVICE_ACCEPT``): entered at
    their window (``site``'s area, else their own) and, with ``accept``, accepted at once — 办理中 with every
    required material, else 待补正 with the list of what is missing (一次性告知). ``on_behalf`` (帮办代办) needs the
    resident's consent (how she gave it). An item that is not 全市通办 is accepted only at a site of its tiers.
    """
    files = files or {}
    now = now or timezone.now()
    if not item.active:
        raise InvalidInput.on("item", _("该事项已停办"))
    s = as_scope(actor) if actor is not None else None
    staff = actor is None or bool(s and s.has(Cap.SERVICE_ACCEPT))
    self_apply = s is not None and s.person_id == applicant.pk and not on_behalf
    if not staff and not self_apply:
        raise Forbidden(_("只能为本人申请；帮办代办须由窗口或网格工作人员办理"))
    home = home_community(Area.objects.get(pk=applicant.area_id))
    if item.min_age and applicant.birth_year and now.year - applicant.birth_year < item.min_age:
        raise InvalidInput.on("item", _("{item}须年满{n}周岁").format(item=item.name, n=item.min_age))
    if self_apply and not staff:
        window, site = home, None
    else:
        window = _window_area(actor, site)
        require(actor, Cap.SERVICE_ACCEPT, area_path=window.path)
    if site is not None and not site.active:
        raise InvalidInput.on("site", _("该服务阵地已停用"))
    if not item.anywhere and (site is None or site.tier not in item.tiers) and not (self_apply and not staff):
        raise InvalidInput.on("site", _("{item}只能在{where}窗口办理").format(item=item.name,
                                                                           where=item.where_label()))
    consent = (consent or "").strip()
    if on_behalf:
        if consent not in Consent.values:
            raise InvalidInput.on("consent", _("帮办代办须记录本人授权方式"))
    else:
        consent = ""
    data = catalogue.clean_form_data(item.form_fields or [], form_data)
    chosen = _provided(item, provided, files)
    app = Application(
        item=item, department_id=item.department_id, applicant=applicant, area=home, area_path=home.path,
        window_area=window, window_path=window.path, site=site, site_tier=getattr(site, "tier", "") or "",
        tongban=not window.path.startswith(home.path) and not home.path.startswith(window.path),
        online=self_apply and not staff, agent=_user(actor) if on_behalf else None, consent=consent,
        consent_note=_text(consent_note, "consent_note", 200) if on_behalf else "", form_data=data,
        submitted_at=now, created_by=_user(actor))
    app.save(force_insert=True)
    for m in item.materials.all():
        am = ApplicationMaterial(application=app, material=m, name=m.name, provided=m.pk in chosen,
                                 original_seen=m.pk in chosen and m.original_required and staff,
                                 provided_at=now if m.pk in chosen else None)
        if m.pk in files:
            _store(am, files[m.pk], f"files.{m.pk}")
        am.save()
    audit.record(actor=actor, action="govservice.application.create", obj=app,
                 after={"item": item.code, "window": window.path, "tongban": app.tongban, "online": app.online,
                        "on_behalf": on_behalf, "consent": consent, "provided": sorted(chosen)})
    if accept and staff and not (self_apply and not staff):
        app = application_step(actor=actor, app=app, step="accept", reason=note, now=now)
    return app


def _extend(app: Application, now: dt.datetime) -> dict[str, Any]:
    """Restart a stopped clock: the working days it stood still move the deadline on."""
    if app.paused_at is None:
        return {}
    stopped = workdays.workdays_between(app.paused_at.astimezone(workdays.TZ).date(),
                                        now.astimezone(workdays.TZ).date())
    due = app.due_at
    if due is not None and stopped:
        due = workdays.add_workdays(due, stopped)
    return {"paused_at": None, "paused_days": app.paused_days + stopped, "due_at": due}


def _used_days(app: Application, now: dt.datetime) -> int:
    start = (app.accepted_at or now).astimezone(workdays.TZ).date()
    total = workdays.workdays_between(start, now.astimezone(workdays.TZ).date())
    return max(total - app.paused_days, 0)


@transaction.atomic
def application_step(*, actor: Any, app: Application, step: str, reason: str = "", missing: Any = None,
                     method: str = "", rating: Any = None, expected_version: int | None = None,
                     now: dt.datetime | None = None) -> Application:
    """One step of the table: 受理 (``accept`` — taken as ``accept_awaiting`` when a required material is missing),
    不予受理, 要求补正 (``missing``: the materials' ids), 办结 准予/不予许可, 出件 (``method``), 评价 (``rating``
    1–5; 不满意 and 非常不满意 say why and open a rectification)."""
    now = now or timezone.now()
    app = Application.objects.select_for_update().get(pk=app.pk)
    roles = application_roles(actor, app)
    if step == "accept" and _missing_names(app):
        step = "accept_awaiting"

    def authorise(t: Transition) -> None:
        if not roles & t.actors:
            raise Forbidden(_("您没有权限执行此操作"))

    t, version, reason = APPLICATION.check(app, step, expected_version=expected_version, reason=reason,
                                           authorise=authorise)
    reason = _text(reason, "reason", 500)
    changes: dict[str, Any] = {}
    after: dict[str, Any] = {}
    then: list[Any] = []
    if t.name in ("accept", "accept_awaiting"):
        due = workdays.add_workdays(now, app.item.time_limit_days)
        changes = {"clerk": _user(actor), "accepted_at": now, "due_at": due}
        if t.name == "accept_awaiting":
            names = _missing_names(app)
            changes.update({"paused_at": now, "missing": names, "correction_note": reason})
            after["missing"] = names
    elif t.name == "reject":
        changes = {"refuse_reason": reason, "decided_by": _user(actor), "decided_at": now}
    elif t.name == "request_materials":
        ids = {int(getattr(m, "pk", m)) for m in (missing or []) if str(getattr(m, "pk", m)).isdigit()}
        rows = list(app.materials.filter(pk__in=ids)) if ids else []
        if not rows:
            raise InvalidInput.on("missing", _("请勾选需要补正的材料"))
        for am in rows:
            am.provided, am.provided_at = False, None
            am.save(update_fields=["provided", "provided_at"])
        names = [am.name for am in rows]
        changes = {"paused_at": now, "missing": names, "correction_note": reason}
        after["missing"] = names
    elif t.name == "supplement":
        left = _missing_names(app)
        if left:
            raise InvalidInput.on("files", _("仍缺材料：{names}").format(names="、".join(left)))
        changes = {**_extend(app, now), "missing": []}
    elif t.name in ("approve", "refuse"):
        used = _used_days(app, now)
        changes = {"approved": t.name == "approve", "refuse_reason": reason if t.name == "refuse" else "",
                   "decided_by": _user(actor), "decided_at": now, "working_days": used,
                   "on_time": app.due_at is None or now <= app.due_at}
    elif t.name == "issue":
        if method not in IssueMethod.values:
            raise InvalidInput.on("method", _("请选择出件方式"))
        changes = {"issued_at": now, "issued_by": _user(actor), "issue_method": method}
    elif t.name == "rate":
        if app.rating is not None:
            raise InvalidInput.on("rating", _("已评价过"))
        score = _int(rating, "rating", 1, 5)
        if score in BAD_RATINGS and not reason:
            raise InvalidInput.on("reason", _("评价为不满意时请写明理由"))
        changes = {"rating": score, "rating_reason": reason, "rated_at": now}
        if score in BAD_RATINGS:
            then.append(lambda: Rectification.objects.create(
                application=app, area_path=app.area_path, department_id=app.department_id, complaint=reason,
                created_at=now))
        after["rating_label"] = str(Rating(score).label)
    return APPLICATION.apply(actor=actor, obj=app, name=t.name, version=version, changes=changes, reason=reason,
                             then=then, audit_after=after)


@transaction.atomic
def material_provide(*, actor: Any, app: Application, material_id: int, file: tuple[str, bytes] | None = None,
                     original_seen: bool = False, now: dt.datetime | None = None) -> Application:
    """补正: one missing material arrives — a file from the resident's phone, or the paper seen at a window. When the
    last missing one is in, the application goes back to 办理中 and the clock runs again."""
    now = now or timezone.now()
    app = Application.objects.select_for_update().get(pk=app.pk)
    roles = application_roles(actor, app)
    if not roles & {WINDOW, APPLICANT}:
        raise Forbidden(_("您没有权限执行此操作"))
    if app.state != ApplicationState.AWAITING:
        raise InvalidInput.on("state", _("该申请不在待补正状态"))
    am = app.materials.filter(pk=material_id).first()
    if am is None:
        raise NotFound(_("材料不存在"))
    if file is None and WINDOW not in roles:
        raise InvalidInput.on("file", _("请上传材料文件"))
    if file is not None:
        _store(am, file, "file")
    am.provided, am.provided_at = True, now
    am.original_seen = am.original_seen or (original_seen and WINDOW in roles)
    am.save()
    audit.record(actor=actor, action="govservice.application.material", obj=app,
                 after={"material": am.name, "file": bool(file), "original_seen": am.original_seen})
    if not _missing_names(app):
        app = application_step(actor=actor, app=app, step="supplement", now=now)
    return app


@transaction.atomic
def rectification_answer(*, actor: Any, rectification: Rectification, answer: str,
                         expected_version: int | None = None) -> Rectification:
    """差评整改: the deciding department says what it changed."""
    rect = Rectification.objects.select_for_update().get(pk=rectification.pk)

    def authorise(t: Transition) -> None:
        if actor is not None and rect.department_id not in as_scope(actor).unit_ids(Cap.SERVICE_DECIDE):
            raise Forbidden(_("由审批部门答复整改"))

    t, version, _reason = RECTIFICATION.check(rect, "answer", expected_version=expected_version,
                                              authorise=authorise)
    text = _text(answer, "answer", 1000, required=True, message=_("请填写整改情况"))
    return RECTIFICATION.apply(actor=actor, obj=rect, name=t.name, version=version, reason=text, changes={
        "answer": text, "answered_by": _user(actor), "answered_at": timezone.now()})
