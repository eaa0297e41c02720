"""Ledgers like an office makes them (issue 9, item 1): every export opened with openpyxl — dates are dates, codes
are text, widths fitted, header frozen and bold, autofilter and print titles set, A4 landscape with page numbers,
Chinese file names (RFC 5987) — the case ledger streamed with no cap and its row count on the page, 诉求统计 and
the councils' figures as Excel, and the printable 诉求统计 PDF with its charts."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from gongzhi.cases import services as cases
from gongzhi.cases.models import Case
from gongzhi.core import ledger
from gongzhi.councils import services as councils
from gongzhi.registry import excel
from gongzhi.registry import services as registry
from gongzhi.registry.models import OrgLevel, Person
from tests.cast import Cast

TZ = ZoneInfo("Asia/Shanghai")


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def workbook(response_or_bytes: Any) -> Any:
    data = response_or_bytes if isinstance(response_or_bytes, bytes) else body(response_or_bytes)
    return load_workbook(io.BytesIO(data))


def download_name(response: Any) -> str:
    header = response["Content-Disposition"]
    assert header.startswith("attachment; filename=\"")
    assert header.split('filename="', 1)[1].split('"', 1)[0].isascii()  # the fallback for old clients
    return unquote(header.split("filename*=UTF-8''", 1)[1])


def assert_office_grade(ws: Any, header_row: int = 1) -> None:
    """What every ledger sheet has: frozen bold header, autofilter from the header, the header printed on every
    page, A4 landscape fitted to the page width, page numbers in the footer, widths set on every column."""
    assert ws.freeze_panes == f"A{header_row + 1}"
    assert ws.auto_filter.ref and ws.auto_filter.ref.startswith(f"A{header_row}:")
    assert ws.print_title_rows == f"${header_row}:${header_row}"
    assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == "9"
    assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text
    header = [c for c in ws[header_row] if c.value is not None]
    assert header and all(c.font.b for c in header)
    for cell in header:
        assert ws.column_dimensions[cell.column_letter].width >= ledger.display_width(str(cell.value))


# ------------------------------------------------------------------------------------------------ the writer


def test_the_writer_types_cells_fits_widths_and_sets_up_printing() -> None:
    when = dt.datetime(2026, 12, 2, 1, 30, tzinfo=dt.UTC)  # 09:30 in Shanghai
    long_name = "碧海社区第1网格党支部" * 10
    data = ledger.workbook_bytes(ledger.Sheet("台账", [
        ledger.Col("代码", "code"), ledger.Col("名称"), ledger.Col("反映时间", "datetime"), ledger.Col("日期", "date"),
        ledger.Col("满意率", "percent"), ledger.Col("户数", "int"),
    ], [["99010100100100101001", "=HYPERLINK(\"http://x\")", when, dt.date(2021, 7, 1), 93.5, 12],
        [42, long_name + "\x07", None, None, None, None]], title="碧海社区台账"))
    ws = load_workbook(io.BytesIO(data))["台账"]
    assert ws["A1"].value == "碧海社区台账" and "A1:F1" in {str(r) for r in ws.merged_cells.ranges}
    assert_office_grade(ws, header_row=2)
    code, formula, at, day, rate, count = ws[3]
    assert code.value == "99010100100100101001" and code.data_type == "s" and code.number_format == "@"
    assert ws["A4"].value == "42" and ws["A4"].data_type == "s"  # a code given as a number stays text
    assert formula.data_type == "s" and formula.value.startswith("=")  # never a live formula
    assert at.is_date and at.value == dt.datetime(2026, 12, 2, 9, 30)  # local time, as Excel shows it
    assert day.is_date and day.value.date() == dt.date(2021, 7, 1) and day.number_format == "yyyy-mm-dd"
    assert rate.value == pytest.approx(0.935) and rate.number_format == "0.00%"
    assert count.value == 12 and count.data_type == "n"
    assert ws["B4"].value == long_name  # the control character is dropped, not the row
    widths = {letter: ws.column_dimensions[letter].width for letter in "ABCDEF"}
    assert widths["A"] >= 20 + 2  # 20 digits
    assert widths["B"] == ledger.MAX_WIDTH  # capped
    assert widths["C"] >= 16 and widths["D"] >= 10
    assert ledger.display_width("碧海社区") == 8 and ledger.display_width("abc") == 3  # CJK counts double
    assert ws.auto_filter.ref == "A2:F4"


def test_attachment_names_the_file_in_chinese_with_an_ascii_fallback() -> None:
    response = ledger.attachment(b"x", "挂账台账-20261202.xlsx")
    assert response["Content-Type"] == ledger.XLSX
    assert response["Content-Disposition"] == (
        "attachment; filename=\"20261202.xlsx\"; "
        "filename*=UTF-8''%E6%8C%82%E8%B4%A6%E5%8F%B0%E8%B4%A6-20261202.xlsx")
    assert ledger.ascii_fallback("碧海社区.pdf") == "export.pdf"
    assert "\n" not in ledger.attachment(b"", "a\nb.pdf")["Content-Disposition"]


# ------------------------------------------------------------------------------------------------ registry


def test_registry_exports_keep_their_titles_with_codes_as_text_and_dates_as_dates(cast: Cast, pipeline) -> None:
    org = registry.party_org_create(actor=cast.admin, area=cast.community, name="碧海社区党委",
                                    level=OrgLevel.COMMITTEE, founded_on=dt.date(2019, 7, 1))
    registry.party_member_register(actor=cast.admin, person=Person.objects.get(name="鲍勃"), organisation=org,
                             joined_on=dt.date(1998, 7, 1))
    for kind, spec in excel.SHEETS.items():
        ws = workbook(excel.export_workbook(viewer=cast.admin, kind=kind)).active
        assert [c.value for c in ws[1]] == spec.titles  # the import's header, on row 1
        assert_office_grade(ws)
        rows = list(ws.iter_rows(min_row=2))
        assert rows, kind
        for column_number, column in enumerate(spec.columns):
            for row in rows:
                cell = row[column_number]
                if cell.value is None:
                    continue
                if column.as_text:
                    assert cell.data_type == "s" and cell.number_format == "@", (kind, column.title)
                if column.parse == "date":
                    assert cell.is_date, (kind, column.title)
                if column.parse == "count":
                    assert isinstance(cell.value, int), (kind, column.title)
    areas = workbook(excel.export_workbook(viewer=cast.admin, kind="areas")).active
    codes = [row[1].value for row in areas.iter_rows(min_row=2)]
    assert "99010100100100101001" in codes  # 20 digits, not 9.9E+19
    assert areas.column_dimensions["B"].width >= 22
    orgs = workbook(excel.export_workbook(viewer=cast.admin, kind="organisations")).active
    founded = {row[0].value: row[7].value for row in orgs.iter_rows(min_row=2)}
    assert founded["碧海社区党委"] == dt.datetime(2019, 7, 1)
    people = workbook(excel.export_workbook(viewer=cast.alice, kind="people")).active
    bob = next(row for row in people.iter_rows(min_row=2) if row[0].value == "鲍勃")
    assert bob[7].is_date and bob[7].value.date() == dt.date(1998, 7, 1)


# ------------------------------------------------------------------------------------------------ case ledger


def submit(cast: Cast, title: str = "楼道堆放杂物") -> Case:
    return cases.case_submit(actor=cast.bob, title=title, description="楼道堆满纸箱", area=cast.building,
                             contact_phone="13800138000")


def test_the_case_ledger_page_says_its_row_count_and_streams_every_row(cast: Cast, pipeline,
                                                                     django_assert_max_num_queries) -> None:
    made = [submit(cast, f"诉求{i}") for i in range(5)]
    cases.transition(actor=cast.alice, case=made[0], name="accept", category=pipeline["property"])
    client = logged_in(cast.alice)
    workbench = client.get("/cases/")
    assert 'id="ledger-export"' in workbench.content.decode()
    page = client.get("/cases/ledger/")
    assert page.status_code == 200
    assert "挂账台账共 5 行" in page.content.decode()
    with django_assert_max_num_queries(12):  # chunked, no query per row
        response = client.get("/cases/ledger.xlsx?download=1")
    assert response.status_code == 200 and response.streaming
    assert response["X-Ledger-Rows"] == "5"
    assert download_name(response) == f"挂账台账-{timezone.localdate():%Y%m%d}.xlsx"
    ws = workbook(response)["挂账台账"]
    assert str(ws["A1"].value).startswith("挂账台账")
    assert [c.value for c in ws[2]][:3] == ["编号", "标题", "分类"]
    assert_office_grade(ws, header_row=2)
    rows = list(ws.iter_rows(min_row=3))
    assert len(rows) == 5
    numbers = {c.number for c in made}
    for row in rows:
        assert row[0].value in numbers and row[0].data_type == "s"
        assert row[7].is_date  # 反映时间
        assert row[10].data_type == "s" and row[10].value == "13800138000"  # 联系电话 as text, not 1.38E+10
    accepted = next(r for r in rows if r[0].value == made[0].number)
    created = timezone.localtime(Case.objects.get(pk=made[0].pk).created_at).replace(tzinfo=None, microsecond=0)
    assert accepted[7].value.replace(microsecond=0) == created
    assert accepted[2].value  # its category
    assert logged_in(cast.bob).get("/cases/ledger.xlsx?download=1").status_code == 404  # a resident has no ledger


def test_the_case_ledger_has_no_row_cap(cast: Cast, pipeline) -> None:
    """Beyond the 20,000 rows where the old export stopped without a word."""
    template = submit(cast)
    fields = {f.attname: getattr(template, f.attname) for f in Case._meta.concrete_fields if f.attname != "id"}
    Case.objects.bulk_create([Case(**fields) for i in range(20_050)],
                             batch_size=2000)
    from gongzhi.cases import selectors
    from gongzhi.cases.views import case_ledger_response

    full = case_ledger_response(cast.alice, selectors.queue(cast.alice, "ledger"))
    assert full["X-Ledger-Rows"] == "20051"
    assert workbook(full).active.max_row == 20051 + 2


# ------------------------------------------------------------------------------------------------ 诉求统计


def test_case_figures_export_as_excel_and_as_a_printable_pdf(cast: Cast, pipeline) -> None:
    case = submit(cast)
    cases.transition(actor=cast.alice, case=case, name="accept", category=pipeline["property"])
    client = logged_in(cast.stan)
    today = timezone.localdate()
    page = client.get(f"/cases/figures/?area={cast.street.pk}")
    html = page.content.decode()
    assert "figures.xlsx" in html and "打印版 PDF" in html
    response = client.get(f"/cases/figures.xlsx?area={cast.street.pk}&start={today:%Y-%m-01}&end={today:%Y-%m-%d}")
    assert response.status_code == 200
    assert download_name(response) == f"新华街道诉求统计-{today:%Y%m01}-{today:%Y%m%d}.xlsx"
    wb = workbook(response)
    ws = wb["诉求统计"]
    assert "新华街道诉求统计" in ws["A1"].value
    assert_office_grade(ws, header_row=2)
    header = [c.value for c in ws[2]]
    assert {"区域代码", "受理量", "响应率", "解决率", "满意率"} <= set(header)
    rows = {row[0].value: row for row in ws.iter_rows(min_row=3)}
    community = rows["碧海社区"]
    assert community[1].value == cast.community.code and community[1].data_type == "s"
    assert community[header.index("受理量")].value == 1
    total = rows["合计（新华街道）"]
    assert total[header.index("受理量")].value == 1
    assert community[header.index("响应率")].number_format.endswith("%")
    assert {"承办部门", "办结层级"} <= set(wb.sheetnames)
    assert client.get(f"/cases/figures.xlsx?area={cast.street.pk}&end=9999-12-31").status_code == 302  # → the page
    assert logged_in(cast.charlie).get(f"/cases/figures.xlsx?area={cast.street.pk}").status_code == 404

    pdf = client.get(f"/cases/figures.pdf?area={cast.street.pk}")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    data = body(pdf)
    assert data.startswith(b"%PDF")
    assert download_name(pdf).startswith("新华街道诉求统计-") and download_name(pdf).endswith(".pdf")
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    text = "".join(p.extract_text() for p in reader.pages)
    assert "新华街道诉求统计" in text and "碧海社区" in text
    assert "第 1 页" in text  # page numbers
    box = reader.pages[0].mediabox
    assert round(float(box.width) / 72 * 25.4) == 210 and round(float(box.height) / 72 * 25.4) == 297  # A4


def test_the_report_charts_are_svg_without_script(cast: Cast) -> None:
    from gongzhi.core import reports

    svg = reports.svg_bars("按期办结率", ["碧海社区", "<港北>"], [("按期办结率", [93.5, None])], unit="%")
    assert svg.startswith("<svg") and "<script" not in svg
    assert "93.5%" in svg and "&lt;港北&gt;" in svg


# ------------------------------------------------------------------------------------------------ councils


def test_council_ledger_and_figures_export_with_dates_and_chinese_names(cast: Cast) -> None:
    street = councils.council_create(actor=cast.stan, area=cast.street, name="新华街道大工委联席会议",
                                     kind="working_committee", cadence="quarterly")
    compound = councils.council_create(actor=cast.alice, area=cast.compound, name="海鸥花园家园议事会",
                                       kind="homeland", cadence="monthly", procedure="homeland")
    meeting = councils.meeting_schedule(actor=cast.alice, council=compound, place="党群服务中心",
                                        scheduled_for=dt.datetime(2026, 11, 2, 14, 30, tzinfo=TZ))
    councils.item_propose(actor=cast.alice, council=compound, title="电动车充电桩", description="需要充电桩")
    client = logged_in(cast.alice)
    response = client.get(f"/councils/{compound.pk}/ledger.xlsx")
    assert response.status_code == 200
    assert download_name(response) == f"海鸥花园家园议事会议题台账-{timezone.localdate():%Y%m%d}.xlsx"
    wb = workbook(response)
    items = wb["议题台账"]
    assert_office_grade(items)
    assert items["B2"].value == "电动车充电桩"
    meetings = wb["会议列表"]
    assert_office_grade(meetings)
    assert meetings["A2"].is_date and meetings["A2"].value == dt.datetime(2026, 11, 2, 14, 30)
    minutes = client.get(f"/councils/meetings/{meeting.pk}/minutes.docx")
    assert minutes.status_code == 200 and not download_name(minutes).isascii()

    stan = logged_in(cast.stan)
    index = stan.get(f"/councils/?area={cast.street.pk}").content.decode()
    assert "council-figures-export" in index
    response = stan.get(f"/councils/figures.xlsx?area={cast.street.pk}&start=2026-01-01&end=2026-12-31")
    assert response.status_code == 200
    assert download_name(response) == "新华街道议事统计-20260101-20261231.xlsx"
    ws = workbook(response).active
    assert "新华街道联席会议与议事协商统计" in ws["A1"].value
    assert_office_grade(ws, header_row=2)
    header = [c.value for c in ws[2]]
    rows = {row[0].value: row for row in ws.iter_rows(min_row=3)}
    total = rows["合计（新华街道）"]
    assert total[header.index("议事组织")].value == 2  # the street's council and the compound's
    assert total[header.index("统计起")].is_date and total[1].data_type == "s"
    assert rows["碧海社区"][header.index("议事组织")].value == 1
    bad = stan.get(f"/councils/figures.xlsx?area={cast.street.pk}&start=2026-12-31&end=2026-01-01")
    assert bad.status_code == 400 and "到" in bad.content.decode()
    assert logged_in(cast.charlie).get(f"/councils/figures.xlsx?area={cast.street.pk}").status_code == 404
    assert street.pk
