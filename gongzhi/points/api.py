"""Credit points' part of the JSON API (mounted under /api/v1/ by gongzhi.api): rules, claims and their steps, my
balance and ledger, the store's items and stock, redemptions and their steps, corrections, figures per community.
Parse → scoped fetch → service → schema; lists are keyset-paginated on the id (limit ≤ 200)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from gongzhi.accounts.roles import Cap
from gongzhi.api.auth import user_of
from gongzhi.core.errors import InvalidInput, NotFound
from gongzhi.core.scope import get_scoped
from gongzhi.registry.models import Area, Person

from . import selectors, services
from .models import MAX_QUANTITY, PointClaim, PointEntry, PointRule, Redemption, StoreItem

router = Router(tags=["信用积分 points"])

MAX_LIMIT = 200


class PointRuleIn(Schema):
    area_id: int = Field(..., description="适用区域：社区、街道、区或市")
    name: str = Field(..., min_length=1, max_length=60, description="积分项目，如“参加志愿服务”")
    points: int = Field(..., ge=1, le=1000, description="每次积分")
    cap: int = Field(..., ge=1, le=100_000, description="每人每期上限（分）")
    period: Literal["month", "quarter", "year"] = Field("month", description="上限周期")
    description: str = Field("", max_length=300)


class PointRuleUpdateIn(Schema):
    name: str = Field(..., min_length=1, max_length=60)
    points: int = Field(..., ge=1, le=1000)
    cap: int = Field(..., ge=1, le=100_000)
    period: Literal["month", "quarter", "year"]
    description: str = Field("", max_length=300)
    active: bool = True
    reason: str = Field("", max_length=200)
    version: int | None = Field(None, ge=1, description="读取时的版本号；已被他人修改时返回 409")


class PointClaimIn(Schema):
    rule_id: int = Field(..., description="积分项目")
    occurred_on: dt.date = Field(..., description="发生日期")
    description: str = Field(..., min_length=1, max_length=500, description="事由")
    person_id: int | None = Field(None, description="信息员代居民采集时：居民（人员 id）；居民本人申报时留空")
    note: str = Field("", max_length=500, description="采集意见（代采集时）")


class PointClaimStepIn(Schema):
    step: Literal["collect", "refuse_collect", "decide", "refuse_decide", "approve", "refuse_approve", "withdraw"]
    note: str = Field("", max_length=500, description="意见（评定核减积分时必填）")
    reason: str = Field("", max_length=500, description="理由（不通过时必填）")
    points: int | None = Field(None, ge=1, le=1000, description="核定积分（评定、审核时可核减）")
    version: int | None = Field(None, ge=1)


class PointCorrectionIn(Schema):
    person_id: int
    amount: int = Field(..., ge=-10_000, le=10_000, description="更正积分，加分为正、扣分为负（不为0）")
    reason: str = Field(..., min_length=1, max_length=200)
    claim_id: int | None = Field(None, description="所更正的已入账申报（可选）")


class StoreItemIn(Schema):
    area_id: int = Field(..., description="所属社区")
    name: str = Field(..., min_length=1, max_length=60)
    price: int = Field(..., ge=1, le=100_000, description="所需积分")
    stock: int = Field(0, ge=0, le=100_000, description="初始库存")
    description: str = Field("", max_length=300)


class StoreItemUpdateIn(Schema):
    name: str = Field(..., min_length=1, max_length=60)
    price: int = Field(..., ge=1, le=100_000)
    description: str = Field("", max_length=300)
    active: bool = True
    reason: str = Field("", max_length=200)
    version: int | None = Field(None, ge=1)


class StockChangeIn(Schema):
    change: int = Field(..., ge=-100_000, le=100_000, description="入库为正，报损为负（不为0）")
    reason: str = Field("", max_length=200, description="原因（减少时必填）")


class RedeemIn(Schema):
    item_id: int
    quantity: int = Field(1, ge=1, le=MAX_QUANTITY)
    person_id: int | None = Field(None, description="柜台代兑时：居民（人员 id）；居民本人兑换时留空")


class RedemptionStepIn(Schema):
    step: Literal["hand_over", "cancel"]
    reason: str = Field("", max_length=200, description="取消原因（工作人员代取消时必填）")
    version: int | None = Field(None, ge=1)


# ------------------------------------------------------------------------------------------ shapes


def _rule_out(r: PointRule) -> dict[str, Any]:
    return {"id": r.pk, "area": {"id": r.area_id, "name": r.area.name}, "name": r.name,
            "description": r.description, "points": r.points, "cap": r.cap, "period": r.period,
            "period_label": r.get_period_display(), "active": r.active, "version": r.version}


def _claim_out(c: PointClaim, user: Any) -> dict[str, Any]:
    return {"id": c.pk, "person": {"id": c.person_id, "name": c.person.name},
            "rule": {"id": c.rule_id, "name": c.rule.name}, "area": {"id": c.area_id, "name": c.area.name},
            "occurred_on": c.occurred_on, "description": c.description, "points_claimed": c.points_claimed,
            "points": c.points, "state": c.state, "state_label": c.get_state_display(), "channel": c.channel,
            "collect_note": c.collect_note, "decide_note": c.decide_note, "refused_step": c.refused_step,
            "refuse_reason": c.refuse_reason, "created_at": c.created_at, "version": c.version,
            "steps": [t.name for t in services.claim_steps(user, c)]}


def _entry_out(e: PointEntry) -> dict[str, Any]:
    return {"id": e.pk, "at": e.at, "kind": e.kind, "kind_label": e.get_kind_display(), "amount": e.amount,
            "balance_after": e.balance_after, "note": e.note, "claim_id": e.claim_id,
            "redemption_id": e.redemption_id}


def _item_out(i: StoreItem) -> dict[str, Any]:
    return {"id": i.pk, "area": {"id": i.area_id, "name": i.area.name}, "name": i.name,
            "description": i.description, "price": i.price, "stock": i.stock, "active": i.active,
            "version": i.version}


def _redemption_out(r: Redemption, user: Any) -> dict[str, Any]:
    return {"id": r.pk, "person": {"id": r.person_id, "name": r.person.name},
            "item": {"id": r.item_id, "name": r.item.name}, "quantity": r.quantity, "points": r.points,
            "state": r.state, "state_label": r.get_state_display(), "channel": r.channel,
            "created_at": r.created_at, "handed_over_at": r.handed_over_at, "cancelled_at": r.cancelled_at,
            "cancel_reason": r.cancel_reason, "version": r.version,
            "steps": [t.name for t in services.redemption_steps(user, r)]}


def _page(qs: QuerySet[Any], limit: int, after: int | None, *, newest_first: bool = True) -> tuple[list[Any], Any]:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.on("limit", f"须在 1 到 {MAX_LIMIT} 之间")
    qs = qs.order_by("-pk" if newest_first else "pk")
    if after is not None:
        qs = qs.filter(pk__lt=after) if newest_first else qs.filter(pk__gt=after)
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].pk if more and rows else None)


def _person(user: Any, raw: int | None, cap: str) -> Person | None:
    if raw is None:
        return None
    try:
        return get_scoped(user, Person.objects.select_related("area"), raw, cap=cap)
    except NotFound:
        raise InvalidInput.on("person_id", "居民不存在或不在您的工作范围内") from None


# ------------------------------------------------------------------------------------------ rules


@router.get("/points/rules", response=dict, summary="积分规则 Point rules")
def list_rules(request: HttpRequest, area_id: int | None = None, limit: int = Query(50, ge=1, le=200),
               after: int | None = None) -> dict[str, Any]:
    """The rules seen in the caller's areas (a resident: the rules where she lives); ``area_id`` narrows to the
    rules that apply in that area."""
    user = user_of(request)
    area = get_scoped(user, Area, area_id) if area_id else None
    rows, nxt = _page(selectors.rules(user, area), limit, after, newest_first=False)
    return {"items": [_rule_out(r) for r in rows], "next": nxt}


@router.post("/points/rules", response={201: dict}, summary="新增积分项目 Create a rule")
def create_rule(request: HttpRequest, payload: PointRuleIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    try:
        area = get_scoped(user, Area, payload.area_id)
    except NotFound:
        raise InvalidInput.on("area_id", "区域不存在") from None
    rule = services.rule_create(actor=user, area=area, name=payload.name, points=payload.points, cap=payload.cap,
                                period=payload.period, description=payload.description)
    return Status(201, _rule_out(selectors.rule_get(user, rule.pk)))


@router.put("/points/rules/{rule_id}", response=dict, summary="修改积分项目 Update a rule")
def update_rule(request: HttpRequest, rule_id: int, payload: PointRuleUpdateIn) -> dict[str, Any]:
    user = user_of(request)
    rule = selectors.rule_get(user, rule_id)
    services.rule_update(actor=user, rule=rule, name=payload.name, points=payload.points, cap=payload.cap,
                         period=payload.period, description=payload.description, active=payload.active,
                         reason=payload.reason, expected_version=payload.version)
    return _rule_out(selectors.rule_get(user, rule_id))


# ------------------------------------------------------------------------------------------ claims


@router.get("/points/claims", response=dict, summary="积分申报 Claims")
def list_claims(request: HttpRequest, state: str | None = Query(None, max_length=12), mine: bool = False,
                queue: Literal["collect", "decide", "approve"] | None = None,
                limit: int = Query(50, ge=1, le=200), after: int | None = None) -> dict[str, Any]:
    """Claims in the caller's areas (and her own); ``mine`` only hers; ``queue`` those waiting for her step."""
    user = user_of(request)
    qs = selectors.claims(user, state=state)
    if mine:
        person = selectors.my_person(user)
        qs = qs.filter(person=person) if person else qs.none()
    if queue:
        wanted = {q.kind: [c.pk for c in q.claims] for q in selectors.queue(user)}
        qs = qs.filter(pk__in=wanted.get(queue, []))
    rows, nxt = _page(qs, limit, after)
    return {"items": [_claim_out(c, user) for c in rows], "next": nxt}


