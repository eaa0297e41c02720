"""The demand library (社区需求库), the resource library (成员单位资源库) and matching (对接).

A need is registered by the staff of the community, grid or compound it is for (``Cap.COBUILD_MANAGE`` there) or
turned from a case. A resource is offered by its owner: a unit's own handler (``Cap.COBUILD_OFFER`` on the unit), the
staff over a party organisation, or a party member or volunteer for herself. A match is proposed by one side and
confirmed by the other; confirming takes the quantity from the resource's capacity with one conditional UPDATE
(:func:`common.take`), so of two confirmations racing for the last slot exactly one wins.

Every function is keyword-only and atomic; state moves through the declared tables (:data:`NEED`, :data:`MATCH`),
other changes write their own audit entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit
from gongzhi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from gongzhi.core.scope import scoped
from gongzhi.core.validators import bounded_text, visible_text
from gongzhi.registry.models import Area, AreaKind, MemberUnit, PartyOrganisation, Person, PostKind, StaffPost

from ..models import Kind, Match, Need, NeedSource, OwnerKind, Resource, ResourceReach, Side, Urgency
from ..workflow import MATCH, NEED, MatchState, NeedState
from .common import can_manage, can_offer, give_back, person_of, require_manage, take

# Where a need may be registered: the places a community's staff know household by household.
NEED_AREA_KINDS = (AreaKind.COMMUNITY, AreaKind.GRID, AreaKind.COMPOUND)
# Steps a person takes on a need; "match" and "deliver" follow from matches and projects (the system takes them).
NEED_PERSON_STEPS = ("meet", "reopen", "withdraw")
MAX_QUANTITY = 1_000_000
MAX_REACH = 30
MAX_VALID_YEARS = 5
LIVE_MATCH_STATES = (MatchState.PROPOSED, MatchState.CONFIRMED)
CLOSED_NEED_STATES = (NeedState.MET, NeedState.WITHDRAWN)


# ------------------------------------------------------------------------------------------------ shared checks


def _today(today: dt.date | None) -> dt.date:
    return today or timezone.localdate()


def _kind(value: str, field: str = "kind") -> str:
    if value not in Kind.values:
        raise InvalidInput.on(field, _("请选择类别"))
    return value


def _count(value: Any, field: str, *, minimum: int = 0, maximum: int = MAX_QUANTITY) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput.on(field, _("须为整数")) from None
    if not minimum <= number <= maximum:
        raise InvalidInput.on(field, _("须在 {a} 到 {b} 之间").format(a=minimum, b=maximum))
    return number


def _need_fields(*, kind: str, title: str, description: str, scale: str, quantity: Any, beneficiaries: Any,
                 urgency: str, wanted_by: dt.date | None, today: dt.date) -> dict[str, Any]:
    if urgency not in Urgency.values:
        raise InvalidInput.on("urgency", _("请选择紧急程度"))
    if wanted_by is not None and wanted_by < today:
        raise InvalidInput.on("wanted_by", _("期望解决时间不能早于今天"))
    return {
        "kind": _kind(kind),
        "title": visible_text(title, "title", max_length=100),
        "description": bounded_text(description, "description", 2000),
        "scale": bounded_text(scale, "scale", 100),
        "quantity": _count(quantity, "quantity", minimum=1),
        "beneficiaries": _count(beneficiaries, "beneficiaries"),
        "urgency": urgency,
        "wanted_by": wanted_by,
    }


def _need_area(area: Area | None, field: str = "area") -> Area:
    if area is None:
        raise InvalidInput.on(field, _("请选择需求所在的社区、网格或小区"))
    if area.kind not in NEED_AREA_KINDS:
        raise InvalidInput.on(field, _("需求须登记在社区、网格或小区"))
    return area


def _stale(model: type[Any], pk: int, message: str) -> Conflict:
    return Conflict(message if model._default_manager.filter(pk=pk).exists() else _("记录已不存在"))


# ------------------------------------------------------------------------------------------------ needs


@transaction.atomic
def need_register(*, actor: Any, area: Area | None, kind: str, title: str, description: str = "", scale: str = "",
                  quantity: int = 1, beneficiaries: int = 0, urgency: str = Urgency.NORMAL,
                  wanted_by: dt.date | None = None, source: str = NeedSource.COMMUNITY, case: Any = None,
                  agenda_item: Any = None, today: dt.date | None = None) -> Need:
    """登记需求: by the staff who manage the community, grid or compound (``Cap.COBUILD_MANAGE`` on it)."""
    area = _need_area(area)
    require_manage(actor, area.path)
    if source not in NeedSource.values:
        raise InvalidInput.on("source", _("未知的需求来源"))
    if agenda_item is not None:
        # 议事决议: a council decided that the community needs this; the need keeps the item it came from.
        from gongzhi.councils.workflow import SETTLED_HERE

        if agenda_item.state not in SETTLED_HERE:
            raise InvalidInput.on("agenda_item", _("只有已决议的议题可以转为社区需求"))
        source = NeedSource.COUNCIL
    fields = _need_fields(kind=kind, title=title, description=description, scale=scale, quantity=quantity,
                          beneficiaries=beneficiaries, urgency=urgency, wanted_by=wanted_by, today=_today(today))
    need = Need.objects.create(area=area, area_path=area.path, source=source, case=case, agenda_item=agenda_item,
                               created_by=actor if getattr(actor, "pk", None) else None, **fields)
    audit.record(actor=actor, action="cobuild.need.create", obj=need,
                 after={**{k: str(v) if isinstance(v, dt.date) else v for k, v in fields.items()},
                        "area": area.pk, "source": source, "case": getattr(case, "pk", None),
                        "agenda_item": getattr(agenda_item, "pk", None)})
    return need


def _need_place(case_area_path: str) -> Area | None:
    """The nearest community, grid or compound at or above a case's place (a case on a building → its compound)."""
    step = Area.steplen
    prefixes = [case_area_path[:k] for k in range(step, len(case_area_path) + 1, step)]
    return (Area.objects.filter(path__in=prefixes, kind__in=NEED_AREA_KINDS).order_by("-depth").first())


