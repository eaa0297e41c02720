"""Pages of the demand and resource libraries: 需求库 (list, new, need page with suggestions and matches), 资源库
(list, new, 我的资源, resource page with its matches), matching (propose, confirm/decline/cancel/complete), case →
need, and the Excel ledgers and needs import. Thin: parse → scoped fetch → service → redirect, or the form again
with the errors on its fields."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.accounts.roles import Cap
from gongzhi.core.scope import get_scoped, scope_of, scoped
from gongzhi.registry.models import Area, AreaKind, MemberUnit, PartyOrganisation, Person
from gongzhi.web.forms import area_label, set_choices
from gongzhi.web.pages import attempt, not_found_as_404, paginate
from gongzhi.web.pages import attempt_flash as _flash
from gongzhi.web.pages import need as _need

from .. import excel_library
from ..forms_library import (
    FromCaseForm,
    ImportForm,
    NeedEditForm,
    NeedForm,
    ProposeForm,
    ResourceEditForm,
    ResourceForm,
)
from ..models import Kind, Need, OwnerKind, Side
from ..scoping import DISTRICT_PATH
from ..selectors import library as selectors
from ..services import library as services
from ..services.common import actor_units, can_manage, person_of
from ..workflow import MATCH, NEED, MatchState, NeedState

MAX_CHOICES = 500


def _version(request: HttpRequest) -> int | None:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() else None


def _area_choices(user: Any, kinds: tuple[str, ...], cap: str = Cap.COBUILD_MANAGE) -> list[tuple[int, str]]:
    areas = list(scoped(user, Area, cap=cap).filter(kind__in=kinds).order_by("path")[:MAX_CHOICES])
    parents = dict(Area.objects.filter(path__in={a.path[:-Area.steplen] for a in areas}).values_list("path", "name"))
    return [(a.pk, area_label(a, parents)) for a in areas]


def _filter_area(request: HttpRequest) -> Area | None:
    raw = request.GET.get("area", "")
    return get_scoped(request.user, Area, int(raw), cap=Cap.COBUILD_VIEW) if raw.isdigit() else None


def _may_offer(request: HttpRequest) -> bool:
    s = scope_of(request.user)
    return s.has(Cap.COBUILD_OFFER) or s.has(Cap.COBUILD_MANAGE) or s.person_id is not None


# ------------------------------------------------------------------------------------------ needs


@login_required
@not_found_as_404
def needs(request: HttpRequest) -> HttpResponseBase:
    """需求库: the needs in the viewer's scope, filtered by kind, state and area."""
    _need(request, Cap.COBUILD_VIEW)
    kind, state = request.GET.get("kind", ""), request.GET.get("state", "")
    area = _filter_area(request)
    qs = selectors.needs(request.user, kind=kind if kind in Kind.values else "",
                         state=state if state in [*NeedState.values, "live"] else "", area=area)
    if request.GET.get("download") == "1":
        return excel_library.needs_ledger(request.user, qs)
    s = scope_of(request.user)
    return render(request, "cobuild/library_needs.html", {
        "page": paginate(request, qs), "kinds": Kind.choices, "states": NeedState.choices, "kind": kind,
        "state": state, "area": area, "areas": _area_choices(request.user, ("street", "community", "grid",
                                                                            "compound"), Cap.COBUILD_VIEW),
        "can_add": s.has(Cap.COBUILD_MANAGE),
    })


@login_required
@not_found_as_404
def needs_matching(request: HttpRequest) -> HttpResponse:
    """匹配建议: every open need of an area (a street, a district) with its three best resources, to propose the
    matches in one pass instead of opening need after need."""
    _need(request, Cap.COBUILD_VIEW)
    area = _filter_area(request)
    if area is None:
        roots = scope_of(request.user).root_area_ids(Cap.COBUILD_VIEW)
        area = Area.objects.filter(pk__in=roots).order_by("path").first()
    rows = selectors.suggest_for_area(request.user, area) if area is not None else []
    return render(request, "cobuild/library_matching.html", {
        "area": area, "rows": rows, "matched": sum(1 for _n, s in rows if s),
        "areas": _area_choices(request.user, ("district", "street", "community"), Cap.COBUILD_VIEW),
        "can_manage": scope_of(request.user).has(Cap.COBUILD_MANAGE),
    })


