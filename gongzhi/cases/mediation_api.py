"""Mediation (B8) in the JSON API: mediation teams and their members, opening a dispute with a team, (re)assigning
it and recording hearings. A django-ninja router mounted under /api/v1/ by gongzhi.api; thin like the pages."""

from __future__ import annotations

from typing import Any, Literal

from django.db.models import Count, Q
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import AwareDatetime

from gongzhi.api.auth import user_of
from gongzhi.core.errors import InvalidInput, NotFound
from gongzhi.core.scope import get_scoped, scoped
from gongzhi.registry.models import Area, Person

from . import selectors, services
from .api import _case_out
from .models import Case, CaseKind, Mediation, MediationTeam, MediationTeamMember

router = Router(tags=["矛盾纠纷调解 mediation"])

MAX_LIMIT = 200
TeamKind = Literal["mobile", "property", "peoples", "talk_point", "other"]
MemberRole = Literal["director", "deputy", "mediator", "legal", "liaison"]


class TeamIn(Schema):
    name: str = Field(..., min_length=1, max_length=100, description="名称")
    kind: TeamKind = Field(..., description="类型：移动调解室 mobile、物业纠纷调解中心 property、"
                                            "人民调解委员会 peoples、评理说事点 talk_point、其他 other")
    area_id: int = Field(..., description="服务区域：区、街道或社区")
    place: str = Field("", max_length=100, description="调解场所")
    phone: str = Field("", max_length=20, description="联系电话")


class TeamPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    kind: TeamKind | None = None
    place: str | None = Field(None, max_length=100)
    phone: str | None = Field(None, max_length=20)
    active: bool | None = Field(None, description="停用后不再接收新的纠纷")
    reason: str = Field("", max_length=200)
    version: int | None = Field(None, ge=1, description="读取时的版本号；已被他人修改时返回 409")


class TeamMemberIn(Schema):
    person_id: int = Field(..., description="人员 id（须在您的工作范围内）")
    role: MemberRole = Field("mediator", description="主任 director、副主任 deputy、调解员 mediator、"
                                                     "法律顾问 legal、联络员 liaison")


class PartyIn(Schema):
    name: str = Field(..., max_length=50, description="姓名")
    role: str = Field(..., max_length=20, description="身份：申请人、被申请人…")


class MediationCaseIn(Schema):
    description: str = Field(..., min_length=1, max_length=4000, description="纠纷情况")
    parties: list[PartyIn] = Field(..., min_length=2, max_length=20, description="当事人（至少两方）")
    area_id: int = Field(..., description="纠纷发生地：社区、网格、小区或楼栋")
    team_id: int | None = Field(None, description="调解组织（须服务于发生地）")
    title: str = Field("", max_length=100, description="标题（默认“甲与乙的矛盾纠纷”）")
    address: str = Field("", max_length=200)
    channel: Literal["mediation_point", "reception", "hotline", "window", "patrol", "visit", "meeting"] = Field(
        "mediation_point", description="来源渠道")


class AssignIn(Schema):
    team_id: int | None = Field(..., description="调解组织；null 为取消指派")
    reason: str = Field("", max_length=200)


class HearingIn(Schema):
    held_at: AwareDatetime = Field(..., description="调解时间（含时区）")
    place: str = Field(..., min_length=1, max_length=100)
    mediator_ids: list[int] = Field(default_factory=list, max_length=20,
                                    description="本调解组织的调解员（人员 id）")
    mediators: str = Field("", max_length=200, description="其他调解员（如律师、民警）")
    notes: str = Field(..., min_length=1, max_length=4000, description="调解记录")


def _team_out(team: MediationTeam, *, member_count: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": team.pk, "name": team.name, "kind": team.kind, "kind_label": team.get_kind_display(),
        "area": {"id": team.area_id, "name": team.area.name}, "place": team.place, "phone": team.phone,
        "active": team.active, "created_on": team.created_on, "version": team.version,
    }
    if member_count is not None:
        out["member_count"] = member_count
    return out


def _member_out(m: MediationTeamMember) -> dict[str, Any]:
    return {"id": m.pk, "person": {"id": m.person_id, "name": m.person.name}, "role": m.role,
            "role_label": m.get_role_display(), "joined_on": m.joined_on, "left_on": m.left_on}


