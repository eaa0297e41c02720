"""Four months of 月述月评 and one 交叉核查 in the demo city (督查考核, E6), so both pages mean something on first
start.

月述月评: the first street's working committee and its communities' committees report every month. The three months
before this one were submitted and reviewed (mostly 好/较好, a few 一般, one 差 with its note; one was returned once
and resubmitted); this month some have submitted, some keep a draft and some have not written yet, so the page shows
who is missing. The demo secretary wrote the first community's reports; the street official reviewed the
communities', the district official the street's.

交叉核查: the first community's team (the demo community worker and the secretary) checked the demo ``community2``'s
community a month ago, by reading the records and on site; its findings stand in every state — open, open past its
deadline, rectified and waiting, sent back, closed on time and closed late — with the rectifications of the 整改台账.
Rows walk the declared tables (:meth:`Workflow.follow`) and are written in bulk (the registry's demo loader writes
the one audit record for the load). Deterministic: one seeded random.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model

from gongzhi.core import workdays
from gongzhi.registry.models import Area, AreaKind, OrgLevel, PartyOrganisation, Sector

from .models import CrossCheck, Finding, MonthlyReport, Rectification, RectificationOutcome, Verdict
from .workflow import FINDING, REPORT

WORK = ["召开党委会{n}次，研究部署{topic}", "开展“三访民情”入户走访{m}户，收集问题{k}件",
        "组织主题党日活动，党员参与{m}人次", "推进{topic}，协调驻区单位{k}家共同参与",
        "落实“吹哨报到”，在职党员报到服务{m}人次"]
TOPICS = ["老旧小区改造", "垃圾分类", "物业服务提升", "加装电梯", "平安社区创建", "红色驿站建设"]
PROBLEMS = ["网格党支部活动不够规律", "部分在职党员报到后服务次数偏少", "居民议事会参与面不广", "台账资料归档不及时",
            "驻区单位资源对接不够精准"]
PLANS = ["每个网格党支部至少开展1次主题党日", "梳理在职党员服务清单，点单服务", "召开居民议事会，推进{topic}",
         "规范“三会一课”记录", "开展共驻共建项目对接会"]
NOTES = {Verdict.GOOD: "工作扎实，亮点突出", Verdict.FAIRLY_GOOD: "完成较好，问题分析可再深入",
         Verdict.AVERAGE: "工作一般，下月计划不够具体", Verdict.POOR: "多项重点任务未推进，需限期改进"}
# description, category, place, deadline (working days), how far it went, days after the check it was filed
FINDINGS: list[tuple[str, str, str, int, str]] = [
    ("党群服务中心未公示服务事项清单和办理时限", "position", "社区党群服务中心", 10, "closed"),
    ("“三会一课”记录不全，缺少两次支委会记录", "records", "社区党委", 5, "closed_late"),
    ("网格党支部书记对网格内困难群众底数不清", "organisation", "第1网格", 10, "returned"),
    ("居民议事会议定事项未跟踪落实", "rules", "", 15, "rectified"),
    ("红色驿站开放时间与公示不符", "service", "红色驿站", 5, "open_overdue"),
    ("在职党员报到服务登记表填写不规范", "records", "", 40, "open"),
]


def _at(day: dt.date, hour: int, rng: random.Random) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, rng.randint(0, 59)), tzinfo=workdays.TZ)


def _month_back(month: dt.date, n: int) -> dt.date:
    for _ in range(n):
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return month


def _reports(rng: random.Random, today: dt.date, users: dict[str, Any]) -> list[MonthlyReport]:
    first = Area.objects.filter(kind=AreaKind.COMMUNITY).order_by("path").first()
    if first is None:
        return []
    street = Area.objects.get(path=first.path[:-Area.steplen])
    orgs = list(PartyOrganisation.objects.filter(area__path__prefix=street.path,
                                                 area__kind__in=[AreaKind.STREET, AreaKind.COMMUNITY],
                                                 sector=Sector.COMMUNITY, unit__isnull=True)
                .exclude(level=OrgLevel.GROUP).select_related("area").order_by("area__path", "pk"))
    this = today.replace(day=1)
    rows: list[MonthlyReport] = []
    verdicts = [Verdict.GOOD] * 4 + [Verdict.FAIRLY_GOOD] * 4 + [Verdict.AVERAGE] * 2
    poor_given = False
    for back in (3, 2, 1, 0):
        month = _month_back(this, back)
        for i, org in enumerate(orgs):
            reviewer = users.get("district") if org.area.kind == AreaKind.STREET else users.get("street")
            author = users.get("secretary") if org.area_id == first.pk else None
            if back == 0:
                fate = ["submitted", "reviewed", "draft", "missing"][(i + rng.randint(0, 3)) % 4]
                if org.area_id == first.pk:
                    fate = "draft"  # the demo secretary has this month's report still to submit
                if fate == "missing":
                    continue
            else:
                fate = "reviewed"
            topic = rng.choice(TOPICS)
            r = MonthlyReport(
                organisation=org, area=org.area, area_path=org.area.path, month=month,
                work_done="；".join(t.format(n=rng.randint(2, 4), m=rng.randint(40, 300), k=rng.randint(3, 20),
                                             topic=topic) for t in rng.sample(WORK, 3)),
                problems=rng.choice(PROBLEMS), next_plan=rng.choice(PLANS).format(topic=topic), created_by=author,
                created_at=_at(month + dt.timedelta(days=24), 10, rng) if back else _at(today, 9, rng))
            state: str = REPORT.initial
            sent = _at(month + dt.timedelta(days=27), 15, rng) if back else _at(today, 10, rng)
            if fate in ("submitted", "reviewed"):
                state = REPORT.follow(state, "submit")
                r.submitted_by, r.submitted_at = author, sent
            if fate == "reviewed":
                if back == 2 and i == 1:  # returned once for a vaguer analysis, then resubmitted
                    state = REPORT.follow(state, "return")
                    r.return_reason, r.returned_by, r.returned_at = "问题分析不够具体，请补充原因", reviewer, sent
                    state = REPORT.follow(state, "submit")
                    r.submitted_at = sent + dt.timedelta(days=1)
                state = REPORT.follow(state, "review")
                verdict = rng.choice(verdicts)
                if not poor_given and back == 1 and i == len(orgs) - 1:
                    verdict, poor_given = Verdict.POOR, True
                r.verdict, r.review_note = verdict, NOTES[verdict]
                r.reviewed_by = reviewer
                r.reviewed_at = min((r.submitted_at or sent) + dt.timedelta(days=3), _at(today, 8, rng))
            r.state = state
            rows.append(r)
    MonthlyReport.objects.bulk_create(rows, batch_size=1000)
    return rows


def _check(rng: random.Random, today: dt.date, users: dict[str, Any]) -> tuple[int, int, int]:
    first = Area.objects.filter(kind=AreaKind.COMMUNITY).order_by("path").first()
    outsider = users.get("community2")
    inspected = None
    if outsider is not None:
        grant = outsider.grants.select_related("area").filter(area__kind=AreaKind.COMMUNITY).first()
        inspected = grant.area if grant else None
    if first is None or inspected is None or inspected.pk == first.pk:
        return 0, 0, 0
    team = [u for u in (users.get("community"), users.get("secretary")) if u is not None]
    checked_on = today - dt.timedelta(days=30)
    check = CrossCheck.objects.create(
        area=inspected, area_path=inspected.path, inspecting_area=first, inspecting_path=first.path,
        checked_on=checked_on, methods=["records", "site"], created_by=users.get("orgadmin"),
        summary=f"{first.name}核查组查阅{inspected.name}党建工作台账资料，实地查看党群服务中心、红色驿站，"
                f"走访居民10户", created_at=_at(checked_on, 17, rng))
    check.team.set(team)
    inspector = team[0] if team else None
    grids = list(Area.objects.filter(path__prefix=inspected.path, kind=AreaKind.GRID).order_by("path")[:3])
    findings: list[Finding] = []
    plans: list[list[tuple[str, dt.datetime, str, str]]] = []  # per finding: (outcome, filed_at, measures, note)
    for n, (description, category, place, days, fate) in enumerate(FINDINGS):
        created = _at(checked_on, 17, rng) + dt.timedelta(minutes=n)
        if fate == "open_overdue":
            days = 5
        area = grids[0] if place == "第1网格" and grids else inspected
        f = Finding(cross_check=check, area=area, area_path=area.path, inspecting_path=first.path,
                    description=description, category=category, place=place.replace("第1网格", area.name),
                    deadline_days=days, due_at=workdays.add_workdays(created, days), created_by=inspector,
                    created_at=created)
        state: str = FINDING.initial
        steps: list[tuple[str, dt.datetime, str, str]] = []
        if fate != "open" and fate != "open_overdue":
            filed = min(f.due_at + dt.timedelta(days=8) if fate == "closed_late" else created
                        + dt.timedelta(days=6), _at(today, 9, rng))
            state = FINDING.follow(state, "rectify")
            if fate == "returned":
                state = FINDING.follow(state, "send_back")
                steps.append((RectificationOutcome.SENT_BACK, filed, "已对网格内困难群众进行摸排",
                              "只摸排了部分楼栋，请全面摸底"))
            elif fate == "rectified":
                steps.append((RectificationOutcome.PENDING, filed, "建立议定事项跟踪台账，逐项明确责任人", ""))
            else:
                state = FINDING.follow(state, "verify")
                steps.append((RectificationOutcome.ACCEPTED, filed, "制作公示牌并补齐记录", "现场核实已整改到位"))
                f.closed_at = filed + dt.timedelta(days=1)
            f.rounds = 1
        f.state = state
        findings.append(f)
        plans.append(steps)
    Finding.objects.bulk_create(findings)
    rects = []
    for f, steps in zip(findings, plans, strict=True):
        for outcome, filed, measures, note in steps:
            done = outcome != RectificationOutcome.PENDING
            rects.append(Rectification(
                finding=f, area_path=f.area_path, measures=measures, completion_note="已完成整改，相关材料已归档",
                filed_by=outsider, filed_at=filed, outcome=outcome, verify_note=note,
                verified_by=inspector if done else None, verified_at=filed + dt.timedelta(days=1) if done else None))
    Rectification.objects.bulk_create(rects)
    return 1, len(findings), len(rects)


def load(*, size: str, seed: int, today: dt.date, progress: Callable[[str, float], None]) -> dict[str, int]:
    progress("督查考核", 0.0)
    rng = random.Random(seed + 6060)
    names = ["secretary", "street", "district", "community", "community2", "orgadmin"]
    users = {u.username: u for u in get_user_model().objects.filter(username__in=names)}
    reports = _reports(rng, today, users)
    progress("督查考核", 0.6)
    checks, findings, rects = _check(rng, today, users)
    progress("督查考核", 1.0)
    return {"monthly_reports": len(reports), "cross_checks": checks, "findings": findings, "rectifications": rects}
