"""Round trip (issue 9, item 2): every registry export imports back unchanged; an edited export updates exactly the
rows it names, through the audited update actions; a dry run counts and writes nothing; an import is scoped to the
importer's subtree row by row. Every file is a real export, edited with openpyxl as a person would in Excel."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from gongzhi.core.models import AuditEntry
from gongzhi.registry import excel
from gongzhi.registry import services as registry
from gongzhi.registry.models import Area, AreaKind, MemberUnit, PartyMember, PartyOrganisation, Person, Sector
from tests.cast import Cast
from tests.test_excel import row, titles, workbook

UNIT_CODE = "91350100M000100Y43"
UNIT_CODE_2 = "91350100M000200Y4T"
WANG_ID = "32058219900301107X"
ZHAO_ID = "110105198001010016"
KINDS = ("areas", "organisations", "units", "people")


@pytest.fixture
def city(cast: Cast) -> dict[str, Any]:
    """The cast plus what a real 台账 holds: units with mobile and landline contacts, organisations whose names
    repeat in two communities (every community has its 第1网格党支部), members in each, people with and without ID
    numbers."""
    harbour = registry.area_create(actor=None, parent=cast.grid3, name="望江花园", code="99010100100200101",
                                   kind=AreaKind.COMPOUND, households=200)
    estate = registry.unit_create(actor=None, area=cast.community, name="碧海物业", credit_code=UNIT_CODE,
                                  sector=Sector.PROPERTY, contact_name="周经理", contact_phone="13600136000",
                                  staff_count=12)
    school = registry.unit_create(actor=None, area=cast.grid1, name="海鸥幼儿园", credit_code=UNIT_CODE_2,
                                  sector=Sector.SCHOOL, address="海鸥路1号", contact_phone="024-12345678")
    street = registry.party_org_create(actor=None, area=cast.street, name="新华街道党工委", level="working_committee",
                                       founded_on=dt.date(2010, 5, 4))
    bihai = registry.party_org_create(actor=None, area=cast.community, name="碧海社区党委", level="committee",
                                      parent=street, has_joint_committee=True, founded_on=dt.date(2020, 1, 2))
    gangbei = registry.party_org_create(actor=None, area=cast.community2, name="港北社区党委", level="committee",
                                        parent=street)
    branch1 = registry.party_org_create(actor=None, area=cast.grid1, name="第1网格党支部", level="branch",
                                        parent=bihai)
    branch3 = registry.party_org_create(actor=None, area=cast.grid3, name="第1网格党支部", level="branch",
                                        parent=gangbei)
    registry.party_org_create(actor=None, area=cast.community, name="碧海物业党支部", level="branch", parent=bihai,
                              unit=estate)
    wang = registry.person_create(actor=None, area=cast.building, name="王芳", phone="13900139000", id_number=WANG_ID)
    registry.party_member_register(actor=None, person=wang, organisation=branch1, joined_on=dt.date(2019, 7, 1),
                                   work_unit=school, is_mobile=True, outflow_place="共治市")
    zhao = registry.person_create(actor=None, area=harbour, name="赵六", phone="024-87654321", id_number=ZHAO_ID)
    registry.party_member_register(actor=None, person=zhao, organisation=branch3, status="probationary")
    registry.person_create(actor=None, area=cast.compound, name="李四", is_vulnerable=True)  # no ID number
    return {"harbour": harbour, "estate": estate, "school": school, "bihai": bihai, "branch1": branch1,
            "branch3": branch3, "wang": wang}


def export(viewer: Any, kind: str) -> bytes:
    return excel.export_workbook(viewer=viewer, kind=kind)


def edit(data: bytes, key_title: str, key: str, title: str, value: Any) -> bytes:
    """Change one cell of an export, found by the row's key and the column's title, as someone does in Excel."""
    wb = load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    line = next(r for r in ws.iter_rows(min_row=2) if str(r[header.index(key_title)].value) == key)
    line[header.index(title)].value = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def state() -> list[Any]:
    """Everything an import could change, to compare before and after."""
    return [
        list(Area.objects.order_by("pk").values_list("name", "code", "kind", "path", "households", "population")),
        list(MemberUnit.objects.order_by("pk").values_list(
            "name", "credit_code", "sector", "area", "address", "contact_name", "contact_phone", "staff_count")),
        list(PartyOrganisation.objects.order_by("pk").values_list(
            "name", "level", "sector", "area", "parent", "unit", "has_joint_committee", "founded_on")),
        list(Person.objects.order_by("pk").values_list("name", "area", "phone", "id_number", "is_vulnerable")),
        list(PartyMember.objects.order_by("pk").values_list(
            "person", "organisation", "status", "joined_on", "work_unit", "in_service", "is_mobile",
            "outflow_place", "inflow_place")),
        AuditEntry.objects.count(),
    ]


def counts(report: excel.ImportReport) -> tuple[int, int, int, int]:
    return report.created, report.updated, report.unchanged, report.refused


# ------------------------------------------------------------------------------------------------ unchanged


@pytest.mark.parametrize("viewer", ["admin", "olga", "alice", "stan"])
def test_every_export_imports_back_unchanged(cast: Cast, city: dict[str, Any], viewer: str) -> None:
    """The system administrator's export masks phone and ID numbers (she has no reveal role), the organisation
    department's does not; a community worker and a street official export and re-import their own part."""
    actor = getattr(cast, viewer)
    files = {kind: export(actor, kind) for kind in KINDS}
    before = state()
    for kind, data in files.items():
        report = excel.import_workbook(actor=actor, kind=kind, data=data)
        assert report.ok, (kind, report.errors)
        assert report.rows > 0 and counts(report) == (0, 0, report.rows, 0), kind
    assert state() == before  # not a field, not an audit entry


