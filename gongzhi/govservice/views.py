"""Pages of services anywhere: the catalogue (办事指南, 目录管理 with Excel in and out), 窗口受理 (find the resident by
ID number, fill the item's form, tick the materials, accept), the window's and the department's queues, one
application with its steps, the resident's own applications (apply online, add a material, rate) and the figures.
Thin: parse → fetch through the scope → service → redirect, or the page again with the errors."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.accounts.roles import Cap
from gongzhi.core.errors import DomainError, InvalidInput
from gongzhi.core.scope import get_scoped, scope_of
from gongzhi.registry.models import Area, Person
from gongzhi.registry.presenters import id_number_for
from gongzhi.web.pages import attempt_flash as _flash
from gongzhi.web.pages import bar_chart, error_text, not_found_as_404, paginate, pie_chart
from gongzhi.web.pages import need as _need

from . import excel, selectors, services
from .models import Application, Consent, IssueMethod, Rating, Rectification, ServiceItem
from .workflow import ApplicationState

MAX_UPLOAD = 10 * 1024 * 1024


def _item(pk: Any) -> ServiceItem:
    item = ServiceItem.objects.select_related("department").filter(pk=pk).first() if str(pk).isdigit() else None
    if item is None:
        raise Http404
    return item


def _files(request: HttpRequest, prefix: str) -> dict[int, tuple[str, bytes]]:
    """Uploaded files named ``<prefix><material id>``; one over 10 MB is refused before it is read."""
    out: dict[int, tuple[str, bytes]] = {}
    for key in request.FILES:
        f = request.FILES.get(key)
        if f is None:
            continue
        suffix = key[len(prefix):]
        if not key.startswith(prefix) or not suffix.isdigit():
            continue
        if (f.size or 0) > MAX_UPLOAD:
            raise InvalidInput.on(f"files.{suffix}", _("文件不能超过10MB"))
        out[int(suffix)] = (f.name or "", f.read())
    return out


def _form_data(request: HttpRequest, item: ServiceItem) -> dict[str, str]:
    return {f["name"]: request.POST.get(f"f_{f['name']}", "") for f in item.form_fields or []}


# ------------------------------------------------------------------------------------------ the catalogue


@login_required
def catalogue(request: HttpRequest) -> HttpResponse:
    """办事指南: every item — who decides, the time limit (and before the reform), where it is handled, the
    materials; managers load the default catalogue and move it in and out of Excel."""
    scope = scope_of(request.user)
    manage = scope.has(Cap.SERVICE_CATALOGUE)
    if request.method == "POST":
        if not manage:
            raise Http404
        if "load_default" in request.POST:
            n = _flash(request, lambda: services.load_default_catalogue(actor=request.user))
            if n is not None:
                messages.success(request, _("已载入默认目录{n}项").format(n=n))
        elif "file" in request.FILES:
            upload = request.FILES.get("file")
            data = upload.read() if upload is not None else b""
            result = _flash(request, lambda: excel.import_catalogue(actor=request.user, data=data))
            if result is not None:
                messages.success(request, _("导入完成：新增{c}项，更新{u}项").format(c=result[0], u=result[1]))
        return redirect("govservice:catalogue")
    items = list(selectors.catalogue(active_only=not manage))
    return render(request, "govservice/catalogue.html", {
        "items": items, "manage": manage, "can_accept": scope.has(Cap.SERVICE_ACCEPT),
        "resident": scope.person_id is not None})


@login_required
def catalogue_export(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.SERVICE_CATALOGUE)
    return excel.export_response(excel.export_catalogue())


@login_required
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = _item(pk)
    scope = scope_of(request.user)
    manage = scope.has(Cap.SERVICE_CATALOGUE)
    if request.method == "POST":
        if not manage:
            raise Http404
        if request.POST.get("template_for", "").isdigit():
            material = item.materials.filter(pk=int(request.POST["template_for"])).first()
            upload = request.FILES.get("template")
            if material is None or upload is None:
                messages.error(request, _("请选择样表文件"))
            elif _flash(request, lambda: services.material_template_save(
                    actor=request.user, material=material, filename=upload.name or "",
                    data=upload.read() if (upload.size or 0) <= MAX_UPLOAD else b"")) is not None:
                messages.success(request, _("样表已上传"))
            return redirect("govservice:item", pk=item.pk)
        data: dict[str, Any] = {k: request.POST.get(k, "") for k in ("name", "department", "time_limit_days",
                                                       "previous_time_limit_days", "eligibility", "min_age",
                                                       "fee_yuan", "description")}
        data["anywhere"] = request.POST.get("anywhere") == "on"
        data["active"] = request.POST.get("active") == "on"
        data["tiers"] = request.POST.getlist("tiers")
        data["form_fields"] = item.form_fields
        saved = _flash(request, lambda: services.item_save(actor=request.user, code=item.code, data=data))
        if saved is not None:
            messages.success(request, _("已保存"))
        return redirect("govservice:item", pk=item.pk)
    from gongzhi.sites.models import Tier

    return render(request, "govservice/item.html", {
        "item": item, "materials": list(item.materials.all()), "manage": manage, "tiers": Tier.choices,
        "can_accept": scope.has(Cap.SERVICE_ACCEPT), "resident": scope.person_id is not None,
        "sites": list(item.sites.filter(active=True).select_related("area").order_by("tier", "name")[:50])})


# ------------------------------------------------------------------------------------------ 窗口受理


def _site_choices(request: HttpRequest) -> list[Any]:
    from gongzhi.sites.models import Site

    prefixes = scope_of(request.user).area_prefixes(Cap.SERVICE_ACCEPT)
    if not prefixes:
        return []
    qs = Site.objects.filter(active=True)
    from django.db.models import Q

    where = Q()
    for p in prefixes:
        where |= Q(area_path__startswith=p)
    return list(qs.filter(where).order_by("tier", "name")[:100])


@login_required
@not_found_as_404
def window(request: HttpRequest) -> HttpResponse:
    """窗口受理: find the resident by the ID number on her card (any resident of the city), choose the item, fill its
    form, tick the materials seen (须验原件 marked), and accept — with a required one missing it is accepted as 待补正
    and the resident is told what to bring. 帮办代办 records how she consented. Below: the window's queue."""
    _need(request, Cap.SERVICE_ACCEPT)
    errors: list[str] = []
    applicant = item = None
    id_number = (request.POST.get("id_number") or request.GET.get("id_number") or "").strip()
    item_id = request.POST.get("item") or request.GET.get("item") or ""
    if id_number:
        try:
            applicant = services.find_applicant(actor=request.user, id_number=id_number)
        except DomainError as exc:
            errors.append(error_text(exc))
    if item_id:
        item = _item(item_id)
    sites = _site_choices(request)
    if request.method == "POST" and applicant is not None and item is not None:
        site_id = request.POST.get("site", "")
        site = next((s for s in sites if str(s.pk) == site_id), None)
        try:
            app = services.application_create(
                actor=request.user, item=item, applicant=applicant, form_data=_form_data(request, item),
                provided=request.POST.getlist("provided"), files=_files(request, "file_"), site=site,
                on_behalf=request.POST.get("on_behalf") == "on", consent=request.POST.get("consent", ""),
                consent_note=request.POST.get("consent_note", ""), note=request.POST.get("note", ""))
        except DomainError as exc:
            errors.append(error_text(exc))
        else:
            messages.success(request, _("{number}：{state}").format(number=app.number, state=app.get_state_display()))
            return redirect("govservice:application", pk=app.pk)
    state = request.GET.get("state", "")
    page = paginate(request, selectors.window_queue(request.user, state))
    return render(request, "govservice/window.html", {
        "applicant": applicant, "item": item, "id_number": id_number, "errors": errors,
        "applicant_id": id_number_for(request.user, applicant.id_number, applicant.area.path, applicant.pk)
        if applicant else "", "home": services.home_community(applicant.area) if applicant else None,
        "items": list(selectors.catalogue()), "materials": list(item.materials.all()) if item else [],
        "sites": sites, "consents": Consent.choices, "page": page, "state": state, "post": request.POST,
        "states": [(s, label) for s, label in ApplicationState.choices if s in selectors.WINDOW_STATES],
    }, status=400 if errors and request.method == "POST" else 200)


