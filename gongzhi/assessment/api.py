"""Assessment's part of the JSON API (mounted under /api/v1/ by gongzhi.api): schemes and their draft versions,
rounds through their declared steps, raters' sheets (JSON and Excel out / in), reviews, objections, residents'
answers, the public 红黑榜, the 公示 notice (Word, PDF) and a unit's credit file. Parse → scoped fetch → service →
schema; every 400 names its field; lists use keyset pagination with ``limit`` ≤ 200.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import WithJsonSchema

from gongzhi.accounts.roles import Cap
from gongzhi.api.auth import user_of
from gongzhi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from gongzhi.core.ledger import attachment
from gongzhi.core.scope import as_scope, get_scoped
from gongzhi.registry.models import Area, MemberUnit

from . import selectors, services
from .models import (
    Assignment,
    BandBasis,
    GroupKind,
    Indicator,
    Objection,
    Period,
    RaterGroup,
    Round,
    Sanction,
    Scheme,
    SchemeVersion,
    Source,
    Subject,
    SubjectKind,
)
from .workflow import ROUND, RoundState

router = Router(tags=["考评 assessment"])

MAX_LIMIT = 200
POINTS_PATTERN = r"^[0-9]{1,5}(\.[0-9]{1,2})?$"
# Points with at most two decimals (the services bound them by the indicator's maximum and name the field).
Points = Annotated[Decimal, Field(ge=0, max_digits=7, decimal_places=2),
                   WithJsonSchema({"type": "string", "pattern": POINTS_PATTERN, "maxLength": 8,
                                   "examples": ["20", "18.5"]})]
Share = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2),
                  WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,3}(\.[0-9]{1,2})?$", "maxLength": 6,
                                  "examples": ["30", "33.5"]})]
CURSOR_PATTERN = r"^([0-9]{1,9}|n)-[0-9]{1,18}$"


# ---------------------------------------------------------------------------------------------- schemas


class AssessSchemeIn(Schema):
    area_id: int = Field(..., description="组织单位所在区域：市、区、街道或社区")
    name: str = Field(..., min_length=1, max_length=100, description="方案名称")
    subject_kind: Literal[tuple(SubjectKind.values)] = Field(..., description="考评对象")  # type: ignore[valid-type]
    period: Literal[tuple(Period.values)] = Field("annual", description="考评周期")  # type: ignore[valid-type]
    description: str = Field("", max_length=2000)


class AssessStageIn(Schema):
    name: str = Field(..., min_length=1, max_length=30, description="环节名称，如 街道筛评")
    level: Literal["community", "street", "district", "city"] = Field(..., description="审核层级")


class AssessStarIn(Schema):
    level: int = Field(..., ge=1, le=5, description="星级")
    min_score: Points = Field(..., description="分数线")
    min_satisfaction: Share | None = Field(None, description="满意率线（%），空则不限")


class AssessBandIn(Schema):
    name: str = Field(..., min_length=1, max_length=10, description="档名，如 红")
    share: Share | None = Field(None, description="按名次分档：本档比例（%），各档之和 100")
    min_score: Points | None = Field(None, description="按分数分档：本档分数线")


class AssessSanctionIn(Schema):
    last_places: int = Field(0, ge=0, le=1000, description="末位名次数")
    bar_days: int = Field(0, ge=0, le=3650, description="禁止承接新项目的天数")
    annual_only: bool = Field(False, description="只有年度考评（考评期为年份）的末位受惩戒")


class AssessAwardIn(Schema):
    name: str = Field(..., min_length=1, max_length=20, description="奖项名称，如 最美网格员")
    indicator: str = Field("", max_length=20, description="评选依据的末级指标编号；空则按总分")


class AssessVersionIn(Schema):
    """Only the fields given change."""

    self_assessment: bool | None = None
    stages: list[AssessStageIn] | None = Field(None, max_length=10)
    stars: list[AssessStarIn] | None = Field(None, max_length=5)
    band_basis: Literal["rank", "score"] | None = None
    bands: list[AssessBandIn] | None = Field(None, max_length=10)
    honour_count: int | None = Field(None, ge=0, le=100000, description="红榜名额")
    shame_count: int | None = Field(None, ge=0, le=100000, description="黑榜名额")
    sanction: AssessSanctionIn | None = None
    min_answers: int | None = Field(None, ge=0, le=100000, description="居民评价最少人数")
    objection_days: int | None = Field(None, ge=0, le=365, description="公示期（天）")
    evidence_required: bool | None = None
    awards: list[AssessAwardIn] | None = Field(None, max_length=10, description="评选奖项（三最）")
    version: int | None = Field(None, ge=1, description="读取时的修订号；他人已修改则 409")


class AssessIndicatorIn(Schema):
    code: str = Field(..., min_length=1, max_length=20, description="编号，如 2.1")
    name: str = Field(..., min_length=1, max_length=100)
    max_points: Points = Field(Decimal("0"), description="分值（上级指标为 0：其分值为下级之和）")
    parent_id: int | None = Field(None, description="上级指标")
    guidance: str = Field("", max_length=500, description="评分标准")
    evidence: str = Field("", max_length=200, description="需提供的依据")
    source: Literal[tuple(Source.values)] = Field("manual", description="来源：人工或系统计算")  # type: ignore[valid-type]
    target: Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2),
                      WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,8}(\.[0-9]{1,2})?$",
                                      "maxLength": 11})] | None = Field(None, description="志愿服务时长：满分所需数值")
    periods: list[Annotated[str, Field(min_length=1, max_length=10)]] = Field(default_factory=list, max_length=12,
                                                                              description="只在这些考评期评分")
    feed_scheme_id: int | None = Field(None, description="来源为其他考评的结果时：该考评方案")


WEIGHT_PATTERN = r"^([1-9][0-9]{0,3}(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$"  # above zero, like the service


class AssessGroupIn(Schema):
    name: str = Field(..., min_length=1, max_length=50, description="评分主体，如 主管部门")
    weight: Annotated[Decimal, Field(ge=Decimal("0.01"), max_digits=6, decimal_places=2),
                      WithJsonSchema({"type": "string", "maxLength": 7, "examples": ["4", "2.5"],
                                      "pattern": WEIGHT_PATTERN})] = Field(..., description="权重（大于0）")
    kind: Literal["staff", "residents"] = Field("staff", description="工作人员评分 / 居民评价")


class AssessRoundIn(Schema):
    scheme_id: int
    name: str = Field(..., min_length=1, max_length=100)
    area_id: int = Field(..., description="考评范围（方案所属区域内）")
    period_key: str = Field(..., min_length=1, max_length=10, description="考评期，如 2026、2026Q3、2026-07")
    period_start: dt.date
    period_end: dt.date
    scoring_due: dt.date | None = None


class AssessStepIn(Schema):
    name: Literal[tuple(ROUND.transitions)] = Field(..., description="操作")  # type: ignore[valid-type]
    version: int | None = Field(None, ge=1, description="读取时的版本号；已被他人推进时返回 409")
    reason: str = Field("", max_length=300)


class AssessAssignIn(Schema):
    group_id: int = Field(..., description="工作人员评分主体")
    rater_id: int = Field(..., description="评分人（账号 id）")
    subject_ids: list[int] = Field(default_factory=list, max_length=20000, description="考评对象；空则本轮全部")


class AssessScoreIn(Schema):
    indicator_id: int
    points: Points | None = Field(None, description="得分；空则清除")
    note: str = Field("", max_length=500, description="扣分依据/说明")


class AssessSheetIn(Schema):
    scores: list[AssessScoreIn] = Field(default_factory=list, max_length=300)
    submit: bool = Field(False, description="提交（提交后不能修改）")
    version: int | None = Field(None, ge=1, description="读取时的版本号；已被修改时返回 409")


class AssessReviewIn(Schema):
    verdict: Literal["pass", "fail"]
    note: str = Field("", max_length=500, description="意见（不通过必填）")


class AssessObjectionIn(Schema):
    text: str = Field(..., min_length=1, max_length=1000)


class AssessAnswerIn(Schema):
    answer: str = Field(..., min_length=1, max_length=1000)


class AssessSurveyIn(Schema):
    rating: int = Field(..., ge=1, le=5, description="5 非常满意 · 4 满意 · 3 基本满意 · 2 不满意 · 1 非常不满意")
    comment: str = Field("", max_length=300, description="意见建议（不满意必填）")


class AssessDeclareIn(Schema):
    score: Points
    note: str = Field(..., min_length=1, max_length=1000)


class AssessLiftIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300)


# ---------------------------------------------------------------------------------------------- helpers


def _limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.on("limit", f"须在 1 到 {MAX_LIMIT} 之间")


def _page(qs: QuerySet[Any], limit: int, after: int | None, *, descending: bool = True) -> tuple[list[Any], Any]:
    qs = qs.order_by("-pk" if descending else "pk")
    if after is not None:
        qs = qs.filter(pk__lt=after) if descending else qs.filter(pk__gt=after)
    page = list(qs[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return page, (page[-1].pk if more and page else None)


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _plain(value: Any) -> Any:
    """Decimals of a rule as JSON numbers (the JSON fields cannot hold a Decimal)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _area_ref(area: Area | None) -> dict[str, Any] | None:
    return {"id": area.pk, "name": area.name} if area is not None else None