def _need_args(d: dict[str, Any]) -> dict[str, Any]:
    return {"kind": d["kind"], "title": d["title"], "description": d["description"], "scale": d["scale"],
            "quantity": d["quantity"], "beneficiaries": d["beneficiaries"] or 0, "urgency": d["urgency"],
            "wanted_by": d["wanted_by"]}


@login_required
@not_found_as_404
def need_new(request: HttpRequest) -> HttpResponse:
    """登记需求; with ``?item=`` a decided council item becomes the need (its title and decision filled in)."""
    _need(request, Cap.COBUILD_MANAGE)
    item = None
    initial: dict[str, Any] = {}
    if request.GET.get("item", "").isdigit():
        from gongzhi.councils.models import AgendaItem

        item = get_scoped(request.user, AgendaItem.objects.select_related("council__area"), int(request.GET["item"]))
        initial = {"title": item.title[:100], "description": item.decision or item.description,
                   "area": item.council.area_id}
    form = NeedForm(request.POST or None, initial=initial)
    set_choices(form.fields["area"], _area_choices(request.user, services.NEED_AREA_KINDS), blank="—")
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        area = Area.objects.filter(pk=d["area"]).first() if d["area"] else None
        need = attempt(form, lambda: services.need_register(actor=request.user, area=area, agenda_item=item,
                                                            **_need_args(d)))
        if need is not None:
            messages.success(request, _("已登记需求：{t}").format(t=need.title))
            return redirect("cobuild:need", pk=need.pk)
    return render(request, "web/form.html", {"form": form, "title": _("登记社区需求"), "back": "cobuild:needs"})


@login_required
@not_found_as_404
def need_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """需求页: the need, its suggested resources with why each ranks there, and its matches."""
    need = selectors.need_get(request.user, pk)
    manage = can_manage(request.user, need.area_path)
    live = need.state in (NeedState.OPEN, NeedState.MATCHED)
    match_rows = _match_rows(request, selectors.matches(request.user).filter(need=need))
    return render(request, "cobuild/library_need.html", {
        "need": need, "can_manage": manage,
        "suggestions": selectors.suggest(need) if live else [],
        "matches": match_rows, "live": live,
        "steps": [t for t in NEED.available(need.state) if t.name in services.NEED_PERSON_STEPS] if manage else [],
    })


def _match_rows(request: HttpRequest, qs: Any) -> list[dict[str, Any]]:
    """Each match with the steps this viewer may take on it (the other side confirms, either side cancels)."""
    rows = []
    for m in qs[:100]:
        sides = services.sides_of(request.user, m.need, m.resource)
        other = Side.RESOURCE if m.proposed_by_side == Side.NEED else Side.NEED
        mine = m.proposed_by_id is not None and m.proposed_by_id == request.user.pk
        steps = []
        if m.state == MatchState.PROPOSED and other in sides and not mine:
            steps += ["confirm", "decline"]
        if m.state in (MatchState.PROPOSED, MatchState.CONFIRMED) and sides:
            steps.append("cancel")
        if m.state == MatchState.CONFIRMED and Side.NEED in sides:
            steps.append("complete")
        rows.append({"match": m, "steps": [MATCH[s] for s in steps],
                     "waiting": m.state == MatchState.PROPOSED and "confirm" not in steps})
    return rows


@login_required
@not_found_as_404
def need_edit(request: HttpRequest, pk: int) -> HttpResponse:
    need = selectors.need_get(request.user, pk)
    if not can_manage(request.user, need.area_path):
        raise Http404
    form = NeedEditForm(request.POST or None, initial={
        "kind": need.kind, "title": need.title, "description": need.description, "scale": need.scale,
        "quantity": need.quantity, "beneficiaries": need.beneficiaries, "urgency": need.urgency,
        "wanted_by": need.wanted_by, "version": need.version})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        if attempt(form, lambda: services.need_update(actor=request.user, need=need, expected_version=d["version"],
                                                      reason=d["reason"], **_need_args(d))) is not None:
            messages.success(request, _("已保存需求"))
            return redirect("cobuild:need", pk=need.pk)
    return render(request, "web/form.html", {"form": form, "title": _("修改需求：{t}").format(t=need.title),
                                             "back": "cobuild:needs"})


