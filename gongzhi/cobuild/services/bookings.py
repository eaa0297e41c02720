"""Service organisations taking bookings (D4, 预约接单): a manager registers a 功能型服务组织 (长者食堂、家政、托育…),
the organisation publishes offerings and series of time slots, residents book one place from the phone, and the
organisation accepts, declines, delivers and is rated — every move of a booking through the declared BOOKING table.

A slot's places are one counter changed by one conditional UPDATE (:func:`.common.take`): of two residents racing for
the last place exactly one wins, and a cancelled or declined booking gives its place back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit, workdays
from gongzhi.core.errors import Conflict, Forbidden, InvalidInput
from gongzhi.core.validators import bounded_text, normalize_phone, visible_text
from gongzhi.registry.models import Area, AreaKind, MemberUnit, Person

from ..models import Booking, Kind, Offering, ServiceOrg, Slot
from ..workflow import BOOKING, MANAGER, OWNER, UNIT, BookingState
from .common import area_in, can_manage, can_offer, give_back, person_of, require_manage, take

ORG_KINDS = (AreaKind.CITY, AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY, AreaKind.GRID,
             AreaKind.COMPOUND)
MAX_WEEKS = 12  # a series is published a season at a time at most
MAX_CAPACITY = 500
MAX_SLOTS = 400  # one call never writes more rows than this


def can_run(actor: Any, org: ServiceOrg) -> bool:
    """The organisation is run by its registered unit's handler, or by a manager of its area."""
    return (org.unit_id is not None and can_offer(actor, org.unit_id)) or can_manage(actor, org.area_path)


def _require_run(actor: Any, org: ServiceOrg) -> None:
    if not can_run(actor, org):
        raise Forbidden(_("您不是该服务组织的经办人"))


def org_register(*, actor: Any, area: Area | None, name: str, kind: str, unit: MemberUnit | None = None,
                 contact_phone: str = "") -> ServiceOrg:
    """登记服务组织: by a manager of the area; linked to a member unit, that unit's handler then runs it."""
    area = area_in(area, "area", ORG_KINDS)
    require_manage(actor, area.path)
    name = visible_text(name, "name", max_length=100)
    if kind not in Kind.values:
        raise InvalidInput.on("kind", _("请选择服务类别"))
    phone = normalize_phone(contact_phone, "contact_phone") if (contact_phone or "").strip() else ""
    with transaction.atomic():
        org = ServiceOrg.objects.create(name=name, kind=kind, area=area, area_path=area.path, unit=unit,
                                        contact_phone=phone)
        audit.record(actor=actor, action="cobuild.service_org.create", obj=org,
                     after={"name": name, "kind": kind, "area": area.pk, "unit": unit.pk if unit else None})
    return org


@transaction.atomic
def offering_create(*, actor: Any, org: ServiceOrg, title: str, description: str = "", price: str = "") -> Offering:
    _require_run(actor, org)
    if not org.active:
        raise InvalidInput.on("org", _("该服务组织已停止服务"))
    offering = Offering.objects.create(
        org=org, area_path=org.area_path, title=visible_text(title, "title", max_length=100),
        description=bounded_text(description, "description", 1000), price=bounded_text(price, "price", 50))
    audit.record(actor=actor, action="cobuild.offering.create", obj=offering,
                 after={"org": org.pk, "title": offering.title, "price": offering.price})
    return offering


def _series_days(first_day: dt.date, weeks: int, weekdays: list[int]) -> list[dt.date]:
    """The days of a series: from ``first_day`` for ``weeks`` weeks, on these weekdays (0 = Monday)."""
    wanted = set(weekdays)
    return [d for d in (first_day + dt.timedelta(days=i) for i in range(weeks * 7)) if d.weekday() in wanted]


@transaction.atomic
def slots_create(*, actor: Any, offering: Offering, first_day: dt.date | None, weeks: int, weekdays: list[int],
                 start: dt.time | None, end: dt.time | None, capacity: int, today: dt.date | None = None) -> int:
    """发布时段: a series (e.g. 工作日 11:00–12:30, 40 places, for the next 2 weeks). Slots that already exist at the
    same start are left as they are, so publishing the same series twice adds nothing. Returns the slots added."""
    _require_run(actor, offering.org)
    today = today or timezone.localdate()
    if first_day is None:
        raise InvalidInput.on("first_day", _("请填写开始日期"))
    if first_day < today:
        raise InvalidInput.on("first_day", _("开始日期不能早于今天"))
    if not 1 <= weeks <= MAX_WEEKS:
        raise InvalidInput.on("weeks", _("周数须在 1 到 {n} 之间").format(n=MAX_WEEKS))
    if not weekdays or any(not 0 <= d <= 6 for d in weekdays):
        raise InvalidInput.on("weekdays", _("请选择星期几"))
    if start is None:
        raise InvalidInput.on("start", _("请填写开始时间"))
    if end is None or end <= start:
        raise InvalidInput.on("end", _("结束时间须晚于开始时间"))
    if not 1 <= capacity <= MAX_CAPACITY:
        raise InvalidInput.on("capacity", _("名额须在 1 到 {n} 之间").format(n=MAX_CAPACITY))
    days = _series_days(first_day, weeks, weekdays)
    if len(days) > MAX_SLOTS:  # pragma: no cover - 12 weeks × 7 days stays below the cap
        raise InvalidInput.on("weeks", _("一次发布的时段过多"))
    starts = [(dt.datetime.combine(d, start, tzinfo=workdays.TZ), dt.datetime.combine(d, end, tzinfo=workdays.TZ))
              for d in days]
    have = set(Slot.objects.filter(offering=offering, starts_at__in=[s for s, _e in starts])
               .values_list("starts_at", flat=True))
    new = [Slot(offering=offering, area_path=offering.area_path, starts_at=s, ends_at=e, capacity=capacity)
           for s, e in starts if s not in have]
    Slot.objects.bulk_create(new)
    audit.record(actor=actor, action="cobuild.slot.create", obj=offering,
                 after={"slots": len(new), "first_day": first_day, "weeks": weeks, "weekdays": sorted(weekdays),
                        "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M"), "capacity": capacity})
    return len(new)


