"""Reads of supervision: the month's reports of an area (submitted, missing, verdicts), the reports waiting for the
viewer's verdict, cross-checks, the 问题台账 with its open / overdue / closed counts per area, the 整改台账.
Everything takes the viewer and goes through :mod:`gongzhi.core.scope`; the overview and the counts are a fixed
handful of queries whatever the number of organisations or findings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Substr
from django.utils import timezone

from gongzhi.accounts.roles import Cap
from gongzhi.core.errors import InvalidInput
from gongzhi.core.scope import as_scope, get_scoped, scoped
from gongzhi.registry.models import Area, AreaKind, OrgLevel, PartyOrganisation, Sector

from .models import CrossCheck, Finding, MonthlyReport, Rectification, RectificationOutcome, Verdict
from .workflow import OPEN_FINDING_STATES, FindingState, ReportState

MAX_ORGS = 500
MAX_QUEUE = 100
MAX_CHILDREN = 500
# Who reports each month: the party organisations of streets and communities on the tree (街道党工委, 社区党委/
# 党总支/党支部) — not the party groups, nor the organisations of member units (they report in their own system).
REPORTING_KINDS = (AreaKind.STREET, AreaKind.COMMUNITY)


def user_name(user: Any) -> str:
    """A staff member as people know her: her display name, else her user name."""
    if user is None:
        return ""
    return str(user.first_name or user.get_username())


def this_month(today: dt.date | None = None) -> dt.date:
    return (today or timezone.localdate()).replace(day=1)


# ------------------------------------------------------------------------------------------ 月述月评


def reports(user: Any, *, area: Area | None = None, month: dt.date | None = None,
            state: str | None = None) -> QuerySet[MonthlyReport]:
    qs = scoped(user, MonthlyReport).select_related("organisation", "area", "reviewed_by", "submitted_by")
    if area is not None:
        qs = qs.filter(area_path__prefix=area.path)
    if month is not None:
        qs = qs.filter(month=month)
    if state:
        if state not in ReportState.values:
            raise InvalidInput.on("state", "未知状态")
        qs = qs.filter(state=state)
    return qs.order_by("-month", "area_path", "pk")


def report_get(user: Any, pk: Any) -> MonthlyReport:
    return get_scoped(user, MonthlyReport.objects.select_related(
        "organisation", "area", "created_by", "submitted_by", "reviewed_by", "returned_by"), pk)


def reports_monthly(org: PartyOrganisation, area: Area) -> bool:
    """Whether ``org`` (on ``area``) is one of those :func:`reporting_orgs` expects a monthly report from."""
    return (area.kind in REPORTING_KINDS and org.sector == Sector.COMMUNITY and org.unit_id is None
            and org.level != OrgLevel.GROUP)


def reporting_orgs(user: Any, area: Area) -> QuerySet[PartyOrganisation]:
    """The organisations expected to report monthly in ``area``'s subtree (streets' and communities' own)."""
    return (scoped(user, PartyOrganisation).filter(area__path__prefix=area.path, area__kind__in=REPORTING_KINDS,
                                                   sector=Sector.COMMUNITY, unit__isnull=True)
            .exclude(level=OrgLevel.GROUP).select_related("area").order_by("area__path", "name", "pk"))


def writable_orgs(user: Any, limit: int = 200) -> list[PartyOrganisation]:
    """The organisations the viewer may write the report of (her areas as their secretary)."""
    return list(scoped(user, PartyOrganisation, cap=Cap.SUPERVISION_REPORT).filter(unit__isnull=True)
                .exclude(level=OrgLevel.GROUP).select_related("area").order_by("area__path", "name", "pk")[:limit])


@dataclass
class OrgRow:
    organisation: PartyOrganisation
    report: MonthlyReport | None = None

    @property
    def submitted(self) -> bool:
        return self.report is not None and self.report.state in (ReportState.SUBMITTED, ReportState.REVIEWED)


@dataclass
class MonthOverview:
    area: Area
    month: dt.date
    rows: list[OrgRow]
    expected: int = 0
    submitted: int = 0
    reviewed: int = 0
    missing: int = 0  # no report submitted (none at all, a draft, or returned and not yet resubmitted)
    verdicts: dict[str, int] = field(default_factory=dict)
    more: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"area": {"id": self.area.pk, "name": self.area.name}, "month": f"{self.month:%Y-%m}",
                "expected": self.expected, "submitted": self.submitted, "reviewed": self.reviewed,
                "missing": self.missing, "verdicts": self.verdicts, "more": self.more,
                "organisations": [{
                    "id": r.organisation.pk, "name": r.organisation.name,
                    "area": {"id": r.organisation.area_id, "name": r.organisation.area.name},
                    "report_id": r.report.pk if r.report else None,
                    "state": r.report.state if r.report else None,
                    "verdict": r.report.verdict if r.report and r.report.verdict else None,
                    "submitted": r.submitted} for r in self.rows]}