@login_required
@require_POST
@not_found_as_404
def need_step(request: HttpRequest, pk: int) -> HttpResponse:
    need = selectors.need_get(request.user, pk)
    step = request.POST.get("step", "")
    if _flash(request, lambda: services.need_step(actor=request.user, need=need, step=step,
                                                  expected_version=_version(request),
                                                  reason=request.POST.get("reason", ""))) is not None:
        messages.success(request, _("已{label}").format(label=NEED[step].label))
    return redirect("cobuild:need", pk=need.pk)


@login_required
@not_found_as_404
def need_from_case(request: HttpRequest, case_pk: int) -> HttpResponse:
    """诉求转需求: the case page links here ("this is not one complaint but a need")."""
    from gongzhi.cases import selectors as case_selectors

    _need(request, Cap.COBUILD_MANAGE)
    case = case_selectors.case_get(request.user, case_pk)
    existing = Need.objects.filter(case=case).exclude(state=NeedState.WITHDRAWN).first()
    if existing is not None and scoped(request.user, Need).filter(pk=existing.pk).exists():
        messages.info(request, _("该诉求已转为需求"))
        return redirect("cobuild:need", pk=existing.pk)
    form = FromCaseForm(request.POST or None, initial={"title": case.title})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        need = attempt(form, lambda: services.need_from_case(
            actor=request.user, case=case, kind=d["kind"], title=d["title"], scale=d["scale"],
            quantity=d["quantity"], beneficiaries=d["beneficiaries"] or 0, urgency=d["urgency"],
            wanted_by=d["wanted_by"]))
        if need is not None:
            messages.success(request, _("已将诉求转为社区需求"))
            return redirect("cobuild:need", pk=need.pk)
    return render(request, "web/form.html", {
        "form": form, "title": _("诉求转为社区需求：{t}").format(t=case.title), "back": "cobuild:needs"})


# ------------------------------------------------------------------------------------------ resources


@login_required
@not_found_as_404
def resources(request: HttpRequest, mine: bool = False) -> HttpResponseBase:
    """资源库 (what is offered in or to the viewer's area) and 我的资源 (her unit's and her own only)."""
    if mine:
        if not _may_offer(request):
            raise Http404
    else:
        _need(request, Cap.COBUILD_VIEW)
    kind, owner = request.GET.get("kind", ""), request.GET.get("owner_kind", "")
    active = request.GET.get("active", "1")
    area = None if mine else _filter_area(request)
    qs = selectors.resources(request.user, kind=kind if kind in Kind.values else "",
                             owner_kind=owner if owner in OwnerKind.values else "",
                             active=active if active in ("1", "0") else "", area=area, mine=mine)
    if request.GET.get("download") == "1":
        return excel_library.resources_ledger(request.user, qs)
    return render(request, "cobuild/library_resources.html", {
        "page": paginate(request, qs), "kinds": Kind.choices, "owner_kinds": OwnerKind.choices, "kind": kind,
        "owner_kind": owner, "active": active, "area": area, "mine": mine, "can_add": _may_offer(request),
        "can_import": scope_of(request.user).has(Cap.COBUILD_OFFER),
        "areas": [] if mine else _area_choices(request.user, ("district", "street", "community"), Cap.COBUILD_VIEW),
        "title": _("我的资源") if mine else _("资源库"),
    })


@login_required
def my_resources(request: HttpRequest) -> HttpResponseBase:
    return resources(request, mine=True)


