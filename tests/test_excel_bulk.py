"""The people sheet imported in bulk (issue 9, item 4): look-ups per chunk rather than per row, bulk writes in short
transactions, and still every cell checked before anything is written, the importer's scope, one audit entry per
changed record, the version stepped on updates. Every file is a real .xlsx built with openpyxl."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook

from gongzhi.core.models import AuditEntry
from gongzhi.core.scope import forget_scope
from gongzhi.registry import excel
from gongzhi.registry import services as registry
from gongzhi.registry.models import Area, AreaKind, PartyMember, Person, Sector
from tests.cast import Cast
from tests.test_excel import row, titles, workbook

WANG_ID = "32058219900301107X"
ZHAO_ID = "110105198001010016"
UNIT_CODE = "91350100M000100Y43"


def people(cells: list[dict[str, Any]]) -> bytes:
    return workbook(titles("people"), [row("people", c) for c in cells])


def residents(count: int, area: Area, prefix: str = "居民", member_org: str = "") -> bytes:
    """``count`` new people; every other one a party member of ``member_org`` when given."""
    return people([{"姓名": f"{prefix}{i:05d}", "区域代码": area.code, "电话": f"139{i:08d}",
                    **({"党组织关系": member_org, "工作单位信用代码": UNIT_CODE} if member_org and i % 2 else {})}
                   for i in range(count)])


def queries_of(actor: Any, data: bytes) -> tuple[int, excel.ImportReport]:
    forget_scope()  # count the importer's scope look-up every time, not only the first
    actor._gongzhi_scope = None
    with CaptureQueriesContext(connection) as captured:
        report = excel.import_workbook(actor=actor, kind="people", data=data)
    return len(captured), report


def test_queries_do_not_grow_with_rows(cast: Cast) -> None:
    org = registry.party_org_create(actor=None, area=cast.grid1, name="碧海社区第1网格党支部", level="branch")
    registry.unit_create(actor=None, area=cast.community, name="碧海物业", credit_code=UNIT_CODE,
                         sector=Sector.PROPERTY)
    small, report = queries_of(cast.admin, residents(10, cast.building, "甲", org.name))
    assert report.ok and report.created == 10, report.errors
    big, report = queries_of(cast.admin, residents(400, cast.building, "乙", org.name))
    assert report.ok and report.created == 400, report.errors
    # The same look-ups and writes; only the INSERTs are split into batches (SQLite binds at most 999 values).
    assert big - small <= 12, (small, big)
    assert big < 400 / 10
    assert Person.objects.filter(name__startswith="乙").count() == 400
    assert PartyMember.objects.filter(person__name__startswith="乙", organisation=org).count() == 200

    # An export of them all, imported again: a look-up per chunk, nothing written.
    again, report = queries_of(cast.admin, excel.export_workbook(viewer=cast.admin, kind="people"))
    assert report.ok and (report.created, report.updated, report.unchanged) == (0, 0, 411), report.errors
    assert again <= small + 2, (small, again)


def test_every_created_record_has_its_audit_entry(cast: Cast) -> None:
    org = registry.party_org_create(actor=None, area=cast.grid1, name="第1网格党支部", level="branch")
    registry.unit_create(actor=None, area=cast.community, name="碧海物业", credit_code=UNIT_CODE,
                         sector=Sector.PROPERTY)
    report = excel.import_workbook(actor=cast.admin, kind="people", data=residents(30, cast.building, "丙", org.name))
    assert report.ok and report.created == 30, report.errors
    made = AuditEntry.objects.filter(action="registry.person.create", actor=cast.admin)
    assert made.count() == 30
    ids = set(Person.objects.filter(name__startswith="丙").values_list("pk", flat=True))
    assert {int(e.object_id) for e in made} == ids
    entry = made.get(object_id=str(Person.objects.get(name="丙00003").pk))
    assert entry.after["phone"] == "139****0003" and entry.after["area"] == cast.building.pk  # masked, as record()
    assert entry.area_path == cast.building.path and entry.actor_name == "admin"
    members = AuditEntry.objects.filter(action="registry.party_member.create", actor=cast.admin)
    assert members.count() == 15
    assert set(members.values_list("object_id", flat=True)) == {
        str(pk) for pk in PartyMember.objects.filter(person__name__startswith="丙").values_list("pk", flat=True)}
    assert all(m.in_service for m in PartyMember.objects.filter(person__name__startswith="丙"))


def test_an_existing_person_is_updated_by_id_number_with_her_version_stepped(cast: Cast) -> None:
    wang = registry.person_create(actor=None, area=cast.building, name="王芳", phone="13900139000",
                                  id_number=WANG_ID)
    moved = registry.area_create(actor=None, parent=cast.compound, name="2号楼", code="99010100100100101002",
                                 kind=AreaKind.BUILDING)
    audits = AuditEntry.objects.count()
    data = people([
        {"姓名": "王芳", "区域代码": moved.code, "电话": "13911112222", "身份证号": WANG_ID.lower()},
        {"姓名": "新人", "区域代码": cast.building.code, "身份证号": ZHAO_ID},
    ])
    dry = excel.import_workbook(actor=cast.alice, kind="people", data=data, dry_run=True)
    assert dry.ok and (dry.created, dry.updated, dry.unchanged) == (1, 1, 0)
    assert AuditEntry.objects.count() == audits and not Person.objects.filter(name="新人").exists()
    report = excel.import_workbook(actor=cast.alice, kind="people", data=data)
    assert report.ok and (report.created, report.updated, report.unchanged) == (1, 1, 0), report.errors
    wang.refresh_from_db()
    assert (wang.area, wang.phone, wang.id_number, wang.version) == (moved, "13911112222", WANG_ID, 2)
    update = AuditEntry.objects.get(action="registry.person.update", object_id=str(wang.pk))
    assert update.before == {"area": cast.building.pk, "phone": "139****9000"}
    assert update.after == {"area": moved.pk, "phone": "139****2222"}
    assert update.reason == "Excel 导入" and update.actor == cast.alice
    # The same file again changes nothing: no write, no entry, the version stays.
    again = excel.import_workbook(actor=cast.alice, kind="people", data=data)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2), again.errors
    wang.refresh_from_db()
    assert wang.version == 2 and AuditEntry.objects.count() == audits + 2


def test_rows_outside_the_importers_scope_are_refused_and_nothing_is_written(cast: Cast) -> None:
    harbour = registry.area_create(actor=None, parent=cast.grid3, name="望江花园", code="99010100100200101",
                                   kind=AreaKind.COMPOUND)
    registry.person_create(actor=None, area=harbour, name="赵六", id_number=ZHAO_ID)
    before = (Person.objects.count(), AuditEntry.objects.count())
    data = people([
        {"姓名": "张三", "区域代码": cast.building.code},  # hers
        {"姓名": "李四", "区域代码": harbour.code},  # 港北社区: not hers
        {"姓名": "赵六", "区域代码": cast.building.code, "身份证号": ZHAO_ID},  # registered in 港北
        {"姓名": "王五", "区域代码": cast.community.code},  # hers, but a community is no address
    ])
    report = excel.import_workbook(actor=cast.alice, kind="people", data=data)
    assert [(e.row, e.column) for e in report.errors] == [(3, "区域代码"), (4, "身份证号"), (5, "区域代码")]
    assert "权限范围" in report.errors[0].reason and "权限范围以外" in report.errors[1].reason
    assert "小区或楼栋" in report.errors[2].reason
    assert report.created == 0 and (Person.objects.count(), AuditEntry.objects.count()) == before
    # A street official sees the building but may not register people there: a permission error on its column.
    report = excel.import_workbook(actor=cast.stan, kind="people", data=people([
        {"姓名": "张三", "区域代码": cast.building.code}]))
    assert [(e.row, e.column, e.reason) for e in report.errors] == [(2, "区域代码", "您没有权限执行此操作")]


def test_one_person_named_twice_in_a_file_is_refused(cast: Cast) -> None:
    registry.person_create(actor=None, area=cast.compound, name="李四")  # no ID number: found by name and area
    data = people([
        {"姓名": "李四", "区域代码": cast.compound.code, "困难/独居": "是"},
        {"姓名": "李四", "区域代码": cast.compound.code, "身份证号": "110105195012310029"},
        {"姓名": "钱七", "区域代码": cast.building.code},
        {"姓名": "钱七", "区域代码": cast.building.code},
    ])
    report = excel.import_workbook(actor=cast.alice, kind="people", data=data)
    assert [(e.row, e.column) for e in report.errors] == [(3, "身份证号"), (5, "姓名")]
    assert "第 2 行" in report.errors[0].reason and "第 4 行" in report.errors[1].reason
    assert not Person.objects.filter(name="钱七").exists()


def test_more_than_twenty_thousand_rows_are_accepted_and_written_in_chunks(cast: Cast,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    assert excel.MAX_ROWS >= 100_000
    count = 20_500
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("人员")
    ws.append(["姓名", "区域代码"])
    for i in range(count):
        ws.append([f"居民{i:05d}", cast.building.code])
    out = io.BytesIO()
    wb.save(out)
    transactions: list[int] = []
    original = excel._write_people

    def counted(actor: Any, plans: list[Any]) -> None:
        transactions.append(len(plans))
        original(actor, plans)

    monkeypatch.setattr(excel, "_write_people", counted)
    calls: list[tuple[int, int]] = []
    report = excel.import_workbook(actor=cast.alice, kind="people", data=out.getvalue(),
                                   progress=lambda done, total: calls.append((done, total)))
    assert report.ok and report.rows == count and report.created == count, report.errors[:3]
    assert Person.objects.filter(area=cast.building).count() == count + 1  # and 鲍勃
    assert AuditEntry.objects.filter(action="registry.person.create", actor=cast.alice).count() == count
    assert max(transactions) <= excel.BULK_CHUNK and sum(transactions) == count  # short transactions
    done = [d for d, _t in calls]
    assert done == sorted(set(done)) and calls[-1] == (count, count) and {t for _d, t in calls} == {count}


def test_a_change_between_checking_and_writing_stops_at_that_chunk(cast: Cast,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone edits one of the file's persons while the import writes: her edit is kept, the chunks before are
    kept, and the report says where it stopped; the same file again completes the rest."""
    monkeypatch.setattr(excel, "BULK_CHUNK", 5)
    existing = [registry.person_create(actor=None, area=cast.building, name=f"住户{i}") for i in range(12)]
    data = people([{"姓名": f"住户{i}", "区域代码": cast.building.code, "困难/独居": "是"} for i in range(12)])
    original = excel._write_people
    chunks: list[int] = []

    def meanwhile(actor: Any, plans: list[Any]) -> None:
        chunks.append(len(plans))
        if len(chunks) == 2:  # another user edits 住户7 after the check, before its chunk is written
            registry.person_update(actor=None, person=Person.objects.get(pk=existing[7].pk),
                                   changes={"phone": "13700137000"})
        original(actor, plans)

    monkeypatch.setattr(excel, "_write_people", meanwhile)
    report = excel.import_workbook(actor=cast.alice, kind="people", data=data)
    assert [(e.row, e.column) for e in report.errors] == [(7, "")]
    assert "第 7–11 行" in report.errors[0].reason and "已写入 5 行" in report.errors[0].reason
    assert report.updated == 5
    vulnerable = set(Person.objects.filter(is_vulnerable=True).values_list("name", flat=True))
    assert vulnerable == {f"住户{i}" for i in range(5)}
    assert Person.objects.get(pk=existing[7].pk).phone == "13700137000"  # her edit is not lost

    monkeypatch.setattr(excel, "_write_people", original)
    again = excel.import_workbook(actor=cast.alice, kind="people", data=data)
    assert again.ok and (again.updated, again.unchanged) == (7, 5), again.errors
    assert Person.objects.filter(is_vulnerable=True).count() == 12
    assert AuditEntry.objects.filter(action="registry.person.update", actor=cast.alice).count() == 12
