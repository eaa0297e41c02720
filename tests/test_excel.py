"""Excel in and out (G2): templates, all-or-nothing imports with row/column/reason (R3), scoped and masked exports
(R1, R4). Every file here is a real .xlsx built or read with openpyxl."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from openpyxl import Workbook, load_workbook

from gongzhi.core.errors import InvalidInput
from gongzhi.core.models import AuditEntry
from gongzhi.core.scope import forget_scope
from gongzhi.registry import excel
from gongzhi.registry import services as registry
from gongzhi.registry.models import Area, MemberUnit, PartyMember, PartyOrganisation, Person, Sector
from tests.cast import Cast

X_ID = "32058219900301107X"  # valid, check character X
GOOD_ID = "110105198001010016"
BAD_ID = "110105198001010017"  # checksum off by one
UNIT_CODE = "91350100M000100Y43"
UNIT_CODE_2 = "91350100M000200Y4T"


def workbook(header: list[str], rows: list[list[Any]], above: list[list[Any]] | None = None) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for line in above or []:
        ws.append(line)
    ws.append(header)
    for line in rows:
        ws.append(line)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def titles(kind: str) -> list[str]:
    return [c.title for c in excel.SHEETS[kind].columns]


def row(kind: str, cells: dict[str, Any]) -> list[Any]:
    """A data row in the sheet's column order from {title: value}; unknown titles are a test bug."""
    assert set(cells) <= set(titles(kind)), set(cells) - set(titles(kind))
    return [cells.get(t, "") for t in titles(kind)]


def sheet(data: bytes) -> list[list[Any]]:
    ws = load_workbook(io.BytesIO(data)).worksheets[0]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def exported(viewer: Any, kind: str, **kw: Any) -> list[list[Any]]:
    return sheet(excel.export_workbook(viewer=viewer, kind=kind, **kw))


def written() -> tuple[int, int, int, int, int]:
    return (Area.objects.count(), Person.objects.count(), MemberUnit.objects.count(),
            PartyOrganisation.objects.count(), AuditEntry.objects.count())


# ------------------------------------------------------------------------------------------------ templates


def test_templates_have_the_columns_a_help_sheet_and_choice_lists() -> None:
    for kind, spec in excel.SHEETS.items():
        wb = load_workbook(io.BytesIO(excel.template_workbook(kind)))
        ws = wb.worksheets[0]
        header = [c.value for c in ws[1]]
        assert [h.rstrip("*") for h in header] == titles(kind)
        assert [h.endswith("*") for h in header] == [c.required for c in spec.columns]
        assert ws.freeze_panes == "A2" and ws.max_row == 1  # nothing to delete before filling in
        assert wb.sheetnames == [spec.title, "说明"]
        assert [r[0] for r in wb["说明"].iter_rows(min_row=2, max_row=len(spec.columns) + 1, values_only=True)] \
            == titles(kind)
    areas = load_workbook(io.BytesIO(excel.template_workbook("areas"))).worksheets[0]
    kinds = next(dv for dv in areas.data_validations.dataValidation if "C2" in str(dv.sqref))
    assert kinds.formula1 == '"市,区/县,街道,社区,网格,小区,楼栋"'
    people = load_workbook(io.BytesIO(excel.template_workbook("people"))).worksheets[0]
    assert people.column_dimensions["D"].number_format == "@"  # 身份证号 keeps its 18 digits in Excel
    assert any(dv.formula1 == '"是,否"' for dv in people.data_validations.dataValidation)


def test_template_labels_do_not_follow_the_interface_language() -> None:
    with translation.override("en"):
        data = excel.template_workbook("areas")
    assert "网格" in load_workbook(io.BytesIO(data)).worksheets[0].data_validations.dataValidation[0].formula1


# ------------------------------------------------------------------------------------------------ good imports


