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
from gongzhi.core import scope as core_scope
from gongzhi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from gongzhi.core.scope import as_scope
from gongzhi.core.snapshot import Snapshot
from gongzhi.core.validators import bounded_text, normalize_phone, visible_text
from gongzhi.core.writes import validate
from gongzhi.notifications.models import Kind
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
    CaseUpdate,
    CaseVisit,
    Category,
    Channel,
    Extension,
    Hearing,
    Level,
    Mediation,
    Rating,
    RoutingRule,
)
from .workflow import FINAL_STATES, TRANSITIONS, Actor, State, Transition

MAX_PHOTOS = 6
MAX_PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_SIGNATURES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
_LEVEL_DEPTH: dict[str, int] = {"city": 1, "district": 2, "street": 3, "community": 4, "grid": 5}
_STEP = Area.steplen


# ------------------------------------------------------------------------------------------ routing


# Other modules that act on every new case or every acceptance (dispatch intelligence: suggest a category at intake,
# learn from what the dispatcher chose). Registered from their AppConfig.ready; each runs inside the same
# transaction as the step, so a failure leaves nothing half-written.
INTAKE_HOOKS: list[Any] = []  # hook(case, actor)
ACCEPT_HOOKS: list[Any] = []  # hook(case, category, actor)


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


MAX_PHOTO_PIXELS = 40_000_000  # a 5 MB file that unpacks to more is a decompression bomb, not a photo


def reencode_photo(data: bytes, *, field: str = "photo") -> tuple[bytes, str]:
    """Decode a JPEG or PNG with Pillow and encode it afresh: what is stored is only pixels (turned upright by its
    EXIF orientation), without metadata (GPS, camera) and without anything appended to or hidden in the file, so a
    file that merely starts with an image signature (a PNG header followed by HTML) is refused."""
    from io import BytesIO

    from PIL import Image, ImageOps, UnidentifiedImageError

    if not any(data.startswith(sig) for sig in PHOTO_SIGNATURES):
        raise InvalidInput.on(field, _("照片须为 JPEG 或 PNG 格式"))
    try:
        with Image.open(BytesIO(data), formats=["JPEG", "PNG"]) as img:
            if img.width * img.height > MAX_PHOTO_PIXELS:
                raise InvalidInput.on(field, _("照片像素过多，请缩小后再上传"))
            img.load()
            fmt = img.format
            upright = ImageOps.exif_transpose(img)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InvalidInput.on(field, _("照片无法识别，须为完整的 JPEG 或 PNG 图片")) from None
    out = BytesIO()
    if fmt == "PNG":
        if upright.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
            upright = upright.convert("RGBA")
        upright.save(out, format="PNG")
        return out.getvalue(), "image/png"
    if upright.mode not in ("L", "RGB"):
        upright = upright.convert("RGB")
    upright.save(out, format="JPEG", quality=88)
    return out.getvalue(), "image/jpeg"


def _clean_photos(photos: list[tuple[str, bytes]] | None, field: str = "photos") -> list[tuple[str, bytes, str]]:
    cleaned = []
    for i, (name, data) in enumerate(photos or []):
        if len(data) > MAX_PHOTO_BYTES:
            raise InvalidInput.on(f"{field}[{i}]", _("照片不能超过5MB"))
        data, kind = reencode_photo(data, field=f"{field}[{i}]")
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
    reporter_phone: str = "",
    photos: list[tuple[str, bytes]] | None = None,
    kind: str = CaseKind.GENERAL,
    parties: list[dict[str, str]] | None = None,
    is_public: bool = True,
    now: dt.datetime | None = None,
) -> Case:
    """A resident, grid worker or channel reports a problem. The location is a point (→ its grid, through the
    registry's lookup) or a node the reporter picks (compound, building).

    Staff register a case *for* a resident (at a window, on the hotline, on patrol): they name the channel and pick
    the resident (``reporter``) or give her phone number (``reporter_phone``), which finds her person record when
    there is exactly one; she then sees the case among hers and rates it. A number that matches nobody is kept as
    the contact."""
    scope = as_scope(actor) if actor is not None else None
    if scope is not None and not scope.has(Cap.CASE_REPORT):
        raise Forbidden(_("您没有权限执行此操作"))
    now = now or timezone.now()
    staff = scope is None or scope.has(Cap.CASE_VIEW)
    if channel not in Channel.values:
        raise InvalidInput.on("channel", _("未知来源渠道"))
    if not staff and channel not in (Channel.RESIDENT_APP, Channel.OPEN311):
        raise InvalidInput.on("channel", _("居民只能通过随手拍反映诉求"))
    if reporter is None and reporter_phone:
        reporter = _person_by_phone(actor, reporter_phone)
        if reporter is None and not contact_phone:
            contact_phone = reporter_phone
    if reporter is not None and scope is not None and reporter.pk != scope.person_id:
        if not staff:
            raise Forbidden(_("只有工作人员可以代居民反映诉求"))
        if not core_scope.scoped(actor, Person).filter(pk=reporter.pk).exists():
            raise InvalidInput.on("reporter", _("反映人不在您的工作范围内"))
    for_someone = reporter is not None or bool(contact_name or contact_phone)
    reporter_id = reporter.pk if reporter is not None else (
        scope.person_id if scope is not None and not for_someone else None)
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
        kind=kind, title=visible_text(title, "title", max_length=100),
        description=bounded_text(description, "description", 4000), channel=channel,
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
                        "level": case.level, "category": category.code if category else None,
                        "reporter": reporter_id})
    for hook in INTAKE_HOOKS:
        hook(case, actor)
    rollup.add(case)  # last: the day's row stays locked only until the commit that follows
    return case


