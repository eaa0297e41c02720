"""Pages of service sites: the directory (服务阵地), one site with its services, rooms, a week of bookings and who is
on duty (book a room; keepers add rooms, set the rota and edit the site), 我的预约, and the 15-minute coverage with
its map of gaps. Thin: parse → fetch through the scope → service → redirect, or the page again with the errors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.accounts.roles import Cap
from gongzhi.core import workdays
from gongzhi.core.errors import DomainError
from gongzhi.core.scope import get_scoped, scope_of, scoped
from gongzhi.registry.models import Area, MemberUnit, Person, StaffPost
from gongzhi.web.forms import lookup_url
from gongzhi.web.pages import attempt_flash as _flash
from gongzhi.web.pages import bar_chart, not_found_as_404, paginate

from . import coverage, selectors, services
from .models import Room, RoomBooking, Site, SiteKind, Tier


def _today() -> dt.date:
    return dt.datetime.now(workdays.TZ).date()


def _area(request: HttpRequest, key: str = "area") -> Area | None:
    raw = request.GET.get(key, "")
    return get_scoped(request.user, Area, raw) if raw.isdigit() else None


@login_required
@not_found_as_404
def site_list(request: HttpRequest) -> HttpResponse:
    """服务阵地: every site of the city (or of an area), by kind, with where it is and when it is open."""
    from gongzhi.govservice.models import ServiceItem

    area = _area(request)
    kind = request.GET.get("kind", "")
    kind = kind if kind in SiteKind.values else ""
    item = ServiceItem.objects.filter(pk=request.GET["item"]).first() if request.GET.get("item", "").isdigit() \
        else None
    page = paginate(request, selectors.sites(request.user, area=area, kind=kind, item=item))
    return render(request, "sites/list.html", {
        "page": page, "area": area, "kind": kind, "kinds": SiteKind.choices, "item": item,
        "items": ServiceItem.objects.filter(active=True).order_by("code"),
        "can_manage": scope_of(request.user).has(Cap.SITE_MANAGE)})


def _site_form(request: HttpRequest) -> dict[str, Any]:
    p = request.POST
    return {k: p.get(k, "") for k in ("name", "kind", "tier", "area", "address", "hours", "opens", "closes",
                                       "phone", "lon", "lat")} | {"active": p.get("active") == "on"}


@login_required
@not_found_as_404
def site_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """新增/编辑阵地 (``SITE_MANAGE``): where it stands, kind and tier, hours, the items its window handles."""
    from gongzhi.govservice.models import ServiceItem

    site = get_scoped(request.user, Site, pk) if pk is not None else None
    s = scope_of(request.user)
    if not s.has(Cap.SITE_MANAGE) or (site is not None and not s.can(Cap.SITE_MANAGE, area_path=site.area_path)):
        raise Http404
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = _site_form(request)
        try:
            saved = services.site_save(actor=request.user, data=values, site=site,
                                       items=request.POST.getlist("items"))
        except DomainError as e:
            errors = e.fields or {"__all__": [e.message]}
        else:
            messages.success(request, _("阵地已保存"))
            return redirect("sites:detail", pk=saved.pk)
    elif site is not None:
        values = {"name": site.name, "kind": site.kind, "tier": site.tier, "area": site.area_id,
                  "address": site.address, "hours": site.hours, "opens": site.opens.strftime("%H:%M"),
                  "closes": site.closes.strftime("%H:%M"), "phone": site.phone, "lon": site.lon or "",
                  "lat": site.lat or "", "active": site.active}
    else:
        values = {"opens": "08:30", "closes": "20:00", "active": True, "area": request.GET.get("area", "")}
    # The first few hundred nodes; the search box beside the select finds the rest (web/app.js, the lookup API).
    areas = list(scoped(request.user, Area, Cap.SITE_MANAGE).filter(depth__lte=6).order_by("path")[:300])
    if site is not None and site.area not in areas:
        areas.insert(0, site.area)
    chosen = set(site.items.values_list("pk", flat=True)) if site is not None else set()
    if request.method == "POST":
        chosen = {int(i) for i in request.POST.getlist("items") if i.isdigit()}
    return render(request, "sites/edit.html", {
        "site": site, "v": values, "errors": errors, "kinds": SiteKind.choices, "tiers": Tier.choices,
        "areas": areas, "area_lookup": lookup_url("areas", Cap.SITE_MANAGE),
        "items": ServiceItem.objects.filter(active=True).order_by("code"), "chosen": chosen},
        status=400 if errors else 200)


@login_required
@not_found_as_404
def site_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One site: its services, rooms and a week of bookings (book one), who is on duty; keepers add rooms and set
    the rota."""
    site = get_scoped(request.user, Site.objects.select_related("area"), pk)
    raw = request.GET.get("start", "")
    try:
        start = dt.date.fromisoformat(raw) if raw else _today()
    except ValueError:
        start = _today()
    week = selectors.week(request.user, site, start)
    staff = []
    if week["keeper"]:
        staff = list(Person.objects.filter(
            pk__in=StaffPost.objects.filter(area__path__startswith=site.area_path[:16]).values("person_id"))
            .order_by("name")[:200])
    units = MemberUnit.objects.filter(pk__in=scope_of(request.user).unit_ids(Cap.VIEW)).order_by("name")
    return render(request, "sites/detail.html", {
        "site": site, "week": week, "start": start, "prev": start - dt.timedelta(days=7),
        "next": start + dt.timedelta(days=7), "items": site.items.order_by("code"), "staff": staff,
        "units": units, "tomorrow": (_today() + dt.timedelta(days=1)).isoformat(),
        "can_edit": scope_of(request.user).can(Cap.SITE_MANAGE, area_path=site.area_path)})