def test_masked_numbers_in_the_export_are_what_the_admin_sees(cast: Cast, city: dict[str, Any]) -> None:
    people = load_workbook(io.BytesIO(export(cast.admin, "people"))).worksheets[0]
    wang = next(r for r in people.iter_rows(min_row=2, values_only=True) if r[0] == "王芳")
    assert wang[2:4] == ("139****9000", "320***********107X")  # so the round trip above did cross masked cells


# ------------------------------------------------------------------------------------------------ edited


def test_an_edited_export_changes_exactly_the_cells_edited_and_audits_them(cast: Cast, city: dict[str, Any]) -> None:
    grid2, estate, wang = cast.grid2, city["estate"], city["wang"]
    areas = edit(export(cast.admin, "areas"), "代码", grid2.code, "户数", 430)
    units = edit(export(cast.admin, "units"), "统一社会信用代码", UNIT_CODE, "联系人", "李经理")
    people = edit(export(cast.admin, "people"), "姓名", "王芳", "电话", "13911112222")  # a masked cell, replaced
    files = {"areas": areas, "units": units, "people": people}
    before = state()
    audits = AuditEntry.objects.count()

    # A dry run reports what the import will do and writes nothing.
    dry = {kind: excel.import_workbook(actor=cast.admin, kind=kind, data=data, dry_run=True)
           for kind, data in files.items()}
    assert all(r.ok and r.dry_run for r in dry.values())
    assert state() == before

    real = {kind: excel.import_workbook(actor=cast.admin, kind=kind, data=data) for kind, data in files.items()}
    for kind, report in real.items():
        assert report.ok, (kind, report.errors)
        assert counts(report) == (0, 1, report.rows - 1, 0), kind
        assert counts(report) == counts(dry[kind]), kind
    grid2.refresh_from_db()
    estate.refresh_from_db()
    wang.refresh_from_db()
    assert (grid2.households, estate.contact_name, wang.phone) == (430, "李经理", "13911112222")
    assert wang.id_number == WANG_ID  # its masked cell meant "unchanged"
    new = list(AuditEntry.objects.filter(pk__gt=0).order_by("pk")[audits:])
    assert [(e.action, e.actor, e.before, e.after) for e in new] == [
        ("registry.area.update", cast.admin, {"households": 420}, {"households": 430}),
        ("registry.unit.update", cast.admin, {"contact_name": "周经理"}, {"contact_name": "李经理"}),
        ("registry.person.update", cast.admin, {"phone": "139****9000"}, {"phone": "139****2222"}),
    ]
    after = state()
    assert (after[2], after[4]) == (before[2], before[4])  # organisations and members untouched
    for i in (0, 1, 3):  # areas, units, people: one row each differs, nothing else moved
        assert sum(a != b for a, b in zip(after[i], before[i], strict=True)) == 1

    # The same edited files again: now they describe what is on record.
    for kind, data in files.items():
        again = excel.import_workbook(actor=cast.admin, kind=kind, data=data)
        assert counts(again) == (0, 0, again.rows, 0), kind
    assert AuditEntry.objects.count() == audits + 3