def _optional(user: Any, model: Any, pk: int | None, field: str) -> Any:
    if pk is None:
        return None
    try:
        return get_scoped(user, model, pk)
    except NotFound:
        raise InvalidInput.on(field, "不存在或无权查看") from None


def _version_out(v: SchemeVersion) -> dict[str, Any]:
    return {
        "id": v.pk, "number": v.number, "published_at": v.published_at, "frozen": v.frozen,
        "self_assessment": v.self_assessment, "stages": v.stages, "stars": v.stars, "band_basis": v.band_basis,
        "bands": v.bands, "honour_count": v.honour_count, "shame_count": v.shame_count, "sanction": v.sanction,
        "min_answers": v.min_answers, "objection_days": v.objection_days, "evidence_required": v.evidence_required,
        "awards": v.awards, "version": v.version, "full_marks": _dec(services.full_marks(v)),
        "indicators": [{
            "id": n.indicator.pk, "parent_id": n.indicator.parent_id, "code": n.indicator.code,
            "name": n.indicator.name, "depth": n.depth, "leaf": n.leaf, "max_points": _dec(n.max_points),
            "guidance": n.indicator.guidance, "evidence": n.indicator.evidence, "source": n.indicator.source,
            "source_label": n.indicator.get_source_display(), "target": _dec(n.indicator.target),
            "periods": n.indicator.periods, "feed_scheme_id": n.indicator.feed_scheme_id}
            for n in selectors.indicator_tree(v)],
        "groups": [{"id": g.pk, "name": g.name, "kind": g.kind, "kind_label": g.get_kind_display(),
                    "weight": _dec(g.weight)} for g in v.groups.all()],
    }


