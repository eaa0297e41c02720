"""Councils at every level of the demo city with a year of meetings (东港's proportions: most items settled at their
own level, about one in seven moved up, most of those answered), some councils past their cadence."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass

from gongzhi.core import workdays
from gongzhi.registry.models import Area, AreaKind, Person

from .models import CADENCE_DAYS, AgendaItem, Council, CouncilMember, Meeting, MemberRole, Source, load_default_kinds
from .workflow import ItemState

S = ItemState


@dataclass(frozen=True)
class Topic:
    """One demo topic with what a council would decide on it, who carries it out, and what the parent council
    answers when it is moved up: a decision always belongs to its item."""

    title: str
    decision: str
    responsible: str
    answer: str


TOPICS: list[Topic] = [
    Topic("车辆出行难", "调整小区出入口车辆通行路线，高峰时段安排志愿者疏导", "社区居委会",
          "协调交警部门优化周边信号灯配时，增设临时停车泊位"),
    Topic("生活垃圾统一管理", "增设分类投放点两处，物业每日定时清运，党员志愿者督导分类", "物业服务企业",
          "由城管部门统筹调整清运线路，增加清运频次"),
    Topic("房屋漏雨维修", "物业一周内完成屋面勘查，动用专项维修资金修缮", "物业服务企业",
          "住建部门指导启用住宅专项维修资金，简化申请流程"),
    Topic("老旧小区改造方案", "征求全体业主意见后形成改造方案，申请老旧小区改造资金，列入年度计划", "社区党委",
          "纳入本年度老旧小区改造计划，由住建部门安排资金"),
    Topic("停车位规划", "重新施划停车位，社区协调驻区单位错时开放停车场", "社区居委会",
          "协调驻区单位停车场错时共享，规划新建停车场一处"),
    Topic("消防通道占用整治", "清理消防通道占用车辆，施划禁停标线，物业每日巡查", "物业服务企业",
          "由消防救援部门联合执法，对占用车辆依法处理"),
    Topic("物业费收缴率低", "业委会公示物业服务标准和收支情况，党员带头缴费，物业整改服务短板", "业主委员会",
          "住建部门督促物业企业落实服务标准，指导业委会开展评议"),
    Topic("电动车充电桩安装", "在小区北侧空地安装集中充电桩20个，由供电部门协助接电", "物业服务企业",
          "协调供电部门增容，安排充电设施建设补助"),
    Topic("楼道照明维修", "物业三日内更换损坏灯具，改用声控节能灯", "物业服务企业",
          "由街道统筹安排维修资金，统一更换节能灯具"),
    Topic("健身设施添置", "在中心广场添置健身器材一套，由驻区单位捐赠", "社区居委会",
          "由体育部门配送全民健身器材，安排安装"),
    Topic("绿化带修剪", "物业两周内完成绿化带修剪，小区党支部督促落实", "物业服务企业",
          "由园林部门安排专业队伍修剪沿街绿化带"),
    Topic("雨污管网改造", "委托专业单位勘查管网，制定雨污分流改造方案", "社区党委",
          "纳入全市雨污分流改造计划，由水务部门组织施工"),
    Topic("独居老人助餐", "依托社区食堂开设老年助餐点，志愿者为行动不便老人送餐", "社区居委会",
          "民政部门给予助餐补贴，将助餐点纳入养老服务网络"),
    Topic("小区门禁升级", "更换人脸识别门禁系统，费用由公共收益列支", "业主委员会",
          "公安部门指导建设智能门禁，接入智慧安防小区平台"),
    Topic("广场舞噪音扰民", "约定广场舞活动时段和音量，成立居民志愿队每周巡查一次", "社区居委会",
          "由文旅部门协调开放周边场地，分流健身队伍"),
    Topic("违章搭建拆除", "向当事人送达整改通知，限期自行拆除，逾期提请执法部门处理", "社区居委会",
          "由综合执法部门依法拆除，街道做好群众工作"),
]


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
            members.append(CouncilMember(council=c, person_id=pid, role=role, joined_on=c.created_on))
    CouncilMember.objects.bulk_create(members, batch_size=5000)
    conveners = {m.council_id: m.person_id for m in members if m.role == MemberRole.CONVENER}
    for c in councils:
        c.convener_id = conveners.get(c.pk)

    # A year of meetings with their items. Every meeting that was held has its attendance (the convener, who hosts,
    # always there; a member now and then absent) and minutes that speak of the items on its agenda; every decision
    # and answer is the one that belongs to its topic.
    members_of: dict[int, list[CouncilMember]] = {}
    for cm in members:
        members_of.setdefault(cm.council_id, []).append(cm)
    convener_name = dict(Person.objects.filter(pk__in=set(conveners.values())).values_list("pk", "name"))
    by_path = {c.area.path: c for c in councils if c.kind_id in ("party_committee", "working_committee",
                                                                 "joint_meeting")}
    meetings: list[Meeting] = []
    attendance: list[tuple[Meeting, CouncilMember]] = []
    items: list[AgendaItem] = []
    escalations: list[tuple[AgendaItem, Council, bool, Topic]] = []
    for c in councils:
        parent = next((by_path[c.area.path[:n]] for n in range(len(c.area.path) - 4, 0, -4)
                       if c.area.path[:n] in by_path), None)
        step = CADENCE_DAYS[c.cadence]
        count = (4 if c.cadence == "quarterly" else 12 if c.cadence == "monthly" else 46)
        if light:
            count = min(count, 4)
        lapsed = rng.random() < 0.12
        start = today - dt.timedelta(days=step * (count + (2 if lapsed else 0)))
        last: dt.date | None = None
        for k in range(count):
            day = start + dt.timedelta(days=step * k + rng.randint(0, max(1, step // 4)))
            if day > today or day < c.created_on:
                continue
            m = Meeting(council=c, scheduled_for=dt.datetime.combine(day, dt.time(14, 30), tzinfo=tz),
                        place=f"{c.area.name}党群服务中心", held=True)
            meetings.append(m)
            last = day
            roster = members_of.get(c.pk, [])
            came = [cm for cm in roster if cm.role in (MemberRole.CONVENER, MemberRole.HOST) or rng.random() < 0.85]
            attendance.extend((m, cm) for cm in came)
            n_items = 1 if light else (rng.randint(0, 1) if c.cadence == "weekly" else rng.randint(1, 3))
            said: list[str] = []
            for topic in rng.sample(TOPICS, n_items):
                created = m.scheduled_for - dt.timedelta(days=rng.randint(3, 20))
                item = AgendaItem(council=c, title=topic.title,
                                  description=f"居民反映{topic.title}问题，提请{c.name}研究。",
                                  source=rng.choice([Source.RESIDENT, Source.MEMBER]), meeting=m, created_at=created)
                if parent is not None and rng.random() < 0.14:
                    item.state, item.escalation_reason = S.ESCALATED, "涉及多方和资金，本级协调不了"
                    item.discussion, item.escalation_meeting = "各方意见不一，本级无法解决", m
                    escalations.append((item, parent, rng.random() < 0.82, topic))
                    said.append(f"关于{topic.title}，因涉及多方和资金，本级协调不了，会议决定提请{parent.name}研究解决。")
                else:
                    deadline = (m.scheduled_for + dt.timedelta(days=rng.randint(10, 40))).date()
                    done = deadline <= today or rng.random() < 0.5
                    item.state = S.DONE if done else S.DECIDED
                    item.decision, item.responsible, item.deadline = topic.decision, topic.responsible, deadline
                    item.settled_at = m.scheduled_for
                    if done:
                        item.done_on = min(today, deadline - dt.timedelta(days=rng.randint(-6, 8)))
                    said.append(f"关于{topic.title}，会议议定：{topic.decision}，由{topic.responsible}负责落实，"
                                f"{deadline.month}月{deadline.day}日前完成。")
                items.append(item)
            host = convener_name.get(c.convener_id or 0, "")
            opening = (f"会议由召集人{host}主持，应到{len(roster)}人，实到{len(came)}人。" if host else
                       f"会议应到{len(roster)}人，实到{len(came)}人。")
            m.minutes = "\n".join([opening + (f"会议研究了{len(said)}项议题。" if said else "本次会议无议题，"
                                               "通报了近期工作情况。"), *said])
        if last is not None:
            c.last_met_on = last
    Meeting.objects.bulk_create(meetings, batch_size=5000)
    Present = Meeting.present.through
    Present.objects.bulk_create([Present(meeting_id=m.pk, councilmember_id=cm.pk) for m, cm in attendance],
                                batch_size=5000)
    Council.objects.bulk_update(councils, ["convener", "last_met_on"], batch_size=2000)
    progress("联席会议", 0.97)

    # Items: most settled at their own level; some moved up and (mostly) answered.
    AgendaItem.objects.bulk_create(items, batch_size=5000)
    twins = []
    for lower, parent, answered, topic in escalations:
        twin = AgendaItem(council=parent, title=lower.title, description=lower.description, source=Source.ESCALATION,
                          escalated_from=lower, escalation_reason=lower.escalation_reason,
                          escalation_meeting=lower.escalation_meeting,
                          created_at=lower.meeting.scheduled_for + dt.timedelta(days=2) if lower.meeting else
                          lower.created_at, state=S.ANSWERED if answered else S.SCHEDULED)
        if answered:
            answer = f"{parent.name}研究决定：{topic.answer}"
            twin.answer = lower.answer = answer
            twin.settled_at = lower.settled_at = twin.created_at + dt.timedelta(days=rng.randint(5, 40))
            lower.state = S.ANSWERED
        twins.append(twin)
    AgendaItem.objects.bulk_create(twins, batch_size=5000)
    AgendaItem.objects.bulk_update([lower for lower, _p, _a, _t in escalations], ["state", "answer", "settled_at"],
                                   batch_size=5000)
    progress("联席会议", 0.99)
    return {"councils": len(councils), "meetings": len(meetings), "agenda_items": len(items) + len(twins)}
