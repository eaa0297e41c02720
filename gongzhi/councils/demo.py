"""Councils at every level of the demo city with a year of meetings (东港's proportions: most items settled at their
own level, about one in seven moved up, most of those answered), some councils past their cadence."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from django.utils import timezone

from gongzhi.core import workdays
from gongzhi.registry.models import Area, AreaKind, Person

from .models import CADENCE_DAYS, AgendaItem, Council, CouncilMember, Meeting, MemberRole, Source, load_default_kinds
from .workflow import ItemState

S = ItemState
TOPICS = ["车辆出行难", "生活垃圾统一管理", "房屋漏雨维修", "老旧小区改造方案", "停车位规划", "消防通道占用整治",
          "物业费收缴率低", "电动车充电桩安装", "楼道照明维修", "健身设施添置", "绿化带修剪", "雨污管网改造",
          "独居老人助餐", "小区门禁升级", "广场舞噪音扰民", "违章搭建拆除"]
DECISIONS = ["由物业公司牵头，两周内完成整改，小区党支部督促落实", "申请老旧小区改造资金，列入年度计划",
             "社区协调驻区单位错时开放停车场", "成立居民志愿队，每周巡查一次", "业委会公示方案，征求业主意见后实施"]


def load(*, size: str, seed: int, today: dt.date, progress: Callable[[str, float], None]) -> dict[str, int]:
    rng = random.Random(seed + 404)
    tz = workdays.TZ
    light = size != "small"
    areas = list(Area.objects.filter(kind__in=[AreaKind.CITY, AreaKind.STREET, AreaKind.COMMUNITY, AreaKind.COMPOUND])
                 .order_by("path").only("pk", "path", "name", "kind"))
    load_default_kinds()  # the kinds the demo uses (a flushed test database has lost what the migration loaded)
    councils: list[Council] = []
    for a in areas:
        if a.kind == AreaKind.CITY and not light:
            councils.append(Council(name=f"{a.name}城市党的建设及基层治理联席会议", kind_id="joint_meeting",
                                    area=a, cadence="quarterly", created_on=dt.date(2024, 1, 1)))
        elif a.kind == AreaKind.STREET:
            councils.append(Council(name=f"{a.name}大工委联席会议", kind_id="working_committee", area=a,
                                    cadence="quarterly", created_on=dt.date(2024, 1, 1)))
        elif a.kind == AreaKind.COMMUNITY:
            councils.append(Council(name=f"{a.name}大党委联席会议", kind_id="party_committee", area=a,
                                    cadence="quarterly", created_on=dt.date(2024, 1, 1)))
            if not light:
                councils.append(Council(name=f"{a.name}三联办", kind_id="tripartite", area=a, cadence="weekly",
                                        procedure="six_steps", created_on=dt.date(2025, 6, 1)))
        elif a.kind == AreaKind.COMPOUND and not light and rng.random() < 0.35:
            councils.append(Council(name=f"{a.name}家园议事会", kind_id="homeland", area=a, cadence="monthly",
                                    procedure="homeland", created_on=dt.date(2025, 1, 1)))
    Council.objects.bulk_create(councils, batch_size=2000)

    # Conveners and members: people living in the council's area.
    people_by_community: dict[str, list[int]] = {}
    for pk, path in Person.objects.values_list("pk", "area__path")[:20000]:
        people_by_community.setdefault(path[:16], []).append(pk)
    members = []
    for c in councils:
        pool = people_by_community.get(c.area.path[:16]) or [p for ps in list(people_by_community.values())[:3]
                                                             for p in ps]
        for j, pid in enumerate(rng.sample(pool, min(len(pool), 5 if not light else 2))):
            role = MemberRole.CONVENER if j == 0 else (MemberRole.HOST if c.kind_id == "homeland" and j == 1
                                                       else MemberRole.MEMBER)
            members.append(CouncilMember(council=c, person_id=pid, role=role))
    CouncilMember.objects.bulk_create(members, batch_size=5000)
    conveners = {m.council_id: m.person_id for m in members if m.role == MemberRole.CONVENER}
    for c in councils:
        c.convener_id = conveners.get(c.pk)

    # A year of meetings; a few councils stopped meeting a while ago (overdue now).
    meetings: list[Meeting] = []
    per_council: dict[int, list[Meeting]] = {}
    for c in councils:
        step = CADENCE_DAYS[c.cadence]
        count = (4 if c.cadence == "quarterly" else 12 if c.cadence == "monthly" else 46)
        if light:
            count = min(count, 4)
        lapsed = rng.random() < 0.12
        start = today - dt.timedelta(days=step * (count + (2 if lapsed else 0)))
        for k in range(count):
            day = start + dt.timedelta(days=step * k + rng.randint(0, max(1, step // 4)))
            if day > today or day < c.created_on:
                continue
            m = Meeting(council=c, scheduled_for=dt.datetime.combine(day, dt.time(14, 30), tzinfo=tz),
                        place=f"{c.area.name}党群服务中心", held=True,
                        minutes=f"会议由召集人主持，听取各方意见，研究议题{rng.randint(2, 4)}项。")
            meetings.append(m)
            per_council.setdefault(c.pk, []).append(m)
        if per_council.get(c.pk):
            c.last_met_on = timezone.localtime(per_council[c.pk][-1].scheduled_for).date()
    Meeting.objects.bulk_create(meetings, batch_size=5000)
    Council.objects.bulk_update(councils, ["convener", "last_met_on"], batch_size=2000)
    progress("联席会议", 0.97)

    # Items: most settled at their own level; some moved up and (mostly) answered.
    by_path = {c.area.path: c for c in councils if c.kind_id in ("party_committee", "working_committee",
                                                                 "joint_meeting")}
    items: list[AgendaItem] = []
    escalations: list[tuple[AgendaItem, Council, bool]] = []
    for c in councils:
        parent = next((by_path[c.area.path[:n]] for n in range(len(c.area.path) - 4, 0, -4)
                       if c.area.path[:n] in by_path), None)
        for m in per_council.get(c.pk, []):
            n_items = 1 if light else (rng.randint(0, 1) if c.cadence == "weekly" else rng.randint(1, 3))
            for _ in range(n_items):
                title = rng.choice(TOPICS)
                created = m.scheduled_for - dt.timedelta(days=rng.randint(3, 20))
                item = AgendaItem(council=c, title=title, description=f"居民反映{title}问题，提请{c.name}研究。",
                                  source=rng.choice([Source.RESIDENT, Source.MEMBER]), meeting=m, created_at=created)
                if parent is not None and rng.random() < 0.14:
                    item.state, item.escalation_reason = S.ESCALATED, "涉及多方和资金，本级协调不了"
                    item.discussion, item.escalation_meeting = "各方意见不一，本级无法解决", m
                    escalations.append((item, parent, rng.random() < 0.82))
                else:
                    deadline = (m.scheduled_for + dt.timedelta(days=rng.randint(10, 40))).date()
                    done = deadline <= today or rng.random() < 0.5
                    item.state = S.DONE if done else S.DECIDED
                    item.decision, item.responsible, item.deadline = rng.choice(DECISIONS), "小区党支部", deadline
                    item.settled_at = m.scheduled_for
                    if done:
                        item.done_on = min(today, deadline - dt.timedelta(days=rng.randint(-6, 8)))
                items.append(item)
    AgendaItem.objects.bulk_create(items, batch_size=5000)
    twins = []
    for lower, parent, answered in escalations:
        twin = AgendaItem(council=parent, title=lower.title, description=lower.description, source=Source.ESCALATION,
                          escalated_from=lower, escalation_reason=lower.escalation_reason,
                          escalation_meeting=lower.escalation_meeting,
                          created_at=lower.meeting.scheduled_for + dt.timedelta(days=2) if lower.meeting else
                          lower.created_at, state=S.ANSWERED if answered else S.SCHEDULED)
        if answered:
            answer = f"{parent.name}研究决定：{rng.choice(DECISIONS)}"
            twin.answer = lower.answer = answer
            twin.settled_at = lower.settled_at = twin.created_at + dt.timedelta(days=rng.randint(5, 40))
            lower.state = S.ANSWERED
        twins.append(twin)
    AgendaItem.objects.bulk_create(twins, batch_size=5000)
    AgendaItem.objects.bulk_update([lower for lower, _p, _a in escalations], ["state", "answer", "settled_at"],
                                   batch_size=5000)
    progress("联席会议", 0.99)
    return {"councils": len(councils), "meetings": len(meetings), "agenda_items": len(items) + len(twins)}
