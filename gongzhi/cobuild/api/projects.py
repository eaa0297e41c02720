"""Projects (四单), milestones, claims, deliveries and volunteer hours in the JSON API. Parse → scoped fetch →
service → schema; every 400 names its field (gongzhi.api.errors)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from gongzhi.api.auth import user_of
from gongzhi.api.fields import Hours, Money
from gongzhi.core.errors import InvalidInput, NotFound
from gongzhi.core.scope import get_scoped
from gongzhi.councils.models import AgendaItem
from gongzhi.registry.models import Area, CommitmentItem, MemberUnit, Person

from ..models import Claim, Delivery, ListType, Match, Milestone, Need, Project, VolunteerTeam
from ..selectors import projects as sel
from ..services import projects as svc

# A photo of at most 5 MB, base64-encoded (as the case pipeline takes them).
Photo = Annotated[str, Field(max_length=7_000_000)]

router = Router(tags=["共驻共建 cobuild"])

MAX_LIMIT = 200


class ProjectIn(Schema):
    area_id: int = Field(..., description="所属区域（社区、街道…）")
    list_type: str = Field(..., max_length=30, description="清单类型代码，如 livelihood（民生实事）")
    title: str = Field(..., min_length=1, max_length=100)
    task: str = Field(..., min_length=1, max_length=2000, description="任务清单：做什么")
    standard: str = Field(..., min_length=1, max_length=1000, description="标准清单：怎样算完成")
    target_value: Money | None = Field(None, description="可量化目标数量（最多两位小数）")
    target_measure: str = Field("", max_length=10, description="目标单位，如 户、次、米")
    lead_unit_id: int | None = Field(None, description="责任清单：牵头单位")
    unit_ids: list[int] = Field(default_factory=list, max_length=30, description="责任单位")
    person_in_charge_id: int | None = Field(None, description="责任人")
    starts_on: dt.date
    limit_days: int = Field(0, ge=0, le=1000, description="时限清单：工作日数（不填完成日期时按工作日历推算）")
    due_on: dt.date | None = Field(None, description="或直接给出完成时限")
    public: bool = True
    claim_limit: int = Field(1, ge=1, le=100, description="认领人数上限")
    budget: Money | None = None
    need_id: int | None = Field(None, description="来源需求")
    agenda_item_id: int | None = Field(None, description="来源议题（已决议）")
    commitment_item_id: int | None = Field(None, description="来源承诺事项")


class ProjectStepIn(Schema):
    name: Literal["start", "report", "deliver", "accept", "refuse", "cancel"]
    expected_version: int | None = Field(None, ge=1)
    reason: str = Field("", max_length=300)
    text: str = Field("", max_length=2000, description="进度报告内容")
    progress: int | None = Field(None, ge=0, le=100)
    achieved_value: Money | None = None
    note: str = Field("", max_length=1000, description="验收意见")
    photos: list[Photo] = Field(default_factory=list, max_length=6, description="照片，base64 编码的 JPEG/PNG")


class RateIn(Schema):
    score: int = Field(..., ge=1, le=5)
    comment: str = Field("", max_length=300)


class MilestoneIn(Schema):
    title: str = Field(..., min_length=1, max_length=100)
    due_on: dt.date


class DoneIn(Schema):
    done_on: dt.date | None = None


class ClaimIn(Schema):
    unit_id: int | None = Field(None, description="以单位身份认领（须为本单位经办人）；空则以本人身份")
    pledge: str = Field("", max_length=300, description="亮承诺")


class WithdrawIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300)
    expected_version: int | None = Field(None, ge=1)


class ParticipantIn(Schema):
    person_id: int
    hours: Hours = Field(..., description="本人服务时长（小时），大于 0、不超过 24")


class DeliveryIn(Schema):
    area_id: int = Field(..., description="服务地点（社区、网格、小区…）")
    kind: str = Field(..., max_length=12)
    title: str = Field(..., min_length=1, max_length=100)
    delivered_on: dt.date
    description: str = Field("", max_length=2000)
    place: str = Field("", max_length=100)
    beneficiaries: int = Field(0, ge=0, le=1_000_000)
    hours: Hours = Decimal("0")
    unit_id: int | None = None
    team_id: int | None = None
    project_id: int | None = None
    need_id: int | None = None
    match_id: int | None = None
    participants: list[ParticipantIn] = Field(default_factory=list, max_length=200)
    photos: list[Photo] = Field(default_factory=list, max_length=6)


class VolunteerTeamIn(Schema):
    name: str = Field(..., min_length=1, max_length=60)
    area_id: int
    unit_id: int | None = None


class MemberIn(Schema):
    person_id: int


def _limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.on("limit", f"须在 1 到 {MAX_LIMIT} 之间")


def _photos(raw: list[str], field: str = "photos") -> list[tuple[str, bytes]]:
    out = []
    for i, text in enumerate(raw):
        try:
            out.append((f"photo{i}", base64.b64decode(text, validate=True)))
        except (binascii.Error, ValueError):
            raise InvalidInput.on(f"{field}[{i}]", "照片须为 base64 编码") from None
    return out


def _project_out(p: Project, *, detail: bool = False, user: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": p.pk, "title": p.title, "list_type": {"code": p.list_type.code, "name": p.list_type.name},
        "area": {"id": p.area_id, "name": p.area.name}, "state": p.state, "state_label": p.get_state_display(),
        "task": p.task, "standard": p.standard, "target_value": p.target_value, "target_measure": p.target_measure,
        "achieved_value": p.achieved_value, "progress": p.progress,
        "lead_unit": {"id": p.lead_unit_id, "name": p.lead_unit.name} if p.lead_unit else None,
        "person_in_charge": {"id": p.person_in_charge_id, "name": p.person_in_charge.name}
        if p.person_in_charge else None,
        "starts_on": p.starts_on, "limit_days": p.limit_days, "due_on": p.due_on, "overdue": sel.is_overdue(p),
        "public": p.public, "claim_limit": p.claim_limit, "claims_active": p.claims_active,
        "rating": p.rating, "rating_count": p.rating_count, "version": p.version,
    }
    if detail:
        out["units"] = [{"id": u.pk, "name": u.name} for u in p.units.all()]
        out["need_id"], out["agenda_item_id"] = p.need_id, p.agenda_item_id
        out["commitment_item_id"] = p.commitment_item_id
        out["acceptance_note"] = p.acceptance_note
        out["milestones"] = [{"id": m.pk, "title": m.title, "due_on": m.due_on, "done_on": m.done_on}
                             for m in sel.milestones(p)]
        out["reports"] = [{"id": r.pk, "text": r.text, "progress": r.progress, "achieved_value": r.achieved_value,
                           "reported_at": r.reported_at, "photos": [ph.pk for ph in r.photos.all()]}
                          for r in sel.reports(p)]
        out["claims"] = [_claim_out(i.claim, i) for i in sel.identities(p)]
        out["deliveries"] = [_delivery_out(d) for d in sel.project_deliveries(p)]
        out["steps"] = [t.name for t in svc.allowed_steps(user, p)] if user is not None else []
    return out


def _claim_out(c: Claim, ident: sel.Identity | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": c.pk, "project_id": c.project_id, "state": c.state, "state_label": c.get_state_display(),
        "unit": {"id": c.unit_id, "name": c.unit.name} if c.unit else None,
        "person": {"id": c.person_id, "name": c.person.name} if c.person else None,
        "pledge": c.pledge, "claimed_at": c.claimed_at, "withdrawn_at": c.withdrawn_at,
        "withdraw_reason": c.withdraw_reason, "version": c.version,
    }
    if ident is not None:
        out["identity"] = {"as": ident.as_what, "organisation": ident.organisation, "work_unit": ident.work_unit,
                           "registered": ident.registered}
    return out


def _delivery_out(d: Delivery) -> dict[str, Any]:
    return {"id": d.pk, "title": d.title, "kind": d.kind, "kind_label": d.get_kind_display(),
            "area": {"id": d.area_id, "name": d.area.name}, "delivered_on": d.delivered_on, "place": d.place,
            "beneficiaries": d.beneficiaries, "hours": d.hours,
            "unit": {"id": d.unit_id, "name": d.unit.name} if d.unit else None,
            "team": {"id": d.team_id, "name": d.team.name} if d.team else None, "project_id": d.project_id}


def _opt(user: Any, model: Any, pk: int | None, field: str) -> Any:
    if pk is None:
        return None
    try:
        return get_scoped(user, model, pk)
    except NotFound:
        raise InvalidInput.on(field, "不存在或无权查看") from None


def _unit_for(area: Area, pk: int | None, field: str) -> MemberUnit | None:
    if pk is None:
        return None
    unit = sel.units_for(area).filter(pk=pk).first()
    if unit is None:
        raise InvalidInput.on(field, "单位不存在或不在本区")
    return unit


# ---------------------------------------------------------------------------------------------- projects


@router.get("/cobuild/projects", response=dict, summary="共建项目清单 Projects")
def list_projects(request: HttpRequest, list_type: str = Query("", max_length=30),
                  state: str = Query("", max_length=12), area_id: int | None = None, overdue: bool = False,
                  limit: int = Query(50, ge=1, le=200), after: int | None = None) -> dict[str, Any]:
    """Keyset pagination on the id (newest first): pass ``next`` as ``after``."""
    user = user_of(request)
    _limit(limit)
    area = get_scoped(user, Area, area_id) if area_id else None
    qs = sel.projects(user, list_type=list_type, state=state, area=area, overdue=overdue).order_by("-pk")
    if after is not None:
        qs = qs.filter(pk__lt=after)
    page = list(qs[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return {"items": [_project_out(p) for p in page], "next": page[-1].pk if more and page else None}


@router.post("/cobuild/projects", response={201: dict}, summary="新建共建项目（四单） Open a project")
def create_project(request: HttpRequest, payload: ProjectIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    area = get_scoped(user, Area, payload.area_id)
    list_type = ListType.objects.filter(code=payload.list_type, active=True).first()
    if list_type is None:
        raise InvalidInput.on("list_type", "未知的清单类型")
    project = svc.project_open(
        actor=user, area=area, list_type=list_type, title=payload.title, task=payload.task,
        standard=payload.standard, target_value=payload.target_value, target_measure=payload.target_measure,
        lead_unit=_unit_for(area, payload.lead_unit_id, "lead_unit_id"),
        units=[u for u in (_unit_for(area, pk, "unit_ids") for pk in payload.unit_ids) if u is not None],
        person_in_charge=_opt(user, Person, payload.person_in_charge_id, "person_in_charge_id"),
        starts_on=payload.starts_on, limit_days=payload.limit_days, due_on=payload.due_on, public=payload.public,
        claim_limit=payload.claim_limit, budget=payload.budget,
        need=_opt(user, Need, payload.need_id, "need_id"),
        agenda_item=_opt(user, AgendaItem, payload.agenda_item_id, "agenda_item_id"),
        commitment_item=_opt(user, CommitmentItem, payload.commitment_item_id, "commitment_item_id"))
    return Status(201, _project_out(sel.project_get(user, project.pk), detail=True, user=user))


@router.get("/cobuild/projects/{project_id}", response=dict, summary="项目详情 A project")
def get_project(request: HttpRequest, project_id: int) -> dict[str, Any]:
    user = user_of(request)
    return _project_out(sel.project_get(user, project_id), detail=True, user=user)


@router.post("/cobuild/projects/{project_id}/step", response=dict, summary="推进项目 Take a step")
def step_project(request: HttpRequest, project_id: int, payload: ProjectStepIn) -> dict[str, Any]:
    user = user_of(request)
    project = sel.project_get(user, project_id)
    svc.project_step(actor=user, project=project, name=payload.name, expected_version=payload.expected_version,
                     reason=payload.reason, text=payload.text, progress=payload.progress,
                     achieved_value=payload.achieved_value, photos=_photos(payload.photos), note=payload.note)
    return _project_out(sel.project_get(user, project_id), detail=True, user=user)


@router.post("/cobuild/projects/{project_id}/rate", response={201: dict}, summary="居民评价 Rate a project")
def rate_project(request: HttpRequest, project_id: int, payload: RateIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    project = sel.project_get(user, project_id)
    rating = svc.project_rate(actor=user, project=project, score=payload.score, comment=payload.comment)
    fresh = sel.project_get(user, project_id)
    return Status(201, {"id": rating.pk, "score": rating.score, "rating": fresh.rating,
                        "rating_count": fresh.rating_count})


@router.post("/cobuild/projects/{project_id}/milestones", response={201: dict}, summary="增加节点 Add a milestone")
def add_milestone(request: HttpRequest, project_id: int, payload: MilestoneIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    m = svc.milestone_add(actor=user, project=sel.project_get(user, project_id), title=payload.title,
                          due_on=payload.due_on)
    return Status(201, {"id": m.pk, "title": m.title, "due_on": m.due_on, "done_on": m.done_on})


@router.post("/cobuild/milestones/{milestone_id}/done", response=dict, summary="节点完成 Mark a milestone done")
def milestone_done(request: HttpRequest, milestone_id: int, payload: DoneIn) -> dict[str, Any]:
    user = user_of(request)
    m = Milestone.objects.filter(pk=milestone_id, project__in=sel.visible(user)).select_related("project").first()
    if m is None:
        raise NotFound("未找到")
    m = svc.milestone_done(actor=user, milestone=m, done_on=payload.done_on)
    return {"id": m.pk, "title": m.title, "due_on": m.due_on, "done_on": m.done_on}


# ---------------------------------------------------------------------------------------------- claims


@router.get("/cobuild/pool", response=dict, summary="认领池 Claimable projects")
def list_pool(request: HttpRequest, area_id: int | None = None, limit: int = Query(50, ge=1, le=200),
              after: int | None = None) -> dict[str, Any]:
    user = user_of(request)
    _limit(limit)
    area = Area.objects.filter(pk=area_id).first() if area_id else None
    qs = sel.pool(user, area=area).order_by("pk")
    if after is not None:
        qs = qs.filter(pk__gt=after)
    page = list(qs[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return {"items": [_project_out(p) for p in page], "next": page[-1].pk if more and page else None}


@router.post("/cobuild/projects/{project_id}/claims", response={201: dict}, summary="认领 Claim a project")
def create_claim(request: HttpRequest, project_id: int, payload: ClaimIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    project = sel.pool(user).filter(pk=project_id).select_related("list_type").first()
    if project is None:
        project = sel.project_get(user, project_id)  # visible but full or not claimable: the service says why
    unit = MemberUnit.objects.filter(pk=payload.unit_id).first() if payload.unit_id else None
    if payload.unit_id and unit is None:
        raise InvalidInput.on("unit_id", "单位不存在")
    claim = svc.claim_create(actor=user, project=project, unit=unit, pledge=payload.pledge)
    return Status(201, _claim_out(sel.claim_get(user, claim.pk)))


@router.get("/cobuild/claims/mine", response=list[dict], summary="我的认领 My claims")
def mine(request: HttpRequest, state: str = Query("", max_length=10)) -> list[dict[str, Any]]:
    qs = sel.my_claims(user_of(request))
    if state:
        qs = qs.filter(state=state)
    return [_claim_out(c) for c in qs[:MAX_LIMIT]]


@router.post("/cobuild/claims/{claim_id}/withdraw", response=dict, summary="退领 Withdraw a claim")
def withdraw_claim(request: HttpRequest, claim_id: int, payload: WithdrawIn) -> dict[str, Any]:
    user = user_of(request)
    claim = sel.claim_get(user, claim_id)
    svc.claim_withdraw(actor=user, claim=claim, reason=payload.reason, expected_version=payload.expected_version)
    return _claim_out(sel.claim_get(user, claim_id))


# ---------------------------------------------------------------------------------------------- deliveries


@router.get("/cobuild/deliveries", response=dict, summary="服务记录 Deliveries")
def list_deliveries(request: HttpRequest, area_id: int | None = None, unit_id: int | None = None,
                    since: dt.date | None = None, until: dt.date | None = None,
                    limit: int = Query(50, ge=1, le=200), after: int | None = None) -> dict[str, Any]:
    user = user_of(request)
    _limit(limit)
    area = get_scoped(user, Area, area_id) if area_id else None
    qs = sel.deliveries(user, area=area, unit_id=unit_id, since=since, until=until).order_by("-pk")
    if after is not None:
        qs = qs.filter(pk__lt=after)
    page = list(qs[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return {"items": [_delivery_out(d) for d in page], "next": page[-1].pk if more and page else None}


@router.post("/cobuild/deliveries", response={201: dict}, summary="登记服务记录 Record a delivery")
def create_delivery(request: HttpRequest, payload: DeliveryIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    project = sel.project_get(user, payload.project_id) if payload.project_id else None
    area = Area.objects.filter(pk=payload.area_id).first()
    if area is None:
        raise InvalidInput.on("area_id", "区域不存在")
    people = {p.pk: p for p in sel.people_for(user).filter(pk__in=[x.person_id for x in payload.participants])}
    participants = []
    for i, x in enumerate(payload.participants):
        if x.person_id not in people:
            raise InvalidInput.on(f"participants[{i}].person_id", "人员不存在")
        participants.append((people[x.person_id], x.hours))
    unit = MemberUnit.objects.filter(pk=payload.unit_id).first() if payload.unit_id else None
    if payload.unit_id and unit is None:
        raise InvalidInput.on("unit_id", "单位不存在")
    delivery = svc.delivery_record(
        actor=user, area=area, kind=payload.kind, title=payload.title, delivered_on=payload.delivered_on,
        description=payload.description, place=payload.place, beneficiaries=payload.beneficiaries,
        hours=payload.hours, unit=unit, team=_opt(user, VolunteerTeam, payload.team_id, "team_id"),
        project=project, need=_opt(user, Need, payload.need_id, "need_id"),
        match=_opt(user, Match, payload.match_id, "match_id"), participants=participants,
        photos=_photos(payload.photos))
    return Status(201, _delivery_out(Delivery.objects.select_related("area", "unit", "team").get(pk=delivery.pk)))


@router.post("/cobuild/teams", response={201: dict}, summary="新建志愿服务队 Create a team")
def create_team(request: HttpRequest, payload: VolunteerTeamIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    area = Area.objects.filter(pk=payload.area_id).first()
    unit = MemberUnit.objects.filter(pk=payload.unit_id).first() if payload.unit_id else None
    team = svc.team_create(actor=user, name=payload.name, area=area, unit=unit)
    return Status(201, {"id": team.pk, "name": team.name, "area_id": team.area_id, "unit_id": team.unit_id})


@router.post("/cobuild/teams/{team_id}/members", response=dict, summary="增加队员 Add a team member")
def add_member(request: HttpRequest, team_id: int, payload: MemberIn) -> dict[str, Any]:
    user = user_of(request)
    team = get_scoped(user, VolunteerTeam, team_id)
    person = sel.people_for(user).filter(pk=payload.person_id).first()
    if person is None:
        raise InvalidInput.on("person_id", "人员不存在或无权查看")
    svc.team_add_member(actor=user, team=team, person=person)
    return {"id": team.pk, "members": list(team.members.values_list("pk", flat=True))}


@router.get("/cobuild/hours", response=dict, summary="志愿服务时长 Volunteer hours")
def hours(request: HttpRequest, since: dt.date | None = None, until: dt.date | None = None) -> dict[str, Any]:
    """Per person, team and unit in the caller's scope, and the caller's own."""
    user = user_of(request)
    own = sel.my_hours(user, since=since, until=until)
    return {
        "mine": {"hours": own["hours"], "times": own["times"]},
        "people": [{"person_id": r["person_id"], "name": r["person__name"], "hours": r["hours"],
                    "times": r["times"]} for r in sel.hours_per_person(user, since=since, until=until)],
        "teams": [{"team_id": r["team_id"], "name": r["team__name"], "hours": r["hours"], "times": r["times"]}
                  for r in sel.hours_per_team(user, since=since, until=until)],
        "units": [{"unit_id": r["unit_id"], "name": r["unit__name"], "hours": r["hours"], "times": r["times"]}
                  for r in sel.hours_per_unit(user, since=since, until=until)],
    }


@router.get("/cobuild/feedback/{organisation_id}", response=dict, summary="双报到反馈 Dual-registration feedback")
def dual_feedback(request: HttpRequest, organisation_id: int, since: dt.date | None = None,
                  until: dt.date | None = None) -> dict[str, Any]:
    org, rows = sel.feedback(user_of(request), organisation_id, since=since, until=until)
    return {"organisation": {"id": org.pk, "name": org.name},
            "members": [{"person_id": r.person_id, "name": r.name, "work_unit": r.work_unit,
                         "communities": r.communities, "times": r.times, "hours": r.hours, "what": r.what}
                        for r in rows]}