def _person_by_phone(actor: Any, phone: str) -> Person | None:
    """The one person with this phone number among those the actor may see (``None``: nobody; several: ask)."""
    number = normalize_phone(phone, "reporter_phone")
    people = Person.objects.all() if actor is None else core_scope.scoped(actor, Person)
    found = list(people.filter(phone=number).order_by("pk")[:2])
    if len(found) > 1:
        raise InvalidInput.on("reporter_phone", _("该手机号对应多名居民，请直接选择反映人"))
    return found[0] if found else None


# ------------------------------------------------------------------------------------------ transitions


def _own_staff(scope: Any, case: Case) -> bool:
    """The owning level's own staff (本级工作力量): a case role held on the owning node itself — a street's
    officials and dispatchers for a case the street keeps, a community's workers for the community's."""
    return any(g.area_path == case.owner_path and (Cap.CASE_HANDLE in g.caps or Cap.CASE_DISPATCH in g.caps)
               for g in scope.grants)


def _superior(scope: Any, case: Case) -> bool:
    """A dispatcher of a level above the one that owns the case (督办)."""
    return any(Cap.CASE_DISPATCH in g.caps and g.area_path is not None and len(g.area_path) < len(case.owner_path)
               and case.owner_path.startswith(g.area_path) for g in scope.grants)


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
    elif scope.can(Cap.CASE_HANDLE, area_path=case.owner_path) or _own_staff(scope, case):
        kinds.add(Actor.HANDLER)
    if case.claimed_by_id and case.claimed_by_id == scope.person_id:
        kinds.add(Actor.HANDLER)
    if scope.can(Cap.CASE_VERIFY, area_path=case.area_path):
        kinds.add(Actor.VERIFIER)
    if case.reporter_id and case.reporter_id == scope.person_id:
        kinds.add(Actor.REPORTER)
    if case.claimable and can_claim(scope):
        kinds.add(Actor.CLAIMANT)
    if _superior(scope, case):
        kinds.add(Actor.SUPERIOR)
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
    users = _users_with(Cap.CASE_HANDLE, path=case.owner_path) + _users_with(Cap.CASE_DISPATCH, path=case.owner_path)
    if case.claimed_by_id:
        users += [u for u in Person.objects.filter(pk=case.claimed_by_id).values_list("user_id", flat=True) if u]
    return users


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
    now = now or timezone.now()

    def authorise(t: Transition) -> None:
        if not actor_kinds(actor, case) & t.actors:
            raise Forbidden(_("您没有权限执行此操作"))

    t, version, reason = TRANSITIONS.check(case, name, expected_version=expected_version, reason=reason,
                                           authorise=authorise)

    changes: dict[str, Any] = {}
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
            added = 0
            for pid in people - {None, into.reporter_id}:
                _row, created = CaseFollower.objects.get_or_create(
                    case=into, person_id=int(pid), defaults={"kind": CaseFollower.Kind.MERGED})  # type: ignore[arg-type]
                added += int(created)
            Case.objects.filter(pk=into.pk).update(duplicate_count=F("duplicate_count") + 1 + case.duplicate_count,
                                                   follower_count=F("follower_count") + added)

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
        tell_handler = tell_reporter = True
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
    elif name == "start":
        tell_reporter = True  # 已签收办理: she sees someone has taken it up
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
            tell_handler = True
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
    elif name == "withdraw":
        changes.update(closed_at=now, claimable=False)
        tell_handler = case.state in (State.DISPATCHED, State.IN_PROGRESS)
        tell_dispatcher = True
    elif name == "supervise":
        due = _new_deadline(data.get("due_at"), now)
        changes.update(supervised_at=now)
        if due is not None:
            changes.update(due_at=due, overdue_at=None, due_soon_at=None)
        tell_handler = True
        tell_dispatcher = case.state in (State.ACCEPTED, State.RETURNED)
    elif name == "urge":
        changes.update(urge_count=case.urge_count + 1)
        tell_handler = True
        tell_dispatcher = case.state in (State.ACCEPTED, State.RETURNED)
    elif name == "escalate":
        level = _next_level(case, data.get("to_level"))
        owner_path = level_path(case.area_path, level)
        changes.update(level=level, owner_path=owner_path, owner_area_id=_area_id(owner_path),
                       assignee_unit=None, claimable=False, escalation_count=case.escalation_count + 1)
        tell_dispatcher = True

    if name == "accept":
        after_save.extend(lambda hook=hook: hook(case, category, actor) for hook in ACCEPT_HOOKS)
    TRANSITIONS.apply(actor=actor, obj=case, name=name, version=version, changes=changes, reason=reason,
                      around=rollup.track, then=after_save)

    with notify.platform_language():  # stored for the people told, whatever language the actor uses
        message = _("诉求 {number}「{title}」：{step}").format(number=case.number, title=case.title[:30],
                                                          step=t.label)
        if not t.moves and reason:
            message = _("诉求 {number}「{title}」：{step}（{note}）").format(
                number=case.number, title=case.title[:30], step=t.label, note=reason[:100])
    if tell_reporter:
        notify.notify(_reporter_users(case), case.pk, message)
    if tell_handler:
        notify.notify(_handler_users(case), case.pk, message)
    if tell_dispatcher:
        notify.notify(_users_with(Cap.CASE_DISPATCH, path=case.owner_path), case.pk, message)
    return case