@login_required
def department(request: HttpRequest) -> HttpResponse:
    """后台审批: the department's applications 办理中 and 待补正, and the bad ratings waiting for its rectification."""
    _need(request, Cap.SERVICE_DECIDE)
    state = request.GET.get("state", "")
    return render(request, "govservice/department.html", {
        "page": paginate(request, selectors.department_queue(request.user, state)), "state": state,
        "rectifications": list(selectors.open_rectifications(request.user)[:50]),
        "states": [(s, label) for s, label in ApplicationState.choices if s in selectors.DEPARTMENT_STATES]})


# ------------------------------------------------------------------------------------------ one application


@login_required
@not_found_as_404
def application(request: HttpRequest, pk: int) -> HttpResponse:
    app = get_scoped(request.user, Application.objects.select_related(
        "item", "applicant__area", "area", "window_area", "department", "site", "agent", "clerk"), pk)
    steps = services.application_steps(request.user, app)
    roles = services.application_roles(request.user, app)
    rect = Rectification.objects.filter(application=app).first()
    return render(request, "govservice/application.html", {
        "app": app, "steps": steps, "roles": roles, "materials": list(app.materials.select_related("material")),
        "applicant_id": id_number_for(request.user, app.applicant.id_number, app.applicant.area.path,
                                      app.applicant_id),
        "ratings": Rating.choices, "methods": IssueMethod.choices, "rect": rect,
        "form_rows": [(f["label"], (app.form_data or {}).get(f["name"])) for f in app.item.form_fields or []],
        "overdue": app.is_overdue(), "can_answer": rect is not None and rect.state == "open" and "department" in roles,
    })


