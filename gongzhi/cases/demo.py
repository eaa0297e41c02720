"""A year of cases in the demo city, so the workbench and the figures mean something on first start.

Cases are written in bulk with their audit trail (the timeline) as if they had travelled the pipeline: most closed at
the community, some escalated to the street or district, a few reopened, some still open or overdue. Each case's
title and description are written for its category (``demo_texts``: some sixty leaves of the tree that a city's
grassroots cases fall into, weighted towards what stays in the community), and the case is owned at its category's
default level, as intake routes it. No real messages are copied.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from shapely.geometry import Point, shape

from gongzhi.core import workdays
from gongzhi.core.models import AuditEntry
from gongzhi.registry.models import Area, AreaKind, MemberUnit, Person

from . import demo_texts, rollup
from .models import Case, Category, Channel, Rating
from .services import level_path
from .workflow import TRANSITIONS


def _point_in(boundary: dict[str, Any] | None, rng: random.Random) -> tuple[float | None, float | None]:
    """A point inside the place's outline, where the resident stood when she reported (None without an outline)."""
    if not boundary:
        return None, None
    polygon = shape(boundary)
    minx, miny, maxx, maxy = polygon.bounds
    for _ in range(20):
        point = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if polygon.contains(point):
            return round(point.x, 6), round(point.y, 6)
    centre = polygon.representative_point()
    return round(centre.x, 6), round(centre.y, 6)


def load(*, size: str, seed: int, today: dt.date, progress: Callable[[str, float], None]) -> dict[str, int]:
    rng = random.Random(seed + 303)
    where = random.Random(seed + 404)  # the reported points: a stream of its own, so the cases stay as they were
    per_community = 150 if size == "small" else 20
    categories = {c.code: c for c in Category.objects.filter(code__in=demo_texts.DEMO_CATEGORY_CODES)}
    available = set(categories)
    communities = list(Area.objects.filter(kind=AreaKind.COMMUNITY).order_by("path"))
    compounds_by_community: dict[str, list[Area]] = {}
    for a in Area.objects.filter(kind__in=[AreaKind.COMPOUND, AreaKind.BUILDING]).only("pk", "path", "name", "kind",
                                                                                                "boundary"):
        compounds_by_community.setdefault(a.path[:16], []).append(a)
    area_ids = dict(Area.objects.filter(depth__lte=4).values_list("path", "pk"))
    units = list(MemberUnit.objects.filter(area__depth=1).order_by("pk"))
    residents = list(Person.objects.filter(area__kind=AreaKind.BUILDING).values_list("pk", "area__path")[:5000])
    residents_by_community: dict[str, list[int]] = {}
    for pk, path in residents:
        residents_by_community.setdefault(path[:16], []).append(pk)
    User = get_user_model()
    actors = {u.username: u for u in User.objects.filter(username__in=["community", "grid", "dispatcher", "unit",
                                                                        "street", "district"])}
    tz = workdays.TZ
    now = dt.datetime.combine(today, dt.time(16, 0), tzinfo=tz)
    cases: list[Case] = []
    trails: list[list[tuple[str, dt.datetime, str, str]]] = []
    for community in communities:
        places = compounds_by_community.get(community.path) or [community]
        people = residents_by_community.get(community.path, [])
        # A year of history, and a few from the last days so the queues have work in them.
        ages = [rng.uniform(0, 365) for _ in range(per_community)] + [rng.uniform(0, 3) for _ in range(6)]
        for age in ages:
            code = demo_texts.pick_code(rng, available)
            category = categories[code]
            place = rng.choice(places)
            place_name = place.name
            if place.kind != AreaKind.COMPOUND:
                place_name = f"{_compound_name(place, places)}{place.name}"
            title, text = demo_texts.case_text(rng, code, place_name)
            created = now - dt.timedelta(days=age, hours=rng.uniform(0, 8))
            created = created.replace(microsecond=0)
            owner_path = level_path(place.path, category.default_level)  # as intake routes it (no rules yet)
            if owner_path not in area_ids:  # a category an administrator sent to the grids
                owner_path = community.path
            case = Case(
                title=title, description=text,
                channel=rng.choices([Channel.RESIDENT_APP, Channel.GRID_PATROL, Channel.HOTLINE, Channel.RECEPTION_DAY,
                                     Channel.WINDOW, Channel.VISIT], weights=[5, 3, 2, 1, 1, 1])[0],
                category=category, reporter_id=rng.choice(people) if people and rng.random() < 0.8 else None,
                area_id=place.pk, area_path=place.path, level=category.default_level,
                owner_path=owner_path, owner_area_id=area_ids[owner_path], priority=category.priority,
                created_at=created, response_due_at=workdays.add_work_hours(created, category.response_hours),
            )
            case.lng, case.lat = _point_in(place.boundary, where)
            trail = [("cases.case.submit", created, "", "")]
            _travel(case, category, rng, now, units, area_ids, trail)
            cases.append(case)
            trails.append(trail)
        if community.pk == communities[0].pk:
            # 领单: a few fresh cases in the first community wait in the pool, where the demo's party members,
            # volunteers and the department account (unit) see them under 可领单 and may claim them.
            for i in range(len(demo_texts.POOL_TEXTS)):
                place = places[i % len(places)]
                place_name = place.name
                if place.kind != AreaKind.COMPOUND:
                    place_name = f"{_compound_name(place, places)}{place.name}"
                code, title, text = demo_texts.pool_text(i, place_name)
                category = categories.get(code) or next(iter(categories.values()))
                created = (now - dt.timedelta(hours=2 + 5 * i)).replace(microsecond=0)
                accepted = created + dt.timedelta(minutes=40)
                case = Case(
                    title=title, description=text, channel=Channel.GRID_PATROL, category=category,
                    reporter_id=people[i % len(people)] if people else None, area_id=place.pk, area_path=place.path,
                    level="community", owner_path=community.path, owner_area_id=community.pk,
                    priority=category.priority, created_at=created, accepted_at=accepted,
                    claimable=True, response_due_at=workdays.add_work_hours(created, category.response_hours),
                )
                case.lng, case.lat = _point_in(place.boundary, where)
                trail = [("cases.case.submit", created, "", "")]
                _go(case, "accept", accepted, trail, "放入领单池")
                cases.append(case)
                trails.append(trail)
    progress("诉求", 0.92)
    Case.objects.bulk_create(cases, batch_size=2000)
    entries = []
    names = {"cases.case.submit": None, "cases.case.accept": "community", "cases.case.dispatch": "community",
             "cases.case.start": "unit", "cases.case.handle": "unit", "cases.case.verify": "grid",
             "cases.case.rate": None, "cases.case.reopen": None, "cases.case.escalate": "community",
             "cases.case.close": None, "cases.case.overdue": None}
    for case, trail in zip(cases, trails, strict=True):
        for action, at, reason, state in trail:
            who = actors.get(names.get(action) or "")
            entries.append(AuditEntry(
                at=at, actor=who, actor_name=who.get_username() if who else ("resident" if action in
                                                                              ("cases.case.submit", "cases.case.rate",
                                                                               "cases.case.reopen") else "system"),
                action=action, object_type="cases.case", object_id=str(case.pk), object_repr=case.title[:200],
                area_path=case.area_path, after={"state": state} if state else None, reason=reason,
            ))
    AuditEntry.objects.bulk_create(entries, batch_size=5000)
    rollup.rebuild()
    progress("诉求", 0.95)
    return {"cases": len(cases)}