def _serves(org_path: str, person_path: str) -> bool:
    """Does an organisation at ``org_path`` serve a resident living at ``person_path``? It serves its own
    subtree; one inside her community (a compound's canteen) serves the whole community."""
    community = person_path[: 4 * Area.steplen]
    return person_path.startswith(org_path) or org_path.startswith(community)


def booking_create(*, actor: Any, slot: Slot, note: str = "", now: dt.datetime | None = None) -> Booking:
    """预约: a resident books one place of a slot. Full, past and twice-booked slots are refused."""
    person_id = person_of(actor)
    if person_id is None:
        raise Forbidden(_("请先完成居民身份登记后再预约"))
    person = Person.objects.select_related("area").get(pk=person_id)
    slot = Slot.objects.select_related("offering__org").get(pk=slot.pk)
    offering = slot.offering
    if not (offering.active and offering.org.active) or not _serves(offering.area_path, person.area.path):
        raise InvalidInput.on("slot", _("该服务不面向您所在的社区"))
    if slot.starts_at <= (now or timezone.now()):
        raise InvalidInput.on("slot", _("该时段已开始，不能预约"))
    note = bounded_text(note, "note", 200)
    with transaction.atomic():
        if Booking.objects.filter(slot=slot, person_id=person_id).exclude(state=BookingState.CANCELLED).exists():
            raise Conflict(_("您已预约过该时段"))
        if not take(Slot, slot.pk, "booked", "capacity"):
            raise Conflict(_("该时段已约满"))
        try:
            with transaction.atomic():
                booking = Booking.objects.create(slot=slot, person_id=person_id, area_path=slot.area_path, note=note)
        except IntegrityError:  # the same person booking twice at once: the constraint lets one through
            raise Conflict(_("您已预约过该时段")) from None
        audit.record(actor=actor, action="cobuild.booking.book", obj=booking,
                     after={"slot": slot.pk, "offering": offering.pk, "starts_at": slot.starts_at})
    return booking


def _booking_roles(actor: Any, booking: Booking) -> set[str]:
    """Which of the table's actors the caller is for this booking."""
    org = booking.slot.offering.org
    roles = set()
    if org.unit_id is not None and can_offer(actor, org.unit_id):
        roles.add(UNIT)
    if can_manage(actor, org.area_path):
        roles.add(MANAGER)
    if actor is not None and person_of(actor) == booking.person_id:
        roles.add(OWNER)
    return roles


def booking_step(*, actor: Any, booking: Booking, step: str, expected_version: int | None = None, reason: str = "",
                 rating: int | None = None, comment: str = "", now: dt.datetime | None = None) -> Booking:
    """接单 accept, 不接单 decline (reason), 完成服务 deliver, 取消 cancel (the place goes back), 评价 rate (1–5)."""
    booking = Booking.objects.select_related("slot__offering__org").get(pk=booking.pk)
    roles = _booking_roles(actor, booking)
    now = now or timezone.now()

    def authorise(t: Any) -> None:
        if not roles & t.actors:
            raise Forbidden(_("您不能对该预约执行此操作"))

    t, version, reason = BOOKING.check(booking, step, expected_version=expected_version, reason=reason,
                                       authorise=authorise)
    changes: dict[str, Any] = {}
    then: list[Any] = []
    slot = booking.slot
    if step == "cancel":
        if roles == {OWNER} and slot.starts_at <= now:
            raise InvalidInput.on("step", _("服务时段已开始，不能取消"))
        then.append(lambda: give_back(Slot, slot.pk, "booked"))
    elif step == "decline":
        then.append(lambda: give_back(Slot, slot.pk, "booked"))
    elif step == "deliver":
        if slot.starts_at.astimezone(workdays.TZ).date() > now.astimezone(workdays.TZ).date():
            raise InvalidInput.on("step", _("服务日期未到，不能登记完成"))
    elif step == "rate":
        if rating is None or not 1 <= rating <= 5:
            raise InvalidInput.on("rating", _("请给出 1 到 5 分的评价"))
        changes.update(rating=rating, comment=bounded_text(comment, "comment", 300))
    return BOOKING.apply(actor=actor, obj=booking, name=t.name, version=version, changes=changes, reason=reason,
                         then=then)