def _mediation_out(mediation: Mediation) -> dict[str, Any]:
    team = mediation.team
    return {
        "parties": mediation.parties, "outcome": mediation.outcome, "agreement": mediation.agreement,
        "team": {"id": team.pk, "name": team.name, "kind": team.kind} if team else None,
        "hearings": [{"id": h.pk, "held_at": h.held_at, "place": h.place, "mediators": h.mediators,
                      "mediator_ids": [p.pk for p in h.mediator_people.all()], "notes": h.notes}
                     for h in mediation.hearings.prefetch_related("mediator_people").order_by("held_at", "pk")],
    }


def _case_with_mediation(user: Any, case_id: int) -> dict[str, Any]:
    case = selectors.case_get(user, case_id)
    out = _case_out(user, case, detail=True)
    out["mediation"] = _mediation_out(Mediation.objects.select_related("team").get(case_id=case.pk))
    return out


def _team(user: Any, team_id: int) -> MediationTeam:
    return get_scoped(user, MediationTeam.objects.select_related("area"), team_id)


def _pick(user: Any, model: Any, pk: int, field: str) -> Any:
    try:
        return get_scoped(user, model, pk)
    except NotFound:
        raise InvalidInput.on(field, "不存在或不在您的工作范围内") from None


def _mediation_case(user: Any, case_id: int) -> Case:
    case = selectors.case_get(user, case_id)
    if case.kind != CaseKind.MEDIATION:
        raise NotFound("未找到")
    return case


@router.get("/mediation-teams", response=dict, summary="调解组织 Mediation teams")
def list_teams(request: HttpRequest, kind: TeamKind | None = None, area_id: int | None = None,
               active: bool | None = None, limit: int = Query(50, ge=1, le=200),
               after: int | None = None) -> dict[str, Any]:
    """The teams serving the caller's part of the tree (and the levels above it) and her own teams, by id."""
    user = user_of(request)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.on("limit", f"须在 1 到 {MAX_LIMIT} 之间")
    qs = scoped(user, MediationTeam).select_related("area")
    if kind:
        qs = qs.filter(kind=kind)
    if active is not None:
        qs = qs.filter(active=active)
    if area_id is not None:
        qs = qs.filter(area__path__prefix=get_scoped(user, Area, area_id).path)
    if after is not None:
        qs = qs.filter(pk__gt=after)
    rows = list(qs.annotate(n=Count("members", filter=Q(members__left_on__isnull=True))).order_by("pk")[:limit + 1])
    page = rows[:limit]
    return {"items": [_team_out(t, member_count=t.n) for t in page],  # type: ignore[attr-defined]
            "next": page[-1].pk if len(rows) > limit and page else None}