@transaction.atomic
def need_from_case(*, actor: Any, case: Any, kind: str, title: str = "", description: str | None = None,
                   scale: str = "", quantity: int = 1, beneficiaries: int = 0, urgency: str = Urgency.NORMAL,
                   wanted_by: dt.date | None = None, today: dt.date | None = None) -> Need:
    """诉求转需求: "this is not one complaint but a need". The need keeps the case (``Need.case``; the case reaches its
    needs through ``case.needs``). Only staff who may see the case and manage its community."""
    from gongzhi.cases.models import Case

    if actor is not None and not scoped(actor, Case).filter(pk=case.pk).exists():
        raise NotFound("未找到")
    if Need.objects.filter(case=case).exclude(state=NeedState.WITHDRAWN).exists():
        raise InvalidInput.on("case", _("该诉求已转为需求"))
    area = _need_place(case.area_path)
    if area is None:
        raise InvalidInput.on("case", _("该诉求不在任何社区、网格或小区内，无法转为需求"))
    return need_register(actor=actor, area=area, kind=kind, title=title or case.title,
                         description=case.description if description is None else description, scale=scale,
                         quantity=quantity, beneficiaries=beneficiaries, urgency=urgency, wanted_by=wanted_by,
                         source=NeedSource.CASE, case=case, today=today)


