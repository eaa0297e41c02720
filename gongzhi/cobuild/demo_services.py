"""A year of service organisations, admission control and funds for the demo city.

Built through the services with ``actor=None`` (the platform) wherever a service exists for the step; bulk only
for history a service refuses on purpose (slots and bookings in the past — a resident cannot book yesterday), and
those bookings' states are walked along the declared BOOKING table with :meth:`Workflow.follow`.

- Each community of the first street: a 长者食堂 (午餐, weekdays 11:00–12:30) and a 家政/托育 organisation, with
  slots for the coming two weeks and eight weeks of past lunches booked by its residents (delivered and rated, a few
  cancelled or declined), plus some bookings already made for the coming days.
- Admission control: the first street's and district's 准入清单, requests from district departments (some admitted,
  some refused with the reason, one withdrawn, a few pending) filed over the year, and flags from communities.
- Funds: for every district a city rule (2万 per community + 0.2万 per 100 households) applied to every community,
  party-dues and donation budgets by hand for the focus communities, and spendings through the year.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.db.models import F

from gongzhi.core import workdays
from gongzhi.registry.models import MemberUnit, Person, Sector

from .models import AdmissionRequest, Booking, Budget, Kind, Slot, UnadmittedFlag
from .services import admission, bookings, funds
from .services.common import take
from .workflow import BOOKING, BookingState

PAST_WEEKS = 8

REQUESTS = [
    # kind, title, description, basis, admitted?, reason
    ("report", "困难群众动态管理台账", "每月更新低保、特困人员动态管理台账", "《社会救助暂行办法》", True,
     "属社区协助事项，纳入准入清单"),
    ("task", "老年人优待证代办", "社区代收老年人优待证申请材料", "市老龄办文件", True, "便民事项，准予进入"),
    ("report", "辖区商户经营情况统计表", "要求社区每月入户填报商户经营情况", "", False,
     "与市场监管系统数据重复，不予准入"),
    ("signoff", "居民无犯罪记录证明盖章", "要求社区为居民出具无犯罪记录证明", "", False,
     "不属于社区职责，证明事项清理范围"),
    ("meeting", "创城工作推进会", "要求每个社区两名干部每周参会", "", False, "会议过多，改为线上通报"),
    ("assessment", "社区消防安全检查考核", "按季度对社区开展消防安全检查并考核排名", "《消防法》", True,
     "纳入街道统一考核，不再单独考核"),
    ("report", "文明城市测评问卷入户", "社区组织居民填写测评问卷", "", False, "不得将测评任务转嫁社区"),
    ("task", "人口抽样调查入户登记", "协助统计部门入户登记", "《统计法》", True, "法定协助事项"),
]
FLAGS = [
    ("report", "区市场监管局", "要求社区填报食品经营户台账，未经准入"),
    ("meeting", "区城管局", "要求社区干部每周参加市容整治例会"),
    ("signoff", "某银行网点", "要求社区为居民开具收入证明"),
    ("assessment", "区文旅局", "对社区文化活动开展考核排名"),
]
SPENDINGS = [
    ("service", "重阳节敬老活动物资", "新华便民超市有限公司"),
    ("activity", "主题党日活动场地布置", "彩虹广告印刷部"),
    ("facility", "党群服务中心桌椅更新", "居家家具商行"),
    ("help", "困难家庭临时救助", "王秀英"),
    ("project", "楼道照明改造材料", "明亮五金商行"),
    ("service", "四点半课堂教辅材料", "新华书店"),
    ("activity", "邻里节文艺汇演", "社区文艺队"),
    ("help", "独居老人冬季取暖补贴", "李建国"),
]


def _at(day: dt.date, t: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, t, tzinfo=workdays.TZ)


def _walk(outcome: str) -> str:
    """The state after the steps a past booking took, walked on the declared table."""
    state = BOOKING.initial
    steps = {"rated": ["accept", "deliver", "rate"], "delivered": ["accept", "deliver"],
             "cancelled": ["cancel"], "declined": ["decline"]}[outcome]
    for name in steps:
        state = BOOKING.follow(state, name)
    return state


def _services(areas: Any, units: list[MemberUnit], people: list[Person], today: dt.date,
              rng: random.Random) -> dict[str, int]:
    orgs = slots = past = future = 0
    for community in areas.focus:
        residents = [p for p in people if p.area.path.startswith(community.path)]
        local = [u for u in units if u.area.path.startswith(community.path)]
        canteen = bookings.org_register(actor=None, area=community, name=f"{community.name}长者食堂", kind=Kind.MEALS,
                                        unit=local[0] if local else None, contact_phone="024-23456789")
        care = bookings.org_register(actor=None, area=community, name=f"{community.name}家政托育服务站",
                                     kind=Kind.CHILDREN, unit=local[1] if len(local) > 1 else None)
        orgs += 2
        lunch = bookings.offering_create(actor=None, org=canteen, title="老年助餐·午餐",
                                         description="两荤一素一汤，可预约送餐上门", price="12 元/餐，80 岁以上 8 元")
        nursery = bookings.offering_create(actor=None, org=care, title="婴幼儿托育（半日）",
                                           description="2–3 岁幼儿半日托育", price="60 元/半日")
        cleaning = bookings.offering_create(actor=None, org=care, title="家政保洁上门",
                                            description="2 小时日常保洁", price="50 元/小时")
        slots += bookings.slots_create(actor=None, offering=lunch, first_day=today, weeks=2, weekdays=[0, 1, 2, 3, 4],
                                       start=dt.time(11), end=dt.time(12, 30), capacity=30, today=today)
        slots += bookings.slots_create(actor=None, offering=nursery, first_day=today, weeks=2,
                                       weekdays=[0, 1, 2, 3, 4], start=dt.time(8, 30), end=dt.time(12),
                                       capacity=10, today=today)
        slots += bookings.slots_create(actor=None, offering=cleaning, first_day=today, weeks=2, weekdays=[5, 6],
                                       start=dt.time(9), end=dt.time(11), capacity=4, today=today)
        if not residents:
            continue
        # Past lunches (history: bulk, since a resident cannot book a day gone by).
        first = today - dt.timedelta(weeks=PAST_WEEKS)
        old = [Slot(offering=lunch, area_path=lunch.area_path, starts_at=_at(d, dt.time(11)),
                    ends_at=_at(d, dt.time(12, 30)), capacity=30)
               for d in (first + dt.timedelta(days=i) for i in range(PAST_WEEKS * 7)) if d.weekday() < 5]
        Slot.objects.bulk_create(old)
        rows: list[Booking] = []
        for slot in Slot.objects.filter(offering=lunch, starts_at__lt=_at(today, dt.time.min)):
            diners = rng.sample(residents, k=min(len(residents), rng.randint(6, 24)))
            taken = 0
            for person in diners:
                outcome = rng.choices(["rated", "delivered", "cancelled", "declined"], [60, 30, 7, 3])[0]
                state = _walk(outcome)
                live = state not in (BookingState.CANCELLED, BookingState.DECLINED)
                taken += live
                rows.append(Booking(slot=slot, person=person, area_path=slot.area_path, state=state,
                                    booked_at=slot.starts_at - dt.timedelta(days=rng.randint(1, 3)),
                                    rating=rng.choice([4, 5, 5, 5, 3]) if state == BookingState.RATED else None,
                                    comment=rng.choice(["饭菜可口", "分量足", "口味偏咸", "送餐准时", ""])
                                    if state == BookingState.RATED else ""))
            Slot.objects.filter(pk=slot.pk).update(booked=F("booked") + taken)
        Booking.objects.bulk_create(rows, batch_size=1000)
        past += len(rows)
        # The coming days: some places already taken (the counter through the same conditional UPDATE).
        ahead = []
        for slot in Slot.objects.filter(offering=lunch, starts_at__gte=_at(today + dt.timedelta(days=1),
                                                                           dt.time.min))[:5]:
            for person in rng.sample(residents, k=min(len(residents), rng.randint(3, 12))):
                if take(Slot, slot.pk, "booked", "capacity"):
                    ahead.append(Booking(slot=slot, person=person, area_path=slot.area_path))
        Booking.objects.bulk_create(ahead)
        future += len(ahead)
    return {"cobuild_service_orgs": orgs, "cobuild_slots": slots, "cobuild_bookings": past + future}


def _admission(areas: Any, units: list[MemberUnit], today: dt.date, rng: random.Random) -> dict[str, int]:
    if not areas.focus:
        return {}
    street = next(s for s in areas.streets if areas.focus[0].path.startswith(s.path))
    district = next(d for d in areas.districts if street.path.startswith(d.path))
    depts = [u for u in units if u.sector == Sector.ORGAN and (district.path.startswith(u.area.path)
                                                               or u.area.path.startswith(district.path))][:8]
    items = 0
    for kind, name, basis in (("task", "社区协助开展人口普查", "《统计法》"),
                              ("report", "居民基本信息台账", "民政部门规定"),
                              ("meeting", "社区党组织书记例会（每月一次）", "区委组织部文件")):
        admission.admitted_item_create(actor=None, area=district if kind == "meeting" else street, kind=kind,
                                       name=name, basis=basis)
        items += 1
    filed = admitted = refused = 0
    if depts:
        for i, (kind, title, description, basis, ok, reason) in enumerate(REQUESTS * 2):
            dept = depts[i % len(depts)]
            req = admission.request_file(actor=None, department=dept, area=street if i % 3 else district, kind=kind,
                                         title=title, description=description, basis=basis,
                                         communities=rng.randint(2, len(areas.focus) or 2))
            filed += 1
            when = today - dt.timedelta(days=rng.randint(3, 330))
            AdmissionRequest.objects.filter(pk=req.pk).update(filed_at=_at(when, dt.time(9, 30)))
            if i >= len(REQUESTS) + 5:  # the newest few still wait for a decision
                continue
            if i == len(REQUESTS):
                admission.request_step(actor=None, request=req, step="withdraw")
                continue
            req = admission.request_step(actor=None, request=req, step="admit" if ok else "refuse", reason=reason)
            admitted += ok
            refused += not ok
            AdmissionRequest.objects.filter(pk=req.pk).update(decided_at=_at(when + dt.timedelta(days=3),
                                                                              dt.time(15)))
    flags = 0
    for community in areas.focus:
        for kind, dept_name, description in rng.sample(FLAGS, k=2):
            flag = admission.flag_raise(actor=None, area=community, kind=kind, department_name=dept_name,
                                        description=description)
            flags += 1
            when = today - dt.timedelta(days=rng.randint(3, 200))
            UnadmittedFlag.objects.filter(pk=flag.pk).update(flagged_at=_at(when, dt.time(10)))
            if rng.random() < 0.6:
                admission.flag_handle(actor=None, flag=flag, note="街道已与该部门沟通，事项退回部门自行办理")
    return {"cobuild_admitted_items": items + admitted, "cobuild_admission_requests": filed,
            "cobuild_admission_refused": refused, "cobuild_flags": flags}


def _funds(areas: Any, today: dt.date, rng: random.Random) -> dict[str, int]:
    year = today.year
    budgets = spendings = 0
    for district in areas.districts:
        rule = funds.rule_create(actor=None, area=district, year=year, source="city", base_amount=Decimal("20000"),
                                 per_hundred_households=Decimal("2000"))
        budgets += funds.allocation_apply(actor=None, rule=rule)
    focus = {c.pk for c in areas.focus}
    for community in areas.communities:
        own = list(Budget.objects.filter(area=community, year=year))
        if community.pk in focus:
            own.append(funds.budget_create(actor=None, area=community, year=year, source="party_dues",
                                           amount=Decimal("5000"), note="党费补助"))
            own.append(funds.budget_create(actor=None, area=community, year=year, source="donation",
                                           amount=Decimal(rng.choice([3000, 5000, 8000])), note="驻区单位捐赠"))
            budgets += 2
        count = 8 if community.pk in focus else 3
        days = sorted(dt.date(year, 1, 1) + dt.timedelta(days=rng.randint(0, max((today - dt.date(year, 1, 1)).days,
                                                                                   0)))
                      for _ in range(count))
        for day in days:
            budget = rng.choice(own) if own else None
            if budget is None:
                break
            purpose, description, payee = rng.choice(SPENDINGS)
            budget.refresh_from_db()
            amount = min(Decimal(rng.randint(3, 40) * 100), budget.amount - budget.spent)
            if amount <= 0:
                continue
            funds.spending_record(actor=None, budget=budget, amount=amount, purpose=purpose,
                                  description=description, payee=payee, spent_on=day, today=today)
            spendings += 1
    return {"cobuild_budgets": budgets, "cobuild_spendings": spendings}


def load(*, areas: Any, units: list[MemberUnit], people: list[Person], today: dt.date,
         rng: random.Random) -> dict[str, int]:
    counts = _services(areas, units, people, today, rng)
    counts.update(_admission(areas, units, today, rng))
    counts.update(_funds(areas, today, rng))
    return counts
