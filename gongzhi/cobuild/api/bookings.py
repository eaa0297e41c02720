"""Service organisations and bookings in the JSON API (预约接单): organisations, offerings, slot series, the
offerings near a resident, booking, the booking steps, my bookings and an organisation's desk for a day."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from gongzhi.accounts.roles import Cap
from gongzhi.api.auth import user_of
from gongzhi.core.scope import get_scoped
from gongzhi.registry.models import Area, MemberUnit

from ..models import Booking, Kind, Offering, ServiceOrg, Slot
from ..selectors import bookings as selectors
from ..services import bookings as services

router = Router(tags=["共驻共建 cobuild"])


class ServiceOrgIn(Schema):
    area_id: int = Field(..., description="所在区域（社区、街道…）")
    name: str = Field(..., min_length=1, max_length=100, description="组织名称，如“碧海社区长者食堂”")
    kind: Literal[tuple(Kind.values)] = Field(..., description="服务类别")  # type: ignore[valid-type]
    unit_id: int | None = Field(None, description="登记单位（其经办人接单）")
    contact_phone: str = Field("", max_length=20)


class OfferingIn(Schema):
    title: str = Field(..., min_length=1, max_length=100)
    description: str = Field("", max_length=1000)
    price: str = Field("", max_length=50, description="收费标准")


class SlotsIn(Schema):
    first_day: dt.date
    weeks: int = Field(..., ge=1, le=12)
    weekdays: list[int] = Field(..., min_length=1, max_length=7, description="0=周一 … 6=周日")
    start: dt.time
    end: dt.time
    capacity: int = Field(..., ge=1, le=500)


class BookIn(Schema):
    note: str = Field("", max_length=200)


class BookingStepIn(Schema):
    step: Literal["accept", "decline", "deliver", "cancel", "rate"]
    version: int | None = Field(None, ge=1, description="预约的版本号（防止覆盖他人的操作）")
    reason: str = Field("", max_length=300, description="不接单时必填")
    rating: int | None = Field(None, ge=1, le=5)
    comment: str = Field("", max_length=300)


def _org_out(o: ServiceOrg) -> dict[str, Any]:
    return {"id": o.pk, "name": o.name, "kind": o.kind, "kind_label": o.get_kind_display(),
            "area": {"id": o.area_id, "name": o.area.name}, "unit_id": o.unit_id, "contact_phone": o.contact_phone,
            "active": o.active}


def _slot_out(s: Slot, mine: bool = False) -> dict[str, Any]:
    return {"id": s.pk, "starts_at": s.starts_at, "ends_at": s.ends_at, "capacity": s.capacity, "booked": s.booked,
            "left": max(s.capacity - s.booked, 0), "full": s.full, "mine": mine}


def _offering_out(o: Offering, slots: list[Slot] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": o.pk, "title": o.title, "description": o.description, "price": o.price,
                           "org": {"id": o.org_id, "name": o.org.name, "kind": o.org.kind}, "active": o.active}
    if slots is not None:
        out["slots"] = [_slot_out(s, getattr(s, "mine", False)) for s in slots]
    return out


def _booking_out(b: Booking, *, with_person: bool = False) -> dict[str, Any]:
    s = b.slot
    out = {"id": b.pk, "state": b.state, "state_label": b.get_state_display(), "version": b.version,
           "slot": {"id": s.pk, "starts_at": s.starts_at, "ends_at": s.ends_at},
           "offering": {"id": s.offering_id, "title": s.offering.title},
           "org": {"id": s.offering.org_id, "name": s.offering.org.name},
           "note": b.note, "booked_at": b.booked_at, "rating": b.rating, "comment": b.comment}
    if with_person:
        out["person"] = {"id": b.person_id, "name": b.person.name}
    return out


@router.get("/cobuild/service-orgs", response=dict, summary="服务组织 Service organisations")
def list_orgs(request: HttpRequest, limit: int = Query(50, ge=1, le=200), after: int | None = None) -> dict[str, Any]:
    user = user_of(request)
    qs = selectors.orgs(user).order_by("pk")
    if after is not None:
        qs = qs.filter(pk__gt=after)
    page = list(qs[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return {"items": [_org_out(o) for o in page], "next": page[-1].pk if more and page else None}


@router.post("/cobuild/service-orgs", response={201: dict}, summary="登记服务组织 Register an organisation")
def create_org(request: HttpRequest, payload: ServiceOrgIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    area = get_scoped(user, Area, payload.area_id, cap=Cap.COBUILD_MANAGE)
    unit = get_scoped(user, MemberUnit, payload.unit_id) if payload.unit_id else None
    org = services.org_register(actor=user, area=area, name=payload.name, kind=payload.kind, unit=unit,
                                contact_phone=payload.contact_phone)
    return Status(201, _org_out(selectors.org_get(user, org.pk)))


@router.post("/cobuild/service-orgs/{org_id}/offerings", response={201: dict}, summary="发布服务项目 New offering")
def create_offering(request: HttpRequest, org_id: int, payload: OfferingIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    org = selectors.org_get(user, org_id)
    offering = services.offering_create(actor=user, org=org, title=payload.title, description=payload.description,
                                        price=payload.price)
    return Status(201, _offering_out(offering))


@router.post("/cobuild/offerings/{offering_id}/slots", response={201: dict}, summary="发布时段 Publish slots")
def create_slots(request: HttpRequest, offering_id: int, payload: SlotsIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    offering = selectors.offering_get(user, offering_id)
    added = services.slots_create(actor=user, offering=offering, first_day=payload.first_day, weeks=payload.weeks,
                                  weekdays=payload.weekdays, start=payload.start, end=payload.end,
                                  capacity=payload.capacity)
    return Status(201, {"added": added})


@router.get("/cobuild/offerings/nearby", response=list[dict], summary="附近的服务 Offerings near me (resident)")
def nearby(request: HttpRequest) -> list[dict[str, Any]]:
    user = user_of(request)
    return [_offering_out(o, o.upcoming) for o in selectors.nearby_offerings(user)]  # type: ignore[attr-defined]


@router.post("/cobuild/slots/{slot_id}/bookings", response={201: dict}, summary="预约 Book a place")
def book(request: HttpRequest, slot_id: int, payload: BookIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    slot = get_object_or_404(Slot, pk=slot_id)  # the service checks the slot serves the resident's community
    booking = services.booking_create(actor=user, slot=slot, note=payload.note)
    return Status(201, _booking_out(selectors.booking_get(user, booking.pk)))


@router.get("/cobuild/bookings", response=dict, summary="我的预约 My bookings")
def my_bookings(request: HttpRequest, limit: int = Query(50, ge=1, le=200),
                after: int | None = None) -> dict[str, Any]:
    user = user_of(request)
    qs = selectors.my_bookings(user).order_by("-pk")
    if after is not None:
        qs = qs.filter(pk__lt=after)
    page = list(qs[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return {"items": [_booking_out(b) for b in page], "next": page[-1].pk if more and page else None}


@router.post("/cobuild/bookings/{booking_id}/steps", response=dict,
             summary="预约操作 Accept/decline/deliver/cancel/rate")
def booking_step(request: HttpRequest, booking_id: int, payload: BookingStepIn) -> dict[str, Any]:
    user = user_of(request)
    booking = selectors.booking_get(user, booking_id)
    done = services.booking_step(actor=user, booking=booking, step=payload.step, expected_version=payload.version,
                                 reason=payload.reason, rating=payload.rating, comment=payload.comment)
    return _booking_out(selectors.booking_get(user, done.pk))


@router.get("/cobuild/service-orgs/{org_id}/desk", response=dict, summary="接单台 An organisation's day")
def desk(request: HttpRequest, org_id: int, day: dt.date | None = None) -> dict[str, Any]:
    user = user_of(request)
    org = selectors.org_get(user, org_id)
    view = selectors.desk(user, org, day or timezone.localdate())
    return {"org": _org_out(org), "day": view.day, "booked": view.booked, "accepted": view.accepted,
            "delivered": view.delivered, "bookings": [_booking_out(b, with_person=True) for b in view.bookings]}
