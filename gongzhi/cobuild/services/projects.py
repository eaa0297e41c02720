"""Projects with their four lists (四单), milestones, progress, acceptance and ratings; claiming from the pool
(认领/领单); delivery records with volunteers' hours; volunteer teams.

Every state change goes through the declared tables (:data:`PROJECT`, :data:`CLAIM`, :data:`NEED`); a project's
places in the pool are one counter changed by one conditional UPDATE (:func:`.common.take`), so two people racing
for the last place of a 实事 cannot both have it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit, workdays
from gongzhi.core.errors import Conflict, Forbidden, InvalidInput
from gongzhi.core.validators import bounded_text, visible_text
from gongzhi.registry.models import Area, CommitmentItem, MemberUnit, PartyMember, Person, PostKind, StaffPost

from ..models import (
    Claim,
    Delivery,
    Kind,
    ListType,
    Match,
    Milestone,
    Need,
    Participation,
    ProgressReport,
    Project,
    ProjectRating,
    VolunteerTeam,
)
from ..workflow import CLAIM, MANAGER, NEED, OPEN_NEED_STATES, OWNER, PROJECT, SYSTEM, UNIT, ClaimState, NeedState
from ..workflow import ProjectState as P
from .common import (
    actor_units,
    can_manage,
    can_offer,
    clean_photos,
    give_back,
    person_of,
    require_manage,
    save_photos,
    take,
)

# Limits per claimant: a person carries at most a few 实事 at once, a unit more (蓬莱: units take compounds and
# buildings, members take small tasks).
MAX_ACTIVE_CLAIMS_PERSON = 3
MAX_ACTIVE_CLAIMS_UNIT = 10
MAX_CLAIM_LIMIT = 100
MAX_LIMIT_DAYS = 1000
MAX_DELIVERY_HOURS = Decimal("10000")
MAX_PERSON_HOURS = Decimal("24")
MAX_PARTICIPANTS = 200
PROJECT_FIELDS = ("area", "list_type", "title", "task", "standard", "target_value", "target_measure", "lead_unit",
                  "person_in_charge", "starts_on", "limit_days", "due_on", "public", "claim_limit", "budget", "need",
                  "agenda_item", "commitment_item")
SETTLED_ITEM_STATES = frozenset({"decided", "published", "done", "evaluated"})
# Steps that project_step takes for people; claiming and release happen through the claim services.
PERSON_STEPS = ("start", "report", "deliver", "accept", "refuse", "cancel")


def _decimal(value: Any, field: str, *, maximum: Decimal = Decimal("9999999999")) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidInput.on(field, _("请输入数字")) from None
    if not number.is_finite() or number < 0 or number > maximum:
        raise InvalidInput.on(field, _("数值超出范围"))
    return number.quantize(Decimal("0.01"))


def due_date(starts_on: dt.date, limit_days: int) -> dt.date:
    """时限: the end of the ``limit_days``-th working day after the start (the start day not counted)."""
    start = dt.datetime.combine(starts_on, workdays.DAY_START, tzinfo=workdays.TZ)
    return workdays.add_workdays(start, limit_days).date()


def actor_kinds(actor: Any, project: Project) -> set[str]:
    """Which of the table's actors the user is for this project (manager, unit, owner; None is the platform)."""
    if actor is None:
        return {MANAGER, SYSTEM, UNIT, OWNER}
    kinds: set[str] = set()
    if can_manage(actor, project.area_path):
        kinds.add(MANAGER)
    units = set(actor_units(actor))
    if units:
        mine = {project.lead_unit_id, *project.units.values_list("pk", flat=True)}
        active = set(project.claims.filter(state=ClaimState.ACTIVE, unit__isnull=False).values_list("unit_id",
                                                                                                     flat=True))
        if units & (mine | active):
            kinds.add(UNIT)
    person = person_of(actor)
    if person is not None and (project.person_in_charge_id == person or project.claims.filter(
            state=ClaimState.ACTIVE, person_id=person).exists()):
        kinds.add(OWNER)
    return kinds