@transaction.atomic
def need_update(*, actor: Any, need: Need, expected_version: int | None, kind: str, title: str,
                description: str = "", scale: str = "", quantity: int = 1, beneficiaries: int = 0,
                urgency: str = Urgency.NORMAL, wanted_by: dt.date | None = None, reason: str = "",
                today: dt.date | None = None) -> Need:
    """修改需求 while it is still open to matching; a stale version (someone saved first) is a 409."""
    require_manage(actor, need.area_path)
    if need.state in CLOSED_NEED_STATES:
        raise Conflict(_("该需求已办结或撤销，不能修改"))
    version = need.version if expected_version is None else expected_version
    fields = _need_fields(kind=kind, title=title, description=description, scale=scale, quantity=quantity,
                          beneficiaries=beneficiaries, urgency=urgency, wanted_by=wanted_by, today=_today(today))
    before = audit.snapshot(need, list(fields))
    updated = Need.objects.filter(pk=need.pk, version=version).exclude(state__in=CLOSED_NEED_STATES).update(
        version=F("version") + 1, **fields)
    if updated != 1:
        raise _stale(Need, need.pk, _("该需求已被他人修改，请刷新后重试"))
    need.refresh_from_db()
    old, new = audit.diff(before, audit.snapshot(need, list(fields)))
    audit.record(actor=actor, action="cobuild.need.update", obj=need,
                 before={k: str(v) for k, v in old.items()}, after={k: str(v) for k, v in new.items()},
                 reason=bounded_text(reason, "reason", 200))
    return need


@transaction.atomic
def need_step(*, actor: Any, need: Need, step: str, expected_version: int | None = None, reason: str = "") -> Need:
    """确认满足 / 重新对接 / 撤销需求, by the need's managers. 对接成功 and 开始落实 follow from other services."""
    if step not in NEED_PERSON_STEPS:
        raise InvalidInput.on("step", _("该操作由系统根据对接和项目自动完成"))
    _row, version, reason = NEED.check(need, step, expected_version=expected_version, reason=reason,
                                    authorise=lambda _t: require_manage(actor, need.area_path))
    changes: dict[str, Any] = {}
    if step == "meet":
        changes["met_at"] = timezone.now()
    elif step == "reopen":
        changes["met_at"] = None
    return NEED.apply(actor=actor, obj=need, name=step, version=version, changes=changes,
                      reason=bounded_text(reason, "reason", 200))


# ------------------------------------------------------------------------------------------------ resources


def _is_volunteer_or_member(person: Person, today: dt.date) -> bool:
    from gongzhi.registry.models import PartyMember

    from ..models import VolunteerTeam

    return (PartyMember.objects.filter(person=person).exists()
            or StaffPost.objects.filter(person=person, kind=PostKind.VOLUNTEER).exclude(until__lt=today).exists()
            or VolunteerTeam.objects.filter(members=person).exists())


def can_act_for_resource(actor: Any, resource: Resource) -> bool:
    """The resource's owner: the unit's handler, the staff over the party organisation, the person herself."""
    if actor is None:
        return True
    if resource.owner_kind == OwnerKind.UNIT:
        return can_offer(actor, resource.unit_id)
    if resource.owner_kind == OwnerKind.ORGANISATION:
        return can_manage(actor, resource.area_path)
    return resource.person_id is not None and person_of(actor) == resource.person_id


def _require_owner(actor: Any, resource: Resource) -> None:
    if not can_act_for_resource(actor, resource):
        raise Forbidden(_("只有资源提供方可以操作该资源"))


def _owner(*, actor: Any, owner_kind: str, unit: MemberUnit | None, organisation: PartyOrganisation | None,
           person: Person | None, today: dt.date) -> tuple[dict[str, Any], Area]:
    """Who offers, whether the actor may offer for them, and the owner's own node."""
    if owner_kind == OwnerKind.UNIT:
        if unit is None:
            raise InvalidInput.on("unit", _("请选择提供单位"))
        if not can_offer(actor, unit.pk):
            raise Forbidden(_("您只能以本单位身份提供资源"))
        return {"unit": unit}, Area.objects.get(pk=unit.area_id)
    if owner_kind == OwnerKind.ORGANISATION:
        if organisation is None:
            raise InvalidInput.on("organisation", _("请选择提供资源的党组织"))
        area = Area.objects.get(pk=organisation.area_id)
        require_manage(actor, area.path)
        return {"organisation": organisation}, area
    if owner_kind == OwnerKind.PERSON:
        if person is None:
            raise InvalidInput.on("person", _("请选择提供人"))
        if actor is not None and person_of(actor) != person.pk:
            raise Forbidden(_("个人只能以本人名义提供资源"))
        if not _is_volunteer_or_member(person, today):
            raise InvalidInput.on("person", _("个人提供资源须为党员或注册志愿者"))
        return {"person": person}, Area.objects.get(pk=person.area_id)
    raise InvalidInput.on("owner_kind", _("请选择提供方类型"))


