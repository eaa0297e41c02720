"""The write path of grid patrol (三访民情). Every function is keyword-only, atomic and audited, checks the actor's
capability on the area and validates before it writes: plans need ``EDIT_PEOPLE`` on their area; walking a round
(start, tick the checklist, record household visits, close) needs ``CASE_REPORT`` and ``VIEW_PEOPLE`` there, and is
the patroller's own; a problem found becomes a case through :func:`gongzhi.cases.services.case_submit`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.accounts.roles import Cap
from gongzhi.cases import services as cases
from gongzhi.cases.models import Case, Channel
from gongzhi.core import audit
from gongzhi.core.errors import Conflict, Forbidden, InvalidInput
from gongzhi.core.permissions import require
from gongzhi.core.scope import as_scope, scoped
from gongzhi.core.writes import apply_changes, validate
from gongzhi.registry.models import Area, AreaKind, Person

from .models import (
    Frequency,
    HouseholdVisit,
    PatrolCheck,
    PatrolPlan,
    PatrolRound,
    period_end,
    period_start,
)

PLAN_KINDS = (AreaKind.GRID, AreaKind.COMPOUND, AreaKind.COMMUNITY)
MAX_CHECKLIST = 30
MAX_ITEM_CHARS = 40
PLAN_FIELDS = ["name", "area", "frequency", "patroller", "checklist", "starts_on"]


# ------------------------------------------------------------------------------------------ helpers


def may_patrol(actor: Any, area_path: str) -> bool:
    """Recording on a round: reporting cases and seeing the residents of the area."""
    scope = as_scope(actor)
    return scope.can(Cap.CASE_REPORT, area_path=area_path) and scope.can(Cap.VIEW_PEOPLE, area_path=area_path)


def _require_patrol(actor: Any, area_path: str) -> None:
    require(actor, Cap.CASE_REPORT, area_path=area_path)
    require(actor, Cap.VIEW_PEOPLE, area_path=area_path)


def _clean_checklist(items: list[str]) -> list[str]:
    cleaned: list[str] = []
    for raw in items:
        label = str(raw or "").strip()
        if not label:
            continue
        if len(label) > MAX_ITEM_CHARS:
            raise InvalidInput.on("checklist", _("每个巡查事项不超过{n}个字：{label}").format(
                n=MAX_ITEM_CHARS, label=label[:10]))
        if label not in cleaned:
            cleaned.append(label)
    if not cleaned:
        raise InvalidInput.on("checklist", _("巡查清单至少要有一项"))
    if len(cleaned) > MAX_CHECKLIST:
        raise InvalidInput.on("checklist", _("巡查清单最多{n}项").format(n=MAX_CHECKLIST))
    return cleaned


def _check_patroller(patroller: Any, area: Area) -> None:
    if patroller is None:
        return
    if not getattr(patroller, "is_active", False) or not may_patrol(patroller, area.path):
        raise InvalidInput.on("patroller", _("巡查人须是该区域的网格员或社区工作者"))


def _clean_photo(photo: tuple[str, bytes] | None) -> tuple[bytes, str] | None:
    """Type by content and size, as the case pipeline checks its photos."""
    if photo is None:
        return None
    _name, data = photo
    if not data:
        return None
    if len(data) > cases.MAX_PHOTO_BYTES:
        raise InvalidInput.on("photo", _("照片不能超过5MB"))
    return cases.reencode_photo(data, field="photo")


def _own_round(actor: Any, rnd: PatrolRound) -> None:
    _require_patrol(actor, rnd.area_path)
    if actor is not None and rnd.patroller_id != actor.pk:
        raise Forbidden(_("只有本次巡查的巡查人可以记录"))
    if rnd.state != PatrolRound.State.OPEN:
        raise Conflict(_("本次巡查已完成，不能再修改"))


# ------------------------------------------------------------------------------------------ plans


@transaction.atomic
def plan_create(*, actor: Any, area: Area, name: str, frequency: str, checklist: list[str],
                patroller: Any = None, starts_on: dt.date | None = None) -> PatrolPlan:
    """A patrol plan on a grid, compound or community: 每天常态巡访, 每月重点巡访, 每季度全面巡访 and so on."""
    require(actor, Cap.EDIT_PEOPLE, area_path=area.path)
    if area.kind not in PLAN_KINDS:
        raise InvalidInput.on("area", _("巡查区域须为社区、网格或小区"))
    if frequency not in Frequency.values:
        raise InvalidInput.on("frequency", _("请选择巡查频次"))
    _check_patroller(patroller, area)
    plan = PatrolPlan(name=(name or "").strip(), area=area, area_path=area.path, frequency=frequency,
                      patroller=patroller, checklist=_clean_checklist(checklist),
                      starts_on=starts_on or timezone.localdate())
    validate(plan, exclude=["area", "patroller"])
    plan.save()
    audit.record(actor=actor, action="patrol.patrol_plan.create", obj=plan, after=audit.snapshot(plan, PLAN_FIELDS))
    return plan


@transaction.atomic
def plan_update(*, actor: Any, plan: PatrolPlan, name: str, checklist: list[str], patroller: Any = None,
                reason: str = "", expected_version: int | None = None) -> PatrolPlan:
    """Rename, change who patrols, edit the checklist. Rounds already walked keep their own copy of the checklist;
    the frequency stays (end the plan and start another to change it, so that past periods keep their meaning)."""
    require(actor, Cap.EDIT_PEOPLE, area_path=plan.area_path)
    if plan.ended_on is not None:
        raise Conflict(_("该巡查计划已结束"))
    _check_patroller(patroller, plan.area)
    changes = {"name": (name or "").strip(), "patroller": patroller, "checklist": _clean_checklist(checklist)}
    return apply_changes(actor=actor, obj=plan, changes=changes, allowed=changes, action="patrol.patrol_plan.update",
                         reason=reason, exclude_validation=["area", "patroller"], expected_version=expected_version)


@transaction.atomic
def plan_end(*, actor: Any, plan: PatrolPlan, ended_on: dt.date | None = None, reason: str = "") -> PatrolPlan:
    require(actor, Cap.EDIT_PEOPLE, area_path=plan.area_path)
    ended_on = ended_on or timezone.localdate()
    if ended_on < plan.starts_on:
        raise InvalidInput.on("ended_on", _("结束日期不能早于开始日期"))
    if PatrolPlan.objects.filter(pk=plan.pk, ended_on__isnull=True).update(ended_on=ended_on) != 1:
        raise Conflict(_("该巡查计划已结束"))
    plan.ended_on = ended_on
    audit.record(actor=actor, action="patrol.patrol_plan.end", obj=plan, after={"ended_on": ended_on.isoformat()},
                 reason=reason)
    return plan


# ------------------------------------------------------------------------------------------ rounds


@transaction.atomic
def round_start(*, actor: Any, plan: PatrolPlan, today: dt.date | None = None) -> PatrolRound:
    """Start this period's round of ``plan`` (one per day/week/month/quarter): the plan's checklist is copied."""
    _require_patrol(actor, plan.area_path)
    if actor is None:
        raise Forbidden(_("巡查须由巡查人本人开始"))
    if plan.patroller_id is not None and plan.patroller_id != actor.pk:
        raise Forbidden(_("该计划指定了巡查人，只有本人可以开始巡查"))
    today = today or timezone.localdate()
    if plan.ended_on is not None and plan.ended_on < today:
        raise Conflict(_("该巡查计划已结束"))
    if today < plan.starts_on:
        raise Conflict(_("该巡查计划尚未开始"))
    start = period_start(plan.frequency, today)
    if PatrolRound.objects.filter(plan=plan, period_start=start).exists():
        raise Conflict(_("本周期的巡查已经开始"))
    rnd = PatrolRound(plan=plan, area_id=plan.area_id, area_path=plan.area_path, period_start=start,
                      period_end=period_end(plan.frequency, start), patroller=actor)
    try:
        with transaction.atomic():
            rnd.save()
    except IntegrityError:  # someone started it at the same moment
        raise Conflict(_("本周期的巡查已经开始")) from None
    PatrolCheck.objects.bulk_create([
        PatrolCheck(round=rnd, position=i, label=label[:MAX_ITEM_CHARS], area_path=rnd.area_path)
        for i, label in enumerate(plan.checklist)
    ])
    audit.record(actor=actor, action="patrol.patrol_round.begin", obj=rnd,
                 after={"plan": plan.pk, "period_start": start.isoformat(), "checklist": list(plan.checklist)})
    return rnd


@transaction.atomic
def check_record(*, actor: Any, check: PatrolCheck, status: str, note: str = "",
                 photo: tuple[str, bytes] | None = None) -> PatrolCheck:
    """Tick one checklist item: 正常, or 有问题 with what was found (and a photo if taken)."""
    rnd = check.round
    _own_round(actor, rnd)
    if status not in (PatrolCheck.Status.OK, PatrolCheck.Status.PROBLEM):
        raise InvalidInput.on("status", _("请选择“正常”或“有问题”"))
    note = (note or "").strip()
    if status == PatrolCheck.Status.PROBLEM and not note:
        raise InvalidInput.on("note", _("有问题时请写明发现的问题"))
    if check.case_id is not None and status != PatrolCheck.Status.PROBLEM:
        raise Conflict(_("该问题已转为诉求，不能改为正常"))
    cleaned = _clean_photo(photo)
    fields = ["status", "note"]
    before = audit.snapshot(check, fields)
    check.status, check.note, check.checked_at = status, note, timezone.now()
    validate(check, exclude=["round", "case", "photo"])
    update = ["status", "note", "checked_at"]
    if cleaned is not None:
        data, kind = cleaned
        check.photo.save(f"{rnd.pk}-{check.pk}{'.png' if kind == 'image/png' else '.jpg'}", ContentFile(data),
                         save=False)
        check.photo_type = kind
        update += ["photo", "photo_type"]
    elif status == PatrolCheck.Status.OK and check.photo:
        check.photo = ""  # type: ignore[assignment]
        check.photo_type = ""
        update += ["photo", "photo_type"]
    check.save(update_fields=update)
    after = audit.snapshot(check, fields)
    if cleaned is not None:
        after["photo"] = True
    audit.record(actor=actor, action="patrol.patrol_check.tick", obj=check, before=before, after=after)
    return check


def _household(actor: Any, rnd: PatrolRound, person: Person | None, building: Area | None,
               door: str) -> tuple[str, Area]:
    if person is not None:
        if building is not None or door:
            raise InvalidInput.on("person", _("走访对象请选择居民，或填写楼栋和门牌号，二选一"))
        if actor is not None and not scoped(actor, Person, cap=Cap.VIEW_PEOPLE).filter(pk=person.pk).exists():
            raise InvalidInput.on("person", _("该居民不在您的工作范围内"))
        area = person.area
        if not area.path.startswith(rnd.area_path):
            raise InvalidInput.on("person", _("该居民不住在本次巡查的区域内"))
        return f"p{person.pk}", area
    if building is None:
        raise InvalidInput.on("person", _("请选择走访的居民，或填写楼栋和门牌号"))
    if building.kind != AreaKind.BUILDING or not building.path.startswith(rnd.area_path):
        raise InvalidInput.on("building", _("请选择本次巡查区域内的楼栋"))
    if not door:
        raise InvalidInput.on("door", _("请填写门牌号"))
    if len(door) > 20:
        raise InvalidInput.on("door", _("门牌号不超过20个字"))
    return f"b{building.pk}:{door.upper()}", building


@transaction.atomic
def visit_record(*, actor: Any, round: PatrolRound, person: Person | None = None, building: Area | None = None,
                 door: str = "", visited_on: dt.date | None = None, note: str = "",
                 problem_found: bool = False) -> HouseholdVisit:
    """入户走访 on a round: a resident on the register, or a door of a building."""
    rnd = round
    _own_round(actor, rnd)
    door = (door or "").strip().replace(" ", "")
    key, area = _household(actor, rnd, person, building, door)
    today = timezone.localdate()
    visited_on = visited_on or today
    if visited_on > today:
        raise InvalidInput.on("visited_on", _("走访日期不能晚于今天"))
    if not rnd.period_start <= visited_on <= rnd.period_end:
        raise InvalidInput.on("visited_on", _("走访日期须在本次巡查周期内（{start}至{end}）").format(
            start=rnd.period_start, end=rnd.period_end))
    note = (note or "").strip()
    if problem_found and not note:
        raise InvalidInput.on("note", _("发现问题时请写明走访情况"))
    visit = HouseholdVisit(round=rnd, person=person, building=building if person is None else None,
                           door=door if person is None else "", household_key=key, area=area, area_path=area.path,
                           visited_on=visited_on, note=note, problem_found=problem_found, by=actor)
    validate(visit, exclude=["round", "person", "building", "area", "case", "by"])
    visit.save()
    audit.record(actor=actor, action="patrol.household_visit.create", obj=visit,
                 after={"round": rnd.pk, "person": visit.person_id, "building": visit.building_id,
                        "door": visit.door, "visited_on": visited_on.isoformat(), "problem_found": problem_found})
    return visit


@transaction.atomic
def round_close(*, actor: Any, round: PatrolRound, summary: str = "") -> PatrolRound:
    """Close the round once every checklist item is ticked."""
    rnd = round
    _own_round(actor, rnd)
    left = list(rnd.checks.filter(status=PatrolCheck.Status.PENDING).values_list("label", flat=True)[:5])
    if left:
        raise InvalidInput.on("checks", _("还有巡查事项未检查：{items}").format(items="、".join(left)))
    summary = (summary or "").strip()
    if len(summary) > 1000:
        raise InvalidInput.on("summary", _("巡查小结不超过1000字"))
    now = timezone.now()
    if PatrolRound.objects.filter(pk=rnd.pk, state=PatrolRound.State.OPEN).update(
            state=PatrolRound.State.CLOSED, closed_at=now, summary=summary) != 1:
        raise Conflict(_("本次巡查已完成"))
    rnd.state, rnd.closed_at, rnd.summary = PatrolRound.State.CLOSED, now, summary
    audit.record(actor=actor, action="patrol.patrol_round.finish", obj=rnd,
                 before={"state": PatrolRound.State.OPEN}, after={"state": rnd.state, "summary": summary})
    return rnd


# ------------------------------------------------------------------------------------------ problem → case


def _title(prefix: str, text: str) -> str:
    return f"{prefix}：{text}"[:100]


@transaction.atomic
def check_to_case(*, actor: Any, check: PatrolCheck) -> Case:
    """A problem ticked on the round becomes a case (channel 网格巡查) at the round's place, in one step; the case
    is linked back to the checklist item."""
    rnd = check.round
    _require_patrol(actor, rnd.area_path)
    if check.status != PatrolCheck.Status.PROBLEM:
        raise InvalidInput.on("status", _("只有“有问题”的巡查事项可以转为诉求"))
    if check.case_id is not None:
        raise Conflict(_("该问题已转为诉求"))
    photos: list[tuple[str, bytes]] = []
    if check.photo:
        with check.photo.open("rb") as f:
            photos.append((str(check.photo.name), f.read()))
    case = cases.case_submit(
        actor=actor, title=_title(_("网格巡查发现{item}问题").format(item=check.label), check.note.splitlines()[0]),
        description=check.note, channel=Channel.GRID_PATROL, area=rnd.area, photos=photos,
    )
    if PatrolCheck.objects.filter(pk=check.pk, case__isnull=True).update(case=case) != 1:
        raise Conflict(_("该问题已转为诉求"))  # rolls the case back with it
    check.case = case
    audit.record(actor=actor, action="patrol.patrol_check.to_case", obj=check, after={"case": case.pk})
    return case


@transaction.atomic
def visit_to_case(*, actor: Any, visit: HouseholdVisit) -> Case:
    """A problem found at a household becomes a case (channel 入户走访) at the household's building, reported for
    the resident when she is on the register (she then sees and rates it)."""
    _require_patrol(actor, visit.round.area_path)
    if not visit.problem_found:
        raise InvalidInput.on("problem_found", _("只有发现问题的走访可以转为诉求"))
    if visit.case_id is not None:
        raise Conflict(_("该问题已转为诉求"))
    case = cases.case_submit(
        actor=actor, title=_title(_("入户走访发现问题"), visit.note.splitlines()[0]), description=visit.note,
        channel=Channel.VISIT, area=visit.area, reporter=visit.person,
        address=visit.door and _("门牌号 {door}").format(door=visit.door),
    )
    if HouseholdVisit.objects.filter(pk=visit.pk, case__isnull=True).update(case=case) != 1:
        raise Conflict(_("该问题已转为诉求"))
    visit.case = case
    audit.record(actor=actor, action="patrol.household_visit.to_case", obj=visit, after={"case": case.pk})
    return visit.case
