"""Pages of the case pipeline: the resident's phone pages (report, my cases, rate) and the staff workbench (queues,
case page with its actions, figures, ledger export). Thin: parse → scoped fetch → actions/selectors → render."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook

from gongzhi.accounts.roles import Cap
from gongzhi.core.errors import DomainError
from gongzhi.core.scope import get_scoped, scope_of, scoped
from gongzhi.registry.models import Area, AreaKind, MemberUnit, Sector
from gongzhi.registry.presenters import phone_for
from gongzhi.web.pages import bar_chart, boundary_svg, form_errors, not_found_as_404, pie_chart

from . import selectors, services
from .models import Case, CaseKind, CasePhoto, Category, Extension, Level, Mediation, Rating
from .workflow import TRANSITIONS, State

# How each recorded step reads on the timeline.
STEP_LABELS: dict[str, Any] = {
    **{name: t.label for name, t in TRANSITIONS.items()},
    "submit": gettext_lazy("反映"), "overdue": gettext_lazy("超期"), "request": gettext_lazy("申请延期"),
    "decide": gettext_lazy("延期审批"), "hearing": gettext_lazy("调解"), "conclude": gettext_lazy("调解结果"),
}


_not_found = not_found_as_404


# ------------------------------------------------------------------------------------------ resident: report


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several photos in one input; each is checked by the action (type by content, size, count)."""

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, (list, tuple)) else ([data] if data else [])
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class ReportForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("标题"), max_length=100,
                            widget=forms.TextInput(attrs={"placeholder": gettext_lazy("一句话说明问题")}))
    description = forms.CharField(label=gettext_lazy("问题描述"), max_length=4000, widget=forms.Textarea)
    category = forms.ChoiceField(label=gettext_lazy("问题类型（可不选）"), required=False)
    area = forms.ChoiceField(label=gettext_lazy("发生地（小区/楼栋）"), required=False)
    lng = forms.FloatField(required=False, widget=forms.HiddenInput)
    lat = forms.FloatField(required=False, widget=forms.HiddenInput)
    address = forms.CharField(label=gettext_lazy("补充位置说明"), max_length=200, required=False)
    photos = MultipleFileField(
        label=gettext_lazy("照片（最多6张，JPEG/PNG，每张不超过5MB）"), required=False,
        widget=MultipleFileInput(attrs={"accept": "image/jpeg,image/png"}),
    )


COMMON_CATEGORIES = ["030602", "030603", "030604", "030605", "030608", "030302", "030501", "030503", "030703",
                     "030704", "030204"]


def _report_places(user: Any) -> tuple[list[Area], str]:
    """Compounds and buildings the reporter can pick, and an offline map of the grids around them."""
    roots = Area.objects.filter(pk__in=scope_of(user).root_area_ids()).order_by("path")[:1]
    root = roots[0] if roots else None
    if root is None:
        return [], ""
    places = list(Area.objects.filter(path__prefix=root.path, kind__in=[AreaKind.COMPOUND, AreaKind.BUILDING])
                  .order_by("path")[:400])
    grids = list(Area.objects.filter(path__prefix=root.path, kind=AreaKind.GRID, boundary__isnull=False)[:60])
    return places, boundary_svg([(g.boundary, False) for g in grids]) if grids else ""


@login_required
def report(request: HttpRequest) -> HttpResponse:
    if not scope_of(request.user).has(Cap.CASE_REPORT):
        raise Http404
    places, svg = _report_places(request.user)
    names = {a.path: a.name for a in places}
    form = ReportForm(request.POST or None, request.FILES or None)
    categories = list(Category.objects.filter(code__in=COMMON_CATEGORIES).order_by("code"))
    form.fields["category"].choices = [("", "—")] + [(c.code, c.name) for c in categories]  # type: ignore[attr-defined]
    form.fields["area"].choices = [("", _("在地图上标注或选择"))] + [  # type: ignore[attr-defined]
        (a.pk, a.name if a.kind == AreaKind.COMPOUND else f"{names.get(a.path[:-4], '')} {a.name}") for a in places]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            area = get_scoped(request.user, Area, int(data["area"])) if data["area"] else None
            photos = [(f.name, f.read()) for f in data["photos"][:7]]
            case = services.case_submit(
                actor=request.user, title=data["title"], description=data["description"], area=area,
                lng=data["lng"], lat=data["lat"], address=data["address"],
                category=services.CATEGORIES_BY_CODE.get().get(data["category"]) if data["category"] else None,
                photos=photos, channel="app" if not scope_of(request.user).has(Cap.CASE_VIEW) else "patrol",
            )
        except DomainError as exc:
            form_errors(form, exc)
            if "lng" in exc.fields and "area" in form.fields:
                form.add_error("area", exc.fields["lng"][0])
        else:
            messages.success(request, _("已提交，诉求编号 {number}").format(number=case.number))
            return redirect("cases:case", pk=case.pk)
    return render(request, "cases/report.html", {"form": form, "svg": svg})


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    scope = scope_of(request.user)
    if scope.person_id is None:
        raise Http404
    reported = selectors.queue(request.user, "reported")[:100]
    followed = Case.objects.filter(followers__person_id=scope.person_id).select_related("category", "area")[:50]
    return render(request, "cases/mine.html", {"reported": reported, "followed": followed})