def _reach_choices(owner_areas: list[Area]) -> list[tuple[int, str]]:
    """Where an owner may say it serves: its own ancestors and the streets and communities of its district."""
    ancestors: set[str] = set()
    districts: set[str] = set()
    for a in owner_areas:
        ancestors.update(a.path[:k] for k in range(Area.steplen, len(a.path) + 1, Area.steplen))
        districts.add(a.path[:DISTRICT_PATH])
    from django.db.models import Q

    q = Q(path__in=sorted(ancestors))
    for d in districts:
        q |= Q(path__startswith=d, kind__in=[AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY])
    areas = list(Area.objects.filter(q).exclude(kind=AreaKind.BUILDING).order_by("path")[:MAX_CHOICES])
    parents = dict(Area.objects.filter(path__in={a.path[:-Area.steplen] for a in areas}).values_list("path", "name"))
    return [(a.pk, area_label(a, parents)) for a in areas]


def _owner_options(request: HttpRequest) -> tuple[list[MemberUnit], list[PartyOrganisation], Person | None]:
    units = list(MemberUnit.objects.filter(pk__in=actor_units(request.user)).select_related("area").order_by("name"))
    orgs = list(scoped(request.user, PartyOrganisation, cap=Cap.COBUILD_MANAGE).select_related("area")
                .order_by("area__path", "name")[:MAX_CHOICES]) if scope_of(request.user).has(Cap.COBUILD_MANAGE) \
        else []
    pid = person_of(request.user)
    person = Person.objects.select_related("area").filter(pk=pid).first() if pid else None
    return units, orgs, person


def _resource_args(d: dict[str, Any]) -> dict[str, Any]:
    return {"kind": d["kind"], "title": d["title"], "description": d["description"], "capacity": d["capacity"],
            "measure": d["measure"], "cadence": d["cadence"], "amount": d["amount"], "valid_from": d["valid_from"],
            "valid_until": d["valid_until"],
            "reach": list(Area.objects.filter(pk__in=d["reach"] or [])) if d["reach"] else None}


@login_required
@not_found_as_404
def resource_new(request: HttpRequest) -> HttpResponse:
    """提供资源: as my unit, a party organisation I manage, or myself."""
    if not _may_offer(request):
        raise Http404
    units, orgs, person = _owner_options(request)
    kinds = ([(OwnerKind.UNIT.value, OwnerKind.UNIT.label)] if units else []) + \
        ([(OwnerKind.ORGANISATION.value, OwnerKind.ORGANISATION.label)] if orgs else []) + \
        ([(OwnerKind.PERSON.value, _("本人（党员/志愿者）"))] if person else [])
    if not kinds:
        raise Http404
    today = timezone.localdate()
    form = ResourceForm(request.POST or None, initial={
        "owner_kind": kinds[0][0], "unit": units[0].pk if units else None, "valid_from": today,
        "valid_until": today.replace(month=12, day=31), "measure": "次"})
    form.fields["owner_kind"].choices = kinds  # type: ignore[attr-defined]
    set_choices(form.fields["unit"], [(u.pk, u.name) for u in units], blank="—")
    set_choices(form.fields["organisation"], [(o.pk, f"{o.name}（{o.area.name}）") for o in orgs], blank="—")
    owner_areas = [u.area for u in units] + [o.area for o in orgs] + ([person.area] if person else [])
    form.fields["reach"].choices = _reach_choices(owner_areas)  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        unit = next((u for u in units if u.pk == d["unit"]), None)
        org = next((o for o in orgs if o.pk == d["organisation"]), None)
        if d["owner_kind"] == OwnerKind.UNIT and d["unit"] and unit is None:
            form.add_error("unit", _("您只能以本单位身份提供资源"))
        else:
            resource = attempt(form, lambda: services.resource_offer(
                actor=request.user, owner_kind=d["owner_kind"], unit=unit, organisation=org,
                person=person if d["owner_kind"] == OwnerKind.PERSON else None, **_resource_args(d)))
            if resource is not None:
                messages.success(request, _("已发布资源：{t}").format(t=resource.title))
                return redirect("cobuild:resource", pk=resource.pk)
    return render(request, "web/form.html", {"form": form, "title": _("提供共建资源"), "back": "cobuild:my_resources"})


