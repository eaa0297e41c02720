"""Service sites' one write path (F3): every change to a site, its rooms, its bookings and its duty rota goes
through these functions, each atomic, each checking who may and validating before it writes, each audited.

- :func:`site_save` — a keeper of the area (``SITE_MANAGE``) adds or edits a site: where it stands (the area node and
  a point), its kind and tier, hours, the catalogue items its window handles.
- :func:`room_save` — a room that residents and units may book.
- :func:`booking_create` — any signed-in user books a room of any site for a time inside the site's hours; two
  bookings of one room never overlap (the room's row is locked while the overlap is checked, so two people racing
  for the same slot get one booking and one clear refusal). :func:`booking_cancel` through the declared table.
- :func:`duty_set` — who is on duty at the site on a day (轮值), staff of the registry.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.accounts.roles import Cap
from gongzhi.core import audit, workdays
from gongzhi.core.errors import Forbidden, InvalidInput, NotFound
from gongzhi.core.permissions import require
from gongzhi.core.scope import as_scope, scoped
from gongzhi.core.validators import text_in as _text
from gongzhi.core.validators import whole_number as _int
from gongzhi.registry.models import Area, MemberUnit, Person

from .models import DutyShift, Room, RoomBooking, Site, SiteKind, Tier
from .workflow import BOOKER, BOOKING, KEEPER, BookingState

MAX_BOOKING_HOURS = 8
MAX_DAYS_AHEAD = 60
MAX_ITEMS = 200
MAX_ON_DUTY = 20
SITE_FIELDS = ["name", "kind", "tier", "area", "address", "hours", "opens", "closes", "phone", "lon", "lat",
               "active"]


def _snap(site: Site) -> dict[str, Any]:
    return {k: v.strftime("%H:%M") if isinstance(v, dt.time) else v for k, v in
            audit.snapshot(site, SITE_FIELDS).items()}


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) else None


def _time(value: Any, field: str) -> dt.time:
    if isinstance(value, dt.time):
        return value
    try:
        return dt.time.fromisoformat(str(value or "").strip())
    except ValueError:
        raise InvalidInput.on(field, _("请填写时间（HH:MM）")) from None


def _coordinate(value: Any, field: str, lo: float, hi: float) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput.on(field, _("请填写数字")) from None
    if not lo <= number <= hi:
        raise InvalidInput.on(field, _("须在{lo}到{hi}之间").format(lo=lo, hi=hi))
    return number


def _site_values(data: dict[str, Any], current: Site | None) -> dict[str, Any]:
    def get(key: str, default: Any = "") -> Any:
        if key in data:
            return data[key]
        return getattr(current, key) if current is not None else default

    kind = str(get("kind") or "")
    if kind not in SiteKind.values:
        raise InvalidInput.on("kind", _("请选择阵地类型"))
    tier = str(get("tier") or "")
    if tier not in Tier.values:
        raise InvalidInput.on("tier", _("请选择阵地层级（片区级、社区级、驿站级）"))
    area_value = data.get("area", current.area_id if current is not None else None)
    area_id = getattr(area_value, "pk", area_value)
    if area_id in (None, "") or not str(area_id).isdigit():
        raise InvalidInput.on("area", _("请选择所在区域"))
    area = Area.objects.filter(pk=int(area_id)).first()
    if area is None:
        raise InvalidInput.on("area", _("区域不存在"))
    opens, closes = _time(get("opens", dt.time(8, 30)), "opens"), _time(get("closes", dt.time(20, 0)), "closes")
    if closes <= opens:
        raise InvalidInput.on("closes", _("关闭时间须晚于开放时间"))
    return {
        "name": _text(get("name"), "name", 100, required=True, message=_("请填写阵地名称")),
        "kind": kind, "tier": tier, "area": area, "area_path": area.path,
        "address": _text(get("address"), "address", 200), "hours": _text(get("hours"), "hours", 100),
        "opens": opens, "closes": closes, "phone": _text(get("phone"), "phone", 20),
        "lon": _coordinate(get("lon", None), "lon", 73, 136), "lat": _coordinate(get("lat", None), "lat", 3, 54),
        "active": bool(get("active", True)),
    }


@transaction.atomic
def site_save(*, actor: Any, data: dict[str, Any], site: Site | None = None, items: Any = None) -> Site:
    """Add (``site=None``) or edit a site. ``items``: the catalogue items its window handles (ids), or ``None`` to
    leave them. The keeper needs ``SITE_MANAGE`` where the site stands, before and after a move."""
    from gongzhi.govservice.models import ServiceItem

    if site is not None:
        site = Site.objects.select_for_update().get(pk=site.pk)
        require(actor, Cap.SITE_MANAGE, area_path=site.area_path)
    values = _site_values(data, site)
    require(actor, Cap.SITE_MANAGE, area_path=values["area_path"])
    item_ids: list[int] | None = None
    if items is not None:
        item_ids = sorted({int(getattr(i, "pk", i)) for i in items if str(getattr(i, "pk", i)).isdigit()})
        if len(item_ids) > MAX_ITEMS or ServiceItem.objects.filter(pk__in=item_ids).count() != len(item_ids):
            raise InvalidInput.on("items", _("可办事项不存在"))
    before = _snap(site) if site is not None else None
    if site is None:
        site = Site.objects.create(**values)
    else:
        for k, v in values.items():
            setattr(site, k, v)
        site.version += 1
        site.save()
    if item_ids is not None:
        site.items.set(item_ids)
    audit.record(actor=actor, action="sites.site.create" if before is None else "sites.site.update", obj=site,
                 before=before, after={**_snap(site),
                                       **({"items": item_ids} if item_ids is not None else {})})
    return site


@transaction.atomic
def room_save(*, actor: Any, site: Site, name: str, capacity: Any = 20, active: bool = True,
              room: Room | None = None) -> Room:
    require(actor, Cap.SITE_MANAGE, area_path=site.area_path)
    name = _text(name, "name", 50, required=True, message=_("请填写活动室名称"))
    size = _int(capacity, "capacity", 1, 1000)
    clash = Room.objects.filter(site=site, name=name)
    if room is not None:
        clash = clash.exclude(pk=room.pk)
    if clash.exists():
        raise InvalidInput.on("name", _("本阵地已有同名活动室"))
    created = room is None
    if room is None:
        room = Room.objects.create(site=site, name=name, capacity=size, active=active)
    else:
        room.name, room.capacity, room.active = name, size, active
        room.save()
    audit.record(actor=actor, action="sites.room.create" if created else "sites.room.update", obj=room,
                 after={"site": site.pk, "name": name, "capacity": size, "active": active})
    return room


def _moment(value: Any, field: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value or "").strip())
        except ValueError:
            raise InvalidInput.on(field, _("请填写时间（YYYY-MM-DD HH:MM）")) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=workdays.TZ)
    return moment


@transaction.atomic
def booking_create(*, actor: Any, room: Room, starts_at: Any, ends_at: Any, purpose: str, attendees: Any = 1,
                   contact: str = "", unit: MemberUnit | None = None, now: dt.datetime | None = None
                   ) -> RoomBooking:
    """Book ``room`` from ``starts_at`` to ``ends_at`` (one day, inside the site's hours, at most 8 hours, up to 60
    days ahead). A unit handler may book in her unit's name. Refused when the room is taken for any of that time."""
    if actor is None or not getattr(actor, "pk", None):
        raise Forbidden(_("请先登录"))
    now = now or timezone.now()
    start, end = _moment(starts_at, "starts_at"), _moment(ends_at, "ends_at")
    purpose = _text(purpose, "purpose", 200, required=True, message=_("请填写用途"))
    contact = _text(contact, "contact", 50)
    locked = Room.objects.select_for_update().select_related("site").filter(pk=room.pk).first()
    if locked is None:
        raise NotFound(_("活动室不存在"))
    room, site = locked, locked.site
    if not room.active or not site.active:
        raise InvalidInput.on("room", _("该活动室暂不开放预约"))
    people = _int(attendees, "attendees", 1, 1000)
    if people > room.capacity:
        raise InvalidInput.on("attendees", _("超过容纳人数（{n}人）").format(n=room.capacity))
    local_start, local_end = start.astimezone(workdays.TZ), end.astimezone(workdays.TZ)
    if start <= now:
        raise InvalidInput.on("starts_at", _("开始时间须晚于现在"))
    if start > now + dt.timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInput.on("starts_at", _("最多提前{n}天预约").format(n=MAX_DAYS_AHEAD))
    if end <= start:
        raise InvalidInput.on("ends_at", _("结束时间须晚于开始时间"))
    if local_end.date() != local_start.date() or end - start > dt.timedelta(hours=MAX_BOOKING_HOURS):
        raise InvalidInput.on("ends_at", _("一次预约限当天、不超过{n}小时").format(n=MAX_BOOKING_HOURS))
    if local_start.time() < site.opens or local_end.time() > site.closes:
        raise InvalidInput.on("starts_at", _("须在开放时间{a}–{b}内").format(a=site.opens.strftime("%H:%M"),
                                                                        b=site.closes.strftime("%H:%M")))
    if unit is not None and unit.pk not in as_scope(actor).unit_ids(Cap.VIEW):
        raise InvalidInput.on("unit", _("只能以本单位名义预约"))
    taken = RoomBooking.objects.filter(room=room, state=BookingState.BOOKED, starts_at__lt=end, ends_at__gt=start)
    clash = taken.order_by("starts_at").first()
    if clash is not None:
        a, b = clash.starts_at.astimezone(workdays.TZ), clash.ends_at.astimezone(workdays.TZ)
        raise InvalidInput.on("starts_at", _("该时段已被预约（{a}–{b}）").format(a=a.strftime("%H:%M"),
                                                                            b=b.strftime("%H:%M")))
    booking = RoomBooking.objects.create(room=room, area_path=site.area_path, starts_at=start, ends_at=end,
                                         purpose=purpose, attendees=people, booked_by=_user(actor), unit=unit,
                                         contact=contact, created_at=now)
    audit.record(actor=actor, action="sites.booking.create", obj=booking,
                 after={"room": room.pk, "starts_at": start.isoformat(), "ends_at": end.isoformat(),
                        "purpose": purpose, "unit": unit.pk if unit else None})
    return booking


