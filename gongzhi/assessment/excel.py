"""Assessment in Excel: raters' score sheets out and back in (raters who score offline), and a round's results.

**Score sheets.** :func:`score_workbook` writes a rater's open sheets, either one worksheet per sheet (``tabs``) or
one worksheet listing them all (``list``). Every row is one subject × one manual indicator the round scores: 考评对象,
评分主体, 编号, 指标, 分值, 评分标准, then the two columns the rater fills — 得分 (a data validation keeps it between 0
and the indicator's maximum) and 扣分依据/说明 — and two hidden columns with the sheet's and the indicator's ids, so
the file reads back whatever the rater does to the order of the rows or the names of the tabs.

:func:`read_scores` reads such a file back: every row is checked first (errors name the worksheet, the row and the
column), then every sheet goes through :func:`.services.sheet_save` (and is submitted, if asked) in one transaction:
one error anywhere and nothing is written.

**Results.** :func:`results_workbook`: rank, subject, total, each group's score, satisfaction, stars, band, 红黑榜
and the notes of the computation, through the office-grade writer (:mod:`gongzhi.core.ledger`).
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from gongzhi.core import ledger
from gongzhi.core.errors import DomainError, NotFound

from . import selectors, services
from .models import Assignment, Indicator, Round, Subject

MAX_SHEETS = 500  # sheets in one download / upload
MAX_ROWS = 30_000  # data rows read from one upload

COL_SUBJECT, COL_GROUP, COL_CODE, COL_NAME = "考评对象", "评分主体", "编号", "指标"
COL_MAX, COL_GUIDE = "分值", "评分标准"
COL_POINTS, COL_NOTE, COL_SHEET, COL_INDICATOR = "得分", "扣分依据/说明", "评分表编号", "指标编号"
COLUMNS = (COL_SUBJECT, COL_GROUP, COL_CODE, COL_NAME, COL_MAX, COL_GUIDE, COL_POINTS, COL_NOTE, COL_SHEET,
           COL_INDICATOR)
WIDTHS = (24, 12, 8, 30, 8, 48, 10, 36, 10, 10)
HEADER_ROW = 3  # 1: title, 2: how to fill it in, 3: the header
HIDDEN = (COL_SHEET, COL_INDICATOR)
FILL_FILL = PatternFill("solid", fgColor="FFFFF2CC")  # the cells the rater fills
HEADER_FILL = PatternFill("solid", fgColor="FFC0272D")
BAD_TITLE = re.compile(r"[\[\]:*?/\\]")


# ------------------------------------------------------------------------------------------------ score sheets out


def score_filename(sheets: Sequence[Assignment]) -> str:
    rounds = {a.round.name for a in sheets}
    stem = f"{next(iter(rounds))}评分表" if len(rounds) == 1 else _("我的评分表")
    if len(sheets) == 1:
        stem += f"-{sheets[0].subject.name}"
    return ledger.dated_name(stem)


def _tab_title(name: str, taken: set[str]) -> str:
    base = BAD_TITLE.sub("", name).strip("'") or _("评分表")
    base = base[:28]
    title, n = base, 2
    while title.lower() in taken:
        title = f"{base[:25]}({n})"
        n += 1
    taken.add(title.lower())
    return title


def _start(ws: Any, title: str) -> None:
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=COLUMNS.index(COL_NOTE) + 1)
    ws.append([_("在黄色的“得分”列填写 0 到分值之间的数，扣分须在“扣分依据/说明”列写明依据。"
                 "请勿删除表头和隐藏列；行的顺序可以调整。上传时整个文件要么全部保存，要么一张也不保存。")])
    ws["A2"].alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=COLUMNS.index(COL_NOTE) + 1)
    ws.row_dimensions[2].height = 32
    ws.append(list(COLUMNS))
    for cell in ws[HEADER_ROW]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for i, width in enumerate(WIDTHS, start=1):
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = width
        if COLUMNS[i - 1] in HIDDEN:
            ws.column_dimensions[letter].hidden = True
    ws.freeze_panes = f"A{HEADER_ROW + 1}"


def _rows(ws: Any, sheet: Assignment, indicators: list[Indicator], checks: dict[Decimal, DataValidation]) -> None:
    scores = {s.indicator_id: s for s in sheet.scores.all()}
    points_col = COLUMNS.index(COL_POINTS) + 1
    for ind in indicators:
        score = scores.get(ind.pk)
        ws.append([sheet.subject.name, sheet.group.name, ind.code, ind.name, ind.max_points, ind.guidance,
                   score.points if score else None, score.note if score else "", sheet.pk, ind.pk])
        row = ws.max_row
        for col in (points_col, points_col + 1):
            ws.cell(row=row, column=col).fill = FILL_FILL
        ws.cell(row=row, column=COLUMNS.index(COL_GUIDE) + 1).alignment = Alignment(wrap_text=True, vertical="top")
        check = checks.get(ind.max_points)
        if check is None:
            check = DataValidation(
                type="decimal", operator="between", formula1="0", formula2=str(ind.max_points), allow_blank=True,
                showErrorMessage=True, errorTitle=_("得分超出范围"),
                error=_("请填写 0 到 {max} 之间的数").format(max=ind.max_points),
                showInputMessage=True, promptTitle=COL_POINTS,
                prompt=_("0 到 {max} 分").format(max=ind.max_points))
            checks[ind.max_points] = check
            ws.add_data_validation(check)
        check.add(ws.cell(row=row, column=points_col).coordinate)


def score_workbook(sheets: Sequence[Assignment], *, layout: str = "tabs") -> bytes:
    """The rater's sheets to fill offline (``tabs``: a worksheet per sheet; ``list``: one worksheet with all)."""
    wb = Workbook()
    first = wb.active
    assert first is not None
    wb.remove(first)
    indicators: dict[int, list[Indicator]] = {}
    taken: set[str] = set()
    sheets = list(sheets)
    if layout == "list":
        ws = wb.create_sheet(_("评分表"))
        rounds = {a.round.name for a in sheets}
        _start(ws, _("{round}评分表").format(round=next(iter(rounds))) if len(rounds) == 1 else _("我的评分表"))
        checks: dict[Decimal, DataValidation] = {}
        for sheet in sheets:
            _rows(ws, sheet, indicators.setdefault(sheet.round_id, selectors.scored_indicators(sheet.round)), checks)
    else:
        for sheet in sheets:
            ws = wb.create_sheet(_tab_title(sheet.subject.name, taken))
            _start(ws, _("{round}评分表：{subject}（{group}）").format(
                round=sheet.round.name, subject=sheet.subject.name, group=sheet.group.name))
            _rows(ws, sheet, indicators.setdefault(sheet.round_id, selectors.scored_indicators(sheet.round)), {})
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ------------------------------------------------------------------------------------------------ score sheets in