# ------------------------------------------------------------------------------------------ staff: workbench


@login_required
@_not_found
def workbench(request: HttpRequest) -> HttpResponse:
    scope = scope_of(request.user)
    if not scope.has(Cap.CASE_VIEW):
        raise Http404
    key = request.GET.get("queue") or "to_dispatch" if scope.has(Cap.CASE_DISPATCH) else request.GET.get(
        "queue") or "mine"
    if key not in selectors.QUEUE_KEYS:
        raise Http404
    q = request.GET.get("q", "").strip()[:50]
    qs = selectors.queue(request.user, key, text=q)
    after = None
    if request.GET.get("after"):
        try:
            stamp, pk = request.GET["after"].rsplit("_", 1)
            after = (dt.datetime.fromisoformat(stamp), int(pk))
        except ValueError:
            raise Http404 from None
    page = selectors.queue_page(qs, limit=51, after=after)
    more = len(page) > 50
    page = page[:50]
    if request.method == "POST" and key in ("to_dispatch",):
        return _bulk_dispatch(request)
    counts = selectors.queue_counts(request.user)
    queues = [(q_.key, q_.label, counts.get(q_.key)) for q_ in selectors.QUEUES
              if q_.key != "reported" or scope.person_id]
    return render(request, "cases/workbench.html", {
        "queue": key, "queues": queues, "cases": page, "q": q,
        "next": f"{page[-1].created_at.isoformat()}_{page[-1].pk}" if more and page else "",
        "units": _dispatch_units() if key == "to_dispatch" and scope.has(Cap.CASE_DISPATCH) else [],
        "now": timezone.now(),
    })


def _dispatch_units() -> list[MemberUnit]:
    return list(MemberUnit.objects.filter(sector__in=[Sector.ORGAN, Sector.STATE_ENTERPRISE, Sector.PROPERTY,
                                                      Sector.PUBLIC_INSTITUTION]).order_by("sector", "name")[:300])


def _bulk_dispatch(request: HttpRequest) -> HttpResponse:
    """批量派遣: dispatch the ticked cases to one unit (or the owning level's own team), each through the action."""
    ids = [int(i) for i in request.POST.getlist("case") if i.isdigit()][:50]
    unit_id = request.POST.get("unit", "")
    unit = MemberUnit.objects.filter(pk=int(unit_id)).first() if unit_id.isdigit() else None
    done, failed = 0, []
    for case in scoped(request.user, Case).filter(pk__in=ids).select_related("category"):
        try:
            data: dict[str, Any] = {"unit": unit}
            if case.state == State.SUBMITTED:
                continue
            services.transition(actor=request.user, case=case, name="dispatch", **data)
            done += 1
        except DomainError as exc:
            failed.append(f"{case.number}: {exc.message}")
    if done:
        messages.success(request, _("已派遣 {n} 件").format(n=done))
    for f in failed:
        messages.error(request, f)
    return redirect(f"{request.path}?queue=to_dispatch")


# ------------------------------------------------------------------------------------------ the case page


class ActionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=gettext_lazy("理由/说明"), max_length=1000, required=False, widget=forms.Textarea(
        attrs={"rows": 2}))
    category = forms.CharField(max_length=16, required=False)
    unit = forms.IntegerField(required=False)
    time_limit = forms.IntegerField(required=False, min_value=1, max_value=365)
    feedback = forms.CharField(max_length=4000, required=False)
    resolved = forms.BooleanField(required=False)
    rating = forms.ChoiceField(choices=[("", ""), *Rating.choices], required=False)
    into = forms.IntegerField(required=False)
    to_level = forms.ChoiceField(choices=[("", ""), *Level.choices], required=False)
    claimable = forms.BooleanField(required=False)