def _scheme_out(s: Scheme, *, version: SchemeVersion | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": s.pk, "name": s.name, "subject_kind": s.subject_kind, "subject_kind_label": s.get_subject_kind_display(),
        "area": _area_ref(s.area), "period": s.period, "period_label": s.get_period_display(),
        "description": s.description, "created_at": s.created_at,
    }
    if version is not None:
        out["versions"] = [{"id": v.pk, "number": v.number, "published_at": v.published_at}
                           for v in s.versions.order_by("number")]
        out["version"] = _version_out(version)
    return out


def _steps(user: Any, rnd: Round) -> list[dict[str, str]]:
    return [{"name": t.name, "label": str(t.label), "reason": t.needs_reason}  # type: ignore[dict-item]
            for t in services.available_steps(user, rnd)]


def _round_out(r: Round, *, user: Any = None, detail: bool = False) -> dict[str, Any]:
    stages = r.scheme_version.stages or []
    out: dict[str, Any] = {
        "id": r.pk, "name": r.name, "scheme": {"id": r.scheme_id, "name": r.scheme.name},
        "scheme_version": {"id": r.scheme_version_id, "number": r.scheme_version.number},
        "area": _area_ref(r.area), "period_key": r.period_key, "period_start": r.period_start,
        "period_end": r.period_end, "scoring_due": r.scoring_due, "state": r.state,
        "state_label": r.get_state_display(),
        "stage": r.stage, "stage_name": stages[r.stage]["name"] if r.state == RoundState.REVIEW and r.stage < len(
            stages) else None,
        "notice_until": r.notice_until, "computed_at": r.computed_at, "published_at": r.published_at,
        "version": r.version,
    }
    if detail:
        out["stages"] = stages
        out["groups"] = [{"id": g.pk, "name": g.name, "kind": g.kind, "weight": _dec(g.weight)}
                         for g in r.scheme_version.groups.all()]
        summary = selectors.summary(r, selectors.results(user, r))
        summary["mean"] = _dec(summary["mean"])
        out["summary"] = summary
        out["steps"] = _steps(user, r)
    return out


def _subject_out(s: Subject) -> dict[str, Any]:
    return {
        "id": s.pk, "name": s.name, "area": _area_ref(s.area),
        "unit": {"id": s.unit_id, "name": s.unit.name} if s.unit_id and s.unit else None,
        "rank": s.rank, "total": _dec(s.total), "group_scores": s.group_scores, "satisfaction": _dec(s.satisfaction),
        "answers": s.answers, "stars": s.stars, "band": s.band, "listed": s.listed, "complete": s.complete,
        "valid": s.valid, "withdrawn": s.withdrawn, "declared": s.declared, "self_score": _dec(s.self_score),
        "notes": s.notes, "awards": s.awards,
    }


def _sheet_out(a: Assignment, *, rows: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": a.pk, "round": {"id": a.round_id, "name": a.round.name, "state": a.round.state,
                              "scoring_due": a.round.scoring_due},
        "group": {"id": a.group_id, "name": a.group.name}, "subject": {"id": a.subject_id, "name": a.subject.name},
        "submitted_at": a.submitted_at, "total": _dec(a.total), "version": a.version,
    }
    if rows:
        out["evidence_required"] = a.round.scheme_version.evidence_required
        out["rows"] = [{
            "indicator_id": r.node.indicator.pk, "code": r.node.indicator.code, "name": r.node.indicator.name,
            "depth": r.node.depth, "leaf": r.node.leaf, "max_points": _dec(r.node.max_points),
            "guidance": r.node.indicator.guidance, "evidence": r.node.indicator.evidence,
            "source": r.node.indicator.source,
            "scored": r.scored,
            "points": _dec(r.score.points) if r.score else None, "note": r.score.note if r.score else ""}
            for r in selectors.sheet_rows(a)]
    return out


def _board_entry(s: Subject) -> dict[str, Any]:
    return {"name": s.name, "rank": s.rank, "total": _dec(s.total), "stars": s.stars, "band": s.band}


def _objection_out(o: Objection, *, manager: bool) -> dict[str, Any]:
    out = {"id": o.pk, "subject": {"id": o.subject_id, "name": o.subject.name}, "text": o.text, "at": o.at,
           "answer": o.answer, "answered_at": o.answered_at}
    if manager:
        out["by"] = o.by.get_username() if o.by else None
    return out


# ---------------------------------------------------------------------------------------------- schemes (E1)


@router.get("/assessment/schemes", response=dict, summary="考评方案 Schemes")
def list_schemes(request: HttpRequest, limit: int = Query(50, ge=1, le=200), after: int | None = None
                 ) -> dict[str, Any]:
    """Keyset pagination on the id (newest first): pass ``next`` as ``after``."""
    user = user_of(request)
    _limit(limit)
    page, nxt = _page(selectors.schemes(user), limit, after)
    return {"items": [_scheme_out(s) for s in page], "next": nxt}