@router.post("/points/claims", response={201: dict}, summary="申报积分 File a claim")
def create_claim(request: HttpRequest, payload: PointClaimIn) -> Status[dict[str, Any]]:
    """A resident declares for herself (no ``person_id``); an information officer files for a resident of her area
    (collected at once)."""
    user = user_of(request)
    try:
        rule = selectors.rule_get(user, payload.rule_id)
    except NotFound:
        raise InvalidInput.on("rule_id", "积分项目不存在") from None
    person = _person(user, payload.person_id, Cap.POINTS_COLLECT)
    claim = services.claim_file(actor=user, rule=rule, occurred_on=payload.occurred_on,
                                description=payload.description, person=person, note=payload.note)
    return Status(201, _claim_out(selectors.claim_get(user, claim.pk), user))


@router.get("/points/claims/{claim_id}", response=dict, summary="积分申报详情 A claim")
def get_claim(request: HttpRequest, claim_id: int) -> dict[str, Any]:
    user = user_of(request)
    return _claim_out(selectors.claim_get(user, claim_id), user)


@router.post("/points/claims/{claim_id}/steps", response=dict, summary="办理积分申报 Take a step on a claim")
def claim_step(request: HttpRequest, claim_id: int, payload: PointClaimStepIn) -> dict[str, Any]:
    user = user_of(request)
    claim = selectors.claim_get(user, claim_id)
    services.claim_step(actor=user, claim=claim, step=payload.step, note=payload.note, reason=payload.reason,
                        points=payload.points, expected_version=payload.version)
    return _claim_out(selectors.claim_get(user, claim_id), user)