def test_organisations_are_found_by_their_number_and_parents_by_theirs(cast: Cast, city: dict[str, Any]) -> None:
    """Renaming an organisation keeps it (its 组织编号 finds it); moving a branch is done by its parent's number,
    which a repeated name could not do (two communities have a 第1网格党支部)."""
    branch1, branch3 = city["branch1"], city["branch3"]
    data = export(cast.olga, "organisations")
    assert excel.SHEETS["organisations"].titles[-2:] == ["组织编号", "上级组织编号"]
    data = edit(data, "组织编号", str(branch1.pk), "名称", "碧海社区第1网格党支部")
    report = excel.import_workbook(actor=cast.olga, kind="organisations", data=data)
    assert report.ok and counts(report) == (0, 1, report.rows - 1, 0), report.errors
    branch1.refresh_from_db()
    assert branch1.name == "碧海社区第1网格党支部" and PartyOrganisation.objects.count() == report.rows

    # A name and a number that disagree are refused, naming the row and the column.
    wrong = edit(data, "组织编号", str(branch3.pk), "上级党组织", "碧海社区党委")
    report = excel.import_workbook(actor=cast.olga, kind="organisations", data=wrong)
    assert [(e.column, "上级组织编号" in e.reason) for e in report.errors] == [("上级党组织", True)]
    # A number that is not above the organisation's area is refused too.
    wrong = edit(data, "组织编号", str(branch3.pk), "上级组织编号", str(city["bihai"].pk))
    wrong = edit(wrong, "组织编号", str(branch3.pk), "上级党组织", "")
    report = excel.import_workbook(actor=cast.olga, kind="organisations", data=wrong)
    assert [e.column for e in report.errors] == ["上级组织编号"]
    branch3.refresh_from_db()
    assert branch3.parent is not None and branch3.parent.name == "港北社区党委"


def test_people_are_found_by_id_number_or_a_unique_name_and_area(cast: Cast, city: dict[str, Any]) -> None:
    alice = cast.alice  # 碧海社区's worker sees full numbers and edits people
    people = export(alice, "people")
    # 李四 has no ID number: found by name + area; giving her one records it (a wrong checksum is named).
    report = excel.import_workbook(actor=alice, kind="people", data=edit(people, "姓名", "李四", "身份证号",
                                                                         "110105195012310025"))
    assert [e.column for e in report.errors] == ["身份证号"] and "校验码" in report.errors[0].reason
    li_id = "110105195012310029"
    report = excel.import_workbook(actor=alice, kind="people", data=edit(people, "姓名", "李四", "身份证号", li_id))
    assert report.ok and counts(report) == (0, 1, report.rows - 1, 0), report.errors
    li = Person.objects.get(name="李四")
    assert li.id_number == li_id and Person.objects.filter(name="李四").count() == 1

    # Two people of the same name without ID numbers in one building: the row cannot say which one.
    registry.person_create(actor=None, area=cast.building, name="钱七")
    registry.person_create(actor=None, area=cast.building, name="钱七")
    report = excel.import_workbook(actor=alice, kind="people", data=export(alice, "people"))
    rows = [e.row for e in report.errors]
    assert [e.column for e in report.errors] == ["姓名", "姓名"] and len(set(rows)) == 2
    assert all("钱七" in e.reason for e in report.errors) and report.refused == 2


