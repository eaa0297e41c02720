"""Half a year of credit points in the demo city (信用积分, 蓬莱), so 我的积分, the queue, the store and the figures
mean something on first start.

The first street's communities get rules (two set by the street for all its communities, the rest by each community)
and a store with a handful of items. Some residents of each community — and the demo resident 李秀兰 — claimed over
the last six months: older claims were mostly approved (a few refused at one step or another, with reasons; one
over the rule's cap refused at approval), the latest still wait at 采集, 评定 or 审核. Residents spent some of their
points in the store (most handed over, a few waiting, one cancelled with its refund). Claims walk the declared table
(:meth:`Workflow.follow`); the ledger is built in time order so every entry's balance is the running sum and each
account equals the sum of its entries. Rows are written in bulk (the registry's demo loader writes the one audit
record for the load). Deterministic: one seeded random.
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model

from gongzhi.core import workdays
from gongzhi.registry.models import Area, AreaKind, Person

from .models import (
    Channel,
    EntryKind,
    Period,
    PointAccount,
    PointClaim,
    PointEntry,
    PointRule,
    Redemption,
    StoreItem,
    period_bounds,
)
from .workflow import CLAIM, REDEMPTION, ClaimState

# name, points, period, cap, description; the first two are the street's, the rest each community's.
RULES: list[tuple[str, int, str, int, str]] = [
    ("参加志愿服务", 5, Period.MONTH, 20, "参加社区组织的志愿服务，每次2小时以上"),
    ("垃圾分类示范户", 10, Period.MONTH, 10, "经楼栋长推荐、网格员核实的垃圾分类示范户"),
    ("调解邻里纠纷", 8, Period.QUARTER, 24, "协助调解邻里矛盾纠纷并达成一致"),
    ("参加议事协商", 3, Period.MONTH, 9, "参加小区议事会、居民议事协商会"),
    ("文明楼栋创建", 5, Period.MONTH, 10, "参与楼道清理、文明楼栋创建活动"),
    ("见义勇为", 50, Period.YEAR, 100, "经社区认定的见义勇为、助人为乐事迹"),
]
ITEMS: list[tuple[str, int, int, str]] = [
    ("洗衣液（2kg）", 30, 40, ""), ("大米（5kg）", 80, 20, "东北长粒香"), ("毛巾", 15, 60, ""),
    ("理发券", 20, 30, "社区理发室使用"), ("雨伞", 40, 15, ""), ("食用油（1.8L）", 60, 20, ""),
]
DEEDS = {
    "参加志愿服务": ["参加社区环境整治志愿服务", "为独居老人送餐", "在核酸检测点维持秩序", "参加文明交通劝导"],
    "垃圾分类示范户": ["坚持垃圾分类，被评为本月示范户"],
    "调解邻里纠纷": ["协助调解楼上楼下漏水纠纷", "调解停车位争议"],
    "参加议事协商": ["参加小区议事会，讨论加装电梯", "参加居民议事协商会"],
    "文明楼栋创建": ["清理单元楼道堆物", "参与楼道粉刷"],
    "见义勇为": ["帮助走失老人找到家人"],
}
REFUSALS = {
    "refuse_collect": "经核实，当天未参加该活动",
    "refuse_decide": "议事会评议认为不符合该项目条件",
    "refuse_approve": "材料不全，请补充活动签到记录后重新申报",
}
PER_COMMUNITY = 30  # residents who claim, per community


def _at(day: dt.date, rng: random.Random, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour + rng.randint(0, 7), rng.randint(0, 59)), tzinfo=workdays.TZ)


def load(*, size: str, seed: int, today: dt.date, progress: Callable[[str, float], None]) -> dict[str, int]:
    progress("信用积分", 0.0)
    rng = random.Random(seed + 5150)
    User = get_user_model()
    staff = {u.username: u for u in User.objects.filter(username__in=["grid", "secretary", "community"])}
    first = Area.objects.filter(kind=AreaKind.COMMUNITY).order_by("path").first()
    if first is None:
        return {"point_rules": 0, "point_claims": 0}
    street = Area.objects.get(path=first.path[:-Area.steplen])
    communities = list(Area.objects.filter(kind=AreaKind.COMMUNITY, path__prefix=street.path).order_by("path"))

    rules: list[PointRule] = []
    for i, (name, points, period, cap, desc) in enumerate(RULES):
        for area in ([street] if i < 2 else communities):
            rules.append(PointRule(area=area, area_path=area.path, name=name, points=points, period=period, cap=cap,
                                   description=desc))
    PointRule.objects.bulk_create(rules)
    items: list[StoreItem] = []
    for c in communities:
        for name, price, stock, desc in ITEMS:
            items.append(StoreItem(area=c, area_path=c.path, name=name, price=price, stock=stock, description=desc))
    StoreItem.objects.bulk_create(items)
    rules_of: dict[str, list[PointRule]] = {
        c.path: [r for r in rules if c.path.startswith(r.area_path)] for c in communities}
    items_of: dict[str, list[StoreItem]] = defaultdict(list)
    for it in items:
        items_of[it.area_path].append(it)

    resident = Person.objects.filter(user__username="resident").select_related("area").first()
    people: list[Person] = []
    for c in communities:
        here = list(Person.objects.filter(area__kind=AreaKind.BUILDING, area__path__prefix=c.path)
                    .select_related("area").order_by("pk")[:400])
        people += rng.sample(here, min(PER_COMMUNITY, len(here)))
    if resident is not None and resident.pk not in {p.pk for p in people}:
        people.insert(0, resident)
    progress("信用积分", 0.3)

    collector, council, approver = staff.get("grid"), staff.get("secretary"), staff.get("community")
    start = today - dt.timedelta(days=180)
    claims: list[PointClaim] = []
    earned: dict[tuple[int, int, dt.date], int] = defaultdict(int)
    events: list[tuple[dt.datetime, int, str, Any]] = []  # (at, order, kind, payload)
    for person in people:
        community = person.area.path[:len(first.path)]
        options = rules_of.get(community, [])
        if not options:
            continue
        n = rng.randint(4, 9) if person is resident else rng.randint(1, 6)
        for _ in range(n):
            rule = rng.choice(options)
            occurred = start + dt.timedelta(days=rng.randint(0, 178))
            age = (today - occurred).days
            filed = _at(occurred + dt.timedelta(days=rng.randint(0, 2)), rng)
            by_self = rng.random() < 0.6
            claim = PointClaim(person=person, rule=rule, area=person.area, area_path=person.area.path,
                               occurred_on=occurred, description=rng.choice(DEEDS[rule.name]),
                               points_claimed=rule.points, points=rule.points,
                               channel=Channel.SELF if by_self else Channel.COLLECTOR,
                               filed_by=person.user if by_self and person.user_id else collector, created_at=filed)
            state = CLAIM.initial
            # How far it got: recent claims are still in the queue.
            steps = ["collect", "decide", "approve"]
            if age < 10:
                steps = steps[:rng.randint(0, 2)]
            refuse_at = rng.choice(["refuse_collect", "refuse_decide", "refuse_approve"]) \
                if len(steps) == 3 and rng.random() < 0.1 else None
            when = filed
            for name in steps:
                when = when + dt.timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 5))
                if refuse_at and refuse_at.endswith(name):
                    state = CLAIM.follow(state, refuse_at)
                    claim.refused_step, claim.refuse_reason = refuse_at, REFUSALS[refuse_at]
                    claim.refused_by = {"collect": collector, "decide": council, "approve": approver}[name]
                    break
                if name == "approve":
                    p_start, _end = period_bounds(rule.period, occurred)
                    key = (person.pk, rule.pk, p_start)
                    if earned[key] + claim.points > rule.cap:
                        state = CLAIM.follow(state, "refuse_approve")
                        claim.refused_step = "refuse_approve"
                        claim.refuse_reason = "超出本期积分上限"
                        claim.refused_by = approver
                        break
                    earned[key] += claim.points
                state = CLAIM.follow(state, name)
                if name == "collect":
                    claim.collected_by, claim.collected_at = collector, when
                    claim.collect_note = "情况属实" if rng.random() < 0.5 else ""
                elif name == "decide":
                    claim.decided_by, claim.decided_at = council, when
                    if rule.points > 5 and rng.random() < 0.15:
                        claim.points = rule.points - 2
                        claim.decide_note = "参与时间较短，酌情核减"
                else:
                    claim.approved_by, claim.approved_at = approver, when
            claim.state = state
            claims.append(claim)
            if state == ClaimState.APPROVED:
                events.append((claim.approved_at or when, 0, "earn", claim))
    PointClaim.objects.bulk_create(claims, batch_size=2000)
    progress("信用积分", 0.6)

    # The ledger in time order (earnings, spends decided on the balance at their moment, refunds), so every
    # entry's balance is the running sum.
    queue: list[tuple[dt.datetime, int, str, Any]] = []
    for seq, (at, _order, kind, claim) in enumerate(events):
        heapq.heappush(queue, (at, seq, kind, claim))
    seq = len(events)
    balances: dict[int, int] = defaultdict(int)
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # earned, spent
    entries: list[PointEntry] = []
    redemptions: list[Redemption] = []
    stock_taken: dict[int, int] = defaultdict(int)
    by_person = {p.pk: p for p in people}
    while queue:
        at, _seq, kind, payload = heapq.heappop(queue)
        if kind == "earn":
            claim = payload
            person = by_person[claim.person_id]
            balances[person.pk] += claim.points
            totals[person.pk][0] += claim.points
            entries.append(PointEntry(person=person, area_path=person.area.path, amount=claim.points,
                                      kind=EntryKind.EARN, balance_after=balances[person.pk], claim=claim,
                                      by=approver, at=at, note=f"{claim.rule.name} {claim.occurred_on:%Y-%m-%d}"))
            when = at + dt.timedelta(days=rng.randint(1, 10), hours=rng.randint(0, 6))
            if balances[person.pk] >= 15 and rng.random() < 0.35 and when.date() < today:
                seq += 1
                heapq.heappush(queue, (when, seq, "spend", person))
        elif kind == "spend":
            person = payload
            community = person.area.path[:len(first.path)]
            affordable = [i for i in items_of.get(community, [])
                          if i.price <= balances[person.pk] and stock_taken[i.pk] < i.stock]
            if not affordable:
                continue
            item = rng.choice(affordable)
            r = Redemption(person=person, item=item, area_path=item.area_path, quantity=1, points=item.price,
                           channel="self" if rng.random() < 0.6 else "counter", created_at=at,
                           by=person.user if person.user_id else staff.get("community"))
            state = REDEMPTION.initial
            roll = rng.random()
            if (today - at.date()).days > 3 and roll < 0.9:
                state = REDEMPTION.follow(state, "hand_over")
                r.handed_over_at, r.handed_by = at + dt.timedelta(hours=2), staff.get("community")
            elif roll >= 0.95:
                state = REDEMPTION.follow(state, "cancel")
                r.cancelled_at, r.cancel_reason = at + dt.timedelta(hours=1), "居民改换其他商品"
                seq += 1
                heapq.heappush(queue, (r.cancelled_at, seq, "refund", r))
            r.state = state
            redemptions.append(r)
            stock_taken[item.pk] += 1
            balances[person.pk] -= item.price
            totals[person.pk][1] += item.price
            entries.append(PointEntry(person=person, area_path=person.area.path, amount=-item.price,
                                      kind=EntryKind.SPEND, balance_after=balances[person.pk], redemption=r,
                                      by=r.by, at=at, note=f"{item.name} ×1"))
        else:
            r = payload
            person = r.person
            balances[person.pk] += r.points
            totals[person.pk][1] -= r.points
            stock_taken[r.item.pk] -= 1
            entries.append(PointEntry(person=person, area_path=person.area.path, amount=r.points,
                                      kind=EntryKind.REFUND, balance_after=balances[person.pk], redemption=r,
                                      by=staff.get("community"), at=at, note=f"取消兑换 {r.item.name} ×1"))
    Redemption.objects.bulk_create(redemptions, batch_size=2000)
    for e in entries:  # the redemptions have their ids now
        if e.redemption is not None:
            e.redemption_id = e.redemption.pk
    PointEntry.objects.bulk_create(entries, batch_size=5000)
    PointAccount.objects.bulk_create([
        PointAccount(person=by_person[pk], area_path=by_person[pk].area.path, balance=bal, earned=totals[pk][0],
                     spent=totals[pk][1]) for pk, bal in balances.items()], batch_size=2000)
    for it in items:
        if stock_taken[it.pk]:
            it.stock -= stock_taken[it.pk]
    StoreItem.objects.bulk_update([i for i in items if stock_taken[i.pk]], ["stock"], batch_size=1000)
    progress("信用积分", 1.0)
    return {"point_rules": len(rules), "point_claims": len(claims), "point_entries": len(entries),
            "redemptions": len(redemptions)}
