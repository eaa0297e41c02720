"""The write path of supervision (督查考核, E6). Every function is keyword-only, atomic and audited, checks the
actor's capability on the area and validates before it writes.

- 月述月评: the secretary (``SUPERVISION_REPORT`` on the organisation's area) writes one report per organisation and
  month (:func:`report_create`; the unique constraint settles two saving at once), edits it while it is a draft or
  returned (:func:`report_update`) and submits it; the level above (``ASSESS_REVIEW`` on the parent of the
  organisation's area) gives its verdict or returns it (:func:`report_step`). Nobody reviews a report she wrote or
  submitted herself.
- 交叉核查: an official holding ``SUPERVISION_CHECK`` on both areas records a check of one area by a team from another
  area of the same level (:func:`check_create`); the inspecting side files its findings (:func:`finding_add`) with a
  deadline in working days; the responsible side files a rectification and the inspecting side closes the finding or
  sends it back (:func:`finding_step`). Nobody verifies a rectification she filed herself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.accounts.models import RoleGrant
from gongzhi.accounts.roles import Cap
from gongzhi.core import audit, workdays
from gongzhi.core.errors import Forbidden, InvalidInput
from gongzhi.core.permissions import require
from gongzhi.core.scope import as_scope
from gongzhi.core.validators import text_in as _text
from gongzhi.core.validators import whole_number as _int
from gongzhi.core.workflow import Transition
from gongzhi.core.writes import apply_changes
from gongzhi.registry.models import Area, AreaKind, MemberUnit, PartyOrganisation

from . import selectors
from .models import (
    MAX_DEADLINE_DAYS,
    MAX_TEAM,
    MAX_TEXT,
    CheckMethod,
    CrossCheck,
    Finding,
    FindingCategory,
    MonthlyReport,
    Rectification,
    RectificationOutcome,
    Verdict,
)
from .workflow import (
    EDITABLE_REPORT_STATES,
    FINDING,
    INSPECTOR,
    REPORT,
    RESPONSIBLE,
    REVIEWER,
    SECRETARY,
    FindingState,
)

CHECK_KINDS = (AreaKind.COMMUNITY, AreaKind.STREET)
REPORT_MONTHS_BACK = 12  # a report is written for this month or one of the twelve before it
CHECK_DAYS_BACK = 366
REPORT_FIELDS = ["work_done", "problems", "next_plan"]


# ------------------------------------------------------------------------------------------ helpers


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) else None


def parse_month(value: Any, field: str = "month") -> dt.date:
    """``2026-11`` (or a date in that month) → the month's first day; anything else is invalid on ``field``."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.replace(day=1)
    text = str(value or "").strip()
    try:
        year, month = text.split("-")[:2]
        return dt.date(int(year), int(month), 1)
    except (TypeError, ValueError):
        raise InvalidInput.on(field, _("月份格式应为 YYYY-MM")) from None


