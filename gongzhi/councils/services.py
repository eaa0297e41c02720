"""The councils' write path: councils, members, meetings, and :func:`item_step`, the only mover of an agenda item
along :mod:`.workflow` — including escalation to the parent council and the answer flowing back down."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.accounts.roles import Cap
from gongzhi.core import audit
from gongzhi.core.errors import Conflict, Forbidden, InvalidInput
from gongzhi.core.permissions import require
from gongzhi.core.scope import as_scope
from gongzhi.core.validators import bounded_text, visible_text
from gongzhi.core.writes import apply_changes, validate
from gongzhi.registry.models import Area, AreaKind, MemberUnit, PartyOrganisation, Person

from .models import AgendaItem, Council, CouncilKind, CouncilMember, Meeting, MemberRole, Source
from .workflow import CONFLICT, STEPS, ItemState, Step, allowed

S = ItemState


def can_run(actor: Any, council: Council) -> bool:
    """Council actions: whoever holds the council capability on its node, and the council's own convener (the
    person linked to her account), even without it. ``actor=None`` is the platform itself."""
    if actor is None:
        return True
    scope = as_scope(actor)
    if scope.can(Cap.COUNCIL_RUN, area_path=council.area.path):
        return True
    return scope.person_id is not None and scope.person_id == council.convener_id


def require_run(actor: Any, council: Council) -> None:
    if not can_run(actor, council):
        raise Forbidden(_("您没有权限执行此操作"))


def _require_configure(actor: Any) -> None:
    if actor is not None and not as_scope(actor).has(Cap.CASE_CONFIGURE):
        raise Forbidden(_("您没有权限执行此操作"))


def _kind(kind: str | CouncilKind) -> CouncilKind:
    if isinstance(kind, CouncilKind):
        found: CouncilKind | None = kind if kind.active else None
    else:
        found = CouncilKind.objects.filter(code=(kind or "").strip(), active=True).first()
    if found is None:
        raise InvalidInput.on("kind", _("请选择启用中的议事组织类型"))
    return found


@transaction.atomic
def council_create(*, actor: Any, area: Area, name: str, kind: str | CouncilKind, cadence: str,
                   procedure: str = "simple", convener: Person | None = None) -> Council:
    """A council on a node of the tree; its convener (召集人) also becomes its first member."""
    require(actor, Cap.COUNCIL_RUN, area_path=area.path)
    council = Council(area=area, name=(name or "").strip(), kind=_kind(kind), cadence=cadence, procedure=procedure,
                      convener=convener)
    if not council.name:
        raise InvalidInput.on("name", _("请填写议事组织名称"))
    validate(council)
    if Council.objects.filter(area=area, name=council.name).exists():
        raise InvalidInput.on("name", _("本区域已有同名议事组织"))
    council.save()
    if convener is not None:
        CouncilMember.objects.create(council=council, person=convener, role=MemberRole.CONVENER)
    after = audit.snapshot(council, ("name", "kind", "area", "cadence", "procedure", "convener"))
    after["kind"] = council.kind.name  # the trail reads the kind's name (its code is not for people)
    audit.record(actor=actor, action="councils.council.create", obj=council, after=after)
    return council


@transaction.atomic
def member_add(*, actor: Any, council: Council, role: str, person: Person | None = None,
               unit: MemberUnit | None = None, organisation: PartyOrganisation | None = None) -> CouncilMember:
    """A person, a member unit (成员单位) or a party organisation joins with her role in the council."""
    require_run(actor, council)
    given = [x for x in (person, unit, organisation) if x is not None]
    if len(given) != 1:
        raise InvalidInput.on("person", _("须指定成员本人、代表单位或成员党组织（三者选一）"))
    if role not in MemberRole.values:
        raise InvalidInput.on("role", _("请选择成员角色"))
    current = council.members.filter(left_on__isnull=True)
    field, same = (("person", current.filter(person=person)) if person is not None else
                   ("unit", current.filter(unit=unit)) if unit is not None else
                   ("organisation", current.filter(organisation=organisation)))
    if same.exists():
        raise InvalidInput.on(field, _("已是本议事组织成员"))
    member = CouncilMember(council=council, person=person, unit=unit, organisation=organisation, role=role)
    validate(member)
    member.save()
    audit.record(actor=actor, action="councils.member.add", obj=member,
                 after=audit.snapshot(member, ("person", "unit", "organisation", "role")))
    return member


@transaction.atomic
def member_remove(*, actor: Any, member: CouncilMember, reason: str = "",
                  today: dt.date | None = None) -> CouncilMember:
    """A member leaves: the row stays (her attendance at past meetings is history) with the day she left."""
    council = member.council
    require_run(actor, council)
    if member.left_on is not None:
        raise Conflict(_("该成员已退出"))
    today = today or timezone.localdate()
    updated = CouncilMember.objects.filter(pk=member.pk, left_on__isnull=True).update(left_on=today)
    if updated != 1:
        raise Conflict(_("该成员已退出"))
    member.left_on = today
    audit.record(actor=actor, action="councils.member.remove", obj=member,
                 before=audit.snapshot(member, ("person", "unit", "organisation", "role")), after={"left_on": today},
                 reason=(reason or "").strip()[:200])
    return member


@transaction.atomic
def kind_create(*, actor: Any, code: str, name: str, order: int = 100) -> CouncilKind:
    """A new kind of council (system administrators)."""
    _require_configure(actor)
    kind = CouncilKind(code=(code or "").strip(), name=(name or "").strip(), order=order)
    validate(kind)
    kind.save()
    audit.record(actor=actor, action="councils.kind.create", obj=kind,
                 after=audit.snapshot(kind, ("code", "name", "order", "active")))
    return kind


@transaction.atomic
def kind_update(*, actor: Any, kind: CouncilKind, changes: dict[str, Any],
                expected_version: int | None = None) -> CouncilKind:
    """Rename, reorder, retire or bring back a kind. The code stays: councils point at it."""
    _require_configure(actor)
    if "name" in changes:
        changes = {**changes, "name": (changes["name"] or "").strip()}
    return apply_changes(actor=actor, obj=kind, changes=changes, allowed=("name", "order", "active"),
                         action="councils.kind.update", expected_version=expected_version)


@transaction.atomic
def meeting_schedule(*, actor: Any, council: Council, scheduled_for: dt.datetime, place: str) -> Meeting:
    require_run(actor, council)
    meeting = Meeting(council=council, scheduled_for=scheduled_for, place=(place or "").strip())
    validate(meeting)
    meeting.save()
    audit.record(actor=actor, action="councils.meeting.schedule", obj=meeting,
                 after={"scheduled_for": scheduled_for, "place": meeting.place})
    return meeting


@transaction.atomic
def meeting_hold(*, actor: Any, meeting: Meeting, present: list[CouncilMember], minutes: str) -> Meeting:
    """Record that the meeting took place: who came and the minutes. The council's cadence clock restarts."""
    council = meeting.council
    require_run(actor, council)
    if meeting.held:
        raise Conflict(_("该会议已记录召开"))
    if not minutes.strip():
        raise InvalidInput.on("minutes", _("请填写会议纪要"))
    if any(m.council_id != council.pk or m.left_on is not None for m in present):
        raise InvalidInput.on("present", _("出席人须为本议事组织成员"))
    meeting.held, meeting.minutes = True, minutes.strip()
    meeting.save(update_fields=["held", "minutes"])
    meeting.present.set(present)
    held_on = timezone.localtime(meeting.scheduled_for).date()
    if council.last_met_on is None or held_on > council.last_met_on:
        Council.objects.filter(pk=council.pk).update(last_met_on=held_on)
    audit.record(actor=actor, action="councils.meeting.hold", obj=meeting,
                 after={"present": len(present), "minutes": len(meeting.minutes)})
    return meeting