def allowed_steps(actor: Any, project: Project) -> list[Any]:
    """The steps the actor may take on the project now (for the buttons on its page)."""
    kinds = actor_kinds(actor, project)
    return [t for t in PROJECT.available(project.state, actors=kinds) if t.name in PERSON_STEPS]


def _authorise(actor: Any, project: Project) -> Any:
    kinds = actor_kinds(actor, project)

    def check(t: Any) -> None:
        if not (kinds & t.actors):
            raise Forbidden(_("您没有权限执行此操作"))

    return check


# ---------------------------------------------------------------------------------------------- opening a project


def _refuse_barred(unit: MemberUnit | None, field: str) -> None:
    """A unit barred by an assessment sanction (末位禁入) takes no new project until the bar ends."""
    from gongzhi.assessment.services import bar_on

    bar = bar_on(unit.pk if unit is not None else None)
    if bar is not None and unit is not None:
        raise InvalidInput.on(field, _("{unit} 因考评惩戒至 {day} 不得承接新项目：{reason}").format(
            unit=unit.name, day=bar.ends_on, reason=bar.reason))


@transaction.atomic
def project_open(*, actor: Any, area: Area | None, list_type: ListType | None, title: str, task: str, standard: str,
                 starts_on: dt.date | None, limit_days: int = 0, due_on: dt.date | None = None,
                 target_value: Any = None, target_measure: str = "", lead_unit: MemberUnit | None = None,
                 units: Iterable[MemberUnit] = (), person_in_charge: Person | None = None, public: bool = True,
                 claim_limit: int = 1, budget: Any = None, need: Need | None = None, agenda_item: Any = None,
                 commitment_item: CommitmentItem | None = None) -> Project:
    """立项: a project with its four lists — 任务 (task), 责任 (lead and responsible units, person in charge), 标准
    (standard and a measurable target), 时限 (a due date, given or counted in working days from the start)."""
    if area is None:
        raise InvalidInput.on("area", _("请选择区域"))
    require_manage(actor, area.path)
    if list_type is None or not list_type.active:
        raise InvalidInput.on("list_type", _("请选择清单类型"))
    title = visible_text(title, "title", max_length=100)
    task = visible_text(task, "task", max_length=2000)
    standard = visible_text(standard, "standard", max_length=1000)
    target = _decimal(target_value, "target_value")
    measure = bounded_text(target_measure, "target_measure", 10)
    if target is not None and not measure:
        raise InvalidInput.on("target_measure", _("填写了目标数量须同时填写单位"))
    if starts_on is None:
        raise InvalidInput.on("starts_on", _("请填写开始日期"))
    if not 0 <= int(limit_days or 0) <= MAX_LIMIT_DAYS:
        raise InvalidInput.on("limit_days", _("时限须在 0 到 {n} 个工作日之间").format(n=MAX_LIMIT_DAYS))
    limit_days = int(limit_days or 0)
    if due_on is None:
        if limit_days <= 0:
            raise InvalidInput.on("limit_days", _("请填写时限（工作日）或完成日期"))
        due_on = due_date(starts_on, limit_days)
    if due_on < starts_on:
        raise InvalidInput.on("due_on", _("完成时限不能早于开始日期"))
    if not 1 <= int(claim_limit) <= MAX_CLAIM_LIMIT:
        raise InvalidInput.on("claim_limit", _("认领人数上限须在 1 到 {n} 之间").format(n=MAX_CLAIM_LIMIT))
    money = _decimal(budget, "budget")
    unit_list = list(dict.fromkeys(units))
    for field, unit in [("lead_unit", lead_unit), *(("units", u) for u in unit_list)]:
        _refuse_barred(unit, field)
    if lead_unit is not None and lead_unit in unit_list:
        unit_list.remove(lead_unit)
    if need is not None:
        if need.state not in OPEN_NEED_STATES:
            raise InvalidInput.on("need", _("该需求已满足或已撤销"))
        require_manage(actor, need.area_path)
    if agenda_item is not None:
        if agenda_item.state not in SETTLED_ITEM_STATES:
            raise InvalidInput.on("agenda_item", _("只有已决议的议题可以转为共建项目"))
        require_manage(actor, agenda_item.council.area.path)
    project = Project(area=area, area_path=area.path, list_type=list_type, title=title, task=task,
                      standard=standard, target_value=target, target_measure=measure, lead_unit=lead_unit,
                      person_in_charge=person_in_charge, starts_on=starts_on, limit_days=limit_days, due_on=due_on,
                      public=bool(public), claim_limit=int(claim_limit), budget=money, need=need,
                      agenda_item=agenda_item, commitment_item=commitment_item,
                      created_by=actor if getattr(actor, "pk", None) else None)
    project.save()
    if unit_list:
        project.units.set(unit_list)
    audit.record(actor=actor, action="cobuild.project.create", obj=project,
                 after={**audit.snapshot(project, PROJECT_FIELDS), "units": [u.pk for u in unit_list]})
    if need is not None and need.state in (NeedState.OPEN, NeedState.MATCHED):
        # The need is now being delivered by this project.
        NEED.apply(actor=actor, obj=need, name="deliver", version=need.version,
                   audit_after={"project": project.pk})
    return project


