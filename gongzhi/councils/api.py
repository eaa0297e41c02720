"""The councils' part of the JSON API (a django-ninja router mounted under /api/v1/ by gongzhi.api).

Thin like the cases' router: parse (pydantic, every field bounded) → scoped fetch → ``councils.services`` /
``councils.selectors`` → plain dicts. Errors are the domain errors (a stale ``version`` on a step is a 409).
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any, Literal

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from gongzhi.api.auth import user_of
from gongzhi.core.errors import InvalidInput, NotFound
from gongzhi.core.scope import get_scoped, scoped
from gongzhi.registry.models import Area, MemberUnit, PartyOrganisation, Person

from . import selectors, services
from .models import AgendaItem, Council, CouncilKind, CouncilMember, Meeting
from .workflow import STEPS

router = Router(tags=["议事协商 councils"])

MAX_LIMIT = 200
KindCode = Field(..., min_length=1, max_length=20, pattern=r"^[a-z][a-z0-9_]*$", description="类型代码")
MemberRoleName = Literal["convener", "member", "host", "deliberator", "adviser", "observer"]


class CouncilIn(Schema):
    area_id: int = Field(..., ge=1, description="所在区域（市、区、街道、社区、网格或小区）")
    name: str = Field(..., min_length=1, max_length=100)
    kind: str = KindCode
    cadence: Literal["weekly", "monthly", "quarterly"] = "quarterly"
    procedure: Literal["simple", "six_steps", "homeland", "branch_first"] = "simple"
    convener_id: int | None = Field(None, ge=1, description="召集人（人员）")


class CouncilMemberIn(Schema):
    role: MemberRoleName = "member"
    person_id: int | None = Field(None, ge=1, description="成员本人")
    unit_id: int | None = Field(None, ge=1, description="代表单位")
    organisation_id: int | None = Field(None, ge=1, description="成员党组织")


class MeetingIn(Schema):
    scheduled_for: dt.datetime = Field(..., description="会议时间（不带时区时按北京时间）")
    place: str = Field(..., min_length=1, max_length=100)


class HoldIn(Schema):
    present_ids: list[int] = Field(default_factory=list, max_length=500, description="出席成员")
    minutes: str = Field(..., min_length=1, max_length=20000, description="会议纪要")


class ItemIn(Schema):
    title: str = Field(..., min_length=1, max_length=120)
    description: str = Field(..., min_length=1, max_length=4000)
    case_id: int | None = Field(None, ge=1, description="由诉求转入时的诉求")


class StepIn(Schema):
    version: int | None = Field(None, ge=1, description="乐观锁版本；与当前不符则 409")
    reason: str = Field("", max_length=2000)
    meeting_id: int | None = Field(None, ge=1, description="列入议程的会议")
    discussion: str = Field("", max_length=4000)
    decision: str = Field("", max_length=4000)
    responsible: str = Field("", max_length=100)
    deadline: dt.date | None = None
    answer: str = Field("", max_length=4000)
    open_case: bool = Field(False, description="决议转为诉求派单落实")


class KindIn(Schema):
    code: str = KindCode
    name: str = Field(..., min_length=1, max_length=50)
    order: int = Field(100, ge=0, le=9999)


class KindPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=50)
    order: int | None = Field(None, ge=0, le=9999)
    active: bool | None = None
    version: int | None = Field(None, ge=1, description="读取时的版本号；已被他人修改时返回 409")


# ------------------------------------------------------------------------------------------ output


def _ref(obj: Any) -> dict[str, Any] | None:
    return {"id": obj.pk, "name": obj.name} if obj is not None else None


def _kind_out(kind: CouncilKind) -> dict[str, Any]:
    return {"code": kind.code, "name": kind.name, "order": kind.order, "active": kind.active,
            "version": kind.version}


def _council_out(council: Council, today: dt.date) -> dict[str, Any]:
    status = selectors.cadence_status(council, today)
    return {
        "id": council.pk, "name": council.name, "kind": {"code": council.kind.code, "name": council.kind.name},
        "area": _ref(council.area), "convener": _ref(council.convener), "cadence": council.cadence,
        "procedure": council.procedure, "created_on": council.created_on, "last_met_on": council.last_met_on,
        "due_on": status.due_on, "overdue_days": status.overdue_days,
    }


def _member_out(m: CouncilMember) -> dict[str, Any]:
    kind = "person" if m.person_id else "unit" if m.unit_id else "organisation"
    return {"id": m.pk, "kind": kind, "ref_id": m.person_id or m.unit_id or m.organisation_id,
            "name": m.display_name, "role": m.role, "role_label": m.get_role_display(), "joined_on": m.joined_on,
            "left_on": m.left_on}


def _meeting_out(m: Meeting) -> dict[str, Any]:
    return {"id": m.pk, "council_id": m.council_id, "scheduled_for": m.scheduled_for, "place": m.place,
            "held": m.held}


def _item_out(i: AgendaItem) -> dict[str, Any]:
    return {"id": i.pk, "council_id": i.council_id, "title": i.title, "source": i.source, "state": i.state,
            "state_label": i.get_state_display(), "meeting_id": i.meeting_id, "created_at": i.created_at,
            "settled_at": i.settled_at, "version": i.version}


def _item_detail(viewer: Any, i: AgendaItem) -> dict[str, Any]:
    up = getattr(i, "escalated_to", None)
    return {
        **_item_out(i), "description": i.description, "discussion": i.discussion, "decision": i.decision,
        "responsible": i.responsible, "deadline": i.deadline, "done_on": i.done_on, "case_id": i.case_id,
        "follow_up_case_id": i.follow_up_case_id, "escalated_from_id": i.escalated_from_id,
        "escalated_to_id": up.pk if up is not None else None, "escalation_reason": i.escalation_reason,
        "answer": i.answer, "allowed_steps": [s.name for s in services.steps_for(viewer, i)],
    }


# ------------------------------------------------------------------------------------------ paging


def _limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.on("limit", f"须在 1 到 {MAX_LIMIT} 之间")


def _encode(at: Any, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat() if at is not None else ''}|{pk}".encode()).decode()


def _decode(cursor: str | None) -> tuple[dt.datetime | None, int] | None:
    if not cursor:
        return None
    try:
        at, pk = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return (dt.datetime.fromisoformat(at) if at else None), int(pk)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput.on("after", "游标无效") from None


def _newest_first(qs: QuerySet[Any], field: str, limit: int, after: str | None) -> tuple[list[Any], str | None]:
    """Keyset page over (``field`` desc, pk desc)."""
    mark = _decode(after)
    if mark is not None:
        at, pk = mark
        if at is None:
            raise InvalidInput.on("after", "游标无效")
        qs = qs.filter(Q(**{f"{field}__lt": at}) | Q(**{field: at, "pk__lt": pk}))
    rows = list(qs.order_by(f"-{field}", "-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, _encode(getattr(rows[-1], field), rows[-1].pk) if more and rows else None


def _council(user: Any, council_id: int) -> Council:
    return get_scoped(user, Council.objects.select_related("area", "convener", "kind"), council_id)


# ------------------------------------------------------------------------------------------ councils


@router.get("/councils", response=dict, summary="议事组织 Councils")
def list_councils(request: HttpRequest, area_id: int | None = None, kind: str = Query("", max_length=100),
                  limit: int = Query(50, ge=1, le=200), after: int | None = None) -> dict[str, Any]:
    user = user_of(request)
    _limit(limit)
    qs = scoped(user, Council).select_related("area", "convener", "kind")
    if area_id is not None:
        qs = qs.filter(area__path__prefix=get_scoped(user, Area, area_id).path)
    if kind:
        qs = qs.filter(kind__code=kind[:20])
    if after is not None:
        qs = qs.filter(pk__gt=after)
    rows = list(qs.order_by("pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    today = timezone.localdate()
    return {"items": [_council_out(c, today) for c in rows], "next": rows[-1].pk if more and rows else None}


@router.post("/councils", response={201: dict}, summary="新建议事组织 Create a council")
def create_council(request: HttpRequest, payload: CouncilIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    area = get_scoped(user, Area, payload.area_id)
    convener = get_scoped(user, Person, payload.convener_id) if payload.convener_id else None
    council = services.council_create(actor=user, area=area, name=payload.name, kind=payload.kind,
                                      cadence=payload.cadence, procedure=payload.procedure, convener=convener)
    return Status(201, council_detail(request, council.pk))


@router.get("/councils/{council_id}", response=dict, summary="议事组织详情（含成员）")
def council_detail(request: HttpRequest, council_id: int) -> dict[str, Any]:
    user = user_of(request)
    council = _council(user, council_id)
    parent = services.parent_council(council)
    return {
        **_council_out(council, timezone.localdate()),
        "members": [_member_out(m) for m in selectors.members(council)],
        "parent": _ref(parent), "can_run": services.can_run(user, council),
        "pending_from_below": [_item_out(i) for i in selectors.pending_from_below(council)[:MAX_LIMIT]],
    }


@router.post("/councils/{council_id}/members", response={201: dict}, summary="添加成员 Add a member")
def add_member(request: HttpRequest, council_id: int, payload: CouncilMemberIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    council = _council(user, council_id)
    member = services.member_add(
        actor=user, council=council, role=payload.role,
        person=get_scoped(user, Person, payload.person_id) if payload.person_id else None,
        unit=get_scoped(user, MemberUnit, payload.unit_id) if payload.unit_id else None,
        organisation=get_scoped(user, PartyOrganisation, payload.organisation_id) if payload.organisation_id
        else None)
    return Status(201, _member_out(member))


@router.delete("/councils/{council_id}/members/{member_id}", response=dict, summary="移出成员 Remove a member")
def remove_member(request: HttpRequest, council_id: int, member_id: int,
                  reason: str = Query("", max_length=500)) -> dict[str, Any]:
    user = user_of(request)
    council = _council(user, council_id)
    if len(reason) > 200:
        raise InvalidInput.on("reason", "理由不超过200字")
    member = get_scoped(user, council.members.select_related("person", "unit", "organisation", "council__area"),
                        member_id)
    return _member_out(services.member_remove(actor=user, member=member, reason=reason))


# ------------------------------------------------------------------------------------------ meetings


@router.get("/councils/{council_id}/meetings", response=dict, summary="会议 Meetings (newest first)")
def list_meetings(request: HttpRequest, council_id: int, limit: int = Query(50, ge=1, le=200),
                  after: str | None = Query(None, max_length=64)) -> dict[str, Any]:
    user = user_of(request)
    _limit(limit)
    council = _council(user, council_id)
    rows, nxt = _newest_first(council.meetings.all(), "scheduled_for", limit, after)
    return {"items": [_meeting_out(m) for m in rows], "next": nxt}


@router.post("/councils/{council_id}/meetings", response={201: dict}, summary="安排会议 Schedule a meeting")
def schedule_meeting(request: HttpRequest, council_id: int, payload: MeetingIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    council = _council(user, council_id)
    when = payload.scheduled_for
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    meeting = services.meeting_schedule(actor=user, council=council, scheduled_for=when, place=payload.place)
    return Status(201, _meeting_out(meeting))


def _meeting(user: Any, meeting_id: int) -> Meeting:
    return get_scoped(user, Meeting.objects.select_related("council__area", "council__kind"), meeting_id)


@router.get("/meetings/{meeting_id}", response=dict, summary="会议详情（出席、纪要、议程）")
def meeting_detail(request: HttpRequest, meeting_id: int) -> dict[str, Any]:
    user = user_of(request)
    meeting = _meeting(user, meeting_id)
    return {**_meeting_out(meeting), "minutes": meeting.minutes,
            "present": [_member_out(m) for m in meeting.present.select_related("person", "unit", "organisation")
                        .order_by("pk")],
            "items": [_item_out(i) for i in meeting.items.order_by("pk")[:MAX_LIMIT]]}


@router.get("/meetings/{meeting_id}/minutes.docx", summary="会议纪要（Word，GB/T 9704 版式）")
def meeting_minutes_docx(request: HttpRequest, meeting_id: int) -> Any:
    from gongzhi.core.ledger import attachment

    from . import documents

    meeting = _meeting(user_of(request), meeting_id)
    return attachment(documents.minutes_docx(meeting), documents.minutes_filename(meeting))


@router.get("/meetings/{meeting_id}/notice.docx", summary="会议通知（Word，GB/T 9704 版式）")
def meeting_notice_docx(request: HttpRequest, meeting_id: int) -> Any:
    from gongzhi.core.ledger import attachment

    from . import documents

    meeting = _meeting(user_of(request), meeting_id)
    return attachment(documents.notice_docx(meeting), documents.notice_filename(meeting))


@router.post("/meetings/{meeting_id}/hold", response=dict, summary="记录会议召开（出席与纪要）")
def hold_meeting(request: HttpRequest, meeting_id: int, payload: HoldIn) -> dict[str, Any]:
    user = user_of(request)
    meeting = _meeting(user, meeting_id)
    wanted = set(payload.present_ids)
    present = list(selectors.members(meeting.council).filter(pk__in=wanted))
    if len(present) != len(wanted):
        raise InvalidInput.on("present_ids", "出席人须为本议事组织成员")
    services.meeting_hold(actor=user, meeting=meeting, present=present, minutes=payload.minutes)
    return meeting_detail(request, meeting.pk)


# ------------------------------------------------------------------------------------------ agenda items


@router.get("/councils/{council_id}/items", response=dict, summary="议题台账 Agenda items (newest first)")
def list_items(request: HttpRequest, council_id: int, state: str = Query("", max_length=100),
               limit: int = Query(50, ge=1, le=200), after: str | None = Query(None, max_length=64)) -> dict[str, Any]:
    user = user_of(request)
    _limit(limit)
    council = _council(user, council_id)
    qs = council.items.all()
    if state:
        qs = qs.filter(state=state[:16])
    rows, nxt = _newest_first(qs, "created_at", limit, after)
    return {"items": [_item_out(i) for i in rows], "next": nxt}


@router.post("/councils/{council_id}/items", response={201: dict}, summary="提出议题 Propose an item")
def propose_item(request: HttpRequest, council_id: int, payload: ItemIn) -> Status[dict[str, Any]]:
    from gongzhi.cases.selectors import case_get

    user = user_of(request)
    council = _council(user, council_id)
    case = case_get(user, payload.case_id) if payload.case_id else None
    item = services.item_propose(actor=user, council=council, title=payload.title, description=payload.description,
                                 case=case)
    return Status(201, get_item(request, item.pk))


def _item(user: Any, item_id: int) -> AgendaItem:
    return get_scoped(user, AgendaItem.objects.select_related("council__area", "council__kind", "escalated_to"),
                      item_id)


@router.get("/agenda-items/{item_id}", response=dict, summary="议题详情（含可执行步骤）")
def get_item(request: HttpRequest, item_id: int) -> dict[str, Any]:
    user = user_of(request)
    return _item_detail(user, _item(user, item_id))


@router.post("/agenda-items/{item_id}/steps/{name}", response=dict, summary="议题办理 Move an item (409 on conflict)")
def step_item(request: HttpRequest, item_id: int, name: str, payload: StepIn) -> dict[str, Any]:
    user = user_of(request)
    if name not in STEPS:
        raise NotFound("未知操作")
    item = _item(user, item_id)
    meeting = None
    if payload.meeting_id is not None:
        meeting = item.council.meetings.filter(pk=payload.meeting_id).first()
        if meeting is None:
            raise InvalidInput.on("meeting_id", "请选择本组织的会议")
    item = services.item_step(
        actor=user, item=item, step=name, expected_version=payload.version, reason=payload.reason, meeting=meeting,
        discussion=payload.discussion, decision=payload.decision, responsible=payload.responsible,
        deadline=payload.deadline, answer=payload.answer, open_case=payload.open_case)
    return _item_detail(user, _item(user, item.pk))


# ------------------------------------------------------------------------------------------ kinds


@router.get("/council-kinds", response=list[dict], summary="议事组织类型 Council kinds")
def list_kinds(request: HttpRequest, include_inactive: bool = False) -> list[dict[str, Any]]:
    return [_kind_out(k) for k in selectors.kinds(active_only=not include_inactive)[:MAX_LIMIT]]


@router.post("/council-kinds", response={201: dict}, summary="新增议事组织类型（系统管理员）")
def create_kind(request: HttpRequest, payload: KindIn) -> Status[dict[str, Any]]:
    kind = services.kind_create(actor=user_of(request), code=payload.code, name=payload.name, order=payload.order)
    return Status(201, _kind_out(kind))


@router.patch("/council-kinds/{code}", response=dict, summary="改名、排序、停用或启用议事组织类型（系统管理员）")
def update_kind(request: HttpRequest, code: str, payload: KindPatch) -> dict[str, Any]:
    kind = CouncilKind.objects.filter(code=code[:20]).first()
    if kind is None:
        raise NotFound("未找到")
    changes = payload.dict(exclude_none=True, exclude={"version"})
    return _kind_out(services.kind_update(actor=user_of(request), kind=kind, changes=changes,
                                          expected_version=payload.version))
