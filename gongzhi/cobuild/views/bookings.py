"""Pages of the service organisations (D4): offerings near me and my bookings for a resident on her phone, the
organisation's booking desk (today's bookings to accept and deliver), the organisations of an area with their
offerings and slot series. Thin: parse → fetch through the scope → service → redirect."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.accounts.roles import Cap
from gongzhi.core.scope import get_scoped, scope_of, scoped
from gongzhi.registry.models import Area, MemberUnit
from gongzhi.web.forms import area_label, set_choices
from gongzhi.web.pages import attempt, not_found_as_404, paginate
from gongzhi.web.pages import attempt_flash as _flash
from gongzhi.web.pages import need as _need

from ..forms_bookings import BookForm, OfferingForm, OrgForm, SlotsForm, StepForm
from ..models import Slot
from ..selectors import bookings as selectors
from ..services import bookings as services

# ------------------------------------------------------------------------------------------ residents (phone)


@login_required
def offerings(request: HttpRequest) -> HttpResponse:
    """预约服务: offerings of the organisations serving my community, with the places left in each slot."""
    person = selectors.resident_person(request.user)
    community = None
    if person is not None:
        community = Area.objects.filter(path=person.area.path[: 4 * Area.steplen], kind="community").first()
    return render(request, "cobuild/booking_offerings.html", {
        "person": person, "offerings": selectors.nearby_offerings(request.user), "community": community,
        "book_form": BookForm()})


@login_required
@require_POST
def book(request: HttpRequest, pk: int) -> HttpResponse:
    # A resident has no scope grant on slots; the service checks the slot serves her community.
    slot = get_object_or_404(Slot, pk=pk)
    form = BookForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    booking = _flash(request, lambda: services.booking_create(actor=request.user, slot=slot, note=note))
    if booking is None:
        return redirect("cobuild:booking_offerings")
    messages.success(request, _("预约成功：{title} {when}").format(
        title=slot.offering.title, when=timezone.localtime(slot.starts_at).strftime("%m-%d %H:%M")))
    return redirect("cobuild:booking_mine")


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    page = paginate(request, selectors.my_bookings(request.user), size=30)
    reasons = selectors.decline_reasons(page.items)
    for b in page.items:
        b.decline_reason = reasons.get(b.pk, "")
    return render(request, "cobuild/booking_mine.html", {"page": page, "now": timezone.now()})


@login_required
@require_POST
@not_found_as_404
def step(request: HttpRequest, pk: int) -> HttpResponse:
    booking = selectors.booking_get(request.user, pk)
    form = StepForm(request.POST)
    if not form.is_valid():
        messages.error(request, "；".join(str(e) for es in form.errors.values() for e in es))
    else:
        d = form.cleaned_data
        done = _flash(request, lambda: services.booking_step(
            actor=request.user, booking=booking, step=d["step"], expected_version=d["version"],
            reason=d["reason"], rating=d["rating"], comment=d["comment"]))
        if done is not None:
            messages.success(request, _("预约状态：{state}").format(state=done.get_state_display()))
    if request.POST.get("back") == "desk":
        org = booking.slot.offering.org
        day = timezone.localtime(booking.slot.starts_at).date()
        return redirect(f"{_url('cobuild:booking_desk')}?org={org.pk}&day={day:%Y-%m-%d}")
    return redirect("cobuild:booking_mine")


def _url(name: str) -> str:
    from django.urls import reverse

    return reverse(name)


# ------------------------------------------------------------------------------------------ the organisation


@login_required
def desk(request: HttpRequest) -> HttpResponse:
    """接单台: the bookings of one day of an organisation I run, to accept, decline and mark delivered."""
    runnable = selectors.runnable_orgs(request.user)
    if not runnable:
        raise Http404
    raw = request.GET.get("org", "")
    org = next((o for o in runnable if str(o.pk) == raw), runnable[0])
    day = parse_date(request.GET.get("day", "") or "") or timezone.localdate()
    view = selectors.desk(request.user, org, day)
    return render(request, "cobuild/booking_desk.html", {
        "view": view, "orgs": runnable, "prev": day - dt.timedelta(days=1), "next": day + dt.timedelta(days=1),
        "today": timezone.localdate()})


@login_required
def org_list(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.COBUILD_VIEW)
    page = paginate(request, selectors.orgs(request.user))
    return render(request, "cobuild/booking_orgs.html", {
        "page": page, "can_register": scope_of(request.user).has(Cap.COBUILD_MANAGE),
        "can_desk": bool(selectors.runnable_orgs(request.user))})


def _org_areas(user: Any) -> list[tuple[int, str]]:
    areas = list(scoped(user, Area, cap=Cap.COBUILD_MANAGE).filter(kind__in=services.ORG_KINDS)
                 .order_by("path")[:300])
    parents = dict(Area.objects.filter(path__in={a.path[:-Area.steplen] for a in areas}).values_list("path", "name"))
    return [(a.pk, area_label(a, parents)) for a in areas]


@login_required
@not_found_as_404
def org_new(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.COBUILD_MANAGE)
    form = OrgForm(request.POST or None)
    set_choices(form.fields["area"], _org_areas(request.user), blank="—")
    units = scoped(request.user, MemberUnit).order_by("name")[:300]
    set_choices(form.fields["unit"], [(u.pk, u.name) for u in units], blank=_("不关联（由社区/街道接单）"))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        area = get_scoped(request.user, Area, d["area"], cap=Cap.COBUILD_MANAGE) if d["area"] else None
        unit = get_scoped(request.user, MemberUnit, d["unit"]) if d["unit"] else None
        org = attempt(form, lambda: services.org_register(actor=request.user, area=area, name=d["name"],
                                                          kind=d["kind"], unit=unit,
                                                          contact_phone=d["contact_phone"]))
        if org is not None:
            messages.success(request, _("已登记服务组织：{name}").format(name=org.name))
            return redirect("cobuild:booking_org", pk=org.pk)
    return render(request, "web/form.html", {"form": form, "title": _("登记服务组织"),
                                             "back": "cobuild:booking_orgs"})


@login_required
@not_found_as_404
def org_detail(request: HttpRequest, pk: int) -> HttpResponse:
    org = selectors.org_get(request.user, pk)
    return render(request, "cobuild/booking_org.html", {
        "org": org, "offerings": selectors.org_offerings(org), "can_run": services.can_run(request.user, org)})


@login_required
@not_found_as_404
def offering_new(request: HttpRequest, pk: int) -> HttpResponse:
    org = selectors.org_get(request.user, pk)
    if not services.can_run(request.user, org):
        raise Http404
    form = OfferingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        offering = attempt(form, lambda: services.offering_create(actor=request.user, org=org, title=d["title"],
                                                                  description=d["description"], price=d["price"]))
        if offering is not None:
            messages.success(request, _("已发布服务项目，请设置可预约时段"))
            return redirect("cobuild:booking_slots_new", pk=offering.pk)
    return render(request, "web/form.html", {"form": form, "title": _("{org} · 发布服务项目").format(org=org.name),
                                             "back": "cobuild:booking_orgs"})


@login_required
@not_found_as_404
def slots_new(request: HttpRequest, pk: int) -> HttpResponse:
    offering = selectors.offering_get(request.user, pk)
    if not services.can_run(request.user, offering.org):
        raise Http404
    form = SlotsForm(request.POST or None, initial={"first_day": timezone.localdate() + dt.timedelta(days=1)})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        added = attempt(form, lambda: services.slots_create(
            actor=request.user, offering=offering, first_day=d["first_day"], weeks=d["weeks"],
            weekdays=d["weekdays"], start=d["start"], end=d["end"], capacity=d["capacity"]))
        if added is not None:
            messages.success(request, _("已发布 {n} 个时段").format(n=added))
            return redirect("cobuild:booking_org", pk=offering.org_id)
    return render(request, "web/form.html", {"form": form, "title": _("{title} · 发布预约时段").format(
        title=offering.title), "back": "cobuild:booking_orgs"})


urlpatterns = [
    path("services/", offerings, name="booking_offerings"),
    path("services/slots/<int:pk>/book/", book, name="booking_book"),
    path("services/mine/", mine, name="booking_mine"),
    path("services/bookings/<int:pk>/step/", step, name="booking_step"),
    path("services/desk/", desk, name="booking_desk"),
    path("services/orgs/", org_list, name="booking_orgs"),
    path("services/orgs/new/", org_new, name="booking_org_new"),
    path("services/orgs/<int:pk>/", org_detail, name="booking_org"),
    path("services/orgs/<int:pk>/offerings/new/", offering_new, name="booking_offering_new"),
    path("services/offerings/<int:pk>/slots/new/", slots_new, name="booking_slots_new"),
]