def default_reach(area: Area) -> Area:
    """Where a resource serves unless its owner says otherwise: the owner's community, else its street, else the
    owner's own node (a city department serves the city)."""
    step = Area.steplen
    prefixes = [area.path[:k] for k in range(step, len(area.path) + 1, step)]
    ancestors = {a.kind: a for a in Area.objects.filter(path__in=prefixes)}
    return ancestors.get(AreaKind.COMMUNITY) or ancestors.get(AreaKind.STREET) or area


def _reach(areas: Iterable[Area] | None, owner_area: Area) -> list[Area]:
    chosen = {a.pk: a for a in (areas or [])}
    if len(chosen) > MAX_REACH:
        raise InvalidInput.on("reach", _("服务区域最多 {n} 个").format(n=MAX_REACH))
    for a in chosen.values():
        if a.kind == AreaKind.BUILDING:
            raise InvalidInput.on("reach", _("服务区域须为市、区、街道、社区、网格或小区"))
    return list(chosen.values()) or [default_reach(owner_area)]


def _resource_fields(*, kind: str | None, title: str, description: str, capacity: Any, measure: str, cadence: str,
                     amount: Any, valid_from: dt.date | None, valid_until: dt.date | None) -> dict[str, Any]:
    if valid_from is None:
        raise InvalidInput.on("valid_from", _("请填写有效期起"))
    if valid_until is None:
        raise InvalidInput.on("valid_until", _("请填写有效期止"))
    if valid_until < valid_from:
        raise InvalidInput.on("valid_until", _("有效期止不能早于有效期起"))
    if (valid_until - valid_from).days > 366 * MAX_VALID_YEARS:
        raise InvalidInput.on("valid_until", _("有效期最长 {n} 年").format(n=MAX_VALID_YEARS))
    money: Decimal | None = None
    if amount not in (None, ""):
        try:
            money = Decimal(str(amount)).quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            raise InvalidInput.on("amount", _("请填写金额")) from None
        if not Decimal("0") <= money < Decimal("10000000000"):
            raise InvalidInput.on("amount", _("金额须为非负数且不超过 100 亿元"))
    fields = {
        "title": visible_text(title, "title", max_length=100),
        "description": bounded_text(description, "description", 2000),
        "capacity": _count(capacity, "capacity", minimum=1),
        "measure": visible_text(measure or "次", "measure", max_length=10),
        "cadence": bounded_text(cadence, "cadence", 50),
        "amount": money,
        "valid_from": valid_from,
        "valid_until": valid_until,
    }
    if kind is not None:
        fields["kind"] = _kind(kind)
    return fields


def _write_reach(resource: Resource, areas: list[Area]) -> list[str]:
    keep = {a.pk for a in areas}
    ResourceReach.objects.filter(resource=resource).exclude(area_id__in=keep).delete()
    have = set(ResourceReach.objects.filter(resource=resource).values_list("area_id", flat=True))
    ResourceReach.objects.bulk_create([ResourceReach(resource=resource, area=a, area_path=a.path)
                                       for a in areas if a.pk not in have])
    return sorted(a.path for a in areas)