# ---------------------------------------------------------------------------------------------- milestones


def _require_runner(actor: Any, project: Project) -> None:
    if not actor_kinds(actor, project) & {MANAGER, UNIT, OWNER}:
        raise Forbidden(_("您没有权限执行此操作"))


@transaction.atomic
def milestone_add(*, actor: Any, project: Project, title: str, due_on: dt.date | None) -> Milestone:
    _require_runner(actor, project)
    if project.state not in (P.OPEN, P.IN_PROGRESS):
        raise Conflict(_("项目已提请验收或已结束，不能再增加节点"))
    title = visible_text(title, "title", max_length=100)
    if due_on is None:
        raise InvalidInput.on("due_on", _("请填写计划完成日期"))
    order = project.milestones.count() + 1
    milestone = Milestone.objects.create(project=project, title=title, due_on=due_on, order=order)
    audit.record(actor=actor, action="cobuild.milestone.create", obj=milestone,
                 after=audit.snapshot(milestone, ("project", "title", "due_on")), area_path=project.area_path)
    return milestone


@transaction.atomic
def milestone_done(*, actor: Any, milestone: Milestone, done_on: dt.date | None = None) -> Milestone:
    project = milestone.project
    _require_runner(actor, project)
    done_on = done_on or timezone.localdate()
    if done_on > timezone.localdate():
        raise InvalidInput.on("done_on", _("完成日期不能晚于今天"))
    if Milestone.objects.filter(pk=milestone.pk, done_on__isnull=True).update(done_on=done_on) != 1:
        raise Conflict(_("该节点已标记完成"))
    milestone.refresh_from_db()
    audit.record(actor=actor, action="cobuild.milestone.complete", obj=milestone,
                 after={"done_on": done_on}, area_path=project.area_path)
    return milestone


# ---------------------------------------------------------------------------------------------- steps


