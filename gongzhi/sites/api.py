"""Service sites in the JSON API (mounted under /api/v1/): the directory of sites (open to every signed-in user), a
site's week of bookings and rota, booking and cancelling a room, keeping sites, rooms and the rota
(``SITE_MANAGE``), and the 15-minute coverage of an area. Parse → scoped fetch → service → schema; the directory is
keyset-paginated on the id (limit ≤ 200)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from gongzhi.api.auth import user_of
from gongzhi.core import workdays
from gongzhi.core.errors import InvalidInput
from gongzhi.core.scope import get_scoped
from gongzhi.registry.models import Area, MemberUnit

from . import coverage, selectors, services
from .models import Room, RoomBooking, Site

router = Router(tags=["服务阵地 sites"])

MAX_LIMIT = 200
Kind = Literal["party_centre", "party_branch_centre", "red_station", "convenience_centre", "compound_station"]


class SiteIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    kind: Kind
    tier: Literal["zone", "community", "station"]
    area_id: int = Field(..., description="所在区域（区域树节点 id）")
    address: str = Field("", max_length=200)
    hours: str = Field("", max_length=100, description="开放时间（公示文字）")
    opens: dt.time = Field(dt.time(8, 30), description="每日开放（活动室可预约的起点）")
    closes: dt.time = Field(dt.time(20, 0), description="每日关闭")
    phone: str = Field("", max_length=20)
    lon: float | None = Field(None, ge=73, le=136, description="经度（WGS-84）")
    lat: float | None = Field(None, ge=3, le=54, description="纬度（WGS-84）")
    active: bool = True
    item_ids: list[int] | None = Field(None, max_length=200, description="可办事项；省略则不改")


class RoomIn(Schema):
    name: str = Field(..., min_length=1, max_length=50)
    capacity: int = Field(20, ge=1, le=1000)
    active: bool = True


class BookingIn(Schema):
    starts_at: dt.datetime = Field(..., description="开始（无时区按北京时间）")
    ends_at: dt.datetime
    purpose: str = Field(..., min_length=1, max_length=200)
    attendees: int = Field(1, ge=1, le=1000)
    contact: str = Field("", max_length=50)
    unit_id: int | None = Field(None, description="以本单位名义预约（单位经办人）")


class BookingCancelIn(Schema):
    reason: str = Field("", max_length=200)
    version: int | None = None


class DutyIn(Schema):
    day: dt.date
    person_ids: list[int] = Field(default_factory=list, max_length=20)
    duty: str = Field("", max_length=50)


def _site_out(s: Site, detail: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"id": s.pk, "name": s.name, "kind": s.kind, "kind_label": s.get_kind_display(),
                           "tier": s.tier, "tier_label": s.get_tier_display(), "area_id": s.area_id,
                           "area": s.area.name, "address": s.address, "hours": s.hours,
                           "opens": s.opens.strftime("%H:%M"), "closes": s.closes.strftime("%H:%M"), "phone": s.phone,
                           "lon": s.lon, "lat": s.lat, "active": s.active, "version": s.version}
    if detail:
        out["items"] = [{"id": i.pk, "code": i.code, "name": i.name} for i in s.items.order_by("code")]
        out["rooms"] = [{"id": r.pk, "name": r.name, "capacity": r.capacity, "active": r.active}
                        for r in s.rooms.order_by("name")]
    return out


def _booking_out(b: RoomBooking, visible: bool) -> dict[str, Any]:
    out = {"id": b.pk, "room_id": b.room_id, "starts_at": b.starts_at.isoformat(), "ends_at": b.ends_at.isoformat(),
           "state": b.state, "version": b.version}
    if visible:
        out.update({"purpose": b.purpose, "attendees": b.attendees, "contact": b.contact,
                    "unit": b.unit.name if b.unit_id and b.unit else None})
    return out


def _site(user: Any, pk: int) -> Site:
    return get_scoped(user, Site.objects.select_related("area"), pk)


@router.get("/sites", response=dict, summary="服务阵地 The directory of sites")
def list_sites(request: HttpRequest, area_id: int | None = None, kind: Kind | None = None,
               item_id: int | None = None, limit: int = Query(50, ge=1, le=MAX_LIMIT),
               after: int | None = None) -> dict[str, Any]:
    user = user_of(request)
    area = get_scoped(user, Area, area_id) if area_id is not None else None
    qs = selectors.sites(user, area=area, kind=kind or "", item=item_id).order_by("-pk")
    if after is not None:
        qs = qs.filter(pk__lt=after)
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [_site_out(s) for s in rows], "next": rows[-1].pk if more and rows else None}


@router.post("/sites", response={201: dict}, summary="新增阵地 Add a site")
def create_site(request: HttpRequest, payload: SiteIn) -> Status[dict[str, Any]]:
    data = payload.dict()
    items = data.pop("item_ids")
    data["area"] = data.pop("area_id")
    site = services.site_save(actor=user_of(request), data=data, items=items)
    return Status(201, _site_out(_site(user_of(request), site.pk), detail=True))


@router.get("/sites/coverage", response=dict, summary="15分钟服务圈 Coverage of an area's households")
def get_coverage(request: HttpRequest, area_id: int | None = None, item_id: int | None = None,
                 minutes: int = Query(coverage.DEFAULT_MINUTES, ge=5, le=60),
                 walk_factor: float = Query(coverage.DEFAULT_WALK_FACTOR, ge=1.0, le=3.0)) -> dict[str, Any]:
    from gongzhi.govservice.models import ServiceItem

    user = user_of(request)
    area = _coverage_area(user, area_id)
    item = None
    if item_id is not None:
        item = ServiceItem.objects.filter(pk=item_id).first()
        if item is None:
            raise InvalidInput.on("item_id", "服务事项不存在")
    return coverage.compute(area, item=item, minutes=minutes, walk_factor=walk_factor).as_dict()


@router.get("/sites/coverage/items", response=dict, summary="按服务事项的覆盖 Coverage of every service item")
def get_coverage_by_item(request: HttpRequest, area_id: int | None = None,
                         minutes: int = Query(coverage.DEFAULT_MINUTES, ge=5, le=60),
                         walk_factor: float = Query(coverage.DEFAULT_WALK_FACTOR, ge=1.0, le=3.0)) -> dict[str, Any]:
    area = _coverage_area(user_of(request), area_id)
    return {"area_id": area.pk, "area": area.name, "minutes": minutes, "walk_factor": walk_factor,
            "items": coverage.by_item(area, minutes=minutes, walk_factor=walk_factor)}


def _coverage_area(user: Any, area_id: int | None) -> Area:
    return get_scoped(user, Area, area_id) if area_id is not None else selectors.viewer_root(user)


@router.get("/sites/{site_id}", response=dict, summary="阵地详情 One site with its rooms and items")
def get_site(request: HttpRequest, site_id: int) -> dict[str, Any]:
    return _site_out(_site(user_of(request), site_id), detail=True)


@router.put("/sites/{site_id}", response=dict, summary="修改阵地 Edit a site")
def update_site(request: HttpRequest, site_id: int, payload: SiteIn) -> dict[str, Any]:
    user = user_of(request)
    data = payload.dict()
    items = data.pop("item_ids")
    data["area"] = data.pop("area_id")
    services.site_save(actor=user, data=data, site=_site(user, site_id), items=items)
    return _site_out(_site(user, site_id), detail=True)


@router.post("/sites/{site_id}/rooms", response={201: dict}, summary="新增活动室 Add a room")
def create_room(request: HttpRequest, site_id: int, payload: RoomIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    room = services.room_save(actor=user, site=_site(user, site_id), name=payload.name, capacity=payload.capacity,
                              active=payload.active)
    return Status(201, {"id": room.pk, "name": room.name, "capacity": room.capacity, "active": room.active})


@router.get("/sites/{site_id}/week", response=dict, summary="一周安排 A week of bookings and the rota")
def get_week(request: HttpRequest, site_id: int, start: dt.date | None = None) -> dict[str, Any]:
    user = user_of(request)
    site = _site(user, site_id)
    w = selectors.week(user, site, start or dt.datetime.now(workdays.TZ).date())
    return {"dates": [d.isoformat() for d in w["dates"]],
            "rooms": [{"id": r["room"].pk, "name": r["room"].name,
                       "bookings": [_booking_out(s.booking, s.visible) for day in r["days"] for s in day]}
                      for r in w["rooms"]],
            "rota": [{"day": d.isoformat(), "people": [{"person_id": s.person_id, "name": s.person.name,
                                                       "duty": s.duty} for s in shifts]}
                     for d, shifts in w["rota"]]}


@router.put("/sites/{site_id}/duty", response=dict, summary="排班 Who is on duty on a day")
def set_duty(request: HttpRequest, site_id: int, payload: DutyIn) -> dict[str, Any]:
    user = user_of(request)
    shifts = services.duty_set(actor=user, site=_site(user, site_id), day=payload.day, people=payload.person_ids,
                               duty=payload.duty)
    return {"day": payload.day.isoformat(), "people": [{"person_id": s.person_id, "name": s.person.name,
                                                        "duty": s.duty} for s in shifts]}


@router.post("/sites/rooms/{room_id}/bookings", response={201: dict}, summary="预约活动室 Book a room")
def create_booking(request: HttpRequest, room_id: int, payload: BookingIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    room = get_scoped(user, Room, room_id)
    unit = None
    if payload.unit_id is not None:
        unit = MemberUnit.objects.filter(pk=payload.unit_id).first()
        if unit is None:
            raise InvalidInput.on("unit_id", "单位不存在")
    b = services.booking_create(actor=user, room=room, starts_at=payload.starts_at, ends_at=payload.ends_at,
                                purpose=payload.purpose, attendees=payload.attendees, contact=payload.contact,
                                unit=unit)
    return Status(201, _booking_out(b, True))


@router.get("/sites/bookings/mine", response=dict, summary="我的预约 My bookings")
def my_bookings(request: HttpRequest, limit: int = Query(50, ge=1, le=MAX_LIMIT)) -> dict[str, Any]:
    user = user_of(request)
    return {"items": [_booking_out(b, True) for b in selectors.my_bookings(user).select_related("unit")[:limit]]}


@router.post("/sites/bookings/{booking_id}/cancel", response=dict, summary="取消预约 Cancel a booking")
def cancel_booking(request: HttpRequest, booking_id: int, payload: BookingCancelIn) -> dict[str, Any]:
    user = user_of(request)
    b = get_scoped(user, RoomBooking, booking_id)
    b = services.booking_cancel(actor=user, booking=b, reason=payload.reason, expected_version=payload.version)
    return _booking_out(b, True)
