"""Pages of supervision: 月述月评 (an area's month: who submitted, who is missing, the verdicts; writing a report;
the reports waiting for the viewer's verdict), a report with its steps, 交叉核查 (the ledger counts per area, both
ledgers in Excel, the checks, what waits for the viewer to rectify or verify, a new check) and a check with its
findings and their steps. Thin: parse → fetch through the scope → service → redirect, or the page again with the
errors on the fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.accounts.models import RoleGrant
from gongzhi.accounts.roles import Cap
from gongzhi.core.errors import DomainError, InvalidInput
from gongzhi.core.scope import get_scoped, scope_of, scoped
from gongzhi.registry.models import Area, MemberUnit, PartyOrganisation
from gongzhi.web.forms import area_label, set_choices
from gongzhi.web.pages import attempt as _attempt
from gongzhi.web.pages import attempt_flash as _flash
from gongzhi.web.pages import need as _need
from gongzhi.web.pages import not_found_as_404, paginate, pie_chart

from . import excel, selectors, services
from .forms import CheckForm, FindingForm, FindingStepForm, ReportEditForm, ReportForm, ReportStepForm
from .models import Verdict
from .workflow import EDITABLE_REPORT_STATES, SECRETARY

MAX_OPTIONS = 300


def _area(request: HttpRequest, cap: str = Cap.ASSESS_VIEW) -> Area:
    raw = request.GET.get("area", "")
    if raw.isdigit():
        return get_scoped(request.user, Area, int(raw), cap=cap)
    roots = scope_of(request.user).root_area_ids(cap)
    if not roots:
        raise Http404
    return Area.objects.get(pk=roots[0])


def _labels(areas: list[Area]) -> list[tuple[int, str]]:
    parents = dict(Area.objects.filter(path__in={a.path[:-Area.steplen] for a in areas}).values_list("path", "name"))
    return [(a.pk, area_label(a, parents)) for a in areas]


# ------------------------------------------------------------------------------------------ 月述月评


def _org_choices(user: Any) -> list[tuple[int, str]]:
    return [(o.pk, f"{o.name}（{o.area.name}）") for o in selectors.writable_orgs(user)]


def _report_form(request: HttpRequest, data: Any = None) -> ReportForm:
    form = ReportForm(data, initial={"month": f"{timezone.localdate():%Y-%m}"})
    set_choices(form.fields["organisation"], _org_choices(request.user), blank="—")
    return form


@login_required
@not_found_as_404
def reports(request: HttpRequest) -> HttpResponse:
    """月述月评 of an area and month: each organisation that should report, submitted or missing, its verdict; the
    verdicts as a chart; the reports waiting for the viewer's verdict; 填报述职 for secretaries."""
    _need(request, Cap.ASSESS_VIEW)
    scope = scope_of(request.user)
    can_write = scope.has(Cap.SUPERVISION_REPORT)
    form = None
    status = 200
    if request.method == "POST":
        if not can_write:
            raise Http404
        form = _report_form(request, request.POST)
        if form.is_valid():
            d = form.cleaned_data
            org = (get_scoped(request.user, PartyOrganisation, d["organisation"], cap=Cap.SUPERVISION_REPORT)
                   if d["organisation"] else None)
            if org is None:
                form.add_error("organisation", _("请选择党组织"))
            else:
                report = _attempt(form, lambda: services.report_create(
                    actor=request.user, organisation=org, month=d["month"], work_done=d["work_done"],
                    problems=d["problems"], next_plan=d["next_plan"], submit="submit" in request.POST))
                if report is not None:
                    messages.success(request, _("{org}{month}述职：{state}").format(
                        org=org.name, month=f"{report.month:%Y-%m}", state=report.get_state_display()))
                    return redirect("supervision:report", pk=report.pk)
        status = 400
    area = _area(request)
    errors: dict[str, list[str]] = {}
    raw = request.GET.get("month", "")
    month = selectors.this_month()
    if raw:
        try:
            month = services.parse_month(raw)
        except InvalidInput as exc:
            errors = exc.fields
    overview = None if errors else selectors.month_overview(request.user, area, month)
    chart = None
    if overview is not None and overview.reviewed:
        labels = dict(Verdict.choices)
        chart = pie_chart(_("评议结果分布"), [(str(labels[v]), n) for v, n in overview.verdicts.items() if n])
    return render(request, "supervision/reports.html", {
        "area": area, "month": month, "overview": overview, "errors": errors, "chart": chart,
        "queue": selectors.review_queue(request.user) if scope.has(Cap.ASSESS_REVIEW) else [],
        "form": (form or _report_form(request)) if can_write else None,
        "mine": selectors.my_reports(request.user) if can_write else [],
        "children": list(Area.objects.filter(path__prefix=area.path, depth=area.depth + 1).order_by("path")[:200]),
        "parent": Area.objects.filter(path=area.path[:-Area.steplen]).first() if area.depth > 1 else None,
    }, status=status)