def test_a_filled_template_imports_every_row_through_the_actions(cast: Cast) -> None:
    wb = load_workbook(io.BytesIO(excel.template_workbook("areas")))
    ws = wb.worksheets[0]
    ws.append(["港北社区第2网格", "990101001002002", "网格", cast.community2.code, 420, 1100])
    ws.append(["望江花园", "99010100100200201", "小区", "990101001002002", 300.0, None])  # refers to the row above
    ws.append(["1号楼", "99010100100200201001", "楼栋", "99010100100200201", "60", 150])
    out = io.BytesIO()
    wb.save(out)
    report = excel.import_workbook(actor=cast.admin, kind="areas", data=out.getvalue())
    assert report.ok, report.errors
    assert (report.created, report.rows) == (3, 3)
    building = Area.objects.get(code="99010100100200201001")
    assert building.path.startswith(cast.community2.path) and building.depth == 7
    assert (building.kind, building.households, building.population) == ("building", 60, 150)
    assert Area.objects.get(code="99010100100200201").population == 0
    assert AuditEntry.objects.filter(action="registry.area.create", actor=cast.admin).count() == 3


def test_people_with_party_membership_and_numbers_typed_as_numbers(cast: Cast) -> None:
    org = registry.party_org_create(actor=None, area=cast.grid1, name="碧海社区第1网格党支部", level="branch")
    registry.unit_create(actor=None, area=cast.community, name="碧海物业", credit_code=UNIT_CODE,
                         sector=Sector.PROPERTY)
    data = workbook(titles("people"), [
        row("people", {"姓名": "王芳", "区域代码": cast.building.code, "电话": 13900139000, "身份证号": X_ID.lower(),
                       "困难/独居": "否", "党组织关系": org.name, "党员类别": "预备党员",
                       "入党日期": dt.datetime(2019, 7, 1), "工作单位信用代码": UNIT_CODE.lower(),
                       "流动党员": "是", "流出地": "共治市", "流入地": "广东省深圳市"}),
        row("people", {"姓名": "赵六", "区域代码": cast.building.code, "电话": 2412345678.0, "困难/独居": True}),
    ])
    report = excel.import_workbook(actor=cast.admin, kind="people", data=data)
    assert report.ok, report.errors
    member = PartyMember.objects.select_related("person", "work_unit").get(person__name="王芳")
    assert (member.person.phone, member.person.id_number) == ("13900139000", X_ID)
    assert (member.organisation, member.status, member.joined_on) == (org, "probationary", dt.date(2019, 7, 1))
    assert member.is_mobile and member.in_service and member.work_unit is not None
    assert member.work_unit.credit_code == UNIT_CODE and member.inflow_place == "广东省深圳市"
    other = Person.objects.get(name="赵六")
    assert other.phone == "02412345678"  # the landline's leading 0, dropped by Excel, is back
    assert other.is_vulnerable and not PartyMember.objects.filter(person=other).exists()
    assert AuditEntry.objects.filter(action="registry.party_member.create", actor=cast.admin).count() == 1


def test_party_columns_may_be_left_out_and_serial_numbers_and_title_rows_are_fine(cast: Cast) -> None:
    header = ["序号", "姓名", "区域代码", "电话", "身份证号", "困难/独居"]
    data = workbook(header, [[1, "张三", cast.building.code, "13700137000", GOOD_ID, "是"],
                             [2, "李四", cast.building.code, "", "", ""]],
                    above=[["碧海社区人员台账（2026年）"], []])
    report = excel.import_workbook(actor=cast.alice, kind="people", data=data)
    assert report.ok, report.errors
    assert report.created == 2 and Person.objects.get(id_number=GOOD_ID).name == "张三"
    # Row numbers stay those of the sheet: title row, blank row, header on row 3, data from row 4.
    bad = workbook(header, [[1, "王五", cast.building.code, "", BAD_ID, ""]], above=[["人员台账"], []])
    assert [(e.row, e.column) for e in excel.import_workbook(actor=cast.alice, kind="people", data=bad).errors] \
        == [(4, "身份证号")]


