"""Pages of grid patrol: my rounds and the rounds due, plans (list, new, edit, end), the round page a grid worker
uses on her phone (tick the checklist, visit households, turn a problem into a case, close the round) and the
figures. Thin: parse → fetch through the scope → service → redirect, or the page again with the errors on the
fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.accounts.roles import Cap
from gongzhi.core.errors import DomainError
from gongzhi.core.scope import get_scoped, scope_of, scoped
from gongzhi.registry.models import Area, AreaKind, Person
from gongzhi.web.forms import area_label, set_choices
from gongzhi.web.pages import area_and_period, bar_chart, form_errors, not_found_as_404, paginate
from gongzhi.web.pages import attempt as _attempt
from gongzhi.web.pages import attempt_flash as _flash
from gongzhi.web.pages import need as _need

from . import selectors, services
from .forms import CheckForm, CloseForm, PlanEditForm, PlanForm, VisitForm
from .models import PatrolCheck, PatrolRound, period_start

# ------------------------------------------------------------------------------------------ index


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """我的巡查: the plans I walk with this period's status and the last few; the plans of my area."""
    _need(request, Cap.VIEW_PEOPLE)
    today = timezone.localdate()
    mine = selectors.plan_views(selectors.my_plans(request.user, today), today)
    mine_ids = {v.plan.pk for v in mine}
    area_plans = [p for p in selectors.plans(request.user).filter(ended_on__isnull=True)[:selectors.MAX_PLANS]
                  if p.pk not in mine_ids]
    recent = list(selectors.rounds(request.user)[:20])
    scope = scope_of(request.user)
    return render(request, "patrol/index.html", {
        "mine": mine, "area_plans": selectors.plan_views(area_plans, today, count=4), "recent": recent,
        "today": today, "can_plan": scope.has(Cap.EDIT_PEOPLE),
    })


# ------------------------------------------------------------------------------------------ plans


def _plan_areas(user: Any) -> list[tuple[int, str]]:
    areas = list(scoped(user, Area, cap=Cap.EDIT_PEOPLE).filter(kind__in=services.PLAN_KINDS)
                 .order_by("path")[:500])
    parents = dict(Area.objects.filter(path__in={a.path[:-Area.steplen] for a in areas if a.kind != "community"})
                   .values_list("path", "name"))
    return [(a.pk, area_label(a, parents)) for a in areas]


def _patroller(form: forms.Form, raw: int | None) -> tuple[bool, Any]:
    if not raw:
        return True, None
    user = get_user_model().objects.filter(pk=raw).first()
    if user is None:
        form.add_error("patroller", _("巡查人不存在"))
        return False, None
    return True, user


def _patroller_choices(area: Area | None, user: Any) -> list[tuple[int, str]]:
    if area is None:
        areas = [a for a in scoped(user, Area, cap=Cap.EDIT_PEOPLE).filter(kind__in=services.PLAN_KINDS)
                 .order_by("path")[:1]]
        area = areas[0] if areas else None
    people = selectors.patrollers_for(area) if area is not None else []
    return [(u.pk, u.get_full_name() or u.username) for u in people]


@login_required
@not_found_as_404
def plan_new(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.EDIT_PEOPLE)
    form = PlanForm(request.POST or None, initial={"starts_on": timezone.localdate()})
    set_choices(form.fields["area"], _plan_areas(request.user), blank="—")
    raw_area = request.POST.get("area") or request.GET.get("area") or ""
    picked = get_scoped(request.user, Area, int(raw_area), cap=Cap.EDIT_PEOPLE) if raw_area.isdigit() else None
    if picked is not None:
        form.initial["area"] = picked.pk
    set_choices(form.fields["patroller"], _patroller_choices(picked, request.user), blank=_("本区域工作人员均可"))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        ok, patroller = _patroller(form, d["patroller"])
        if ok and picked is not None:
            plan = _attempt(form, lambda: services.plan_create(
                actor=request.user, area=picked, name=d["name"], frequency=d["frequency"], checklist=form.items(),
                patroller=patroller, starts_on=d["starts_on"]))
            if plan is not None:
                messages.success(request, _("已新增巡查计划：{name}").format(name=plan.name))
                return redirect("patrol:plan", pk=plan.pk)
    return render(request, "web/form.html", {"form": form, "title": _("新增巡查计划"), "back": "patrol:index"})


@login_required
@not_found_as_404
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.plan_get(request.user, pk)
    today = timezone.localdate()
    view = selectors.plan_views([plan], today, count=24)[0]
    scope = scope_of(request.user)
    return render(request, "patrol/plan.html", {
        "plan": plan, "view": view, "today": today,
        "can_edit": scope.can(Cap.EDIT_PEOPLE, area_path=plan.area_path) and plan.ended_on is None,
        "can_start": services.may_patrol(request.user, plan.area_path) and plan.ended_on is None
        and plan.patroller_id in (None, request.user.pk),
    })


