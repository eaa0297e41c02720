"""A year of 政务服务 in the demo city (F1–F2), so the window, the department queue, 我的办件 and the figures mean
something on first start.

The default catalogue is loaded through the same service a fresh install uses (目录管理 → 载入默认目录). Every
community's residents then applied through the year: most at their own community's window, about a fifth at
another window of the city (全市通办), about a tenth through their grid worker (帮办代办, with the consent recorded),
a few online. Older applications went the whole way — accepted (some with a material missing, 一次性告知, added a few
days later), decided by the department (mostly within the promised working days, a few late, a few refused with the
reason), issued and mostly rated 满意 or 非常满意; the rare 不满意 opened a rectification, most of them answered.
Recent ones stand in every open state so each queue has work in it. The demo resident 李秀兰 has one issued and not
yet rated and one waiting for a material she can add from her phone.

Rows walk the declared table (:meth:`Workflow.follow`) and are written in bulk (the registry's demo loader writes the
one audit record for the load). Deterministic: one seeded random.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model

from gongzhi.core import workdays
from gongzhi.registry.models import Area, AreaKind, Person
from gongzhi.sites.models import Site

from . import services
from .models import BAD_RATINGS, Application, ApplicationMaterial, Consent, IssueMethod, Rectification, ServiceItem
from .workflow import APPLICATION, ApplicationState, RectificationState

COMPLAINTS = ["窗口人员让我跑了两趟才办完", "等候时间太长，叫号不及时", "补正材料没有一次性告知清楚",
              "办结后没有电话通知，自己来问才知道"]
ANSWERS = ["已约谈窗口负责人，推行一次性告知书，向申请人致歉", "已增开高峰时段窗口，并回访申请人",
           "已规范办结短信通知，整改情况已向申请人反馈"]
REFUSALS = {"MZ-002": "家庭人均收入高于本市最低生活保障标准", "ZJ-001": "家庭名下已有住房，不符合申请条件",
            "SF-001": "申请事项不属于法律援助范围"}
TEXT_VALUES = {"bank_account": "6217000000001234", "income": "1200", "members": "3", "address": "幸福路12号",
               "reason": "租住本社区，需办理子女入学", "employer": "个体经营"}


def _at(day: dt.date, hour: int, rng: random.Random) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, rng.randint(0, 59)), tzinfo=workdays.TZ)


def _form(item: ServiceItem, rng: random.Random, day: dt.date) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in item.form_fields or []:
        if f["type"] == "choice":
            out[f["name"]] = rng.choice(f["choices"])
        elif f["type"] == "number":
            out[f["name"]] = rng.randint(1, 4) if "member" in f["name"] else rng.randint(800, 3000)
        elif f["type"] == "date":
            out[f["name"]] = (day - dt.timedelta(days=rng.randint(30, 900))).isoformat()
        else:
            out[f["name"]] = TEXT_VALUES.get(f["name"], f["label"] + "见附件")
    return out


class _Walk:
    """One application's life, walked step by step through the declared table, with its timestamps."""

    def __init__(self, app: Application, rng: random.Random, now: dt.datetime) -> None:
        self.app, self.rng, self.now = app, rng, now
        self.state: str = APPLICATION.initial

    def step(self, name: str) -> None:
        self.state = APPLICATION.follow(self.state, name)

    def run(self, clerk: Any, decider: Any, missing_one: list[str], stop_at: str | None) -> None:
        """Walk until ``stop_at`` (a state the application should be left in) or to the end."""
        app, rng = self.app, self.rng
        t = app.submitted_at
        if app.online:
            if stop_at == ApplicationState.SUBMITTED:
                return
            t = workdays.add_work_hours(t, rng.randint(1, 6))
        if rng.random() < 0.02 and stop_at is None:
            self.step("reject")
            app.refuse_reason, app.decided_at, app.decided_by = "不属于本事项办理范围，已告知向相关部门申请", t, clerk
            return
        app.clerk, app.accepted_at = clerk, t
        app.due_at = workdays.add_workdays(t, app.item.time_limit_days)
        paused = 0
        if missing_one and (rng.random() < 0.12 or stop_at == ApplicationState.AWAITING):
            self.step("accept_awaiting")
            app.missing, app.paused_at = missing_one, t
            app.correction_note = "请补交材料后再办理"
            if stop_at == ApplicationState.AWAITING:
                return
            back = workdays.add_workdays(t, rng.randint(1, 3))
            paused = workdays.workdays_between(t.astimezone(workdays.TZ).date(),
                                               back.astimezone(workdays.TZ).date())
            self.step("supplement")
            app.missing, app.paused_at, app.paused_days = [], None, paused
            app.due_at = workdays.add_workdays(app.due_at, paused)
            t = back
        else:
            self.step("accept")
        if stop_at == ApplicationState.PROCESSING:
            return
        limit = app.item.time_limit_days
        used = max(1, limit - rng.randint(0, max(limit - 1, 0))) if rng.random() < 0.94 else limit + rng.randint(1, 3)
        decided = workdays.add_workdays(t, used)
        if decided > self.now:
            decided = self.now - dt.timedelta(hours=1)
        refuse = app.item.code in REFUSALS and rng.random() < 0.15
        self.step("refuse" if refuse else "approve")
        app.approved, app.decided_by, app.decided_at = not refuse, decider, decided
        app.refuse_reason = REFUSALS.get(app.item.code, "") if refuse else ""
        app.working_days = max(workdays.workdays_between(app.accepted_at.astimezone(workdays.TZ).date(),
                                                         decided.astimezone(workdays.TZ).date()) - paused, 0)
        app.on_time = decided <= app.due_at
        if stop_at == ApplicationState.DECIDED:
            return
        self.step("issue")
        app.issued_at = min(workdays.add_work_hours(decided, rng.randint(1, 16)), self.now)
        app.issued_by = clerk
        app.issue_method = rng.choices([IssueMethod.COLLECTED, IssueMethod.DELIVERED, IssueMethod.MAILED],
                                       weights=[7, 2, 1])[0]
        if stop_at == ApplicationState.ISSUED or rng.random() < 0.25:
            return
        self.step("rate")
        app.rating = rng.choices([5, 4, 3, 2, 1], weights=[62, 28, 6, 3, 1])[0]
        app.rating_reason = rng.choice(COMPLAINTS) if app.rating in BAD_RATINGS else ""
        app.rated_at = min(app.issued_at + dt.timedelta(hours=rng.randint(1, 48)), self.now)