def _new_deadline(value: Any, now: dt.datetime) -> dt.datetime | None:
    """督办's new deadline: a date (the end of that day) or a moment, after now and within a year."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        due = value if timezone.is_aware(value) else value.replace(tzinfo=workdays.TZ)
    elif isinstance(value, dt.date):
        due = dt.datetime.combine(value, dt.time(23, 59, 59), tzinfo=workdays.TZ)
    else:
        raise InvalidInput.on("due_at", _("新的办结时限格式无效"))
    if due <= now:
        raise InvalidInput.on("due_at", _("新的办结时限须晚于现在"))
    if due > now + dt.timedelta(days=366):
        raise InvalidInput.on("due_at", _("新的办结时限不能超过一年"))
    return due


def _closing(case: Case, now: dt.datetime) -> dict[str, Any]:
    on_time = case.due_at is None or (case.handled_at or now) <= case.due_at
    return {"closed_at": now, "closed_level": case.level, "closed_on_time": on_time}


def rate(*, actor: Any, case: Case, rating: str, comment: str = "", expected_version: int | None = None) -> Case:
    """The resident's verdict: 满意/基本满意 closes the case; 不满意 sends it back for rework (返工)."""
    name = "reopen" if rating == Rating.DISSATISFIED else "rate"
    return transition(actor=actor, case=case, name=name, rating=rating, reason=comment or ("不满意" if
                      name == "reopen" else ""), expected_version=expected_version)


# ------------------------------------------------------------------------------------------ residents' own channel


MAX_UPDATE_PHOTOS = 6


@transaction.atomic
def case_update_add(*, actor: Any, case: Case, text: str = "", photos: list[tuple[str, bytes]] | None = None,
                    now: dt.datetime | None = None) -> CaseUpdate:
    """The reporter adds to her case: a few words (补充说明), photos, or both. The case does not move (no version
    step: staff acting on it at the same moment are not disturbed); whoever holds it hears of it."""
    scope = as_scope(actor)
    if not (case.reporter_id and case.reporter_id == scope.person_id):
        raise Forbidden(_("只有反映人可以补充诉求"))
    if case.state in FINAL_STATES:
        raise Conflict(_("该诉求已结束，不能再补充"))
    text = (text or "").strip()
    if len(text) > 1000:
        raise InvalidInput.on("text", _("补充说明不能超过1000字"))
    cleaned = _clean_photos(photos)
    if not text and not cleaned:
        raise InvalidInput.on("text", _("请填写补充说明或上传照片"))
    if cleaned and case.photos.filter(stage=CasePhoto.Stage.UPDATE).count() + len(cleaned) > MAX_UPDATE_PHOTOS:
        raise InvalidInput.on("photos", _("补充照片最多6张"))
    update = CaseUpdate.objects.create(case=case, person_id=scope.person_id, text=text, photo_count=len(cleaned),
                                       created_at=now or timezone.now())
    _save_photos(case, cleaned, CasePhoto.Stage.UPDATE)
    audit.record(actor=actor, action="cases.case.update", obj=case, after={"photos": len(cleaned)},
                 reason=text[:500])
    with notify.platform_language():
        message = _("诉求 {number}「{title}」：反映人补充了情况").format(number=case.number, title=case.title[:30])
    if case.state in (State.DISPATCHED, State.IN_PROGRESS, State.REOPENED):
        notify.notify(_handler_users(case), case.pk, message)
    else:
        notify.notify(_users_with(Cap.CASE_DISPATCH, path=case.owner_path), case.pk, message)
    return update


def _may_see(actor: Any, case: Case) -> bool:
    public = case.is_public and case.state not in (State.REJECTED, State.MERGED, State.WITHDRAWN)
    return public or core_scope.scoped(actor, Case).filter(pk=case.pk).exists()


@transaction.atomic
def case_follow(*, actor: Any, case: Case) -> CaseFollower:
    """我也遇到: a resident who meets the same problem follows a public case (or one she may see) and hears of
    every step; each follower adds to the case's heat, which the workbench and the duplicate lists show."""
    scope = as_scope(actor)
    if scope.person_id is None:
        raise Forbidden(_("完成居民实名登记后才能关注诉求"))
    if not _may_see(actor, case):
        raise NotFound(_("未找到"))
    if case.reporter_id == scope.person_id:
        raise InvalidInput.on("case", _("您是反映人，每一步进展都会通知您，无需关注"))
    if case.state in FINAL_STATES:
        raise Conflict(_("该诉求已结束，不能再关注"))
    follower, created = CaseFollower.objects.get_or_create(case=case, person_id=scope.person_id,
                                                           defaults={"kind": CaseFollower.Kind.ME_TOO})
    if created:
        Case.objects.filter(pk=case.pk).update(follower_count=F("follower_count") + 1)
        case.refresh_from_db(fields=["follower_count"])
        audit.record(actor=actor, action="cases.case.follow", obj=case,
                     after={"follower_count": case.follower_count})
    return follower