# ------------------------------------------------------------------------------------------ my points


@router.get("/points/me", response=dict, summary="我的积分 My balance and ledger")
def my_points(request: HttpRequest, limit: int = Query(50, ge=1, le=200), after: int | None = None) -> dict[str, Any]:
    user = user_of(request)
    person = selectors.my_person(user)
    if person is None:
        raise NotFound("您尚未登记为居民")
    account = selectors.account(user, person)
    rows, nxt = _page(selectors.entries(user, person), limit, after)
    return {"person": {"id": person.pk, "name": person.name}, "balance": account.balance if account else 0,
            "earned": account.earned if account else 0, "spent": account.spent if account else 0,
            "entries": [_entry_out(e) for e in rows], "next": nxt}


@router.get("/points/people/{person_id}", response=dict, summary="居民积分账户 A resident's account")
def person_points(request: HttpRequest, person_id: int, limit: int = Query(50, ge=1, le=200),
                  after: int | None = None) -> dict[str, Any]:
    user = user_of(request)
    person = get_scoped(user, Person, person_id, cap=Cap.VIEW_PEOPLE)
    account = selectors.account(user, person)
    rows, nxt = _page(selectors.entries(user, person), limit, after)
    return {"person": {"id": person.pk, "name": person.name}, "balance": account.balance if account else 0,
            "earned": account.earned if account else 0, "spent": account.spent if account else 0,
            "entries": [_entry_out(e) for e in rows], "next": nxt}


