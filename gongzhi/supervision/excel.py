"""The two ledgers of 交叉核查 as Excel (through :mod:`gongzhi.core.ledger`): the 问题台账 (one row per finding) and
the 整改台账 (one row per rectification filed), for the findings the viewer sees in an area's subtree."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import ledger
from gongzhi.registry.models import Area

from . import selectors

KINDS = ("findings", "rectifications")


def _team_names(finding_ids: list[int]) -> dict[int, str]:
    from .models import Finding

    names: dict[int, list[str]] = {}
    rows = Finding.objects.filter(pk__in=finding_ids).values_list(
        "pk", "cross_check__team__first_name", "cross_check__team__username")
    for pk, display, username in rows:
        if username:
            names.setdefault(pk, []).append(display or username)
    return {pk: "、".join(sorted(set(v))) for pk, v in names.items()}


def findings_sheet(user: Any, area: Area) -> ledger.Sheet:
    now = timezone.now()
    columns = [
        ledger.Col(_("问题编号"), "code"), ledger.Col(_("核查日期"), "date"), ledger.Col(_("被核查区域")),
        ledger.Col(_("核查组所在区域")), ledger.Col(_("核查组成员")), ledger.Col(_("核查方式")),
        ledger.Col(_("问题描述")), ledger.Col(_("问题类别")), ledger.Col(_("地点")), ledger.Col(_("责任区域")),
        ledger.Col(_("责任单位")), ledger.Col(_("整改时限（工作日）"), "int"), ledger.Col(_("整改期限"), "datetime"),
        ledger.Col(_("状态")), ledger.Col(_("是否逾期")), ledger.Col(_("整改次数"), "int"),
        ledger.Col(_("销号时间"), "datetime"), ledger.Col(_("登记时间"), "datetime"),
    ]
    qs = selectors.findings(user, area=area).order_by("pk")

    def rows() -> Iterator[list[Any]]:
        batch: list[Any] = []
        for f in qs.iterator(chunk_size=500):
            batch.append(f)
            if len(batch) == 500:
                yield from _finding_rows(batch, now)
                batch = []
        yield from _finding_rows(batch, now)

    return ledger.Sheet(_("问题台账"), columns, rows(),
                        title=_("{area}交叉核查问题台账（{day}）").format(area=area.name, day=timezone.localdate()))


def _finding_rows(batch: list[Any], now: Any) -> Iterator[list[Any]]:
    teams = _team_names([f.pk for f in batch])
    for f in batch:
        c = f.cross_check
        yield [f"WT{f.pk:06d}", c.checked_on, c.area.name, c.inspecting_area.name, teams.get(f.pk, ""),
               "、".join(c.method_labels()), f.description, f.get_category_display(), f.place, f.area.name,
               f.unit.name if f.unit else "", f.deadline_days, f.due_at, f.get_state_display(),
               _("是") if f.is_overdue(now) else _("否"), f.rounds, f.closed_at, f.created_at]


def rectifications_sheet(user: Any, area: Area) -> ledger.Sheet:
    columns = [
        ledger.Col(_("问题编号"), "code"), ledger.Col(_("问题描述")), ledger.Col(_("责任区域")),
        ledger.Col(_("责任单位")), ledger.Col(_("整改措施")), ledger.Col(_("完成情况")), ledger.Col(_("整改填报人")),
        ledger.Col(_("提交时间"), "datetime"), ledger.Col(_("核验结果")), ledger.Col(_("核验意见/退回理由")),
        ledger.Col(_("核验人")), ledger.Col(_("核验时间"), "datetime"),
    ]
    qs = selectors.rectifications(user, area=area).order_by("pk")

    def rows() -> Iterator[list[Any]]:
        for r in qs.iterator(chunk_size=500):
            f = r.finding
            yield [f"WT{f.pk:06d}", f.description, f.area.name, f.unit.name if f.unit else "", r.measures,
                   r.completion_note, selectors.user_name(r.filed_by), r.filed_at, r.get_outcome_display(),
                   r.verify_note, selectors.user_name(r.verified_by), r.verified_at]

    return ledger.Sheet(_("整改台账"), columns, rows(),
                        title=_("{area}交叉核查整改台账（{day}）").format(area=area.name, day=timezone.localdate()))


def ledger_response(user: Any, area: Area, kind: str) -> FileResponse:
    """The 问题台账 or the 整改台账 of ``area`` as a download with a Chinese file name."""
    if kind == "rectifications":
        return ledger.streaming_response(ledger.dated_name(_("{area}整改台账").format(area=area.name)),
                                         rectifications_sheet(user, area))
    return ledger.streaming_response(ledger.dated_name(_("{area}问题台账").format(area=area.name)),
                                     findings_sheet(user, area))