# ------------------------------------------------------------------------------------------------ bad rows


def test_one_bad_row_names_row_column_and_reason_and_nothing_is_written(cast: Cast) -> None:
    before = written()
    data = workbook(titles("people"), [
        row("people", {"姓名": "张三", "区域代码": cast.building.code, "电话": "13700137000"}),
        row("people", {"姓名": "李四", "区域代码": cast.building.code, "身份证号": BAD_ID}),
        row("people", {"区域代码": cast.building.code}),  # no name
        row("people", {"姓名": "王五", "区域代码": "999999"}),  # unknown area
        row("people", {"姓名": "赵六", "区域代码": cast.building.code, "困难/独居": "也许"}),
        row("people", {"姓名": "钱七", "区域代码": cast.building.code, "电话": "138****8000"}),  # a masked export
        row("people", {"姓名": "孙八", "区域代码": cast.building.code, "身份证号": int(GOOD_ID)}),  # typed as number
        row("people", {"姓名": "周九", "区域代码": cast.building.code, "流动党员": "是"}),  # member fields, no org
    ])
    report = excel.import_workbook(actor=cast.alice, kind="people", data=data)
    assert not report.ok and report.created == 0 and report.rows == 8
    reasons = {(e.row, e.column): e.reason for e in report.errors}
    assert set(reasons) == {(3, "身份证号"), (4, "姓名"), (5, "区域代码"), (6, "困难/独居"), (7, "电话"),
                            (8, "身份证号"), (9, "流动党员")}
    assert "校验码" in reasons[3, "身份证号"]
    assert reasons[4, "姓名"] == "必填"
    assert "999999" in reasons[5, "区域代码"]
    assert "是" in reasons[6, "困难/独居"] and "否" in reasons[6, "困难/独居"]
    assert "脱敏" in reasons[7, "电话"]
    assert "文本格式" in reasons[8, "身份证号"]
    assert "党组织关系" in reasons[9, "流动党员"]
    assert written() == before  # not even 张三 of row 2


def test_a_bad_credit_code_and_a_forbidden_row_are_reported(cast: Cast) -> None:
    data = workbook(titles("units"), [
        row("units", {"单位名称": "甲公司", "统一社会信用代码": "91350100M000100Y44", "类别": "非公企业",
                      "区域代码": cast.community.code}),
        row("units", {"单位名称": "乙公司", "统一社会信用代码": UNIT_CODE, "类别": "非公企业",
                      "区域代码": cast.community3.code}),  # not alice's community
        row("units", {"单位名称": "丙公司", "统一社会信用代码": UNIT_CODE_2, "类别": "外企",
                      "区域代码": cast.community.code}),
    ])
    report = excel.import_workbook(actor=cast.alice, kind="units", data=data)
    assert [(e.row, e.column) for e in report.errors] == [(2, "统一社会信用代码"), (3, "区域代码"), (4, "类别")]
    assert "统一社会信用代码无效" in report.errors[0].reason
    assert "权限" in report.errors[1].reason
    assert "非公企业" in report.errors[2].reason  # lists what may be chosen
    assert not MemberUnit.objects.exists()


def test_a_visible_area_the_actor_may_not_change_is_a_permission_error_on_its_column(cast: Cast) -> None:
    data = workbook(titles("people"), [row("people", {"姓名": "张三", "区域代码": cast.building.code})])
    report = excel.import_workbook(actor=cast.stan, kind="people", data=data)  # a street official: views, no edit
    assert [(e.row, e.column, e.reason) for e in report.errors] == [(2, "区域代码", "您没有权限执行此操作")]
    assert not Person.objects.filter(name="张三").exists()


