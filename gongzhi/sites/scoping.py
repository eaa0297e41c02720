"""How sites hang on the tree, for :mod:`gongzhi.core.scope`.

The directory of sites, their rooms and who is on duty is open to every signed-in user: a resident or a unit finds a
site anywhere in the city and books a room there (全市通办 holds for rooms too). A booking is seen by whoever made it
and by the keepers of the site's area (``SITE_MANAGE``); a keeper sees who booked, others only that the room is
taken (the selectors show a booking to outsiders as a busy slot without the booker)."""

from __future__ import annotations

from django.db.models import Q

from gongzhi.accounts.roles import Cap
from gongzhi.core import scope

from .models import DutyShift, Room, RoomBooking, Site


def _everyone(s: scope.Scope) -> Q:
    return Q(pk__isnull=False)


scope.register(Site, area="area_path", cap=Cap.VIEW, extra=_everyone)
scope.register(Room, area="site__area_path", cap=Cap.VIEW, extra=_everyone)
scope.register(DutyShift, area="area_path", cap=Cap.VIEW, extra=_everyone)
scope.register(RoomBooking, area="area_path", cap=Cap.SITE_MANAGE,
               extra=lambda s: Q(booked_by_id=s.user_id or 0))