@router.post("/assessment/schemes", response={201: dict}, summary="新建考评方案 Create a scheme")
def create_scheme(request: HttpRequest, payload: AssessSchemeIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    area = get_scoped(user, Area, payload.area_id)
    scheme = services.scheme_create(actor=user, area=area, name=payload.name, subject_kind=payload.subject_kind,
                                    period=payload.period, description=payload.description)
    scheme = selectors.scheme_get(user, scheme.pk)
    return Status(201, _scheme_out(scheme, version=selectors.latest_version(scheme)))


@router.get("/assessment/schemes/{scheme_id}", response=dict, summary="方案及指标体系 A scheme with its indicator tree")
def get_scheme(request: HttpRequest, scheme_id: int, number: int | None = Query(None, ge=1, le=100000,
                                                                               description="版本号；默认最新")
               ) -> dict[str, Any]:
    user = user_of(request)
    scheme = selectors.scheme_get(user, scheme_id)
    version = scheme.versions.filter(number=number).first() if number else selectors.latest_version(scheme)
    if version is None:
        raise InvalidInput.on("number", "没有这个版本")
    return _scheme_out(scheme, version=version)


def _version(user: Any, version_id: int) -> SchemeVersion:
    return selectors.version_get(user, version_id)


@router.patch("/assessment/versions/{version_id}", response=dict, summary="修改草稿版本的规则 Update a draft's rules")
def update_version(request: HttpRequest, version_id: int, payload: AssessVersionIn) -> dict[str, Any]:
    """Self-assessment, review stages, stars, bands, 红黑榜 places, sanction, minimum answers, notice days."""
    user = user_of(request)
    version = _version(user, version_id)
    changes = {k: _plain(v) for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    expected = changes.pop("version", None)
    if "bands" in changes:  # a rank band carries its share, a score band its line
        basis = changes.get("band_basis", version.band_basis)
        key = "share" if basis == BandBasis.RANK else "min_score"
        changes["bands"] = [{"name": b["name"], key: b.get(key)} if key in b else {"name": b["name"]}
                            for b in changes["bands"]]
    services.version_update(actor=user, version=version, expected_version=expected, **changes)
    return _version_out(_version(user, version_id))


@router.post("/assessment/versions/{version_id}/indicators", response={201: dict}, summary="增加指标 Add an indicator")
def add_indicator(request: HttpRequest, version_id: int, payload: AssessIndicatorIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    version = _version(user, version_id)
    parent = None
    if payload.parent_id is not None:
        parent = version.indicators.filter(pk=payload.parent_id).first()
        if parent is None:
            raise InvalidInput.on("parent_id", "上级指标不属于本版本")
    try:
        ind = services.indicator_add(actor=user, version=version, code=payload.code, name=payload.name,
                                     max_points=payload.max_points, parent=parent, guidance=payload.guidance,
                                     evidence=payload.evidence, source=payload.source, target=payload.target,
                                     periods=payload.periods,
                                     feed_scheme=_optional(user, Scheme, payload.feed_scheme_id, "feed_scheme_id"))
    except InvalidInput as e:  # the service names the scheme, the payload its id
        if "feed_scheme" in e.fields:
            raise InvalidInput.on("feed_scheme_id", e.fields["feed_scheme"][0]) from None
        raise
    return Status(201, {"id": ind.pk, "code": ind.code, "name": ind.name, "max_points": _dec(ind.max_points),
                        "parent_id": ind.parent_id, "source": ind.source, "version": _version_out(version)})


@router.delete("/assessment/indicators/{indicator_id}", response={204: None}, summary="删除指标 Remove an indicator")
def remove_indicator(request: HttpRequest, indicator_id: int) -> Status[None]:
    user = user_of(request)
    services.indicator_remove(actor=user, indicator=get_scoped(
        user, Indicator.objects.select_related("scheme_version__scheme"), indicator_id))
    return Status(204, None)


@router.post("/assessment/versions/{version_id}/groups", response={201: dict}, summary="增加评分主体 Add a rater group")
def add_group(request: HttpRequest, version_id: int, payload: AssessGroupIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    version = _version(user, version_id)
    g = services.group_add(actor=user, version=version, name=payload.name, weight=payload.weight, kind=payload.kind)
    return Status(201, {"id": g.pk, "name": g.name, "kind": g.kind, "weight": _dec(g.weight)})


@router.delete("/assessment/groups/{group_id}", response={204: None}, summary="删除评分主体 Remove a rater group")
def remove_group(request: HttpRequest, group_id: int) -> Status[None]:
    user = user_of(request)
    services.group_remove(actor=user, group=get_scoped(
        user, RaterGroup.objects.select_related("scheme_version__scheme"), group_id))
    return Status(204, None)


@router.post("/assessment/versions/{version_id}/publish", response=dict, summary="发布版本 Publish a draft")
def publish_version(request: HttpRequest, version_id: int) -> dict[str, Any]:
    user = user_of(request)
    version = services.version_publish(actor=user, version=_version(user, version_id))
    return _version_out(version)


@router.post("/assessment/schemes/{scheme_id}/drafts", response={201: dict}, summary="新建草稿版本 New draft")
def new_draft(request: HttpRequest, scheme_id: int) -> Status[dict[str, Any]]:
    user = user_of(request)
    draft = services.version_new_draft(actor=user, scheme=selectors.scheme_get(user, scheme_id))
    return Status(201, _version_out(draft))


# ---------------------------------------------------------------------------------------------- rounds (E3)


@router.get("/assessment/rounds", response=dict, summary="考评轮次 Rounds")
def list_rounds(request: HttpRequest, state: Literal[tuple(RoundState.values)] | None = None,  # type: ignore[valid-type]
                scheme_id: int | None = None, limit: int = Query(50, ge=1, le=200),
                after: int | None = None) -> dict[str, Any]:
    user = user_of(request)
    _limit(limit)
    scheme = selectors.scheme_get(user, scheme_id) if scheme_id is not None else None
    page, nxt = _page(selectors.rounds(user, state=state, scheme=scheme), limit, after)
    return {"items": [_round_out(r) for r in page], "next": nxt}


@router.post("/assessment/rounds", response={201: dict}, summary="新建考评轮次 Create a round")
def create_round(request: HttpRequest, payload: AssessRoundIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    scheme = _optional(user, Scheme, payload.scheme_id, "scheme_id")
    area = _optional(user, Area, payload.area_id, "area_id")
    rnd = services.round_create(actor=user, scheme=scheme, name=payload.name, area=area,
                                period_key=payload.period_key, period_start=payload.period_start,
                                period_end=payload.period_end, scoring_due=payload.scoring_due)
    return Status(201, _round_out(selectors.round_get(user, rnd.pk), user=user, detail=True))


@router.get("/assessment/rounds/{round_id}", response=dict, summary="轮次详情 A round")
def get_round(request: HttpRequest, round_id: int) -> dict[str, Any]:
    user = user_of(request)
    return _round_out(selectors.round_get(user, round_id), user=user, detail=True)


@router.post("/assessment/rounds/{round_id}/step", response=dict, summary="推进轮次 Take a step")
def step_round(request: HttpRequest, round_id: int, payload: AssessStepIn) -> dict[str, Any]:
    """open_scoring, close_scoring (computes), advance, to_notice, publish (sanctions), reopen, cancel; a stale
    ``version`` or a step the state does not allow is a 409."""
    user = user_of(request)
    rnd = selectors.round_get(user, round_id)
    services.round_step(actor=user, round=rnd, name=payload.name, reason=payload.reason,
                        expected_version=payload.version)
    return _round_out(selectors.round_get(user, round_id), user=user, detail=True)


@router.post("/assessment/rounds/{round_id}/assignments", response={201: dict}, summary="分配评分人 Assign a rater")
def assign_rater(request: HttpRequest, round_id: int, payload: AssessAssignIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    rnd = selectors.round_get(user, round_id)
    group = rnd.scheme_version.groups.filter(pk=payload.group_id).first()
    if group is None:
        raise InvalidInput.on("group_id", "请选择本轮的评分主体")
    if not services.can_manage(user, rnd.area_path):
        raise Forbidden("只有组织本轮考评的单位可以分配评分人")
    rater = selectors.raters(user, rnd).filter(pk=payload.rater_id).first()
    if rater is None:
        raise InvalidInput.on("rater_id", "评分人须为本轮范围内的在岗账号")
    subjects = list(rnd.subjects.all() if not payload.subject_ids
                    else rnd.subjects.filter(pk__in=set(payload.subject_ids)))
    if payload.subject_ids and len(subjects) != len(set(payload.subject_ids)):
        raise InvalidInput.on("subject_ids", "考评对象不属于本轮")
    made = services.assign(actor=user, round=rnd, group=group, rater=rater, subjects=subjects)
    return Status(201, {"created": made, "sheets": Assignment.objects.filter(round=rnd, group=group,
                                                                             rater=rater).count()})


@router.get("/assessment/rounds/{round_id}/raters", response=list[dict], summary="可选评分人 Candidate raters")
def list_raters(request: HttpRequest, round_id: int, q: str = Query("", max_length=50)) -> list[dict[str, Any]]:
    user = user_of(request)
    rnd = selectors.round_get(user, round_id)
    if not services.can_manage(user, rnd.area_path):
        raise NotFound("未找到")
    qs = selectors.raters(user, rnd)
    if q:
        qs = qs.filter(username__contains=q)
    return [{"id": u.pk, "username": u.get_username()} for u in qs[:MAX_LIMIT]]


def _rank_cursor(cursor: str | None) -> Q | None:
    if not cursor:
        return None
    rank, _sep, pk = cursor.partition("-")
    if rank == "n":
        return Q(rank__isnull=True, pk__gt=int(pk))
    r = int(rank)
    return Q(rank__gt=r) | Q(rank=r, pk__gt=int(pk)) | Q(rank__isnull=True)


@router.get("/assessment/rounds/{round_id}/results", response=dict, summary="考评结果 Results (by rank)")
def round_results(request: HttpRequest, round_id: int, area_id: int | None = None,
                  limit: int = Query(50, ge=1, le=200),
                  after: str | None = Query(None, max_length=30, pattern=CURSOR_PATTERN,
                                            description="上一页的 next（名次-编号）")) -> dict[str, Any]:
    """Best first, unranked (invalid or not computed) at the end; keyset pagination on (rank, id)."""
    user = user_of(request)
    _limit(limit)
    rnd = selectors.round_get(user, round_id)
    area = get_scoped(user, Area, area_id) if area_id is not None else None
    qs = selectors.results(user, rnd, area=area).order_by(F("rank").asc(nulls_last=True), "pk")
    more_q = _rank_cursor(after)
    if more_q is not None:
        qs = qs.filter(more_q)
    page = list(qs[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    last = page[-1] if more and page else None
    nxt = f"{last.rank if last.rank is not None else 'n'}-{last.pk}" if last is not None else None
    return {"round": _round_out(rnd), "items": [_subject_out(s) for s in page], "next": nxt}


@router.get("/assessment/subjects/{subject_id}", response=dict, summary="考评对象卡片 A subject's card")
def subject_card(request: HttpRequest, subject_id: int) -> dict[str, Any]:
    """The result, the computed indicators with their basis, the sheets by group (raters shown to the round's
    managers only), the review verdicts and the objections."""
    user = user_of(request)
    subject = selectors.subject_get(user, subject_id)
    detail = selectors.subject_detail(subject)
    manager = services.can_manage(user, subject.round.area_path)
    return {
        **_subject_out(subject), "round": _round_out(subject.round), "self_note": subject.self_note,
        "computed": [{"indicator": {"id": v.indicator_id, "code": v.indicator.code, "name": v.indicator.name},
                      "figure": _dec(v.figure), "points": _dec(v.points), "basis": v.basis}
                     for v in detail["computed"]],
        "sheets": [{"id": a.pk, "group": a.group.name, "submitted_at": a.submitted_at, "total": _dec(a.total),
                    **({"rater": a.rater.get_username()} if manager else {})} for a in detail["sheets"]],
        "reviews": [{"stage": r.stage, "verdict": r.verdict, "verdict_label": r.get_verdict_display(),
                     "note": r.note, "at": r.at} for r in detail["reviews"]],
        "objections": [_objection_out(o, manager=manager) for o in detail["objections"]],
    }


@router.post("/assessment/subjects/{subject_id}/declare", response=dict, summary="自评申报 Self-assessment")
def declare(request: HttpRequest, subject_id: int, payload: AssessDeclareIn) -> dict[str, Any]:
    user = user_of(request)
    subject = services.self_assess(actor=user, subject=selectors.subject_get(user, subject_id), score=payload.score,
                                   note=payload.note)
    return _subject_out(selectors.subject_get(user, subject.pk))


# ---------------------------------------------------------------------------------------------- sheets


@router.get("/assessment/sheets", response=dict, summary="我的评分表 My sheets")
def my_sheets(request: HttpRequest, all: bool = Query(False, description="含已提交和已结束的"),
              round_id: int | None = None, limit: int = Query(50, ge=1, le=200),
              after: int | None = None) -> dict[str, Any]:
    user = user_of(request)
    _limit(limit)
    qs = selectors.my_sheets(user, open_only=not all)
    if round_id is not None:
        qs = qs.filter(round_id=round_id)
    page, nxt = _page(qs, limit, after, descending=False)
    return {"items": [_sheet_out(a) for a in page], "next": nxt}


@router.get("/assessment/sheets/{sheet_id}", response=dict, summary="评分表 A sheet with its rows")
def get_sheet(request: HttpRequest, sheet_id: int) -> dict[str, Any]:
    user = user_of(request)
    return _sheet_out(selectors.sheet_get(user, sheet_id), rows=True)


@router.post("/assessment/sheets/{sheet_id}", response=dict, summary="保存/提交评分表 Save or submit a sheet")
def save_sheet(request: HttpRequest, sheet_id: int, payload: AssessSheetIn) -> dict[str, Any]:
    """Points per manual indicator (0 … its maximum) with a note where points are deducted; an error names
    ``scores[i].points`` or ``scores[i].note``."""
    user = user_of(request)
    sheet = selectors.sheet_get(user, sheet_id)
    position: dict[int, int] = {}
    scores: dict[int, tuple[Any, str]] = {}
    for i, row in enumerate(payload.scores):
        if row.indicator_id in position:
            raise InvalidInput.on(f"scores[{i}].indicator_id", "同一指标只能填写一次")
        position[row.indicator_id] = i
        scores[row.indicator_id] = (row.points, row.note)
    try:
        services.sheet_save(actor=user, sheet=sheet, scores=scores, submit=payload.submit,
                            expected_version=payload.version)
    except InvalidInput as exc:
        raise _renamed(exc, position) from None
    return _sheet_out(selectors.sheet_get(user, sheet_id), rows=True)


def _renamed(exc: InvalidInput, position: dict[int, int]) -> InvalidInput:
    """The service's ``score_<id>`` / ``note_<id>`` as the request's ``scores[i].points`` / ``scores[i].note``."""
    fields: dict[str, list[str]] = {}
    for name, messages in exc.fields.items():
        kind, _sep, raw = name.partition("_")
        if kind in ("score", "note") and raw.isdigit() and int(raw) in position:
            name = f"scores[{position[int(raw)]}].{'points' if kind == 'score' else 'note'}"
        elif kind in ("score", "note") and raw.isdigit():
            name = "scores"
        fields.setdefault(name, []).extend(messages)
    return InvalidInput(exc.message, fields)


@router.get("/assessment/sheets.xlsx", summary="下载我的评分表（Excel，离线评分）My open sheets as Excel")
def my_sheets_xlsx(request: HttpRequest, round_id: int | None = None,
                   layout: Literal["tabs", "list"] = Query("tabs", description="tabs：每张评分表一个工作表；"
                                                                               "list：一个工作表列出全部")) -> Any:
    from . import excel

    user = user_of(request)
    qs = selectors.my_sheets(user)
    if round_id is not None:
        qs = qs.filter(round_id=round_id)
    sheets = list(qs[:excel.MAX_SHEETS + 1])
    if not sheets:
        raise InvalidInput.on("round_id", "没有待评分的评分表")
    if len(sheets) > excel.MAX_SHEETS:
        raise InvalidInput.on("round_id", f"评分表超过 {excel.MAX_SHEETS} 张，请按轮次下载")
    return attachment(excel.score_workbook(sheets, layout=layout), excel.score_filename(sheets))


@router.get("/assessment/sheets/{sheet_id}/sheet.xlsx", summary="下载一张评分表（Excel） One sheet as Excel")
def sheet_xlsx(request: HttpRequest, sheet_id: int) -> Any:
    from . import excel

    user = user_of(request)
    sheet = selectors.sheet_get(user, sheet_id)
    return attachment(excel.score_workbook([sheet]), excel.score_filename([sheet]))


@router.post("/assessment/uploads/sheets", response=dict, summary="上传填好的评分表（全部或全不） Upload filled sheets")
def upload_sheets(request: HttpRequest, file: File[UploadedFile],
                  submit: bool = Query(False, description="同时提交（提交后不能修改）")) -> dict[str, Any]:
    """Every sheet in the file is saved (and submitted, if asked) or none is: the errors name the worksheet, the
    row and the column."""
    from . import excel

    if file.size and file.size > settings.GONGZHI_MAX_UPLOAD_BYTES:
        raise InvalidInput.on("file", "文件过大")
    report = excel.read_scores(actor=user_of(request), data=file.read(), submit=submit)
    return report.as_dict()


# ---------------------------------------------------------------------------------------------- reviews, objections


@router.get("/assessment/rounds/{round_id}/reviews", response=list[dict], summary="本环节待审核 My review queue")
def review_queue(request: HttpRequest, round_id: int) -> list[dict[str, Any]]:
    user = user_of(request)
    rnd = selectors.round_get(user, round_id)
    out = []
    for s in selectors.review_queue(user, rnd)[:2000]:
        mine = next((r for r in s.reviews.all() if r.stage == rnd.stage), None)
        out.append({**_subject_out(s), "verdict": mine.verdict if mine else None, "note": mine.note if mine else ""})
    return out


@router.post("/assessment/subjects/{subject_id}/review", response=dict, summary="审核结论 Give a verdict")
def review(request: HttpRequest, subject_id: int, payload: AssessReviewIn) -> dict[str, Any]:
    user = user_of(request)
    subject = selectors.subject_get(user, subject_id)
    r = services.review_record(actor=user, subject=subject, verdict=payload.verdict, note=payload.note)
    return {"subject_id": subject.pk, "stage": r.stage, "verdict": r.verdict, "note": r.note, "at": r.at}


def _noticed_subject(user: Any, subject_id: int) -> Subject:
    """A subject whose round is in its public notice (公示) is open to any signed-in user; otherwise the scope."""
    subject = Subject.objects.select_related("round").filter(pk=subject_id, round__state=RoundState.NOTICE).first()
    return subject if subject is not None else selectors.subject_get(user, subject_id)


@router.post("/assessment/subjects/{subject_id}/objections", response={201: dict}, summary="提出异议 File an objection")
def file_objection(request: HttpRequest, subject_id: int, payload: AssessObjectionIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    o = services.objection_file(actor=user, subject=_noticed_subject(user, subject_id), text=payload.text)
    return Status(201, _objection_out(Objection.objects.select_related("subject").get(pk=o.pk), manager=False))


@router.get("/assessment/rounds/{round_id}/objections", response=list[dict], summary="异议 Objections of a round")
def list_objections(request: HttpRequest, round_id: int, open_only: bool = True) -> list[dict[str, Any]]:
    user = user_of(request)
    rnd = selectors.round_get(user, round_id)
    manager = services.can_manage(user, rnd.area_path)
    if not manager:
        raise NotFound("未找到")
    qs = selectors.open_objections(rnd) if open_only else Objection.objects.filter(
        subject__round=rnd).select_related("subject", "by").order_by("at")
    return [_objection_out(o, manager=True) for o in qs[:1000]]


@router.post("/assessment/objections/{objection_id}/answer", response=dict, summary="答复异议 Answer an objection")
def answer_objection(request: HttpRequest, objection_id: int, payload: AssessAnswerIn) -> dict[str, Any]:
    user = user_of(request)
    o = get_scoped(user, Objection.objects.select_related("subject__round", "by"), objection_id)
    o = services.objection_answer(actor=user, objection=o, answer=payload.answer)
    return _objection_out(o, manager=True)


# ---------------------------------------------------------------------------------------------- residents (E4)


@router.get("/assessment/surveys", response=list[dict], summary="待我评价 Surveys open to me (resident)")
def open_surveys(request: HttpRequest) -> list[dict[str, Any]]:
    user = user_of(request)
    return [{"subject": {"id": s.pk, "name": s.name}, "round": {"id": s.round_id, "name": s.round.name}}
            for s in selectors.open_surveys(user)]


def _survey_subject(user: Any, subject_id: int) -> Subject:
    """A subject of a round with a residents' group over the resident's home area (answered or not: a second
    answer is a 409, not a 404)."""
    person = as_scope(user).person_id
    from gongzhi.registry.models import Person

    home = Person.objects.filter(pk=person).values_list("area__path", flat=True).first() if person else None
    if home:
        ancestors = [home[:k] for k in range(Area.steplen, len(home) + 1, Area.steplen)]
        subject = Subject.objects.select_related("round", "round__scheme_version").filter(
            pk=subject_id, round__area_path__in=ancestors,
            round__scheme_version__groups__kind=GroupKind.RESIDENTS).first()
        if subject is not None:
            return subject
    if person is None and not as_scope(user).has(Cap.ASSESS_VIEW):
        from gongzhi.core.errors import Forbidden

        raise Forbidden("请先关联本人身份再参与评价")
    raise NotFound("未找到")


@router.post("/assessment/subjects/{subject_id}/answer", response={201: dict}, summary="居民评价 A resident's answer")
def survey_answer(request: HttpRequest, subject_id: int, payload: AssessSurveyIn) -> Status[dict[str, Any]]:
    """Once per resident, subject and round (a second answer is a 409); anonymous: the answer keeps no name."""
    user = user_of(request)
    answer = services.survey_answer(actor=user, subject=_survey_subject(user, subject_id), rating=payload.rating,
                                    comment=payload.comment)
    return Status(201, {"subject_id": answer.subject_id, "rating": answer.rating, "at": answer.at})


# ---------------------------------------------------------------------------------------------- public, credit file


@router.get("/assessment/board", response=list[dict], auth=None, summary="已发布的红黑榜（公开） Published rounds")
def published(request: HttpRequest, limit: int = Query(50, ge=1, le=200)) -> list[dict[str, Any]]:
    return [{"id": r.pk, "name": r.name, "area": _area_ref(r.area), "period_key": r.period_key,
             "state": r.state, "notice_until": r.notice_until,
             "published_at": r.published_at} for r in selectors.published_rounds()[:limit]]


@router.get("/assessment/board/{round_id}", response=dict, auth=None, summary="红黑榜与星级名单（公开） Public board")
def board(request: HttpRequest, round_id: int) -> dict[str, Any]:
    """Names of the assessed and their results only: no raters, no residents (a person assessed by initial)."""
    rnd = selectors.published_rounds().filter(pk=round_id).first()
    if rnd is None:
        raise NotFound("未找到")
    b = selectors.public_board(rnd)
    return {"round": {"id": rnd.pk, "name": rnd.name, "area": _area_ref(rnd.area), "period_key": rnd.period_key,
                      "period_start": rnd.period_start, "period_end": rnd.period_end,
                      "state": rnd.state, "notice_until": rnd.notice_until, "published_at": rnd.published_at},
            "red": [_board_entry(s) for s in b.red], "black": [_board_entry(s) for s in b.black],
            "stars": [_board_entry(s) for s in b.stars],
            "bands": {name: [_board_entry(s) for s in items] for name, items in b.bands.items()},
            "awards": {name: [_board_entry(s) for s in items] for name, items in b.awards.items()}}


@router.get("/assessment/units/{unit_id}/credit", response=dict, summary="信用档案 A unit's credit file")
def credit_file(request: HttpRequest, unit_id: int) -> dict[str, Any]:
    user = user_of(request)
    unit = get_scoped(user, MemberUnit, unit_id)
    file = selectors.credit_file(user, unit)
    today = timezone.localdate()
    return {
        "unit": {"id": unit.pk, "name": unit.name},
        "entries": [{"round": {"id": s.round_id, "name": s.round.name, "period_key": s.round.period_key},
                     "scheme": s.round.scheme.name, "rank": s.rank, "total": _dec(s.total), "stars": s.stars,
                     "band": s.band, "listed": s.listed, "valid": s.valid} for s in file["entries"]],
        "sanctions": [{"id": x.pk, "kind": x.kind, "kind_label": x.get_kind_display(), "reason": x.reason,
                       "starts_on": x.starts_on, "ends_on": x.ends_on, "lifted_at": x.lifted_at,
                       "active": x.lifted_at is None and x.starts_on <= today <= x.ends_on}
                      for x in file["sanctions"]],
    }


@router.post("/assessment/sanctions/{sanction_id}/lift", response=dict, summary="解除惩戒 Lift a sanction")
def lift_sanction(request: HttpRequest, sanction_id: int, payload: AssessLiftIn) -> dict[str, Any]:
    user = user_of(request)
    s = services.sanction_lift(actor=user, sanction=get_scoped(user, Sanction, sanction_id), reason=payload.reason)
    return {"id": s.pk, "lifted_at": s.lifted_at}


# ---------------------------------------------------------------------------------------------- documents


def _round_with_results(user: Any, round_id: int) -> Round:
    rnd = selectors.round_get(user, round_id)
    if rnd.computed_at is None:
        raise Conflict("本轮尚未计算结果")
    return rnd


@router.get("/assessment/rounds/{round_id}/results.xlsx", summary="考评结果（Excel） Results as Excel")
def results_xlsx(request: HttpRequest, round_id: int) -> Any:
    from . import excel

    user = user_of(request)
    rnd = _round_with_results(user, round_id)
    return attachment(excel.results_workbook(rnd, selectors.results(user, rnd)), excel.results_filename(rnd))


def _notice_round(user: Any, round_id: int) -> Round:
    rnd = _round_with_results(user, round_id)
    if rnd.state not in (RoundState.NOTICE, RoundState.PUBLISHED):
        raise Conflict("进入公示后才能生成公示文件")
    return rnd


@router.get("/assessment/rounds/{round_id}/notice.docx", summary="考评结果公示（Word） The 公示 notice")
def notice_docx(request: HttpRequest, round_id: int) -> Any:
    from . import notice

    rnd = _notice_round(user_of(request), round_id)
    return attachment(notice.notice_docx(rnd), notice.notice_filename(rnd, "docx"))


@router.get("/assessment/rounds/{round_id}/notice.pdf", summary="考评结果公示（PDF） The 公示 notice as PDF")
def notice_pdf(request: HttpRequest, round_id: int) -> Any:
    from . import notice

    rnd = _notice_round(user_of(request), round_id)
    if not notice.pdf_available():
        raise Conflict("本服务器未安装 PDF 组件，请下载 Word 版")
    return attachment(notice.notice_pdf(rnd), notice.notice_filename(rnd, "pdf"))
