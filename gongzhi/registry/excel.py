"""Excel in and out for the registry (G2): templates to download, all-or-nothing imports through the registry's
actions with a report naming row, column and reason, and exports of what the viewer may see, masked (R4)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from gongzhi.core.errors import DomainError, InvalidInput
from gongzhi.core.scope import scoped

from . import services
from .models import (
    Area,
    AreaKind,
    MemberStatus,
    MemberUnit,
    OrgLevel,
    PartyMember,
    PartyOrganisation,
    Person,
    Sector,
)
from .presenters import id_number_for, phone_for

MAX_ROWS = 20_000
YES = {"是", "Y", "YES", "TRUE", "1", "√"}


@dataclass(frozen=True)
class Column:
    title: str
    field: str  # the service argument it feeds (error fields map back to the title through this)
    help: str
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()  # (value, label): the sheet shows labels


@dataclass(frozen=True)
class SheetSpec:
    kind: str
    title: str
    columns: tuple[Column, ...]


def _choices(enum: Any) -> tuple[tuple[str, str], ...]:
    return tuple((value, str(label)) for value, label in enum.choices)


SHEETS: dict[str, SheetSpec] = {
    "areas": SheetSpec("areas", "区域", (
        Column("名称", "name", "如：碧海社区", True),
        Column("代码", "code", "区划代码、统计用区划代码或网格编码，全市唯一", True),
        Column("层级", "kind", "市/区县/街道/社区/网格/小区/楼栋", True, _choices(AreaKind)),
        Column("上级代码", "parent", "上级区域的代码（市级留空）；可引用本表上方各行"),
        Column("户数", "households", "非负整数"),
        Column("人口", "population", "非负整数"),
    )),
    "units": SheetSpec("units", "驻区单位", (
        Column("单位名称", "name", "", True),
        Column("统一社会信用代码", "credit_code", "18位，按 GB 32100 校验", True),
        Column("类别", "sector", "机关、国有企业、非公企业、社会组织等", True, _choices(Sector)),
        Column("区域代码", "area", "单位所在区域的代码", True),
        Column("地址", "address", ""),
        Column("联系人", "contact_name", ""),
        Column("联系电话", "contact_phone", "手机11位或固话"),
        Column("职工数", "staff_count", "非负整数"),
    )),
    "organisations": SheetSpec("organisations", "党组织", (
        Column("名称", "name", "", True),
        Column("组织形式", "level", "党委、党工委、党总支、党支部、联合党支部、党小组", True, _choices(OrgLevel)),
        Column("领域", "sector", "街道社区、机关、非公企业、社会组织等", False, _choices(Sector)),
        Column("区域代码", "area", "党组织所在区域的代码", True),
        Column("上级党组织", "parent", "上级党组织的名称（须已存在或在本表上方）"),
        Column("所属单位信用代码", "unit", "单位党组织填写所属单位的统一社会信用代码"),
        Column("设大工委/大党委", "has_joint_committee", "是/否"),
        Column("成立日期", "founded_on", "如 2021-07-01"),
    )),
    "people": SheetSpec("people", "人员", (
        Column("姓名", "name", "", True),
        Column("区域代码", "area", "居住的楼栋或小区代码", True),
        Column("电话", "phone", "手机11位或固话"),
        Column("身份证号", "id_number", "18位，按 GB 11643 校验"),
        Column("困难/独居", "is_vulnerable", "是/否"),
        Column("党组织关系", "organisation", "党员填写组织关系所在党组织的名称"),
        Column("党员类别", "status", "正式党员/预备党员", False, _choices(MemberStatus)),
        Column("工作单位信用代码", "work_unit", "在职党员填写"),
        Column("流动党员", "is_mobile", "是/否"),
        Column("流出地", "outflow_place", ""),
        Column("流入地", "inflow_place", ""),
    )),
}


@dataclass
class RowError:
    row: int
    column: str
    reason: str


@dataclass
class ImportReport:
    kind: str
    created: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _spec(kind: str) -> SheetSpec:
    if kind not in SHEETS:
        raise InvalidInput.on("kind", _("未知的表格类型"))
    return SHEETS[kind]


# ------------------------------------------------------------------------------------------------ templates


def template_workbook(kind: str) -> bytes:
    spec = _spec(kind)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = spec.title
    ws.append([c.title + ("*" if c.required else "") for c in spec.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="C0272D")
    ws.freeze_panes = "A2"
    for i, column in enumerate(spec.columns, start=1):
        letter = ws.cell(row=1, column=i).column_letter
        ws.column_dimensions[letter].width = max(12, len(column.title) * 2 + 4)
        if column.choices:
            labels = ",".join(label for _v, label in column.choices)
            if len(labels) < 250:
                check = DataValidation(type="list", formula1=f'"{labels}"', allow_blank=not column.required)
                check.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
                ws.add_data_validation(check)
    notes = wb.create_sheet("说明")
    notes.append(["列", "必填", "说明", "可选值"])
    for column in spec.columns:
        notes.append([column.title, "是" if column.required else "", column.help,
                      "、".join(label for _v, label in column.choices)])
    notes.column_dimensions["C"].width = 50
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ------------------------------------------------------------------------------------------------ import


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone typed as a number
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return str(value).strip().replace("\x00", "")


def _bool(value: str) -> bool:
    return value.upper() in YES


def _label_to_value(column: Column, raw: str) -> str:
    for value, label in column.choices:
        if raw in (value, label):
            return value
    if column.field == "kind" and raw == "区县":
        return AreaKind.DISTRICT
    raise InvalidInput.on(column.field, _("不是可选值：{value}").format(value=raw))


def _date(field_name: str, raw: str) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw[:10])
    except ValueError:
        raise InvalidInput.on(field_name, _("日期格式应为 2021-07-01")) from None


def _count(field_name: str, raw: str) -> int:
    if not raw:
        return 0
    if not raw.isdigit():
        raise InvalidInput.on(field_name, _("须为非负整数"))
    return int(raw)


def _area(code: str, field_name: str = "area") -> Area:
    area = Area.objects.filter(code=code).first()
    if area is None:
        raise InvalidInput.on(field_name, _("找不到代码为 {code} 的区域").format(code=code))
    return area


def _unit(code: str, field_name: str) -> MemberUnit:
    unit = MemberUnit.objects.filter(credit_code=code.upper()).first()
    if unit is None:
        raise InvalidInput.on(field_name, _("找不到信用代码为 {code} 的单位").format(code=code))
    return unit


def _org(name: str, field_name: str) -> PartyOrganisation:
    org = PartyOrganisation.objects.filter(name=name).order_by("pk").first()
    if org is None:
        raise InvalidInput.on(field_name, _("找不到党组织：{name}").format(name=name))
    return org


def _import_area(actor: Any, v: dict[str, str]) -> None:
    parent = _area(v["parent"], "parent") if v["parent"] else None
    services.area_create(actor=actor, parent=parent, name=v["name"], code=v["code"], kind=v["kind"],
                         households=_count("households", v["households"]),
                         population=_count("population", v["population"]))


def _import_unit(actor: Any, v: dict[str, str]) -> None:
    services.unit_create(actor=actor, area=_area(v["area"]), name=v["name"], credit_code=v["credit_code"],
                         sector=v["sector"], address=v["address"], contact_name=v["contact_name"],
                         contact_phone=v["contact_phone"], staff_count=_count("staff_count", v["staff_count"]))


def _import_org(actor: Any, v: dict[str, str]) -> None:
    services.party_org_create(
        actor=actor, area=_area(v["area"]), name=v["name"], level=v["level"], sector=v["sector"] or Sector.COMMUNITY,
        parent=_org(v["parent"], "parent") if v["parent"] else None,
        unit=_unit(v["unit"], "unit") if v["unit"] else None,
        has_joint_committee=_bool(v["has_joint_committee"]), founded_on=_date("founded_on", v["founded_on"]),
    )


def _import_person(actor: Any, v: dict[str, str]) -> None:
    person = services.person_create(actor=actor, area=_area(v["area"]), name=v["name"], phone=v["phone"],
                                    id_number=v["id_number"] or None, is_vulnerable=_bool(v["is_vulnerable"]))
    if v["organisation"]:
        services.party_member_register(
            actor=actor, person=person, organisation=_org(v["organisation"], "organisation"),
            status=v["status"] or MemberStatus.FULL,
            work_unit=_unit(v["work_unit"], "work_unit") if v["work_unit"] else None,
            is_mobile=_bool(v["is_mobile"]), outflow_place=v["outflow_place"], inflow_place=v["inflow_place"],
        )


IMPORTERS: dict[str, Callable[[Any, dict[str, str]], None]] = {
    "areas": _import_area, "units": _import_unit, "organisations": _import_org, "people": _import_person,
}


def import_workbook(*, actor: Any, kind: str, data: bytes) -> ImportReport:
    """Import every row or none: a bad row is reported (row, column, reason) and nothing of the file is kept."""
    spec = _spec(kind)
    report = ImportReport(kind=kind)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        report.errors.append(RowError(0, "", _("文件不是有效的 Excel（.xlsx）文件")))
        return report
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = [(_text(h).rstrip("*")) for h in next(rows, ())]
    expected = [c.title for c in spec.columns]
    missing = [t for t in expected if t not in header]
    if missing:
        report.errors.append(RowError(1, "、".join(missing), _("缺少列，请使用下载的模板")))
        return report
    position = {title: header.index(title) for title in expected}
    by_field = {c.field: c for c in spec.columns}
    importer = IMPORTERS[kind]
    with transaction.atomic():
        for number, raw in enumerate(rows, start=2):
            if number - 1 > MAX_ROWS:
                report.errors.append(RowError(number, "", _("一次最多导入 {n} 行").format(n=MAX_ROWS)))
                break
            cells = [_text(raw[position[c.title]]) if position[c.title] < len(raw) else "" for c in spec.columns]
            if not any(cells):
                continue
            values = {c.field: cell for c, cell in zip(spec.columns, cells, strict=True)}
            try:
                with transaction.atomic():
                    for column in spec.columns:
                        if column.required and not values[column.field]:
                            raise InvalidInput.on(column.field, _("必填"))
                        if column.choices and values[column.field]:
                            values[column.field] = _label_to_value(column, values[column.field])
                    importer(actor, values)
            except DomainError as exc:
                fields = exc.fields or {"": [exc.message]}
                for name, reasons in fields.items():
                    title = by_field[name].title if name in by_field else name
                    for reason in reasons:
                        report.errors.append(RowError(number, title, reason))
            else:
                report.created += 1
        if report.errors:
            transaction.set_rollback(True)
            report.created = 0
    if report.created == 0 and not report.errors:
        report.errors.append(RowError(0, "", _("文件中没有数据行")))
    return report


# ------------------------------------------------------------------------------------------------ export


def _export_rows(viewer: Any, kind: str, qs: QuerySet[Any]) -> Iterable[list[Any]]:
    if kind == "areas":
        parents = {}
        for a in qs.iterator(chunk_size=2000):
            parents[a.path] = a.code
            yield [a.name, a.code, a.get_kind_display(), parents.get(a.path[:-Area.steplen], ""), a.households,
                   a.population]
    elif kind == "units":
        for u in qs.select_related("area").iterator(chunk_size=2000):
            yield [u.name, u.credit_code, u.get_sector_display(), u.area.code, u.address, u.contact_name,
                   phone_for(viewer, u.contact_phone, u.area.path), u.staff_count]
    elif kind == "organisations":
        for o in qs.select_related("area", "parent", "unit").iterator(chunk_size=2000):
            yield [o.name, o.get_level_display(), o.get_sector_display(), o.area.code,
                   o.parent.name if o.parent else "", o.unit.credit_code if o.unit else "",
                   "是" if o.has_joint_committee else "否", o.founded_on.isoformat() if o.founded_on else ""]
    else:
        members = qs.select_related("area", "party_member__organisation", "party_member__work_unit")
        for p in members.iterator(chunk_size=2000):
            m: PartyMember | None = getattr(p, "party_member", None)
            yield [p.name, p.area.code, phone_for(viewer, p.phone, p.area.path, p.pk),
                   id_number_for(viewer, p.id_number, p.area.path, p.pk), "是" if p.is_vulnerable else "否",
                   m.organisation.name if m else "", m.get_status_display() if m else "",
                   m.work_unit.credit_code if m and m.work_unit else "", "是" if m and m.is_mobile else "",
                   m.outflow_place if m else "", m.inflow_place if m else ""]


MODELS: dict[str, type[Any]] = {"areas": Area, "units": MemberUnit, "organisations": PartyOrganisation,
                                "people": Person}


def export_workbook(*, viewer: Any, kind: str, queryset: QuerySet[Any] | None = None) -> bytes:
    """Everything the viewer may see (or the given, already scoped, queryset), in the template's columns, so an
    export can be edited and imported again. Personal numbers are masked unless the viewer's role needs them."""
    spec = _spec(kind)
    qs = queryset if queryset is not None else scoped(viewer, MODELS[kind])
    qs = qs.order_by("path") if kind == "areas" else qs.order_by("pk")
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(spec.title)
    ws.append([c.title for c in spec.columns])
    for row in _export_rows(viewer, kind, qs):
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
