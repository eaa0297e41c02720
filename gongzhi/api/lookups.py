"""Search-as-you-type for the pages' long choice lists (areas, people, units, party organisations): the select
shows the first few hundred, and typing asks these endpoints for matches. Scoped by the capability the form's
action needs, bounded, labelled as the pages label them."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from ninja import Query, Router

from gongzhi.accounts.roles import POLICIES, Cap
from gongzhi.core.errors import InvalidInput
from gongzhi.core.scope import scoped
from gongzhi.registry.models import Area, AreaKind, MemberUnit, PartyOrganisation, Person

from .auth import user_of

router = Router(tags=["查找 lookups"])
LIMIT = 20
KNOWN_CAPS = frozenset(c for p in POLICIES.values() for c in p.caps)


def _cap(cap: str) -> str:
    if cap not in KNOWN_CAPS:
        raise InvalidInput.on("cap", "未知权限")
    return cap


def _kinds(kinds: str) -> list[str]:
    wanted = [k for k in kinds.split(",") if k]
    unknown = [k for k in wanted if k not in AreaKind.values]
    if unknown:
        raise InvalidInput.on("kinds", f"未知层级：{unknown[0]}")
    return wanted


@router.get("/lookup/areas", response=list[dict], summary="查找区域（输入即搜）")
def lookup_areas(request: HttpRequest, q: str = Query("", max_length=50), kinds: str = Query("", max_length=100),
                 cap: str = Query(Cap.VIEW, max_length=32)) -> list[dict[str, Any]]:
    qs = scoped(user_of(request), Area, cap=_cap(cap))
    wanted = _kinds(kinds)
    if wanted:
        qs = qs.filter(kind__in=wanted)
    q = q.strip()
    if q:
        qs = qs.filter(Q(name__contains=q) | Q(code__startswith=q))
    areas = list(qs.order_by("depth", "path")[:LIMIT])
    parents = dict(Area.objects.filter(path__in={a.path[:-Area.steplen] for a in areas if a.depth > 1})
                   .values_list("path", "name"))
    return [{"id": a.pk, "label": f"{parents.get(a.path[:-Area.steplen], '')}{a.name}（{a.get_kind_display()}）",
             "code": a.code} for a in areas]


@router.get("/lookup/people", response=list[dict], summary="查找人员（输入即搜）")
def lookup_people(request: HttpRequest, q: str = Query("", max_length=50),
                  cap: str = Query(Cap.VIEW_PEOPLE, max_length=32)) -> list[dict[str, Any]]:
    qs = scoped(user_of(request), Person, cap=_cap(cap)).select_related("area")
    q = q.strip()
    if q:
        qs = qs.filter(name__contains=q)
    return [{"id": p.pk, "label": f"{p.name}（{p.area.name}）"} for p in qs.order_by("name", "pk")[:LIMIT]]


@router.get("/lookup/units", response=list[dict], summary="查找驻区单位（输入即搜）")
def lookup_units(request: HttpRequest, q: str = Query("", max_length=50),
                 cap: str = Query(Cap.VIEW, max_length=32)) -> list[dict[str, Any]]:
    qs = scoped(user_of(request), MemberUnit, cap=_cap(cap))
    q = q.strip()
    if q:
        qs = qs.filter(Q(name__contains=q) | Q(credit_code__startswith=q.upper()))
    return [{"id": u.pk, "label": u.name} for u in qs.order_by("name", "pk")[:LIMIT]]


@router.get("/lookup/organisations", response=list[dict], summary="查找党组织（输入即搜）")
def lookup_organisations(request: HttpRequest, q: str = Query("", max_length=50),
                         cap: str = Query(Cap.VIEW, max_length=32)) -> list[dict[str, Any]]:
    qs = scoped(user_of(request), PartyOrganisation, cap=_cap(cap))
    q = q.strip()
    if q:
        qs = qs.filter(name__contains=q)
    return [{"id": o.pk, "label": o.name} for o in qs.order_by("name", "pk")[:LIMIT]]