@transaction.atomic
def project_step(*, actor: Any, project: Project, name: str, expected_version: int | None = None, reason: str = "",
                 text: str = "", progress: int | None = None, achieved_value: Any = None,
                 photos: list[tuple[str, bytes]] | None = None, note: str = "") -> Project:
    """启动、进度报告（照片）、提请验收、验收（社区）、验收不通过、撤销 — each through the declared table."""
    if name not in PERSON_STEPS:
        raise InvalidInput.on("name", _("未知操作"))
    _t, version, reason = PROJECT.check(project, name, expected_version=expected_version, reason=reason,
                                       authorise=_authorise(actor, project))
    now = timezone.now()
    changes: dict[str, Any] = {}
    then: list[Any] = []
    after: dict[str, Any] = {}
    if name == "report":
        body = visible_text(text, "text", max_length=2000)
        if progress is None or not 0 <= int(progress) <= 100:
            raise InvalidInput.on("progress", _("进度须在 0 到 100 之间"))
        value = _decimal(achieved_value, "achieved_value")
        cleaned = clean_photos(photos)
        changes["progress"] = int(progress)
        if value is not None:
            changes["achieved_value"] = value

        def add_report() -> None:
            report = ProgressReport.objects.create(
                project=project, reported_by=actor if getattr(actor, "pk", None) else None, text=body,
                progress=int(progress or 0), achieved_value=value)
            after.update(report=report.pk, photos=save_photos(cleaned, area_path=project.area_path, report=report))

        then.append(add_report)
    elif name == "deliver":
        changes["delivered_at"] = now
        if note:
            changes["acceptance_note"] = bounded_text(note, "note", 1000)
    elif name == "accept":
        changes.update(accepted_at=now, acceptance_note=bounded_text(note or reason, "note", 1000), progress=100)
        then.append(lambda: _close_claims(actor, project))
        if project.need_id:
            then.append(lambda: _meet_need(actor, project))
    elif name == "refuse":
        changes.update(acceptance_note=reason, delivered_at=None)
    elif name == "cancel":
        then.append(lambda: _withdraw_all(actor, project, reason))
    return PROJECT.apply(actor=actor, obj=project, name=name, version=version, changes=changes, reason=reason,
                         then=then, audit_after=after)


def _close_claims(actor: Any, project: Project) -> None:
    for claim in project.claims.filter(state=ClaimState.ACTIVE):
        CLAIM.apply(actor=actor, obj=claim, name="complete", version=claim.version,
                    then=[lambda: give_back(Project, project.pk, "claims_active")])


def _withdraw_all(actor: Any, project: Project, reason: str) -> None:
    for claim in project.claims.filter(state=ClaimState.ACTIVE):
        CLAIM.apply(actor=actor, obj=claim, name="withdraw", version=claim.version, reason=reason,
                    changes={"withdrawn_at": timezone.now(), "withdraw_reason": reason[:300]},
                    then=[lambda: give_back(Project, project.pk, "claims_active")])


def _meet_need(actor: Any, project: Project) -> None:
    need = Need.objects.select_for_update().get(pk=project.need_id or 0)
    if need.state in (NeedState.MATCHED, NeedState.IN_DELIVERY):
        NEED.apply(actor=actor, obj=need, name="meet", version=need.version, changes={"met_at": timezone.now()},
                   audit_after={"project": project.pk})


@transaction.atomic
def project_rate(*, actor: Any, project: Project, score: int, comment: str = "") -> ProjectRating:
    """居民评价: a resident rates an accepted public project once (1–5); the totals move with one UPDATE."""
    person = person_of(actor)
    if person is None:
        raise Forbidden(_("请先关联居民身份后再评价"))
    if project.state != P.ACCEPTED or not project.public:
        raise Conflict(_("项目验收后才能评价"))
    if not 1 <= int(score) <= 5:
        raise InvalidInput.on("score", _("评分须在 1 到 5 之间"))
    comment = bounded_text(comment, "comment", 300)
    try:
        with transaction.atomic():
            rating = ProjectRating.objects.create(project=project, person_id=person, score=int(score),
                                                  comment=comment)
    except IntegrityError:
        raise Conflict(_("您已评价过该项目")) from None
    Project.objects.filter(pk=project.pk).update(rating_count=F("rating_count") + 1,
                                                  rating_total=F("rating_total") + int(score))
    audit.record(actor=actor, action="cobuild.project.rate", obj=project, after={"score": int(score)})
    return rating


# ---------------------------------------------------------------------------------------------- claiming


def person_claimant(person_id: int, today: dt.date | None = None) -> tuple[PartyMember | None, StaffPost | None]:
    """A person may claim as a party member (亮身份) or as a volunteer on duty."""
    today = today or timezone.localdate()
    member = PartyMember.objects.filter(person_id=person_id).select_related("organisation", "work_unit").first()
    post = (StaffPost.objects.filter(person_id=person_id, kind=PostKind.VOLUNTEER)
            .exclude(until__lt=today).select_related("area").first())
    return member, post