@dataclass
class ScoreError:
    """One problem: the worksheet, the spreadsheet row (0: the file as a whole), the column title, the reason."""

    sheet: str
    row: int
    column: str
    reason: str


@dataclass
class ScoreReport:
    sheets: int = 0  # score sheets (assignments) in the file
    rows: int = 0  # data rows read
    saved: int = 0
    submitted: int = 0
    errors: list[ScoreError] = field(default_factory=list)
    totals: dict[int, str] = field(default_factory=dict)  # sheet id → its total after saving

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "sheets": self.sheets, "rows": self.rows, "saved": self.saved,
                "submitted": self.submitted, "totals": {str(k): v for k, v in self.totals.items()},
                "errors": [{"sheet": e.sheet, "row": e.row, "column": e.column, "reason": e.reason}
                           for e in self.errors]}


@dataclass
class _Line:
    tab: str
    row: int
    sheet_id: int
    indicator_id: int
    points: Decimal | None
    note: str


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _points(value: Any) -> Decimal:
    """A number, or ValueError."""
    if isinstance(value, bool):
        raise ValueError
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError from None
    if not number.is_finite():
        raise ValueError
    return number


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _lines(data: bytes, report: ScoreReport) -> list[_Line]:
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises zip, XML, key and value errors for files that are not xlsx
        report.errors.append(ScoreError("", 0, "", _("文件不是有效的 Excel（.xlsx）文件，请使用下载的评分表")))
        return []
    lines: list[_Line] = []
    found = False
    try:
        for ws in wb.worksheets:
            rows = ws.iter_rows(values_only=True)
            position: dict[str, int] = {}
            header_at = 0
            for header_at, raw in enumerate(rows, start=1):
                titles = [_text(v) for v in raw]
                if COL_SHEET in titles and COL_INDICATOR in titles and COL_POINTS in titles:
                    position = {t: i for i, t in enumerate(titles) if t}
                    break
                if header_at >= 10:
                    break
            if not position:
                continue
            found = True
            for number, raw in enumerate(rows, start=header_at + 1):
                cells = list(raw)
                if not any(_text(v) for v in cells):
                    continue
                if len(lines) >= MAX_ROWS:
                    report.errors.append(ScoreError(ws.title, number, "", _("一次最多 {n} 行").format(n=MAX_ROWS)))
                    return []

                def cell(title: str, cells: list[Any] = cells, position: dict[str, int] = position) -> Any:
                    i = position.get(title)
                    return cells[i] if i is not None and i < len(cells) else None

                report.rows += 1
                sheet_id, indicator_id = _int(cell(COL_SHEET)), _int(cell(COL_INDICATOR))
                bad = False
                for title, value in ((COL_SHEET, sheet_id), (COL_INDICATOR, indicator_id)):
                    if value is None:
                        report.errors.append(ScoreError(ws.title, number, title, _("隐藏列被修改，请重新下载评分表")))
                        bad = True
                raw_points = cell(COL_POINTS)
                points: Decimal | None = None
                if _text(raw_points):
                    try:
                        points = _points(raw_points)
                    except ValueError:
                        report.errors.append(ScoreError(ws.title, number, COL_POINTS, _("请填写数字")))
                        bad = True
                note = _text(cell(COL_NOTE))
                if len(note) > 500:
                    report.errors.append(ScoreError(ws.title, number, COL_NOTE, _("不能超过 500 个字符")))
                    bad = True
                if not bad:
                    assert sheet_id is not None and indicator_id is not None
                    lines.append(_Line(ws.title, number, sheet_id, indicator_id, points, note))
    except Exception:  # malformed sheet XML surfaces only while reading rows
        report.errors.append(ScoreError("", 0, "", _("文件已损坏，无法读取，请重新下载评分表")))
        return []
    finally:
        wb.close()
    if not found:
        report.errors.append(ScoreError("", 0, "", _("文件中没有评分表：请使用本平台下载的评分表填写")))
    return lines