def test_a_masked_number_whose_visible_digits_were_edited_is_refused(cast: Cast, city: dict[str, Any]) -> None:
    data = edit(export(cast.admin, "units"), "统一社会信用代码", UNIT_CODE, "联系电话", "137****0136")
    report = excel.import_workbook(actor=cast.admin, kind="units", data=data)
    assert [(e.column, "脱敏" in e.reason) for e in report.errors] == [("联系电话", True)]
    data = edit(export(cast.admin, "people"), "姓名", "赵六", "身份证号", "110***********0099")
    report = excel.import_workbook(actor=cast.admin, kind="people", data=data)
    assert [e.column for e in report.errors] == ["身份证号"]


def test_a_member_moved_to_the_branch_of_her_own_area_by_a_repeated_name(cast: Cast, city: dict[str, Any]) -> None:
    """党组织关系 holds a name; two branches are called 第1网格党支部, and the one above the person's home wins."""
    zhao = Person.objects.get(name="赵六")
    registry.party_member_update(actor=None, member=zhao.party_member, changes={"organisation": city["bihai"]})
    data = edit(export(cast.olga, "people"), "姓名", "赵六", "党组织关系", "第1网格党支部")
    report = excel.import_workbook(actor=cast.olga, kind="people", data=data)
    assert report.ok and report.updated == 1, report.errors
    assert PartyMember.objects.get(person=zhao).organisation == city["branch3"]
    # An empty 党组织关系 cannot end a membership: that is a transfer, done on the member's page.
    ended = edit(edit(data, "姓名", "赵六", "党组织关系", ""), "姓名", "赵六", "党员类别", "")
    report = excel.import_workbook(actor=cast.olga, kind="people", data=ended)
    assert [e.column for e in report.errors] == ["党组织关系"]


# ------------------------------------------------------------------------------------------------ scope


def test_a_street_official_adds_a_compound_inside_her_street(cast: Cast, city: dict[str, Any]) -> None:
    stan = cast.stan  # street official of 新华街道: no right to the tree above estates
    data = workbook(titles("areas"), [
        row("areas", {"名称": "海鸥二期", "代码": "99010100100100202", "层级": "小区", "上级代码": cast.grid2.code,
                      "户数": 180}),
        row("areas", {"名称": "1号楼", "代码": "99010100100100202001", "层级": "楼栋",
                      "上级代码": "99010100100100202"}),
        row("areas", {"名称": "桥东花园", "代码": "99010100200100001", "层级": "小区",
                      "上级代码": cast.community3.code}),  # 新城街道: not hers
        row("areas", {"名称": "新网格", "代码": "990101001001003", "层级": "网格",
                      "上级代码": cast.community.code}),  # grids are the tree editor's
    ])
    report = excel.import_workbook(actor=stan, kind="areas", data=data)
    assert [(e.row, e.column) for e in report.errors] == [(4, "上级代码"), (5, "上级代码")]
    assert "权限" in report.errors[0].reason and report.refused == 2
    assert not Area.objects.filter(code="99010100100100202").exists()
    dry = excel.import_workbook(actor=stan, kind="areas", data=data, dry_run=True)
    assert counts(dry) == (2, 0, 0, 2)  # what the good rows would do

    report = excel.import_workbook(actor=stan, kind="areas", data=workbook(titles("areas"), [
        row("areas", {"名称": "海鸥二期", "代码": "99010100100100202", "层级": "小区", "上级代码": cast.grid2.code,
                      "户数": 180}),
        row("areas", {"名称": "1号楼", "代码": "99010100100100202001", "层级": "楼栋",
                      "上级代码": "99010100100100202"}),
    ]))
    assert report.ok and counts(report) == (2, 0, 0, 0), report.errors
    compound = Area.objects.get(code="99010100100100202")
    assert compound.path.startswith(cast.grid2.path) and compound.households == 180
    assert AuditEntry.objects.filter(action="registry.area.create", actor=stan).count() == 2


