"""Reads of admission control: requests (a department sees its own, a street or district the ones filed to it, a
community what was admitted above it), the 准入清单, the flags, and the 减负 figures per area and period."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Substr
from django.utils.translation import gettext as _

from gongzhi.accounts.roles import Cap
from gongzhi.core import workdays
from gongzhi.core.scope import as_scope, get_scoped, scoped
from gongzhi.registry.models import Area

from ..models import AdmissionRequest, AdmittedItem, UnadmittedFlag
from ..workflow import RequestState

STEP = Area.steplen
MAX_ROWS = 300


def requests(actor: Any) -> QuerySet[AdmissionRequest]:
    return (scoped(actor, AdmissionRequest).select_related("department", "area", "admitted_item")
            .order_by("-filed_at", "-pk"))


def request_get(actor: Any, pk: int) -> AdmissionRequest:
    return get_scoped(actor, AdmissionRequest.objects.select_related("department", "area", "admitted_item",
                                                                     "filed_by", "decided_by"), pk)


def to_decide(actor: Any) -> QuerySet[AdmissionRequest]:
    """Requests filed to an area the caller decides for (her street or district, or below her grant)."""
    prefixes = as_scope(actor).area_prefixes(Cap.COBUILD_MANAGE)
    if not prefixes:
        return AdmissionRequest.objects.none()
    q = Q()
    for p in prefixes:
        q |= Q(area_path__startswith=p)
    return requests(actor).filter(q, state=RequestState.FILED)


def of_units(actor: Any, unit_ids: list[int]) -> QuerySet[AdmissionRequest]:
    return requests(actor).filter(department_id__in=unit_ids) if unit_ids else AdmissionRequest.objects.none()


def items(actor: Any, *, active: bool = True) -> QuerySet[AdmittedItem]:
    """The 准入清单 the caller sees: her own levels' and, for a community, its street's and district's."""
    qs = scoped(actor, AdmittedItem).select_related("area", "department").order_by("area_path", "kind", "name")
    return qs.filter(active=True) if active else qs


def item_get(actor: Any, pk: int) -> AdmittedItem:
    return get_scoped(actor, AdmittedItem, pk)


def flags(actor: Any) -> QuerySet[UnadmittedFlag]:
    return scoped(actor, UnadmittedFlag).select_related("area", "department").order_by("-flagged_at", "-pk")


def flag_get(actor: Any, pk: int) -> UnadmittedFlag:
    return get_scoped(actor, UnadmittedFlag, pk)


# ---------------------------------------------------------------------------------------------- 减负 figures


@dataclass
class Row:
    label: str
    area: Area | None = None
    filed: int = 0
    admitted: int = 0
    refused: int = 0
    withdrawn: int = 0
    pending: int = 0
    spared: int = 0  # communities a refused request would have reached (项次)
    flags: int = 0
    flags_handled: int = 0

    def add(self, other: Row) -> None:
        for name in ("filed", "admitted", "refused", "withdrawn", "pending", "spared", "flags", "flags_handled"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def refusal_rate(self) -> float | None:
        decided = self.admitted + self.refused
        return round(100.0 * self.refused / decided, 1) if decided else None


@dataclass
class Figures:
    area: Area
    start: dt.date
    end: dt.date
    rows: list[Row] = field(default_factory=list)
    total: Row = field(default_factory=lambda: Row(label="合计"))


def figures(actor: Any, area: Area, start: dt.date, end: dt.date) -> Figures:
    """减负 evidence for ``area`` from ``start`` to ``end`` (inclusive), one row per child area and one for the
    area's own level: requests filed in the period by where they stand now (admitted, refused, withdrawn, pending),
    the community-items refusals spared, and flags raised in the period and handled. Three queries."""
    lo = dt.datetime.combine(start, dt.time.min, tzinfo=workdays.TZ)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=workdays.TZ)
    n = len(area.path) + STEP
    children = list(Area.objects.filter(path__startswith=area.path, depth=area.depth + 1)
                    .order_by("path")[:MAX_ROWS])
    rows: dict[str, Row] = {area.path: Row(label=_("{name}（本级）").format(name=area.name), area=area)}
    for c in children:
        rows[c.path] = Row(label=c.name, area=c)
    reqs = (scoped(actor, AdmissionRequest).filter(area_path__startswith=area.path, filed_at__gte=lo, filed_at__lt=hi)
            .annotate(node=Substr("area_path", 1, n)).values("node", "state")
            .annotate(c=Count("pk"), comm=Sum("communities")).order_by())
    for r in reqs:
        row = rows.get(r["node"])
        if row is None:
            continue
        row.filed += r["c"]
        if r["state"] == RequestState.ADMITTED:
            row.admitted += r["c"]
        elif r["state"] == RequestState.REFUSED:
            row.refused += r["c"]
            row.spared += r["comm"] or 0
        elif r["state"] == RequestState.WITHDRAWN:
            row.withdrawn += r["c"]
        else:
            row.pending += r["c"]
    fl = (scoped(actor, UnadmittedFlag).filter(area_path__startswith=area.path, flagged_at__gte=lo, flagged_at__lt=hi)
          .annotate(node=Substr("area_path", 1, n)).values("node")
          .annotate(c=Count("pk"), h=Count("pk", filter=Q(handled_at__isnull=False))).order_by())
    for f in fl:
        row = rows.get(f["node"])
        if row is not None:
            row.flags += f["c"]
            row.flags_handled += f["h"]
    out = Figures(area=area, start=start, end=end)
    own = rows.pop(area.path)
    out.rows = ([own] if own.filed or own.flags or not children else []) + list(rows.values())
    for row in out.rows:
        out.total.add(row)
    return out
