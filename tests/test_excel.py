"""Excel in and out (G2): templates, all-or-nothing imports with row/column/reason, masked exports."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook

from gongzhi.core.models import AuditEntry
from gongzhi.registry import excel
from gongzhi.registry import services as registry
from gongzhi.registry.models import Area, MemberUnit, PartyMember, Person
from tests.cast import Cast


def workbook(header: list[str], rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def titles(kind: str) -> list[str]:
    return [c.title for c in excel.SHEETS[kind].columns]


def test_templates_have_the_columns_a_help_sheet_and_choice_lists() -> None:
    for kind in excel.SHEETS:
        wb = load_workbook(io.BytesIO(excel.template_workbook(kind)))
        header = [c.value.rstrip("*") for c in wb.worksheets[0][1]]
        assert header == titles(kind)
        assert wb.sheetnames[1] == "说明"
    areas = load_workbook(io.BytesIO(excel.template_workbook("areas"))).worksheets[0]
    assert any("网格" in (dv.formula1 or "") for dv in areas.data_validations.dataValidation)


def test_a_good_file_imports_every_row_through_the_actions(cast: Cast) -> None:
    data = workbook(titles("areas"), [
        ["港北社区第2网格", "990101001002002", "网格", cast.community2.code, 420, 1100],
        ["望江花园", "99010100100200201", "小区", "990101001002002", 300, ""],
        ["1号楼", "99010100100200201001", "楼栋", "99010100100200201", 60, 150],
    ])
    report = excel.import_workbook(actor=cast.admin, kind="areas", data=data)
    assert report.ok and report.created == 3
    building = Area.objects.get(code="99010100100200201001")
    assert building.path.startswith(cast.community2.path) and building.depth == 7
    assert AuditEntry.objects.filter(action="registry.area.create", actor=cast.admin).count() == 3


def test_people_with_party_membership_and_numbers_typed_as_numbers(cast: Cast) -> None:
    org = registry.party_org_create(actor=None, area=cast.grid1, name="碧海社区第1网格党支部", level="branch")
    data = workbook(titles("people"), [
        ["王芳", cast.building.code, 13900139000, "440524188001010014", "否", org.name, "正式党员", "", "是",
         "共治市", "广东省深圳市"],
    ])
    report = excel.import_workbook(actor=cast.admin, kind="people", data=data)
    assert report.ok, report.errors
    member = PartyMember.objects.get(person__name="王芳")
    assert member.person.phone == "13900139000" and member.is_mobile and member.organisation == org


def test_one_bad_row_names_row_column_and_reason_and_nothing_is_written(cast: Cast) -> None:
    before = (Person.objects.count(), AuditEntry.objects.count())
    data = workbook(titles("people"), [
        ["张三", cast.building.code, "13700137000", "", "", "", "", "", "", "", ""],
        ["李四", cast.building.code, "", "110105194912310021", "", "", "", "", "", "", ""],  # bad checksum
        ["", cast.building.code, "", "", "", "", "", "", "", "", ""],  # no name
        ["王五", "999999", "", "", "", "", "", "", "", "", ""],  # unknown area
    ])
    report = excel.import_workbook(actor=cast.alice, kind="people", data=data)
    assert not report.ok and report.created == 0
    found = {(e.row, e.column) for e in report.errors}
    assert {(3, "身份证号"), (4, "姓名"), (5, "区域代码")} <= found
    assert "校验码" in next(e.reason for e in report.errors if e.row == 3)
    assert (Person.objects.count(), AuditEntry.objects.count()) == before


def test_a_bad_credit_code_and_a_forbidden_row_are_reported(cast: Cast) -> None:
    data = workbook(titles("units"), [
        ["甲公司", "91350100M000100Y44", "非公企业", cast.community.code, "", "", "", ""],
        ["乙公司", "91350100M000100Y43", "非公企业", cast.community3.code, "", "", "", ""],  # not alice's
    ])
    report = excel.import_workbook(actor=cast.alice, kind="units", data=data)
    assert [(e.row, e.column) for e in report.errors][:1] == [(2, "统一社会信用代码")]
    assert any(e.row == 3 and "权限" in e.reason for e in report.errors)
    assert not MemberUnit.objects.exists()


@pytest.mark.parametrize("data", [b"not a spreadsheet", b"PK\x03\x04broken zip", b""])
def test_files_that_are_not_xlsx_get_one_clear_error(cast: Cast, data: bytes) -> None:
    report = excel.import_workbook(actor=cast.alice, kind="people", data=data)
    assert not report.ok and report.errors[0].row == 0 and "xlsx" in report.errors[0].reason


def test_wrong_headers_are_refused(cast: Cast) -> None:
    report = excel.import_workbook(actor=cast.alice, kind="people", data=workbook(["名字", "地方"], [["x", "y"]]))
    assert not report.ok and report.errors[0].row == 1 and "姓名" in report.errors[0].column


def _exported(viewer, kind: str) -> list[list[object]]:
    ws = load_workbook(io.BytesIO(excel.export_workbook(viewer=viewer, kind=kind))).worksheets[0]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_exports_are_scoped_masked_and_reimportable(cast: Cast) -> None:
    alice_rows = _exported(cast.alice, "people")
    assert alice_rows[0] == titles("people")
    assert alice_rows[1][:4] == ["鲍勃", cast.building.code, "13800138000", "11010519491231002X"]
    stan_rows = _exported(cast.stan, "people")
    assert stan_rows[1][2:4] == ["138****8000", "110***********002X"]
    assert len(_exported(cast.charlie, "people")) == 1  # header only: 碧海's people are not his
    areas = _exported(cast.alice, "areas")
    assert [r[1] for r in areas[1:]] == list(
        Area.objects.filter(path__startswith=cast.community.path).order_by("path").values_list("code", flat=True))


def test_export_queries_do_not_grow_with_rows(cast: Cast, django_assert_max_num_queries) -> None:
    for i in range(5):
        registry.person_create(actor=None, area=cast.building, name=f"居民{i}")
    with django_assert_max_num_queries(8):
        excel.export_workbook(viewer=cast.alice, kind="people")
    for i in range(45):
        registry.person_create(actor=None, area=cast.building, name=f"新居民{i}")
    with django_assert_max_num_queries(8):
        rows = excel.export_workbook(viewer=cast.alice, kind="people")
    assert len(load_workbook(io.BytesIO(rows)).worksheets[0]["A"]) == 52
