"""Service sites of every tier across the demo city (F3–F4), so the directory, the rooms, the rota and the
15-minute circle mean something on first start.

Every street has its 片区级 党群服务中心 (every catalogue item at its window, three rooms); every community but a few
has its 社区级 党群服务中心 (the items any window may handle and those of the community tier, two rooms); a red
station (驿站级 红色驿站, the everyday items) stands in some grids, a 小区党群服务站 in some compounds. Points are the
centres of the areas' boundaries (the street's: of its first community's, where the street office is). Two
communities have no centre of their own yet, so the coverage page shows gaps. The coming week has bookings in the
first street's rooms and a duty rota at the first community's centre, with the demo community worker on it. Written
in bulk; deterministic: one seeded random.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

import shapely
from django.contrib.auth import get_user_model
from shapely.geometry import shape

from gongzhi.core import workdays
from gongzhi.govservice import services as govservice
from gongzhi.govservice.models import ServiceItem
from gongzhi.registry.models import Area, AreaKind, StaffPost

from .models import DutyShift, Room, RoomBooking, Site, SiteKind, Tier

STATION_ITEMS = {"MZ-001", "MZ-003", "MZ-004", "GA-001"}  # what a red station's volunteers help with
PURPOSES = ["党员活动日", "居民议事会", "老年大学书法课", "青少年四点半课堂", "志愿者培训", "楼栋长例会", "健康讲座"]
ROOMS: dict[str, list[tuple[str, int]]] = {Tier.ZONE: [("多功能厅", 80), ("党员教室", 40), ("会议室", 20)],
         Tier.COMMUNITY: [("活动室", 30), ("议事厅", 20)]}


def _centre(boundary: Any) -> tuple[float, float] | None:
    if not boundary:
        return None
    p = shapely.centroid(shape(boundary))
    return round(p.x, 6), round(p.y, 6)


def load(*, size: str, seed: int, today: dt.date, progress: Callable[[str, float], None]) -> dict[str, int]:
    progress("服务阵地", 0.0)
    rng = random.Random(seed + 1414)
    govservice.load_default_catalogue(actor=None)
    items = list(ServiceItem.objects.filter(active=True).order_by("code"))
    zone_items = items
    community_items = [i for i in items if i.anywhere]
    # Items of the community tier (残疾人证, 居住证) are handled at the zone centres and, so far, at a few
    # communities' centres: the coverage page shows whom that leaves outside the 15-minute circle.
    tier_items = [i for i in items if not i.anywhere and "community" in (i.tiers or [])]
    station_items = [i for i in items if i.code in STATION_ITEMS]
    communities = list(Area.objects.filter(kind=AreaKind.COMMUNITY).order_by("path").values_list(
        "pk", "path", "name", "boundary"))
    by_street: dict[str, list[Any]] = {}
    for c in communities:
        by_street.setdefault(c[1][:12], []).append(c)
    streets = list(Area.objects.filter(kind=AreaKind.STREET).order_by("path").values_list("pk", "path", "name"))
    rows: list[tuple[Site, list[ServiceItem]]] = []
    for pk, path, name in streets:
        members = by_street.get(path, [])
        # The 片区 centre stands in the street's first community (where the street office is), not at the middle.
        geoms = [shape(c[3]) for c in members[:1] if c[3]]
        point = shapely.centroid(shapely.union_all(geoms)) if geoms else None
        rows.append((Site(name=f"{name}党群服务中心", kind=SiteKind.PARTY_CENTRE, tier=Tier.ZONE, area_id=pk,
                          area_path=path, lon=round(point.x, 6) if point else None,
                          lat=round(point.y, 6) if point else None, address=f"{name}人民路{rng.randint(1, 300)}号",
                          hours="周一至周日 8:30–20:00", phone=f"0411-8{rng.randint(1000000, 9999999)}"),
                     zone_items))
    skipped = {communities[i][0] for i in (5, 11) if i < len(communities)}  # centres still being built
    for n, (pk, path, name, boundary) in enumerate(communities):
        if pk in skipped:
            continue
        centre = _centre(boundary)
        rows.append((Site(name=f"{name}党群服务中心", kind=SiteKind.PARTY_CENTRE, tier=Tier.COMMUNITY, area_id=pk,
                          area_path=path, lon=centre[0] if centre else None, lat=centre[1] if centre else None,
                          address=f"{name}幸福路{rng.randint(1, 200)}号", hours="周一至周六 8:30–17:30",
                          closes=dt.time(17, 30), phone=f"0411-8{rng.randint(1000000, 9999999)}"),
                     community_items + (tier_items if n % 5 == 0 else [])))
    share = 0.35 if size == "small" else 0.08
    for pk, path, name, boundary in Area.objects.filter(kind=AreaKind.GRID).order_by("path").values_list(
            "pk", "path", "name", "boundary"):
        if rng.random() >= share:
            continue
        centre = _centre(boundary)
        rows.append((Site(name=f"{name}红色驿站", kind=SiteKind.RED_STATION, tier=Tier.STATION, area_id=pk,
                          area_path=path, lon=centre[0] if centre else None, lat=centre[1] if centre else None,
                          hours="每日 9:00–18:00", opens=dt.time(9, 0), closes=dt.time(18, 0)), station_items))
    compounds = list(Area.objects.filter(kind=AreaKind.COMPOUND).order_by("path").values_list("pk", "path", "name"))
    for pk, path, name in compounds[: 12 if size == "small" else 200]:
        rows.append((Site(name=f"{name}小区党群服务站", kind=SiteKind.COMPOUND_STATION, tier=Tier.STATION,
                          area_id=pk, area_path=path, hours="每日 9:00–17:00", opens=dt.time(9, 0),
                          closes=dt.time(17, 0)), []))
    Site.objects.bulk_create([s for s, _i in rows], batch_size=1000)
    through = Site.items.through
    through.objects.bulk_create([through(site_id=s.pk, serviceitem_id=i.pk) for s, its in rows for i in its],
                                batch_size=5000)
    progress("服务阵地", 0.6)
    sites = [s for s, _i in rows]
    rooms = [Room(site=s, name=n, capacity=c) for s in sites if s.tier in ROOMS for n, c in ROOMS[s.tier]
             if size == "small" or s.area_path.startswith(sites[0].area_path)]
    Room.objects.bulk_create(rooms, batch_size=1000)
    bookings = _bookings(rng, today, rooms)
    shifts = _rota(today, sites)
    progress("服务阵地", 1.0)
    return {"sites": len(sites), "rooms": len(rooms), "room_bookings": bookings, "duty_shifts": shifts}


def _bookings(rng: random.Random, today: dt.date, rooms: list[Room]) -> int:
    """The coming week's bookings in the first street's rooms, some by the demo accounts."""
    if not rooms:
        return 0
    User = get_user_model()
    people = {u.username: u for u in User.objects.filter(username__in=["resident", "unit", "community"])}
    first_street = rooms[0].site.area_path[:12]
    out: list[RoomBooking] = []
    for room in rooms:
        if not room.site.area_path.startswith(first_street):
            continue
        for d in range(1, 8):
            day = today + dt.timedelta(days=d)
            hour = 9
            while hour < 17:
                if rng.random() < 0.35:
                    length = rng.choice([1, 2, 2, 3])
                    start = dt.datetime.combine(day, dt.time(hour, 0), tzinfo=workdays.TZ)
                    who = rng.choice([None, "resident", "unit", "community"])
                    out.append(RoomBooking(room=room, area_path=room.site.area_path, starts_at=start,
                                           ends_at=start + dt.timedelta(hours=length),
                                           purpose=rng.choice(PURPOSES), attendees=min(room.capacity, 15),
                                           booked_by=people.get(who) if who else people.get("community"),
                                           contact=""))
                    hour += length
                hour += 1
    RoomBooking.objects.bulk_create(out, batch_size=1000)
    return len(out)


def _rota(today: dt.date, sites: list[Site]) -> int:
    """Who is on duty at the first community's centre for the coming week: its community workers in turn."""
    site = next((s for s in sites if s.tier == Tier.COMMUNITY), None)
    if site is None:
        return 0
    staff = list(StaffPost.objects.filter(area_id=site.area_id).order_by("person_id")
                 .values_list("person_id", flat=True).distinct()[:6])
    if not staff:
        return 0
    out = []
    for d in range(7):
        day = today + dt.timedelta(days=d)
        if not workdays.is_workday(day) and d % 2:
            continue
        for k in range(2):
            person = staff[(d * 2 + k) % len(staff)]
            out.append(DutyShift(site=site, area_path=site.area_path, day=day, person_id=person,
                                 duty="全科受理" if k == 0 else "活动室管理"))
    DutyShift.objects.bulk_create(out, ignore_conflicts=True)
    return len(out)
