"""Co-building figures through the API: an area's figures for a period with the breakdown by child area, and the
community page's data."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router

from gongzhi.accounts.roles import Cap
from gongzhi.api.auth import user_of
from gongzhi.core.errors import NotFound
from gongzhi.core.reports import parse_period
from gongzhi.core.scope import get_scoped
from gongzhi.registry.models import Area, AreaKind

from ..selectors import figures as fig

router = Router(tags=["共驻共建 cobuild"])


def _figures_out(f: fig.Figures) -> dict[str, Any]:
    data = dataclasses.asdict(f)
    data["spent_by_purpose"] = [{"purpose": code, "label": label, "amount": amount}
                                for code, label, amount in f.spent_by_purpose]
    data.update(on_time_rate=f.on_time_rate, refusal_rate=f.refusal_rate, balance=f.balance)
    return data


@router.get("/cobuild/figures", response=dict, summary="共建统计 Co-building figures of an area")
def cobuild_figures(request: HttpRequest, area_id: int, start: dt.date | None = None,
                    end: dt.date | None = None) -> dict[str, Any]:
    """Needs, resources, matches, projects (on time, overdue), claims, services and volunteer hours, admission
    requests and flags, budgets and spending by purpose — for the area's subtree and each child area. Default
    period: the year up to today; dates between 2000-01-01 and 2099-12-31."""
    user = user_of(request)
    area = get_scoped(user, Area, area_id, cap=Cap.COBUILD_VIEW)
    params = {k: v.isoformat() for k, v in (("start", start), ("end", end)) if v is not None}
    start, end = parse_period(params)
    children = fig.by_child(area, start, end)
    return {
        "area": {"id": area.pk, "name": area.name, "kind": area.kind}, "start": start, "end": end,
        "total": _figures_out(fig.figures(area, start, end)),
        "children": [{"area": {"id": c.area.pk, "name": c.area.name}, "needs_open": c.needs_open,
                      "needs_met": c.needs_met, "projects_live": c.projects_live, "services": c.services,
                      "hours": c.hours, "spent": c.spent} for c in children],
    }


@router.get("/cobuild/communities/{area_id}", response=dict, summary="社区共建一览 A community's co-building")
def cobuild_community(request: HttpRequest, area_id: int) -> dict[str, Any]:
    """The community's open needs, the units paired with it and their resources, what each unit delivered there
    this year, and the projects under way."""
    user = user_of(request)
    area = get_scoped(user, Area, area_id, cap=Cap.COBUILD_VIEW)
    if area.kind != AreaKind.COMMUNITY:
        raise NotFound("未找到")
    year = timezone.localdate().year
    page = fig.community_page(area, year=year)
    return {
        "area": {"id": area.pk, "name": area.name}, "year": year,
        "open_needs": [{"id": n.pk, "title": n.title, "kind": n.kind, "state": n.state, "area": n.area.name}
                       for n in page.open_needs],
        "paired_units": [{"id": u.pk, "name": u.name,
                          "resources": [{"id": r.pk, "title": r.title, "kind": r.kind, "left": r.left,
                                         "measure": r.measure} for r in rs]} for u, rs in page.paired_units],
        "delivered": [dataclasses.asdict(d) for d in page.delivered],
        "live_projects": [{"id": p.pk, "title": p.title, "list_type": p.list_type.name, "due_on": p.due_on,
                           "progress": p.progress, "state": p.state} for p in page.live_projects],
    }