def load(*, size: str, seed: int, today: dt.date, progress: Callable[[str, float], None]) -> dict[str, int]:
    progress("政务服务", 0.0)
    rng = random.Random(seed + 1313)
    services.load_default_catalogue(actor=None)
    items = list(ServiceItem.objects.filter(active=True).select_related("department").prefetch_related("materials")
                 .order_by("code"))
    if not items:
        return {"service_items": 0, "applications": 0}
    per_community = 40 if size == "small" else 3
    User = get_user_model()
    users = {u.username: u for u in User.objects.filter(
        username__in=["community", "community2", "grid", "unit", "resident"])}
    communities = list(Area.objects.filter(kind=AreaKind.COMMUNITY).order_by("path"))
    residents: dict[str, list[tuple[int, int | None]]] = {}
    for pk, path, birth in (Person.objects.filter(area__kind=AreaKind.BUILDING, user__isnull=True)
                            .values_list("pk", "area__path", "birth_year").order_by("pk")[:20000]):
        residents.setdefault(path[:16], []).append((pk, birth))
    # Windows (the sites' demo runs first): the community's own 党群服务中心 mostly, some at the street's 片区级
    # centre, some at a red station of the community (驿站级).
    sites_by_area = {s.area_id: s for s in Site.objects.filter(active=True, tier="community").order_by("pk")}
    zone_by_street = {s.area_path: s for s in Site.objects.filter(active=True, tier="zone").select_related("area")}
    stations: dict[str, list[Site]] = {}
    for st in Site.objects.filter(active=True, kind="red_station").select_related("area").order_by("pk"):
        stations.setdefault(st.area_path[:16], []).append(st)
    # The demo's own accounts took the steps where they hold the role, so their pages show their work.
    clerks = {a.area_id: u for u in (users.get("community"), users.get("community2")) if u is not None
              for a in u.grants.all() if a.area_id}
    deciders = {g.unit_id: u for u in (users.get("unit"),) if u is not None for g in u.grants.all() if g.unit_id}
    now = dt.datetime.combine(today, dt.time(16, 0), tzinfo=workdays.TZ)
    walks: list[tuple[Application, list[str], set[int]]] = []
    for n, community in enumerate(communities):
        people = residents.get(community.path, [])
        if not people:
            continue
        for _i in range(per_community):
            pk, birth = rng.choice(people)
            choices = [i for i in items if not i.min_age or (birth and today.year - birth >= i.min_age)]
            item = rng.choice(choices)
            age = rng.uniform(0, 365)
            day = today - dt.timedelta(days=int(age))
            if not workdays.is_workday(day):
                day = min(workdays.next_workday(day), today)
            submitted = min(_at(day, rng.randint(9, 16), rng), now - dt.timedelta(minutes=30))
            window = community
            roll = rng.random()
            if roll < 0.2 and len(communities) > 1 and item.anywhere:
                window = rng.choice([c for c in communities if c.pk != community.pk])
            agent = users.get("grid") if n == 0 and 0.2 <= roll < 0.3 else None
            on_behalf = agent is not None or 0.2 <= roll < 0.3
            online = not on_behalf and 0.3 <= roll < 0.38
            if not item.anywhere:
                window = community
            site = sites_by_area.get(window.pk)
            elsewhere = rng.random()
            if window.pk == community.pk and not online and elsewhere < 0.15 and community.path[:12] in zone_by_street:
                site = zone_by_street[community.path[:12]]
                window = site.area
            elif (window.pk == community.pk and not online and elsewhere < 0.25 and stations.get(community.path)
                  and item.anywhere):
                site = rng.choice(stations[community.path])
                window = site.area
            app = Application(
                item=item, department_id=item.department_id, applicant_id=pk, area=community,
                area_path=community.path, window_area=window if not online else community,
                window_path=(window if not online else community).path, site=None if online else site,
                site_tier=getattr(site, "tier", "") if site and not online else "",
                tongban=not online and not window.path.startswith(community.path)
                and not community.path.startswith(window.path), online=online,
                agent=agent, consent=rng.choice(Consent.values) if on_behalf else "",
                consent_note="本人行动不便，委托网格员代办" if on_behalf else "",
                form_data=_form(item, rng, day), submitted_at=submitted)
            if item.tiers and site is not None and site.tier not in item.tiers:
                app.site, app.site_tier = None, ""
            required = [m.name for m in item.materials.all() if m.required]
            missing = [rng.choice(required)] if required else []
            limit_days = item.time_limit_days
            open_window = workdays.add_workdays(submitted, limit_days + 2) > now
            stop: str | None = None
            if open_window and online and rng.random() < 0.6:
                stop = ApplicationState.SUBMITTED  # applied from the phone, the window has not looked yet
            elif open_window:
                stop = rng.choice([ApplicationState.PROCESSING, ApplicationState.PROCESSING,
                                   ApplicationState.AWAITING, ApplicationState.DECIDED, None])
            walk = _Walk(app, rng, now)
            walk.run(clerks.get(window.pk), deciders.get(item.department_id), missing, stop)
            app.state = walk.state
            walks.append((app, app.missing, {m.pk for m in item.materials.all()}))
        progress("政务服务", 0.8 * (n + 1) / len(communities))
    _resident(rng, items, users.get("resident"), today, now, walks)
    Application.objects.bulk_create([a for a, _m, _ids in walks], batch_size=1000)
    materials: list[ApplicationMaterial] = []
    rectifications: list[Rectification] = []
    for app, missing, _ids in walks:
        for m in app.item.materials.all():
            given = m.name not in missing and (m.required or rng.random() < 0.5)
            materials.append(ApplicationMaterial(
                application=app, material=m, name=m.name, provided=given,
                original_seen=given and m.original_required and not app.online,
                provided_at=app.submitted_at if given else None))
        if app.rating in BAD_RATINGS:
            answered = rng.random() < 0.7
            rectifications.append(Rectification(
                application=app, area_path=app.area_path, department_id=app.department_id,
                complaint=app.rating_reason, created_at=app.rated_at or now,
                state=RectificationState.ANSWERED if answered else RectificationState.OPEN,
                answer=rng.choice(ANSWERS) if answered else "",
                answered_at=app.rated_at + dt.timedelta(days=rng.randint(1, 4)) if answered and app.rated_at
                else None))
    ApplicationMaterial.objects.bulk_create(materials, batch_size=2000)
    Rectification.objects.bulk_create(rectifications, batch_size=500)
    progress("政务服务", 1.0)
    return {"service_items": len(items), "applications": len(walks), "application_materials": len(materials),
            "service_rectifications": len(rectifications)}