@login_required
@_not_found
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    case = selectors.case_get(user, pk)
    if request.method == "POST":
        return _act(request, case)
    allowed = services.allowed_transitions(user, case)
    scope = scope_of(user)
    staff = scope.can(Cap.CASE_VIEW, area_path=case.area_path) or (
        case.assignee_unit_id is not None and case.assignee_unit_id in scope.unit_ids(Cap.CASE_VIEW))
    grid = Area.objects.filter(path=case.area_path[:20], kind=AreaKind.GRID).first()
    svg = boundary_svg([(grid.boundary, True)]) if grid and grid.boundary else ""
    context = {
        "case": case, "allowed": [TRANSITIONS[n] for n in allowed], "staff": staff,
        "timeline": [(e, STEP_LABELS.get(e.action.rsplit(".", 1)[-1], e.action)) for e in selectors.timeline(case)],
        "photos": case.photos.all(),
        "contact_phone": phone_for(user, case.contact_phone, case.area_path),
        "reporter_name": (case.reporter.name if case.reporter else case.contact_name) if staff else "",
        "svg": svg,
        "categories": list(Category.objects.filter(depth=3, active=True).order_by("code")) if "accept" in allowed
        else [],
        "units": _dispatch_units() if "dispatch" in allowed else [],
        "duplicates": selectors.suggest_duplicates(user, case) if "merge" in allowed else [],
        "extensions": case.extensions.order_by("-requested_at")[:5] if staff else [],
        "can_request_extension": (staff and "return" in allowed) or "handle" in allowed,
        "pending_extension": case.extensions.filter(decision=Extension.Decision.PENDING).first(),
        "can_decide": "dispatcher" in services.actor_kinds(user, case),
        "mediation": getattr(case, "mediation", None) if case.kind == CaseKind.MEDIATION else None,
        "ratings": Rating.choices, "levels": [lv for lv in Level.choices if lv[0] != "grid"],
    }
    return render(request, "cases/case.html", context)


def _act(request: HttpRequest, case: Case) -> HttpResponse:
    user = request.user
    what = request.POST.get("action", "")
    try:
        if what == "extension":
            services.extension_request(actor=user, case=case, days=int(request.POST.get("days") or 0),
                                       reason=request.POST.get("reason", ""))
        elif what in ("approve", "refuse"):
            ext = case.extensions.filter(pk=int(request.POST.get("extension") or 0)).first()
            if ext is None:
                raise Http404
            services.extension_decide(actor=user, extension=ext, approve=what == "approve",
                                      reason=request.POST.get("reason", ""))
        elif what == "hearing":
            held = dt.datetime.fromisoformat(request.POST.get("held_at", "")) if request.POST.get("held_at") else None
            if held is None:
                raise DomainError(_("请填写调解时间"), {"held_at": [_("请填写调解时间")]})
            services.hearing_record(actor=user, case=case, held_at=timezone.make_aware(held),
                                    place=request.POST.get("place", ""), mediators=request.POST.get("mediators", ""),
                                    notes=request.POST.get("notes", ""))
        elif what == "conclude":
            services.mediation_conclude(actor=user, case=case, outcome=request.POST.get("outcome", ""),
                                        agreement=request.POST.get("agreement", ""))
        elif what in TRANSITIONS:
            form = ActionForm(request.POST)
            if not form.is_valid():
                raise DomainError(_("输入有误"), {k: [str(e) for e in v] for k, v in form.errors.items()})
            d = form.cleaned_data
            data: dict[str, Any] = {"feedback": d["feedback"], "resolved": d["resolved"] or what != "handle",
                                    "claimable": d["claimable"]}
            if what == "handle":
                data["resolved"] = d["resolved"]
                data["photos"] = [(f.name, f.read()) for f in request.FILES.getlist("photos")[:7]]
            if d["category"]:
                data["category"] = services.CATEGORIES_BY_CODE.get().get(d["category"])
            if what == "dispatch":
                data["unit"] = MemberUnit.objects.filter(pk=d["unit"]).first() if d["unit"] else None
                if d["time_limit"]:
                    data["time_limit"] = d["time_limit"]
            if d["rating"]:
                data["rating"] = d["rating"]
            if d["into"]:
                data["into"] = selectors.case_get(user, d["into"])
            if d["to_level"]:
                data["to_level"] = d["to_level"]
            if what in ("rate", "reopen"):
                services.rate(actor=user, case=case, rating=d["rating"] or "", comment=d["reason"],
                              expected_version=d["version"])
            else:
                services.transition(actor=user, case=case, name=what, expected_version=d["version"],
                                    reason=d["reason"], **data)
        else:
            raise Http404
    except DomainError as exc:
        detail = "；".join(f"{m}" for msgs in exc.fields.values() for m in msgs) or exc.message
        messages.error(request, detail)
    else:
        messages.success(request, _("已办理"))
    return redirect("cases:case", pk=case.pk)