@transaction.atomic
def resource_offer(*, actor: Any, owner_kind: str, kind: str, title: str, capacity: int,
                   valid_from: dt.date | None, valid_until: dt.date | None, unit: MemberUnit | None = None,
                   organisation: PartyOrganisation | None = None, person: Person | None = None,
                   description: str = "", measure: str = "次", cadence: str = "", amount: Any = None,
                   reach: Iterable[Area] | None = None, today: dt.date | None = None) -> Resource:
    """提供资源: a unit for itself only, staff for a party organisation in their area, a party member or volunteer
    for herself. ``reach``: the areas it serves (each with its subtree); by default the owner's community/street."""
    today = _today(today)
    owner, area = _owner(actor=actor, owner_kind=owner_kind, unit=unit, organisation=organisation, person=person,
                         today=today)
    fields = _resource_fields(kind=kind, title=title, description=description, capacity=capacity, measure=measure,
                              cadence=cadence, amount=amount, valid_from=valid_from, valid_until=valid_until)
    if fields["valid_until"] < today:
        raise InvalidInput.on("valid_until", _("有效期止不能早于今天"))
    areas = _reach(reach, area)
    resource = Resource.objects.create(owner_kind=owner_kind, area=area, area_path=area.path, **owner, **fields)
    paths = _write_reach(resource, areas)
    audit.record(actor=actor, action="cobuild.resource.create", obj=resource,
                 after={"owner_kind": owner_kind, "kind": fields["kind"], "title": fields["title"],
                        "capacity": fields["capacity"], "measure": fields["measure"], "reach": paths,
                        "valid_from": str(valid_from), "valid_until": str(valid_until)})
    return resource


@transaction.atomic
def resource_update(*, actor: Any, resource: Resource, expected_version: int | None, title: str, capacity: int,
                    valid_from: dt.date | None, valid_until: dt.date | None, description: str = "",
                    measure: str = "次", cadence: str = "", amount: Any = None, kind: str | None = None,
                    reach: Iterable[Area] | None = None, reason: str = "") -> Resource:
    """修改资源 by its owner; the capacity may never go below what confirmed matches already took."""
    _require_owner(actor, resource)
    version = resource.version if expected_version is None else expected_version
    fields = _resource_fields(kind=kind, title=title, description=description, capacity=capacity, measure=measure,
                              cadence=cadence, amount=amount, valid_from=valid_from, valid_until=valid_until)
    before = audit.snapshot(resource, list(fields))
    # One conditional UPDATE: a confirmation taking the last slot meanwhile cannot leave capacity below used.
    updated = Resource.objects.filter(pk=resource.pk, version=version, used__lte=fields["capacity"]).update(
        version=F("version") + 1, **fields)
    if updated != 1:
        current = Resource.objects.filter(pk=resource.pk).values_list("version", "used").first()
        if current is None or current[0] != version:
            raise Conflict(_("该资源已被他人修改，请刷新后重试"))
        raise InvalidInput.on("capacity", _("可提供数量不能少于已对接数量（{n}）").format(n=current[1]))
    resource.refresh_from_db()
    after = audit.snapshot(resource, list(fields))
    if reach is not None:
        before["reach"] = sorted(ResourceReach.objects.filter(resource=resource).values_list("area_path", flat=True))
        after["reach"] = _write_reach(resource, _reach(reach, resource.area))
    old, new = audit.diff(before, after)
    audit.record(actor=actor, action="cobuild.resource.update", obj=resource,
                 before={k: v if isinstance(v, list | int) else str(v) for k, v in old.items()},
                 after={k: v if isinstance(v, list | int) else str(v) for k, v in new.items()},
                 reason=bounded_text(reason, "reason", 200))
    return resource