def test_area_rows_refer_to_rows_above_and_say_when_that_row_failed(cast: Cast) -> None:
    data = workbook(titles("areas"), [
        row("areas", {"名称": "新网格", "代码": "990101001002003", "层级": "小区区", "上级代码": cast.community2.code}),
        row("areas", {"名称": "新小区", "代码": "99010100100200301", "层级": "小区", "上级代码": "990101001002003"}),
        row("areas", {"名称": "无主小区", "代码": "99010100100200399", "层级": "小区", "上级代码": "123"}),
        row("areas", {"名称": "重复", "代码": "99010100100200301", "层级": "小区",
                      "上级代码": cast.community2.code}),
        row("areas", {"名称": "网格", "代码": "990101001002004", "层级": "网格", "上级代码": cast.community2.code,
                      "户数": -5}),
    ])
    before = written()
    report = excel.import_workbook(actor=cast.admin, kind="areas", data=data)
    reasons = {(e.row, e.column): e.reason for e in report.errors}
    assert set(reasons) == {(2, "层级"), (3, "上级代码"), (4, "上级代码"), (5, "代码"), (6, "户数")}
    assert "第 2 行" in reasons[3, "上级代码"]  # the parent is the failed row above, not a typo
    assert "第 2 行" not in reasons[4, "上级代码"]
    assert "与第 3 行重复" in reasons[5, "代码"]
    assert reasons[6, "户数"] == "须为非负整数"
    assert written() == before


def test_an_org_whose_parent_is_a_row_above(cast: Cast) -> None:
    data = workbook(titles("organisations"), [
        row("organisations", {"名称": "碧海社区党委", "组织形式": "党委", "区域代码": cast.community.code,
                              "设大工委/大党委": "是", "成立日期": "2021年7月1日"}),
        row("organisations", {"名称": "海鸥花园党支部", "组织形式": "党支部", "区域代码": cast.compound.code,
                              "上级党组织": "碧海社区党委", "成立日期": dt.date(2022, 3, 5)}),
        row("organisations", {"名称": "港北网格党支部", "组织形式": "党支部", "区域代码": cast.grid3.code,
                              "上级党组织": "碧海社区党委"}),  # not above 港北: refused
    ])
    report = excel.import_workbook(actor=cast.olga, kind="organisations", data=data)
    assert [(e.row, e.column) for e in report.errors] == [(4, "上级党组织")]
    assert not PartyOrganisation.objects.exists()
    report = excel.import_workbook(actor=cast.olga, kind="organisations", data=workbook(
        titles("organisations"), sheet(data)[1:3]))
    assert report.ok, report.errors
    child = PartyOrganisation.objects.select_related("parent").get(name="海鸥花园党支部")
    assert child.parent is not None and child.parent.has_joint_committee
    assert (child.parent.founded_on, child.founded_on) == (dt.date(2021, 7, 1), dt.date(2022, 3, 5))


# ------------------------------------------------------------------------------------------------ refused files


def _zip_without_workbook() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    return out.getvalue()


@pytest.mark.parametrize("data", [b"not a spreadsheet", b"PK\x03\x04broken zip", b"", _zip_without_workbook()])
def test_files_that_are_not_xlsx_get_one_clear_error(cast: Cast, data: bytes) -> None:
    report = excel.import_workbook(actor=cast.alice, kind="people", data=data)
    assert len(report.errors) == 1 and report.errors[0].row == 0 and "xlsx" in report.errors[0].reason


def test_wrong_missing_and_unknown_headers_are_refused(cast: Cast) -> None:
    report = excel.import_workbook(actor=cast.alice, kind="people", data=workbook(["名字", "地方"], [["x", "y"]]))
    assert len(report.errors) == 1 and report.errors[0].row == 1 and "姓名" in report.errors[0].column
    report = excel.import_workbook(actor=cast.alice, kind="people", data=workbook(["姓名", "电话"], [["x", "1"]]))
    assert [(e.row, e.column) for e in report.errors] == [(1, "区域代码")]
    report = excel.import_workbook(actor=cast.alice, kind="people",
                                   data=workbook(["姓名", "区域代码", "联系电话"], [["x", cast.building.code, "1"]]))
    assert [(e.row, e.column) for e in report.errors] == [(1, "联系电话")]
    assert "无法识别" in report.errors[0].reason
    assert not Person.objects.filter(name="x").exists()


