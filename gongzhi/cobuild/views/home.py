"""共驻共建 overview: the figures of an area and period with their charts and an Excel export, the breakdown by
child area, and the community page (its needs, the units paired with it and what they offer and delivered)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gongzhi.accounts.roles import Cap
from gongzhi.core import ledger
from gongzhi.core.errors import DomainError
from gongzhi.core.reports import parse_period, period_label
from gongzhi.core.scope import get_scoped, scope_of
from gongzhi.registry.models import Area, AreaKind
from gongzhi.web.pages import bar_chart, need, not_found_as_404, pie_chart

from ..selectors import figures as fig

# The parts of the module, in the order people use them; entries whose page is not installed are left out.
PARTS: list[tuple[Any, str, str]] = [
    (gettext_lazy("需求库"), "cobuild:needs", Cap.COBUILD_VIEW),
    (gettext_lazy("资源库"), "cobuild:resources", Cap.COBUILD_VIEW),
    (gettext_lazy("项目清单"), "cobuild:projects", Cap.COBUILD_VIEW),
    (gettext_lazy("认领池"), "cobuild:claim_pool", Cap.COBUILD_VIEW),
    (gettext_lazy("服务记录"), "cobuild:deliveries", Cap.COBUILD_VIEW),
    (gettext_lazy("志愿服务时长"), "cobuild:volunteer_hours", Cap.COBUILD_VIEW),
    (gettext_lazy("服务组织"), "cobuild:booking_orgs", Cap.COBUILD_VIEW),
    (gettext_lazy("事项准入"), "cobuild:admission_index", Cap.COBUILD_VIEW),
    (gettext_lazy("经费"), "cobuild:funds_budgets", Cap.COBUILD_VIEW),
]


def _parts(request: HttpRequest) -> list[tuple[str, str]]:
    scope = scope_of(request.user)
    out = []
    for label, name, cap in PARTS:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        if scope.has(cap):
            out.append((str(label), url))
    return out


def _area(request: HttpRequest) -> Area | None:
    raw = request.GET.get("area", "")
    if raw.isdigit():
        return get_scoped(request.user, Area, int(raw), cap=Cap.COBUILD_VIEW)
    roots = scope_of(request.user).root_area_ids(Cap.COBUILD_VIEW)
    return Area.objects.get(pk=roots[0]) if roots else None


@login_required
@not_found_as_404
def index(request: HttpRequest) -> HttpResponse:
    need(request, Cap.COBUILD_VIEW)
    area = _area(request)
    ctx: dict[str, Any] = {"area": area, "errors": {}, "parts": _parts(request)}
    try:
        start, end = parse_period(request.GET)
    except DomainError as exc:
        ctx.update(errors=exc.fields, start=request.GET.get("start", ""), end=request.GET.get("end", ""))
        return render(request, "cobuild/home.html", ctx)
    ctx.update(start=start, end=end)
    if area is not None:
        f = fig.figures(area, start, end)
        children = fig.by_child(area, start, end)
        ctx.update(f=f, children=children)
        if children:
            labels = [c.area.name for c in children]
            ctx["chart_children"] = bar_chart(_("各下级区域共建情况"), labels, [
                (_("待满足需求"), [c.needs_open for c in children]),
                (_("已满足需求"), [c.needs_met for c in children]),
                (_("推进中项目"), [c.projects_live for c in children]),
                (_("服务次数"), [c.services for c in children])])
        if f.spent_by_purpose:
            ctx["chart_funds"] = pie_chart(_("经费支出用途"),
                                           [(label, round(t)) for _c, label, t in f.spent_by_purpose])
    return render(request, "cobuild/home.html", ctx)


@login_required
@not_found_as_404
def figures_export(request: HttpRequest) -> HttpResponseBase:
    """The figures of an area and each of its child areas as an office ledger (the table officials send upward)."""
    need(request, Cap.COBUILD_VIEW)
    area = _area(request)
    if area is None:
        raise Http404
    try:
        start, end = parse_period(request.GET)
    except DomainError:
        raise Http404 from None
    areas = [area, *[c.area for c in fig.by_child(area, start, end)]]
    columns = [
        ledger.Col(_("区域")), ledger.Col(_("区域代码"), "code"),
        ledger.Col(_("新登记需求"), "int"), ledger.Col(_("已满足需求"), "int"), ledger.Col(_("待满足需求"), "int"),
        ledger.Col(_("在库资源"), "int"), ledger.Col(_("已被对接的资源"), "int"),
        ledger.Col(_("确认对接"), "int"), ledger.Col(_("到期项目"), "int"), ledger.Col(_("按期完成"), "int"),
        ledger.Col(_("超期项目"), "int"), ledger.Col(_("认领"), "int"), ledger.Col(_("服务次数"), "int"),
        ledger.Col(_("服务人次"), "int"), ledger.Col(_("志愿服务时长（小时）"), "number"),
        ledger.Col(_("参与志愿者"), "int"), ledger.Col(_("准入申请"), "int"), ledger.Col(_("准予进入"), "int"),
        ledger.Col(_("不予准入"), "int"), ledger.Col(_("未准入事项反映"), "int"), ledger.Col(_("预算（元）"), "number"),
        ledger.Col(_("期内支出（元）"), "number"), ledger.Col(_("累计支出（元）"), "number"),
    ]

    def rows() -> Any:
        for a in areas:
            f = fig.figures(a, start, end)
            yield [a.name, a.code, f.needs_registered, f.needs_met, f.needs_open, f.resources_offered,
                   f.resources_matched, f.matches_confirmed, f.projects_due, f.projects_on_time,
                   f.projects_overdue, f.claims, f.services, f.beneficiaries, f.hours, f.volunteers_active,
                   f.requests_filed, f.requests_admitted, f.requests_refused, f.flags, f.budget, f.spent_in_period,
                   f.spent_to_date]

    title = _("{area}共驻共建统计（{period}）").format(area=area.name, period=period_label(start, end))
    data = ledger.workbook_bytes(ledger.Sheet(_("共建统计"), columns, rows(), title=title))
    return ledger.attachment(data, ledger.dated_name(_("{area}共建统计").format(area=area.name)))


@login_required
@not_found_as_404
def community(request: HttpRequest, pk: int) -> HttpResponse:
    need(request, Cap.COBUILD_VIEW)
    area = get_scoped(request.user, Area, pk, cap=Cap.COBUILD_VIEW)
    if area.kind != AreaKind.COMMUNITY:
        raise Http404
    year = timezone.localdate().year
    return render(request, "cobuild/community.html", {"area": area, "year": year,
                                                      "page": fig.community_page(area, year=year)})


urlpatterns: list[URLPattern] = [
    path("", index, name="index"),
    path("figures.xlsx", figures_export, name="figures_export"),
    path("community/<int:pk>/", community, name="community"),
]