def _resident(rng: random.Random, items: list[ServiceItem], user: Any, today: dt.date, now: dt.datetime,
              walks: list[tuple[Application, list[str], set[int]]]) -> None:
    """李秀兰: one issued and waiting for her rating, one waiting for the material she can add from her phone."""
    person = Person.objects.filter(user=user).select_related("area").first() if user is not None else None
    if person is None:
        return
    home = services.home_community(person.area)
    clerk = get_user_model().objects.filter(username="community").first()
    for code, stop, back in (("GA-001", ApplicationState.ISSUED, 12), ("MZ-004", ApplicationState.AWAITING, 1)):
        item = next((i for i in items if i.code == code), None)
        if item is None:
            continue
        day = workdays.next_workday(today - dt.timedelta(days=back)) if back > 1 else today
        submitted = min(_at(day, 9, rng), now - dt.timedelta(hours=2))
        app = Application(item=item, department_id=item.department_id, applicant=person, area=home,
                          area_path=home.path, window_area=home, window_path=home.path, form_data=_form(item, rng, day),
                          submitted_at=submitted)
        required = [m.name for m in item.materials.all() if m.required]
        walk = _Walk(app, rng, now)
        walk.run(clerk, None, required[-1:], stop)
        app.state = walk.state
        walks.append((app, app.missing, set()))
