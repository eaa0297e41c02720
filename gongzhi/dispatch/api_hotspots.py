"""Hot spots in the JSON API (热点问题): the hottest groups of cases of an area over the last 7, 30 or 90 days, and
the two actions on one — merge its cases into one 并单 group, or raise it on a council's agenda."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from gongzhi.accounts.roles import Cap
from gongzhi.api.auth import user_of
from gongzhi.cases.models import Case
from gongzhi.core.errors import Forbidden, InvalidInput
from gongzhi.core.scope import as_scope, get_scoped, scoped
from gongzhi.councils.models import Council
from gongzhi.registry.models import Area

from . import selectors_hotspots as selectors
from . import services_hotspots as services

router = Router(tags=["派单智能 dispatch"])


class HotSpotMergeIn(Schema):
    case_ids: list[int] = Field(..., min_length=2, max_length=200, description="热点问题的成员诉求")
    primary_id: int | None = Field(None, ge=1, description="主诉求（其余并入它）；不填则取热度最高、再取最早的")
    reason: str = Field("", max_length=300, description="并单理由；不填为“热点问题并单”")


class HotSpotCouncilItemIn(Schema):
    case_ids: list[int] = Field(..., min_length=1, max_length=200)
    council_id: int = Field(..., ge=1)
    title: str = Field("", max_length=120, description="议题；不填则以热点问题命名")
    description: str = Field("", max_length=2000)


def _require_dispatch(user: Any) -> None:
    if not as_scope(user).has(Cap.CASE_DISPATCH):
        raise Forbidden(_("您没有权限执行此操作"))


def _members(user: Any, ids: list[int]) -> list[Case]:
    wanted = sorted({i for i in ids if i > 0})
    found = list(scoped(user, Case).filter(pk__in=wanted))
    if len(found) != len(wanted):
        raise InvalidInput.on("case_ids", _("部分诉求不存在或不在您的工作范围内"))
    return found


def _case_out(c: Case) -> dict[str, Any]:
    return {"id": c.pk, "number": c.number, "title": c.title, "state": c.state, "state_label": c.get_state_display(),
            "place": c.place, "area_id": c.area_id, "created_at": c.created_at, "heat": c.heat}


@router.get("/dispatch/hotspots", response=dict, summary="热点问题 Hot spots among the cases")
def hotspot_list(request: HttpRequest, area_id: int | None = Query(None, ge=1),
                 days: int = Query(30, description="统计周期：7、30 或 90 天"),
                 limit: int = Query(20, ge=1, le=200)) -> dict[str, Any]:
    """The hottest groups of cases about one problem at one place over the last ``days`` days in the area's subtree
    (default: all the caller dispatches), each with its place, time range, size, people, heat and member cases."""
    user = user_of(request)
    _require_dispatch(user)
    days = selectors.check_days(days)
    area = get_scoped(user, Area, area_id, cap=Cap.CASE_DISPATCH) if area_id else None
    spots = selectors.case_hotspots(user, area=area, days=days, limit=limit)
    return {
        "area": {"id": area.pk, "name": area.name} if area else None, "days": days,
        "heat_formula": selectors.heat_formula(),
        "items": [{"label": s.spot.label, "place": s.spot.place, "first": s.spot.first, "last": s.spot.last,
                   "size": len(s.cases), "people": s.spot.people, "likes": s.spot.likes, "heat": s.spot.heat,
                   "primary_id": s.primary.pk if s.primary else None, "can_merge": s.can_merge,
                   "cases": [_case_out(c) for c in s.cases]} for s in spots],
    }


@router.post("/dispatch/hotspots/merge", response=dict, summary="热点问题并单 Merge a hot spot's cases")
def hotspot_merge(request: HttpRequest, payload: HotSpotMergeIn) -> dict[str, Any]:
    """Merge the cases into one (并单): the primary goes on, the others still waiting to be accepted or dispatched
    are merged into it; the others are listed in ``skipped`` with the reason. All or nothing."""
    user = user_of(request)
    _require_dispatch(user)
    members = _members(user, payload.case_ids)
    primary = None
    if payload.primary_id is not None:
        primary = next((c for c in members if c.pk == payload.primary_id), None)
        if primary is None:
            raise InvalidInput.on("primary_id", _("主诉求须是所选诉求中的一件"))
    done = services.hotspot_merge(actor=user, cases=members, primary=primary,
                                  reason=payload.reason.strip() or _("热点问题并单"))
    return {"primary": {"id": done.primary.pk, "number": done.primary.number,
                        "duplicate_count": done.primary.duplicate_count},
            "merged": [{"id": c.pk, "number": c.number} for c in done.merged],
            "skipped": [{"id": c.pk, "number": c.number, "reason": why} for c, why in done.skipped]}


@router.post("/dispatch/hotspots/council-item", response={201: dict},
             summary="热点问题提交议事 Raise a hot spot on a council's agenda")
def hotspot_council_item(request: HttpRequest, payload: HotSpotCouncilItemIn) -> Status[dict[str, Any]]:
    """One agenda item (source 诉求转入) on a council the caller runs, linked to the hottest case, naming every
    member case's number."""
    user = user_of(request)
    _require_dispatch(user)
    members = _members(user, payload.case_ids)
    council = get_scoped(user, Council, payload.council_id)
    item = services.hotspot_to_council_item(actor=user, cases=members, council=council, title=payload.title,
                                            description=payload.description)
    return Status(201, {"id": item.pk, "title": item.title, "council_id": council.pk, "case_id": item.case_id,
                        "source": item.source})