@router.post("/mediation-teams", response={201: dict}, summary="新建调解组织 Create a team")
def create_team(request: HttpRequest, payload: TeamIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    team = services.mediation_team_create(actor=user, area=_pick(user, Area, payload.area_id, "area_id"),
                                          name=payload.name, kind=payload.kind, place=payload.place,
                                          phone=payload.phone)
    return Status(201, _team_out(_team(user, team.pk), member_count=0))


@router.get("/mediation-teams/{team_id}", response=dict, summary="调解组织详情 A team")
def get_team(request: HttpRequest, team_id: int) -> dict[str, Any]:
    user = user_of(request)
    team = _team(user, team_id)
    members = list(team.members.filter(left_on__isnull=True).select_related("person").order_by("role", "pk"))
    return {**_team_out(team, member_count=len(members)), "members": [_member_out(m) for m in members]}


@router.patch("/mediation-teams/{team_id}", response=dict, summary="修改调解组织 Update a team")
def update_team(request: HttpRequest, team_id: int, payload: TeamPatch) -> dict[str, Any]:
    user = user_of(request)
    team = _team(user, team_id)
    changes = payload.dict(exclude_unset=True, exclude={"reason", "version"})
    changes = {k: v for k, v in changes.items() if v is not None}
    services.mediation_team_update(actor=user, team=team, changes=changes, reason=payload.reason,
                                   expected_version=payload.version)
    return _team_out(_team(user, team_id))


@router.get("/mediation-teams/{team_id}/members", response=list[dict], summary="调解组织成员 Members")
def list_members(request: HttpRequest, team_id: int, former: bool = False) -> list[dict[str, Any]]:
    """Current members; ``former=true`` also lists those who left."""
    team = _team(user_of(request), team_id)
    qs = team.members.select_related("person")
    if not former:
        qs = qs.filter(left_on__isnull=True)
    return [_member_out(m) for m in qs.order_by("role", "pk")[:500]]


@router.post("/mediation-teams/{team_id}/members", response={201: dict}, summary="添加成员 Add a member")
def add_member(request: HttpRequest, team_id: int, payload: TeamMemberIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    member = services.mediation_member_add(actor=user, team=_team(user, team_id),
                                           person=_pick(user, Person, payload.person_id, "person_id"),
                                           role=payload.role)
    return Status(201, _member_out(member))


@router.delete("/mediation-teams/{team_id}/members/{member_id}", response={204: None},
               summary="移出成员 Remove a member")
def remove_member(request: HttpRequest, team_id: int, member_id: int,
                  reason: str = Query("", max_length=500)) -> Status[None]:
    user = user_of(request)
    team = _team(user, team_id)
    member = team.members.filter(pk=member_id).select_related("person").first()
    if member is None:
        raise NotFound("未找到")
    services.mediation_member_remove(actor=user, member=member, reason=reason[:200])
    return Status(204, None)


@router.get("/mediation-teams/{team_id}/cases", response=dict, summary="调解组织承接的纠纷 The team's disputes")
def team_cases(request: HttpRequest, team_id: int, limit: int = Query(50, ge=1, le=200),
               after: int | None = None) -> dict[str, Any]:
    """Newest first (``after``: the last id of the previous page)."""
    user = user_of(request)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.on("limit", f"须在 1 到 {MAX_LIMIT} 之间")
    team = _team(user, team_id)
    qs = scoped(user, Case).filter(kind=CaseKind.MEDIATION, mediation__team=team).select_related(
        "category", "area", "owner_area", "assignee_unit", "mediation")
    if after is not None:
        qs = qs.filter(pk__lt=after)
    rows = list(qs.order_by("-pk")[:limit + 1])
    page = selectors.with_places(rows[:limit])
    return {"items": [{**_case_out(user, c), "outcome": c.mediation.outcome} for c in page],
            "next": page[-1].pk if len(rows) > limit and page else None}


@router.post("/mediation-cases", response={201: dict}, summary="发起矛盾纠纷调解 Open a dispute")
def open_case(request: HttpRequest, payload: MediationCaseIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    case = services.mediation_case_open(
        actor=user, description=payload.description, parties=[p.dict() for p in payload.parties],
        area=_pick(user, Area, payload.area_id, "area_id"), title=payload.title, address=payload.address,
        channel=payload.channel,
        team=_pick(user, MediationTeam, payload.team_id, "team_id") if payload.team_id else None)
    return Status(201, _case_with_mediation(user, case.pk))


@router.get("/mediation-cases/{case_id}", response=dict, summary="矛盾纠纷详情 A dispute")
def get_mediation_case(request: HttpRequest, case_id: int) -> dict[str, Any]:
    user = user_of(request)
    return _case_with_mediation(user, _mediation_case(user, case_id).pk)


@router.put("/mediation-cases/{case_id}/team", response=dict, summary="指派/改派调解组织 Assign a team")
def assign_team(request: HttpRequest, case_id: int, payload: AssignIn) -> dict[str, Any]:
    user = user_of(request)
    case = _mediation_case(user, case_id)
    team = _pick(user, MediationTeam, payload.team_id, "team_id") if payload.team_id else None
    services.mediation_team_assign(actor=user, case=case, team=team, reason=payload.reason)
    return _case_with_mediation(user, case.pk)


@router.post("/mediation-cases/{case_id}/hearings", response={201: dict}, summary="记录调解 Record a hearing")
def record_hearing(request: HttpRequest, case_id: int, payload: HearingIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    case = _mediation_case(user, case_id)
    hearing = services.hearing_record(actor=user, case=case, held_at=payload.held_at, place=payload.place,
                                      mediators=payload.mediators, notes=payload.notes,
                                      mediator_people=list(Person.objects.filter(pk__in=payload.mediator_ids[:20])))
    return Status(201, {"id": hearing.pk, "held_at": hearing.held_at, "place": hearing.place,
                        "mediators": hearing.mediators, "mediator_ids": sorted(p.pk for p in
                                                                               hearing.mediator_people.all()),
                        "notes": hearing.notes})