@login_required
@require_POST
@not_found_as_404
def application_step(request: HttpRequest, pk: int) -> HttpResponse:
    app = get_scoped(request.user, Application, pk)
    version = request.POST.get("version", "")
    done = _flash(request, lambda: services.application_step(
        actor=request.user, app=app, step=request.POST.get("step", ""), reason=request.POST.get("reason", ""),
        missing=request.POST.getlist("missing"), method=request.POST.get("method", ""),
        rating=request.POST.get("rating", ""), expected_version=int(version) if version.isdigit() else None))
    if done is not None:
        messages.success(request, _("{number}：{state}").format(number=done.number, state=done.get_state_display()))
    return redirect("govservice:application", pk=app.pk)


@login_required
@require_POST
@not_found_as_404
def material_provide(request: HttpRequest, pk: int, material: int) -> HttpResponse:
    app = get_scoped(request.user, Application, pk)
    done = _flash(request, lambda: services.material_provide(
        actor=request.user, app=app, material_id=material, file=_files(request, "file_").get(material),
        original_seen=request.POST.get("original_seen") == "on"))
    if done is not None:
        messages.success(request, _("材料已收：{state}").format(state=done.get_state_display()))
    return redirect("govservice:application", pk=app.pk)


@login_required
@require_POST
@not_found_as_404
def rectification_answer(request: HttpRequest, pk: int) -> HttpResponse:
    app = get_scoped(request.user, Application, pk)
    rect = Rectification.objects.filter(application=app).first()
    if rect is None:
        raise Http404
    if _flash(request, lambda: services.rectification_answer(
            actor=request.user, rectification=rect, answer=request.POST.get("answer", ""))) is not None:
        messages.success(request, _("整改情况已答复"))
    return redirect("govservice:application", pk=app.pk)


# ------------------------------------------------------------------------------------------ the resident


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    """我的办件 on the phone: her applications and their states; apply online for an item."""
    person_id = scope_of(request.user).person_id
    if person_id is None:
        raise Http404
    errors: list[str] = []
    item = _item(request.GET["item"]) if request.GET.get("item") else None
    if request.method == "POST":
        item = _item(request.POST.get("item", ""))
        person = Person.objects.get(pk=person_id)
        try:
            app = services.application_create(
                actor=request.user, item=item, applicant=person, form_data=_form_data(request, item),
                files=_files(request, "file_"), accept=False)
        except DomainError as exc:
            errors.append(error_text(exc))
        else:
            messages.success(request, _("已提交：{number}，请等待窗口受理").format(number=app.number))
            return redirect("govservice:application", pk=app.pk)
    return render(request, "govservice/mine.html", {
        "page": paginate(request, selectors.my_applications(request.user)), "item": item, "errors": errors,
        "items": list(selectors.catalogue()), "materials": list(item.materials.all()) if item else [],
        "post": request.POST}, status=400 if errors else 200)


# ------------------------------------------------------------------------------------------ figures


@login_required
@not_found_as_404
def figures(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.SERVICE_VIEW)
    raw = request.GET.get("area", "")
    if raw.isdigit():
        area = get_scoped(request.user, Area, int(raw), cap=Cap.SERVICE_VIEW)
    else:
        roots = scope_of(request.user).root_area_ids(Cap.SERVICE_VIEW)
        if not roots:
            raise Http404
        area = Area.objects.get(pk=roots[0])
    f = selectors.figures(request.user, area)
    days = bar_chart(_("平均办理用时（工作日）：改革前时限 · 现时限 · 实际"),
                     [i.item.name for i in f.items],
                     [(_("改革前时限"), [i.item.previous_time_limit_days for i in f.items]),
                      (_("现时限"), [i.item.time_limit_days for i in f.items]),
                      (_("实际平均"), [i.avg_days for i in f.items])], unit=_("工作日"))
    ratings = pie_chart(_("好差评"), [(str(selectors.RATING_LABELS[r]), n) for r, n in sorted(f.ratings.items(),
                                                                                      reverse=True)])
    tiers = pie_chart(_("受理窗口层级"), list(f.by_tier.items()))
    return render(request, "govservice/figures.html", {
        "f": f, "area": area, "days_chart": days, "ratings_chart": ratings, "tiers_chart": tiers,
        "children": list(Area.objects.filter(path__startswith=area.path, depth=area.depth + 1).order_by("path")[:100]),
        "parent": Area.objects.filter(path=area.path[:-Area.steplen]).first() if area.depth > 1 else None})
