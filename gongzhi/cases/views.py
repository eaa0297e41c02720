"""Pages of the case pipeline: the resident's phone pages (report, my cases, rate) and the staff workbench (queues,
case page with its actions, figures, ledger export). Thin: parse → scoped fetch → actions/selectors → render."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gongzhi.accounts.roles import Cap
from gongzhi.core import ledger, reports
from gongzhi.core.errors import DomainError
from gongzhi.core.replicas import replica_reads
from gongzhi.core.scope import get_scoped, scope_of, scoped
from gongzhi.registry.models import Area, AreaKind, MemberUnit, Person, Sector
from gongzhi.registry.presenters import phone_for
from gongzhi.web.pages import bar_chart, boundary_svg, form_errors, not_found_as_404, pie_chart

from . import selectors, services
from .models import (
    STAFF_CHANNELS,
    Case,
    CaseFollower,
    CaseKind,
    CasePhoto,
    CaseVisit,
    Category,
    Channel,
    Extension,
    Level,
    Mediation,
    Rating,
)
from .workflow import FINAL_STATES, TRANSITIONS, State

# How each recorded step reads on the timeline.
STEP_LABELS: dict[str, Any] = {
    **{name: t.label for name, t in TRANSITIONS.items()},
    "submit": gettext_lazy("反映"), "overdue": gettext_lazy("超期"), "request": gettext_lazy("申请延期"),
    "decide": gettext_lazy("延期审批"), "hearing": gettext_lazy("调解"), "conclude": gettext_lazy("调解结果"),
    "update": gettext_lazy("反映人补充"), "follow": gettext_lazy("我也遇到"), "unfollow": gettext_lazy("取消关注"),
    "visit": gettext_lazy("回访"), "assign": gettext_lazy("指派调解组织"),
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


class StaffReportForm(ReportForm):
    """Staff register a case for a resident: where it came in and who reported it."""

    channel = forms.ChoiceField(label=gettext_lazy("来源渠道"), choices=[(c.value, c.label) for c in STAFF_CHANNELS],
                                initial=Channel.GRID_PATROL)
    reporter = forms.IntegerField(required=False, widget=forms.HiddenInput)
    reporter_phone = forms.CharField(label=gettext_lazy("反映人手机号（已登记的居民会自动关联，可不填）"),
                                     max_length=20, required=False)
    contact_name = forms.CharField(label=gettext_lazy("反映人姓名（可不填）"), max_length=50, required=False)


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
    from gongzhi.maps.selectors import bounds_json

    # The one map opens on the reporter's own area (a resident: her community); a city-wide grant starts on the city.
    return places, bounds_json(root)


@login_required
def report(request: HttpRequest) -> HttpResponse:
    if not scope_of(request.user).has(Cap.CASE_REPORT):
        raise Http404
    places, map_bounds = _report_places(request.user)
    names = {a.path: a.name for a in places}
    staff = scope_of(request.user).has(Cap.CASE_VIEW)
    form = (StaffReportForm if staff else ReportForm)(request.POST or None, request.FILES or None)
    picked = None  # 代居民反映: staff come from the person's page with ?reporter=<id>
    raw_reporter = request.POST.get("reporter") or request.GET.get("reporter") or ""
    if staff and raw_reporter.isdigit():
        picked = get_scoped(request.user, Person.objects.select_related("area"), int(raw_reporter))
        form.initial["reporter"] = picked.pk
    categories = list(Category.objects.filter(code__in=COMMON_CATEGORIES).order_by("code"))
    form.fields["category"].choices = [("", "—")] + [(c.code, c.name) for c in categories]  # type: ignore[attr-defined]
    form.fields["area"].choices = [("", _("在地图上标注或选择"))] + [  # type: ignore[attr-defined]
        (a.pk, a.name if a.kind == AreaKind.COMPOUND else f"{names.get(a.path[:-4], '')} {a.name}") for a in places]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            area = get_scoped(request.user, Area, int(data["area"])) if data["area"] else None
            photos = [(f.name, f.read()) for f in data["photos"][:7]]
            extra: dict[str, Any] = {"channel": Channel.RESIDENT_APP}
            if staff:
                extra = {"channel": data["channel"], "reporter": picked,
                         "reporter_phone": data["reporter_phone"], "contact_name": data["contact_name"]}
            case = services.case_submit(
                actor=request.user, title=data["title"], description=data["description"], area=area,
                lng=data["lng"], lat=data["lat"], address=data["address"],
                category=services.CATEGORIES_BY_CODE.get().get(data["category"]) if data["category"] else None,
                photos=photos, **extra,
            )
        except DomainError as exc:
            form_errors(form, exc)
            if "lng" in exc.fields and "area" in form.fields:
                form.add_error("area", exc.fields["lng"][0])
        else:
            messages.success(request, _("已提交，诉求编号 {number}").format(number=case.number))
            return redirect("cases:case", pk=case.pk)
    return render(request, "cases/report.html", {"form": form, "map_bounds": map_bounds, "picked": picked})


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    """我的诉求: what she reported (or staff registered for her), what she follows, what she claimed, and — for
    party members, volunteers and units — the 领单 pool."""
    scope = scope_of(request.user)
    if scope.person_id is None:
        raise Http404
    related = ("category", "area", "owner_area", "assignee_unit")
    reported = selectors.with_places(list(selectors.queue(request.user, "reported")[:100]))
    followed = selectors.with_places(list(
        Case.objects.filter(followers__person_id=scope.person_id).select_related(*related)
        .order_by("-created_at")[:50]))
    claimed = selectors.with_places(list(
        Case.objects.filter(claimed_by_id=scope.person_id).select_related(*related).order_by("-created_at")[:50]))
    pool = selectors.with_places(list(selectors.claim_pool(request.user).select_related(*related)
                                      .order_by("-created_at")[:50]))
    return render(request, "cases/mine.html", {"reported": reported, "followed": followed, "claimed": claimed,
                                               "pool": pool, "can_claim": services.can_claim(scope)})


# ------------------------------------------------------------------------------------------ staff: workbench


@login_required
@_not_found
@replica_reads
def workbench(request: HttpRequest) -> HttpResponse:
    scope = scope_of(request.user)
    if not scope.has(Cap.CASE_VIEW):
        raise Http404
    key = request.GET.get("queue") or "to_dispatch" if scope.has(Cap.CASE_DISPATCH) else request.GET.get(
        "queue") or "mine"
    if key not in selectors.QUEUE_KEYS:
        raise Http404
    q = request.GET.get("q", "").strip()[:50]
    sort = request.GET.get("sort") or "new"
    if sort not in selectors.SORTS:
        raise Http404
    qs = selectors.queue(request.user, key, text=q)
    after: tuple[dt.datetime | None, int] | None = None
    if request.GET.get("after"):
        try:
            stamp, pk = request.GET["after"].rsplit("_", 1)
            after = (None if stamp == "-" else dt.datetime.fromisoformat(stamp), int(pk))
        except ValueError:
            raise Http404 from None
    page = selectors.queue_page(qs, limit=51, after=after, sort=sort)
    more = len(page) > 50
    page = page[:50]
    if request.method == "POST" and key in ("to_dispatch",):
        return _bulk_dispatch(request)
    counts = selectors.queue_counts(request.user)
    queues = [(q_.key, q_.label, counts.get(q_.key)) for q_ in selectors.QUEUES
              if q_.key != "reported" or scope.person_id]
    last = selectors.page_key(page[-1], sort) if more and page else None
    extras: dict[str, Any] = {}
    if key == "to_accept" and not after and scope.has(Cap.CASE_DISPATCH):
        # 派单智能 on the dispatcher's first page: the top hot spots (kept briefly) and how many wait for a person.
        from gongzhi.dispatch import selectors as dispatch_selectors
        from gongzhi.dispatch.selectors_hotspots import card_context

        extras = {**card_context(request.user), "waiting": dispatch_selectors.waiting_count(request.user)}
    return render(request, "cases/workbench.html", {**extras,
        "queue": key, "queues": queues, "cases": page, "q": q, "sort": sort,
        "next": f"{last[0].isoformat() if last[0] else '-'}_{last[1]}" if last else "",
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
    due_at = forms.DateField(label=gettext_lazy("新的办结时限"), required=False)


class UpdateForm(forms.Form):
    text = forms.CharField(label=gettext_lazy("补充说明"), max_length=1000, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))


class VisitForm(forms.Form):
    method = forms.ChoiceField(label=gettext_lazy("回访方式"), choices=CaseVisit.Method.choices)
    result = forms.ChoiceField(label=gettext_lazy("回访结果"), choices=CaseVisit.Result.choices)
    satisfaction = forms.ChoiceField(label=gettext_lazy("满意度"), choices=[("", "—"), *Rating.choices],
                                     required=False)
    note = forms.CharField(label=gettext_lazy("回访记录"), max_length=1000, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))


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
    svg = boundary_svg([(grid.boundary, True)]) if grid and grid.boundary and case.lng is None else ""
    own = bool(case.reporter_id and case.reporter_id == scope.person_id)
    following = scope.person_id is not None and not own and CaseFollower.objects.filter(
        case=case, person_id=scope.person_id).exists()
    kinds = services.actor_kinds(user, case)
    # 共驻共建: a case that is not a single complaint but a need of the community becomes a need (link both ways).
    from gongzhi.cobuild.models import Need

    needs = list(scoped(user, Need).filter(case=case).order_by("pk")[:10]) if staff else []
    # 派单智能: the classifier's proposal, pre-filled in the accept form when it is confident enough.
    from gongzhi.dispatch.selectors import suggestion_for

    suggestion = suggestion_for(user, case) if staff else None
    prefill = suggestion.category if suggestion and suggestion.status == "prefilled" else None
    context = {
        "case": case, "allowed": [TRANSITIONS[n] for n in allowed], "staff": staff, "needs": needs,
        "suggestion": suggestion, "prefill": prefill, "can_accept": "accept" in allowed,
        "can_make_need": staff and not needs and scope.can(Cap.COBUILD_MANAGE, area_path=case.area_path),
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
        "own": own, "following": following,
        "can_update": own and case.state not in FINAL_STATES,
        "can_follow": scope.person_id is not None and not own and not following and case.state not in FINAL_STATES,
        "updates": case.updates.order_by("created_at")[:50],
        "visits": case.visits.select_related("by").order_by("-at")[:20] if staff or own else [],
        "can_visit": case.state == State.CLOSED and bool(kinds & {"dispatcher", "verifier", "superior"}),
        "update_form": UpdateForm(), "visit_form": VisitForm(),
        "time_left": case.time_left(),
    }
    from .mediation_views import case_extras  # the mediation card: team, its members as mediators, reassigning

    context.update(case_extras(user, case, getattr(case, "mediation", None) if case.kind == CaseKind.MEDIATION
                               else None))
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
            picked = [int(i) for i in request.POST.getlist("mediator") if i.isdigit()][:20]
            services.hearing_record(actor=user, case=case, held_at=timezone.make_aware(held),
                                    place=request.POST.get("place", ""), mediators=request.POST.get("mediators", ""),
                                    notes=request.POST.get("notes", ""),
                                    mediator_people=list(Person.objects.filter(pk__in=picked)))
        elif what == "conclude":
            services.mediation_conclude(actor=user, case=case, outcome=request.POST.get("outcome", ""),
                                        agreement=request.POST.get("agreement", ""))
        elif what == "update":
            update = UpdateForm(request.POST)
            update.is_valid()
            services.case_update_add(actor=user, case=case, text=update.cleaned_data.get("text", ""),
                                     photos=[(f.name or "", f.read()) for f in request.FILES.getlist("photos")[:7]])
        elif what == "follow":
            services.case_follow(actor=user, case=case)
        elif what == "unfollow":
            services.case_unfollow(actor=user, case=case)
        elif what == "visit":
            visit = VisitForm(request.POST)
            if not visit.is_valid():
                raise DomainError(_("输入有误"), {k: [str(e) for e in v] for k, v in visit.errors.items()})
            services.case_visit_record(actor=user, case=case, **visit.cleaned_data)
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
            if d["due_at"]:
                data["due_at"] = d["due_at"]
            if what in ("rate", "reopen"):
                services.rate(actor=user, case=case, rating=d["rating"] or "", comment=d["reason"],
                              expected_version=d["version"])
            else:
                services.transition(actor=user, case=case, name=what, expected_version=d["version"],
                                    reason=d["reason"], **data)
        else:
            raise Http404
    except DomainError as exc:
        detail = "；".join(f"{FIELD_LABELS.get(k, k)}：{m}" if k in FIELD_LABELS else f"{m}"
                          for k, msgs in exc.fields.items() for m in msgs) or exc.message
        messages.error(request, detail)
    else:
        messages.success(request, _("已办理"))
    return redirect("cases:case", pk=case.pk)


# Field names of the case page's forms as people read them, for error messages.
FIELD_LABELS: dict[str, Any] = {
    "reason": gettext_lazy("理由"), "due_at": gettext_lazy("新的办结时限"), "text": gettext_lazy("补充说明"),
    "photos": gettext_lazy("照片"), "method": gettext_lazy("回访方式"), "result": gettext_lazy("回访结果"),
    "satisfaction": gettext_lazy("满意度"), "note": gettext_lazy("回访记录"), "rating": gettext_lazy("评价"),
    "feedback": gettext_lazy("办理情况"), "category": gettext_lazy("诉求分类"), "time_limit": gettext_lazy("办理时限"),
    "held_at": gettext_lazy("调解时间"), "place": gettext_lazy("地点"), "mediators": gettext_lazy("调解员"),
    "mediator_people": gettext_lazy("调解员"), "notes": gettext_lazy("调解记录"), "outcome": gettext_lazy("调解结果"),
    "agreement": gettext_lazy("协议内容"),
}


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


class PeriodForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("从"), required=False)
    end = forms.DateField(label=gettext_lazy("到"), required=False)


def _period(request: HttpRequest) -> tuple[PeriodForm, dt.date, dt.date]:
    """The period the figures are for (default: the year up to today). A bad date, 到 before 从 or a date far out
    of range is an error on that field, never a 500."""
    form = PeriodForm(request.GET)
    today = timezone.localdate()
    if not form.is_valid():
        return form, today - dt.timedelta(days=365), today
    end = form.cleaned_data["end"] or today
    start = form.cleaned_data["start"] or (end - dt.timedelta(days=365) if end.year > 2000 else end)
    try:
        selectors.check_period(start, end)
    except DomainError as exc:
        form_errors(form, exc)
    return form, start, end


@login_required
@_not_found
@replica_reads
def figures(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not scope_of(user).has(Cap.CASE_VIEW):
        raise Http404
    roots = list(Area.objects.filter(pk__in=scope_of(user).root_area_ids(Cap.CASE_VIEW)).order_by("path"))
    area = get_scoped(user, Area, int(request.GET["area"])) if request.GET.get("area", "").isdigit() else (
        roots[0] if roots else None)
    if area is None:
        raise Http404
    period, start, end = _period(request)
    if period.errors:
        return render(request, "cases/figures.html", {"area": area, "roots": roots, "period": period,
                                                      "start": request.GET.get("start", ""),
                                                      "end": request.GET.get("end", "")}, status=400)
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
                                                  "units": units, "charts": charts, "start": start, "end": end,
                                                  "period": period})


@login_required
@_not_found
def ledger_export(request: HttpRequest) -> HttpResponseBase:
    """The open-case ledger (挂账台账): the page says how many rows it holds; ``?download=1`` streams the Excel file,
    every row the viewer may see (no cap: written to a temporary file), personal data masked."""
    user = request.user
    if not scope_of(user).has(Cap.CASE_VIEW):
        raise Http404
    qs = selectors.queue(user, "ledger")
    if request.GET.get("download") != "1":
        return render(request, "cases/report/ledger_page.html", {"count": qs.order_by().count()})
    return case_ledger_response(user, qs)


LEDGER_COLUMNS: list[tuple[Any, ledger.Kind]] = [
    (gettext_lazy("编号"), "code"), (gettext_lazy("标题"), "text"), (gettext_lazy("分类"), "text"),
    (gettext_lazy("状态"), "text"), (gettext_lazy("发生地"), "text"), (gettext_lazy("承办层级"), "text"),
    (gettext_lazy("承办单位"), "text"), (gettext_lazy("反映时间"), "datetime"), (gettext_lazy("办结时限"), "datetime"),
    (gettext_lazy("超期"), "text"), (gettext_lazy("联系电话"), "code"),
]


def case_ledger_rows(viewer: Any, qs: Any) -> Any:
    """One row per case, streamed from the database in chunks (constant memory for a million rows)."""
    yes = _("是")
    states = {k: str(v) for k, v in Case._meta.get_field("state").flatchoices}  # type: ignore[union-attr]
    levels = {k: str(v) for k, v in Case._meta.get_field("level").flatchoices}  # type: ignore[union-attr]
    rows = qs.select_related("category", "area", "assignee_unit").order_by("-created_at", "-pk")
    for c in rows.iterator(chunk_size=2000):
        yield [c.number, c.title, c.category.name if c.category else "", states.get(c.state, c.state),
               c.area.name if c.area else "", levels.get(c.level, c.level),
               c.assignee_unit.name if c.assignee_unit else "", c.created_at, c.due_at,
               yes if c.is_overdue else "", phone_for(viewer, c.contact_phone, c.area_path)]


def case_ledger_response(viewer: Any, qs: Any) -> HttpResponseBase:
    """The 挂账台账 as a streamed download: ``挂账台账-20261202.xlsx``."""
    now = timezone.localtime()
    columns = [ledger.Col(str(title), kind) for title, kind in LEDGER_COLUMNS]
    sheet = ledger.Sheet(_("挂账台账"), columns, case_ledger_rows(viewer, qs),
                         title=_("挂账台账（导出时间：{time}）").format(time=f"{now:%Y-%m-%d %H:%M}"))
    return ledger.streaming_response(ledger.dated_name(_("挂账台账")), sheet)


PUBLIC_AREA_KINDS = (AreaKind.CITY, AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY)


@replica_reads
def public(request: HttpRequest) -> HttpResponse:
    """社区公开诉求, open to anyone without signing in: public cases with no personal data (title, type, the compound
    it concerns, state, dates, how many also met it). Signed-in users start from their own area; ``?area=`` picks a
    district, street or community."""
    root: Area | None = None
    raw = request.GET.get("area", "")
    if raw.isdigit():
        root = Area.objects.filter(pk=int(raw), kind__in=PUBLIC_AREA_KINDS).first()
        if root is None:
            raise Http404
    elif request.user.is_authenticated:
        root = Area.objects.filter(pk__in=scope_of(request.user).root_area_ids()).order_by("path").first()
    after: tuple[dt.datetime | None, int] | None = None
    if request.GET.get("after"):
        try:
            stamp, pk = request.GET["after"].rsplit("_", 1)
            after = (dt.datetime.fromisoformat(stamp), int(pk))
        except ValueError:
            raise Http404 from None
    rows = selectors.queue_page(selectors.public_cases(root), limit=51, after=after)
    cases = selectors.with_places(rows[:50], compound_only=True)
    more = len(rows) > 50
    choices = list(Area.objects.filter(kind__in=[AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY],
                                       depth__lte=(root.depth + 1) if root else 3)
                   .filter(path__prefix=root.path if root else "").order_by("path")[:200])
    return render(request, "cases/public.html", {
        "cases": cases, "root": root, "mediation": Mediation, "areas": choices,
        "next": f"{cases[-1].created_at.isoformat()}_{cases[-1].pk}" if more and cases else "",
    })


def public_case(request: HttpRequest, pk: int) -> HttpResponse:
    """One public case, for anyone: what happened and how it went, no names, phones or exact addresses. A
    signed-in resident may say she met it too (我也遇到)."""
    try:
        case = selectors.public_case_get(pk)
    except DomainError:
        raise Http404 from None
    scope = scope_of(request.user)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            if request.POST.get("action") == "unfollow":
                services.case_unfollow(actor=request.user, case=case)
            else:
                services.case_follow(actor=request.user, case=case)
        except DomainError as exc:
            messages.error(request, "；".join(m for msgs in exc.fields.values() for m in msgs) or exc.message)
        else:
            messages.success(request, _("已关注，办理的每一步都会通知您") if request.POST.get("action") != "unfollow"
                             else _("已取消关注"))
        return redirect("cases:public_case", pk=case.pk)
    following = scope.person_id is not None and CaseFollower.objects.filter(case=case,
                                                                            person_id=scope.person_id).exists()
    steps = [(e.at, STEP_LABELS.get(e.action.rsplit(".", 1)[-1], "")) for e in selectors.timeline(case)
             if e.action.rsplit(".", 1)[-1] in TRANSITIONS or e.action.endswith(".submit")]
    return render(request, "cases/public_case.html", {
        "case": case, "following": following, "steps": steps,
        "own": scope.person_id is not None and case.reporter_id == scope.person_id,
        "can_follow": scope.person_id is not None and case.state not in FINAL_STATES,
        "signed_in": request.user.is_authenticated,
    })


# ------------------------------------------------------------------------------------------ 诉求统计 exports


def _report(request: HttpRequest) -> reports.CaseReport | None:
    """The figures page's area and period as a report; None when the period is wrong (the page says why)."""
    user = request.user
    if not scope_of(user).has(Cap.CASE_VIEW):
        raise Http404
    roots = list(Area.objects.filter(pk__in=scope_of(user).root_area_ids(Cap.CASE_VIEW)).order_by("path")[:1])
    area = get_scoped(user, Area, int(request.GET["area"])) if request.GET.get("area", "").isdigit() else (
        roots[0] if roots else None)
    if area is None:
        raise Http404
    period, start, end = _period(request)
    if period.errors:
        return None
    return reports.case_report(user, area, start, end)


@login_required
@_not_found
def figures_xlsx(request: HttpRequest) -> HttpResponseBase:
    """诉求统计 as Excel: per child area and in total (三率 and the counts behind them), per unit, per level."""
    report = _report(request)
    if report is None:
        return redirect(f"{reverse('cases:figures')}?{request.GET.urlencode()}")
    return ledger.attachment(reports.case_figures_xlsx(report), reports.case_figures_filename(report, "xlsx"))


@login_required
@_not_found
def figures_pdf(request: HttpRequest) -> HttpResponseBase:
    """The printable 诉求统计 report (PDF, A4) with its charts."""
    report = _report(request)
    if report is None:
        return redirect(f"{reverse('cases:figures')}?{request.GET.urlencode()}")
    return ledger.attachment(reports.case_report_pdf(report), reports.case_figures_filename(report, "pdf"))
