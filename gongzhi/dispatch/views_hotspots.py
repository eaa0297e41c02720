"""The hot spots page (热点问题): the hottest groups of cases of an area over the last 7, 30 or 90 days, each with
its place, time range, size, heat and member cases, and two actions — merge them into one 并单 group, or raise them
on a council's agenda. For dispatchers (``Cap.CASE_DISPATCH`` somewhere in their scope)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from gongzhi.accounts.roles import Cap
from gongzhi.cases.models import Case
from gongzhi.core.scope import get_scoped, scoped
from gongzhi.councils.models import Council
from gongzhi.councils.services import can_run
from gongzhi.registry.models import Area
from gongzhi.web.forms import area_label
from gongzhi.web.pages import attempt_flash, not_found_as_404
from gongzhi.web.pages import need as _need

from . import selectors_hotspots as selectors
from . import services_hotspots as services

PAGE_SPOTS = 20


def _int(raw: Any) -> int | None:
    raw = str(raw or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


def _days(raw: Any) -> int:
    value = _int(raw)
    return value if value in selectors.PERIODS else 30


def _councils(user: Any) -> list[Council]:
    """Councils the user runs (a hot spot may go on their agenda)."""
    found = scoped(user, Council).select_related("area").order_by("area__path", "name")[:300]
    return [c for c in found if can_run(user, c)]


def _back(area_id: int | None, days: int) -> str:
    query = {"days": days, **({"area": area_id} if area_id else {})}
    return f"{reverse('dispatch:hotspots')}?{urlencode(query)}"


@login_required
@require_GET
def hotspots(request: HttpRequest) -> HttpResponse:
    """热点问题: pick an area (in the viewer's dispatching) and a period; the hottest groups first."""
    _need(request, Cap.CASE_DISPATCH)
    user = request.user
    areas = selectors.hotspot_areas(user)
    wanted = _int(request.GET.get("area"))
    area = next((a for a in areas if a.pk == wanted), None)
    days = _days(request.GET.get("days"))
    spots = selectors.case_hotspots(user, area=area, days=days, limit=PAGE_SPOTS)
    runs = _councils(user)
    for s in spots:
        s.councils = [c for c in runs if all(m.area_path.startswith(c.area.path) for m in s.cases)]
    parents = dict(Area.objects.filter(path__in={a.path[:-Area.steplen] for a in areas}).values_list("path", "name"))
    return render(request, "dispatch/hotspots.html", {
        "spots": spots, "areas": [(a.pk, area_label(a, parents)) for a in areas], "area": area, "days": days,
        "periods": selectors.PERIODS, "heat_formula": selectors.heat_formula(), "back": _back(area.pk if area else None,
                                                                                            days)})


@login_required
@require_POST
@not_found_as_404
def hotspot_act(request: HttpRequest) -> HttpResponse:
    """A hot spot's action: ``action=merge`` (合并为一组（并单）, with ``primary`` and ``reason``) or
    ``action=council`` (提交议事, with ``council`` and ``title``), on the member cases ``case``."""
    _need(request, Cap.CASE_DISPATCH)
    user = request.user
    back = _back(_int(request.POST.get("area")), _days(request.POST.get("days")))
    ids = sorted({i for i in (_int(v) for v in request.POST.getlist("case")) if i is not None})[:services.MAX_MEMBERS]
    members = list(scoped(user, Case).filter(pk__in=ids))
    if len(members) < 2:
        messages.error(request, _("请至少选择两件诉求"))
        return redirect(back)
    action = request.POST.get("action", "")
    if action == "merge":
        pid = _int(request.POST.get("primary"))
        primary = next((c for c in members if c.pk == pid), None) if pid else None
        reason = request.POST.get("reason", "").strip() or _("热点问题并单")
        done = attempt_flash(request, lambda: services.hotspot_merge(actor=user, cases=members, primary=primary,
                                                                     reason=reason))
        if done is not None:
            messages.success(request, _("已并单：{n}件诉求并入 {number}").format(n=len(done.merged),
                                                                         number=done.primary.number))
            for c, why in done.skipped:
                messages.warning(request, _("{number} 未并入：{why}").format(number=c.number, why=why))
            return redirect("cases:case", done.primary.pk)
    elif action == "council":
        council = get_scoped(user, Council, request.POST.get("council"))
        item = attempt_flash(request, lambda: services.hotspot_to_council_item(
            actor=user, cases=members, council=council, title=request.POST.get("title", "")))
        if item is not None:
            messages.success(request, _("已提交议事：{title}").format(title=item.title))
            return redirect("councils:item", item.pk)
    else:
        messages.error(request, _("未知操作"))
    return redirect(back)