def month_overview(user: Any, area: Area, month: dt.date) -> MonthOverview:
    """Each organisation expected to report in ``area`` for ``month``, with its report if any: how many submitted,
    how many are missing, the verdicts given. Three queries."""
    orgs = list(reporting_orgs(user, area)[:MAX_ORGS + 1])
    more = len(orgs) > MAX_ORGS
    orgs = orgs[:MAX_ORGS]
    by_org = {r.organisation_id: r for r in scoped(user, MonthlyReport).filter(
        month=month, organisation_id__in=[o.pk for o in orgs]).select_related("reviewed_by")}
    rows = [OrgRow(o, by_org.get(o.pk)) for o in orgs]
    verdicts = {v: 0 for v in Verdict.values}
    for r in rows:
        if r.report is not None and r.report.state == ReportState.REVIEWED and r.report.verdict:
            verdicts[r.report.verdict] += 1
    submitted = sum(1 for r in rows if r.submitted)
    reviewed = sum(1 for r in rows if r.report is not None and r.report.state == ReportState.REVIEWED)
    return MonthOverview(area=area, month=month, rows=rows, expected=len(rows), submitted=submitted,
                         reviewed=reviewed, missing=len(rows) - submitted, verdicts=verdicts, more=more)


def review_queue(user: Any) -> list[MonthlyReport]:
    """Submitted reports waiting for the viewer's verdict: those of organisations strictly below her areas of
    ASSESS_REVIEW (the level above reviews), not her own."""
    prefixes = as_scope(user).area_prefixes(Cap.ASSESS_REVIEW)
    if not prefixes:
        return []
    q = Q()
    for p in prefixes:
        q |= Q(area_path__prefix=p) & ~Q(area_path=p)
    uid = as_scope(user).user_id
    qs = (scoped(user, MonthlyReport).filter(q, state=ReportState.SUBMITTED)
          .exclude(created_by_id=uid).exclude(submitted_by_id=uid)
          .select_related("organisation", "area").order_by("submitted_at", "pk"))
    return list(qs[:MAX_QUEUE])


def my_reports(user: Any, limit: int = 30) -> list[MonthlyReport]:
    """Reports of the organisations the viewer writes for."""
    prefixes = as_scope(user).area_prefixes(Cap.SUPERVISION_REPORT)
    if not prefixes:
        return []
    q = Q()
    for p in prefixes:
        q |= Q(area_path__prefix=p)
    return list(reports(user).filter(q)[:limit])


# ------------------------------------------------------------------------------------------ 交叉核查


def checks(user: Any, *, area: Area | None = None) -> QuerySet[CrossCheck]:
    """Checks the viewer sees; ``area``: those of which either side lies in its subtree."""
    qs = scoped(user, CrossCheck).select_related("area", "inspecting_area").prefetch_related("team")
    if area is not None:
        qs = qs.filter(Q(area_path__prefix=area.path) | Q(inspecting_path__prefix=area.path))
    return qs.order_by("-checked_on", "-pk")


def check_get(user: Any, pk: Any) -> CrossCheck:
    return get_scoped(user, CrossCheck.objects.select_related("area", "inspecting_area", "created_by"), pk)


def overdue_q(now: dt.datetime | None = None) -> Q:
    """Open and past the deadline, or closed only after it (逾期整改)."""
    now = now or timezone.now()
    return (Q(state__in=OPEN_FINDING_STATES, due_at__lt=now)
            | Q(state=FindingState.CLOSED, closed_at__gt=F("due_at")))


def findings(user: Any, *, area: Area | None = None, state: str | None = None, overdue: bool | None = None,
             cross_check: CrossCheck | None = None) -> QuerySet[Finding]:
    """The 问题台账 the viewer sees; ``area``: the findings whose responsible area lies in its subtree; ``state``:
    one state or ``open`` for all of the open ones; ``overdue``: past their deadline (or closed late)."""
    qs = (scoped(user, Finding).select_related("cross_check__area", "cross_check__inspecting_area", "area", "unit")
          .prefetch_related("cross_check__team"))  # who may verify, for every row, in one query
    if area is not None:
        qs = qs.filter(area_path__prefix=area.path)
    if cross_check is not None:
        qs = qs.filter(cross_check=cross_check)
    if state:
        if state == "open":
            qs = qs.filter(state__in=OPEN_FINDING_STATES)
        elif state in FindingState.values:
            qs = qs.filter(state=state)
        else:
            raise InvalidInput.on("state", "未知状态")
    if overdue is not None:
        qs = qs.filter(overdue_q()) if overdue else qs.exclude(overdue_q())
    return qs.order_by("-created_at", "-pk")


def finding_get(user: Any, pk: Any) -> Finding:
    return get_scoped(user, Finding.objects.select_related(
        "cross_check__area", "cross_check__inspecting_area", "area", "unit", "created_by"), pk)


