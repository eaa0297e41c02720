"""Assessment documents through the API: a rater's score sheets out as Excel (one tab per sheet, or one list), filled
with openpyxl and read back in (errors name worksheet, row and column, and nothing is half-written), the sheet
totals equal to what was filled; the round's results as Excel; the 公示 notice as Word (and PDF) with the ranked
names."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import docx
import pytest
from django.utils import timezone
from openpyxl import load_workbook

from gongzhi.assessment import excel, notice
from gongzhi.assessment.models import Assignment, Score
from tests.cast import Cast
from tests.test_assessment_api import Api, build_scheme, companies, ok, open_round, user

# 主管部门 (zhujian) and 社区党组织 (alice): points for 1 (20), 2.1 (40), 2.2 (40).
POINTS = {("主管部门", "海鸥物业"): (20, 40, 38), ("主管部门", "碧海物业"): (16, 32, 32),
          ("主管部门", "港湾物业"): (12, 24, 24), ("社区党组织", "海鸥物业"): (20, 38, 38),
          ("社区党组织", "碧海物业"): (16, 32, 32), ("社区党组织", "港湾物业"): (10, 20, 20)}
CODES = ("1", "2.1", "2.2")


def _download(api: Api, **params: Any) -> Any:
    response = api.client.get("/api/v1/assessment/sheets.xlsx", params)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in response["Content-Disposition"]
    return load_workbook(io.BytesIO(response.content))


def _upload(api: Api, wb: Any, *, submit: bool) -> dict[str, Any]:
    out = io.BytesIO()
    wb.save(out)
    out.name = "评分表.xlsx"
    out.seek(0)
    url = "/api/v1/assessment/uploads/sheets" + ("?submit=true" if submit else "")
    return ok(api.client.post(url, {"file": out}))


def _columns(ws: Any) -> dict[str, int]:
    header = [c.value for c in ws[excel.HEADER_ROW]]
    return {title: i + 1 for i, title in enumerate(header) if title}


def _fill(wb: Any, group: str, *, wrong: dict[str, Any] | None = None) -> None:
    """Put the agreed points into every row (with a note where points are deducted); ``wrong`` overrides cells
    as {code: points} for the first subject met."""
    for ws in wb.worksheets:
        col = _columns(ws)
        for row in range(excel.HEADER_ROW + 1, ws.max_row + 1):
            subject, code = ws.cell(row, col[excel.COL_SUBJECT]).value, ws.cell(row, col[excel.COL_CODE]).value
            if subject is None:
                continue
            points = POINTS[(group, subject)][CODES.index(code)]
            full = ws.cell(row, col[excel.COL_MAX]).value
            ws.cell(row, col[excel.COL_POINTS]).value = points
            ws.cell(row, col[excel.COL_NOTE]).value = "" if points == full else "扣分：检查发现问题"
            if wrong and code in wrong:
                ws.cell(row, col[excel.COL_POINTS]).value = wrong.pop(code)


@pytest.fixture
def scoring(cast: Cast) -> dict[str, Any]:
    companies(cast)
    housing = user("zhujian", "district_official", area=cast.district)
    olga = Api(cast.olga)
    scheme = build_scheme(olga, cast)
    rnd = open_round(olga, cast, scheme, housing)
    return {"olga": olga, "rater": Api(housing), "housing": housing, "alice": Api(cast.alice), "round": rnd}


def test_score_sheets_round_trip_through_excel_all_or_nothing(cast: Cast, scoring: dict[str, Any]) -> None:
    rater = scoring["rater"]
    wb = _download(rater)
    assert sorted(ws.title for ws in wb.worksheets) == ["海鸥物业", "港湾物业", "碧海物业"]
    ws = wb["海鸥物业"]
    col = _columns(ws)
    assert [ws.cell(r, col[excel.COL_CODE]).value for r in range(4, ws.max_row + 1)] == ["2.1", "2.2", "1"]
    assert ws.column_dimensions["I"].hidden and ws.column_dimensions["J"].hidden  # the ids read back
    limits = sorted((dv.formula1, dv.formula2) for dv in ws.data_validations.dataValidation)
    assert limits == [("0", "20.00"), ("0", "40.00")]
    assert ws.cell(6, col[excel.COL_GUIDE]).value == "成立党组织、参与社区议事"

    # A point over the maximum, a text and a deduction without its note: every error named, nothing written.
    _fill(wb, "主管部门", wrong={"1": 25, "2.1": "很好"})
    wb["碧海物业"].cell(5, col[excel.COL_NOTE]).value = None
    report = _upload(rater, wb, submit=True)
    assert not report["ok"] and report["saved"] == 0
    got = {(e["sheet"], e["row"], e["column"]) for e in report["errors"]}
    assert got == {("海鸥物业", 4, "得分"), ("海鸥物业", 6, "得分"), ("碧海物业", 5, "扣分依据/说明")}, report
    assert Score.objects.count() == 0 and not Assignment.objects.exclude(submitted_at=None).exists()

    # Fixed, saved without submitting, then submitted: the totals equal the points filled in.
    wb = _download(rater)
    _fill(wb, "主管部门")
    report = _upload(rater, wb, submit=False)
    assert report["ok"] and report["saved"] == 3 and report["submitted"] == 0 and report["rows"] == 9
    wb = _download(rater)  # what was saved comes back in the file
    assert wb["海鸥物业"].cell(5, col[excel.COL_POINTS]).value == 38
    report = _upload(rater, wb, submit=True)
    assert report["ok"] and report["submitted"] == 3
    totals = {a.subject.name: a.total for a in Assignment.objects.filter(rater=scoring["housing"])}
    assert totals == {name: Decimal(sum(p)) for (g, name), p in POINTS.items() if g == "主管部门"}
    assert set(report["totals"].values()) == {f"{sum(p)}.00" for (g, _n), p in POINTS.items() if g == "主管部门"}
    again = _upload(rater, wb, submit=True)  # a submitted sheet is final
    assert not again["ok"] and "已提交" in again["errors"][0]["reason"]

    # Another rater's file is refused row by row; a file that is not Excel is refused as a whole.
    alice_file = _download(scoring["alice"], layout="list")
    _fill(alice_file, "社区党组织")
    stolen = _upload(rater, alice_file, submit=False)
    assert not stolen["ok"] and stolen["errors"][0]["column"] == "评分表编号"
    junk = ok(rater.client.post("/api/v1/assessment/uploads/sheets", {"file": io.BytesIO(b"not a workbook")}))
    assert not junk["ok"] and junk["errors"][0]["row"] == 0


def test_one_list_of_all_sheets_reads_back_too(cast: Cast, scoring: dict[str, Any]) -> None:
    alice = scoring["alice"]
    wb = _download(alice, layout="list", round_id=scoring["round"]["id"])
    assert [ws.title for ws in wb.worksheets] == ["评分表"]
    ws = wb.worksheets[0]
    assert ws.max_row - excel.HEADER_ROW == 9  # 3 subjects × 3 manual indicators
    _fill(wb, "社区党组织")
    report = _upload(alice, wb, submit=True)
    assert report["ok"] and report["saved"] == report["submitted"] == 3
    totals = {a.subject.name: a.total for a in Assignment.objects.filter(rater=cast.alice)}
    assert totals == {name: Decimal(sum(p)) for (g, name), p in POINTS.items() if g == "社区党组织"}
    first = Assignment.objects.filter(rater=cast.alice).order_by("pk").first()
    assert first is not None
    one = alice.client.get(f"/api/v1/assessment/sheets/{first.pk}/sheet.xlsx")
    assert one.status_code == 200
    assert Api(cast.charlie).client.get("/api/v1/assessment/sheets.xlsx").status_code == 400  # nothing to score


def _score_everything(scoring: dict[str, Any]) -> None:
    for api, group in ((scoring["rater"], "主管部门"), (scoring["alice"], "社区党组织")):
        wb = _download(api)
        _fill(wb, group)
        assert _upload(api, wb, submit=True)["ok"]


def test_results_and_the_notice_as_documents(cast: Cast, scoring: dict[str, Any]) -> None:
    olga, rid = scoring["olga"], scoring["round"]["id"]
    assert olga.client.get(f"/api/v1/assessment/rounds/{rid}/notice.docx").status_code == 409  # nothing computed
    _score_everything(scoring)
    bob = Api(cast.bob)
    for s in ok(bob.get("/assessment/surveys")):
        rating = {"海鸥物业": 5, "碧海物业": 4, "港湾物业": 2}[s["subject"]["name"]]
        ok(bob.post(f"/assessment/subjects/{s['subject']['id']}/answer",
                    {"rating": rating, "comment": "垃圾无人清理" if rating == 2 else ""}), 201)
    rnd = ok(olga.post(f"/assessment/rounds/{rid}/step", {"name": "close_scoring"}))
    assert olga.client.get(f"/api/v1/assessment/rounds/{rid}/notice.docx").status_code == 409  # not yet in notice

    results = olga.client.get(f"/api/v1/assessment/rounds/{rid}/results.xlsx")
    assert results.status_code == 200
    ws = load_workbook(io.BytesIO(results.content)).worksheets[0]
    header = [c.value for c in ws[2]]
    assert header[:6] == ["名次", "考评对象", "总分", "主管部门", "社区党组织", "业主代表"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=3)]
    assert [(r[0], r[1], r[2]) for r in rows] == [(1, "海鸥物业", 97.6), (2, "碧海物业", 80), (3, "港湾物业", 52)]
    assert rows[0][header.index("红黑榜")] == "红榜" and rows[2][header.index("档次")] == "黄"

    stan = Api(cast.stan)
    for s in ok(stan.get(f"/assessment/rounds/{rid}/reviews")):
        ok(stan.post(f"/assessment/subjects/{s['id']}/review", {"verdict": "pass"}))
    rnd = ok(olga.post(f"/assessment/rounds/{rid}/step", {"name": "to_notice", "version": rnd["version"]}))
    response = olga.client.get(f"/api/v1/assessment/rounds/{rid}/notice.docx")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    document = docx.Document(io.BytesIO(response.content))
    text = "\n".join(p.text for p in document.paragraphs)
    assert document.paragraphs[0].text == "关于2026年度物业考评考评结果的公示"
    table = document.tables[0]
    assert [[c.text for c in row.cells] for row in table.rows] == [
        ["名次", "考评对象", "总分", "星级", "档次"], ["1", "海鸥物业", "97.60", "★★★★★", "红"],
        ["2", "碧海物业", "80.00", "—", "蓝"], ["3", "港湾物业", "52.00", "—", "黄"]]
    today = timezone.localdate()
    assert "红榜：海鸥物业。" in text and "黑榜：港湾物业。" in text and "5星级（★★★★★）：海鸥物业。" in text
    assert f"至{today.year}年{today.month}月{today.day}日止" in text and "提出异议" in text
    assert Api(user("changan", "district_official", area=cast.district2)).client.get(
        f"/api/v1/assessment/rounds/{rid}/notice.docx").status_code == 404

    if not notice.pdf_available():
        pytest.skip("WeasyPrint is not installed: the notice is Word only")
    pdf = olga.client.get(f"/api/v1/assessment/rounds/{rid}/notice.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    html = notice.notice_html(scoring_round(rid))
    assert html.index("海鸥物业") < html.index("碧海物业") < html.index("港湾物业")


def scoring_round(rid: int) -> Any:
    from gongzhi.assessment.models import Round

    return Round.objects.select_related("scheme", "area", "scheme_version").get(pk=rid)
