"""Reads of service organisations and bookings. Staff and units read through the scope rules; a resident reads the
offerings near her (:func:`nearby_offerings`, a public selector: only active offerings of organisations serving her
community) and her own bookings (:func:`my_bookings`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from gongzhi.core import workdays
from gongzhi.core.models import AuditEntry
from gongzhi.core.scope import as_scope, get_scoped, scoped
from gongzhi.registry.models import Area, Person

from ..models import Booking, Offering, ServiceOrg, Slot
from ..services.common import actor_units, can_manage
from ..workflow import BookingState

STEP = Area.steplen
AHEAD_DAYS = 14  # residents see the coming two weeks
MAX_OFFERINGS = 50
MAX_SLOTS_SHOWN = 20  # per offering on the phone page
LIVE = (BookingState.BOOKED, BookingState.ACCEPTED)


def orgs(actor: Any) -> QuerySet[ServiceOrg]:
    return scoped(actor, ServiceOrg).select_related("area", "unit").order_by("area_path", "name")


def org_get(actor: Any, pk: int) -> ServiceOrg:
    return get_scoped(actor, ServiceOrg.objects.select_related("area", "unit"), pk)


def runnable_orgs(actor: Any) -> list[ServiceOrg]:
    """The organisations whose booking desk the caller keeps: her unit's, or any in the area she manages."""
    units = actor_units(actor)
    return [o for o in orgs(actor).filter(active=True)[:200]
            if (o.unit_id in units) or can_manage(actor, o.area_path)]


def offering_get(actor: Any, pk: int) -> Offering:
    return get_scoped(actor, Offering.objects.select_related("org"), pk)


def slot_get(actor: Any, pk: int) -> Slot:
    return get_scoped(actor, Slot.objects.select_related("offering__org"), pk)


def booking_get(actor: Any, pk: int) -> Booking:
    return get_scoped(actor, Booking.objects.select_related("slot__offering__org", "person"), pk)


def resident_person(actor: Any) -> Person | None:
    pid = as_scope(actor).person_id
    return Person.objects.select_related("area").filter(pk=pid).first() if pid else None


def _near(person_path: str) -> Q:
    """Organisations serving someone at ``person_path``: on her community or an area above it, or inside her
    community (same rule as :func:`gongzhi.cobuild.services.bookings._serves`)."""
    community = person_path[: 4 * STEP]
    above = [community[:k] for k in range(STEP, len(community) + 1, STEP)]
    return Q(area_path__in=above) | Q(area_path__startswith=community)


def nearby_offerings(actor: Any, *, now: dt.datetime | None = None) -> list[Offering]:
    """附近的服务 for a resident: active offerings near her, each with the slots of the coming two weeks
    (``upcoming``), nearest area first. Three queries whatever the number of offerings."""
    person = resident_person(actor)
    if person is None:
        return []
    now = now or timezone.now()
    until = now + dt.timedelta(days=AHEAD_DAYS)
    slots = Slot.objects.filter(starts_at__gt=now, starts_at__lte=until).order_by("starts_at", "pk")
    rows: list[Any] = list(Offering.objects.filter(_near(person.area.path), active=True, org__active=True)
                .select_related("org").prefetch_related(Prefetch("slots", queryset=slots, to_attr="upcoming"))
                .order_by("-area_path", "org__name", "title")[:MAX_OFFERINGS])
    mine = set(Booking.objects.filter(person=person, state__in=LIVE, slot__starts_at__gt=now)
               .values_list("slot_id", flat=True))
    for o in rows:
        o.upcoming = o.upcoming[:MAX_SLOTS_SHOWN]  # type: ignore[attr-defined]
        for s in o.upcoming:  # type: ignore[attr-defined]
            s.mine = s.pk in mine  # type: ignore[attr-defined]
            s.left = max(s.capacity - s.booked, 0)  # type: ignore[attr-defined]
    return rows


def my_bookings(actor: Any) -> QuerySet[Booking]:
    """我的预约: only the caller's own, whatever else her role lets her see."""
    pid = as_scope(actor).person_id
    if pid is None:
        return Booking.objects.none()
    return (scoped(actor, Booking).filter(person_id=pid).select_related("slot__offering__org")
            .order_by("-slot__starts_at", "-pk"))


def decline_reasons(bookings: list[Booking]) -> dict[int, str]:
    """Why the organisation declined (kept in the audit entry of the step), for the resident's list."""
    ids = [str(b.pk) for b in bookings if b.state == BookingState.DECLINED]
    if not ids:
        return {}
    rows = AuditEntry.objects.filter(object_type="cobuild.booking", object_id__in=ids,
                                     action="cobuild.booking.decline").values_list("object_id", "reason")
    return {int(k): v for k, v in rows}


@dataclass
class DeskDay:
    org: ServiceOrg
    day: dt.date
    bookings: list[Booking]
    booked: int
    accepted: int
    delivered: int


def desk(actor: Any, org: ServiceOrg, day: dt.date) -> DeskDay:
    """接单台: the organisation's bookings of one day, in slot order, with the counts on top."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=workdays.TZ)
    rows = list(scoped(actor, Booking).filter(slot__offering__org=org, slot__starts_at__gte=start,
                                              slot__starts_at__lt=start + dt.timedelta(days=1))
                .exclude(state=BookingState.CANCELLED)
                .select_related("slot__offering", "person").order_by("slot__starts_at", "booked_at", "pk")[:500])
    count = {s: sum(1 for b in rows if b.state == s) for s in BookingState.values}
    return DeskDay(org=org, day=day, bookings=rows, booked=count[BookingState.BOOKED],
                   accepted=count[BookingState.ACCEPTED],
                   delivered=count[BookingState.DELIVERED] + count[BookingState.RATED])


def org_offerings(org: ServiceOrg, *, now: dt.datetime | None = None) -> list[Offering]:
    """An organisation's offerings with their coming slots (the org page)."""
    now = now or timezone.now()
    slots = Slot.objects.filter(starts_at__gt=now).order_by("starts_at", "pk")
    rows: list[Any] = list(org.offerings.order_by("-active", "title")
                .prefetch_related(Prefetch("slots", queryset=slots, to_attr="upcoming"))[:100])
    for o in rows:
        for s in o.upcoming:
            s.left = max(s.capacity - s.booked, 0)
    return rows