@login_required
@not_found_as_404
def resource_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """资源页: the resource, where it serves, its matches (to confirm), and open needs it could meet."""
    resource = selectors.resource_get(request.user, pk)
    owner = services.can_act_for_resource(request.user, resource)
    candidates: list[Need] = []
    if owner and resource.valid_on(timezone.localdate()) and resource.left:
        reach = [a.path for a in selectors.reach_of(resource)]
        from django.db.models import Q

        q = Q(pk__in=[])
        for p in reach:
            q |= Q(area_path__startswith=p)
        candidates = list(selectors.needs(request.user, kind=resource.kind, state=NeedState.OPEN).filter(q)[:10])
    return render(request, "cobuild/library_resource.html", {
        "resource": resource, "owner": owner, "owner_name": selectors.owner_name(resource),
        "reach": selectors.reach_of(resource),
        "matches": _match_rows(request, selectors.matches(request.user).filter(resource=resource)),
        "candidates": candidates,
    })


@login_required
@not_found_as_404
def resource_edit(request: HttpRequest, pk: int) -> HttpResponse:
    resource = selectors.resource_get(request.user, pk)
    if not services.can_act_for_resource(request.user, resource):
        raise Http404
    reach = selectors.reach_of(resource)
    form = ResourceEditForm(request.POST or None, initial={
        "kind": resource.kind, "title": resource.title, "description": resource.description,
        "capacity": resource.capacity, "measure": resource.measure, "cadence": resource.cadence,
        "amount": resource.amount, "valid_from": resource.valid_from, "valid_until": resource.valid_until,
        "reach": [a.pk for a in reach], "version": resource.version})
    form.fields["reach"].choices = _reach_choices([resource.area, *reach])  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        if attempt(form, lambda: services.resource_update(
                actor=request.user, resource=resource, expected_version=d["version"], reason=d["reason"],
                **_resource_args(d))) is not None:
            messages.success(request, _("已保存资源"))
            return redirect("cobuild:resource", pk=resource.pk)
    return render(request, "web/form.html", {"form": form, "title": _("修改资源：{t}").format(t=resource.title),
                                             "back": "cobuild:my_resources"})


@login_required
@require_POST
@not_found_as_404
def resource_retire(request: HttpRequest, pk: int) -> HttpResponse:
    resource = selectors.resource_get(request.user, pk)
    if _flash(request, lambda: services.resource_retire(actor=request.user, resource=resource,
                                                        expected_version=_version(request),
                                                        reason=request.POST.get("reason", ""))) is not None:
        messages.success(request, _("资源已下架"))
    return redirect("cobuild:resource", pk=resource.pk)


# ------------------------------------------------------------------------------------------ matching


@login_required
@require_POST
@not_found_as_404
def match_propose(request: HttpRequest) -> HttpResponse:
    """发起对接 from the need page (the need side) or the resource page (the resource side)."""
    form = ProposeForm(request.POST)
    back = request.POST.get("back", "need")
    if not form.is_valid():
        raise Http404
    d = form.cleaned_data
    need = selectors.need_get(request.user, d["need"])
    resource = selectors.resource_for_need(request.user, need, d["resource"])
    side = Side.RESOURCE if back == "resource" else Side.NEED
    match = _flash(request, lambda: services.match_propose(actor=request.user, need=need, resource=resource,
                                                           quantity=d["quantity"], note=d["note"], side=side))
    if match is not None:
        messages.success(request, _("已发起对接，等待对方确认"))
    return redirect("cobuild:resource", pk=resource.pk) if back == "resource" else redirect("cobuild:need",
                                                                                               pk=need.pk)


@login_required
@require_POST
@not_found_as_404
def match_step(request: HttpRequest, pk: int) -> HttpResponse:
    match = selectors.match_get(request.user, pk)
    step = request.POST.get("step", "")
    done = _flash(request, lambda: services.match_step(actor=request.user, match=match, step=step,
                                                       expected_version=_version(request),
                                                       reason=request.POST.get("reason", "")))
    if done is not None:
        messages.success(request, _("已{label}").format(label=MATCH[step].label))
    if request.POST.get("back") == "resource":
        return redirect("cobuild:resource", pk=match.resource_id)
    return redirect("cobuild:need", pk=match.need_id)