def _months_between(a: dt.date, b: dt.date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def parent_path(path: str) -> str:
    return path[:-Area.steplen]


# ------------------------------------------------------------------------------------------ 月述月评


def _check_month(month: Any, today: dt.date) -> dt.date:
    month = parse_month(month)
    this = today.replace(day=1)
    if month > this:
        raise InvalidInput.on("month", _("不能填报以后月份的述职"))
    if _months_between(month, this) > REPORT_MONTHS_BACK:
        raise InvalidInput.on("month", _("只能填报近{n}个月的述职").format(n=REPORT_MONTHS_BACK))
    return month


def _report_texts(work_done: str, problems: str, next_plan: str) -> dict[str, str]:
    return {"work_done": _text(work_done, "work_done", MAX_TEXT, required=True, message=_("请填写本月工作")),
            "problems": _text(problems, "problems", MAX_TEXT),
            "next_plan": _text(next_plan, "next_plan", MAX_TEXT)}


@transaction.atomic
def report_create(*, actor: Any, organisation: PartyOrganisation, month: Any, work_done: str, problems: str = "",
                  next_plan: str = "", submit: bool = False, today: dt.date | None = None) -> MonthlyReport:
    """述职: the secretary's report of her organisation for a month, saved as a draft or submitted at once. One per
    organisation and month: of two saving at once, one writes it and the other is told it exists."""
    area = Area.objects.get(pk=organisation.area_id)
    require(actor, Cap.SUPERVISION_REPORT, area_path=area.path)
    if actor is not None and area.path not in as_scope(actor).area_prefixes(Cap.SUPERVISION_REPORT):
        raise Forbidden(_("述职由本级党组织书记填报"))  # a street's secretary does not write a community's
    if not selectors.reports_monthly(organisation, area):
        raise InvalidInput.on("organisation", _("只有街道、社区党组织按月述职"))
    month = _check_month(month, today or timezone.localdate())
    texts = _report_texts(work_done, problems, next_plan)
    exists = _("{org}{month}的述职已填报").format(org=organisation.name, month=f"{month:%Y-%m}")
    if MonthlyReport.objects.filter(organisation=organisation, month=month).exists():
        raise InvalidInput.on("month", exists)
    report = MonthlyReport(organisation=organisation, area=area, area_path=area.path, month=month,
                           created_by=_user(actor), **texts)
    try:
        with transaction.atomic():
            report.save(force_insert=True)
    except IntegrityError:
        raise InvalidInput.on("month", exists) from None
    audit.record(actor=actor, action="supervision.report.create", obj=report,
                 after={"organisation": organisation.pk, "month": f"{month:%Y-%m}", **texts})
    if submit:
        report = report_step(actor=actor, report=report, step="submit")
    return report


@transaction.atomic
def report_update(*, actor: Any, report: MonthlyReport, work_done: str, problems: str = "", next_plan: str = "",
                  expected_version: int | None = None) -> MonthlyReport:
    """Rewrite a report that is still a draft or was returned for revision."""
    require(actor, Cap.SUPERVISION_REPORT, area_path=report.area_path)
    if report.state not in EDITABLE_REPORT_STATES:
        raise InvalidInput.on("state", _("已提交的述职不能修改"))
    changes = _report_texts(work_done, problems, next_plan)
    return apply_changes(actor=actor, obj=report, changes=changes, allowed=REPORT_FIELDS,
                         action="supervision.report.update", exclude_validation=["organisation", "area"],
                         expected_version=expected_version)


def _wrote(actor: Any, report: MonthlyReport) -> bool:
    pk = getattr(actor, "pk", None) or as_scope(actor).user_id
    return pk is not None and pk in (report.created_by_id, report.submitted_by_id)


def report_roles(actor: Any, report: MonthlyReport) -> set[str]:
    """Which of the table's actors the caller is for this report: the secretary holds SUPERVISION_REPORT on the
    organisation's own node; a reviewer holds ASSESS_REVIEW above it (the street for a community, the district
    for both), and never reviews a report she wrote or submitted."""
    if actor is None:
        return {SECRETARY, REVIEWER}
    scope = as_scope(actor)
    roles = set()
    if report.area_path in scope.area_prefixes(Cap.SUPERVISION_REPORT):  # her own organisation's node, not below
        roles.add(SECRETARY)
    if scope.can(Cap.ASSESS_REVIEW, area_path=parent_path(report.area_path)) and not _wrote(actor, report):
        roles.add(REVIEWER)
    return roles


def report_steps(actor: Any, report: MonthlyReport) -> list[Transition]:
    """The steps the caller may take on the report now (the page's buttons)."""
    return REPORT.available(report.state, actors=report_roles(actor, report))


@transaction.atomic
def report_step(*, actor: Any, report: MonthlyReport, step: str, verdict: str = "", note: str = "",
                reason: str = "", expected_version: int | None = None) -> MonthlyReport:
    """提交述职, 评议 (好/较好/一般/差; a 差 says why) or 退回修改 (with its reason)."""
    roles = report_roles(actor, report)

    def authorise(t: Transition) -> None:
        if roles & t.actors:
            return
        if REVIEWER in t.actors and _wrote(actor, report):
            raise Forbidden(_("不能评议本人填报或提交的述职"))
        raise Forbidden(_("您没有权限执行此操作"))

    t, version, reason = REPORT.check(report, step, expected_version=expected_version, reason=reason,
                                      authorise=authorise)
    reason = _text(reason, "reason", 500)
    note = _text(note, "note", 500)
    now = timezone.now()
    changes: dict[str, Any] = {}
    if t.name == "submit":
        changes = {"submitted_by": _user(actor), "submitted_at": now, "verdict": "", "review_note": ""}
    elif t.name == "review":
        if verdict not in Verdict.values:
            raise InvalidInput.on("verdict", _("请选择评议结果"))
        if verdict == Verdict.POOR and not note:
            raise InvalidInput.on("note", _("评为“差”时请写明评议意见"))
        changes = {"verdict": verdict, "review_note": note, "reviewed_by": _user(actor), "reviewed_at": now}
    elif t.name == "return":
        changes = {"return_reason": reason, "returned_by": _user(actor), "returned_at": now}
    return REPORT.apply(actor=actor, obj=report, name=t.name, version=version, changes=changes,
                        reason=reason or note)


# ------------------------------------------------------------------------------------------ 交叉核查


def _members(users: Iterable[Any], inspecting: Area, inspected: Area) -> list[Any]:
    ids = []
    for u in users:
        pk = getattr(u, "pk", u)
        try:
            ids.append(int(pk))
        except (TypeError, ValueError):
            raise InvalidInput.on("team", _("核查组成员无效")) from None
    ids = sorted(set(ids))
    if not ids:
        raise InvalidInput.on("team", _("请选择核查组成员"))
    if len(ids) > MAX_TEAM:
        raise InvalidInput.on("team", _("核查组成员不超过{n}人").format(n=MAX_TEAM))
    found = list(get_user_model().objects.filter(pk__in=ids, is_active=True))
    if len(found) != len(ids):
        raise InvalidInput.on("team", _("核查组成员不存在或已停用"))
    # Staff of the inspecting area (a resident's account there is not a member of an inspection team).
    inside = set(RoleGrant.objects.filter(user_id__in=ids, area__path__prefix=inspecting.path)
                 .exclude(role="resident").values_list("user_id", flat=True))
    own = set(RoleGrant.objects.filter(user_id__in=ids, area__path__prefix=inspected.path)
              .values_list("user_id", flat=True))
    outsiders = [u for u in found if u.pk not in inside or u.pk in own]
    if outsiders:
        names = "、".join(sorted(u.get_username() for u in outsiders))
        raise InvalidInput.on("team", _("核查组成员须来自核查组所在区域，且不在被核查区域任职：{names}").format(
            names=names))
    return found


@transaction.atomic
def check_create(*, actor: Any, area: Area, inspecting_area: Area, checked_on: dt.date | None, team: Iterable[Any],
                 methods: Iterable[str] = (), summary: str = "", today: dt.date | None = None) -> CrossCheck:
    """交叉核查: ``area`` inspected on ``checked_on`` by a team from ``inspecting_area`` (another community for a
    community, another street for a street), by reading the records, on site and/or by questionnaire."""
    require(actor, Cap.SUPERVISION_CHECK, area_path=area.path)
    if area.kind not in CHECK_KINDS:
        raise InvalidInput.on("area", _("交叉核查的对象须是社区或街道"))
    if inspecting_area.pk == area.pk:
        raise InvalidInput.on("inspecting_area", _("核查组须来自另一区域"))
    if inspecting_area.kind != area.kind:
        raise InvalidInput.on("inspecting_area", _("核查组须来自同一层级的区域（{kind}）").format(
            kind=area.get_kind_display()))
    if not as_scope(actor).can(Cap.SUPERVISION_CHECK, area_path=inspecting_area.path) and actor is not None:
        raise InvalidInput.on("inspecting_area", _("核查组所在区域不在您的工作范围内"))
    today = today or timezone.localdate()
    if checked_on is None:
        raise InvalidInput.on("checked_on", _("请填写核查日期"))
    if checked_on > today:
        raise InvalidInput.on("checked_on", _("核查日期不能晚于今天"))
    if checked_on < today - dt.timedelta(days=CHECK_DAYS_BACK):
        raise InvalidInput.on("checked_on", _("只能登记一年内的核查"))
    methods = sorted(set(methods or []))
    if not methods:
        raise InvalidInput.on("methods", _("请选择核查方式"))
    if any(m not in CheckMethod.values for m in methods):
        raise InvalidInput.on("methods", _("未知的核查方式"))
    summary = _text(summary, "summary", MAX_TEXT)
    members = _members(team, inspecting_area, area)
    check = CrossCheck.objects.create(area=area, area_path=area.path, inspecting_area=inspecting_area,
                                      inspecting_path=inspecting_area.path, checked_on=checked_on, methods=methods,
                                      summary=summary, created_by=_user(actor))
    check.team.set(members)
    audit.record(actor=actor, action="supervision.cross_check.create", obj=check,
                 after={"area": area.pk, "inspecting_area": inspecting_area.pk, "checked_on": checked_on.isoformat(),
                        "methods": methods, "team": [u.pk for u in members], "summary": summary})
    return check


def _staff_of(scope: Any, area_path: str) -> bool:
    """Does the scope hold a staff role (not a resident's) in or above ``area_path``? A team member is an inspector
    only while she does: revoking her roles there ends her rights on the checks she was on."""
    return any(g.role != "resident" and g.area_path is not None
               and (g.area_path.startswith(area_path) or area_path.startswith(g.area_path)) for g in scope.grants)


def is_inspector(actor: Any, cross_check: CrossCheck) -> bool:
    """On the check's team (while still staff of the inspecting area), or holding SUPERVISION_CHECK on the inspecting
    area (the platform itself: always)."""
    if actor is None:
        return True
    scope = as_scope(actor)
    if scope.can(Cap.SUPERVISION_CHECK, area_path=cross_check.inspecting_path):
        return True
    if scope.user_id is None or not _staff_of(scope, cross_check.inspecting_path):
        return False
    # .all() so that a list which prefetched the teams (selectors.findings) asks nothing more per finding.
    return any(u.pk == scope.user_id for u in cross_check.team.all())


@transaction.atomic
def finding_add(*, actor: Any, cross_check: CrossCheck, description: str, category: str, deadline_days: int,
                place: str = "", area: Area | None = None, unit: MemberUnit | None = None,
                now: dt.datetime | None = None) -> Finding:
    """问题台账: a problem the check found, its responsible area (the inspected area or a place in it) or member
    unit there, and the deadline to rectify it in working days (on the official calendar)."""
    if not is_inspector(actor, cross_check):
        raise Forbidden(_("只有核查组可以登记核查发现的问题"))
    inspected = Area.objects.get(pk=cross_check.area_id)
    description = _text(description, "description", 1000, required=True, message=_("请写明发现的问题"))
    if category not in FindingCategory.values:
        raise InvalidInput.on("category", _("请选择问题类别"))
    place = _text(place, "place", 200)
    days = _int(deadline_days, "deadline_days", 1, MAX_DEADLINE_DAYS)
    area = area or inspected
    if not area.path.startswith(inspected.path):
        raise InvalidInput.on("area", _("责任区域须在被核查区域内"))
    if unit is not None:
        unit_area = Area.objects.get(pk=unit.area_id)
        if not unit_area.path.startswith(inspected.path):
            raise InvalidInput.on("unit", _("责任单位须位于被核查区域内"))
    now = now or timezone.now()
    finding = Finding.objects.create(cross_check=cross_check, area=area, area_path=area.path,
                                     inspecting_path=cross_check.inspecting_path, unit=unit, description=description,
                                     category=category, place=place, deadline_days=days,
                                     due_at=workdays.add_workdays(now, days), created_by=_user(actor),
                                     created_at=now)
    audit.record(actor=actor, action="supervision.finding.create", obj=finding,
                 after={"cross_check": cross_check.pk, "area": area.pk, "unit": unit.pk if unit else None,
                        "description": description, "category": category, "place": place, "deadline_days": days,
                        "due_at": finding.due_at.isoformat()})
    return finding


def finding_roles(actor: Any, finding: Finding) -> set[str]:
    if actor is None:
        return {RESPONSIBLE, INSPECTOR}
    scope = as_scope(actor)
    roles = set()
    if scope.can(Cap.SUPERVISION_RECTIFY, area_path=finding.area_path, unit_id=finding.unit_id):
        roles.add(RESPONSIBLE)
    if is_inspector(actor, finding.cross_check):
        roles.add(INSPECTOR)
    return roles


def _filed_it(actor: Any, finding: Finding) -> bool:
    pk = getattr(actor, "pk", None) or as_scope(actor).user_id
    return pk is not None and Rectification.objects.filter(
        finding=finding, outcome=RectificationOutcome.PENDING, filed_by_id=pk).exists()


def finding_steps(actor: Any, finding: Finding) -> list[Transition]:
    """The steps the caller may take on the finding now (the page's buttons)."""
    roles = finding_roles(actor, finding)
    if INSPECTOR in roles and finding.state == FindingState.RECTIFIED and actor is not None \
            and _filed_it(actor, finding):
        roles.discard(INSPECTOR)
    return FINDING.available(finding.state, actors=roles)


@transaction.atomic
def finding_step(*, actor: Any, finding: Finding, step: str, measures: str = "", completion_note: str = "",
                 note: str = "", reason: str = "", expected_version: int | None = None) -> Finding:
    """整改: the responsible side says what it did (measures, completion); 核验: the inspecting side closes the
    finding (销号) or sends it back with the reason. The rectification becomes a row of the 整改台账."""
    roles = finding_roles(actor, finding)

    def authorise(t: Transition) -> None:
        if not roles & t.actors:
            raise Forbidden(_("您没有权限执行此操作"))
        if INSPECTOR in t.actors and actor is not None and _filed_it(actor, finding):
            raise Forbidden(_("不能核验本人提交的整改"))

    t, version, reason = FINDING.check(finding, step, expected_version=expected_version, reason=reason,
                                       authorise=authorise)
    reason = _text(reason, "reason", 500)
    note = _text(note, "note", 500)
    now = timezone.now()
    changes: dict[str, Any] = {}
    then: list[Any] = []
    after: dict[str, Any] = {}
    if t.name == "rectify":
        measures = _text(measures, "measures", MAX_TEXT, required=True, message=_("请写明整改措施"))
        completion_note = _text(completion_note, "completion_note", MAX_TEXT, required=True,
                                message=_("请写明完成情况"))
        changes = {"rounds": F("rounds") + 1}
        after = {"measures": measures, "completion_note": completion_note}

        def file() -> None:
            Rectification.objects.create(finding=finding, area_path=finding.area_path, measures=measures,
                                         completion_note=completion_note, filed_by=_user(actor), filed_at=now)

        then.append(file)
    else:
        closing = t.name == "verify"
        if closing:
            changes = {"closed_at": now}
        outcome = RectificationOutcome.ACCEPTED if closing else RectificationOutcome.SENT_BACK
        text = note if closing else reason
        after = {"verify_note": text}

        def judge() -> None:
            Rectification.objects.filter(finding=finding, outcome=RectificationOutcome.PENDING).update(
                outcome=outcome, verify_note=text, verified_by=_user(actor), verified_at=now)

        then.append(judge)
    return FINDING.apply(actor=actor, obj=finding, name=t.name, version=version, changes=changes,
                         reason=reason or note, then=then, audit_after=after)
