"""The API for configuring the case pipeline: the working-day calendar and routing rules.

Thin like the rest of the API: parse (pydantic) → scoped fetch → :mod:`.services` → plain dicts. Reading the
calendar needs a case capability (CASE_VIEW or CASE_CONFIGURE); changing it, and everything about routing rules,
needs CASE_CONFIGURE (the services check it, on the rule's area for routing rules).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.db.models import Q
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from gongzhi.accounts.roles import Cap
from gongzhi.api.auth import user_of
from gongzhi.core.errors import Forbidden, InvalidInput, NotFound
from gongzhi.core.scope import as_scope, get_scoped, scoped
from gongzhi.registry.api import area_ref, page
from gongzhi.registry.models import Area, AreaKind, MemberUnit
from gongzhi.web.forms import area_label

from . import services
from .models import CalendarDay, Category, Level, RoutingRule

router = Router(tags=["诉求配置 case configuration"])

CHOICES_LIMIT = 30
RULE_AREA_KINDS = [AreaKind.CITY, AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY, AreaKind.GRID,
                   AreaKind.COMPOUND]
PLACE_KINDS = [AreaKind.COMMUNITY, AreaKind.GRID, AreaKind.COMPOUND, AreaKind.BUILDING]


def _need_configure(user: Any) -> None:
    if not as_scope(user).has(Cap.CASE_CONFIGURE):
        raise Forbidden("您没有权限执行此操作")


def _need_calendar_view(user: Any) -> None:
    scope = as_scope(user)
    if not (scope.has(Cap.CASE_CONFIGURE) or scope.has(Cap.CASE_VIEW)):
        raise Forbidden("您没有权限执行此操作")


# ------------------------------------------------------------------------------------------ calendar


class CalendarDayIn(Schema):
    is_workday: bool = Field(..., description="true: 调休上班（班）；false: 放假（休）")
    note: str = Field("", max_length=50, description="说明，如“国庆节”")


def _day_out(d: services.CalendarDayInfo) -> dict[str, Any]:
    return {"date": d.day, "is_workday": d.is_workday, "source": d.source,
            "source_label": services.calendar_source_label(d.source), "note": d.note}


@router.get("/calendar-days", response=dict, summary="工作日历（一年） Working-day calendar of a year")
def calendar_days(request: HttpRequest, year: int = Query(..., ge=services.CALENDAR_YEARS[0],
                                                              le=services.CALENDAR_YEARS[1])) -> dict[str, Any]:
    _need_calendar_view(user_of(request))
    cal = services.calendar_year(year)
    return {
        "year": year, "official": cal.official, "table_holidays": cal.table_holidays, "covered": cal.covered,
        "workdays": sum(1 for d in cal.days if d.is_workday),
        "days": [_day_out(d) for d in cal.days],
    }


@router.put("/calendar-days/{day}", response=dict, summary="设定放假或调休上班 Set a holiday or a working day")
def calendar_day_put(request: HttpRequest, day: dt.date, payload: CalendarDayIn) -> dict[str, Any]:
    user = user_of(request)
    obj = services.calendar_day_set(actor=user, day=day, is_workday=payload.is_workday, note=payload.note)
    return {"date": obj.day, "is_workday": obj.is_workday, "source": "table", "note": obj.note}


@router.delete("/calendar-days/{day}", response={204: None}, summary="清除人工调整 Remove an override")
def calendar_day_delete(request: HttpRequest, day: dt.date) -> Status[None]:
    user = user_of(request)
    _need_configure(user)
    if not CalendarDay.objects.filter(day=day).exists():
        raise NotFound("该日期没有人工调整")
    services.calendar_day_clear(actor=user, day=day)
    return Status(204, None)


# ------------------------------------------------------------------------------------------ routing rules


class RoutingRuleIn(Schema):
    area_id: int = Field(..., description="规则区域（其下全部区域适用）")
    level: Literal["grid", "community", "street", "district", "city"] = Field(..., description="承办层级")
    category_code: str | None = Field(None, max_length=16, description="诉求分类代码（含下级分类）；空 = 全部分类")
    unit_id: int | None = Field(None, description="承办部门/单位（可空：由该层级自身力量承办）")


def _category(code: str | None, field: str = "category_code") -> Category | None:
    if not code:
        return None
    category = Category.objects.filter(code=code).first()
    if category is None:
        raise InvalidInput.on(field, "未知诉求分类")
    return category


def rule_out(rule: RoutingRule) -> dict[str, Any]:
    return {
        "id": rule.pk, "area": area_ref(rule.area), "level": rule.level, "level_label": rule.get_level_display(),
        "category": {"code": rule.category.code, "name": rule.category.name} if rule.category else None,
        "unit": {"id": rule.unit.pk, "name": rule.unit.name} if rule.unit else None,
    }


def _rules(user: Any) -> Any:
    return services.routing_rules(user).select_related("area", "category", "unit")


@router.get("/routing-rules", response=dict, summary="派单规则 Routing rules")
def routing_rule_list(request: HttpRequest, area_id: int | None = None, category_code: str = Query("", max_length=100),
                      limit: int = Query(50, ge=1, le=200),
                      after: str | None = Query(None, max_length=64)) -> dict[str, Any]:
    user = user_of(request)
    _need_configure(user)
    qs = _rules(user)
    if area_id is not None:
        area = get_scoped(user, Area, area_id, cap=Cap.CASE_CONFIGURE)
        qs = qs.filter(area__path__prefix=area.path)
    if category_code:
        qs = qs.filter(category__code=category_code[:16])
    return page(qs, limit, after, rule_out)


@router.post("/routing-rules", response={201: dict}, summary="新建派单规则 Create a routing rule")
def routing_rule_post(request: HttpRequest, payload: RoutingRuleIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    _need_configure(user)
    try:
        area = get_scoped(user, Area, payload.area_id, cap=Cap.CASE_CONFIGURE)
    except NotFound:
        raise InvalidInput.on("area_id", "区域不存在或不在您的管理范围内") from None
    unit = None
    if payload.unit_id is not None:
        try:
            unit = get_scoped(user, MemberUnit, payload.unit_id, cap=Cap.CASE_CONFIGURE)
        except NotFound:
            raise InvalidInput.on("unit_id", "单位不存在或不在您的管理范围内") from None
    rule = services.routing_rule_create(actor=user, area=area, level=payload.level, unit=unit,
                                        category=_category(payload.category_code))
    return Status(201, rule_out(_rules(user).get(pk=rule.pk)))


@router.delete("/routing-rules/{rule_id}", response={204: None}, summary="删除派单规则 Delete a routing rule")
def routing_rule_remove(request: HttpRequest, rule_id: int, reason: str = Query("", max_length=200)) -> Status[None]:
    user = user_of(request)
    _need_configure(user)
    rule = services.routing_rules(user).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound("未找到")
    services.routing_rule_delete(actor=user, rule=rule, reason=reason)
    return Status(204, None)


@router.get("/routing-preview", response=dict, summary="派单预览 Where a new case would be routed now")
def routing_preview(request: HttpRequest, area_id: int,
                    category_code: str = Query("", max_length=100)) -> dict[str, Any]:
    user = user_of(request)
    _need_configure(user)
    area = get_scoped(user, Area, area_id, cap=Cap.CASE_CONFIGURE)
    category = _category(category_code[:16])
    p = services.routing_preview(category=category, area=area)
    return {
        "area": area_ref(area), "category": {"code": category.code, "name": category.name} if category else None,
        "level": p.route.level, "level_label": str(Level(p.route.level).label), "owner": area_ref(p.owner),
        "unit": {"id": p.unit.pk, "name": p.unit.name} if p.unit else None,
        "default_level": p.default_level, "by_rule": p.route.level != p.default_level or p.unit is not None,
    }


# ------------------------------------------------------------------------------------------ search selects


def choices(user: Any, kind: str, q: str, limit: int = CHOICES_LIMIT) -> list[dict[str, Any]]:
    """Options for the configuration pages' search-as-you-type selects, within the caller's CASE_CONFIGURE scope."""
    q = q.strip()[:50]
    if kind == "category":
        cats = Category.objects.filter(active=True)
        if q:
            cats = cats.filter(Q(code__startswith=q) | Q(name__contains=q))
        return [{"id": c.pk, "label": f"{c.code} {c.name}"} for c in cats.order_by("depth", "code")[:limit]]
    if kind == "unit":
        units = scoped(user, MemberUnit, cap=Cap.CASE_CONFIGURE)
        if q:
            units = units.filter(Q(name__contains=q) | Q(credit_code__startswith=q.upper()))
        return [{"id": u.pk, "label": u.name} for u in units.order_by("name")[:limit]]
    kinds = PLACE_KINDS if kind == "place" else RULE_AREA_KINDS
    areas_qs = scoped(user, Area, cap=Cap.CASE_CONFIGURE).filter(kind__in=kinds)
    if q:
        areas_qs = areas_qs.filter(Q(code__startswith=q) | Q(name__contains=q))
    areas = list(areas_qs.order_by("depth", "path")[:limit])
    parents = dict(Area.objects.filter(path__in={a.path[: -Area.steplen] for a in areas if a.depth > 1})
                   .values_list("path", "name"))
    return [{"id": a.pk, "label": area_label(a, parents)} for a in areas]


@router.get("/case-config/choices", response=list[dict], summary="配置页面的可选项（搜索） Options for the selects")
def config_choices(request: HttpRequest, kind: Literal["area", "place", "unit", "category"],
                   q: str = Query("", max_length=50)) -> list[dict[str, Any]]:
    user = user_of(request)
    _need_configure(user)
    return choices(user, kind, q)