def test_someone_elses_export_is_refused_only_where_it_leaves_the_importers_scope(cast: Cast,
                                                                                   city: dict[str, Any]) -> None:
    """The city's export, imported by a community worker: her own rows are fine, every other row is refused with
    its row and column, and nothing is written."""
    data = edit(export(cast.admin, "units"), "统一社会信用代码", UNIT_CODE_2, "职工数", 30)
    before = state()
    report = excel.import_workbook(actor=cast.charlie, kind="units", data=data)  # 港北社区: neither unit is his
    assert [(e.row, e.column) for e in report.errors] == [(2, "统一社会信用代码"), (3, "统一社会信用代码")]
    assert all("权限范围" in e.reason for e in report.errors)
    report = excel.import_workbook(actor=cast.alice, kind="units", data=data)  # 碧海社区: both are hers
    assert report.ok and counts(report) == (0, 1, 1, 0), report.errors
    assert state()[1] != before[1] and MemberUnit.objects.get(credit_code=UNIT_CODE_2).staff_count == 30

    areas = excel.import_workbook(actor=cast.alice, kind="areas", data=export(cast.admin, "areas"))
    mine = Area.objects.filter(path__startswith=cast.community.path).count()
    assert areas.refused == areas.rows - mine and {e.column for e in areas.errors} == {"代码"}


# ------------------------------------------------------------------------------------------------ progress


def test_progress_is_reported_with_increasing_counts(cast: Cast, city: dict[str, Any],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(excel, "PROGRESS_EVERY", 2)
    calls: list[tuple[int, int]] = []
    data = export(cast.admin, "areas")
    report = excel.import_workbook(actor=cast.admin, kind="areas", data=data, dry_run=True,
                                   progress=lambda done, total: calls.append((done, total)))
    assert report.ok and report.rows > 4
    assert [d for d, _t in calls] == sorted({d for d, _t in calls}) and calls[-1] == (report.rows, report.rows)
    assert {t for _d, t in calls} == {report.rows} and len(calls) == report.rows // 2 + report.rows % 2


# ------------------------------------------------------------------------------------------------ the page


def test_the_transfer_page_checks_and_imports_an_edited_export(client: Any, cast: Cast, city: dict[str, Any]) -> None:
    """Through the page a user has (组织体系 → 导入导出): the export, edited, is first checked (预检), then imported."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    client.force_login(cast.admin)
    data = edit(client.get(reverse("web:export", args=["units"])).getvalue(), "统一社会信用代码", UNIT_CODE,
                "职工数", 15)
    before = state()
    page = client.post(reverse("web:transfer"), {"kind": "units", "dry_run": "1",
                                                  "file": SimpleUploadedFile("units.xlsx", data)}, follow=True)
    assert page.status_code == 200 and "将新建 0 行，更新 1 行，1 行无变化" in page.content.decode()
    assert state() == before
    page = client.post(reverse("web:transfer"), {"kind": "units", "file": SimpleUploadedFile("units.xlsx", data)},
                       follow=True)
    assert page.status_code == 200
    assert MemberUnit.objects.get(credit_code=UNIT_CODE).staff_count == 15
    assert AuditEntry.objects.filter(action="registry.unit.update", actor=cast.admin).count() == 1