# ------------------------------------------------------------------------------------------ Excel


@login_required
@not_found_as_404
def needs_template(request: HttpRequest) -> HttpResponseBase:
    _need(request, Cap.COBUILD_MANAGE)
    from gongzhi.core import ledger

    return ledger.attachment(excel_library.needs_template(), _("社区需求导入模板.xlsx"))


def _import_page(request: HttpRequest, *, what: str, run: Any, checked: str, done: str,
                 done_url: str) -> HttpResponse:
    """One import page for either list: upload, optional dry run, all rows or none, errors by row and column."""
    form = ImportForm(request.POST or None, request.FILES or None)
    if what == "resources":
        form.fields["file"].label = _("资源清单（.xlsx）")
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size and upload.size > settings.GONGZHI_MAX_UPLOAD_BYTES:
            form.add_error("file", _("文件不能超过10MB"))
        else:
            report = run(actor=request.user, data=upload.read(), dry_run=form.cleaned_data["dry_run"])
            if report.ok and report.dry_run:
                messages.success(request, checked.format(n=report.created))
            elif report.ok:
                messages.success(request, done.format(n=report.created))
                return redirect(done_url)
    return render(request, "cobuild/library_import.html", {"form": form, "report": report, "what": what})


@login_required
@not_found_as_404
def needs_import(request: HttpRequest) -> HttpResponse:
    """需求清单导入: all rows or none, the report names row, column and reason."""
    _need(request, Cap.COBUILD_MANAGE)
    return _import_page(request, what="needs", run=excel_library.import_needs,
                        checked=_("预检通过：将登记 {n} 条需求；未写入任何数据"), done=_("导入成功：登记 {n} 条需求"),
                        done_url="cobuild:needs")


@login_required
def resources_template(request: HttpRequest) -> HttpResponseBase:
    _need(request, Cap.COBUILD_OFFER)
    from gongzhi.core import ledger

    return ledger.attachment(excel_library.resources_template(), _("共建资源导入模板.xlsx"))


@login_required
@not_found_as_404
def resources_import(request: HttpRequest) -> HttpResponse:
    """资源清单导入: a unit's handler lists her unit's resources in Excel; all rows or none."""
    _need(request, Cap.COBUILD_OFFER)
    return _import_page(request, what="resources", run=excel_library.import_resources,
                        checked=_("预检通过：将发布 {n} 项资源；未写入任何数据"), done=_("导入成功：发布 {n} 项资源"),
                        done_url="cobuild:my_resources")


urlpatterns = [
    path("needs/", needs, name="needs"),
    path("needs/new/", need_new, name="need_new"),
    path("needs/matching/", needs_matching, name="needs_matching"),
    path("needs/template/", needs_template, name="needs_template"),
    path("needs/import/", needs_import, name="needs_import"),
    path("needs/<int:pk>/", need_detail, name="need"),
    path("needs/<int:pk>/edit/", need_edit, name="need_edit"),
    path("needs/<int:pk>/step/", need_step, name="need_step"),
    path("cases/<int:case_pk>/need/", need_from_case, name="need_from_case"),
    path("resources/", resources, name="resources"),
    path("resources/mine/", my_resources, name="my_resources"),
    path("resources/template/", resources_template, name="resources_template"),
    path("resources/import/", resources_import, name="resources_import"),
    path("resources/new/", resource_new, name="resource_new"),
    path("resources/<int:pk>/", resource_detail, name="resource"),
    path("resources/<int:pk>/edit/", resource_edit, name="resource_edit"),
    path("resources/<int:pk>/retire/", resource_retire, name="resource_retire"),
    path("matches/", match_propose, name="match_propose"),
    path("matches/<int:pk>/step/", match_step, name="match_step"),
]