def _check_rows(sheet: Assignment, lines: list[_Line], indicators: dict[int, Indicator],
                report: ScoreReport) -> None:
    """Every problem of the sheet's rows at once (the service stops at the first)."""
    evidence = sheet.round.scheme_version.evidence_required
    for line in lines:
        ind = indicators.get(line.indicator_id)
        if ind is None:
            report.errors.append(ScoreError(line.tab, line.row, COL_INDICATOR, _("该指标不在本评分表中")))
            continue
        if line.points is None:
            continue
        if not Decimal(0) <= line.points <= ind.max_points:
            report.errors.append(ScoreError(line.tab, line.row, COL_POINTS, _("{code} 得分须在 0 到 {max} 之间").format(
                code=ind.code, max=ind.max_points)))
        elif line.points != line.points.quantize(Decimal("0.01")):
            report.errors.append(ScoreError(line.tab, line.row, COL_POINTS, _("最多两位小数")))
        elif evidence and line.points < ind.max_points and not line.note:
            report.errors.append(ScoreError(line.tab, line.row, COL_NOTE, _("{code} 扣分须写明依据").format(
                code=ind.code)))


def _service_errors(exc: DomainError, lines: list[_Line], report: ScoreReport) -> None:
    """The service's ``score_<id>`` / ``note_<id>`` as the row and column of that indicator."""
    rows = {line.indicator_id: line for line in lines}
    first = lines[0]
    if not exc.fields:
        report.errors.append(ScoreError(first.tab, first.row, COL_SHEET, exc.message))
        return
    for name, messages in exc.fields.items():
        kind, _sep, raw = name.partition("_")
        line = rows.get(int(raw)) if raw.isdigit() else None
        target = line or first
        column = COL_NOTE if kind == "note" else COL_POINTS
        for message in messages:
            report.errors.append(ScoreError(target.tab, target.row, column, message))