@login_required
@not_found_as_404
def plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.plan_get(request.user, pk)
    if not scope_of(request.user).can(Cap.EDIT_PEOPLE, area_path=plan.area_path):
        raise Http404
    form = PlanEditForm(request.POST or None, initial={
        "name": plan.name, "patroller": plan.patroller_id, "checklist": "\n".join(plan.checklist),
        "version": plan.version})
    set_choices(form.fields["patroller"], _patroller_choices(plan.area, request.user), blank=_("本区域工作人员均可"))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        ok, patroller = _patroller(form, d["patroller"])
        if ok and _attempt(form, lambda: services.plan_update(
                actor=request.user, plan=plan, name=d["name"], checklist=form.items(), patroller=patroller,
                reason=d["reason"], expected_version=d["version"])) is not None:
            messages.success(request, _("已保存巡查计划"))
            return redirect("patrol:plan", pk=plan.pk)
    return render(request, "web/form.html", {"form": form, "title": _("修改巡查计划：{name}").format(name=plan.name),
                                             "back": "patrol:index"})


@login_required
@require_POST
@not_found_as_404
def plan_end(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.plan_get(request.user, pk)
    if _flash(request, lambda: services.plan_end(actor=request.user, plan=plan)) is not None:
        messages.success(request, _("巡查计划已结束"))
    return redirect("patrol:plan", pk=plan.pk)


@login_required
@require_POST
@not_found_as_404
def round_start(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.plan_get(request.user, pk)
    rnd = _flash(request, lambda: services.round_start(actor=request.user, plan=plan))
    if rnd is None:
        existing = PatrolRound.objects.filter(plan=plan, period_start=period_start(
            plan.frequency, timezone.localdate())).first()
        return redirect("patrol:round", pk=existing.pk) if existing else redirect("patrol:plan", pk=plan.pk)
    return redirect("patrol:round", pk=rnd.pk)


# ------------------------------------------------------------------------------------------ the round (phone)


def _visit_form(request: HttpRequest, rnd: PatrolRound, data: Any = None) -> VisitForm:
    form = VisitForm(data, prefix="visit", initial={"visited_on": min(timezone.localdate(), rnd.period_end)})
    people, buildings = selectors.household_choices(request.user, rnd)
    parents = dict(Area.objects.filter(path__in={a.path[:-Area.steplen] for a in buildings}).values_list(
        "path", "name"))
    set_choices(form.fields["person"], [(p.pk, f"{p.name}（{p.area.name}）") for p in people], blank="—")
    set_choices(form.fields["building"], [(b.pk, f"{parents.get(b.path[:-Area.steplen], '')} {b.name}")
                                          for b in buildings], blank="—")
    return form


def _round_page(request: HttpRequest, rnd: PatrolRound, *, failed: dict[int, CheckForm] | None = None,
                visit_form: VisitForm | None = None, close_form: CloseForm | None = None,
                unticked: list[str] | None = None, status: int = 200) -> HttpResponse:
    checks = selectors.round_checks(rnd)
    for c in checks:
        c.form = (failed or {}).get(c.pk) or CheckForm(prefix=f"c{c.pk}", initial={  # type: ignore[attr-defined]
            "status": c.status if c.status != PatrolCheck.Status.PENDING else None, "note": c.note})
    editable = rnd.state == PatrolRound.State.OPEN and rnd.patroller_id == request.user.pk
    return render(request, "patrol/round.html", {
        "round": rnd, "checks": checks, "visits": selectors.round_visits(rnd),
        "visit_form": visit_form or (_visit_form(request, rnd) if editable else None),
        "close_form": close_form or CloseForm(prefix="close"), "editable": editable, "unticked": unticked,
        "can_case": services.may_patrol(request.user, rnd.area_path),
        "done": sum(c.status != PatrolCheck.Status.PENDING for c in checks),
    }, status=status)


@login_required
@not_found_as_404
def round_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _round_page(request, selectors.round_get(request.user, pk))


@login_required
@require_POST
@not_found_as_404
def check_save(request: HttpRequest, pk: int) -> HttpResponse:
    check = selectors.check_get(request.user, pk)
    rnd = selectors.round_get(request.user, check.round_id)
    form = CheckForm(request.POST, request.FILES, prefix=f"c{check.pk}")
    if form.is_valid():
        d = form.cleaned_data
        photo = (d["photo"].name, d["photo"].read()) if d.get("photo") else None
        if _attempt(form, lambda: services.check_record(actor=request.user, check=check, status=d["status"],
                                                        note=d["note"], photo=photo)) is not None:
            return redirect(f"{rnd_url(rnd)}#check-{check.pk}")
    return _round_page(request, rnd, failed={check.pk: form}, status=400)


def rnd_url(rnd: PatrolRound) -> str:
    from django.urls import reverse

    return reverse("patrol:round", kwargs={"pk": rnd.pk})


@login_required
@require_POST
@not_found_as_404
def check_case(request: HttpRequest, pk: int) -> HttpResponse:
    check = selectors.check_get(request.user, pk)
    case = _flash(request, lambda: services.check_to_case(actor=request.user, check=check))
    if case is not None:
        messages.success(request, _("已转为诉求 {number}").format(number=case.number))
    return redirect(f"{rnd_url(check.round)}#check-{check.pk}")


@login_required
@require_POST
@not_found_as_404
def visit_add(request: HttpRequest, pk: int) -> HttpResponse:
    rnd = selectors.round_get(request.user, pk)
    form = _visit_form(request, rnd, request.POST)
    if form.is_valid():
        d = form.cleaned_data
        person = get_scoped(request.user, Person, d["person"], cap=Cap.VIEW_PEOPLE) if d["person"] else None
        building = get_scoped(request.user, Area.objects.filter(kind=AreaKind.BUILDING), d["building"]) \
            if d["building"] else None
        visit = _attempt(form, lambda: services.visit_record(
            actor=request.user, round=rnd, person=person, building=building, door=d["door"],
            visited_on=d["visited_on"], note=d["note"], problem_found=d["problem_found"]))
        if visit is not None:
            messages.success(request, _("已记录入户走访：{household}").format(household=visit.household_label))
            return redirect(f"{rnd_url(rnd)}#visits")
    return _round_page(request, rnd, visit_form=form, status=400)


@login_required
@require_POST
@not_found_as_404
def visit_case(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.visit_get(request.user, pk)
    case = _flash(request, lambda: services.visit_to_case(actor=request.user, visit=visit))
    if case is not None:
        messages.success(request, _("已转为诉求 {number}").format(number=case.number))
    return redirect(f"{rnd_url(visit.round)}#visit-{visit.pk}")


@login_required
@require_POST
@not_found_as_404
def round_close(request: HttpRequest, pk: int) -> HttpResponse:
    rnd = selectors.round_get(request.user, pk)
    form = CloseForm(request.POST, prefix="close")
    unticked: list[str] = []
    if form.is_valid():
        try:
            services.round_close(actor=request.user, round=rnd, summary=form.cleaned_data["summary"])
        except DomainError as exc:
            unticked = exc.fields.get("checks", [])  # shown above the close button, naming the items left
            if not unticked:
                form_errors(form, exc)
        else:
            messages.success(request, _("本次巡查已完成"))
            return redirect("patrol:index")
    return _round_page(request, rnd, close_form=form, unticked=unticked, status=400)


@login_required
@not_found_as_404
def photo(request: HttpRequest, pk: int) -> FileResponse:
    """Photos are served only to those who may see the round (not from a public media folder)."""
    check = selectors.check_get(request.user, pk)
    if not check.photo:
        raise Http404
    return FileResponse(check.photo.open("rb"), content_type=check.photo_type or "image/jpeg")


# ------------------------------------------------------------------------------------------ figures


@login_required
@not_found_as_404
def figures(request: HttpRequest) -> HttpResponse:
    """Per grid: the share of households visited, rounds done against due, problems found and cases opened."""
    _need(request, Cap.VIEW_PEOPLE)
    asked = area_and_period(request, Cap.VIEW_PEOPLE, selectors.default_period())
    area, start, end, errors = asked.area, asked.start, asked.end, asked.errors
    f = None
    chart_visits = chart_rounds = None
    if not errors and start is not None and end is not None:
        try:
            f = selectors.figures(request.user, area, start, end)
        except DomainError as exc:
            errors = exc.fields
    if f is not None and f.grids:
        labels = [g.area.name for g in f.grids]
        chart_visits = bar_chart(_("入户走访覆盖率"), labels, [(_("走访户数占比"), [g.visit_rate or 0
                                                                                     for g in f.grids])], unit="%")
        chart_rounds = bar_chart(_("巡查完成情况"), labels, [
            (_("应巡查"), [g.rounds_due for g in f.grids]), (_("已完成"), [g.rounds_done for g in f.grids]),
            (_("发现问题"), [g.problems for g in f.grids]), (_("转为诉求"), [g.cases for g in f.grids])])
    return render(request, "patrol/figures.html", {
        "area": area, "f": f, "start": start or request.GET.get("start"), "end": end or request.GET.get("end"),
        "errors": errors, "chart_visits": chart_visits, "chart_rounds": chart_rounds,
    })


# ------------------------------------------------------------------------------------------ lists


@login_required
def plan_list(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.VIEW_PEOPLE)
    page = paginate(request, selectors.plans(request.user))
    return render(request, "patrol/plans.html", {"page": page, "can_plan": scope_of(request.user).has(
        Cap.EDIT_PEOPLE)})