def _claimant_reach(unit: MemberUnit | None, person_id: int | None) -> list[str]:
    """The area paths a claimant takes 实事 in: a unit's district; a person's home district, the communities she
    registered with (双报到) and where she volunteers."""
    from ..scoping import DISTRICT_PATH

    if unit is not None:
        path = MemberUnit.objects.filter(pk=unit.pk).values_list("area__path", flat=True).get()
        return [path[:DISTRICT_PATH]]
    if person_id is None:
        return []
    paths: set[str] = set()
    home = Person.objects.filter(pk=person_id).values_list("area__path", flat=True).first()
    if home:
        paths.add(home[:DISTRICT_PATH])
    paths.update(p[:DISTRICT_PATH] for p in PartyMember.objects.filter(person_id=person_id)
                 .values_list("registrations__community__path", flat=True) if p)
    paths.update(p[:DISTRICT_PATH] for p in StaffPost.objects.filter(person_id=person_id, kind=PostKind.VOLUNTEER)
                 .values_list("area__path", flat=True))
    return sorted(paths)


@transaction.atomic
def claim_create(*, actor: Any, project: Project, unit: MemberUnit | None = None, pledge: str = "",
                 person_for: Person | None = None) -> Claim:
    """认领: a unit (by its handler), a party member or a volunteer takes a 实事 from the pool. The place is taken
    by one conditional UPDATE, so nothing is claimed beyond its limit; the first claim starts the project.
    ``person_for`` is for the platform only (``actor=None``: an import, the demo) claiming on a person's behalf."""
    pledge = bounded_text(pledge, "pledge", 300)
    person: int | None = None
    if person_for is not None and actor is not None:
        raise Forbidden(_("只能以本人身份认领"))
    if unit is not None:
        if not can_offer(actor, unit.pk):
            raise Forbidden(_("您只能以本单位身份认领"))
        _refuse_barred(unit, "unit")
        active = Claim.objects.filter(unit=unit, state=ClaimState.ACTIVE).count()
        if active >= MAX_ACTIVE_CLAIMS_UNIT:
            raise InvalidInput.on("unit", _("每个单位同时最多认领 {n} 项").format(n=MAX_ACTIVE_CLAIMS_UNIT))
    else:
        person = person_for.pk if person_for is not None else person_of(actor)
        if person is None:
            raise Forbidden(_("请以单位身份认领，或先关联本人身份"))
        member, post = person_claimant(person)
        if member is None and post is None:
            raise Forbidden(_("党员或注册志愿者才能以个人身份认领"))
        active = Claim.objects.filter(person_id=person, state=ClaimState.ACTIVE).count()
        if active >= MAX_ACTIVE_CLAIMS_PERSON:
            raise InvalidInput.on("project", _("每人同时最多认领 {n} 项").format(n=MAX_ACTIVE_CLAIMS_PERSON))
    if not project.list_type.claimable or project.state not in (P.OPEN, P.IN_PROGRESS):
        raise Conflict(_("该项目不在认领池中"))
    if not any(project.area_path.startswith(p) for p in _claimant_reach(unit, person)):
        raise Forbidden(_("只能认领本区范围内的项目"))
    if not take(Project, project.pk, "claims_active", "claim_limit"):
        raise Conflict(_("该项目认领名额已满"))
    # take() holds the project's row until the commit, so claimants of one project pass here one at a time: this
    # check is exact. The partial unique constraints stay as the backstop where the engine has them (the MySQL
    # family has none: Django does not create them there).
    mine = Q(unit=unit) if unit is not None else Q(person_id=person)
    if Claim.objects.filter(mine, project_id=project.pk, state=ClaimState.ACTIVE).exists():
        raise Conflict(_("您已认领过该项目"))
    try:
        with transaction.atomic():
            claim = Claim.objects.create(project=project, area_path=project.area_path, unit=unit, person_id=person,
                                         pledge=pledge, claimed_by=actor if getattr(actor, "pk", None) else None)
    except IntegrityError:
        raise Conflict(_("您已认领过该项目")) from None
    audit.record(actor=actor, action="cobuild.claim.create", obj=claim,
                 after=audit.snapshot(claim, ("project", "unit", "person", "pledge")))
    fresh = Project.objects.get(pk=project.pk)
    if fresh.state == P.OPEN:
        try:
            with transaction.atomic():
                PROJECT.apply(actor=actor, obj=fresh, name="claim", version=fresh.version,
                              audit_after={"claim": claim.pk})
        except Conflict:
            # Another claimant's place (claim limit above one) started the project a moment earlier: this claim
            # stands, the project is under way either way.
            if not Project.objects.filter(pk=project.pk).exclude(state=P.OPEN).exists():
                raise
    return claim