def _compound_name(building: Area, places: list[Area]) -> str:
    parent = building.path[:-Area.steplen]
    return next((p.name for p in places if p.path == parent), "")


def _go(case: Case, name: str, at: dt.datetime, trail: list[tuple[str, dt.datetime, str, str]],
        reason: str = "") -> None:
    """One step of a generated history, taken through the declared table so the demo obeys the same graph."""
    case.state = TRANSITIONS.follow(case.state, name)
    trail.append((f"{TRANSITIONS.action_prefix}.{name}", at, reason, case.state))


def _travel(case: Case, category: Category, rng: random.Random, now: dt.datetime, units: list[MemberUnit],
            area_ids: dict[str, int], trail: list[tuple[str, dt.datetime, str, str]]) -> None:
    """Advance a bulk-built case through a plausible history, stopping where its age and luck say."""
    t = case.created_at + dt.timedelta(minutes=rng.randint(10, 300))
    if t > now:
        return
    case.accepted_at = t
    _go(case, "accept", t, trail)
    if rng.random() < 0.08 and category.default_level == "community":  # 小事不出社区… unless it cannot be settled
        t += dt.timedelta(hours=rng.randint(2, 48))
        case.level, case.owner_path = "street", case.area_path[:12]
        case.owner_area_id = area_ids[case.owner_path]
        case.escalation_count = 1
        _go(case, "escalate", t, trail, "涉及多方，社区协调不了")
    t += dt.timedelta(minutes=rng.randint(10, 240))
    if t > now:
        return
    case.dispatched_at = t
    if case.level != "community" or rng.random() < 0.4:
        case.assignee_unit = rng.choice(units)
    case.due_at = workdays.deadline(t, category.time_limit, category.limit_unit)
    _go(case, "dispatch", t, trail)
    t += dt.timedelta(hours=rng.randint(1, 20))
    if t > now:
        return
    _go(case, "start", t, trail)
    late = rng.random() < 0.06
    span = (case.due_at - case.dispatched_at) if case.due_at and case.dispatched_at else dt.timedelta(days=3)
    t = case.dispatched_at + span * (rng.uniform(1.1, 2.0) if late else rng.uniform(0.2, 0.95))
    if t > now:
        if case.due_at and case.due_at < now:
            case.overdue_at = case.due_at + dt.timedelta(minutes=5)
            trail.append(("cases.case.overdue", case.overdue_at, "", ""))
        return
    if late and case.due_at:
        case.overdue_at = case.due_at + dt.timedelta(minutes=5)
        trail.append(("cases.case.overdue", case.overdue_at, "", ""))
    case.handled_at = t
    case.feedback, case.resolved = "已现场处理完毕，并向反映人反馈。", rng.random() < 0.95
    _go(case, "handle", t, trail)
    t += dt.timedelta(hours=rng.randint(2, 30))
    if t > now:
        return
    case.verified_at = t
    _go(case, "verify", t, trail)
    t += dt.timedelta(hours=rng.randint(1, 48))
    if t > now:
        return
    if rng.random() < 0.03:
        case.reopen_count = 1
        _go(case, "reopen", t, trail, "问题反复出现")
        t += dt.timedelta(days=rng.randint(1, 3))
        _go(case, "start", t, trail)
        case.handled_at = t + dt.timedelta(hours=1)
        _go(case, "handle", case.handled_at, trail)
        case.verified_at = case.handled_at + dt.timedelta(hours=4)
        _go(case, "verify", case.verified_at, trail)
        t = case.verified_at + dt.timedelta(hours=6)
        if t > now:
            return
    roll = rng.random()
    # Mostly satisfied (天长: 98.94%); a dissatisfied verdict after rework is closed by the system, not reopened again.
    case.rating = Rating.SATISFIED if roll < 0.92 else Rating.BASIC if roll < 0.99 else Rating.DISSATISFIED
    case.closed_at, case.closed_level = t, case.level
    case.closed_on_time = case.due_at is None or case.handled_at <= case.due_at
    _go(case, "rate", t, trail)
