"""Reads of the councils module: cadence status, ledgers, pending escalations, public results, figures (G1)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Q, QuerySet

from gongzhi.core import audit
from gongzhi.core.models import AuditEntry
from gongzhi.core.scope import get_scoped, scoped
from gongzhi.registry.models import Area

from .models import CADENCE_DAYS, AgendaItem, Council, CouncilKind, CouncilMember, Meeting, Source
from .workflow import OPEN, SETTLED_HERE, ItemState

S = ItemState


@dataclass
class CadenceStatus:
    council: Council
    due_on: dt.date
    overdue_days: int

    @property
    def overdue(self) -> bool:
        return self.overdue_days > 0


def cadence_status(council: Council, today: dt.date) -> CadenceStatus:
    """A council must meet within its cadence of its last meeting (or of its founding)."""
    since = council.last_met_on or council.created_on
    due = since + dt.timedelta(days=CADENCE_DAYS[council.cadence])
    return CadenceStatus(council, due, max(0, (today - due).days))


def councils(viewer: Any, area: Area | None = None) -> QuerySet[Council]:
    qs = scoped(viewer, Council).select_related("area", "convener", "kind")
    if area is not None:
        qs = qs.filter(area__path__prefix=area.path)
    return qs.order_by("area__path", "pk")


def members(council: Council) -> QuerySet[CouncilMember]:
    """The council's current members (those who left keep their rows for the minutes of past meetings)."""
    return council.members.filter(left_on__isnull=True).select_related("person", "unit", "organisation").order_by(
        "pk")


def trail(council: Council, limit: int = 20) -> list[AuditEntry]:
    """The council's 变更记录 with its members' joining and leaving."""
    members = [str(pk) for pk in council.members.values_list("pk", flat=True)[:1000]]
    return list(AuditEntry.objects.filter(
        Q(object_type=audit.object_type(council), object_id=str(council.pk))
        | Q(object_type="councils.councilmember", object_id__in=members)).order_by("-at", "-id")[:limit])


def kinds(*, active_only: bool = True) -> QuerySet[CouncilKind]:
    qs = CouncilKind.objects.all()
    return (qs.filter(active=True) if active_only else qs).order_by("order", "pk")


def overdue_councils(viewer: Any, area: Area, today: dt.date) -> list[CadenceStatus]:
    """Councils in the subtree past their cadence, most overdue first (for the parent level's dashboard)."""
    statuses = [cadence_status(c, today) for c in councils(viewer, area)]
    return sorted((s for s in statuses if s.overdue), key=lambda s: -s.overdue_days)


def ledger(council: Council) -> QuerySet[AgendaItem]:
    return council.items.select_related("meeting", "escalated_to__council", "escalated_from__council",
                                        "follow_up_case").order_by("-created_at", "-pk")


def pending_from_below(council: Council) -> QuerySet[AgendaItem]:
    """Items moved up to this council that still wait for its answer."""
    return council.items.filter(source=Source.ESCALATION, state__in=list(OPEN)).select_related(
        "escalated_from__council").order_by("created_at")


def overdue_decisions(council: Council, today: dt.date) -> QuerySet[AgendaItem]:
    """Decisions past their deadline and not yet carried out (督促落实)."""
    return council.items.filter(state__in=[S.DECIDED, S.PUBLISHED], deadline__lt=today, done_on__isnull=True)


def public_results(area: Area) -> QuerySet[AgendaItem]:
    """结果公开: decisions, their follow-up and answers to escalated items — no names of who raised them."""
    return AgendaItem.objects.filter(council__area__path__prefix=area.path).filter(
        Q(state__in=list(SETTLED_HERE)) | Q(state=S.ANSWERED)
    ).select_related("council", "follow_up_case").order_by("-settled_at", "-pk")


@dataclass
class CouncilFigures:
    area: Area
    start: dt.date
    end: dt.date
    councils: int
    meetings_held: int
    meetings_expected: int
    settled_here: int
    escalated: int
    resolved_after_escalation: int
    decisions: int
    decisions_done_on_time: int
    overdue_councils: int

    def as_dict(self) -> dict[str, Any]:
        return {k: v if not isinstance(v, Area) else {"id": v.pk, "name": v.name} for k, v in self.__dict__.items()}


def figures(viewer: Any, area: Area, start: dt.date, end: dt.date, today: dt.date | None = None) -> CouncilFigures:
    """东港's figures for a subtree and period: meetings (against the cadence), settled at their own level,
    escalated, resolved after escalation, and decisions carried out on time."""
    area = get_scoped(viewer, Area, area.pk)
    today = today or end
    in_tree = Q(council__area__path__prefix=area.path)
    council_rows = list(Council.objects.filter(area__path__prefix=area.path).values_list("cadence", "created_on",
                                                                                          "last_met_on"))
    days = (end - start).days + 1
    expected = sum(max(1, days // CADENCE_DAYS[c]) for c, _created, _last in council_rows)
    held = Meeting.objects.filter(in_tree, held=True, scheduled_for__date__gte=start,
                                  scheduled_for__date__lte=end).count()
    items = AgendaItem.objects.filter(in_tree, created_at__date__gte=start, created_at__date__lte=end)
    counts = items.aggregate(
        settled=Count("pk", filter=Q(state__in=list(SETTLED_HERE))),
        escalated=Count("pk", filter=Q(state__in=[S.ESCALATED, S.ANSWERED]) & ~Q(source=Source.ESCALATION)),
        resolved=Count("pk", filter=Q(state=S.ANSWERED) & ~Q(source=Source.ESCALATION)),
        decisions=Count("pk", filter=Q(state__in=list(SETTLED_HERE))),
        on_time=Count("pk", filter=Q(done_on__isnull=False, done_on__lte=F("deadline"))),
    )
    overdue = sum(1 for c in Council.objects.filter(area__path__prefix=area.path) if cadence_status(c, today).overdue)
    return CouncilFigures(area, start, end, len(council_rows), held, expected, counts["settled"],
                          counts["escalated"], counts["resolved"], counts["decisions"], counts["on_time"], overdue)