@router.post("/points/corrections", response={201: dict}, summary="积分更正 Correct a balance")
def correct(request: HttpRequest, payload: PointCorrectionIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    person = _person(user, payload.person_id, Cap.VIEW_PEOPLE)
    assert person is not None
    claim = None
    if payload.claim_id is not None:
        try:
            claim = selectors.claim_get(user, payload.claim_id)
        except NotFound:
            raise InvalidInput.on("claim_id", "申报不存在") from None
    entry = services.entry_correct(actor=user, person=person, amount=payload.amount, reason=payload.reason,
                                   claim=claim)
    return Status(201, _entry_out(entry))


# ------------------------------------------------------------------------------------------ the store


@router.get("/points/store/items", response=dict, summary="兑换商品 Store items")
def list_items(request: HttpRequest, limit: int = Query(50, ge=1, le=200),
               after: int | None = None) -> dict[str, Any]:
    """A resident: what her community's store has on the shelf; staff: the items of their areas."""
    user = user_of(request)
    qs = selectors.items(user)
    person = selectors.my_person(user)
    if person is not None and not selectors.managed_items(user).exists():
        qs = qs.filter(pk__in=[i.pk for i in selectors.items_for(person)])
    rows, nxt = _page(qs, limit, after, newest_first=False)
    return {"items": [_item_out(i) for i in rows], "next": nxt}


@router.post("/points/store/items", response={201: dict}, summary="上架商品 Add an item")
def create_item(request: HttpRequest, payload: StoreItemIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    try:
        area = get_scoped(user, Area, payload.area_id)
    except NotFound:
        raise InvalidInput.on("area_id", "区域不存在") from None
    item = services.item_create(actor=user, area=area, name=payload.name, price=payload.price, stock=payload.stock,
                                description=payload.description)
    return Status(201, _item_out(selectors.item_get(user, item.pk)))


@router.put("/points/store/items/{item_id}", response=dict, summary="修改商品 Update an item")
def update_item(request: HttpRequest, item_id: int, payload: StoreItemUpdateIn) -> dict[str, Any]:
    user = user_of(request)
    item = selectors.item_get(user, item_id)
    services.item_update(actor=user, item=item, name=payload.name, price=payload.price,
                         description=payload.description, active=payload.active, reason=payload.reason,
                         expected_version=payload.version)
    return _item_out(selectors.item_get(user, item_id))


@router.post("/points/store/items/{item_id}/stock", response=dict, summary="库存变动 Change the stock")
def change_stock(request: HttpRequest, item_id: int, payload: StockChangeIn) -> dict[str, Any]:
    user = user_of(request)
    item = services.item_restock(actor=user, item=selectors.item_get(user, item_id), change=payload.change,
                                 reason=payload.reason)
    return _item_out(selectors.item_get(user, item.pk))


@router.get("/points/redemptions", response=dict, summary="兑换记录 Redemptions")
def list_redemptions(request: HttpRequest, state: str | None = Query(None, max_length=12), mine: bool = False,
                     limit: int = Query(50, ge=1, le=200), after: int | None = None) -> dict[str, Any]:
    user = user_of(request)
    person = selectors.my_person(user) if mine else None
    if mine and person is None:
        return {"items": [], "next": None}
    rows, nxt = _page(selectors.redemptions(user, person=person, state=state), limit, after)
    return {"items": [_redemption_out(r, user) for r in rows], "next": nxt}


@router.post("/points/redemptions", response={201: dict}, summary="兑换 Redeem an item")
def create_redemption(request: HttpRequest, payload: RedeemIn) -> Status[dict[str, Any]]:
    """A resident redeems for herself (no ``person_id``); store staff at the counter for a resident."""
    user = user_of(request)
    try:
        item = selectors.item_get(user, payload.item_id)
    except NotFound:
        raise InvalidInput.on("item_id", "商品不存在") from None
    person = _person(user, payload.person_id, Cap.POINTS_STORE)
    r = services.redeem(actor=user, item=item, quantity=payload.quantity, person=person)
    return Status(201, _redemption_out(selectors.redemption_get(user, r.pk), user))


@router.post("/points/redemptions/{redemption_id}/steps", response=dict, summary="领取或取消兑换 Hand over / cancel")
def redemption_step(request: HttpRequest, redemption_id: int, payload: RedemptionStepIn) -> dict[str, Any]:
    user = user_of(request)
    r = selectors.redemption_get(user, redemption_id)
    services.redemption_step(actor=user, redemption=r, step=payload.step, reason=payload.reason,
                             expected_version=payload.version)
    return _redemption_out(selectors.redemption_get(user, redemption_id), user)


# ------------------------------------------------------------------------------------------ figures


@router.get("/points/figures", response=dict, summary="积分统计 Figures per community")
def points_figures(request: HttpRequest, area_id: int, start: dt.date | None = None,
                   end: dt.date | None = None) -> dict[str, Any]:
    """Per community under the area: points earned, spent and corrected, claims, redemptions, points held; the
    top earners with their names masked. Default period: this year so far."""
    user = user_of(request)
    d_start, d_end = selectors.default_period()
    area = get_scoped(user, Area, area_id, cap=Cap.POINTS_APPROVE)
    f = selectors.figures(user, area, start or d_start, end or d_end)
    return {"area": {"id": area.pk, "name": area.name}, "start": f.start, "end": f.end,
            "total": f.total.as_dict(), "communities": [c.as_dict() for c in f.communities], "top": f.top}