@transaction.atomic
def case_unfollow(*, actor: Any, case: Case) -> None:
    """Stop following a case (我也遇到 or after a merge)."""
    scope = as_scope(actor)
    deleted = 0
    if scope.person_id is not None:
        deleted, _rows = CaseFollower.objects.filter(case=case, person_id=scope.person_id).delete()
    if not deleted:
        raise InvalidInput.on("case", _("您没有关注该诉求"))
    Case.objects.filter(pk=case.pk, follower_count__gt=0).update(follower_count=F("follower_count") - 1)
    case.refresh_from_db(fields=["follower_count"])
    audit.record(actor=actor, action="cases.case.unfollow", obj=case, after={"follower_count": case.follower_count})


@transaction.atomic
def case_visit_record(*, actor: Any, case: Case, method: str, result: str, satisfaction: str = "",
                      note: str = "", now: dt.datetime | None = None) -> CaseVisit:
    """回访: after a case is closed, its dispatchers or verifiers (or a superior) call the reporter or send her a
    questionnaire, and record the result, her satisfaction and a note."""
    if not actor_kinds(actor, case) & {Actor.DISPATCHER, Actor.VERIFIER, Actor.SUPERIOR}:
        raise Forbidden(_("您没有权限执行此操作"))
    if case.state != State.CLOSED:
        raise Conflict(_("诉求办结后才能回访"))
    if method not in CaseVisit.Method.values:
        raise InvalidInput.on("method", _("请选择回访方式"))
    if result not in CaseVisit.Result.values:
        raise InvalidInput.on("result", _("请选择回访结果"))
    if result == CaseVisit.Result.UNREACHABLE:
        satisfaction = ""
    elif satisfaction not in Rating.values:
        raise InvalidInput.on("satisfaction", _("请选择满意、基本满意或不满意"))
    note = (note or "").strip()
    if len(note) > 1000:
        raise InvalidInput.on("note", _("回访记录不能超过1000字"))
    visit = CaseVisit.objects.create(case=case, method=method, result=result, satisfaction=satisfaction, note=note,
                                     by=actor, at=now or timezone.now(), area_path=case.area_path)
    audit.record(actor=actor, action="cases.case.visit", obj=case,
                 after={"method": method, "result": result, "satisfaction": satisfaction}, reason=note[:500])
    return visit


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
    with notify.platform_language():
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
    with notify.platform_language():
        notify.notify(_handler_users(case), case.pk, _("诉求 {number} 延期申请：{result}").format(
            number=case.number, result=_("已批准") if approve else _("不予批准")))
    return extension


# ------------------------------------------------------------------------------------------ mediation (B8)


@transaction.atomic
def hearing_record(*, actor: Any, case: Case, held_at: dt.datetime, place: str, mediators: str = "",
                   notes: str, mediator_people: list[Person] | None = None) -> Hearing:
    """A mediation session. ``mediator_people`` are members of the case's mediation team who mediated (their names
    go into ``mediators`` before anyone named there from outside the team, e.g. a lawyer or the police)."""
    if case.kind != CaseKind.MEDIATION:
        raise InvalidInput.on("case", _("该诉求不是矛盾纠纷调解"))
    if not may_mediate(actor, case):
        raise Forbidden(_("您没有权限执行此操作"))
    if case.state != State.IN_PROGRESS:
        raise Conflict(_("请先签收办理"))
    mediation = case.mediation
    people = _team_mediators(mediation, mediator_people or [])
    names = "、".join([p.name for p in people] + ([mediators.strip()] if mediators.strip() else []))
    if not names:
        raise InvalidInput.on("mediators", _("请选择或填写调解员"))
    if len(names) > 200:
        raise InvalidInput.on("mediators", _("调解员不能超过200个字"))
    hearing = Hearing(mediation=mediation, held_at=held_at, place=place.strip(), mediators=names,
                      notes=notes.strip())
    validate(hearing)
    hearing.save()
    if people:
        hearing.mediator_people.set(people)
    audit.record(actor=actor, action="cases.mediation.hearing", obj=case,
                 after={"held_at": held_at, "place": hearing.place, "mediators": names})
    return hearing