@transaction.atomic
def claim_withdraw(*, actor: Any, claim: Claim, reason: str, expected_version: int | None = None) -> Claim:
    """退领 with a reason: the place goes back; a project nobody carries any more and nothing was delivered for
    returns to the pool."""
    project = claim.project

    def authorise(t: Any) -> None:
        kinds: set[str] = set()
        if can_manage(actor, claim.area_path):
            kinds.add(MANAGER)
        if claim.unit_id and can_offer(actor, claim.unit_id):
            kinds.add(UNIT)
        if claim.person_id and (actor is None or person_of(actor) == claim.person_id):
            kinds.add(OWNER)
        if not kinds & t.actors:
            raise Forbidden(_("只能退领本人或本单位的认领"))

    _t, version, reason = CLAIM.check(claim, "withdraw", expected_version=expected_version, reason=reason,
                                     authorise=authorise)
    reason = bounded_text(reason, "reason", 300)
    claim = CLAIM.apply(actor=actor, obj=claim, name="withdraw", version=version, reason=reason,
                        changes={"withdrawn_at": timezone.now(), "withdraw_reason": reason},
                        then=[lambda: give_back(Project, project.pk, "claims_active")])
    fresh = Project.objects.get(pk=project.pk)
    if (fresh.state == P.IN_PROGRESS and fresh.claims_active == 0 and fresh.list_type.claimable
            and not fresh.reports.exists() and not fresh.deliveries.exists()):
        PROJECT.apply(actor=actor, obj=fresh, name="release", version=fresh.version, reason=reason,
                      changes={"progress": 0})
    return claim


# ---------------------------------------------------------------------------------------------- volunteer teams


def _require_team_owner(actor: Any, area: Area, unit: MemberUnit | None) -> None:
    if unit is not None and can_offer(actor, unit.pk):
        return
    require_manage(actor, area.path)


@transaction.atomic
def team_create(*, actor: Any, name: str, area: Area | None, unit: MemberUnit | None = None) -> VolunteerTeam:
    """志愿服务队 of a unit (its handler) or of a community (its staff)."""
    if area is None:
        raise InvalidInput.on("area", _("请选择区域"))
    _require_team_owner(actor, area, unit)
    name = visible_text(name, "name", max_length=60)
    team = VolunteerTeam.objects.create(name=name, area=area, area_path=area.path, unit=unit)
    audit.record(actor=actor, action="cobuild.team.create", obj=team,
                 after=audit.snapshot(team, ("name", "area", "unit")))
    return team


@transaction.atomic
def team_add_member(*, actor: Any, team: VolunteerTeam, person: Person) -> VolunteerTeam:
    _require_team_owner(actor, team.area, team.unit)
    if team.members.filter(pk=person.pk).exists():
        raise InvalidInput.on("person", _("已是该队队员"))
    team.members.add(person)
    audit.record(actor=actor, action="cobuild.team.add", obj=team, after={"person": person.pk})
    return team


# ---------------------------------------------------------------------------------------------- deliveries


