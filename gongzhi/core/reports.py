"""Reports officials send upward: 诉求统计 (the 三率 figures per child area and period) and the councils' figures
as Excel ledgers (:mod:`gongzhi.core.ledger`), and the printable 诉求统计 report as PDF — HTML rendered by
WeasyPrint, charts drawn here as SVG (WeasyPrint runs no JavaScript), A4, the CJK font from fonts-wqy-zenhei.

Everything is read through the modules' selectors, so scope (R1) holds: an area outside the viewer's scope is a 404
before any figure is counted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from gongzhi.core import ledger
from gongzhi.core.errors import InvalidInput

PALETTE = ("#c0392b", "#2e86c1", "#27ae60", "#d68910", "#7d3c98")
FONT = "WenQuanYi Zen Hei, Noto Sans CJK SC, sans-serif"
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2099, 12, 31)


# ------------------------------------------------------------------------------------------------ period


def parse_period(params: Mapping[str, str], *, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """从/到 (``start``/``end``, YYYY-MM-DD) as the figures pages read them: default the year up to today; a bad
    date, 到 before 从 or a date outside 2000–2099 is an error naming the field."""
    today = today or timezone.localdate()

    def day(name: str) -> dt.date | None:
        raw = (params.get(name) or "").strip()
        if not raw:
            return None
        try:
            value = dt.date.fromisoformat(raw)
        except ValueError:
            raise InvalidInput.on(name, _("请输入有效的日期，如 2026-12-01")) from None
        if not EARLIEST <= value <= LATEST:
            raise InvalidInput.on(name, _("日期须在2000-01-01到2099-12-31之间"))
        return value

    end = day("end") or today
    start = day("start") or max(EARLIEST, end - dt.timedelta(days=365))
    if end < start:
        raise InvalidInput.on("end", _("结束日期不能早于开始日期"))
    return start, end


def period_label(start: dt.date, end: dt.date) -> str:
    return _("{start} 至 {end}").format(start=start.isoformat(), end=end.isoformat())


# ------------------------------------------------------------------------------------------------ 诉求统计


def _case_columns() -> list[ledger.Col]:
    return [
        ledger.Col(_("区域")), ledger.Col(_("区域代码"), "code"),
        ledger.Col(_("受理量"), "int"), ledger.Col(_("按时受理"), "int"), ledger.Col(_("响应率"), "percent"),
        ledger.Col(_("办结量"), "int"), ledger.Col(_("按期办结"), "int"), ledger.Col(_("按期办结率"), "percent"),
        ledger.Col(_("解决"), "int"), ledger.Col(_("解决率"), "percent"),
        ledger.Col(_("评价数"), "int"), ledger.Col(_("满意率"), "percent"),
        ledger.Col(_("返工"), "int"), ledger.Col(_("返工率"), "percent"),
        ledger.Col(_("在办"), "int"), ledger.Col(_("超期在办"), "int"),
        ledger.Col(_("回访"), "int"), ledger.Col(_("回访满意率"), "percent"),
    ]


def _case_row(name: str, code: str, f: Any) -> list[Any]:
    return [name, code, f.received, f.accepted_in_time, f.response_rate, f.closed, f.closed_on_time, f.on_time_rate,
            f.resolved, f.resolution_rate, f.rated, f.satisfaction_rate, f.reopened, f.reopen_rate, f.open_cases,
            f.overdue_open, f.visits, f.visit_satisfaction_rate]


@dataclass
class CaseReport:
    """The figures of one area and period: its total, each child area, each unit, and where cases were closed."""

    area: Any
    start: dt.date
    end: dt.date
    total: Any
    children: list[Any]
    units: list[tuple[Any, Any]]

    @property
    def title(self) -> str:
        return _("{area}诉求统计（{period}）").format(area=self.area.name, period=period_label(self.start, self.end))


def case_report(viewer: Any, area: Any, start: dt.date, end: dt.date) -> CaseReport:
    from gongzhi.cases import selectors  # the cases app depends on core, not the other way round
    from gongzhi.registry.models import AreaKind

    total = selectors.figures(viewer, area, start, end)
    children = selectors.figures_by_child(viewer, area, start, end) if area.kind not in (
        AreaKind.GRID, AreaKind.COMPOUND, AreaKind.BUILDING) else []
    units = selectors.figures_by_unit(viewer, area, start, end)
    return CaseReport(area, start, end, total, children, units)


def case_figures_sheets(report: CaseReport) -> list[ledger.Sheet]:
    from gongzhi.cases.models import Level

    rows = [_case_row(c.area.name if c.area else "", c.area.code if c.area else "", c) for c in report.children]
    rows.append(_case_row(_("合计（{area}）").format(area=report.area.name), report.area.code, report.total))
    units = [[u.name, u.credit_code, fu.received, fu.closed, fu.on_time_rate, fu.satisfaction_rate, fu.open_cases,
              fu.overdue_open] for u, fu in report.units]
    levels = [[str(Level(k).label), v] for k, v in report.total.by_level.items()]
    return [
        ledger.Sheet(_("诉求统计"), _case_columns(), rows, title=report.title),
        ledger.Sheet(_("承办部门"), [
            ledger.Col(_("部门/单位")), ledger.Col(_("统一社会信用代码"), "code"), ledger.Col(_("受理"), "int"),
            ledger.Col(_("办结"), "int"), ledger.Col(_("按期办结率"), "percent"), ledger.Col(_("满意率"), "percent"),
            ledger.Col(_("在办"), "int"), ledger.Col(_("超期在办"), "int")], units, title=report.title),
        ledger.Sheet(_("办结层级"), [ledger.Col(_("层级")), ledger.Col(_("办结数"), "int")], levels,
                     title=report.title),
    ]


def case_figures_xlsx(report: CaseReport) -> bytes:
    return ledger.workbook_bytes(*case_figures_sheets(report))


def case_figures_filename(report: CaseReport, ext: str) -> str:
    return _("{area}诉求统计-{start}-{end}.{ext}").format(
        area=report.area.name, start=f"{report.start:%Y%m%d}", end=f"{report.end:%Y%m%d}", ext=ext)


# ------------------------------------------------------------------------------------------------ councils


def council_figures_rows(viewer: Any, area: Any, start: dt.date, end: dt.date) -> list[list[Any]]:
    """The councils' figures for the area's children and the area itself (合计), one selector call each: a node
    has tens of children, and each call is a handful of aggregate queries."""
    from gongzhi.councils import selectors
    from gongzhi.registry.models import Area

    children = list(Area.objects.filter(path__prefix=area.path, depth=area.depth + 1).order_by("path")[:200])

    def row(name: str, node: Any) -> list[Any]:
        f = selectors.figures(viewer, node, start, end)
        on_time = round(100.0 * f.decisions_done_on_time / f.decisions, 2) if f.decisions else None
        return [name, node.code, start, end, f.councils, f.meetings_held, f.meetings_expected, f.settled_here,
                f.escalated, f.resolved_after_escalation, f.decisions, f.decisions_done_on_time, on_time,
                f.overdue_councils]

    rows = [row(child.name, child) for child in children]
    rows.append(row(_("合计（{area}）").format(area=area.name), area))
    return rows


def council_figures_xlsx(viewer: Any, area: Any, start: dt.date, end: dt.date) -> bytes:
    columns = [
        ledger.Col(_("区域")), ledger.Col(_("区域代码"), "code"), ledger.Col(_("统计起"), "date"),
        ledger.Col(_("统计止"), "date"), ledger.Col(_("议事组织"), "int"), ledger.Col(_("召开会议"), "int"),
        ledger.Col(_("应开会议"), "int"), ledger.Col(_("本级解决议题"), "int"), ledger.Col(_("上移议题"), "int"),
        ledger.Col(_("上移后已解决"), "int"), ledger.Col(_("决议"), "int"), ledger.Col(_("按期落实"), "int"),
        ledger.Col(_("按期落实率"), "percent"), ledger.Col(_("超期未开会的组织"), "int"),
    ]
    title = _("{area}联席会议与议事协商统计（{period}）").format(area=area.name, period=period_label(start, end))
    return ledger.workbook_bytes(ledger.Sheet(_("议事统计"), columns,
                                              council_figures_rows(viewer, area, start, end), title=title))


# ------------------------------------------------------------------------------------------------ SVG charts


def svg_bars(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | int | None]]], *,
             unit: str = "", width: int = 680) -> SafeString:
    """A horizontal grouped bar chart as SVG markup: one band per label, one bar per series, the value at its
    end, a legend on top. Horizontal, so long Chinese area names fit on the left."""
    bar, gap, label_w, top = 12, 10, 150, 46
    n = max(1, len(series))
    band = n * bar + gap
    height = top + max(1, len(labels)) * band + 10
    values = [v or 0 for _name, vs in series for v in vs]
    peak = max([*values, 1])
    if unit == "%":
        peak = max(peak, 100)
    plot = width - label_w - 60
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="11" role="img" '
           f'aria-label="{escape(title)}">',
           f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>']
    x = label_w
    for i, (name, _vs) in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{x}" y="24" width="10" height="10" fill="{color}"/>'
                   f'<text x="{x + 14}" y="33">{escape(name)}</text>')
        x += 20 + 12 * len(name) + 10
    for j, label in enumerate(labels):
        y0 = top + j * band
        short = label if len(label) <= 11 else label[:10] + "…"
        out.append(f'<text x="{label_w - 6}" y="{y0 + n * bar / 2 + 4}" text-anchor="end">{escape(short)}</text>')
        for i, (_name, vs) in enumerate(series):
            value = vs[j] if j < len(vs) else None
            w = plot * (value or 0) / peak
            y = y0 + i * bar
            color = PALETTE[i % len(PALETTE)]
            shown = "—" if value is None else (f"{value:g}{unit}")
            out.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar - 2}" fill="{color}"/>'
                       f'<text x="{label_w + w + 4:.1f}" y="{y + bar - 3}" font-size="10">{escape(shown)}</text>')
    out.append(f'<line x1="{label_w}" y1="{top - 4}" x2="{label_w}" y2="{height - 8}" stroke="#666"/></svg>')
    return mark_safe("".join(out))  # every text above is escaped


def case_report_charts(report: CaseReport) -> list[SafeString]:
    from gongzhi.cases.models import Level

    labels = [c.area.name if c.area else "" for c in report.children]
    charts = []
    if report.children:
        charts.append(svg_bars(_("诉求量（按下级区域）"), labels, [
            (_("受理"), [c.received for c in report.children]), (_("办结"), [c.closed for c in report.children])]))
        charts.append(svg_bars(_("三率（按下级区域）"), labels, [
            (_("响应率"), [c.response_rate for c in report.children]),
            (_("解决率"), [c.resolution_rate for c in report.children]),
            (_("满意率"), [c.satisfaction_rate for c in report.children])], unit="%"))
    levels = [(str(Level(k).label), v) for k, v in report.total.by_level.items()]
    charts.append(svg_bars(_("在哪一级办结"), [name for name, _v in levels], [(_("办结数"), [v for _n, v in levels])]))
    return charts


def case_report_html(report: CaseReport) -> str:
    return render_to_string("cases/report/figures_pdf.html", {
        "r": report, "f": report.total, "charts": case_report_charts(report), "font": FONT,
        "made_at": timezone.localtime(),
    })


def case_report_pdf(report: CaseReport) -> bytes:
    """The printable 诉求统计 report: A4, tables and SVG charts, page numbers in the footer."""
    from weasyprint import HTML  # imported when used: Pango is loaded only for reports

    pdf = HTML(string=case_report_html(report)).write_pdf()
    assert pdf is not None
    return bytes(pdf)