@transaction.atomic
def mediation_conclude(*, actor: Any, case: Case, outcome: str, agreement: str = "") -> Mediation:
    if case.kind != CaseKind.MEDIATION:
        raise InvalidInput.on("case", _("该诉求不是矛盾纠纷调解"))
    if not may_mediate(actor, case):
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
                          _("诉求 {number} 已超期").format(number=case.number), kind=Kind.CASE_OVERDUE)
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
            notify.notify(_handler_users(case), case.pk, _("诉求 {number} 即将到期").format(number=case.number),
                          kind=Kind.CASE_DUE_SOON)
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
    """A rule: cases of ``category`` (and its subtree; none = every category) located under ``area`` go to
    ``level`` (the owning level's dispatchers) and, when given, to ``unit`` as the suggested handler."""
    if actor is not None and not as_scope(actor).can(Cap.CASE_CONFIGURE, area_path=area.path):
        raise Forbidden(_("您没有权限执行此操作"))
    if level not in Level.values:
        raise InvalidInput.on("level", _("未知层级"))
    if area.depth > _LEVEL_DEPTH["grid"] + 1:
        raise InvalidInput.on("area", _("规则区域须为市、区、街道、社区、网格或小区"))
    if _LEVEL_DEPTH[level] < area.depth and unit is None:
        raise InvalidInput.on("level", _("承办层级不能高于规则区域"))
    if category is not None and not category.active:
        raise InvalidInput.on("category", _("该诉求分类已停用"))
    if RoutingRule.objects.filter(area=area, category=category).exists():
        raise InvalidInput.on("category", _("该区域已有此分类的派单规则，请先删除原规则"))
    rule = RoutingRule.objects.create(area=area, level=level, category=category, unit=unit)
    RULES.invalidate()
    transaction.on_commit(RULES.invalidate)
    audit.record(actor=actor, action="cases.routing_rule.create", obj=rule,
                 after={"area": area.code, "level": level, "category": category.code if category else None,
                        "unit": unit.pk if unit else None}, area_path=area.path)
    return rule


@transaction.atomic
def calendar_day_set(*, actor: Any, day: dt.date, is_workday: bool, note: str = "") -> CalendarDay:
    """Record ``day`` as a holiday (休) or a 调休 working day (班) in the administrator's table, which wins over
    the official calendar (chinesecalendar) and the Monday–Friday fallback."""
    _require_configure(actor)
    if not isinstance(day, dt.date) or not CALENDAR_YEARS[0] <= day.year <= CALENDAR_YEARS[1]:
        raise InvalidInput.on("day", _("日期须在{start}年到{end}年之间").format(start=CALENDAR_YEARS[0],
                                                                             end=CALENDAR_YEARS[1]))
    note = (note or "").strip()
    if len(note) > 50:
        raise InvalidInput.on("note", _("说明不能超过50个字"))
    old = CalendarDay.objects.filter(day=day).first()
    before = {"day": day, "is_workday": old.is_workday, "note": old.note} if old else None
    obj, _created = CalendarDay.objects.update_or_create(day=day, defaults={"is_workday": is_workday, "note": note})
    audit.record(actor=actor, action="cases.calendar.set", obj=obj, before=before,
                 after={"day": day, "is_workday": is_workday, "note": note})
    transaction.on_commit(workdays.clear_cache)
    workdays.clear_cache()
    return obj


User = get_user_model()


# ---- configuration (calendar, routing rules)

# This section's own imports (kept here so the section stays self-contained).
from django.db.models import QuerySet  # noqa: E402

from gongzhi.core.scope import scoped  # noqa: E402

from .models import CalendarDay  # noqa: E402

CALENDAR_YEARS = (2000, 2100)  # the years the calendar pages and API accept


@transaction.atomic
def calendar_day_clear(*, actor: Any, day: dt.date) -> None:
    """Remove the administrator's entry for ``day``: the official calendar (or Monday–Friday) applies again."""
    _require_configure(actor)
    obj = CalendarDay.objects.filter(day=day).first()
    if obj is None:
        raise InvalidInput.on("day", _("该日期没有人工调整，无需清除"))
    audit.record(actor=actor, action="cases.calendar.clear", obj=obj,
                 before={"day": obj.day, "is_workday": obj.is_workday, "note": obj.note})
    obj.delete()
    transaction.on_commit(workdays.clear_cache)
    workdays.clear_cache()


@dataclass(frozen=True)
class CalendarDayInfo:
    day: dt.date
    is_workday: bool
    source: str  # "table" (the administrator's table), "official" (chinesecalendar), "weekday" (Mon–Fri)
    note: str  # the table's note, or the official holiday's name


@dataclass(frozen=True)
class CalendarYear:
    year: int
    official: bool  # chinesecalendar covers the year
    table_holidays: int  # holidays (休) recorded in the administrator's table for the year
    days: list[CalendarDayInfo]

    @property
    def covered(self) -> bool:
        return self.official or self.table_holidays > 0

    @property
    def table_days(self) -> list[CalendarDayInfo]:
        return [d for d in self.days if d.source == "table"]


def calendar_source_label(source: str) -> str:
    labels = {"table": _("管理员设定"), "official": _("国务院放假安排"), "weekday": _("默认周一至周五")}
    return labels.get(source, source)


def _official_holiday_names() -> dict[str, str]:
    """The official holidays' names in the request's language (chinesecalendar knows them in Chinese and English)."""
    import chinese_calendar
    from django.utils.translation import get_language

    chinese = (get_language() or "zh-hans").startswith("zh")
    return {h.value: h.chinese if chinese else h.value for h in chinese_calendar.Holiday}


def _official_covers(year: int) -> bool:
    return workdays.library_covers(dt.date(year, 1, 1)) and workdays.library_covers(dt.date(year, 12, 31))