def _report_page(request: HttpRequest, report: Any, *, edit: ReportEditForm | None = None,
                 status: int = 200) -> HttpResponse:
    roles = services.report_roles(request.user, report)
    editable = SECRETARY in roles and report.state in EDITABLE_REPORT_STATES
    if edit is None and editable:
        edit = ReportEditForm(initial={"work_done": report.work_done, "problems": report.problems,
                                       "next_plan": report.next_plan, "version": report.version})
    return render(request, "supervision/report.html", {
        "report": report, "steps": services.report_steps(request.user, report), "edit": edit if editable else None,
        "verdicts": Verdict.choices,
    }, status=status)


@login_required
@not_found_as_404
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = selectors.report_get(request.user, pk)
    if request.method == "POST":
        form = ReportEditForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            done = _attempt(form, lambda: services.report_update(
                actor=request.user, report=report, work_done=d["work_done"], problems=d["problems"],
                next_plan=d["next_plan"], expected_version=d["version"]))
            if done is not None:
                messages.success(request, _("已保存述职"))
                return redirect("supervision:report", pk=report.pk)
        return _report_page(request, report, edit=form, status=400)
    return _report_page(request, report)


@login_required
@require_POST
@not_found_as_404
def report_step(request: HttpRequest, pk: int) -> HttpResponse:
    report = selectors.report_get(request.user, pk)
    form = ReportStepForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("输入有误：{fields}").format(fields="、".join(form.errors)))
        return redirect("supervision:report", pk=report.pk)
    d = form.cleaned_data
    done = _flash(request, lambda: services.report_step(
        actor=request.user, report=report, step=d["step"], verdict=d["verdict"], note=d["note"], reason=d["reason"],
        expected_version=d["version"]))
    if done is not None:
        verdict = f" · {done.get_verdict_display()}" if done.verdict else ""
        messages.success(request, _("{org}{month}述职：{state}").format(
            org=report.organisation.name, month=f"{report.month:%Y-%m}", state=done.get_state_display()) + verdict)
    return redirect("supervision:report", pk=report.pk)


# ------------------------------------------------------------------------------------------ 交叉核查


def _team_choices(user: Any) -> list[tuple[str, str]]:
    """Staff of the areas the viewer runs checks in (the team comes from one of them)."""
    prefixes = scope_of(user).area_prefixes(Cap.SUPERVISION_CHECK)
    if not prefixes:
        return []
    from django.db.models import Q

    q = Q()
    for p in prefixes:
        q |= Q(area__path__prefix=p)
    grants = (RoleGrant.objects.filter(q, user__is_active=True).exclude(role="resident")
              .select_related("user", "area").order_by("area__path", "user__username")[:MAX_OPTIONS])
    seen: dict[int, str] = {}
    for g in grants:
        if g.user_id not in seen:
            seen[g.user_id] = f"{selectors.user_name(g.user)}（{g.area.name if g.area else ''}）"
    return [(str(k), v) for k, v in seen.items()]


def _check_form(request: HttpRequest, data: Any = None) -> CheckForm:
    form = CheckForm(data, prefix="check", initial={"checked_on": timezone.localdate()})
    areas = _labels(list(scoped(request.user, Area, cap=Cap.SUPERVISION_CHECK)
                         .filter(kind__in=services.CHECK_KINDS).order_by("path")[:MAX_OPTIONS]))
    set_choices(form.fields["area"], areas, blank="—")
    set_choices(form.fields["inspecting_area"], areas, blank="—")
    team = form.fields["team"]
    assert isinstance(team, forms.MultipleChoiceField)
    team.choices = _team_choices(request.user)
    return form


@login_required
@not_found_as_404
def checks(request: HttpRequest) -> HttpResponse:
    """交叉核查: the ledger counts per area (open / overdue / closed) with both ledgers in Excel, the checks of the
    area, the findings waiting for the viewer to rectify or verify, a new check for those who run them."""
    if not scope_of(request.user).has(Cap.ASSESS_VIEW):
        # A member unit named on a finding (its handler rectifies) sees only what waits for it.
        _need(request, Cap.SUPERVISION_RECTIFY)
        return render(request, "supervision/to_rectify.html", {"to_rectify": selectors.to_rectify(request.user)})
    can_check = scope_of(request.user).has(Cap.SUPERVISION_CHECK)
    form = None
    status = 200
    if request.method == "POST":
        if not can_check:
            raise Http404
        form = _check_form(request, request.POST)
        if form.is_valid():
            d = form.cleaned_data
            area = get_scoped(request.user, Area, d["area"], cap=Cap.SUPERVISION_CHECK) if d["area"] else None
            inspecting = (get_scoped(request.user, Area, d["inspecting_area"], cap=Cap.SUPERVISION_CHECK)
                          if d["inspecting_area"] else None)
            if area is None:
                form.add_error("area", _("请选择被核查区域"))
            elif inspecting is None:
                form.add_error("inspecting_area", _("请选择核查组所在区域"))
            else:
                team = list(get_user_model().objects.filter(pk__in=[int(x) for x in d["team"]]))
                target: Area = area
                check = _attempt(form, lambda: services.check_create(
                    actor=request.user, area=target, inspecting_area=inspecting, checked_on=d["checked_on"],
                    team=team, methods=d["methods"], summary=d["summary"]))
                if check is not None:
                    messages.success(request, _("已登记交叉核查：{inspecting}核查{area}").format(
                        inspecting=inspecting.name, area=area.name))
                    return redirect("supervision:check", pk=check.pk)
        status = 400
    area = _area(request)
    led = selectors.ledger_counts(request.user, area)
    return render(request, "supervision/checks.html", {
        "area": area, "ledger": led, "page": paginate(request, selectors.checks(request.user, area=area), size=20),
        "to_rectify": selectors.to_rectify(request.user), "to_verify": selectors.to_verify(request.user),
        "form": (form or _check_form(request)) if can_check else None,
        "parent": Area.objects.filter(path=area.path[:-Area.steplen]).first() if area.depth > 1 else None,
    }, status=status)