def booking_roles(actor: Any, booking: RoomBooking) -> set[str]:
    roles = set()
    if actor is not None and booking.booked_by_id == getattr(actor, "pk", None):
        roles.add(BOOKER)
    if actor is None or as_scope(actor).can(Cap.SITE_MANAGE, area_path=booking.area_path):
        roles.add(KEEPER)
    return roles


@transaction.atomic
def booking_cancel(*, actor: Any, booking: RoomBooking, reason: str = "",
                   expected_version: int | None = None) -> RoomBooking:
    booking = RoomBooking.objects.select_for_update().get(pk=booking.pk)
    roles = booking_roles(actor, booking)

    def authorise(t: Any) -> None:
        if not roles & t.actors:
            raise Forbidden(_("只能取消自己的预约"))

    t, version, reason = BOOKING.check(booking, "cancel", expected_version=expected_version, reason=reason,
                                       authorise=authorise)
    return BOOKING.apply(actor=actor, obj=booking, name=t.name, version=version,
                         reason=_text(reason, "reason", 200))


@transaction.atomic
def duty_set(*, actor: Any, site: Site, day: Any, people: Any, duty: str = "") -> list[DutyShift]:
    """The rota of ``site`` on ``day``: exactly ``people`` (registry person ids the keeper may see) are on duty."""
    require(actor, Cap.SITE_MANAGE, area_path=site.area_path)
    if isinstance(day, str):
        try:
            day = dt.date.fromisoformat(day.strip())
        except ValueError:
            raise InvalidInput.on("day", _("请填写日期（YYYY-MM-DD）")) from None
    if not isinstance(day, dt.date):
        raise InvalidInput.on("day", _("请填写日期（YYYY-MM-DD）"))
    ids = sorted({int(getattr(p, "pk", p)) for p in people or [] if str(getattr(p, "pk", p)).isdigit()})
    if len(ids) > MAX_ON_DUTY:
        raise InvalidInput.on("people", _("每天最多{n}人值班").format(n=MAX_ON_DUTY))
    visible = set(scoped(actor, Person).filter(pk__in=ids).values_list("pk", flat=True)) if actor is not None \
        else set(Person.objects.filter(pk__in=ids).values_list("pk", flat=True))
    if visible != set(ids):
        raise InvalidInput.on("people", _("值班人员不存在"))
    duty = _text(duty, "duty", 50)
    before = sorted(DutyShift.objects.filter(site=site, day=day).values_list("person_id", flat=True))
    DutyShift.objects.filter(site=site, day=day).exclude(person_id__in=ids).delete()
    kept = set(DutyShift.objects.filter(site=site, day=day).values_list("person_id", flat=True))
    DutyShift.objects.bulk_create([DutyShift(site=site, area_path=site.area_path, day=day, person_id=p, duty=duty)
                                   for p in ids if p not in kept])
    if duty:
        DutyShift.objects.filter(site=site, day=day).update(duty=duty)
    audit.record(actor=actor, action="sites.duty.set", obj=site, before={"day": day.isoformat(), "people": before},
                 after={"day": day.isoformat(), "people": ids, "duty": duty})
    return list(DutyShift.objects.filter(site=site, day=day).select_related("person").order_by("person__name"))
