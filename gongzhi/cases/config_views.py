"""Pages for configuring the case pipeline: the working-day calendar (a year view where the system administrator
marks holidays and 调休 working days) and the routing rules (with a preview of where a new case goes now).

Thin like the other pages: parse → scoped fetch → :mod:`.services` → render; the services check CASE_CONFIGURE
and validate, their errors land next to the form fields."""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gongzhi.accounts.roles import Cap
from gongzhi.core.errors import DomainError, InvalidInput, NotFound
from gongzhi.core.models import AuditEntry
from gongzhi.core.scope import get_scoped, scope_of
from gongzhi.registry.models import Area, MemberUnit
from gongzhi.web.pages import form_errors, not_found_as_404, paginate

from . import services
from .config_api import PLACE_KINDS, RULE_AREA_KINDS, choices
from .models import Category, Level, RoutingRule

WEEKDAYS = [gettext_lazy("一"), gettext_lazy("二"), gettext_lazy("三"), gettext_lazy("四"), gettext_lazy("五"),
            gettext_lazy("六"), gettext_lazy("日")]
DEFAULT_CHOICES = 200  # options a select starts with; the search box finds the rest


def _trail(request: HttpRequest, object_type: str) -> list[AuditEntry]:
    """The latest configuration changes, for those who may read the audit trail."""
    if not scope_of(request.user).has(Cap.VIEW_AUDIT):
        return []
    return list(AuditEntry.objects.filter(object_type=object_type).order_by("-id")[:20])


# ------------------------------------------------------------------------------------------ calendar


class DayForm(forms.Form):
    day = forms.DateField(label=gettext_lazy("日期"), widget=forms.DateInput(format="%Y-%m-%d",
                                                                          attrs={"type": "date"}))
    kind = forms.ChoiceField(label=gettext_lazy("设为"), widget=forms.RadioSelect, choices=[
        ("holiday", gettext_lazy("休（放假）")), ("workday", gettext_lazy("班（调休上班）"))])
    note = forms.CharField(label=gettext_lazy("说明"), max_length=50, required=False,
                           widget=forms.TextInput(attrs={"placeholder": gettext_lazy("如：国庆节、春节调休")}))


def _year(request: HttpRequest) -> int:
    raw = request.GET.get("year") or request.POST.get("year") or ""
    if not raw:
        return timezone.localdate().year
    if not raw.isdigit() or not services.CALENDAR_YEARS[0] <= int(raw) <= services.CALENDAR_YEARS[1]:
        raise Http404
    return int(raw)


def _picked_day(raw: str, year: int) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        return None
    return day if day.year == year else None


def _months(cal: services.CalendarYear) -> list[dict[str, Any]]:
    """Twelve month grids, Monday first; blanks (None) pad the first and last weeks."""
    by_day = {d.day: d for d in cal.days}
    months = []
    for month in range(1, 13):
        weeks = [[by_day.get(day) if day.month == month else None for day in week]
                 for week in pycalendar.Calendar(firstweekday=0).monthdatescalendar(cal.year, month)]
        months.append({"month": month, "weeks": weeks})
    return months


def _calendar_url(year: int, day: dt.date | None = None) -> str:
    url = f"{reverse('cases:calendar')}?year={year}"
    return f"{url}&day={day.isoformat()}#edit" if day else url