def _moment(day: str, time: str) -> str:
    return f"{day.strip()}T{time.strip()}" if day.strip() and time.strip() else ""


@login_required
@require_POST
@not_found_as_404
def booking_create(request: HttpRequest, pk: int) -> HttpResponse:
    site = get_scoped(request.user, Site, pk)
    room = get_scoped(request.user, Room.objects.filter(site=site), request.POST.get("room", ""))
    p = request.POST
    unit = None
    if p.get("unit", "").isdigit():
        unit = MemberUnit.objects.filter(pk=int(p["unit"])).first()
    done = _flash(request, lambda: services.booking_create(
        actor=request.user, room=room, starts_at=_moment(p.get("day", ""), p.get("start", "")),
        ends_at=_moment(p.get("day", ""), p.get("end", "")), purpose=p.get("purpose", ""),
        attendees=p.get("attendees", "1"), contact=p.get("contact", ""), unit=unit))
    if done is not None:
        messages.success(request, _("已预约：{room} {day} {a}–{b}").format(
            room=room.name, day=p.get("day"), a=p.get("start"), b=p.get("end")))
    return redirect("sites:detail", pk=site.pk)


@login_required
@require_POST
@not_found_as_404
def booking_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    booking = get_scoped(request.user, RoomBooking.objects.select_related("room"), pk)
    if _flash(request, lambda: services.booking_cancel(actor=request.user, booking=booking,
                                                       reason=request.POST.get("reason", ""))) is not None:
        messages.success(request, _("预约已取消"))
    back = request.POST.get("back", "")
    return redirect("sites:mine") if back == "mine" else redirect("sites:detail", pk=booking.room.site_id)


@login_required
@require_POST
@not_found_as_404
def room_create(request: HttpRequest, pk: int) -> HttpResponse:
    site = get_scoped(request.user, Site, pk)
    if _flash(request, lambda: services.room_save(actor=request.user, site=site, name=request.POST.get("name", ""),
                                                  capacity=request.POST.get("capacity", "20"))) is not None:
        messages.success(request, _("活动室已添加"))
    return redirect("sites:detail", pk=site.pk)


@login_required
@require_POST
@not_found_as_404
def duty_save(request: HttpRequest, pk: int) -> HttpResponse:
    site = get_scoped(request.user, Site, pk)
    if _flash(request, lambda: services.duty_set(actor=request.user, site=site, day=request.POST.get("day", ""),
                                                 people=request.POST.getlist("people"),
                                                 duty=request.POST.get("duty", ""))) is not None:
        messages.success(request, _("值班已保存"))
    return redirect("sites:detail", pk=site.pk)


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    """我的预约: the rooms I booked, upcoming first; cancel one."""
    now = dt.datetime.now(workdays.TZ)
    rows = list(selectors.my_bookings(request.user)[:100])
    return render(request, "sites/mine.html", {"upcoming": [b for b in rows if b.ends_at > now][::-1],
                                               "past": [b for b in rows if b.ends_at <= now][:30]})


@login_required
@not_found_as_404
def coverage_page(request: HttpRequest) -> HttpResponse:
    """15分钟服务圈: the share of an area's households within a walk of a site offering a service, by community,
    the map of gaps and the buildings outside."""
    from gongzhi.govservice.models import ServiceItem

    area = _area(request) or selectors.viewer_root(request.user)
    item = ServiceItem.objects.filter(pk=request.GET["item"]).first() if request.GET.get("item", "").isdigit() \
        else None
    errors = []
    try:
        minutes = int(request.GET.get("minutes") or coverage.DEFAULT_MINUTES)
        factor = float(request.GET.get("factor") or coverage.DEFAULT_WALK_FACTOR)
        if not (5 <= minutes <= 60 and 1.0 <= factor <= 3.0):
            raise ValueError
    except ValueError:
        errors.append(_("步行分钟须在5到60之间，绕行系数须在1.0到3.0之间"))
        minutes, factor = coverage.DEFAULT_MINUTES, coverage.DEFAULT_WALK_FACTOR
    result = coverage.compute(area, item=item, minutes=minutes, walk_factor=factor)
    worst = result.communities[:30]
    chart = bar_chart(_("各社区覆盖率（%）"), [c.name for c in worst],
                      [(_("覆盖率"), [c.share or 0 for c in worst])], unit="%")
    children = Area.objects.filter(path__startswith=area.path, depth=area.depth + 1).order_by("path")
    parent = Area.objects.filter(path=area.path[:-Area.steplen]).first() if area.depth > 1 else None
    if parent is not None and not scope_of(request.user).can(Cap.VIEW, area_path=parent.path):
        parent = None
    return render(request, "sites/coverage.html", {
        "area": area, "r": result, "item": item, "minutes": minutes, "factor": factor, "errors": errors,
        "items": ServiceItem.objects.filter(active=True).order_by("code"), "svg": coverage.svg(result),
        "chart": chart, "children": children, "parent": parent, "speed": coverage.METRES_PER_MINUTE,
        "by_item": coverage.by_item(area, minutes=minutes, walk_factor=factor, homes=result.homes)})
