"""A year of the demand and resource libraries for the demo city, built through the services with ``actor=None``
(the platform): units offer what they have (义诊 6 次/年, 场地 200 m² 周末, 法律咨询 2 小时/月, 共建资金…) to their
community or district, each community lists its needs, and about half the needs found a resource — proposed from
the suggestions, confirmed, some already completed and met."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.db.models import F

from gongzhi.registry.models import AreaKind, MemberUnit, Person

from .models import Kind, Need, OwnerKind, Urgency
from .selectors import library as selectors
from .services import library as services

# kind, title, capacity, measure, cadence, amount
RESOURCES: list[tuple[str, str, int, str, str, int | None]] = [
    (Kind.MEDICAL, "义诊进社区", 6, "次", "每年 6 次", None),
    (Kind.VENUE, "周末活动场地", 200, "平方米", "周末", None),
    (Kind.LEGAL, "法律咨询进社区", 24, "小时", "每月 2 小时", None),
    (Kind.FUNDS, "共建资金", 20000, "元", "每年一次", 20000),
    (Kind.EDUCATION, "四点半课堂辅导", 40, "次", "每周 1 次", None),
    (Kind.CULTURE, "文艺演出进社区", 4, "场", "每季度 1 场", None),
    (Kind.ELDERLY, "助老志愿服务", 120, "人次", "每月 10 人次", None),
    (Kind.SCIENCE, "科普讲座", 6, "次", "每两月 1 次", None),
    (Kind.EMPLOYMENT, "就业岗位推荐", 30, "个", "全年", None),
]

# kind, title, quantity, scale
NEEDS: list[tuple[str, str, int, str]] = [
    (Kind.MEDICAL, "独居老人上门义诊", 2, "受益约 40 位独居老人"),
    (Kind.VENUE, "居民文体活动场地", 100, "广场舞队 3 支约 60 人"),
    (Kind.LEGAL, "物业纠纷法律咨询", 4, "涉及 2 个小区"),
    (Kind.FUNDS, "老旧小区楼道照明改造", 5000, "12 个单元"),
    (Kind.EDUCATION, "双职工子女课后托管", 10, "约 25 名小学生"),
    (Kind.CULTURE, "重阳节文艺演出", 1, "预计观众 200 人"),
    (Kind.ELDERLY, "高龄老人助浴助洁", 20, "80 岁以上老人 18 位"),
    (Kind.SCIENCE, "防电信诈骗科普讲座", 2, "重点面向老年人"),
    (Kind.EMPLOYMENT, "失业人员再就业帮扶", 5, "登记失业人员 9 人"),
]

MAX_UNITS = 60


def _community_of(unit: MemberUnit, areas: Any) -> Any:
    path = unit.area.path
    for c in areas.communities:
        if path.startswith(c.path):
            return c
    return None


def load(*, areas: Any, units: list[MemberUnit], people: list[Person], today: dt.date,
         rng: random.Random) -> dict[str, int]:
    year_start, year_end = dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)
    focus_paths = tuple(c.path for c in areas.focus)
    # The units near the demo accounts first (those of the first street's communities), then district-level ones.
    near = [u for u in units if u.area.path.startswith(focus_paths)]
    wide = [u for u in units if u.area.kind in (AreaKind.CITY, AreaKind.DISTRICT, AreaKind.STREET)]
    chosen = list(dict.fromkeys(near + wide))[:MAX_UNITS]
    resources = 0
    for i, unit in enumerate(chosen):
        community = _community_of(unit, areas)
        offers = rng.sample(RESOURCES, k=min(len(RESOURCES), 2 + (i % 2)))
        for kind, title, capacity, measure, cadence, amount in offers:
            reach = [community] if community is not None else None  # None: the owner's street or own node
            if community is not None and rng.random() < 0.3:
                street = next((s for s in areas.streets if community.path.startswith(s.path)), None)
                reach = [street] if street is not None else reach
            services.resource_offer(
                actor=None, owner_kind=OwnerKind.UNIT, unit=unit, kind=kind, title=f"{unit.name[:20]}{title}",
                description=f"{unit.name}面向社区居民提供{title}。", capacity=capacity, measure=measure,
                cadence=cadence, amount=amount, valid_from=year_start, valid_until=year_end, reach=reach,
                today=today)
            resources += 1
    needs = matches = met = 0
    for community in areas.focus:
        places = [community, *areas.compounds.get(community.path, [])[:3]]
        for kind, title, quantity, scale in rng.sample(NEEDS, k=6):
            place = rng.choice(places)
            wanted = today + dt.timedelta(days=rng.randint(15, 150)) if rng.random() < 0.7 else None
            need = services.need_register(
                actor=None, area=place, kind=kind, title=title, scale=scale, quantity=quantity,
                beneficiaries=rng.randint(10, 200), urgency=rng.choice([Urgency.NORMAL] * 3 + [Urgency.URGENT]),
                wanted_by=wanted, description=f"{place.name}{title}，{scale}。", today=today)
            needs += 1
            # Registered over the past months (the date is history, not a state).
            Need.objects.filter(pk=need.pk).update(created_at=F("created_at") - dt.timedelta(days=rng.randint(5, 300)))
            if rng.random() < 0.5:
                continue
            found = selectors.suggest(need, 3, today=today)
            if not found:
                continue
            pick = found[0]
            amount = min(need.quantity, pick.left)
            match = services.match_propose(actor=None, need=need, resource=pick.resource, quantity=amount,
                                           side="need", note="社区根据推荐发起对接", today=today)
            services.match_confirm(actor=None, match=match, today=today)
            matches += 1
            if rng.random() < 0.5:
                match.refresh_from_db()
                services.match_complete(actor=None, match=match)
                need.refresh_from_db()
                services.need_step(actor=None, need=need, step="meet")
                met += 1
    return {"cobuild_resources": resources, "cobuild_needs": needs, "cobuild_matches": matches,
            "cobuild_needs_met": met}
