"""Pages of community admission control (社区工作事项准入, D5): the overview (my department's requests, requests to
decide, flags), filing a request, deciding it, the 准入清单, flagging unadmitted work, and the 减负 figures with their
chart and Excel export. Thin: parse → fetch through the scope → service → redirect."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from gongzhi.accounts.roles import Cap
from gongzhi.core import ledger
from gongzhi.core.errors import DomainError
from gongzhi.core.scope import get_scoped, scope_of, scoped
from gongzhi.registry.models import Area, AreaKind, MemberUnit
from gongzhi.web.forms import area_label, set_choices
from gongzhi.web.pages import attempt, bar_chart, error_text, not_found_as_404, paginate
from gongzhi.web.pages import need as _need

from ..forms_admission import DecideForm, FlagForm, HandleForm, ItemForm, RequestForm
from ..selectors import admission as selectors
from ..services import admission as services
from ..services.common import actor_units, can_manage

STEP = Area.steplen


def _areas(user: Any, kinds: tuple[str, ...], cap: str = Cap.COBUILD_MANAGE) -> list[tuple[int, str]]:
    areas = list(scoped(user, Area, cap=cap).filter(kind__in=kinds).order_by("path")[:300])
    parents = dict(Area.objects.filter(path__in={a.path[:-STEP] for a in areas}).values_list("path", "name"))
    return [(a.pk, area_label(a, parents)) for a in areas]


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """社区工作事项准入: what is mine to file, to decide, to see (admitted for my community), and the flags."""
    _need(request, Cap.COBUILD_VIEW)
    user = request.user
    units = actor_units(user)
    scope = scope_of(user)
    flags = list(selectors.flags(user)[:50])
    for f in flags:
        handle = f.handled_at is None and can_manage(user, f.area_path[:services.STREET_PATH])
        f.can_handle = handle  # type: ignore[attr-defined]
    return render(request, "cobuild/admission_index.html", {
        "mine": list(selectors.of_units(user, units)[:50]) if units else [],
        "to_decide": list(selectors.to_decide(user)[:50]),
        "decided": list(selectors.requests(user).exclude(state="filed")[:30]),
        "items": list(selectors.items(user)[:50]),
        "flags": flags,
        "can_file": bool(units),
        "can_flag": bool(_areas(user, (AreaKind.COMMUNITY,))),
        "can_list": bool(_areas(user, services.DECIDING_KINDS)),
        "can_figures": scope.has(Cap.COBUILD_VIEW),
        "handle_form": HandleForm(),
    })


@login_required
@not_found_as_404
def request_new(request: HttpRequest) -> HttpResponse:
    user = request.user
    units = actor_units(user)
    if not units:
        raise Http404
    form = RequestForm(request.POST or None)
    depts = list(MemberUnit.objects.filter(pk__in=units).select_related("area").order_by("name"))
    set_choices(form.fields["department"], [(u.pk, u.name) for u in depts])
    # Streets and districts in the departments' reach: below (or above) each department's own node.
    paths = {u.area.path for u in depts}
    targets = Area.objects.filter(kind__in=services.DECIDING_KINDS).order_by("path")
    q = None
    for p in paths:
        part = Q(path__startswith=p) | Q(path__in=[p[:k] for k in range(STEP, len(p) + 1, STEP)])
        q = part if q is None else q | part
    choices = list(targets.filter(q)[:300]) if q is not None else []
    parents = dict(Area.objects.filter(path__in={a.path[:-STEP] for a in choices}).values_list("path", "name"))
    set_choices(form.fields["area"], [(a.pk, area_label(a, parents)) for a in choices], blank="—")
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        dept = next((u for u in depts if u.pk == d["department"]), None)
        area = next((a for a in choices if a.pk == d["area"]), None)
        if dept is None:
            form.add_error("department", _("请选择申请部门"))
        else:
            req = attempt(form, lambda: services.request_file(
                actor=user, department=dept, area=area, kind=d["kind"], title=d["title"],
                description=d["description"], basis=d["basis"], communities=d["communities"]))
            if req is not None:
                messages.success(request, _("已提交准入申请，等待审核"))
                return redirect("cobuild:admission_request", pk=req.pk)
    return render(request, "web/form.html", {"form": form, "title": _("提交社区工作事项准入申请"),
                                             "back": "cobuild:admission_index"})


def _decide_form(user: Any, req: Any, data: Any = None) -> DecideForm:
    form = DecideForm(data, initial={"version": req.version})
    ancestors = [req.area_path[:k] for k in range(STEP, len(req.area_path) + 1, STEP)]
    existing = selectors.items(user).filter(area_path__in=ancestors, kind=req.kind)[:100]
    set_choices(form.fields["admitted_item"], [(i.pk, f"{i.area.name} · {i.name}") for i in existing],
                blank=_("新增为准入事项"))
    return form


@login_required
@not_found_as_404
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    req = selectors.request_get(request.user, pk)
    roles = services.request_roles(request.user, req)
    return render(request, "cobuild/admission_request.html", {
        "req": req, "can_decide": "manager" in roles and req.state == "filed",
        "can_withdraw": "unit" in roles and req.state == "filed", "form": _decide_form(request.user, req)})


@login_required
@require_POST
@not_found_as_404
def request_step(request: HttpRequest, pk: int) -> HttpResponse:
    req = selectors.request_get(request.user, pk)
    form = _decide_form(request.user, req, request.POST)
    if form.is_valid():
        d = form.cleaned_data
        item = selectors.item_get(request.user, d["admitted_item"]) if d["admitted_item"] else None
        done = attempt(form, lambda: services.request_step(
            actor=request.user, request=req, step=d["step"], expected_version=d["version"], reason=d["reason"],
            admitted_item=item))
        if done is not None:
            messages.success(request, _("申请{state}").format(state=done.get_state_display()))
            return redirect("cobuild:admission_request", pk=req.pk)
    roles = services.request_roles(request.user, req)
    return render(request, "cobuild/admission_request.html", {
        "req": req, "can_decide": "manager" in roles and req.state == "filed",
        "can_withdraw": "unit" in roles and req.state == "filed", "form": form}, status=400)


@login_required
def item_list(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.COBUILD_VIEW)
    page = paginate(request, selectors.items(request.user, active=request.GET.get("all") != "1"))
    return render(request, "cobuild/admission_items.html", {
        "page": page, "can_add": bool(_areas(request.user, services.DECIDING_KINDS))})


@login_required
@not_found_as_404
def item_new(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.COBUILD_MANAGE)
    form = ItemForm(request.POST or None)
    set_choices(form.fields["area"], _areas(request.user, services.DECIDING_KINDS), blank="—")
    set_choices(form.fields["department"], [(u.pk, u.name) for u in scoped(request.user, MemberUnit)
                                            .order_by("name")[:300]], blank="—")
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        area = get_scoped(request.user, Area, d["area"], cap=Cap.COBUILD_MANAGE) if d["area"] else None
        dept = get_scoped(request.user, MemberUnit, d["department"]) if d["department"] else None
        item = attempt(form, lambda: services.admitted_item_create(actor=request.user, area=area, kind=d["kind"],
                                                                   name=d["name"], department=dept,
                                                                   basis=d["basis"]))
        if item is not None:
            messages.success(request, _("已列入准入清单：{name}").format(name=item.name))
            return redirect("cobuild:admission_items")
    return render(request, "web/form.html", {"form": form, "title": _("新增准入事项"),
                                             "back": "cobuild:admission_items"})


@login_required
@require_POST
@not_found_as_404
def item_retire(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.item_get(request.user, pk)
    try:
        services.admitted_item_retire(actor=request.user, item=item, reason=request.POST.get("reason", "")[:300])
        messages.success(request, _("已移出准入清单"))
    except DomainError as exc:
        messages.error(request, error_text(exc))
    return redirect("cobuild:admission_items")


@login_required
@not_found_as_404
def flag_new(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.COBUILD_MANAGE)
    form = FlagForm(request.POST or None)
    communities = _areas(request.user, (AreaKind.COMMUNITY,))
    set_choices(form.fields["area"], communities)
    set_choices(form.fields["department"], [(u.pk, u.name) for u in MemberUnit.objects.filter(
        sector="organ").order_by("name")[:300]], blank="—")
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        area = get_scoped(request.user, Area, d["area"], cap=Cap.COBUILD_MANAGE)
        dept = MemberUnit.objects.filter(pk=d["department"]).first() if d["department"] else None
        flag = attempt(form, lambda: services.flag_raise(actor=request.user, area=area, kind=d["kind"],
                                                         description=d["description"], department=dept,
                                                         department_name=d["department_name"]))
        if flag is not None:
            messages.success(request, _("已反映未准入事项，街道将处理"))
            return redirect("cobuild:admission_index")
    return render(request, "web/form.html", {"form": form, "title": _("反映未经准入的下派事项"),
                                             "back": "cobuild:admission_index"})


@login_required
@require_POST
@not_found_as_404
def flag_handle(request: HttpRequest, pk: int) -> HttpResponse:
    flag = selectors.flag_get(request.user, pk)
    form = HandleForm(request.POST)
    try:
        services.flag_handle(actor=request.user, flag=flag,
                             note=form.cleaned_data["note"] if form.is_valid() else "")
        messages.success(request, _("已处理该反映"))
    except DomainError as exc:
        messages.error(request, error_text(exc))
    return redirect("cobuild:admission_index")


def _period(request: HttpRequest) -> tuple[dt.date, dt.date]:
    today = timezone.localdate()
    start = parse_date(request.GET.get("start", "") or "") or today.replace(month=1, day=1)
    end = parse_date(request.GET.get("end", "") or "") or today
    if end < start:
        start, end = end, start
    return start, end


def _figures_area(request: HttpRequest) -> Area:
    raw = request.GET.get("area", "")
    if raw.isdigit():
        return get_scoped(request.user, Area, int(raw), cap=Cap.COBUILD_VIEW)
    roots = scope_of(request.user).root_area_ids(Cap.COBUILD_VIEW)
    if not roots:
        raise Http404
    return Area.objects.get(pk=roots[0])


@login_required
@not_found_as_404
def figures(request: HttpRequest) -> HttpResponse:
    """减负 figures: requests filed, admitted, refused, withdrawn; flags raised and handled — per area, a period."""
    _need(request, Cap.COBUILD_VIEW)
    area = _figures_area(request)
    start, end = _period(request)
    f = selectors.figures(request.user, area, start, end)
    labels = [r.label for r in f.rows]
    chart = bar_chart(_("准入申请与未准入事项反映"), labels, [
        (_("申请"), [r.filed for r in f.rows]), (_("准予进入"), [r.admitted for r in f.rows]),
        (_("不予准入"), [r.refused for r in f.rows]), (_("反映未准入事项"), [r.flags for r in f.rows])], _("项"))
    return render(request, "cobuild/admission_figures.html", {"f": f, "chart": chart, "start": start, "end": end})


FIGURE_COLUMNS: list[tuple[Any, ledger.Kind]] = [
    (gettext_lazy("区域"), "text"), (gettext_lazy("申请事项"), "int"), (gettext_lazy("准予进入"), "int"),
    (gettext_lazy("不予准入"), "int"), (gettext_lazy("已撤回"), "int"), (gettext_lazy("待审核"), "int"),
    (gettext_lazy("不予准入率"), "percent"), (gettext_lazy("减少下派社区（项次）"), "int"),
    (gettext_lazy("反映未准入事项"), "int"), (gettext_lazy("已处理反映"), "int"),
]


@login_required
@not_found_as_404
def figures_xlsx(request: HttpRequest) -> HttpResponseBase:
    _need(request, Cap.COBUILD_VIEW)
    area = _figures_area(request)
    start, end = _period(request)
    f = selectors.figures(request.user, area, start, end)

    def line(r: selectors.Row, label: str) -> list[Any]:
        return [label, r.filed, r.admitted, r.refused, r.withdrawn, r.pending, r.refusal_rate, r.spared, r.flags,
                r.flags_handled]

    rows = [line(r, r.label) for r in f.rows] + [line(f.total, _("合计"))]
    sheet = ledger.Sheet(_("减负统计"), [ledger.Col(str(t), k) for t, k in FIGURE_COLUMNS], rows,
                         title=_("{area}社区工作事项准入统计（{start} 至 {end}）").format(area=area.name, start=start,
                                                                                       end=end))
    return ledger.attachment(ledger.workbook_bytes(sheet), ledger.dated_name(_("社区工作事项准入统计")))


urlpatterns = [
    path("admission/", index, name="admission_index"),
    path("admission/requests/new/", request_new, name="admission_request_new"),
    path("admission/requests/<int:pk>/", request_detail, name="admission_request"),
    path("admission/requests/<int:pk>/step/", request_step, name="admission_request_step"),
    path("admission/items/", item_list, name="admission_items"),
    path("admission/items/new/", item_new, name="admission_item_new"),
    path("admission/items/<int:pk>/retire/", item_retire, name="admission_item_retire"),
    path("admission/flags/new/", flag_new, name="admission_flag_new"),
    path("admission/flags/<int:pk>/handle/", flag_handle, name="admission_flag_handle"),
    path("admission/figures/", figures, name="admission_figures"),
    path("admission/figures.xlsx", figures_xlsx, name="admission_figures_xlsx"),
]
