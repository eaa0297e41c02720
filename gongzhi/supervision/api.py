"""Supervision's part of the JSON API (mounted under /api/v1/ by gongzhi.api): monthly reports and their steps, the
month's overview of an area, cross-checks, findings and their steps, the ledger counts per area and both ledgers as
Excel. Parse → scoped fetch → service → schema; lists are keyset-paginated on the id (limit ≤ 200)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from gongzhi.accounts.roles import Cap
from gongzhi.api.auth import user_of
from gongzhi.core.errors import InvalidInput, NotFound
from gongzhi.core.scope import get_scoped, scope_of
from gongzhi.registry.models import Area, MemberUnit, PartyOrganisation

from . import excel, selectors, services
from .models import MAX_DEADLINE_DAYS, MAX_TEAM, CrossCheck, Finding, MonthlyReport, Rectification

router = Router(tags=["督查考核 supervision"])

MAX_LIMIT = 200
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
TEXT = 2000


class MonthlyReportIn(Schema):
    organisation_id: int = Field(..., description="党组织")
    month: str = Field(..., pattern=MONTH, max_length=7, description="月份 YYYY-MM（本月或近12个月）")
    work_done: str = Field(..., min_length=1, max_length=TEXT, description="本月工作")
    problems: str = Field("", max_length=TEXT, description="存在问题")
    next_plan: str = Field("", max_length=TEXT, description="下月计划")
    submit: bool = Field(False, description="保存后立即提交评议")


class MonthlyReportUpdateIn(Schema):
    work_done: str = Field(..., min_length=1, max_length=TEXT)
    problems: str = Field("", max_length=TEXT)
    next_plan: str = Field("", max_length=TEXT)
    version: int | None = Field(None, ge=1, description="读取时的版本号；已被他人修改时返回 409")


class MonthlyReportStepIn(Schema):
    step: Literal["submit", "review", "return"]
    verdict: Literal["good", "fairly_good", "average", "poor", ""] = Field(
        "", description="评议结果（评议时必填）：好 good、较好 fairly_good、一般 average、差 poor")
    note: str = Field("", max_length=500, description="评议意见（评为“差”时必填）")
    reason: str = Field("", max_length=500, description="退回理由（退回时必填）")
    version: int | None = Field(None, ge=1)


class CrossCheckIn(Schema):
    area_id: int = Field(..., description="被核查区域（社区或街道）")
    inspecting_area_id: int = Field(..., description="核查组所在区域（同一层级的另一区域）")
    checked_on: dt.date = Field(..., description="核查日期")
    team: list[int] = Field(..., min_length=1, max_length=MAX_TEAM, description="核查组成员（用户 id）")
    methods: list[Literal["records", "site", "survey"]] = Field(
        ..., min_length=1, max_length=3, description="核查方式：查阅资料 records、现场检查 site、问卷调查 survey")
    summary: str = Field("", max_length=TEXT, description="核查情况")


class FindingIn(Schema):
    description: str = Field(..., min_length=1, max_length=1000, description="问题描述")
    category: Literal["organisation", "position", "rules", "service", "records", "other"] = Field(
        ..., description="问题类别")
    place: str = Field("", max_length=200, description="地点")
    area_id: int | None = Field(None, description="责任区域（默认为被核查区域）")
    unit_id: int | None = Field(None, description="责任单位（可选）")
    deadline_days: int = Field(..., ge=1, le=MAX_DEADLINE_DAYS, description="整改时限（工作日）")


class FindingStepIn(Schema):
    step: Literal["rectify", "verify", "send_back"]
    measures: str = Field("", max_length=TEXT, description="整改措施（提交整改时必填）")
    completion_note: str = Field("", max_length=TEXT, description="完成情况（提交整改时必填）")
    note: str = Field("", max_length=500, description="核验意见")
    reason: str = Field("", max_length=500, description="退回理由（退回整改时必填）")
    version: int | None = Field(None, ge=1)


# ------------------------------------------------------------------------------------------ shapes


def _user_out(u: Any) -> dict[str, Any] | None:
    return None if u is None else {"id": u.pk, "name": selectors.user_name(u)}


def _report_out(r: MonthlyReport, user: Any) -> dict[str, Any]:
    return {"id": r.pk, "organisation": {"id": r.organisation_id, "name": r.organisation.name},
            "area": {"id": r.area_id, "name": r.area.name}, "month": f"{r.month:%Y-%m}", "work_done": r.work_done,
            "problems": r.problems, "next_plan": r.next_plan, "state": r.state, "state_label": r.get_state_display(),
            "verdict": r.verdict or None, "verdict_label": r.get_verdict_display() if r.verdict else None,
            "review_note": r.review_note, "return_reason": r.return_reason, "submitted_at": r.submitted_at,
            "reviewed_at": r.reviewed_at, "reviewed_by": _user_out(r.reviewed_by), "version": r.version,
            "steps": [t.name for t in services.report_steps(user, r)]}


def _check_out(c: CrossCheck) -> dict[str, Any]:
    return {"id": c.pk, "area": {"id": c.area_id, "name": c.area.name},
            "inspecting_area": {"id": c.inspecting_area_id, "name": c.inspecting_area.name},
            "checked_on": c.checked_on, "methods": c.methods, "method_labels": c.method_labels(),
            "summary": c.summary, "team": [_user_out(u) for u in sorted(c.team.all(), key=lambda u: u.pk)],
            "version": c.version}


def _finding_out(f: Finding, user: Any) -> dict[str, Any]:
    return {"id": f.pk, "cross_check_id": f.cross_check_id, "description": f.description, "category": f.category,
            "category_label": f.get_category_display(), "place": f.place,
            "area": {"id": f.area_id, "name": f.area.name},
            "unit": {"id": f.unit_id, "name": f.unit.name} if f.unit else None, "deadline_days": f.deadline_days,
            "due_at": f.due_at, "state": f.state, "state_label": f.get_state_display(), "overdue": f.is_overdue(),
            "rounds": f.rounds, "closed_at": f.closed_at, "created_at": f.created_at, "version": f.version,
            "steps": [t.name for t in services.finding_steps(user, f)]}


def _rectification_out(r: Rectification) -> dict[str, Any]:
    return {"id": r.pk, "finding_id": r.finding_id, "measures": r.measures, "completion_note": r.completion_note,
            "filed_by": _user_out(r.filed_by), "filed_at": r.filed_at, "outcome": r.outcome,
            "outcome_label": r.get_outcome_display(), "verify_note": r.verify_note,
            "verified_by": _user_out(r.verified_by), "verified_at": r.verified_at}


def _page(qs: QuerySet[Any], limit: int, after: int | None) -> tuple[list[Any], Any]:
    qs = qs.order_by("-pk")
    if after is not None:
        qs = qs.filter(pk__lt=after)
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].pk if more and rows else None)


def _area(user: Any, raw: int | None, field: str, cap: str = Cap.ASSESS_VIEW) -> Area | None:
    if raw is None:
        return None
    try:
        return get_scoped(user, Area, raw, cap=cap)
    except NotFound:
        raise InvalidInput.on(field, "区域不存在或不在您的工作范围内") from None


def _month(raw: str | None) -> dt.date | None:
    return services.parse_month(raw) if raw else None


# ------------------------------------------------------------------------------------------ 月述月评


@router.get("/supervision/reports", response=dict, summary="月述月评 Monthly reports")
def list_reports(request: HttpRequest, area_id: int | None = None,
                 month: str | None = Query(None, pattern=MONTH, max_length=7, description="YYYY-MM"),
                 state: Literal["draft", "submitted", "reviewed", "returned"] | None = None,
                 queue: bool = Query(False, description="只列待我评议的"),
                 limit: int = Query(50, ge=1, le=MAX_LIMIT), after: int | None = None) -> dict[str, Any]:
    user = user_of(request)
    qs = selectors.reports(user, area=_area(user, area_id, "area_id"), month=_month(month), state=state)
    if queue:
        qs = qs.filter(pk__in=[r.pk for r in selectors.review_queue(user)])
    rows, nxt = _page(qs, limit, after)
    return {"items": [_report_out(r, user) for r in rows], "next": nxt}


@router.post("/supervision/reports", response={201: dict}, summary="填报述职 Write a monthly report")
def create_report(request: HttpRequest, payload: MonthlyReportIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    try:
        org = get_scoped(user, PartyOrganisation, payload.organisation_id)
    except NotFound:
        raise InvalidInput.on("organisation_id", "党组织不存在") from None
    report = services.report_create(actor=user, organisation=org, month=payload.month, work_done=payload.work_done,
                                    problems=payload.problems, next_plan=payload.next_plan, submit=payload.submit)
    return Status(201, _report_out(selectors.report_get(user, report.pk), user))


@router.get("/supervision/reports/overview", response=dict, summary="月度述职情况 The month of an area")
def reports_overview(request: HttpRequest, area_id: int,
                     month: str | None = Query(None, pattern=MONTH, max_length=7,
                                               description="YYYY-MM，默认本月")) -> dict[str, Any]:
    """Each organisation expected to report in the area: submitted or missing, and the verdicts."""
    user = user_of(request)
    area = get_scoped(user, Area, area_id, cap=Cap.ASSESS_VIEW)
    return selectors.month_overview(user, area, _month(month) or selectors.this_month()).as_dict()


@router.get("/supervision/reports/{report_id}", response=dict, summary="述职详情 A monthly report")
def get_report(request: HttpRequest, report_id: int) -> dict[str, Any]:
    user = user_of(request)
    return _report_out(selectors.report_get(user, report_id), user)


@router.put("/supervision/reports/{report_id}", response=dict, summary="修改述职 Edit a draft or returned report")
def update_report(request: HttpRequest, report_id: int, payload: MonthlyReportUpdateIn) -> dict[str, Any]:
    user = user_of(request)
    report = selectors.report_get(user, report_id)
    services.report_update(actor=user, report=report, work_done=payload.work_done, problems=payload.problems,
                           next_plan=payload.next_plan, expected_version=payload.version)
    return _report_out(selectors.report_get(user, report_id), user)


@router.post("/supervision/reports/{report_id}/steps", response=dict,
             summary="提交、评议或退回述职 Submit / review / return")
def report_step(request: HttpRequest, report_id: int, payload: MonthlyReportStepIn) -> dict[str, Any]:
    user = user_of(request)
    report = selectors.report_get(user, report_id)
    services.report_step(actor=user, report=report, step=payload.step, verdict=payload.verdict, note=payload.note,
                         reason=payload.reason, expected_version=payload.version)
    return _report_out(selectors.report_get(user, report_id), user)


# ------------------------------------------------------------------------------------------ 交叉核查


@router.get("/supervision/checks", response=dict, summary="交叉核查 Cross-checks")
def list_checks(request: HttpRequest, area_id: int | None = None, limit: int = Query(50, ge=1, le=MAX_LIMIT),
                after: int | None = None) -> dict[str, Any]:
    user = user_of(request)
    rows, nxt = _page(selectors.checks(user, area=_area(user, area_id, "area_id")), limit, after)
    return {"items": [_check_out(c) for c in rows], "next": nxt}


@router.post("/supervision/checks", response={201: dict}, summary="登记交叉核查 Record a cross-check")
def create_check(request: HttpRequest, payload: CrossCheckIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    area = _area(user, payload.area_id, "area_id", Cap.SUPERVISION_CHECK)
    inspecting = _area(user, payload.inspecting_area_id, "inspecting_area_id", Cap.SUPERVISION_CHECK)
    assert area is not None and inspecting is not None
    users = list(get_user_model().objects.filter(pk__in=payload.team))
    if len(users) != len(set(payload.team)):
        raise InvalidInput.on("team", "核查组成员不存在")
    try:
        check = services.check_create(actor=user, area=area, inspecting_area=inspecting,
                                      checked_on=payload.checked_on, team=users, methods=payload.methods,
                                      summary=payload.summary)
    except InvalidInput as exc:  # the service names the areas, the payload their ids
        renamed = {"area": "area_id", "inspecting_area": "inspecting_area_id"}
        if set(exc.fields) & set(renamed):
            raise InvalidInput(exc.message, {renamed.get(k, k): v for k, v in exc.fields.items()}) from None
        raise
    return Status(201, _check_out(selectors.check_get(user, check.pk)))


@router.get("/supervision/checks/{check_id}", response=dict, summary="交叉核查详情 A cross-check and its findings")
def get_check(request: HttpRequest, check_id: int) -> dict[str, Any]:
    user = user_of(request)
    check = selectors.check_get(user, check_id)
    found = list(selectors.findings(user, cross_check=check).order_by("pk")[:MAX_LIMIT])
    return {**_check_out(check), "findings": [_finding_out(f, user) for f in found]}


@router.post("/supervision/checks/{check_id}/findings", response={201: dict},
             summary="登记问题 Add a finding to the 问题台账")
def add_finding(request: HttpRequest, check_id: int, payload: FindingIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    check = selectors.check_get(user, check_id)
    area = None
    # Only the inspected area's own nodes and units can answer for a finding; one message whether an id exists
    # elsewhere or not at all (nothing learnt about the rest of the tree).
    if payload.area_id is not None:
        area = Area.objects.filter(pk=payload.area_id, path__startswith=check.area_path).first()
        if area is None:
            raise InvalidInput.on("area_id", "责任区域须在被核查区域内")
    unit = None
    if payload.unit_id is not None:
        unit = MemberUnit.objects.filter(pk=payload.unit_id, area__path__startswith=check.area_path).first()
        if unit is None:
            raise InvalidInput.on("unit_id", "责任单位须位于被核查区域内")
    try:
        finding = services.finding_add(actor=user, cross_check=check, description=payload.description,
                                       category=payload.category, place=payload.place, area=area, unit=unit,
                                       deadline_days=payload.deadline_days)
    except InvalidInput as exc:
        renamed = {"area": "area_id", "unit": "unit_id"}
        if set(exc.fields) & set(renamed):
            raise InvalidInput(exc.message, {renamed.get(k, k): v for k, v in exc.fields.items()}) from None
        raise
    return Status(201, _finding_out(selectors.finding_get(user, finding.pk), user))


@router.get("/supervision/findings", response=dict, summary="问题台账 Findings")
def list_findings(request: HttpRequest, area_id: int | None = None,
                  state: Literal["open", "rectified", "returned", "closed", "all"] = Query(
                      "all", description="open：所有未销号的"),
                  overdue: bool | None = None, queue: Literal["rectify", "verify"] | None = None,
                  limit: int = Query(50, ge=1, le=MAX_LIMIT), after: int | None = None) -> dict[str, Any]:
    user = user_of(request)
    qs = selectors.findings(user, area=_area(user, area_id, "area_id"), state=None if state == "all" else state,
                            overdue=overdue)
    if queue:
        wanted = selectors.to_rectify(user) if queue == "rectify" else selectors.to_verify(user)
        qs = qs.filter(pk__in=[f.pk for f in wanted])
    rows, nxt = _page(qs, limit, after)
    return {"items": [_finding_out(f, user) for f in rows], "next": nxt}


@router.get("/supervision/findings/{finding_id}", response=dict, summary="问题详情 A finding and its rectifications")
def get_finding(request: HttpRequest, finding_id: int) -> dict[str, Any]:
    user = user_of(request)
    finding = selectors.finding_get(user, finding_id)
    return {**_finding_out(finding, user),
            "rectifications": [_rectification_out(r) for r in selectors.rectifications(user, finding=finding)[:50]]}


@router.post("/supervision/findings/{finding_id}/steps", response=dict,
             summary="整改、核验销号或退回整改 Rectify / verify / send back")
def finding_step(request: HttpRequest, finding_id: int, payload: FindingStepIn) -> dict[str, Any]:
    user = user_of(request)
    finding = selectors.finding_get(user, finding_id)
    services.finding_step(actor=user, finding=finding, step=payload.step, measures=payload.measures,
                          completion_note=payload.completion_note, note=payload.note, reason=payload.reason,
                          expected_version=payload.version)
    return _finding_out(selectors.finding_get(user, finding_id), user)


# ------------------------------------------------------------------------------------------ the ledgers


def _ledger_area(request: HttpRequest, area_id: int | None) -> Area:
    user = user_of(request)
    if area_id is not None:
        return get_scoped(user, Area, area_id, cap=Cap.ASSESS_VIEW)
    roots = scope_of(user).root_area_ids(Cap.ASSESS_VIEW)
    if not roots:
        raise NotFound("未找到")
    return Area.objects.get(pk=roots[0])


@router.get("/supervision/ledger", response=dict, summary="台账统计 Open / overdue / closed per area")
def ledger_counts(request: HttpRequest, area_id: int | None = None) -> dict[str, Any]:
    user = user_of(request)
    area = _ledger_area(request, area_id)
    led = selectors.ledger_counts(user, area)
    return {"area": {"id": area.pk, "name": area.name}, "total": led.total.as_dict(),
            "areas": [r.as_dict() for r in led.rows]}


@router.get("/supervision/ledger/findings.xlsx", summary="问题台账（Excel）")
def findings_xlsx(request: HttpRequest, area_id: int | None = None) -> Any:
    return excel.ledger_response(user_of(request), _ledger_area(request, area_id), "findings")


@router.get("/supervision/ledger/rectifications.xlsx", summary="整改台账（Excel）")
def rectifications_xlsx(request: HttpRequest, area_id: int | None = None) -> Any:
    return excel.ledger_response(user_of(request), _ledger_area(request, area_id), "rectifications")