@transaction.atomic
def resource_retire(*, actor: Any, resource: Resource, expected_version: int | None = None,
                    reason: str = "") -> Resource:
    """下架资源: it leaves the library and suggestions; confirmed matches stay as they are."""
    _require_owner(actor, resource)
    version = resource.version if expected_version is None else expected_version
    if not Resource.objects.filter(pk=resource.pk, version=version, active=True).update(
            active=False, version=F("version") + 1):
        raise Conflict(_("该资源已下架或已被他人修改，请刷新后重试"))
    resource.refresh_from_db()
    audit.record(actor=actor, action="cobuild.resource.update", obj=resource, before={"active": True},
                 after={"active": False}, reason=bounded_text(reason, "reason", 200))
    return resource


# ------------------------------------------------------------------------------------------------ matching


def sides_of(actor: Any, need: Need, resource: Resource) -> set[str]:
    """Which sides of a match the actor may act for: the need's managers, the resource's owner (or both)."""
    sides: set[str] = set()
    if can_manage(actor, need.area_path):
        sides.add(Side.NEED)
    if can_act_for_resource(actor, resource):
        sides.add(Side.RESOURCE)
    return sides


def reaches(resource: Resource, area_path: str) -> bool:
    return any(area_path.startswith(p) for p in ResourceReach.objects.filter(resource=resource)
               .values_list("area_path", flat=True))


@transaction.atomic
def match_propose(*, actor: Any, need: Need, resource: Resource, quantity: int | None = None, note: str = "",
                  side: str | None = None, today: dt.date | None = None) -> Match:
    """发起对接 from either side: the need's managers offer the need to a resource, or the resource's owner offers
    it to a need. The other side confirms (:func:`match_confirm`)."""
    today = _today(today)
    sides = sides_of(actor, need, resource)
    if side is not None:
        if side not in Side.values:
            raise InvalidInput.on("side", _("请选择发起方"))
        if side not in sides:
            raise Forbidden(_("您不能代表该方发起对接"))
        sides = {side}
    if not sides:
        raise Forbidden(_("只有需求所在社区或资源提供方可以发起对接"))
    chosen = Side.NEED if Side.NEED in sides else Side.RESOURCE
    if need.state not in (NeedState.OPEN, NeedState.MATCHED):
        raise Conflict(_("该需求已不在对接中"))
    if not resource.valid_on(today):
        raise InvalidInput.on("resource", _("该资源已下架或不在有效期内"))
    if not reaches(resource, need.area_path):
        raise InvalidInput.on("resource", _("该资源的服务区域不包括此需求所在区域"))
    amount = _count(need.quantity if quantity is None else quantity, "quantity", minimum=1)
    if amount > resource.left:
        raise InvalidInput.on("quantity", _("超过该资源的剩余数量（剩余 {n} {m}）").format(
            n=resource.left, m=resource.measure))
    if Match.objects.filter(need=need, resource=resource, state__in=LIVE_MATCH_STATES).exists():
        raise InvalidInput.on("resource", _("该需求与该资源已有进行中的对接"))
    match = Match.objects.create(need=need, resource=resource, area_path=need.area_path, quantity=amount,
                                 proposed_by_side=chosen, note=bounded_text(note, "note", 300),
                                 proposed_by=actor if getattr(actor, "pk", None) else None)
    audit.record(actor=actor, action="cobuild.match.create", obj=match,
                 after={"need": need.pk, "resource": resource.pk, "quantity": amount, "side": chosen})
    return match


def _other_side(actor: Any, match: Match) -> None:
    """Confirm and decline belong to the side that did not propose — never to the proposer herself."""
    other = Side.RESOURCE if match.proposed_by_side == Side.NEED else Side.NEED
    if actor is not None and match.proposed_by_id is not None and match.proposed_by_id == actor.pk:
        raise Forbidden(_("不能确认或婉拒自己发起的对接，请等待对方处理"))
    if other not in sides_of(actor, match.need, match.resource):
        raise Forbidden(_("须由对方（{side}）确认或婉拒").format(side=Side(other).label))


def _either_side(actor: Any, match: Match) -> None:
    if not sides_of(actor, match.need, match.resource):
        raise Forbidden(_("只有对接双方可以执行此操作"))