@login_required
@_not_found
def photo(request: HttpRequest, pk: int) -> FileResponse:
    """Photos are served only to those who may see the case (not from a public media folder)."""
    item = CasePhoto.objects.filter(pk=pk).first()
    if item is None:
        raise Http404
    selectors.case_get(request.user, item.case_id)
    return FileResponse(item.image.open("rb"), content_type=item.content_type)


# ------------------------------------------------------------------------------------------ figures and ledger


def _period(request: HttpRequest) -> tuple[dt.date, dt.date]:
    today = timezone.localdate()
    try:
        end = dt.date.fromisoformat(request.GET["end"]) if request.GET.get("end") else today
        start = dt.date.fromisoformat(request.GET["start"]) if request.GET.get("start") else end - dt.timedelta(
            days=365)
    except ValueError:
        raise Http404 from None
    return start, end


@login_required
@_not_found
def figures(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not scope_of(user).has(Cap.CASE_VIEW):
        raise Http404
    roots = list(Area.objects.filter(pk__in=scope_of(user).root_area_ids(Cap.CASE_VIEW)).order_by("path"))
    area = get_scoped(user, Area, int(request.GET["area"])) if request.GET.get("area", "").isdigit() else (
        roots[0] if roots else None)
    if area is None:
        raise Http404
    start, end = _period(request)
    total = selectors.figures(user, area, start, end)
    children = selectors.figures_by_child(user, area, start, end) if area.kind not in (
        AreaKind.GRID, AreaKind.COMPOUND, AreaKind.BUILDING) else []
    units = selectors.figures_by_unit(user, area, start, end)
    labels = [c.area.name if c.area else "" for c in children]
    charts = {
        "volume": bar_chart(_("诉求量（按下级区域）"), labels, [
            (_("受理"), [c.received for c in children]), (_("办结"), [c.closed for c in children])]),
        "rates": bar_chart(_("按期办结率与满意率"), labels, [
            (_("按期办结率"), [c.on_time_rate or 0 for c in children]),
            (_("满意率"), [c.satisfaction_rate or 0 for c in children])], unit="%"),
        "levels": pie_chart(_("在哪一级办结"), [(str(Level(k).label), v) for k, v in total.by_level.items() if v]),
    }
    return render(request, "cases/figures.html", {"area": area, "roots": roots, "f": total, "children": children,
                                                  "units": units, "charts": charts, "start": start, "end": end})


@login_required
@_not_found
def ledger_export(request: HttpRequest) -> HttpResponse:
    """The open-case ledger (挂账台账) as Excel, what the viewer may see, personal data masked."""
    user = request.user
    if not scope_of(user).has(Cap.CASE_VIEW):
        raise Http404
    qs = selectors.queue(user, "ledger").select_related("reporter")[:20000]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("挂账台账"))
    ws.append([_("编号"), _("标题"), _("分类"), _("状态"), _("发生地"), _("承办层级"), _("承办单位"), _("反映时间"),
               _("办结时限"), _("超期"), _("联系电话")])
    for c in qs:
        ws.append([c.number, c.title, c.category.name if c.category else "", c.get_state_display(),
                   c.area.name if c.area else "",
                   c.get_level_display(), c.assignee_unit.name if c.assignee_unit else "",
                   timezone.localtime(c.created_at).strftime("%Y-%m-%d %H:%M"),
                   timezone.localtime(c.due_at).strftime("%Y-%m-%d %H:%M") if c.due_at else "",
                   _("是") if c.is_overdue else "", phone_for(user, c.contact_phone, c.area_path)])
    out = io.BytesIO()
    wb.save(out)
    response = HttpResponse(out.getvalue(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="ledger-{timezone.localdate():%Y%m%d}.xlsx"'
    return response


@login_required
def public(request: HttpRequest) -> HttpResponse:
    """What has been reported in the viewer's area, with no personal data (title, type, place, state)."""
    roots = Area.objects.filter(pk__in=scope_of(request.user).root_area_ids()).order_by("path")
    root = roots.first()
    cases = list(selectors.public_cases(root)[:100]) if root else []
    return render(request, "cases/public.html", {"cases": cases, "root": root, "mediation": Mediation})