def _finding_form(request: HttpRequest, check: Any, data: Any = None) -> FindingForm:
    form = FindingForm(data, prefix="finding")
    inspected = check.area
    areas = list(Area.objects.filter(path__prefix=inspected.path, depth__lte=inspected.depth + 1)
                 .order_by("path")[:MAX_OPTIONS])
    set_choices(form.fields["area"], _labels(areas), blank=_("（被核查区域）"))
    units = MemberUnit.objects.filter(area__path__prefix=inspected.path).order_by("name")[:MAX_OPTIONS]
    set_choices(form.fields["unit"], [(u.pk, u.name) for u in units], blank="—")
    return form


def _check_page(request: HttpRequest, check: Any, *, form: FindingForm | None = None,
                status: int = 200) -> HttpResponse:
    found = list(selectors.findings(request.user, cross_check=check).order_by("pk")[:200])
    rects: dict[int, list[Any]] = {}
    for r in selectors.rectifications(request.user).filter(finding__in=[f.pk for f in found]).order_by("filed_at"):
        rects.setdefault(r.finding_id, []).append(r)
    now = timezone.now()
    for f in found:
        f.steps = services.finding_steps(request.user, f)  # type: ignore[attr-defined]
        f.history = rects.get(f.pk, [])  # type: ignore[attr-defined]
        f.overdue = f.is_overdue(now)  # type: ignore[attr-defined]
    inspector = services.is_inspector(request.user, check)
    return render(request, "supervision/check.html", {
        "check": check, "findings": found, "team": [selectors.user_name(u) for u in check.team.order_by("pk")],
        "form": (form or _finding_form(request, check)) if inspector else None,
    }, status=status)


@login_required
@not_found_as_404
def check_detail(request: HttpRequest, pk: int) -> HttpResponse:
    check = selectors.check_get(request.user, pk)
    if request.method == "POST":
        if not services.is_inspector(request.user, check):
            raise Http404
        form = _finding_form(request, check, request.POST)
        if form.is_valid():
            d = form.cleaned_data
            inside = check.area_path  # the inspected area's own nodes and units only, as the choices offer
            area = Area.objects.filter(pk=d["area"], path__startswith=inside).first() if d["area"] else None
            unit = (MemberUnit.objects.filter(pk=d["unit"], area__path__startswith=inside).first()
                    if d["unit"] else None)
            finding = _attempt(form, lambda: services.finding_add(
                actor=request.user, cross_check=check, description=d["description"], category=d["category"],
                place=d["place"], area=area, unit=unit, deadline_days=d["deadline_days"]))
            if finding is not None:
                messages.success(request, _("已登记问题，整改期限 {due}").format(
                    due=timezone.localtime(finding.due_at).strftime("%Y-%m-%d %H:%M")))
                return redirect(reverse("supervision:check", args=[check.pk]) + f"#finding-{finding.pk}")
        return _check_page(request, check, form=form, status=400)
    return _check_page(request, check)


@login_required
@require_POST
@not_found_as_404
def finding_step(request: HttpRequest, pk: int) -> HttpResponse:
    finding = selectors.finding_get(request.user, pk)
    form = FindingStepForm(request.POST)
    back = reverse("supervision:check", args=[finding.cross_check_id]) + f"#finding-{finding.pk}"
    if not form.is_valid():
        messages.error(request, _("输入有误：{fields}").format(fields="、".join(form.errors)))
        return redirect(back)
    d = form.cleaned_data
    done = _flash(request, lambda: services.finding_step(
        actor=request.user, finding=finding, step=d["step"], measures=d["measures"],
        completion_note=d["completion_note"], note=d["note"], reason=d["reason"], expected_version=d["version"]))
    if done is not None:
        messages.success(request, _("问题 WT{pk:06d}：{state}").format(pk=finding.pk, state=done.get_state_display()))
    return redirect(back)


@login_required
@not_found_as_404
def ledger_export(request: HttpRequest, kind: str) -> Any:
    """问题台账 / 整改台账 of the area as Excel."""
    _need(request, Cap.ASSESS_VIEW)
    if kind not in excel.KINDS:
        raise Http404
    try:
        return excel.ledger_response(request.user, _area(request), kind)
    except DomainError:
        raise Http404 from None
