"""Pages of projects (四单), the claiming pool, my claims, delivery records, volunteer hours and teams, and the 双报到
feedback. Thin: parse → fetch through the scope (or the public selector) → service → redirect, or the page again
with the errors on the fields."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.accounts.roles import Cap
from gongzhi.core import ledger
from gongzhi.core.errors import NotFound
from gongzhi.core.scope import as_scope, get_scoped, scoped
from gongzhi.councils.models import AgendaItem
from gongzhi.registry.models import Area, AreaKind, CommitmentItem, MemberUnit, Person
from gongzhi.web.forms import area_label, lookup_url, set_choices
from gongzhi.web.pages import attempt, not_found_as_404, paginate
from gongzhi.web.pages import attempt_flash as _flash

from ..forms_projects import (
    ClaimForm,
    DeliveryForm,
    MemberForm,
    MilestoneForm,
    ProjectForm,
    RateForm,
    ReportForm,
    StepForm,
    TeamForm,
    WithdrawForm,
)
from ..models import CobuildPhoto, Delivery, ListType, Milestone, Need, VolunteerTeam
from ..selectors import projects as sel
from ..services import projects as svc
from ..workflow import ProjectState

AREA_KINDS = (AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY, AreaKind.GRID, AreaKind.COMPOUND)


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


def _areas(user: Any, cap: str = Cap.COBUILD_MANAGE) -> list[tuple[int, str]]:
    areas = list(scoped(user, Area, cap=cap).filter(kind__in=AREA_KINDS).order_by("path")[:300])
    parents = dict(Area.objects.filter(path__in={a.path[:-Area.steplen] for a in areas})
                   .values_list("path", "name"))
    return [(a.pk, area_label(a, parents)) for a in areas]


def _photos(files: Any) -> list[tuple[str, bytes]]:
    return [(f.name, f.read()) for f in files.getlist("photos")][:7]


# ---------------------------------------------------------------------------------------------- list and form


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    """项目清单: filters by list type, state, area, overdue."""
    user = request.user
    g = request.GET
    area_id = _int(g.get("area"))
    area = Area.objects.filter(pk=area_id).first() if area_id else None
    qs = sel.projects(user, list_type=g.get("type", "")[:30], state=g.get("state", "")[:12], area=area,
                      overdue=g.get("overdue") == "1")
    page = paginate(request, qs)
    today = timezone.localdate()
    for p in page.items:
        p.is_late = sel.is_overdue(p, today)
    return render(request, "cobuild/project_list.html", {
        "page": page, "types": ListType.objects.filter(active=True), "states": ProjectState.choices,
        "areas": _areas(user, Cap.COBUILD_VIEW), "f": g, "today": today,
        "can_open": as_scope(user).has(Cap.COBUILD_MANAGE),
        "figures": sel.figures(user) if as_scope(user).has(Cap.COBUILD_VIEW) else None,
    })


def _fill_project_form(form: ProjectForm, user: Any, area: Area | None) -> None:
    set_choices(form.fields["list_type"], [(t.pk, t.name) for t in ListType.objects.filter(active=True)])
    set_choices(form.fields["area"], _areas(user), blank="—")
    from gongzhi.assessment.services import barred_units

    barred = barred_units()  # 末位禁入: shown on the choice, refused by the service
    units = [(u.pk, _("{name}（考评惩戒：至 {day} 不得承接新项目）").format(name=u.name, day=barred[u.pk])
              if u.pk in barred else u.name)
             for u in (sel.units_for(area) if area else MemberUnit.objects.none())[:300]]
    set_choices(form.fields["lead_unit"], units, blank="—", lookup=lookup_url("units", Cap.VIEW))
    form.fields["units"].choices = units  # type: ignore[attr-defined]
    people = [(p.pk, p.name) for p in scoped(user, Person, cap=Cap.VIEW_PEOPLE)
              .filter(area__path__startswith=area.path if area else "-").order_by("name")[:200]] if area else []
    set_choices(form.fields["person_in_charge"], people, blank="—",
                lookup=lookup_url("people", Cap.VIEW_PEOPLE))


@login_required
@not_found_as_404
def project_new(request: HttpRequest) -> HttpResponse:
    """新建项目 with the four lists grouped; ``?agenda_item=`` (a council decision), ``?need=`` or
    ``?commitment_item=`` prefill it from where it came from."""
    user = request.user
    if not as_scope(user).has(Cap.COBUILD_MANAGE):
        raise Http404
    src = request.POST if request.method == "POST" else request.GET
    item = get_scoped(user, AgendaItem.objects.select_related("council__area"), _int(src.get("agenda_item"))) \
        if _int(src.get("agenda_item")) else None
    need = get_scoped(user, Need, _int(src.get("need"))) if _int(src.get("need")) else None
    commitment = get_scoped(user, CommitmentItem, _int(src.get("commitment_item"))) \
        if _int(src.get("commitment_item")) else None
    today = timezone.localdate()
    initial: dict[str, Any] = {"starts_on": today, "public": True, "claim_limit": 1}
    if item is not None:
        initial.update(title=item.title[:100], task=item.decision or item.description, agenda_item=item.pk,
                       area=item.council.area_id, due_on=item.deadline,
                       standard=_("按议事会决议落实：{d}").format(d=item.decision[:200]) if item.decision else "")
    if need is not None:
        initial.update(title=need.title, task=need.description or need.title, need=need.pk, area=need.area_id,
                       due_on=need.wanted_by)
    if commitment is not None:
        initial.update(title=commitment.text[:100], task=commitment.text, commitment_item=commitment.pk,
                       due_on=commitment.due_on,
                       list_type=ListType.objects.filter(code="commitment").values_list("pk", flat=True).first())
    form = ProjectForm(request.POST or None, initial=initial)
    area_id = _int(request.POST.get("area")) or initial.get("area")
    area = Area.objects.filter(pk=area_id).first() if area_id else None
    _fill_project_form(form, user, area)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        list_type = ListType.objects.filter(pk=d["list_type"]).first()
        picked = get_scoped(user, Area, d["area"], cap=Cap.COBUILD_MANAGE) if d["area"] else None
        units = list(sel.units_for(picked).filter(pk__in=d["units"])) if picked else []
        lead = sel.units_for(picked).filter(pk=d["lead_unit"]).first() if picked and d["lead_unit"] else None
        person = scoped(user, Person, cap=Cap.VIEW_PEOPLE).filter(pk=d["person_in_charge"]).first() \
            if d["person_in_charge"] else None
        project = attempt(form, lambda: svc.project_open(
            actor=user, area=picked, list_type=list_type, title=d["title"], task=d["task"], standard=d["standard"],
            target_value=d["target_value"], target_measure=d["target_measure"], lead_unit=lead, units=units,
            person_in_charge=person, starts_on=d["starts_on"], limit_days=d["limit_days"] or 0, due_on=d["due_on"],
            public=d["public"], claim_limit=d["claim_limit"], budget=d["budget"], need=need, agenda_item=item,
            commitment_item=commitment))
        if project is not None:
            messages.success(request, _("已新建项目：{t}").format(t=project.title))
            return redirect("cobuild:project", pk=project.pk)
    return render(request, "cobuild/project_form.html", {
        "form": form, "item": item, "need": need, "commitment": commitment})


@login_required
@not_found_as_404
def project_from_item(request: HttpRequest, item_id: int) -> HttpResponse:
    """转为共建项目: the council item page links here; the form opens prefilled from the decision."""
    item = get_scoped(request.user, AgendaItem, item_id)
    return redirect(f"{_url('cobuild:project_new')}?agenda_item={item.pk}")


def _url(name: str, *args: Any) -> str:
    from django.urls import reverse

    return reverse(name, args=args)


# ---------------------------------------------------------------------------------------------- the project page


@login_required
@not_found_as_404
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    p = sel.project_get(user, pk)
    steps = svc.allowed_steps(user, p)
    kinds = svc.actor_kinds(user, p)
    runner = bool(kinds & {"manager", "unit", "owner"})
    s = as_scope(user)
    claim_units = [(u.pk, u.name) for u in MemberUnit.objects.filter(pk__in=s.unit_ids(Cap.COBUILD_OFFER))]
    in_pool = p.list_type.claimable and p.state in (ProjectState.OPEN, ProjectState.IN_PROGRESS) \
        and p.claims_active < p.claim_limit
    claim_form = ClaimForm()
    set_choices(claim_form.fields["unit"], claim_units, blank=_("以本人身份（党员/志愿者）"))
    if not claim_units and not (s.person_id and any(svc.person_claimant(s.person_id))):
        in_pool = False  # neither a unit's handler nor a party member or volunteer: nothing to claim as
    return render(request, "cobuild/project_detail.html", {
        "p": p, "late": sel.is_overdue(p), "milestones": sel.milestones(p), "reports": sel.reports(p),
        "claims": sel.identities(p), "deliveries": sel.project_deliveries(p), "ratings": sel.ratings(p),
        "units": list(p.units.all()), "steps": [t for t in steps if t.name != "report"],
        "can_report": any(t.name == "report" for t in steps), "runner": runner,
        "report_form": ReportForm(), "milestone_form": MilestoneForm(), "rate_form": RateForm(),
        "can_rate": p.state == ProjectState.ACCEPTED and p.public and s.person_id is not None
        and not sel.has_rated(user, p),
        "claim_form": claim_form if in_pool else None,
        "can_record": runner and p.state != ProjectState.CANCELLED,
    })


@login_required
@require_POST
@not_found_as_404
def project_step(request: HttpRequest, pk: int) -> HttpResponse:
    p = sel.project_get(request.user, pk)
    form = StepForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        if _flash(request, lambda: svc.project_step(actor=request.user, project=p, name=d["name"],
                                                    expected_version=d["version"], reason=d["reason"],
                                                    note=d["note"])) is not None:
            messages.success(request, _("已完成操作"))
    return redirect("cobuild:project", pk=pk)


@login_required
@require_POST
@not_found_as_404
def project_report(request: HttpRequest, pk: int) -> HttpResponse:
    p = sel.project_get(request.user, pk)
    form = ReportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "；".join(str(e) for es in form.errors.values() for e in es))
        return redirect("cobuild:project", pk=pk)
    d = form.cleaned_data
    if _flash(request, lambda: svc.project_step(
            actor=request.user, project=p, name="report", text=d["text"], progress=d["progress"],
            achieved_value=d["achieved_value"], photos=_photos(request.FILES))) is not None:
        messages.success(request, _("已报告进度"))
    return redirect("cobuild:project", pk=pk)


@login_required
@require_POST
@not_found_as_404
def project_rate(request: HttpRequest, pk: int) -> HttpResponse:
    p = sel.project_get(request.user, pk)
    form = RateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请选择评分"))
    elif _flash(request, lambda: svc.project_rate(actor=request.user, project=p, score=form.cleaned_data["score"],
                                                  comment=form.cleaned_data["comment"])) is not None:
        messages.success(request, _("感谢您的评价"))
    return redirect("cobuild:project", pk=pk)


@login_required
@require_POST
@not_found_as_404
def milestone_add(request: HttpRequest, pk: int) -> HttpResponse:
    p = sel.project_get(request.user, pk)
    form = MilestoneForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写节点名称和计划完成日期"))
    elif _flash(request, lambda: svc.milestone_add(actor=request.user, project=p, title=form.cleaned_data["title"],
                                                   due_on=form.cleaned_data["due_on"])) is not None:
        messages.success(request, _("已增加节点"))
    return redirect("cobuild:project", pk=pk)


@login_required
@require_POST
def milestone_done(request: HttpRequest, pk: int) -> HttpResponse:
    m = Milestone.objects.filter(pk=pk, project__in=sel.visible(request.user)).select_related("project").first()
    if m is None:
        raise Http404
    if _flash(request, lambda: svc.milestone_done(actor=request.user, milestone=m)) is not None:
        messages.success(request, _("节点已完成"))
    return redirect("cobuild:project", pk=m.project_id)


@login_required
def project_photo(request: HttpRequest, pk: int) -> FileResponse:
    """Photos are served only to those who may read the project or the delivery (never from a public folder)."""
    photo = CobuildPhoto.objects.filter(pk=pk).select_related("report", "delivery").first()
    if photo is None:
        raise Http404
    ok = False
    if photo.report is not None:
        ok = sel.visible(request.user).filter(pk=photo.report.project_id).exists()
    elif photo.delivery is not None:
        d = photo.delivery
        ok = scoped(request.user, Delivery).filter(pk=d.pk).exists() or (
            d.project_id is not None and sel.visible(request.user).filter(pk=d.project_id).exists())
    if not ok:
        raise Http404
    return FileResponse(photo.image.open("rb"), content_type=photo.content_type or "image/jpeg")


# ---------------------------------------------------------------------------------------------- claiming


@login_required
def claim_pool(request: HttpRequest) -> HttpResponse:
    """认领池: claimable 实事 with places left; one tap to claim with a pledge."""
    user = request.user
    s = as_scope(user)
    page = paginate(request, sel.pool(user, list_type=request.GET.get("type", "")[:30]))
    units = [(u.pk, u.name) for u in MemberUnit.objects.filter(pk__in=s.unit_ids(Cap.COBUILD_OFFER))]
    form = ClaimForm()
    set_choices(form.fields["unit"], units, blank=_("以本人身份（党员/志愿者）"))
    member, post = svc.person_claimant(s.person_id) if s.person_id else (None, None)
    return render(request, "cobuild/project_pool.html", {
        "page": page, "form": form, "units": units, "member": member, "post": post,
        "may_claim": bool(units or member or post),
        "types": ListType.objects.filter(active=True, claimable=True), "f": request.GET,
    })


@login_required
@require_POST
@not_found_as_404
def project_claim(request: HttpRequest, pk: int) -> HttpResponse:
    p = sel.pool(request.user).filter(pk=pk).select_related("list_type").first() or sel.project_get(request.user, pk)
    form = ClaimForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请检查认领信息"))
        return redirect("cobuild:claim_pool")
    unit_id = form.cleaned_data["unit"]
    unit = MemberUnit.objects.filter(pk=unit_id).first() if unit_id else None
    if _flash(request, lambda: svc.claim_create(actor=request.user, project=p, unit=unit,
                                                pledge=form.cleaned_data["pledge"])) is not None:
        messages.success(request, _("认领成功：{t}").format(t=p.title))
        return redirect("cobuild:project", pk=p.pk)
    return redirect("cobuild:claim_pool")


@login_required
def claims_mine(request: HttpRequest) -> HttpResponse:
    """我的认领 (mine and my unit's)."""
    page = paginate(request, sel.my_claims(request.user))
    return render(request, "cobuild/project_claims.html", {"page": page, "withdraw_form": WithdrawForm()})


@login_required
@require_POST
@not_found_as_404
def claim_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    claim = sel.claim_get(request.user, pk)
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写退领理由"))
    elif _flash(request, lambda: svc.claim_withdraw(actor=request.user, claim=claim,
                                                    reason=form.cleaned_data["reason"])) is not None:
        messages.success(request, _("已退领"))
    return redirect("cobuild:claims_mine")


# ---------------------------------------------------------------------------------------------- deliveries


@login_required
def delivery_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    g = request.GET
    area_id = _int(g.get("area"))
    area = Area.objects.filter(pk=area_id).first() if area_id else None
    page = paginate(request, sel.deliveries(user, area=area, unit_id=_int(g.get("unit"))))
    s = as_scope(user)
    return render(request, "cobuild/delivery_list.html", {
        "page": page, "areas": _areas(user, Cap.COBUILD_VIEW), "f": g,
        "can_record": s.has(Cap.COBUILD_MANAGE) or s.has(Cap.COBUILD_OFFER) or bool(sel.my_claims(user)[:1]),
    })


def _participants(text: str, form: DeliveryForm, people: Any) -> list[tuple[Person, Decimal]] | None:
    """Lines of "姓名或编号 小时数"; a name must be one person the recorder can see."""
    out: list[tuple[Person, Decimal]] = []
    for n, line in enumerate((text or "").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            form.add_error("participants", _("第 {n} 行格式应为：姓名 小时数").format(n=n))
            return None
        who, raw = parts
        try:
            hours = Decimal(raw)
        except InvalidOperation:
            form.add_error("participants", _("第 {n} 行的小时数不是数字").format(n=n))
            return None
        found = list(people.filter(pk=int(who)) if who.isdigit() else people.filter(name=who)[:2])
        if len(found) != 1:
            form.add_error("participants", _("第 {n} 行：找不到或有重名的人员“{w}”，请填人员编号").format(n=n, w=who))
            return None
        out.append((found[0], hours))
    return out


@login_required
@not_found_as_404
def delivery_new(request: HttpRequest) -> HttpResponse:
    """登记服务记录 — by a unit's handler, a claimant of the project, or a manager of the area; phone-friendly."""
    user = request.user
    s = as_scope(user)
    project_id = _int(request.POST.get("project") or request.GET.get("project"))
    project = sel.project_get(user, project_id) if project_id else None
    if not (s.has(Cap.COBUILD_MANAGE) or s.has(Cap.COBUILD_OFFER) or sel.my_claims(user).exists()):
        raise Http404  # only managers, units and claimants record services
    initial: dict[str, Any] = {"delivered_on": timezone.localdate()}
    if project is not None:
        initial.update(project=project.pk, area=project.area_id, title=project.title,
                       unit=project.lead_unit_id)
    form = DeliveryForm(request.POST or None, request.FILES or None, initial=initial)
    areas = _areas(user, Cap.COBUILD_MANAGE)
    if project is not None and project.area_id not in {a for a, _l in areas}:
        areas.insert(0, (project.area_id, project.area.name))
        areas += [(a.pk, a.name) for a in Area.objects.filter(path__startswith=project.area_path)
                  .exclude(pk=project.area_id).filter(kind__in=AREA_KINDS).order_by("path")[:100]]
    if not areas and s.unit_ids(Cap.COBUILD_OFFER):
        areas = _areas_of_units(s.unit_ids(Cap.COBUILD_OFFER))
    set_choices(form.fields["area"], areas, blank="—", lookup=lookup_url("areas", Cap.VIEW, AREA_KINDS))
    units = [(u.pk, u.name) for u in MemberUnit.objects.filter(pk__in=s.unit_ids(Cap.COBUILD_OFFER))]
    if project is not None and project.lead_unit and project.lead_unit_id not in {u for u, _n in units}:
        units.append((project.lead_unit.pk, project.lead_unit.name))
    set_choices(form.fields["unit"], units, blank="—")
    set_choices(form.fields["team"], [(t.pk, t.name) for t in sel.teams(user)[:100]], blank="—")
    mine = list(sel.projects(user).exclude(state=ProjectState.CANCELLED)[:100])
    if project is not None and project not in mine:
        mine.insert(0, project)
    set_choices(form.fields["project"], [(p.pk, p.title) for p in mine], blank="—")
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        people = sel.people_for(user)
        participants = _participants(d["participants"], form, people)
        area = Area.objects.filter(pk=d["area"]).first()
        unit = MemberUnit.objects.filter(pk=d["unit"]).first() if d["unit"] else None
        team = sel.teams(user).filter(pk=d["team"]).first() if d["team"] else None
        chosen = sel.visible(user).filter(pk=d["project"]).first() if d["project"] else None
        if participants is not None:
            delivery = attempt(form, lambda: svc.delivery_record(
                actor=user, area=area, kind=d["kind"], title=d["title"], delivered_on=d["delivered_on"],
                description=d["description"], place=d["place"], beneficiaries=d["beneficiaries"],
                hours=d["hours"] or 0, unit=unit, team=team, project=chosen, participants=participants,
                photos=_photos(request.FILES)))
            if delivery is not None:
                messages.success(request, _("已登记服务记录：{t}").format(t=delivery.title))
                return redirect("cobuild:project", pk=chosen.pk) if chosen else redirect("cobuild:deliveries")
    return render(request, "cobuild/delivery_form.html", {"form": form, "project": project})


def _areas_of_units(units: list[int]) -> list[tuple[int, str]]:
    paths = MemberUnit.objects.filter(pk__in=units).values_list("area__path", flat=True)
    q = Area.objects.none()
    for p in paths:
        q = q | Area.objects.filter(path__startswith=p[:2 * Area.steplen], kind__in=AREA_KINDS)
    return [(a.pk, a.name) for a in q.order_by("path")[:300]]


# ---------------------------------------------------------------------------------------------- volunteers


def _year_range(request: HttpRequest) -> tuple[dt.date, dt.date, int]:
    today = timezone.localdate()
    raw = request.GET.get("year", "")
    year = int(raw) if raw.isdigit() and 2000 <= int(raw) <= today.year + 1 else today.year
    return dt.date(year, 1, 1), dt.date(year, 12, 31), year


@login_required
def volunteer_hours(request: HttpRequest) -> HttpResponse:
    """志愿服务时长: a resident sees her own; staff and units see people, teams and units of their scope."""
    since, until, year = _year_range(request)
    user = request.user
    staff = as_scope(user).has(Cap.COBUILD_VIEW)
    return render(request, "cobuild/volunteer_hours.html", {
        "year": year, "mine": sel.my_hours(user, since=since, until=until), "staff": staff,
        "people": sel.hours_per_person(user, since=since, until=until)[:100] if staff else [],
        "teams": sel.hours_per_team(user, since=since, until=until) if staff else [],
        "units": sel.hours_per_unit(user, since=since, until=until) if staff else [],
    })


@login_required
def volunteer_teams(request: HttpRequest) -> HttpResponse:
    user = request.user
    s = as_scope(user)
    if not s.has(Cap.COBUILD_VIEW):
        raise Http404
    form = TeamForm(request.POST or None)
    areas = _areas(user, Cap.COBUILD_MANAGE) or _areas_of_units(s.unit_ids(Cap.COBUILD_OFFER))
    set_choices(form.fields["area"], areas, blank="—")
    units = [(u.pk, u.name) for u in MemberUnit.objects.filter(pk__in=s.unit_ids(Cap.COBUILD_OFFER))]
    set_choices(form.fields["unit"], units, blank="—")
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        unit = MemberUnit.objects.filter(pk=d["unit"]).first() if d["unit"] else None
        team = attempt(form, lambda: svc.team_create(actor=user, name=d["name"],
                                                     area=Area.objects.filter(pk=d["area"]).first(), unit=unit))
        if team is not None:
            messages.success(request, _("已新建志愿服务队：{n}").format(n=team.name))
            return redirect("cobuild:volunteer_teams")
    teams = list(sel.teams(user)[:100])
    member_form = MemberForm()
    set_choices(member_form.fields["person"], [], blank="—", lookup=lookup_url("people", Cap.VIEW_PEOPLE))
    return render(request, "cobuild/volunteer_teams.html", {
        "teams": teams, "form": form, "member_form": member_form,
        "can_create": s.has(Cap.COBUILD_MANAGE) or bool(units)})


@login_required
@require_POST
@not_found_as_404
def team_member_add(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_scoped(request.user, VolunteerTeam, pk)
    form = MemberForm(request.POST)
    person = sel.people_for(request.user).filter(pk=form.cleaned_data["person"]).first() if form.is_valid() else None
    if person is None:
        messages.error(request, _("请选择队员"))
    elif _flash(request, lambda: svc.team_add_member(actor=request.user, team=team, person=person)) is not None:
        messages.success(request, _("已增加队员"))
    return redirect("cobuild:volunteer_teams")


FEEDBACK_COLUMNS = [ledger.Col("姓名"), ledger.Col("工作单位"), ledger.Col("报到社区"), ledger.Col("服务次数", "int"),
                    ledger.Col("服务时长（小时）", "number"), ledger.Col("服务内容")]


@login_required
def dual_feedback(request: HttpRequest) -> HttpResponseBase:
    """双报到反馈: a party organisation's in-service members — how often, how long and what they served in the
    communities they registered with; the page and its Excel ledger."""
    user = request.user
    orgs = list(sel.feedback_orgs(user)[:200])
    org_id = _int(request.GET.get("org")) or (orgs[0].pk if orgs else None)
    since, until, year = _year_range(request)
    if org_id is None:
        return render(request, "cobuild/volunteer_feedback.html", {"orgs": [], "rows": [], "year": year})
    try:
        org, rows = sel.feedback(user, org_id, since=since, until=until)
    except NotFound:
        raise Http404 from None
    if request.GET.get("format") == "xlsx":
        sheet = ledger.Sheet(_("双报到反馈"), FEEDBACK_COLUMNS, [
            (r.name, r.work_unit, "、".join(r.communities), r.times, r.hours, "；".join(r.what)) for r in rows],
            title=_("{org} {y} 年在职党员双报到服务情况").format(org=org.name, y=year))
        return ledger.streaming_response(ledger.dated_name(f"{org.name}双报到反馈"), sheet)
    return render(request, "cobuild/volunteer_feedback.html", {
        "orgs": orgs, "org": org, "rows": rows, "year": year,
        "total_hours": sum((r.hours for r in rows), Decimal("0")), "total_times": sum(r.times for r in rows)})


urlpatterns: list[URLPattern] = [
    path("projects/", project_list, name="projects"),
    path("projects/new/", project_new, name="project_new"),
    path("projects/from-item/<int:item_id>/", project_from_item, name="project_from_item"),
    path("projects/<int:pk>/", project_detail, name="project"),
    path("projects/<int:pk>/step/", project_step, name="project_step"),
    path("projects/<int:pk>/report/", project_report, name="project_report"),
    path("projects/<int:pk>/rate/", project_rate, name="project_rate"),
    path("projects/<int:pk>/milestones/", milestone_add, name="milestone_add"),
    path("projects/<int:pk>/claim/", project_claim, name="project_claim"),
    path("milestones/<int:pk>/done/", milestone_done, name="milestone_done"),
    path("project-photos/<int:pk>/", project_photo, name="project_photo"),
    path("pool/", claim_pool, name="claim_pool"),
    path("claims/", claims_mine, name="claims_mine"),
    path("claims/<int:pk>/withdraw/", claim_withdraw, name="claim_withdraw"),
    path("deliveries/", delivery_list, name="deliveries"),
    path("deliveries/new/", delivery_new, name="delivery_new"),
    path("hours/", volunteer_hours, name="volunteer_hours"),
    path("teams/", volunteer_teams, name="volunteer_teams"),
    path("teams/<int:pk>/members/", team_member_add, name="team_member_add"),
    path("feedback/", dual_feedback, name="dual_feedback"),
]
