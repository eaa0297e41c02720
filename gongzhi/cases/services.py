"""The case pipeline's write path. :func:`case_submit` creates a case; :func:`transition` is the only way a case
moves along the graph declared in :mod:`.workflow`. Every change is atomic, audited and guarded by ``version``: an
illegal or stale move raises :class:`~gongzhi.core.errors.Conflict` and changes nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.accounts.models import RoleGrant
from gongzhi.accounts.roles import POLICIES, Cap
from gongzhi.core import audit, workdays
from gongzhi.core.errors import Conflict, Forbidden, InvalidInput
from gongzhi.core.scope import as_scope
from gongzhi.core.snapshot import Snapshot
from gongzhi.core.validators import normalize_phone
from gongzhi.core.writes import validate
from gongzhi.registry.geo import grid_index
from gongzhi.registry.models import Area, AreaKind, MemberUnit, PartyMember, Person, PostKind, StaffPost

from . import notify, rollup
from .models import (
    LEVELS,
    Case,
    CaseFollower,
    CaseKind,
    CasePhoto,
    CaseSettings,
    Category,
    Channel,
    Extension,
    Hearing,
    Level,
    Mediation,
    Rating,
    RoutingRule,
)
from .workflow import TRANSITIONS, Actor, State

MAX_PHOTOS = 6
MAX_PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_SIGNATURES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
_LEVEL_DEPTH: dict[str, int] = {"city": 1, "district": 2, "street": 3, "community": 4, "grid": 5}
_STEP = Area.steplen


# ------------------------------------------------------------------------------------------ routing


@dataclass(frozen=True)
class Route:
    level: str
    owner_path: str
    unit_id: int | None


def _load_categories() -> dict[int, tuple[int | None, str]]:
    return {pk: (parent, level) for pk, parent, level in
            Category.objects.values_list("pk", "parent_id", "default_level")}


def _load_rules() -> dict[tuple[int | None, str], tuple[str, int | None]]:
    return {(cat, path): (level, unit) for cat, path, level, unit in
            RoutingRule.objects.values_list("category_id", "area__path", "level", "unit_id")}


def _load_categories_by_code() -> dict[str, Category]:
    return {c.code: c for c in Category.objects.filter(active=True).select_related("parent__parent")}


# Read-only category objects by code, for channels that name categories by code (Open311 service codes).
CATEGORIES_BY_CODE: Snapshot[dict[str, Category]] = Snapshot(_load_categories_by_code)


def _load_upper_areas() -> dict[str, int]:
    return dict(Area.objects.filter(depth__lte=_LEVEL_DEPTH["grid"]).values_list("path", "pk"))


# Small tables read on every intake: kept per process (see gongzhi.core.snapshot).
CATEGORIES: Snapshot[dict[int, tuple[int | None, str]]] = Snapshot(_load_categories)
RULES: Snapshot[dict[tuple[int | None, str], tuple[str, int | None]]] = Snapshot(_load_rules)
UPPER_AREAS: Snapshot[dict[str, int]] = Snapshot(_load_upper_areas, ttl=300)


def level_path(area_path: str, level: str) -> str:
    """The path of ``area_path``'s ancestor (or itself) at ``level``."""
    depth = _LEVEL_DEPTH[level]
    if len(area_path) < depth * _STEP:
        raise InvalidInput.on("area", _("发生地须在该层级之下"))
    return area_path[: depth * _STEP]


def category_chain(category_id: int | None) -> list[int]:
    """The category and its ancestors, deepest first."""
    table = CATEGORIES.get()
    chain: list[int] = []
    while category_id is not None and category_id in table and len(chain) < 10:
        chain.append(category_id)
        category_id = table[category_id][0]
    return chain