@login_required
@not_found_as_404
def calendar_page(request: HttpRequest) -> HttpResponse:
    scope = scope_of(request.user)
    can_edit = scope.has(Cap.CASE_CONFIGURE)
    if not (can_edit or scope.has(Cap.CASE_VIEW)):
        raise Http404
    year = _year(request)
    picked = _picked_day(request.GET.get("day", ""), year)
    form: DayForm | None = None
    if can_edit:
        form = DayForm(request.POST if request.method == "POST" and request.POST.get("action") == "set" else None)
    if request.method == "POST":
        if not can_edit:
            raise Http404
        assert form is not None
        if request.POST.get("action") == "clear":
            day = _picked_day(request.POST.get("day", ""), year)
            if day is not None:
                try:
                    services.calendar_day_clear(actor=request.user, day=day)
                except DomainError as exc:
                    messages.error(request, exc.message)
                else:
                    messages.success(request, _("已清除 {day} 的人工调整").format(day=day.isoformat()))
                return redirect(_calendar_url(year, day))
            messages.error(request, _("日期无效"))
            return redirect(_calendar_url(year))
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.calendar_day_set(actor=request.user, day=d["day"], is_workday=d["kind"] == "workday",
                                          note=d["note"])
            except DomainError as exc:
                form_errors(form, exc)
            else:
                label = _("班（调休上班）") if d["kind"] == "workday" else _("休（放假）")
                messages.success(request, _("已将 {day} 设为{kind}").format(day=d["day"].isoformat(), kind=label))
                return redirect(_calendar_url(d["day"].year, d["day"]))
        picked = form.cleaned_data.get("day") if form.is_bound and hasattr(form, "cleaned_data") else picked
    cal = services.calendar_year(year)
    info = next((d for d in cal.days if d.day == picked), None) if picked else None
    if form is not None and not form.is_bound and info is not None:
        form.initial = {"day": info.day, "kind": "workday" if info.is_workday else "holiday",
                        "note": info.note}
    this_year = timezone.localdate().year
    years = sorted({*range(max(services.CALENDAR_YEARS[0], this_year - 3), this_year + 3), year})
    return render(request, "cases/calendar.html", {
        "cal": cal, "year": year, "months": _months(cal), "weekdays": WEEKDAYS, "years": years,
        "picked": info, "picked_source": services.calendar_source_label(info.source) if info else "",
        "form": form, "can_edit": can_edit, "today": timezone.localdate(),
        "workday_count": sum(1 for d in cal.days if d.is_workday),
        "trail": _trail(request, "cases.calendarday"),
    })


# ------------------------------------------------------------------------------------------ routing rules


