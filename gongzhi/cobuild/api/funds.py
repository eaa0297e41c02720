"""Funds in the JSON API (经费): allocation rules and applying them, budgets, spendings (receipt as base64), and
the public disclosure of a community (no sign-in)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from gongzhi.accounts.roles import Cap
from gongzhi.api.auth import user_of
from gongzhi.api.fields import Money
from gongzhi.core.errors import InvalidInput, NotFound
from gongzhi.core.scope import get_scoped
from gongzhi.registry.models import Area, PartyOrganisation

from ..models import Budget, FundSource, Need, Project, Purpose, Spending
from ..selectors import funds as selectors
from ..services import funds as services

router = Router(tags=["共驻共建 cobuild"])

SourceLiteral = Literal[tuple(FundSource.values)]  # type: ignore[valid-type]
PurposeLiteral = Literal[tuple(Purpose.values)]  # type: ignore[valid-type]


class RuleIn(Schema):
    area_id: int
    year: int = Field(..., ge=2000, le=2100)
    source: SourceLiteral  # type: ignore[valid-type]
    target_kind: Literal["community", "grid", "compound"] = "community"
    base_amount: Money = Field(..., description="每个对象基数（元），如 20000")
    per_hundred_households: Money = Field(Decimal("0"), description="每百户增加（元），如 2000")


class BudgetIn(Schema):
    area_id: int | None = None
    organisation_id: int | None = None
    project_id: int | None = None
    year: int = Field(..., ge=2000, le=2100)
    source: SourceLiteral  # type: ignore[valid-type]
    amount: Money = Field(..., description="预算金额（元），如 20000 或 1500.50")
    note: str = Field("", max_length=200)


class SpendingIn(Schema):
    amount: Money = Field(..., description="金额（元），如 150.50；不得超过预算余额")
    purpose: PurposeLiteral  # type: ignore[valid-type]
    description: str = Field(..., min_length=1, max_length=200)
    payee: str = Field("", max_length=100)
    spent_on: dt.date
    project_id: int | None = None
    need_id: int | None = None
    receipt: str | None = Field(None, max_length=14_000_000, description="票据：base64 编码的 PDF/JPEG/PNG（≤10MB）")


def _budget_out(b: Budget) -> dict[str, Any]:
    return {"id": b.pk, "area": {"id": b.area_id, "name": b.area.name}, "year": b.year, "source": b.source,
            "source_label": b.get_source_display(), "amount": b.amount, "spent": b.spent, "balance": b.balance,
            "project_id": b.project_id, "organisation_id": b.organisation_id, "rule_id": b.rule_id, "note": b.note}


def _spending_out(s: Spending) -> dict[str, Any]:
    return {"id": s.pk, "budget_id": s.budget_id, "amount": s.amount, "purpose": s.purpose,
            "description": s.description, "payee": s.payee, "spent_on": s.spent_on, "project_id": s.project_id,
            "need_id": s.need_id, "has_receipt": bool(s.receipt)}


@router.get("/cobuild/funds/rules", response=list[dict], summary="经费分配规则 Allocation rules")
def list_rules(request: HttpRequest) -> list[dict[str, Any]]:
    return [{"id": r.pk, "area": {"id": r.area_id, "name": r.area.name}, "year": r.year, "source": r.source,
             "target_kind": r.target_kind, "base_amount": r.base_amount,
             "per_hundred_households": r.per_hundred_households, "applied_at": r.applied_at}
            for r in selectors.rules(user_of(request))[:200]]


@router.post("/cobuild/funds/rules", response={201: dict}, summary="新增分配规则 New allocation rule")
def create_rule(request: HttpRequest, payload: RuleIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    area = get_scoped(user, Area, payload.area_id, cap=Cap.COBUILD_MANAGE)
    rule = services.rule_create(actor=user, area=area, year=payload.year, source=payload.source,
                                base_amount=payload.base_amount,
                                per_hundred_households=payload.per_hundred_households,
                                target_kind=payload.target_kind)
    return Status(201, {"id": rule.pk})


@router.post("/cobuild/funds/rules/{rule_id}/apply", response=dict, summary="按规则分配 Apply a rule")
def apply_rule(request: HttpRequest, rule_id: int) -> dict[str, Any]:
    user = user_of(request)
    rule = get_scoped(user, selectors.rules(user), rule_id)
    return {"created": services.allocation_apply(actor=user, rule=rule)}


@router.get("/cobuild/funds/budgets", response=dict, summary="经费预算 Budgets")
def list_budgets(request: HttpRequest, year: int | None = Query(None, ge=2000, le=2100),
                 limit: int = Query(50, ge=1, le=200), after: int | None = None) -> dict[str, Any]:
    qs = selectors.budgets(user_of(request), year=year).order_by("pk")
    if after is not None:
        qs = qs.filter(pk__gt=after)
    page = list(qs[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return {"items": [_budget_out(b) for b in page], "next": page[-1].pk if more and page else None}


@router.post("/cobuild/funds/budgets", response={201: dict}, summary="新增预算 New budget")
def create_budget(request: HttpRequest, payload: BudgetIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    area = get_scoped(user, Area, payload.area_id, cap=Cap.COBUILD_MANAGE) if payload.area_id else None
    org = get_scoped(user, PartyOrganisation, payload.organisation_id) if payload.organisation_id else None
    project = get_scoped(user, Project, payload.project_id) if payload.project_id else None
    budget = services.budget_create(actor=user, area=area, year=payload.year, source=payload.source,
                                    amount=payload.amount, project=project, organisation=org, note=payload.note)
    return Status(201, _budget_out(selectors.budget_get(user, budget.pk)))


@router.get("/cobuild/funds/budgets/{budget_id}/spendings", response=dict, summary="支出明细 Spendings")
def list_spendings(request: HttpRequest, budget_id: int, limit: int = Query(50, ge=1, le=200),
                   after: int | None = None) -> dict[str, Any]:
    user = user_of(request)
    qs = selectors.spendings(user, budget=selectors.budget_get(user, budget_id)).order_by("-pk")
    if after is not None:
        qs = qs.filter(pk__lt=after)
    page = list(qs[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return {"items": [_spending_out(s) for s in page], "next": page[-1].pk if more and page else None}


@router.post("/cobuild/funds/budgets/{budget_id}/spendings", response={201: dict}, summary="记录支出 Record a spending")
def create_spending(request: HttpRequest, budget_id: int, payload: SpendingIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    budget = selectors.budget_get(user, budget_id)
    project = get_scoped(user, Project, payload.project_id) if payload.project_id else None
    need = get_scoped(user, Need, payload.need_id) if payload.need_id else None
    receipt = None
    if payload.receipt:
        try:
            receipt = ("receipt", base64.b64decode(payload.receipt, validate=True))
        except (binascii.Error, ValueError):
            raise InvalidInput.on("receipt", "票据须为 base64 编码") from None
    spending = services.spending_record(actor=user, budget=budget, amount=payload.amount, purpose=payload.purpose,
                                        description=payload.description, payee=payload.payee,
                                        spent_on=payload.spent_on, project=project, need=need, receipt=receipt)
    return Status(201, _spending_out(spending))


@router.get("/public/funds/{community_id}", response=dict, auth=None, summary="经费公示 Public disclosure (no sign-in)")
def public_disclosure(request: HttpRequest, community_id: int,
                      year: int = Query(..., ge=2000, le=2100)) -> dict[str, Any]:
    community = selectors.public_community(community_id)
    if community is None:
        raise NotFound("未找到")
    d = selectors.disclosure(community, year)
    return {"community": {"id": community.pk, "name": community.name}, "year": year,
            "total": {"amount": d.total.amount, "spent": d.total.spent, "balance": d.total.balance},
            "sources": [{"source": label, "amount": t.amount, "spent": t.spent, "balance": t.balance}
                        for label, t in d.by_source],
            "spendings": [{"spent_on": s.spent_on, "purpose": s.purpose, "description": s.description,
                           "payee": s.payee, "source": s.source, "amount": s.amount} for s in d.lines]}
