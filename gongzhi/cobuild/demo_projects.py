"""A year of projects (四单), claims and deliveries for the demo city, built as the platform (``actor=None``).

Projects of each list type in each community of the first street go through :mod:`.services.projects` — opened,
claimed from the pool by units and in-service party members, reported, handed in, accepted — so every step is in
the audit log and obeys the declared tables; a few are left running past their 时限 (已超期). Deliveries are the
volume (a few hundred, with their volunteers' hours): written with ``bulk_create`` and one audit entry each, in one
INSERT per batch. Residents' ratings of accepted projects are bulk too (the totals moved with F()).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from gongzhi.core import audit
from gongzhi.core.errors import DomainError
from gongzhi.registry.models import AreaKind, MemberUnit, Person

from .models import Delivery, Kind, ListType, Participation, Project, ProjectRating
from .services import projects as services
from .workflow import ProjectState

# (list type, title, task, standard, target, measure, working days)
PROJECTS: list[tuple[str, str, str, str, int | None, str, int]] = [
    ("secretary", "书记领办：老旧小区停车秩序整治", "摸排车位、施划停车线、建立错时停车机制",
     "新增车位并经居民议事会确认", 60, "个", 60),
    ("key", "重点任务：党群服务中心功能提升", "改造一楼活动室为长者食堂和共享客厅",
     "通过街道验收并开放运营", 1, "处", 90),
    ("routine", "常规任务：网格员入户走访全覆盖", "网格员每月入户走访独居、困难老人",
     "走访率100%并建立台账", 100, "%", 40),
    ("livelihood", "民生实事：楼道加装扶手", "为无电梯老楼楼道加装扶手", "每栋楼每层装好并经居民试用", 8, "栋", 30),
    ("livelihood", "民生实事：小区路灯维修", "更换损坏路灯、加装太阳能庭院灯", "夜间照明全覆盖", 24, "盏", 20),
    ("committee", "大工委委员领办：青少年暑期托管", "联合驻区学校开设暑期托管班",
     "托管学生满意度90%以上", 60, "人", 45),
    ("commitment", "承诺事项：结对单位每季度义诊", "结对医院每季度进社区义诊一次",
     "全年义诊4次，每次服务50人以上", 4, "次", 120),
    ("micro", "微心愿：为独居老人更换燃气报警器", "为独居老人家庭安装燃气报警器", "全部安装并教会使用", 20, "户", 15),
    ("micro", "小实事：社区图书角图书更新", "募集并更新图书角图书", "新增图书300册", 300, "册", 20),
]
DELIVERIES: list[tuple[str, str, int, float]] = [
    (Kind.MEDICAL, "义诊进社区", 60, 3.0), (Kind.LEGAL, "法律咨询", 12, 2.0), (Kind.ELDERLY, "助老上门服务", 8, 2.5),
    (Kind.CULTURE, "文艺演出进社区", 150, 3.0), (Kind.SCIENCE, "科普讲座", 40, 2.0),
    (Kind.ENVIRONMENT, "环境卫生清理", 0, 2.0), (Kind.CHILDREN, "四点半课堂", 25, 2.0),
    (Kind.MEALS, "助餐送餐", 30, 1.5), (Kind.EDUCATION, "家庭教育讲座", 35, 1.5),
    (Kind.FACILITIES, "小区设施维修", 0, 3.0),
]
DELIVERIES_PER_COMMUNITY = 60
OTHER_COMMUNITIES = 30  # a lighter year in the first communities of the rest of the city
DELIVERIES_ELSEWHERE = 4
BATCH = 500


def _units_near(units: list[MemberUnit], community: Any) -> list[MemberUnit]:
    district = community.path[:8]
    return [u for u in units if u.area.path.startswith(district)] or units


def _day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, max((end - start).days, 0)))


def _walk(project: Project, *, today: dt.date, rng: random.Random, raters: list[Person]) -> str:
    """Take a project as far as its dates allow: started, reported, handed in, accepted (or left overdue)."""
    if project.state == ProjectState.OPEN and not project.list_type.claimable:
        project = services.project_step(actor=None, project=project, name="start")
    if project.state != ProjectState.IN_PROGRESS:
        return project.state
    elapsed = (today - project.starts_on).days
    span = max((project.due_on - project.starts_on).days, 1)
    share = min(elapsed / span, 1.0)
    if share > 0.2:
        value = (project.target_value or 0) * Decimal(str(round(share * .8, 2)))
        project = services.project_step(actor=None, project=project, name="report",
                                        text="已完成阶段性工作，正按计划推进", progress=min(int(share * 80), 90),
                                        achieved_value=value)
    if project.due_on >= today or rng.random() < 0.2:
        return project.state  # still running (or running late: 已超期)
    project = services.project_step(actor=None, project=project, name="deliver")
    if rng.random() < 0.15:
        return project.state  # waiting for the community's acceptance
    project = services.project_step(actor=None, project=project, name="accept", note="经社区现场验收，达到标准清单要求")
    done = min(project.due_on, today)
    Project.objects.filter(pk=project.pk).update(
        delivered_at=timezone.make_aware(dt.datetime.combine(done, dt.time(10))),
        accepted_at=timezone.make_aware(dt.datetime.combine(done, dt.time(16))), achieved_value=F("target_value"))
    if project.public and raters:
        picked = rng.sample(raters, k=min(len(raters), rng.randint(2, 8)))
        scores = [rng.choice((3, 4, 4, 5, 5, 5)) for _ in picked]
        ProjectRating.objects.bulk_create([ProjectRating(project=project, person=p, score=s)
                                           for p, s in zip(picked, scores, strict=True)])
        Project.objects.filter(pk=project.pk).update(rating_count=F("rating_count") + len(scores),
                                                      rating_total=F("rating_total") + sum(scores))
    return ProjectState.ACCEPTED


def _registered(community: Any) -> list[Person]:
    """In-service party members registered (双报到) with the community: they volunteer there."""
    return list(Person.objects.filter(party_member__registrations__community=community).distinct()[:40])


@transaction.atomic
def load(*, areas: Any, units: list[MemberUnit], people: list[Person], today: dt.date,
         rng: random.Random) -> dict[str, int]:
    year_start = dt.date(today.year, 1, 1)
    types = {t.code: t for t in ListType.objects.filter(active=True)}
    counts = {"cobuild_projects": 0, "cobuild_claims": 0, "cobuild_accepted": 0, "cobuild_deliveries": 0,
              "cobuild_participations": 0, "cobuild_teams": 0}
    residents = {c.path: [p for p in people if p.area.path.startswith(c.path)] for c in areas.focus}
    focus_projects: dict[str, list[Project]] = {}
    for community in areas.focus:
        near = _units_near(units, community)
        members = _registered(community)
        places = [community, *areas.compounds.get(community.path, [])[:3]]
        made = []
        for code, title, task, standard, target, measure, days in PROJECTS:
            list_type = types.get(code)
            if list_type is None:
                continue
            starts = _day(rng, year_start, today - dt.timedelta(days=10))
            try:
                project = services.project_open(
                    actor=None, area=rng.choice(places) if list_type.claimable else community, list_type=list_type,
                    title=title, task=task, standard=standard, target_value=target, target_measure=measure,
                    lead_unit=rng.choice(near) if near and not list_type.claimable else None,
                    units=rng.sample(near, k=min(2, len(near))) if code == "key" else (),
                    starts_on=starts, limit_days=days, public=code not in ("routine", "secretary"),
                    claim_limit=3 if code == "micro" else 1)
            except DomainError:
                continue
            Project.objects.filter(pk=project.pk).update(
                created_at=timezone.make_aware(dt.datetime.combine(starts, dt.time(9))))
            counts["cobuild_projects"] += 1
            made.append(project)
            if list_type.claimable and rng.random() < 0.75:
                claimants: list[tuple[MemberUnit | None, Person | None]] = [(u, None) for u in near[:5]]
                claimants += [(None, m) for m in members[:5]]
                rng.shuffle(claimants)
                for unit, person in claimants[:project.claim_limit]:
                    try:
                        services.claim_create(actor=None, project=Project.objects.get(pk=project.pk), unit=unit,
                                              person_for=person, pledge="按时保质完成，接受居民监督")
                        counts["cobuild_claims"] += 1
                    except DomainError:
                        continue
            state = _walk(Project.objects.select_related("list_type").get(pk=project.pk), today=today, rng=rng,
                          raters=residents.get(community.path, []))
            counts["cobuild_accepted"] += state == ProjectState.ACCEPTED
        focus_projects[community.path] = made
        team = services.team_create(actor=None, name=f"{community.name}志愿服务队", area=community)
        counts["cobuild_teams"] += 1
        for person in list(dict.fromkeys(members + residents.get(community.path, [])[:6]))[:10]:
            services.team_add_member(actor=None, team=team, person=person)
    # Deliveries: the volume, bulk.
    plan: list[tuple[Any, int]] = [(c, DELIVERIES_PER_COMMUNITY) for c in areas.focus]
    plan += [(c, DELIVERIES_ELSEWHERE) for c in areas.communities if c not in areas.focus][:OTHER_COMMUNITIES]
    rows: list[Delivery] = []
    helpers: list[list[tuple[Person, Decimal]]] = []
    for community, n in plan:
        near = _units_near(units, community)
        volunteers = list(dict.fromkeys(_registered(community) + residents.get(community.path, [])[:10]))
        projects = [p for p in focus_projects.get(community.path, []) if p.list_type.claimable]
        places = [community, *areas.compounds.get(community.path, [])[:3]]
        for _ in range(n):
            kind, title, served, hours = rng.choice(DELIVERIES)
            place = rng.choice(places)
            linked = rng.choice(projects) if projects and rng.random() < 0.2 else None
            if linked is not None and not place.path.startswith(linked.area_path):
                place = linked.area
            day = _day(rng, year_start, today)
            crew = rng.sample(volunteers, k=min(len(volunteers), rng.randint(1, 4))) if volunteers else []
            each = Decimal(str(hours))
            rows.append(Delivery(area=place, area_path=place.path, kind=kind, title=title, delivered_on=day,
                                 place=place.name if place.kind == AreaKind.COMPOUND else "党群服务中心",
                                 beneficiaries=served + rng.randint(0, served // 2 + 1), hours=each * max(len(crew), 1),
                                 unit=rng.choice(near) if near and rng.random() < 0.7 else None, project=linked))
            helpers.append([(p, each) for p in crew])
    Delivery.objects.bulk_create(rows, batch_size=BATCH)
    parts = [Participation(delivery=d, person=p, hours=h, area_path=d.area_path, delivered_on=d.delivered_on)
             for d, crew in zip(rows, helpers, strict=True) for p, h in crew]
    Participation.objects.bulk_create(parts, batch_size=BATCH)
    audit.record_many([audit.pending(actor=None, action="cobuild.delivery.create", obj=d, after={
        "title": d.title, "kind": d.kind, "delivered_on": d.delivered_on.isoformat(), "hours": str(d.hours),
        "participants": len(crew)}) for d, crew in zip(rows, helpers, strict=True)], batch_size=BATCH)
    counts["cobuild_deliveries"] = len(rows)
    counts["cobuild_participations"] = len(parts)
    return counts