class SearchSelect(forms.Select):
    """A select with a search box above it: typing asks the configuration API for matching options (scoped),
    so a long list (every community, every unit) never has to be sent whole. Works without script as a select."""

    template_name = "cases/config/search_select.html"

    def __init__(self, kind: str, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.kind = kind

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["kind"] = self.kind
        return context


class RuleForm(forms.Form):
    category = forms.IntegerField(label=gettext_lazy("诉求分类（含下级分类；不选为全部分类）"), required=False,
                                  widget=SearchSelect("category"))
    area = forms.IntegerField(label=gettext_lazy("规则区域（其下全部区域适用）"), widget=SearchSelect("area"))
    level = forms.ChoiceField(label=gettext_lazy("承办层级"), choices=Level.choices, initial=Level.STREET)
    unit = forms.IntegerField(label=gettext_lazy("承办部门/单位（不选则由该层级自身力量承办）"), required=False,
                              widget=SearchSelect("unit"))


class PreviewForm(forms.Form):
    p_category = forms.IntegerField(label=gettext_lazy("诉求分类"), required=False,
                                    widget=SearchSelect("category"))
    p_area = forms.IntegerField(label=gettext_lazy("发生地（社区/网格/小区/楼栋）"), widget=SearchSelect("place"))


def _options(user: Any, field: forms.Field, kind: str, selected: Any, blank: str | None) -> None:
    """The first options of a search select, plus the selected one so a redisplayed form keeps it."""
    rows = choices(user, kind, "", limit=DEFAULT_CHOICES)
    ids = {r["id"] for r in rows}
    extra: list[dict[str, Any]] = []
    if selected not in (None, "") and str(selected).isdigit() and int(selected) not in ids:
        picked = _labelled(user, kind, int(selected))
        if picked is not None:
            extra.append(picked)
    widget = field.widget
    assert isinstance(widget, forms.Select)
    widget.choices = ([("", blank)] if blank is not None else []) + [(r["id"], r["label"]) for r in extra + rows]


def _labelled(user: Any, kind: str, pk: int) -> dict[str, Any] | None:
    if kind == "category":
        c = Category.objects.filter(pk=pk).first()
        return {"id": c.pk, "label": f"{c.code} {c.name}"} if c else None
    if kind == "unit":
        try:
            u = get_scoped(user, MemberUnit, pk, cap=Cap.CASE_CONFIGURE)
        except NotFound:
            return None
        return {"id": u.pk, "label": u.name}
    try:
        a = get_scoped(user, Area, pk, cap=Cap.CASE_CONFIGURE)
    except NotFound:
        return None
    return {"id": a.pk, "label": f"{a.name}（{a.get_kind_display()}）"}


def _fetch(user: Any, form: forms.Form, field: str, kind: str, value: int | None) -> Any:
    """The object a select names, through the scope; an unknown or out-of-scope id is an error on that field."""
    if value is None:
        return None
    if kind == "category":
        obj = Category.objects.filter(pk=value).first()
        if obj is None:
            raise InvalidInput.on(field, _("未知诉求分类"))
        return obj
    model = MemberUnit if kind == "unit" else Area
    try:
        return get_scoped(user, model, value, cap=Cap.CASE_CONFIGURE)
    except NotFound:
        raise InvalidInput.on(field, _("不存在或不在您的管理范围内")) from None


def _create_rule(request: HttpRequest, form: RuleForm) -> RoutingRule | None:
    if not form.is_valid():
        return None
    d = form.cleaned_data
    try:
        area = _fetch(request.user, form, "area", "area", d["area"])
        if area.kind not in RULE_AREA_KINDS:
            raise InvalidInput.on("area", _("规则区域须为市、区、街道、社区、网格或小区"))
        return services.routing_rule_create(
            actor=request.user, area=area, level=d["level"],
            category=_fetch(request.user, form, "category", "category", d["category"]),
            unit=_fetch(request.user, form, "unit", "unit", d["unit"]))
    except DomainError as exc:
        form_errors(form, exc)
        return None


@login_required
@not_found_as_404
def routing_page(request: HttpRequest) -> HttpResponse:
    if not scope_of(request.user).has(Cap.CASE_CONFIGURE):
        raise Http404
    user = request.user
    action = request.POST.get("action") if request.method == "POST" else None
    form = RuleForm(request.POST if action == "create" else None)
    if action == "delete":
        raw = request.POST.get("rule", "")
        rule = services.routing_rules(user).filter(pk=int(raw)).first() if raw.isdigit() else None
        if rule is None:
            raise Http404
        try:
            services.routing_rule_delete(actor=user, rule=rule, reason=request.POST.get("reason", "")[:200])
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("已删除派单规则"))
        return redirect("cases:routing")
    if action == "create":
        rule = _create_rule(request, form)
        if rule is not None:
            messages.success(request, _("已新增派单规则"))
            url = reverse("cases:routing")
            if rule.category_id:
                url += f"?p_category={rule.category_id}"
            return redirect(url)
    elif action is not None:
        raise Http404

    preview_form = PreviewForm(request.GET if "p_area" in request.GET else None,
                               initial={"p_category": request.GET.get("p_category", "")})
    preview = None
    if preview_form.is_bound and preview_form.is_valid():
        d = preview_form.cleaned_data
        try:
            area = _fetch(user, preview_form, "p_area", "place", d["p_area"])
            if area.kind not in PLACE_KINDS:
                raise InvalidInput.on("p_area", _("发生地须为社区、网格、小区或楼栋"))
            category = _fetch(user, preview_form, "p_category", "category", d["p_category"])
            result = services.routing_preview(category=category, area=area)
            preview = {"result": result, "area": area, "category": category,
                       "default_label": Level(result.default_level).label}
        except DomainError as exc:
            form_errors(preview_form, exc)

    _options(user, form.fields["category"], "category", form["category"].value(), _("全部分类"))
    _options(user, form.fields["area"], "area", form["area"].value(), "—")
    _options(user, form.fields["unit"], "unit", form["unit"].value(), _("该层级自身力量"))
    _options(user, preview_form.fields["p_category"], "category", preview_form["p_category"].value(), _("未分类"))
    _options(user, preview_form.fields["p_area"], "place", preview_form["p_area"].value(), "—")

    rules = paginate(request, services.routing_rules(user).select_related("area", "category", "unit")
                     .order_by("area__path", "category__code", "pk"))
    return render(request, "cases/routing.html", {
        "form": form, "preview_form": preview_form, "preview": preview, "page": rules, "rules": rules.items,
        "trail": _trail(request, "cases.routingrule"),
    })