def route(category: Category | None, area_path: str) -> Route:
    """Which level owns a case of ``category`` at ``area_path``, and which unit handles it: the most specific
    routing rule (deepest category, then deepest area) or else the category's default level."""
    rules = RULES.get()
    prefixes = [area_path[: i * _STEP] for i in range(len(area_path) // _STEP, 0, -1)]
    for cat in [*category_chain(category.pk if category else None), None]:
        for prefix in prefixes:
            hit = rules.get((cat, prefix))
            if hit is not None:
                level, unit_id = hit
                if len(area_path) >= _LEVEL_DEPTH[level] * _STEP:
                    return Route(level, level_path(area_path, level), unit_id)
    level = category.default_level if category else Level.COMMUNITY
    if len(area_path) < _LEVEL_DEPTH[level] * _STEP:
        level = Level.COMMUNITY
    return Route(level, level_path(area_path, level), None)


def _area_id(path: str) -> int:
    pk = UPPER_AREAS.get().get(path)
    if pk is None:
        pk = Area.objects.values_list("pk", flat=True).get(path=path)
    return pk


# ------------------------------------------------------------------------------------------ intake


def _clean_photos(photos: list[tuple[str, bytes]] | None, field: str = "photos") -> list[tuple[str, bytes, str]]:
    cleaned = []
    for i, (name, data) in enumerate(photos or []):
        if len(data) > MAX_PHOTO_BYTES:
            raise InvalidInput.on(f"{field}[{i}]", _("照片不能超过5MB"))
        kind = next((ct for sig, ct in PHOTO_SIGNATURES.items() if data.startswith(sig)), None)
        if kind is None:
            raise InvalidInput.on(f"{field}[{i}]", _("照片须为 JPEG 或 PNG 格式"))
        cleaned.append((name, data, kind))
    if len(cleaned) > MAX_PHOTOS:
        raise InvalidInput.on(field, _("照片最多6张"))
    return cleaned


def _save_photos(case: Case, photos: list[tuple[str, bytes, str]], stage: str) -> None:
    for _name, data, kind in photos:
        suffix = ".png" if kind == "image/png" else ".jpg"
        photo = CasePhoto(case=case, stage=stage, content_type=kind)
        photo.image.save(f"{case.pk}-{stage}{suffix}", ContentFile(data), save=False)
        photo.save()


@transaction.atomic
def case_submit(
    *,
    actor: Any,
    title: str,
    description: str,
    channel: str = Channel.RESIDENT_APP,
    area: Area | None = None,
    lng: float | None = None,
    lat: float | None = None,
    address: str = "",
    category: Category | None = None,
    reporter: Person | None = None,
    contact_name: str = "",
    contact_phone: str = "",
    photos: list[tuple[str, bytes]] | None = None,
    kind: str = CaseKind.GENERAL,
    parties: list[dict[str, str]] | None = None,
    is_public: bool = True,
    now: dt.datetime | None = None,
) -> Case:
    """A resident, grid worker or channel reports a problem. The location is a point (→ its grid, through the
    registry's lookup) or a node the reporter picks (compound, building)."""
    scope = as_scope(actor) if actor is not None else None
    if scope is not None and not scope.has(Cap.CASE_REPORT):
        raise Forbidden(_("您没有权限执行此操作"))
    now = now or timezone.now()
    reporter_id = reporter.pk if reporter is not None else (scope.person_id if scope is not None else None)
    if area is None:
        if lng is None or lat is None:
            raise InvalidInput.on("area", _("请选择发生地（小区/楼栋）或在地图上标注位置"))
        if not (-180 <= lng <= 180 and -90 <= lat <= 90):
            raise InvalidInput.on("lng", _("坐标超出范围"))
        index = grid_index()
        grid_id = index.locate(lng, lat)
        if grid_id is None:
            raise InvalidInput.on("lng", _("该位置不在任何网格内"))
        area_id, area_path = grid_id, index.paths.get(grid_id) or Area.objects.get(pk=grid_id).path
    else:
        if area.kind not in (AreaKind.GRID, AreaKind.COMPOUND, AreaKind.BUILDING, AreaKind.COMMUNITY):
            raise InvalidInput.on("area", _("发生地须为社区、网格、小区或楼栋"))
        area_id, area_path = area.pk, area.path
    if kind == CaseKind.MEDIATION and len(parties or []) < 2:
        raise InvalidInput.on("parties", _("矛盾纠纷须至少填写两方当事人"))
    cleaned_photos = _clean_photos(photos)
    phone = normalize_phone(contact_phone, "contact_phone") if contact_phone else ""
    r = route(category, area_path)
    response_hours = category.response_hours if category else 4
    case = Case(
        kind=kind, title=(title or "").strip(), description=(description or "").strip(), channel=channel,
        category=category, reporter_id=reporter_id, contact_name=contact_name.strip(), contact_phone=phone,
        lng=lng, lat=lat, address=address.strip(), area_id=area_id, area_path=area_path, level=r.level,
        owner_area_id=_area_id(r.owner_path), owner_path=r.owner_path, assignee_unit_id=r.unit_id,
        priority=category.priority if category else 3, is_public=is_public, created_at=now,
        response_due_at=workdays.add_work_hours(now, response_hours),
    )
    # Foreign keys come from our own lookups; validating them again would cost a query each on the intake path.
    validate(case, exclude=["owner_area", "area", "category", "reporter", "assignee_unit", "claimed_by",
                            "merged_into"])
    case.save()
    if kind == CaseKind.MEDIATION:
        Mediation.objects.create(case=case, parties=[
            {"name": str(p.get("name", ""))[:50], "role": str(p.get("role", ""))[:20]} for p in parties or []
        ])
    _save_photos(case, cleaned_photos, CasePhoto.Stage.REPORT)
    audit.record(actor=actor, action="cases.case.submit", obj=case,
                 after={"state": case.state, "title": case.title, "channel": channel, "area": area_id,
                        "level": case.level, "category": category.code if category else None})
    rollup.add(case)  # last: the day's row stays locked only until the commit that follows
    return case


# ------------------------------------------------------------------------------------------ transitions


def actor_kinds(actor: Any, case: Case) -> set[str]:
    """Which of the workflow's actor kinds ``actor`` is for ``case``."""
    if actor is None:
        return {Actor.SYSTEM}
    scope = as_scope(actor)
    kinds: set[str] = set()
    if scope.can(Cap.CASE_DISPATCH, area_path=case.owner_path):
        kinds.add(Actor.DISPATCHER)
    if case.assignee_unit_id:
        if scope.can(Cap.CASE_HANDLE, unit_id=case.assignee_unit_id):
            kinds.add(Actor.HANDLER)
    elif scope.can(Cap.CASE_HANDLE, area_path=case.owner_path):
        kinds.add(Actor.HANDLER)
    if case.claimed_by_id and case.claimed_by_id == scope.person_id:
        kinds.add(Actor.HANDLER)
    if scope.can(Cap.CASE_VERIFY, area_path=case.area_path):
        kinds.add(Actor.VERIFIER)
    if case.reporter_id and case.reporter_id == scope.person_id:
        kinds.add(Actor.REPORTER)
    if case.claimable and can_claim(scope):
        kinds.add(Actor.CLAIMANT)
    return kinds


def can_claim(scope: Any) -> bool:
    """Party members, volunteers (三河 领单) and unit handlers may claim from the public pool."""
    if scope.unit_ids(Cap.CASE_HANDLE):
        return True
    if scope.person_id is None:
        return False
    person_id = int(scope.person_id)
    return (PartyMember.objects.filter(person_id=person_id).exists()
            or StaffPost.objects.filter(person_id=person_id, kind=PostKind.VOLUNTEER,
                                        until__isnull=True).exists())


def allowed_transitions(actor: Any, case: Case) -> list[str]:
    kinds = actor_kinds(actor, case)
    return [t.name for t in TRANSITIONS.values() if case.state in t.sources and kinds & t.actors]


def _next_level(case: Case, to_level: str | None) -> str:
    order = [lv.value for lv in LEVELS]
    current = order.index(case.level)
    if current + 1 >= len(order):
        raise InvalidInput.on("level", _("市级已是最高层级，不能再上移"))
    nxt = order[current + 1]
    if to_level and to_level != nxt:
        if to_level not in order or order.index(to_level) <= current:
            raise InvalidInput.on("level", _("只能向上级上移"))
        if not (case.category and case.category.may_skip_levels):
            raise InvalidInput.on("level", _("该分类不允许越级上移，须逐级上移"))
        nxt = to_level
    if nxt == Level.GRID:
        nxt = Level.COMMUNITY
    return nxt


def _users_with(cap: str, *, path: str | None = None, unit_id: int | None = None) -> list[int]:
    """Users holding ``cap`` exactly on the node ``path`` (its own staff, not the whole city) or on a unit."""
    roles = [r for r, p in POLICIES.items() if cap in p.caps]
    qs = RoleGrant.objects.filter(role__in=roles)
    qs = qs.filter(unit_id=unit_id) if unit_id else qs.filter(area__path=path)
    return list(qs.values_list("user_id", flat=True))


def _reporter_users(case: Case) -> list[int]:
    ids: list[int | None] = []
    if case.reporter_id is not None:
        ids += Person.objects.filter(pk=case.reporter_id, user__isnull=False).values_list("user_id", flat=True)
    ids += list(CaseFollower.objects.filter(case=case, person__user__isnull=False)
                .values_list("person__user_id", flat=True))
    return [i for i in ids if i is not None]


def _handler_users(case: Case) -> list[int]:
    if case.assignee_unit_id:
        return _users_with(Cap.CASE_HANDLE, unit_id=case.assignee_unit_id)
    return _users_with(Cap.CASE_HANDLE, path=case.owner_path)


@transaction.atomic
def transition(
    *,
    actor: Any,
    case: Case,
    name: str,
    expected_version: int | None = None,
    reason: str = "",
    now: dt.datetime | None = None,
    **data: Any,
) -> Case:
    """Move ``case`` along transition ``name``. ``data`` carries what the step needs (category, unit, feedback,
    rating, into…). Exactly one of several people acting at once succeeds; the others get :class:`Conflict`."""
    t = TRANSITIONS.get(name)
    if t is None:
        raise InvalidInput.on("transition", _("未知操作"))
    now = now or timezone.now()
    version = expected_version if expected_version is not None else case.version
    if case.state not in t.sources or version != case.version:
        raise Conflict(_("该诉求已被他人处理或当前状态不能执行此操作，请刷新后重试"))
    kinds = actor_kinds(actor, case)
    if not kinds & t.actors:
        raise Forbidden(_("您没有权限执行此操作"))
    reason = (reason or "").strip()
    if t.needs_reason and not reason:
        raise InvalidInput.on("reason", _("请填写理由"))

    changes: dict[str, Any] = {"state": t.target}
    after_save: list[Any] = []
    tell_reporter = tell_handler = tell_dispatcher = False
    category: Category | None = data.get("category") or case.category

    if name == "accept":
        if category is None:
            raise InvalidInput.on("category", _("受理时须选择诉求分类"))
        r = route(category, case.area_path)
        changes.update(category=category, accepted_at=now, level=r.level, owner_path=r.owner_path,
                       owner_area_id=_area_id(r.owner_path), priority=category.priority,
                       claimable=bool(data.get("claimable", False)))
        if r.unit_id is not None:
            changes["assignee_unit_id"] = r.unit_id
        tell_reporter = True
    elif name == "reject":
        changes.update(closed_at=now, accepted_at=case.accepted_at or now)
        tell_reporter = True
    elif name == "merge":
        into: Case | None = data.get("into")
        if into is None or into.pk == case.pk:
            raise InvalidInput.on("into", _("请选择要并入的诉求"))
        if into.state not in (State.SUBMITTED, State.ACCEPTED, State.DISPATCHED, State.IN_PROGRESS, State.REOPENED):
            raise InvalidInput.on("into", _("只能并入尚未办结的诉求"))
        changes.update(merged_into=into, closed_at=now)

        def follow(into: Case = into) -> None:
            people = {case.reporter_id, *CaseFollower.objects.filter(case=case).values_list("person_id", flat=True)}
            for pid in people - {None, into.reporter_id}:
                CaseFollower.objects.get_or_create(case=into, person_id=int(pid))  # type: ignore[arg-type]
            Case.objects.filter(pk=into.pk).update(duplicate_count=F("duplicate_count") + 1 + case.duplicate_count)

        after_save.append(follow)
        tell_reporter = True
    elif name == "dispatch":
        unit: MemberUnit | None = data.get("unit", case.assignee_unit)
        if category is None:
            raise InvalidInput.on("category", _("派遣前须确定诉求分类"))
        days = int(data.get("time_limit") or category.time_limit)
        if days <= 0 or days > 365:
            raise InvalidInput.on("time_limit", _("办理时限须在1到365之间"))
        changes.update(assignee_unit=unit, dispatched_at=now,
                       due_at=workdays.deadline(now, days, category.limit_unit), overdue_at=None, due_soon_at=None)
        tell_handler = True
    elif name == "return":
        changes.update(assignee_unit=None)
        tell_dispatcher = True
    elif name == "claim":
        scope = as_scope(actor)
        person_id = scope.person_id
        units = scope.unit_ids(Cap.CASE_HANDLE)
        if category is None:
            raise InvalidInput.on("category", _("该诉求尚未分类"))
        changes.update(claimable=False, dispatched_at=now,
                       due_at=workdays.deadline(now, category.time_limit, category.limit_unit))
        if units:
            changes["assignee_unit_id"] = units[0]
        else:
            changes["claimed_by_id"] = person_id
        tell_reporter = tell_dispatcher = True
    elif name == "handle":
        feedback = (data.get("feedback") or "").strip()
        if not feedback:
            raise InvalidInput.on("feedback", _("请填写办理情况"))
        if case.kind == CaseKind.MEDIATION and case.mediation.outcome == Mediation.Outcome.PENDING:
            raise InvalidInput.on("outcome", _("调解尚未形成结果，请先记录调解结果"))
        photos = _clean_photos(data.get("photos"))
        changes.update(handled_at=now, feedback=feedback, resolved=bool(data.get("resolved", True)))
        after_save.append(lambda: _save_photos(case, photos, CasePhoto.Stage.FEEDBACK))
        tell_reporter = True
    elif name == "verify":
        changes.update(verified_at=now)
        tell_reporter = True
    elif name == "refuse_result":
        changes.update(handled_at=None)
        tell_handler = True
    elif name in ("rate", "reopen"):
        rating = data.get("rating") or (Rating.DISSATISFIED if name == "reopen" else "")
        if rating not in Rating.values:
            raise InvalidInput.on("rating", _("请选择满意、基本满意或不满意"))
        if name == "rate" and rating == Rating.DISSATISFIED:
            raise InvalidInput.on("rating", _("不满意请选择返工"))
        if name == "rate":
            changes.update(rating=rating, **_closing(case, now))
        else:
            if category is None:
                raise InvalidInput.on("category", _("该诉求尚未分类"))
            changes.update(rating=rating, reopen_count=case.reopen_count + 1, handled_at=None, verified_at=None,
                           due_at=workdays.deadline(now, category.time_limit, category.limit_unit), overdue_at=None,
                           due_soon_at=None)
            tell_handler = True
    elif name == "close":
        changes.update(**_closing(case, now))
        tell_reporter = True
    elif name == "escalate":
        level = _next_level(case, data.get("to_level"))
        owner_path = level_path(case.area_path, level)
        changes.update(level=level, owner_path=owner_path, owner_area_id=_area_id(owner_path),
                       assignee_unit=None, claimable=False, escalation_count=case.escalation_count + 1)
        tell_dispatcher = True

    before = audit.snapshot(case, [Case._meta.get_field(k).name for k in changes])
    with rollup.track(case):
        updated = Case.objects.filter(pk=case.pk, version=version, state=case.state).update(
            version=F("version") + 1, **changes
        )
        if updated != 1:
            raise Conflict(_("该诉求已被他人处理或当前状态不能执行此操作，请刷新后重试"))
        case.refresh_from_db()
    for step in after_save:
        step()
    after = audit.snapshot(case, list(before))
    audit.record(actor=actor, action=f"cases.case.{name}", obj=case, before=before, after=after, reason=reason)

    message = _("诉求 {number}「{title}」：{step}").format(number=case.number, title=case.title[:30], step=t.label)
    if tell_reporter:
        notify.notify(_reporter_users(case), case.pk, message)
    if tell_handler:
        notify.notify(_handler_users(case), case.pk, message)
    if tell_dispatcher:
        notify.notify(_users_with(Cap.CASE_DISPATCH, path=case.owner_path), case.pk, message)
    return case


def _closing(case: Case, now: dt.datetime) -> dict[str, Any]:
    on_time = case.due_at is None or (case.handled_at or now) <= case.due_at
    return {"closed_at": now, "closed_level": case.level, "closed_on_time": on_time}


def rate(*, actor: Any, case: Case, rating: str, comment: str = "", expected_version: int | None = None) -> Case:
    """The resident's verdict: 满意/基本满意 closes the case; 不满意 sends it back for rework (返工)."""
    name = "reopen" if rating == Rating.DISSATISFIED else "rate"
    return transition(actor=actor, case=case, name=name, rating=rating, reason=comment or ("不满意" if
                      name == "reopen" else ""), expected_version=expected_version)


# ------------------------------------------------------------------------------------------ extensions


@transaction.atomic
def extension_request(*, actor: Any, case: Case, days: int, reason: str) -> Extension:
    if Actor.HANDLER not in actor_kinds(actor, case):
        raise Forbidden(_("您没有权限执行此操作"))
    if case.state not in (State.DISPATCHED, State.IN_PROGRESS, State.REOPENED):
        raise Conflict(_("当前状态不能申请延期"))
    if not (1 <= int(days) <= 30):
        raise InvalidInput.on("days", _("延期须为1到30个工作日"))
    if not reason.strip():
        raise InvalidInput.on("reason", _("请填写理由"))
    if case.extensions.filter(decision=Extension.Decision.PENDING).exists():
        raise Conflict(_("已有待审批的延期申请"))
    ext = Extension.objects.create(case=case, days=int(days), reason=reason.strip(), requested_by=actor)
    audit.record(actor=actor, action="cases.extension.request", obj=case, after={"days": ext.days}, reason=reason)
    notify.notify(_users_with(Cap.CASE_DISPATCH, path=case.owner_path), case.pk,
                  _("诉求 {number} 申请延期 {days} 个工作日").format(number=case.number, days=ext.days))
    return ext


@transaction.atomic
def extension_decide(*, actor: Any, extension: Extension, approve: bool, reason: str = "",
                     now: dt.datetime | None = None) -> Extension:
    case = extension.case
    if Actor.DISPATCHER not in actor_kinds(actor, case):
        raise Forbidden(_("您没有权限执行此操作"))
    now = now or timezone.now()
    claimed = Extension.objects.filter(pk=extension.pk, decision=Extension.Decision.PENDING).update(
        decision=Extension.Decision.APPROVED if approve else Extension.Decision.REFUSED, decided_by=actor,
        decided_at=now,
    )
    if not claimed:
        raise Conflict(_("该延期申请已处理"))
    before = {"due_at": case.due_at}
    with rollup.track(case):
        if approve and case.due_at is not None:
            new_due = workdays.add_workdays(case.due_at, extension.days)
            Case.objects.filter(pk=case.pk).update(
                due_at=new_due, overdue_at=None if new_due > now else case.overdue_at, version=F("version") + 1
            )
        case.refresh_from_db()
    extension.refresh_from_db()
    audit.record(actor=actor, action="cases.extension.decide", obj=case, before=before,
                 after={"due_at": case.due_at, "approved": approve}, reason=reason)
    notify.notify(_handler_users(case), case.pk, _("诉求 {number} 延期申请：{result}").format(
        number=case.number, result=_("已批准") if approve else _("不予批准")))
    return extension


# ------------------------------------------------------------------------------------------ mediation (B8)


@transaction.atomic
def hearing_record(*, actor: Any, case: Case, held_at: dt.datetime, place: str, mediators: str,
                   notes: str) -> Hearing:
    if case.kind != CaseKind.MEDIATION:
        raise InvalidInput.on("case", _("该诉求不是矛盾纠纷调解"))
    if Actor.HANDLER not in actor_kinds(actor, case):
        raise Forbidden(_("您没有权限执行此操作"))
    if case.state != State.IN_PROGRESS:
        raise Conflict(_("请先签收办理"))
    hearing = Hearing(mediation=case.mediation, held_at=held_at, place=place.strip(), mediators=mediators.strip(),
                      notes=notes.strip())
    validate(hearing)
    hearing.save()
    audit.record(actor=actor, action="cases.mediation.hearing", obj=case,
                 after={"held_at": held_at, "place": hearing.place})
    return hearing


@transaction.atomic
def mediation_conclude(*, actor: Any, case: Case, outcome: str, agreement: str = "") -> Mediation:
    if case.kind != CaseKind.MEDIATION:
        raise InvalidInput.on("case", _("该诉求不是矛盾纠纷调解"))
    if Actor.HANDLER not in actor_kinds(actor, case):
        raise Forbidden(_("您没有权限执行此操作"))
    mediation = case.mediation
    if outcome not in (Mediation.Outcome.AGREEMENT, Mediation.Outcome.NO_AGREEMENT):
        raise InvalidInput.on("outcome", _("请选择调解结果"))
    if outcome == Mediation.Outcome.AGREEMENT and not agreement.strip():
        raise InvalidInput.on("agreement", _("达成协议须填写协议内容"))
    if not mediation.hearings.exists():
        raise InvalidInput.on("outcome", _("尚无调解记录"))
    before = {"outcome": mediation.outcome}
    mediation.outcome, mediation.agreement = outcome, agreement.strip()
    mediation.save(update_fields=["outcome", "agreement"])
    audit.record(actor=actor, action="cases.mediation.conclude", obj=case, before=before, after={"outcome": outcome})
    return mediation


# ------------------------------------------------------------------------------------------ jobs


def mark_overdue(now: dt.datetime | None = None) -> int:
    """Flag cases past their deadline. Idempotent and safe from several processes: each row is claimed with a
    conditional update, so only one process flags (and notifies about) a given case."""
    now = now or timezone.now()
    running = [State.DISPATCHED, State.IN_PROGRESS, State.REOPENED, State.RETURNED, State.ACCEPTED]
    flagged = 0
    candidates = Case.objects.filter(state__in=running, due_at__lt=now, overdue_at__isnull=True)
    for case_id in candidates.values_list("pk", flat=True)[:5000].iterator():
        with transaction.atomic():
            case = Case.objects.get(pk=case_id)
            with rollup.track(case):
                if not Case.objects.filter(pk=case_id, overdue_at__isnull=True, due_at__lt=now).update(overdue_at=now):
                    continue  # another worker got there first
                case.refresh_from_db()
            audit.record(actor=None, action="cases.case.overdue", obj=case, after={"overdue_at": now})
            notify.notify(_handler_users(case) + _users_with(Cap.CASE_DISPATCH, path=case.owner_path), case.pk,
                          _("诉求 {number} 已超期").format(number=case.number))
            flagged += 1
    return flagged


def warn_due_soon(now: dt.datetime | None = None) -> int:
    """Warn handlers of cases whose deadline falls within the configured working hours (once per deadline)."""
    now = now or timezone.now()
    horizon = workdays.add_work_hours(now, CaseSettings.current().due_soon_hours)
    running = [State.DISPATCHED, State.IN_PROGRESS, State.REOPENED]
    warned = 0
    for case_id in (Case.objects.filter(state__in=running, due_at__gte=now, due_at__lte=horizon,
                                        due_soon_at__isnull=True).values_list("pk", flat=True)[:5000].iterator()):
        with transaction.atomic():
            if not Case.objects.filter(pk=case_id, due_soon_at__isnull=True).update(due_soon_at=now):
                continue
            case = Case.objects.get(pk=case_id)
            notify.notify(_handler_users(case), case.pk, _("诉求 {number} 即将到期").format(number=case.number))
            warned += 1
    return warned


def close_unrated(now: dt.datetime | None = None) -> int:
    """Close verified cases the reporter has not rated within the rating window (as the system)."""
    now = now or timezone.now()
    window = CaseSettings.current().rating_window_days
    closed = 0
    for case in Case.objects.filter(state=State.VERIFIED, verified_at__isnull=False)[:5000]:
        if workdays.add_workdays(case.verified_at, window) < now:  # type: ignore[arg-type]
            try:
                transition(actor=None, case=case, name="close", reason="评价期满自动结案", now=now)
                closed += 1
            except Conflict:
                continue
    return closed


# ------------------------------------------------------------------------------------------ configuration


def _require_configure(actor: Any) -> None:
    if actor is not None and not as_scope(actor).has(Cap.CASE_CONFIGURE):
        raise Forbidden(_("您没有权限执行此操作"))


@transaction.atomic
def routing_rule_create(*, actor: Any, area: Area, level: str, category: Category | None = None,
                        unit: MemberUnit | None = None) -> RoutingRule:
    _require_configure(actor)
    if level not in Level.values:
        raise InvalidInput.on("level", _("未知层级"))
    if _LEVEL_DEPTH[level] < area.depth and unit is None:
        raise InvalidInput.on("level", _("承办层级不能高于规则区域"))
    rule = RoutingRule.objects.create(area=area, level=level, category=category, unit=unit)
    transaction.on_commit(RULES.invalidate)
    audit.record(actor=actor, action="cases.routing_rule.create", obj=rule,
                 after={"area": area.code, "level": level, "category": category.code if category else None,
                        "unit": unit.pk if unit else None}, area_path=area.path)
    return rule


@transaction.atomic
def calendar_day_set(*, actor: Any, day: dt.date, is_workday: bool, note: str = "") -> None:
    _require_configure(actor)
    from .models import CalendarDay

    obj, _created = CalendarDay.objects.update_or_create(day=day, defaults={"is_workday": is_workday,
                                                                             "note": note[:50]})
    audit.record(actor=actor, action="cases.calendar.set", obj=obj, after={"day": day, "is_workday": is_workday})
    transaction.on_commit(workdays.clear_cache)
    workdays.clear_cache()


User = get_user_model()