@transaction.atomic
def item_propose(*, actor: Any, council: Council, title: str, description: str, source: str = Source.MEMBER,
                 case: Any = None) -> AgendaItem:
    """提事: residents of the area propose; members and staff propose or bring in a case they could not settle."""
    scope = as_scope(actor)
    if actor is not None:
        if can_run(scope, council):
            pass
        elif scope.can(Cap.VIEW, area_path=council.area.path) or _lives_in(scope.person_id, council.area):
            source = Source.RESIDENT
        else:
            raise Forbidden(_("您没有权限执行此操作"))
    if source == Source.ESCALATION:
        raise InvalidInput.on("source", _("上移议题只能由下级议事组织上移产生"))
    item = AgendaItem(council=council, title=visible_text(title, "title", max_length=120),
                      description=bounded_text(description, "description", 4000),
                      source=Source.CASE if case is not None else source, case=case,
                      raised_by_id=scope.person_id if actor is not None else None)
    validate(item, exclude=["raised_by", "case"])
    item.save()
    audit.record(actor=actor, action="councils.item.propose", obj=item,
                 after={"title": item.title, "source": item.source, "council": council.pk})
    return item


def _lives_in(person_id: int | None, area: Area) -> bool:
    if person_id is None:
        return False
    return Person.objects.filter(pk=person_id, area__path__prefix=area.path).exists()