def _check_year(year: int) -> None:
    if not CALENDAR_YEARS[0] <= year <= CALENDAR_YEARS[1]:
        raise InvalidInput.on("year", _("年份须在{start}年到{end}年之间").format(start=CALENDAR_YEARS[0],
                                                                             end=CALENDAR_YEARS[1]))


def calendar_year_covered(year: int) -> bool:
    """Does the official calendar or the administrator's table know the holidays of ``year``? (at most one query)"""
    _check_year(year)
    if _official_covers(year):
        return True
    return CalendarDay.objects.filter(day__gte=dt.date(year, 1, 1), day__lte=dt.date(year, 12, 31),
                                      is_workday=False).exists()


def calendar_year(year: int) -> CalendarYear:
    """Every day of ``year``: working day or not, and where that comes from — the administrator's table first,
    then the official calendar, then Monday–Friday (the same order :mod:`gongzhi.core.workdays` applies). One query."""
    import chinese_calendar

    _check_year(year)
    rows = {d.day: d for d in CalendarDay.objects.filter(day__gte=dt.date(year, 1, 1), day__lte=dt.date(year, 12, 31))}
    official = _official_covers(year)
    names = _official_holiday_names() if official else {}
    days: list[CalendarDayInfo] = []
    day = dt.date(year, 1, 1)
    while day.year == year:
        row = rows.get(day)
        if row is not None:
            days.append(CalendarDayInfo(day, row.is_workday, "table", row.note))
        elif official:
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
            is_work = bool(chinese_calendar.is_workday(day))
            note = names.get(name, name or "") if name and (on_holiday or is_work) else ""
            days.append(CalendarDayInfo(day, is_work, "official", note))
        else:
            days.append(CalendarDayInfo(day, day.weekday() < 5, "weekday", ""))
        day += dt.timedelta(days=1)
    return CalendarYear(year=year, official=official,
                        table_holidays=sum(1 for r in rows.values() if not r.is_workday), days=days)


def routing_rules(actor: Any) -> QuerySet[RoutingRule]:
    """The routing rules whose area lies in the part of the tree ``actor`` configures."""
    return RoutingRule.objects.filter(area__in=scoped(actor, Area, cap=Cap.CASE_CONFIGURE))


@transaction.atomic
def routing_rule_delete(*, actor: Any, rule: RoutingRule, reason: str = "") -> None:
    """Remove a routing rule: from now on cases it matched follow the next rule, or the category's default level."""
    area_path = Area.objects.values_list("path", flat=True).get(pk=rule.area_id)
    if actor is not None and not as_scope(actor).can(Cap.CASE_CONFIGURE, area_path=area_path):
        raise Forbidden(_("您没有权限执行此操作"))
    reason = (reason or "").strip()
    if len(reason) > 200:
        raise InvalidInput.on("reason", _("原因不能超过200个字"))
    audit.record(actor=actor, action="cases.routing_rule.delete", obj=rule, reason=reason, area_path=area_path,
                 before={"area": rule.area_id, "level": rule.level, "category": rule.category_id,
                         "unit": rule.unit_id})
    rule.delete()
    RULES.invalidate()
    transaction.on_commit(RULES.invalidate)


@dataclass(frozen=True)
class RoutePreview:
    route: Route
    owner: Area
    unit: MemberUnit | None
    default_level: str  # where the category alone would send the case


def routing_preview(*, category: Category | None, area: Area) -> RoutePreview:
    """Where a new case of ``category`` located at ``area`` would be routed now (what :func:`route` answers)."""
    if area.kind not in (AreaKind.GRID, AreaKind.COMPOUND, AreaKind.BUILDING, AreaKind.COMMUNITY):
        raise InvalidInput.on("area", _("发生地须为社区、网格、小区或楼栋"))
    r = route(category, area.path)
    owner = Area.objects.get(path=r.owner_path)
    unit = MemberUnit.objects.filter(pk=r.unit_id).first() if r.unit_id else None
    return RoutePreview(route=r, owner=owner, unit=unit,
                        default_level=category.default_level if category else Level.COMMUNITY)


# ---- mediation teams

# This section's own imports (kept here so the section stays self-contained).
from gongzhi.core.permissions import require  # noqa: E402
from gongzhi.core.writes import apply_changes  # noqa: E402

from .models import MediationRole, MediationTeam, MediationTeamKind, MediationTeamMember  # noqa: E402

TEAM_AREA_KINDS = (AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY)
MAX_PARTIES = 20


def _team_path(team: MediationTeam) -> str:
    return Area.objects.values_list("path", flat=True).get(pk=team.area_id)


def _clean_phone(phone: str) -> str:
    phone = (phone or "").strip()
    return normalize_phone(phone, "phone") if phone else ""