def test_empty_files_and_header_only_files(cast: Cast) -> None:
    empty = excel.import_workbook(actor=cast.alice, kind="people", data=workbook([], []))
    assert [(e.row, e.column) for e in empty.errors] == [(0, "")] and "空" in empty.errors[0].reason
    header_only = excel.import_workbook(actor=cast.alice, kind="people", data=excel.template_workbook("people"))
    assert [e.row for e in header_only.errors] == [0] and "没有数据行" in header_only.errors[0].reason


def test_too_many_rows_are_refused_before_anything_is_written(cast: Cast, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(excel, "MAX_ROWS", 3)
    before = written()
    rows = [row("people", {"姓名": f"居民{i}", "区域代码": cast.building.code}) for i in range(4)]
    report = excel.import_workbook(actor=cast.alice, kind="people", data=workbook(titles("people"), rows))
    assert [(e.row, e.column) for e in report.errors] == [(5, "")] and "3" in report.errors[0].reason
    assert written() == before
    report = excel.import_workbook(actor=cast.alice, kind="people", data=workbook(titles("people"), rows[:3]))
    assert report.ok and report.created == 3


def test_users_without_the_import_capability_are_refused(cast: Cast) -> None:
    data = workbook(titles("people"), [row("people", {"姓名": "张三", "区域代码": cast.building.code})])
    report = excel.import_workbook(actor=cast.gina, kind="people", data=data)  # grid workers add people one by one
    assert [(e.row, e.column) for e in report.errors] == [(0, "")] and "权限" in report.errors[0].reason
    assert not Person.objects.filter(name="张三").exists()


# ------------------------------------------------------------------------------------------------ exports


def test_exports_are_scoped_and_masked(cast: Cast) -> None:
    alice_rows = exported(cast.alice, "people")
    assert alice_rows[0] == titles("people")
    assert alice_rows[1][:5] == ["鲍勃", cast.building.code, "13800138000", "11010519491231002X", "否"]
    stan_rows = exported(cast.stan, "people")
    assert stan_rows[1][2:4] == ["138****8000", "110***********002X"]
    assert exported(cast.charlie, "people") == [titles("people")]  # 碧海's people are not his
    # A queryset handed in is scoped again: an export can never reach past the viewer's scope.
    assert exported(cast.charlie, "people", queryset=Person.objects.all()) == [titles("people")]
    with pytest.raises(InvalidInput):
        excel.export_workbook(viewer=cast.alice, kind="people", queryset=Area.objects.all())


def test_area_export_carries_the_parent_code_of_the_viewers_top_node(cast: Cast) -> None:
    areas = exported(cast.alice, "areas")
    assert [r[1] for r in areas[1:]] == list(
        Area.objects.filter(path__startswith=cast.community.path).order_by("path").values_list("code", flat=True))
    assert areas[1] == ["碧海社区", cast.community.code, "社区", cast.street.code, 1200, 3100]
    assert next(r for r in areas if r[1] == cast.building.code)[2:4] == ["楼栋", cast.compound.code]


def test_exports_do_not_follow_the_interface_language(cast: Cast) -> None:
    with translation.override("en"):
        areas = exported(cast.alice, "areas")
    assert [r[2] for r in areas[1:4]] == ["社区", "网格", "小区"]


def test_an_export_imports_again(cast: Cast) -> None:
    registry.unit_create(actor=None, area=cast.community, name="碧海物业", credit_code=UNIT_CODE,
                         sector=Sector.PROPERTY, contact_name="周经理", contact_phone="13600136000", staff_count=12)
    registry.unit_create(actor=None, area=cast.grid1, name="海鸥幼儿园", credit_code=UNIT_CODE_2,
                         sector=Sector.SCHOOL, address="海鸥路1号")
    parent = registry.party_org_create(actor=None, area=cast.community, name="碧海社区党委", level="committee",
                                       has_joint_committee=True, founded_on=dt.date(2020, 1, 2))
    registry.party_org_create(actor=None, area=cast.grid1, name="第1网格党支部", level="branch", parent=parent)
    units = excel.export_workbook(viewer=cast.alice, kind="units")
    orgs = excel.export_workbook(viewer=cast.olga, kind="organisations")
    before = list(MemberUnit.objects.order_by("pk").values_list(
        "name", "credit_code", "sector", "area", "address", "contact_name", "contact_phone", "staff_count"))
    PartyOrganisation.objects.filter(parent__isnull=False).delete()
    PartyOrganisation.objects.all().delete()
    MemberUnit.objects.all().delete()
    report = excel.import_workbook(actor=cast.alice, kind="units", data=units)
    assert report.ok and report.created == 2, report.errors
    assert list(MemberUnit.objects.order_by("pk").values_list(
        "name", "credit_code", "sector", "area", "address", "contact_name", "contact_phone", "staff_count")) == before
    report = excel.import_workbook(actor=cast.olga, kind="organisations", data=orgs)
    assert report.ok and report.created == 2, report.errors
    child = PartyOrganisation.objects.select_related("parent").get(name="第1网格党支部")
    assert child.parent is not None and child.parent.name == "碧海社区党委"
    assert child.parent.founded_on == dt.date(2020, 1, 2) and child.parent.has_joint_committee


def test_text_that_looks_like_a_formula_is_exported_as_text(cast: Cast) -> None:
    registry.unit_create(actor=None, area=cast.community, name='=HYPERLINK("http://evil.example","点我")',
                         credit_code=UNIT_CODE, sector=Sector.NON_PUBLIC, address="海鸥路\x0b1号")
    ws = load_workbook(io.BytesIO(excel.export_workbook(viewer=cast.alice, kind="units"))).worksheets[0]
    assert ws["A2"].data_type == "s" and ws["A2"].value.startswith("=HYPERLINK")
    assert ws["E2"].value == "海鸥路1号"


def _export_queries(viewer: Any) -> int:
    forget_scope()  # count the viewer's scope lookup every time, not only the first
    viewer._gongzhi_scope = None
    with CaptureQueriesContext(connection) as queries:
        excel.export_workbook(viewer=viewer, kind="people")
    return len(queries)


def test_export_queries_do_not_grow_with_rows(cast: Cast, django_assert_max_num_queries: Any) -> None:
    org = registry.party_org_create(actor=None, area=cast.grid1, name="第1网格党支部", level="branch")
    unit = registry.unit_create(actor=None, area=cast.community, name="碧海物业", credit_code=UNIT_CODE,
                                sector=Sector.PROPERTY)

    def add(count: int, prefix: str) -> None:
        for i in range(count):
            person = registry.person_create(actor=None, area=cast.building, name=f"{prefix}{i}")
            if i % 2:
                registry.party_member_register(actor=None, person=person, organisation=org, work_unit=unit)

    add(5, "居民")
    small = _export_queries(cast.alice)
    with django_assert_max_num_queries(5):
        excel.export_workbook(viewer=cast.alice, kind="people")
    add(45, "新居民")
    assert _export_queries(cast.alice) == small
    with django_assert_max_num_queries(5):
        data = excel.export_workbook(viewer=cast.alice, kind="people")
    rows = sheet(data)
    assert len(rows) == 52  # header, 鲍勃, 50 more
    assert sum(1 for r in rows[1:] if r[5] == "第1网格党支部" and r[8] == UNIT_CODE) == 24