LEVEL_ORDER = [AreaKind.BUILDING, AreaKind.COMPOUND, AreaKind.GRID, AreaKind.COMMUNITY, AreaKind.STREET,
               AreaKind.DISTRICT, AreaKind.CITY]


def parent_council(council: Council) -> Council | None:
    """The council of the nearest ancestor node that has one (东港: 小区 → 社区 → 街道 → 市)."""
    path = council.area.path
    ancestors = [path[: i * Area.steplen] for i in range(len(path) // Area.steplen - 1, 0, -1)]
    candidates = {c.area.path: c for c in Council.objects.filter(area__path__in=ancestors)
                  .select_related("area").order_by("pk")}
    for p in ancestors:
        if p in candidates:
            return candidates[p]
    return None


def steps_for(actor: Any, item: AgendaItem) -> list[Step]:
    """The steps this actor may take on the item now (its procedure, its state, and whether it came from below)."""
    council = item.council
    if not can_run(actor, council):
        return []
    return [s for s in STEPS.values() if allowed(s, council.procedure, item.state)
            and (s.name != "decide" or not item.escalated_from_id)
            and (s.name != "answer" or item.escalated_from_id)]


@transaction.atomic
def item_step(*, actor: Any, item: AgendaItem, step: str, expected_version: int | None = None, reason: str = "",
              meeting: Meeting | None = None, discussion: str = "", decision: str = "", responsible: str = "",
              deadline: dt.date | None = None, answer: str = "", open_case: bool = False,
              today: dt.date | None = None) -> AgendaItem:
    council = item.council
    s = STEPS.row(step, "step")
    version = expected_version if expected_version is not None else item.version
    if version != item.version or not allowed(s, council.procedure, item.state):
        raise Conflict(str(CONFLICT))
    s, version, reason = STEPS.check(item, step, expected_version=version, reason=reason,
                                     variant=council.procedure, authorise=lambda _t: require_run(actor, council))
    today = today or timezone.localdate()
    changes: dict[str, Any] = {}
    after: list[Any] = []
    if step == "schedule":
        if meeting is None or meeting.council_id != council.pk:
            raise InvalidInput.on("meeting", _("请选择本组织的会议"))
        changes["meeting"] = meeting
    elif step == "decide":
        if item.escalated_from_id:
            raise InvalidInput.on("step", _("下级上移的议题请作答复"))
        if not decision.strip():
            raise InvalidInput.on("decision", _("请填写决议内容"))
        if not responsible.strip():
            raise InvalidInput.on("responsible", _("请填写责任方"))
        if deadline is None:
            raise InvalidInput.on("deadline", _("请填写完成时限"))
        changes.update(decision=decision.strip(), responsible=responsible.strip()[:100], deadline=deadline,
                       discussion=discussion.strip(), settled_at=timezone.now())
        if open_case:
            after.append(lambda: _open_case(actor, item))
    elif step == "fail":
        changes.update(discussion=(discussion or reason).strip())
    elif step == "escalate":
        parent = parent_council(council)
        if parent is None:
            raise InvalidInput.on("step", _("没有上级议事组织可以上移"))
        changes.update(escalation_reason=reason, escalation_meeting_id=item.meeting_id)
        after.append(lambda: _escalate(actor, item, parent, reason))
    elif step == "answer":
        if not item.escalated_from_id:
            raise InvalidInput.on("step", _("只有下级上移的议题需要答复"))
        if not answer.strip():
            raise InvalidInput.on("answer", _("请填写答复内容"))
        changes.update(answer=answer.strip(), settled_at=timezone.now(), discussion=discussion.strip())
        after.append(lambda: _answer_down(actor, item, answer.strip()))
    elif step == "complete":
        changes["done_on"] = today
    return STEPS.apply(actor=actor, obj=item, name=step, version=version, changes=changes, reason=reason, then=after)


def _escalate(actor: Any, item: AgendaItem, parent: Council, reason: str) -> None:
    """议题上移: the parent gets the item with the reason and the minutes attached, pending until it answers."""
    twin = AgendaItem.objects.create(
        council=parent, title=item.title, description=item.description, source=Source.ESCALATION,
        raised_by_id=item.raised_by_id, case_id=item.case_id, escalated_from=item,
        escalation_reason=reason, escalation_meeting_id=item.meeting_id,
    )
    audit.record(actor=actor, action="councils.item.received", obj=twin,
                 after={"from_council": item.council_id, "reason": reason})
    from gongzhi.notifications.models import Kind
    from gongzhi.notifications.services import notify, platform_language

    with platform_language():
        message = _("「{title}」由{lower}上移，请列入议程并答复").format(title=item.title, lower=item.council.name)
    notify(user_ids=_staff_of(parent), kind=Kind.COUNCIL_ESCALATED, obj=twin,
           link=reverse("councils:item", args=[twin.pk]), message=message)


def _answer_down(actor: Any, item: AgendaItem, answer: str) -> None:
    """The answer goes back to the council that escalated, and on down the chain to where the item began."""
    from gongzhi.notifications.models import Kind
    from gongzhi.notifications.services import notify, platform_language

    lower = item.escalated_from
    people: set[int] = set()
    with platform_language():
        message = _("上移议题「{title}」已答复").format(title=item.title)
    while lower is not None:
        AgendaItem.objects.filter(pk=lower.pk).update(state=S.ANSWERED, answer=answer, settled_at=timezone.now(),
                                                      version=F("version") + 1)
        audit.record(actor=actor, action="councils.item.answered", obj=lower, after={"answer": answer[:200]})
        # The staff of each council that waited for the answer, with a link to their own copy of the item.
        notify(user_ids=_staff_of(lower.council), kind=Kind.COUNCIL_ANSWERED, obj=lower,
               link=reverse("councils:item", args=[lower.pk]), message=message)
        if lower.raised_by_id:
            people.add(lower.raised_by_id)
        lower = lower.escalated_from
    # Those who raised it hear of the answer without a link: the council's item page may not be theirs to see.
    users = list(Person.objects.filter(pk__in=people, user__isnull=False).values_list("user_id", flat=True))
    notify(user_ids=users, kind=Kind.COUNCIL_ANSWERED, message=message)


def _staff_of(council: Council) -> list[int]:
    from gongzhi.accounts.models import RoleGrant
    from gongzhi.accounts.roles import POLICIES

    roles = [r for r, p in POLICIES.items() if Cap.COUNCIL_RUN in p.caps]
    users = set(RoleGrant.objects.filter(role__in=roles, area=council.area).values_list("user_id", flat=True))
    if council.convener_id:
        users.update(Person.objects.filter(pk=council.convener_id, user__isnull=False)
                     .values_list("user_id", flat=True))
    return sorted(users)


def _open_case(actor: Any, item: AgendaItem) -> None:
    """A decision that needs doing becomes a case in the pipeline, followed from the item."""
    from gongzhi.cases.models import Channel
    from gongzhi.cases.services import case_submit

    area = item.council.area
    if area.kind not in (AreaKind.COMMUNITY, AreaKind.GRID, AreaKind.COMPOUND, AreaKind.BUILDING):
        area = Area.objects.filter(path__prefix=area.path, kind=AreaKind.COMMUNITY).order_by("path").first() or area
    case = case_submit(actor=None, title=item.title[:100], description=f"{item.decision}\n（{item.council.name}决议）",
                       channel=Channel.MEETING, area=area)
    AgendaItem.objects.filter(pk=item.pk).update(follow_up_case=case)