def _need_matched(actor: Any, need_id: int) -> None:
    need = Need.objects.get(pk=need_id)
    if need.state == NeedState.OPEN:
        NEED.apply(actor=actor, obj=need, name="match", version=need.version)


@transaction.atomic
def match_confirm(*, actor: Any, match: Match, expected_version: int | None = None,
                  today: dt.date | None = None) -> Match:
    """确认对接 by the other side: the quantity is taken from the resource's capacity in one conditional UPDATE, so
    two confirmations racing for the last slot cannot both succeed; the need becomes 已对接."""
    _row, version, _reason = MATCH.check(match, "confirm", expected_version=expected_version,
                                      authorise=lambda _t: _other_side(actor, match))
    resource, need = match.resource, match.need
    if need.state in CLOSED_NEED_STATES:
        raise Conflict(_("该需求已办结或撤销，不能再确认对接"))
    if not resource.valid_on(_today(today)):
        raise Conflict(_("该资源已下架或不在有效期内"))
    if not take(Resource, resource.pk, "used", "capacity", match.quantity):
        left = Resource.objects.filter(pk=resource.pk).values_list("capacity", "used").get()
        raise Conflict(_("该资源剩余数量不足：需要 {q} {m}，仅剩 {n} {m}，已被其他对接确认占用").format(
            q=match.quantity, m=resource.measure, n=max(left[0] - left[1], 0)))
    return MATCH.apply(actor=actor, obj=match, name="confirm", version=version,
                       changes={"confirmed_at": timezone.now()}, then=[lambda: _need_matched(actor, need.pk)])


@transaction.atomic
def match_decline(*, actor: Any, match: Match, expected_version: int | None = None, reason: str = "") -> Match:
    """婉拒 by the side that did not propose, with the reason."""
    _row, version, reason = MATCH.check(match, "decline", expected_version=expected_version, reason=reason,
                                     authorise=lambda _t: _other_side(actor, match))
    return MATCH.apply(actor=actor, obj=match, name="decline", version=version,
                       reason=bounded_text(reason, "reason", 200))


@transaction.atomic
def match_cancel(*, actor: Any, match: Match, expected_version: int | None = None, reason: str = "") -> Match:
    """取消 by either side; a confirmed match gives its quantity back to the resource."""
    _row, version, reason = MATCH.check(match, "cancel", expected_version=expected_version, reason=reason,
                                     authorise=lambda _t: _either_side(actor, match))
    was_confirmed = match.state == MatchState.CONFIRMED
    then = [lambda: give_back(Resource, match.resource_id, "used", match.quantity)] if was_confirmed else []
    return MATCH.apply(actor=actor, obj=match, name="cancel", version=version,
                       reason=bounded_text(reason, "reason", 200), then=then)


@transaction.atomic
def match_complete(*, actor: Any, match: Match, expected_version: int | None = None) -> Match:
    """对接完成: the need's managers record that the resource was delivered (it counts for its reliability)."""
    _row, version, _reason = MATCH.check(match, "complete", expected_version=expected_version,
                                      authorise=lambda _t: require_manage(actor, match.area_path))
    return MATCH.apply(actor=actor, obj=match, name="complete", version=version)


def match_step(*, actor: Any, match: Match, step: str, expected_version: int | None = None,
               reason: str = "") -> Match:
    """One step on a match by name (pages and the API): confirm / decline / cancel / complete."""
    if step == "confirm":
        return match_confirm(actor=actor, match=match, expected_version=expected_version)
    if step == "decline":
        return match_decline(actor=actor, match=match, expected_version=expected_version, reason=reason)
    if step == "cancel":
        return match_cancel(actor=actor, match=match, expected_version=expected_version, reason=reason)
    if step == "complete":
        return match_complete(actor=actor, match=match, expected_version=expected_version)
    raise InvalidInput.on("step", _("未知操作"))
