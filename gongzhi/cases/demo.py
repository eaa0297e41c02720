"""A year of cases in the demo city, so the workbench and the figures mean something on first start.

Cases are written in bulk with their audit trail (the timeline) as if they had travelled the pipeline: most closed at
the community, some escalated to the street or district, a few reopened, some still open or overdue. Titles come from
a small set of typical 物业/市容/设施 complaints written for the demo (no real messages are copied).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from django.contrib.auth import get_user_model

from gongzhi.core import workdays
from gongzhi.core.models import AuditEntry
from gongzhi.registry.models import Area, AreaKind, MemberUnit, Person

from . import rollup
from .models import Case, Category, Channel, Rating
from .workflow import TRANSITIONS

# (category code, title pattern, description pattern): {place} is a compound or building, {road} a road name.
TEMPLATES: list[tuple[str, str, str]] = [
    ("030602", "{place}楼道堆放杂物", "{place}楼道内长期堆放纸箱和旧家具，影响通行，存在消防隐患，请尽快清理。"),
    ("030602", "{place}垃圾清运不及时", "{place}垃圾桶已满溢两天无人清运，气味很大，请督促物业处理。"),
    ("030603", "{place}单元门门禁损坏", "{place}单元门禁坏了一周，外来人员随意进出，请维修。"),
    ("030603", "{place}电梯经常故障", "{place}电梯本月已停运三次，老人上下楼困难，请检修。"),
    ("030604", "{place}消防通道被占用", "{place}消防通道停满私家车，消防车无法通行，请处理。"),
    ("030605", "{place}车位被长期占用", "{place}地面车位被僵尸车长期占用，请协调清理。"),
    ("030608", "{place}物业服务不到位", "{place}物业保洁不及时、绿化无人修剪，居民意见较大。"),
    ("030302", "{road}路边垃圾堆积", "{road}人行道旁有大量建筑垃圾堆放，请及时清理。"),
    ("030303", "{place}楼顶私搭乱建", "{place}顶层住户在楼顶搭建彩钢房，存在安全隐患，请依法处理。"),
    ("030503", "{road}路面破损", "{road}路面有多处坑洼，雨天积水，行人和车辆通行不便。"),
    ("030501", "{road}路灯不亮", "{road}一段路灯晚上不亮，行人夜间出行不安全，请维修。"),
    ("030703", "{road}店外经营占道", "{road}沿街商铺在店外摆放货物占用人行道，请整治。"),
    ("030704", "{road}乱堆物堆料", "{road}路口有人长期堆放建材，影响通行。"),
    ("0902", "{place}独居老人需要帮扶", "{place}有一位独居老人行动不便，希望社区定期探望。"),
    ("030204", "{place}楼上漏水纠纷", "{place}楼上住户卫生间漏水至楼下，双方协商未果，请社区调解。"),
]
# Small jobs a party member or volunteer can take on (三河 领单): put in the pool of the first community.
POOL_TEMPLATES: list[tuple[str, str, str]] = [
    ("0902", "独居老人需要每周探望", "楼里一位独居老人行动不便，希望有党员或志愿者每周上门看看，帮忙买菜。"),
    ("030602", "单元门口小广告需要清理", "单元门和楼道墙面贴满小广告，希望志愿者帮忙清理。"),
    ("030608", "楼道灯需要更换灯泡", "三楼楼道灯坏了，晚上上下楼看不清，需要有人帮忙换个灯泡。"),
    ("030302", "小区绿地垃圾需要捡拾", "小区中心绿地有不少塑料袋和烟头，希望周末组织志愿者捡拾。"),
]
ROADS = ["滨河路", "胜利大街", "建设路", "文化路", "青年大街", "光明路", "和平街", "长青路"]


def load(*, size: str, seed: int, today: dt.date, progress: Callable[[str, float], None]) -> dict[str, int]:
    rng = random.Random(seed + 303)
    per_community = 150 if size == "small" else 20
    categories = {c.code: c for c in Category.objects.filter(code__in={t[0] for t in TEMPLATES})}
    communities = list(Area.objects.filter(kind=AreaKind.COMMUNITY).order_by("path"))
    compounds_by_community: dict[str, list[Area]] = {}
    for a in Area.objects.filter(kind__in=[AreaKind.COMPOUND, AreaKind.BUILDING]).only("pk", "path", "name", "kind"):
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
            code, title, text = rng.choice(TEMPLATES)
            category = categories[code]
            place = rng.choice(places)
            place_name = place.name
            if place.kind != AreaKind.COMPOUND:
                place_name = f"{_compound_name(place, places)}{place.name}"
            road = rng.choice(ROADS)
            created = now - dt.timedelta(days=age, hours=rng.uniform(0, 8))
            created = created.replace(microsecond=0)
            case = Case(
                title=title.format(place=place_name, road=road)[:100],
                description=text.format(place=place_name, road=road),
                channel=rng.choices([Channel.RESIDENT_APP, Channel.GRID_PATROL, Channel.HOTLINE, Channel.RECEPTION_DAY,
                                     Channel.WINDOW, Channel.VISIT], weights=[5, 3, 2, 1, 1, 1])[0],
                category=category, reporter_id=rng.choice(people) if people and rng.random() < 0.8 else None,
                area_id=place.pk, area_path=place.path, level=category.default_level,
                owner_path=place.path[:16], owner_area_id=area_ids[place.path[:16]], priority=category.priority,
                created_at=created, response_due_at=workdays.add_work_hours(created, category.response_hours),
            )
            trail = [("cases.case.submit", created, "", "")]
            _travel(case, category, rng, now, units, area_ids, trail)
            cases.append(case)
            trails.append(trail)
        if community.pk == communities[0].pk:
            # 领单: a few fresh cases in the first community wait in the pool, where the demo's party members,
            # volunteers and the department account (unit) see them under 可领单 and may claim them.
            for i, (code, title, text) in enumerate(POOL_TEMPLATES):
                category = categories.get(code) or next(iter(categories.values()))
                place = places[i % len(places)]
                created = (now - dt.timedelta(hours=2 + 5 * i)).replace(microsecond=0)
                accepted = created + dt.timedelta(minutes=40)
                case = Case(
                    title=title, description=text, channel=Channel.GRID_PATROL, category=category,
                    reporter_id=people[i % len(people)] if people else None, area_id=place.pk, area_path=place.path,
                    level="community", owner_path=community.path, owner_area_id=community.pk,
                    priority=category.priority, created_at=created, accepted_at=accepted,
                    claimable=True, response_due_at=workdays.add_work_hours(created, category.response_hours),
                )
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