def read_scores(*, actor: Any, data: bytes, submit: bool = False) -> ScoreReport:
    """Save (and, with ``submit``, submit) every sheet of a filled workbook, or none of them."""
    report = ScoreReport()
    lines = _lines(data, report)
    if any(e.row == 0 for e in report.errors):  # the file as a whole; otherwise every row is still checked
        return report
    by_sheet: dict[int, list[_Line]] = defaultdict(list)
    for line in lines:
        by_sheet[line.sheet_id].append(line)
    report.sheets = len(by_sheet)
    if not by_sheet and not report.errors:
        report.errors.append(ScoreError("", 0, "", _("文件中没有数据行")))
        return report
    if len(by_sheet) > MAX_SHEETS:
        report.errors.append(ScoreError("", 0, "", _("一次最多上传 {n} 张评分表").format(n=MAX_SHEETS)))
        return report
    sheets: dict[int, Assignment] = {}
    indicators: dict[int, dict[int, Indicator]] = {}
    for sheet_id, mine in by_sheet.items():
        seen: dict[int, int] = {}
        for line in mine:
            if line.indicator_id in seen:
                report.errors.append(ScoreError(line.tab, line.row, COL_INDICATOR, _("与第 {n} 行重复").format(
                    n=seen[line.indicator_id])))
            seen.setdefault(line.indicator_id, line.row)
        try:
            sheet = selectors.sheet_get(actor, sheet_id)
        except NotFound:
            sheet = None
        if sheet is None or sheet.rater_id != getattr(actor, "pk", None):
            report.errors.append(ScoreError(mine[0].tab, mine[0].row, COL_SHEET, _("不是您的评分表，请重新下载")))
            continue
        sheets[sheet_id] = sheet
        if sheet.round_id not in indicators:
            indicators[sheet.round_id] = {i.pk: i for i in selectors.scored_indicators(sheet.round)}
        _check_rows(sheet, mine, indicators[sheet.round_id], report)
    if report.errors:
        return report
    with transaction.atomic():
        for sheet_id, sheet in sheets.items():
            mine = by_sheet[sheet_id]
            try:
                saved = services.sheet_save(actor=actor, sheet=sheet, submit=submit,
                                            scores={line.indicator_id: (line.points, line.note) for line in mine})
            except DomainError as exc:  # the sheet's own savepoint is rolled back; the other sheets are still checked
                _service_errors(exc, mine, report)
                continue
            report.saved += 1
            report.submitted += int(saved.submitted_at is not None)
            report.totals[sheet_id] = str(saved.total)
        if report.errors:
            transaction.set_rollback(True)
            report.saved = report.submitted = 0
            report.totals = {}
    return report


# ------------------------------------------------------------------------------------------------ results out


def describe_notes(notes: Iterable[str], group_names: dict[int, str]) -> str:
    """The computation's notes (``missing:<group>``, ``late:<n>``, ``residents:<n><<min>``) in words."""
    out = []
    for note in notes:
        kind, _sep, rest = str(note).partition(":")
        if kind == "missing" and rest.isdigit():
            out.append(_("缺少“{group}”的评分").format(group=group_names.get(int(rest), rest)))
        elif kind == "late":
            out.append(_("{n} 张评分表逾期未提交").format(n=rest))
        elif kind == "residents":
            got, _lt, least = rest.partition("<")
            out.append(_("居民评价 {n} 人，少于 {least} 人").format(n=got, least=least))
        else:
            out.append(str(note))
    return "；".join(out)


LISTED = {"red": "红榜", "black": "黑榜"}


def results_filename(rnd: Round) -> str:
    return ledger.dated_name(f"{rnd.name}考评结果")


def results_workbook(rnd: Round, subjects: QuerySet[Subject]) -> bytes:
    """The round's results as the viewer sees them, best first, unranked at the end."""
    from django.db.models import F

    groups = list(rnd.scheme_version.groups.all())
    names = {g.pk: g.name for g in groups}

    def rows() -> Iterator[list[Any]]:
        for s in subjects.order_by(F("rank").asc(nulls_last=True), "pk").iterator(chunk_size=2000):
            yield [s.rank, s.name, s.total, *[_number(s.group_scores.get(g.name)) for g in groups],
                   s.satisfaction, s.answers, s.stars or None, s.band, LISTED.get(s.listed, ""),
                   "是" if s.complete else "否", "是" if s.valid else "否", "是" if s.withdrawn else "",
                   describe_notes(s.notes, names)]

    columns = [ledger.Col("名次", "int"), ledger.Col("考评对象"), ledger.Col("总分", "number"),
               *[ledger.Col(g.name, "number") for g in groups], ledger.Col("满意率（%）", "number"),
               ledger.Col("居民评价人数", "int"), ledger.Col("星级", "int"), ledger.Col("档次"), ledger.Col("红黑榜"),
               ledger.Col("评分齐全"), ledger.Col("结果有效"), ledger.Col("未通过审核"), ledger.Col("说明")]
    when = timezone.localtime(rnd.computed_at).strftime("%Y-%m-%d %H:%M") if rnd.computed_at else ""
    title = _("{round}考评结果（{start} 至 {end}；计算于 {when}）").format(
        round=rnd.name, start=rnd.period_start, end=rnd.period_end, when=when)
    return ledger.workbook_bytes(ledger.Sheet(_("考评结果"), columns, rows(), title=title))


def _number(raw: Any) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        return Decimal(str(raw))
    except InvalidOperation:
        return None