def _may_record(actor: Any, area: Area, unit: MemberUnit | None, team: VolunteerTeam | None,
                project: Project | None) -> bool:
    if can_manage(actor, area.path):
        return True
    if unit is not None and can_offer(actor, unit.pk):
        return True
    if team is not None and team.unit_id and can_offer(actor, team.unit_id):
        return True
    if project is not None:
        person = person_of(actor)
        units = actor_units(actor)
        mine = project.claims.filter(state__in=(ClaimState.ACTIVE, ClaimState.DONE))
        if (person is not None and mine.filter(person_id=person).exists()) or (
                units and mine.filter(unit_id__in=units).exists()):
            return True
    return False


@transaction.atomic
def delivery_record(*, actor: Any, area: Area | None, kind: str, title: str, delivered_on: dt.date | None,
                    description: str = "", place: str = "", beneficiaries: int = 0, hours: Any = 0,
                    unit: MemberUnit | None = None, team: VolunteerTeam | None = None,
                    project: Project | None = None, need: Need | None = None, match: Match | None = None,
                    participants: Iterable[tuple[Person, Any]] = (),
                    photos: list[tuple[str, bytes]] | None = None) -> Delivery:
    """服务记录: one service delivered (who, when, where, for whom, how long) with each volunteer's hours — by the
    unit's handler, a claimant of the project, or a manager of the area."""
    if area is None:
        raise InvalidInput.on("area", _("请选择服务地点"))
    if kind not in Kind.values:
        raise InvalidInput.on("kind", _("请选择服务类别"))
    title = visible_text(title, "title", max_length=100)
    description = bounded_text(description, "description", 2000)
    place = bounded_text(place, "place", 100)
    if delivered_on is None:
        raise InvalidInput.on("delivered_on", _("请填写服务日期"))
    if delivered_on > timezone.localdate():
        raise InvalidInput.on("delivered_on", _("服务日期不能晚于今天"))
    if not 0 <= int(beneficiaries or 0) <= 1_000_000:
        raise InvalidInput.on("beneficiaries", _("服务人次超出范围"))
    total = _decimal(hours or 0, "hours", maximum=MAX_DELIVERY_HOURS) or Decimal("0")
    if project is not None and not area.path.startswith(project.area_path):
        raise InvalidInput.on("area", _("服务地点须在项目所属区域内"))
    if team is not None and unit is None:
        unit = team.unit
    if not _may_record(actor, area, unit, team, project):
        raise Forbidden(_("您没有权限登记此服务记录"))
    rows: list[tuple[Person, Decimal]] = []
    seen: set[int] = set()
    for i, (person, raw) in enumerate(participants):
        h = _decimal(raw, f"participants[{i}].hours", maximum=MAX_PERSON_HOURS)
        if h is None or h <= 0:
            raise InvalidInput.on(f"participants[{i}].hours", _("请填写志愿服务时长"))
        if person.pk in seen:
            raise InvalidInput.on(f"participants[{i}].person", _("同一人不能重复登记"))
        seen.add(person.pk)
        rows.append((person, h))
    if len(rows) > MAX_PARTICIPANTS:
        raise InvalidInput.on("participants", _("参与人员最多 {n} 人").format(n=MAX_PARTICIPANTS))
    if rows and total == 0:
        total = sum((h for _p, h in rows), Decimal("0"))
    cleaned = clean_photos(photos)
    delivery = Delivery.objects.create(
        area=area, area_path=area.path, kind=kind, title=title, description=description,
        delivered_on=delivered_on, place=place, beneficiaries=int(beneficiaries or 0), hours=total, unit=unit,
        team=team, project=project, need=need, match=match,
        recorded_by=actor if getattr(actor, "pk", None) else None)
    Participation.objects.bulk_create([
        Participation(delivery=delivery, person=p, hours=h, area_path=area.path, delivered_on=delivered_on)
        for p, h in rows])
    count = save_photos(cleaned, area_path=area.path, delivery=delivery)
    audit.record(actor=actor, action="cobuild.delivery.create", obj=delivery, after={
        **audit.snapshot(delivery, ("area", "kind", "title", "delivered_on", "beneficiaries", "hours", "unit",
                                    "team", "project", "need", "match")),
        "participants": [[p.pk, str(h)] for p, h in rows], "photos": count})
    return delivery