@transaction.atomic
def mediation_team_create(*, actor: Any, area: Area, name: str, kind: str, place: str = "",
                          phone: str = "") -> MediationTeam:
    """A mediation team (移动调解室, 物业纠纷调解中心 or its street branch, 人民调解委员会, 评理说事点…) serving
    ``area`` — a district, street or community — and the disputes located there."""
    require(actor, Cap.EDIT_REGISTRY, area_path=area.path)
    if area.kind not in TEAM_AREA_KINDS:
        raise InvalidInput.on("area", _("服务区域须为区、街道或社区"))
    if kind not in MediationTeamKind.values:
        raise InvalidInput.on("kind", _("请选择调解组织类型"))
    team = MediationTeam(area=area, name=(name or "").strip(), kind=kind, place=(place or "").strip(),
                         phone=_clean_phone(phone))
    if not team.name:
        raise InvalidInput.on("name", _("请填写调解组织名称"))
    if MediationTeam.objects.filter(area=area, name=team.name).exists():
        raise InvalidInput.on("name", _("该区域已有同名调解组织"))
    validate(team, exclude=["area"])
    team.save()
    audit.record(actor=actor, action="cases.mediation_team.create", obj=team,
                 after=audit.snapshot(team, ("name", "kind", "area", "place", "phone")), area_path=area.path)
    return team


@transaction.atomic
def mediation_team_update(*, actor: Any, team: MediationTeam, changes: dict[str, Any],
                          reason: str = "", expected_version: int | None = None) -> MediationTeam:
    """Rename a team, change its kind, place or phone, retire it (``active=False``: no new disputes) or bring it
    back. Its area stays: the disputes it took are of that area."""
    path = _team_path(team)
    require(actor, Cap.EDIT_REGISTRY, area_path=path)
    allowed = {"name", "kind", "place", "phone", "active"}
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise InvalidInput.on(unknown[0], _("该项不可修改"))
    changes = dict(changes)
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()
        if not changes["name"]:
            raise InvalidInput.on("name", _("请填写调解组织名称"))
        if MediationTeam.objects.filter(area_id=team.area_id, name=changes["name"]).exclude(pk=team.pk).exists():
            raise InvalidInput.on("name", _("该区域已有同名调解组织"))
    if "kind" in changes and changes["kind"] not in MediationTeamKind.values:
        raise InvalidInput.on("kind", _("请选择调解组织类型"))
    if "phone" in changes:
        changes["phone"] = _clean_phone(changes["phone"])
    if "place" in changes:
        changes["place"] = (changes["place"] or "").strip()
    if "active" in changes:
        changes["active"] = bool(changes["active"])
    if len((reason or "").strip()) > 200:
        raise InvalidInput.on("reason", _("原因不能超过200个字"))
    return apply_changes(actor=actor, obj=team, changes=changes, allowed=allowed,
                         action="cases.mediation_team.update", reason=(reason or "").strip(),
                         exclude_validation=["area"], expected_version=expected_version)


@transaction.atomic
def mediation_member_add(*, actor: Any, team: MediationTeam, person: Person,
                         role: str = MediationRole.MEDIATOR) -> MediationTeamMember:
    """A person from the registry joins the team (主任, 调解员, 法律顾问…): a retired party member, the 司法所's
    staff, a lawyer, the community police officer. She then sees the team's disputes and records its hearings."""
    require(actor, Cap.EDIT_REGISTRY, area_path=_team_path(team))
    if role not in MediationRole.values:
        raise InvalidInput.on("role", _("请选择成员角色"))
    if team.members.filter(person=person, left_on__isnull=True).exists():
        raise InvalidInput.on("person", _("已是本调解组织成员"))
    member = MediationTeamMember.objects.create(team=team, person=person, role=role)
    audit.record(actor=actor, action="cases.mediation_member.add", obj=member,
                 after={"team": team.name, "person": person.name, "role": role})
    return member


@transaction.atomic
def mediation_member_remove(*, actor: Any, member: MediationTeamMember, reason: str = "",
                            today: dt.date | None = None) -> MediationTeamMember:
    """A member leaves the team; her row stays (her past hearings) with the day she left."""
    team = MediationTeam.objects.select_related("area").get(pk=member.team_id)
    require(actor, Cap.EDIT_REGISTRY, area_path=team.area.path)
    if len((reason or "").strip()) > 200:
        raise InvalidInput.on("reason", _("原因不能超过200个字"))
    today = today or timezone.localdate()
    if MediationTeamMember.objects.filter(pk=member.pk, left_on__isnull=True).update(left_on=today) != 1:
        raise Conflict(_("该成员已退出"))
    member.left_on = today
    audit.record(actor=actor, action="cases.mediation_member.remove", obj=member,
                 before={"team": team.name, "person": member.person.name, "role": member.role},
                 after={"left_on": today}, reason=(reason or "").strip(), area_path=team.area.path)
    return member


def may_mediate(actor: Any, case: Case) -> bool:
    """Hearings and the outcome are recorded by the case's handler, or by a member of the team it is assigned to."""
    if Actor.HANDLER in actor_kinds(actor, case):
        return True
    if actor is None:
        return False
    person_id = as_scope(actor).person_id
    team_id = Mediation.objects.filter(case_id=case.pk).values_list("team_id", flat=True).first()
    return bool(person_id and team_id and MediationTeamMember.objects.filter(
        team_id=team_id, person_id=person_id, left_on__isnull=True).exists())