def to_rectify(user: Any, limit: int = MAX_QUEUE) -> list[Finding]:
    """Open findings the viewer's areas (or units) are responsible for, soonest deadline first."""
    s = as_scope(user)
    q = Q()
    any_term = False
    for p in s.area_prefixes(Cap.SUPERVISION_RECTIFY):
        q |= Q(area_path__prefix=p)
        any_term = True
    units = s.unit_ids(Cap.SUPERVISION_RECTIFY)
    if units:
        q |= Q(unit_id__in=units)
        any_term = True
    if not any_term:
        return []
    return list(findings(user).filter(q, state__in=[FindingState.OPEN, FindingState.RETURNED])
                .order_by("due_at", "pk")[:limit])


def to_verify(user: Any, limit: int = MAX_QUEUE) -> list[Finding]:
    """Rectified findings waiting for the viewer's side to verify them (her team's checks, or her areas' checks)."""
    s = as_scope(user)
    q = Q(pk__in=[])
    if s.user_id:
        # Her team's checks, while she is still staff in or above the inspecting area (services.is_inspector).
        staff = Q(pk__in=[])
        for g in s.grants:
            if g.role != "resident" and g.area_path is not None:
                above = [g.area_path[:n] for n in range(Area.steplen, len(g.area_path) + 1, Area.steplen)]
                staff |= Q(inspecting_path__in=above) | Q(inspecting_path__prefix=g.area_path)
        q = Q(cross_check__team=s.user_id) & staff
    for p in s.area_prefixes(Cap.SUPERVISION_CHECK):
        q |= Q(inspecting_path__prefix=p)
    ids = scoped(user, Finding).filter(q, state=FindingState.RECTIFIED).values("pk")
    queue = findings(user).filter(pk__in=ids)
    if s.user_id:  # nobody verifies a rectification she filed herself (services.finding_step refuses it)
        queue = queue.exclude(pk__in=Rectification.objects.filter(
            outcome=RectificationOutcome.PENDING, filed_by_id=s.user_id).values("finding_id"))
    return list(queue.order_by("due_at", "pk")[:limit])


def rectifications(user: Any, *, area: Area | None = None,
                   finding: Finding | None = None) -> QuerySet[Rectification]:
    qs = scoped(user, Rectification).select_related("finding__area", "finding__unit", "filed_by", "verified_by")
    if area is not None:
        qs = qs.filter(area_path__prefix=area.path)
    if finding is not None:
        qs = qs.filter(finding=finding)
    return qs.order_by("-filed_at", "-pk")


@dataclass
class LedgerRow:
    area: Area
    own: bool = False  # the area itself (findings on it, not on one of its children)
    total: int = 0
    open: int = 0
    overdue: int = 0
    closed: int = 0
    closed_late: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"area": {"id": self.area.pk, "name": self.area.name}, "own": self.own, "total": self.total,
                "open": self.open, "overdue": self.overdue, "closed": self.closed, "closed_late": self.closed_late}


@dataclass
class Ledger:
    area: Area
    rows: list[LedgerRow]
    total: LedgerRow


def ledger_counts(user: Any, area: Area, now: dt.datetime | None = None) -> Ledger:
    """Per child of ``area`` (and the area itself): the findings it is responsible for — open, open past the
    deadline, closed, closed after the deadline. Three queries."""
    now = now or timezone.now()
    key = Substr("area_path", 1, len(area.path) + Area.steplen)
    open_states = list(OPEN_FINDING_STATES)
    counted = list(scoped(user, Finding).filter(area_path__prefix=area.path).annotate(k=key).values("k").annotate(
        total=Count("pk"), open=Count("pk", filter=Q(state__in=open_states)),
        overdue=Count("pk", filter=Q(state__in=open_states, due_at__lt=now)),
        closed=Count("pk", filter=Q(state=FindingState.CLOSED)),
        late=Count("pk", filter=Q(state=FindingState.CLOSED, closed_at__gt=F("due_at")))))
    # Every child with findings, then the first others up to MAX_CHILDREN (with no findings): the totals count all.
    with_findings = {r["k"] for r in counted} - {area.path}
    children = Area.objects.filter(path__prefix=area.path, depth=area.depth + 1)
    listed_children = list(children.filter(path__in=with_findings)) if with_findings else []
    if len(listed_children) < MAX_CHILDREN:
        listed_children += list(children.exclude(path__in=with_findings)
                                .order_by("path")[:MAX_CHILDREN - len(listed_children)])
    own = LedgerRow(area=area, own=True)
    rows = {area.path: own, **{c.path: LedgerRow(area=c) for c in sorted(listed_children, key=lambda a: a.path)}}
    for r in counted:
        row = rows.get(r["k"])
        if row is None:
            continue
        row.total, row.open, row.overdue, row.closed, row.closed_late = (
            r["total"], r["open"], r["overdue"], r["closed"], r["late"])
    total = LedgerRow(area=area)
    for row in rows.values():
        total.total += row.total
        total.open += row.open
        total.overdue += row.overdue
        total.closed += row.closed
        total.closed_late += row.closed_late
    listed = [r for r in rows.values() if not r.own] + ([own] if own.total else [])
    return Ledger(area=area, rows=listed, total=total)
