"""Reading sites: the directory (open to every signed-in user), a site's week of bookings and rota, and one's own
bookings. A booking shows who booked only to the booker and the site's keepers; everyone else sees the slot taken."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from gongzhi.accounts.roles import Cap
from gongzhi.core import workdays
from gongzhi.core.scope import as_scope, scoped
from gongzhi.registry.models import Area

from .models import DutyShift, Room, RoomBooking, Site
from .workflow import BookingState


def viewer_root(user: Any) -> Area:
    """The highest node the viewer sees (her community, street … or the city): the coverage page's default."""
    roots = as_scope(user).root_area_ids(Cap.VIEW)
    return Area.objects.filter(pk__in=roots).order_by("depth", "path").first() or Area.objects.get(depth=1)


def sites(user: Any, area: Area | None = None, kind: str = "", item: Any = None) -> QuerySet[Site]:
    qs = scoped(user, Site).select_related("area")
    if area is not None:
        qs = qs.filter(area_path__startswith=area.path)
    if kind:
        qs = qs.filter(kind=kind)
    if item is not None:
        qs = qs.filter(items=item)
    return qs.order_by("area_path", "tier", "pk")


@dataclass
class Slot:
    booking: RoomBooking
    visible: bool  # the viewer may see who booked

    @property
    def label(self) -> str:
        b = self.booking
        return f"{b.starts_at.astimezone(workdays.TZ):%H:%M}–{b.ends_at.astimezone(workdays.TZ):%H:%M}"


def week(user: Any, site: Site, start: dt.date, days: int = 7) -> dict[str, Any]:
    """Rooms × days with the bookings in them, and who is on duty each day, from ``start``."""
    begin = dt.datetime.combine(start, dt.time(0, 0), tzinfo=workdays.TZ)
    end = begin + dt.timedelta(days=days)
    rooms = list(scoped(user, Room).filter(site=site).order_by("name"))
    keeper = as_scope(user).can(Cap.SITE_MANAGE, area_path=site.area_path)
    bookings = (RoomBooking.objects.filter(room__site=site, state=BookingState.BOOKED, starts_at__lt=end,
                                           ends_at__gt=begin)
                .select_related("unit").order_by("starts_at"))
    grid: dict[tuple[int, dt.date], list[Slot]] = {}
    for b in bookings:
        day = b.starts_at.astimezone(workdays.TZ).date()
        grid.setdefault((b.room_id, day), []).append(Slot(b, keeper or b.booked_by_id == getattr(user, "pk", None)))
    dates = [start + dt.timedelta(days=i) for i in range(days)]
    shifts: dict[dt.date, list[DutyShift]] = {}
    for s in (scoped(user, DutyShift).filter(site=site, day__gte=start, day__lt=start + dt.timedelta(days=days))
              .select_related("person").order_by("day", "person__name")):
        shifts.setdefault(s.day, []).append(s)
    return {"rooms": [{"room": r, "days": [grid.get((r.pk, d), []) for d in dates]} for r in rooms],
            "dates": dates, "rota": [(d, shifts.get(d, [])) for d in dates], "keeper": keeper}


def my_bookings(user: Any) -> QuerySet[RoomBooking]:
    return (scoped(user, RoomBooking).filter(booked_by_id=getattr(user, "pk", 0))
            .select_related("room__site").order_by("-starts_at"))
