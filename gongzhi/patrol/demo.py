"""Half a year of grid patrol in the demo city, so the due rounds and the figures mean something on first start.

Every grid gets a 每月重点巡访 plan open to its staff and a 每季度全面巡访 plan; the demo grid worker's grid also a
每天常态巡访 plan in her name. Past periods were mostly walked (some missed), with the checklist ticked and a few
households visited each time; today's daily round is left for her to start. Plans cover the first street's grids;
the first community's (where the demo accounts work) were walked, the street's other communities show as missed in
the figures. Rows are written in bulk (the registry's demo loader writes the one audit record for the load).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from django.contrib.auth import get_user_model

from gongzhi.core import workdays
from gongzhi.registry.models import Area, AreaKind, Person

from .models import (
    DEFAULT_CHECKLIST,
    Frequency,
    HouseholdVisit,
    PatrolCheck,
    PatrolPlan,
    PatrolRound,
    period_end,
    period_from_index,
    period_index,
)

NOTES = {
    "消防通道": "消防通道有私家车停放，已提醒车主挪车",
    "楼道堆物": "楼道内堆放纸箱和旧家具",
    "私搭乱建": "顶楼有住户搭建彩钢棚",
    "环境卫生": "垃圾桶满溢未及时清运",
    "公共设施": "单元门禁损坏",
    "独居老人": "独居老人反映行动不便，希望定期探望",
    "矛盾纠纷": "楼上楼下因漏水发生纠纷",
    "安全隐患": "电动车在楼道内充电",
}
VISIT_NOTES = ["家中一切正常", "了解家庭近况，无诉求", "宣传反诈知识", "老人身体尚可，子女每周探望",
               "反映楼道灯不亮", "询问医保办理流程，已解答"]


def load(*, size: str, seed: int, today: dt.date, progress: Callable[[str, float], None]) -> dict[str, int]:
    progress("网格巡查", 0.0)
    rng = random.Random(seed + 909)
    User = get_user_model()
    grid_user = User.objects.filter(username="grid").first()
    community_user = User.objects.filter(username="community").first()
    walker = community_user or grid_user
    first = Area.objects.filter(kind=AreaKind.GRID).order_by("path").first()
    if first is None or walker is None:
        return {"patrol_plans": 0, "patrol_rounds": 0}
    grids = list(Area.objects.filter(kind=AreaKind.GRID, path__prefix=first.path[:12]).order_by("path"))
    first_community = first.path[:16]
    demo_grid = first
    start = today - dt.timedelta(days=180)
    plans: list[PatrolPlan] = []
    for g in grids:
        plans.append(PatrolPlan(name="每月重点巡访", area=g, area_path=g.path, frequency=Frequency.MONTHLY,
                                checklist=DEFAULT_CHECKLIST, starts_on=start))
        plans.append(PatrolPlan(name="每季度全面巡访", area=g, area_path=g.path, frequency=Frequency.QUARTERLY,
                                checklist=DEFAULT_CHECKLIST, starts_on=start))
    if grid_user is not None:
        plans.append(PatrolPlan(name="每天常态巡访", area=demo_grid, area_path=demo_grid.path,
                                frequency=Frequency.DAILY, patroller=grid_user,
                                checklist=["消防通道", "楼道堆物", "环境卫生", "独居老人"],
                                starts_on=today - dt.timedelta(days=30)))
    PatrolPlan.objects.bulk_create(plans, batch_size=2000)
    walked = [p for p in plans if p.area_path.startswith(first_community)]
    people: dict[str, list[Person]] = {}
    for person in Person.objects.filter(area__kind=AreaKind.BUILDING).select_related("area").only(
            "pk", "area__path", "area__id")[:50_000]:
        people.setdefault(person.area.path[:len(demo_grid.path)], []).append(person)
    rounds: list[PatrolRound] = []
    for plan in walked:
        lo, hi = period_index(plan.frequency, plan.starts_on), period_index(plan.frequency, today)
        for i in range(lo, hi + 1):
            p_start = period_from_index(plan.frequency, i)
            current = i == hi
            if current and plan.frequency == Frequency.DAILY:
                continue  # today's round is hers to start
            if rng.random() < (0.25 if current else 0.12):
                continue  # missed (or not walked yet this period)
            who = plan.patroller or (grid_user if grid_user and plan.area_path == demo_grid.path else walker)
            assert who is not None
            p_end = period_end(plan.frequency, p_start)
            walked_on = min(p_start + dt.timedelta(days=rng.randint(0, max(0, (p_end - p_start).days))),
                            today - dt.timedelta(days=1) if not current else today)
            walked_on = max(walked_on, p_start)
            at = dt.datetime.combine(walked_on, dt.time(9, rng.randint(0, 59)), tzinfo=workdays.TZ)
            closed = not current or rng.random() < 0.5
            rounds.append(PatrolRound(plan=plan, area_id=plan.area_id, area_path=plan.area_path,
                                      period_start=p_start, period_end=p_end, patroller=who,
                                      state=PatrolRound.State.CLOSED if closed else PatrolRound.State.OPEN,
                                      started_at=at, closed_at=at + dt.timedelta(hours=2) if closed else None))
    progress("网格巡查", 0.5)
    PatrolRound.objects.bulk_create(rounds, batch_size=2000)
    checks: list[PatrolCheck] = []
    visits: list[HouseholdVisit] = []
    for rnd in rounds:
        closed = rnd.state == PatrolRound.State.CLOSED
        for pos, label in enumerate(rnd.plan.checklist):
            problem = rng.random() < 0.06
            status = (PatrolCheck.Status.PROBLEM if problem else PatrolCheck.Status.OK) if closed or pos < 2 \
                else PatrolCheck.Status.PENDING
            checks.append(PatrolCheck(round=rnd, position=pos, label=label, status=status,
                                      note=NOTES.get(label, "") if status == PatrolCheck.Status.PROBLEM else "",
                                      checked_at=rnd.started_at if status != PatrolCheck.Status.PENDING else None,
                                      area_path=rnd.area_path))
        here = people.get(rnd.area_path, [])
        n = {"daily": 2, "monthly": 8, "quarterly": 25}.get(rnd.plan.frequency, 3)
        for person in rng.sample(here, min(n, len(here))):
            problem = rng.random() < 0.05
            visits.append(HouseholdVisit(
                round=rnd, person=person, household_key=f"p{person.pk}", area=person.area,
                area_path=person.area.path, visited_on=rnd.started_at.astimezone(workdays.TZ).date(),
                note="反映楼道灯不亮，希望尽快维修" if problem else rng.choice(VISIT_NOTES), problem_found=problem,
                by=rnd.patroller))
    PatrolCheck.objects.bulk_create(checks, batch_size=5000)
    HouseholdVisit.objects.bulk_create(visits, batch_size=5000)
    progress("网格巡查", 1.0)
    return {"patrol_plans": len(plans), "patrol_rounds": len(rounds), "patrol_visits": len(visits)}