def _team_mediators(mediation: Mediation, people: list[Person]) -> list[Person]:
    if not people:
        return []
    if mediation.team_id is None:
        raise InvalidInput.on("mediator_people", _("该纠纷尚未指派调解组织"))
    ids = {p.pk for p in people}
    members = set(MediationTeamMember.objects.filter(team_id=mediation.team_id, person_id__in=ids,
                                                     left_on__isnull=True).values_list("person_id", flat=True))
    if ids - members:
        raise InvalidInput.on("mediator_people", _("调解员须为本调解组织的在任成员"))
    return sorted({p.pk: p for p in people}.values(), key=lambda p: p.pk)


def _check_team_for(team: MediationTeam, area_path: str, field: str = "team") -> None:
    if not team.active:
        raise InvalidInput.on(field, _("该调解组织已停用"))
    if not area_path.startswith(_team_path(team)):
        raise InvalidInput.on(field, _("该调解组织不服务纠纷发生地"))


def _team_users(team: MediationTeam) -> list[int]:
    return [u for u in team.members.filter(left_on__isnull=True, person__user__isnull=False)
            .values_list("person__user_id", flat=True) if u]


@transaction.atomic
def mediation_team_assign(*, actor: Any, case: Case, team: MediationTeam | None, reason: str = "") -> Mediation:
    """Assign a dispute to a mediation team serving the place where it happened, or reassign it (``None``
    withdraws it from the team). The case's dispatchers and handlers decide; the team's members are told."""
    if case.kind != CaseKind.MEDIATION:
        raise InvalidInput.on("case", _("该诉求不是矛盾纠纷调解"))
    if actor is not None and not actor_kinds(actor, case) & {Actor.DISPATCHER, Actor.HANDLER}:
        raise Forbidden(_("您没有权限执行此操作"))
    if case.state in FINAL_STATES:
        raise Conflict(_("诉求已办结，不能再指派调解组织"))
    if len((reason or "").strip()) > 200:
        raise InvalidInput.on("reason", _("原因不能超过200个字"))
    mediation = Mediation.objects.select_for_update().get(case_id=case.pk)
    if mediation.team_id == (team.pk if team else None):
        raise InvalidInput.on("team", _("已指派给该调解组织"))
    return _set_team(actor, case, mediation, team, reason)


def _set_team(actor: Any, case: Case, mediation: Mediation, team: MediationTeam | None,
              reason: str = "") -> Mediation:
    if team is not None:
        _check_team_for(team, case.area_path)
    before = {"team": mediation.team.name if mediation.team else None}
    mediation.team = team
    mediation.save(update_fields=["team"])
    audit.record(actor=actor, action="cases.mediation.assign", obj=case, before=before,
                 after={"team": team.name if team else None}, reason=(reason or "").strip())
    if team is not None:
        notify.notify(_team_users(team), case.pk, _("矛盾纠纷 {number} 已指派给{team}").format(
            number=case.number, team=team.name))
    return mediation


def _clean_parties(parties: list[dict[str, str]]) -> list[dict[str, str]]:
    cleaned = []
    for i, p in enumerate(parties or []):
        name, role = str(p.get("name", "") or "").strip(), str(p.get("role", "") or "").strip()
        if not name and not role:
            continue
        if not name:
            raise InvalidInput.on(f"parties[{i}].name", _("请填写当事人姓名"))
        if len(name) > 50:
            raise InvalidInput.on(f"parties[{i}].name", _("当事人姓名不能超过50个字"))
        if not role:
            raise InvalidInput.on(f"parties[{i}].role", _("请填写当事人身份（如申请人、被申请人）"))
        if len(role) > 20:
            raise InvalidInput.on(f"parties[{i}].role", _("当事人身份不能超过20个字"))
        cleaned.append({"name": name, "role": role})
    if len(cleaned) < 2:
        raise InvalidInput.on("parties", _("矛盾纠纷须至少填写两方当事人"))
    if len(cleaned) > MAX_PARTIES:
        raise InvalidInput.on("parties", _("当事人最多20方"))
    return cleaned


@transaction.atomic
def mediation_case_open(*, actor: Any, description: str, parties: list[dict[str, str]], area: Area,
                        team: MediationTeam | None = None, title: str = "",
                        channel: str = Channel.MEDIATION_POINT, address: str = "",
                        now: dt.datetime | None = None) -> Case:
    """发起矛盾纠纷调解: staff open a dispute between two or more parties at a compound or building, and give it to
    a mediation team serving that place. The case is not public (the parties are named)."""
    scope = as_scope(actor) if actor is not None else None
    if scope is not None and not scope.has(Cap.CASE_VIEW):
        raise Forbidden(_("只有工作人员可以发起矛盾纠纷调解"))
    cleaned = _clean_parties(parties)
    if not (description or "").strip():
        raise InvalidInput.on("description", _("请填写纠纷情况"))
    if team is not None:
        _check_team_for(team, area.path)
    title = (title or "").strip() or _("{first}与{second}的矛盾纠纷").format(first=cleaned[0]["name"],
                                                                          second=cleaned[1]["name"])
    case = case_submit(actor=actor, title=title[:100], description=description, channel=channel, area=area,
                       address=address, kind=CaseKind.MEDIATION, parties=cleaned, is_public=False, now=now)
    if team is not None:  # whoever opens the dispute gives it to the team, whichever level owns the case
        _set_team(actor, case, case.mediation, team)
    return case
