"""Excel in and out for the registry (G2): templates to download, all-or-nothing imports through the registry's
actions with a report naming row, column and reason (R3), and exports of what the viewer may see, masked (R4).

The sheet layout is a file format shared with people's own 台账, so it does not follow the interface language:
column titles and choice labels are always the Chinese ones, and an export can be edited and imported again.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Literal

from django.db import DatabaseError, transaction
from django.db.models import Model, OuterRef, QuerySet, Subquery
from django.db.models.functions import Length, Substr
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.datavalidation import DataValidation

from gongzhi.accounts.roles import Cap
from gongzhi.core.errors import DomainError, Forbidden, InvalidInput
from gongzhi.core.scope import as_scope, scoped

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
from .presenters import personal_numbers, phone_for

# One import is one transaction: beyond this a file holds locks too long and a report becomes unreadable.
MAX_ROWS = 20_000
# Rows of the template that carry drop-down lists and text formats (a little beyond what one import accepts).
TEMPLATE_ROWS = MAX_ROWS + 1
# Columns people add to their own 台账 that carry nothing to import; any other unknown title is refused, because a
# misspelt title (联系电话 for 电话) would otherwise silently drop a whole column.
IGNORED_TITLES = frozenset({"序号", "备注"})
# The header may sit under a title row ("XX社区人员台账"); look for it this far down.
HEADER_SEARCH_ROWS = 10
# Excel keeps 15 significant digits: an ID number typed as a number has already lost its tail.
EXCEL_DIGITS = 15
YES = frozenset({"是", "Y", "YES", "TRUE", "1", "√", "✓"})
NO = frozenset({"否", "N", "NO", "FALSE", "0", "×", "✗"})
EXPORT_CHUNK = 2000
PROGRESS_EVERY = 200  # rows between two progress reports of an import

Parse = Literal["text", "phone", "count", "bool", "date", "choice"]


@dataclass(frozen=True)
class Column:
    """One column of a sheet: its Chinese title (the format's key), the service argument it feeds (service errors
    on that field are reported under this title) and how the cell is read."""

    title: str
    field: str
    help: str  # marked with gettext_noop, translated when the 说明 sheet is written
    required: bool = False  # the column must be in the header and filled in every row
    parse: Parse = "text"
    choices: type[Any] | None = None  # a TextChoices enum: the sheet shows its Chinese labels
    as_text: bool = False  # long digit strings (IDs, codes, phones): the template formats the column as text
    unique: bool = False  # two rows of one file may not repeat it
    personal: bool = False  # masked in exports for most viewers: a masked value cannot come back in


@dataclass(frozen=True)
class SheetSpec:
    """A kind of 台账: its sheet title, columns, and the column whose refusal is a permission problem."""

    kind: str
    title: str
    columns: tuple[Column, ...]
    area_field: str  # Forbidden from an action names this column: the area decides what the actor may do
    # (reference field, key field) when rows refer to rows above them: 上级代码 → 代码, 上级党组织 → 名称.
    self_reference: tuple[str, str] | None = None

    @property
    def titles(self) -> list[str]:
        return [c.title for c in self.columns]

    def by_field(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.field == name), None)


SHEETS: dict[str, SheetSpec] = {
    "areas": SheetSpec("areas", "区域", (
        Column("名称", "name", N_("如：碧海社区"), required=True),
        Column("代码", "code", N_("区划代码、统计用区划代码或网格编码，全市唯一"), required=True, as_text=True,
               unique=True),
        Column("层级", "kind", N_("市、区/县、街道、社区、网格、小区、楼栋"), required=True, parse="choice",
               choices=AreaKind),
        Column("上级代码", "parent", N_("上级区域的代码（市级留空）；可引用本表上方各行"), as_text=True),
        Column("户数", "households", N_("非负整数"), parse="count"),
        Column("人口", "population", N_("非负整数"), parse="count"),
    ), area_field="parent", self_reference=("parent", "code")),
    "organisations": SheetSpec("organisations", "党组织", (
        Column("名称", "name", N_("党组织全称，如：碧海社区第1网格党支部"), required=True),
        Column("组织形式", "level", N_("党委、党工委、党总支、党支部、联合党支部、党小组、临时党支部"), required=True,
               parse="choice", choices=OrgLevel),
        Column("领域", "sector", N_("留空为街道社区；单位党组织留空则取所属单位的类别"), parse="choice",
               choices=Sector),
        Column("区域代码", "area", N_("党组织所在区域的代码"), required=True, as_text=True),
        Column("上级党组织", "parent", N_("上级党组织的名称：须在本组织所在区域或其上级区域，已存在或在本表上方")),
        Column("所属单位信用代码", "unit", N_("单位党组织填写所属单位的统一社会信用代码"), as_text=True),
        Column("设大工委/大党委", "has_joint_committee", N_("是/否，留空为否"), parse="bool"),
        Column("成立日期", "founded_on", N_("如 2021-07-01"), parse="date"),
    ), area_field="area", self_reference=("parent", "name")),
    "units": SheetSpec("units", "驻区单位", (
        Column("单位名称", "name", N_("单位全称"), required=True),
        Column("统一社会信用代码", "credit_code", N_("18位，按 GB 32100 校验"), required=True, as_text=True,
               unique=True),
        Column("类别", "sector", N_("机关、事业单位、国有企业、非公企业、社会组织等"), required=True, parse="choice",
               choices=Sector),
        Column("区域代码", "area", N_("单位所在区域的代码"), required=True, as_text=True),
        Column("地址", "address", ""),
        Column("联系人", "contact_name", ""),
        Column("联系电话", "contact_phone", N_("手机11位或固话，如 024-12345678"), parse="phone", as_text=True,
               personal=True),
        Column("职工数", "staff_count", N_("非负整数"), parse="count"),
    ), area_field="area"),
    "people": SheetSpec("people", "人员", (
        Column("姓名", "name", "", required=True),
        Column("区域代码", "area", N_("居住的楼栋或小区代码"), required=True, as_text=True),
        Column("电话", "phone", N_("手机11位或固话，如 024-12345678"), parse="phone", as_text=True,
               personal=True),
        Column("身份证号", "id_number", N_("18位，按 GB 11643 校验；末位可为 X"), as_text=True, unique=True,
               personal=True),
        Column("困难/独居", "is_vulnerable", N_("是/否，留空为否"), parse="bool"),
        # Party membership: these columns may be left out of the file entirely.
        Column("党组织关系", "organisation", N_("党员填写组织关系所在党组织的名称；非党员留空")),
        Column("党员类别", "status", N_("正式党员/预备党员，留空为正式党员"), parse="choice", choices=MemberStatus),
        Column("入党日期", "joined_on", N_("如 1998-07-01"), parse="date"),
        Column("工作单位信用代码", "work_unit", N_("在职党员填写工作单位的统一社会信用代码"), as_text=True),
        Column("流动党员", "is_mobile", N_("是/否，留空为否；流动党员须填写流出地或流入地"), parse="bool"),
        Column("流出地", "outflow_place", ""),
        Column("流入地", "inflow_place", ""),
    ), area_field="area"),
}

# The model behind each kind, for callers that build the export queryset themselves (the web layer filters it).
MODELS: dict[str, type[Model]] = {"areas": Area, "organisations": PartyOrganisation, "units": MemberUnit,
                                  "people": Person}
MEMBER_FIELDS = ("organisation", "status", "joined_on", "work_unit", "is_mobile", "outflow_place", "inflow_place")


@dataclass
class RowError:
    """One problem: the spreadsheet row (header = 1; 0 for the file as a whole), the column title, the reason."""

    row: int
    column: str
    reason: str


@dataclass
class ImportReport:
    kind: str
    created: int = 0  # rows written; 0 whenever there is an error, because then nothing is kept
    updated: int = 0  # existing rows (matched by their key) changed by the file
    unchanged: int = 0  # existing rows the file names without a change
    dry_run: bool = False  # checked and counted, then rolled back: what the import would do
    rows: int = 0  # data rows read from the file
    errors: list[RowError] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)  # what each importer returned (e.g. new accounts' passwords)

    @property
    def ok(self) -> bool:
        return not self.errors


def _spec(kind: str) -> SheetSpec:
    if kind not in SHEETS:
        raise InvalidInput.on("kind", _("未知的表格类型"))
    return SHEETS[kind]


_LABELS: dict[type[Any], tuple[tuple[str, str], ...]] = {}


def _labels(choices: type[Any]) -> tuple[tuple[str, str], ...]:
    """(value, Chinese label) pairs whatever the request's language: the file format must not change with it.
    Rendered on first use, not at import, because translations are not ready while apps load."""
    if choices not in _LABELS:
        with translation.override("zh-hans"):
            _LABELS[choices] = tuple((str(value), str(label)) for value, label in choices.choices)
    return _LABELS[choices]


def _label(choices: type[Any], value: str) -> str:
    return dict(_labels(choices)).get(value, value)


def _yes_no(value: bool) -> str:
    return "是" if value else "否"


# ------------------------------------------------------------------------------------------------ templates


def template_workbook(kind: str, spec: SheetSpec | None = None) -> bytes:
    """An empty sheet to fill in: required titles marked *, drop-down lists for choices and 是/否, ID and code columns
    formatted as text (so Excel keeps all 18 digits), and a 说明 sheet explaining every column. Other modules pass
    their own ``spec`` (the staff accounts sheet)."""
    spec = spec or _spec(kind)
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
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = max(12, len(column.title) * 2 + 4)
        if column.as_text:
            ws.column_dimensions[letter].number_format = "@"
        options = _options(column)
        if options:
            check = DataValidation(type="list", formula1='"{}"'.format(",".join(options)),
                                   allow_blank=not column.required, showErrorMessage=True,
                                   errorTitle=column.title, error=_("请从下拉列表中选择"))
            check.add(f"{letter}2:{letter}{TEMPLATE_ROWS}")
            ws.add_data_validation(check)
    notes = wb.create_sheet("说明")
    notes.append([_("列"), _("必填"), _("说明"), _("可选值")])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for column in spec.columns:
        notes.append([column.title, _("是") if column.required else "", _(column.help) if column.help else "",
                      "、".join(_options(column))])
    notes.append([])
    notes.append([_("整个文件要么全部导入，要么一行也不写入：有错误时会列出行号、列和原因。"
                    "一次最多 {n} 行。带 * 的列必须填写。").format(n=MAX_ROWS)])
    notes.column_dimensions["A"].width = 18
    notes.column_dimensions["C"].width = 60
    notes.column_dimensions["D"].width = 40
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _options(column: Column) -> list[str]:
    if column.choices is not None:
        return [label for _value, label in _labels(column.choices)]
    if column.parse == "bool":
        return ["是", "否"]
    return []


# ------------------------------------------------------------------------------------------------ reading cells


# What people write for a choice besides its label.
CHOICE_ALIASES: dict[type[Any], dict[str, str]] = {AreaKind: {"区": AreaKind.DISTRICT, "县": AreaKind.DISTRICT,
                                                              "区县": AreaKind.DISTRICT}}


class CellError(Exception):
    """A cell that cannot be read as its column says; reported under the column title."""


def _text(value: Any, column: Column) -> str:
    """A cell as text; numbers in ID, code and phone columns as their digits."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, int | float) and column.as_text:
        if isinstance(value, float) and not value.is_integer():
            raise CellError(_("应为文本，请将该列设为文本格式后重新填写"))
        digits = str(int(value))
        if len(digits) > EXCEL_DIGITS:
            raise CellError(_("超过15位的数字已被 Excel 截断，请将该列设为文本格式后重新填写"))
        return digits  # a phone typed as a number: 13800138000
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).replace("\x00", "").strip()


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


_PLAIN = Column("", "", "")


def _read(column: Column, value: Any) -> Any:
    """The cell as the service wants it. Excel hands over numbers, dates and booleans as such; typed text is read
    the way people write it in 台账 (2021年7月1日, 2021/7/1, 是/否, labels rather than codes)."""
    if column.parse == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value < 2958466:
            return from_excel(value).date()  # a date cell whose date format was lost
    raw = _text(value, column)
    if column.parse == "phone" and isinstance(value, int | float) and not (len(raw) == 11 and raw[0] == "1"):
        raw = "0" + raw  # a landline typed as a number lost its leading 0 (02412345678 → 2412345678)
    if not raw:
        if column.required:
            raise CellError(_("必填"))
        return None if column.parse == "date" else (False if column.parse == "bool" else "")
    if column.personal and "*" in raw:
        raise CellError(_("这是导出时脱敏的号码，不能导入；请填写完整号码或留空"))
    if column.parse == "count":
        digits = raw.replace(",", "")
        if not digits.isdigit():
            raise CellError(_("须为非负整数"))
        return int(digits)
    if column.parse == "bool":
        if raw.upper() in YES:
            return True
        if raw.upper() in NO:
            return False
        raise CellError(_("请填写“是”或“否”"))
    if column.parse == "choice":
        assert column.choices is not None
        aliases = CHOICE_ALIASES.get(column.choices, {})
        for value_, label in _labels(column.choices):
            if raw in (value_, label) or aliases.get(raw) == value_:
                return value_
        raise CellError(_("不是可选值，可选：{options}").format(options="、".join(_options(column))))
    if column.parse == "date":
        match = _DATE.match(raw)
        try:
            if match is None:
                raise ValueError(raw)
            return dt.date(*(int(part) for part in match.groups()))
        except ValueError:
            raise CellError(_("日期格式应为 2021-07-01")) from None
    return raw


# ------------------------------------------------------------------------------------------------ references


def _visible(actor: Any, model: type[Any]) -> QuerySet[Any]:
    """What the actor may refer to: their scope; everything for the platform itself (``actor=None``, data loads)."""
    return model._default_manager.all() if actor is None else scoped(actor, model)


def _area(actor: Any, code: str, field_name: str) -> Area:
    # Scoped, and one message for "no such code" and "not yours": an outsider learns nothing about other areas.
    area = _visible(actor, Area).filter(code=code).first()
    if area is None:
        raise InvalidInput.on(field_name, _("找不到代码为 {code} 的区域，或该区域不在您的权限范围内").format(code=code))
    return area


def _unit(code: str, field_name: str) -> MemberUnit:
    # Not scoped: credit codes are public records, and a member's work unit is usually outside their community.
    unit = MemberUnit.objects.filter(credit_code=code.upper()).first()
    if unit is None:
        raise InvalidInput.on(field_name, _("找不到统一社会信用代码为 {code} 的单位（须先导入或登记该单位）")
                              .format(code=code))
    return unit


def _one_org(candidates: QuerySet[PartyOrganisation], name: str, field_name: str, missing: str) -> PartyOrganisation:
    """Party organisations have no code, so a name must pick exactly one: refuse rather than guess."""
    found = list(candidates.filter(name=name).select_related("area").order_by("pk")[:6])
    if not found:
        raise InvalidInput.on(field_name, missing)
    if len(found) > 1:
        where = "、".join(f"{o.area.name}（{o.area.code}）" for o in found[:5])
        raise InvalidInput.on(field_name, _("有多个名为 {name} 的党组织：{where}，请改用唯一的名称").format(
            name=name, where=where))
    return found[0]


def _ancestor_paths(area: Area) -> list[str]:
    return [area.path[:end] for end in range(Area.steplen, len(area.path) + 1, Area.steplen)]


# ------------------------------------------------------------------------------------------------ one row per kind


def _import_area(actor: Any, v: dict[str, Any]) -> None:
    parent = _area(actor, v["parent"], "parent") if v["parent"] else None
    services.area_create(actor=actor, parent=parent, name=v["name"], code=v["code"], kind=v["kind"],
                         households=v["households"] or 0, population=v["population"] or 0)


def _import_unit(actor: Any, v: dict[str, Any]) -> None:
    services.unit_create(actor=actor, area=_area(actor, v["area"], "area"), name=v["name"],
                         credit_code=v["credit_code"], sector=v["sector"], address=v["address"],
                         contact_name=v["contact_name"], contact_phone=v["contact_phone"],
                         staff_count=v["staff_count"] or 0)


def _import_org(actor: Any, v: dict[str, Any]) -> None:
    area = _area(actor, v["area"], "area")
    parent = None
    if v["parent"]:
        # The only valid parents sit on this area or above it (party_org_create checks the same).
        missing = _("在本组织所在区域及其上级区域中找不到上级党组织：{name}").format(name=v["parent"])
        parent = _one_org(PartyOrganisation.objects.filter(area__path__in=_ancestor_paths(area)), v["parent"],
                          "parent", missing)
    services.party_org_create(
        actor=actor, area=area, name=v["name"], level=v["level"], sector=v["sector"] or Sector.COMMUNITY,
        parent=parent, unit=_unit(v["unit"], "unit") if v["unit"] else None,
        has_joint_committee=v["has_joint_committee"], founded_on=v["founded_on"],
    )


def _import_person(actor: Any, v: dict[str, Any]) -> None:
    given = [f for f in MEMBER_FIELDS[1:] if v.get(f)]
    if given and not v.get("organisation"):
        raise InvalidInput.on(given[0], _("填写党员信息时须填写党组织关系"))
    person = services.person_create(actor=actor, area=_area(actor, v["area"], "area"), name=v["name"],
                                    phone=v["phone"], id_number=v["id_number"] or None,
                                    is_vulnerable=v["is_vulnerable"])
    if not v.get("organisation"):
        return
    organisation = _one_org(_visible(actor, PartyOrganisation), v["organisation"], "organisation",
                            _("找不到党组织：{name}，或该党组织不在您的权限范围内").format(name=v["organisation"]))
    try:
        services.party_member_register(
            actor=actor, person=person, organisation=organisation, status=v["status"] or MemberStatus.FULL,
            joined_on=v["joined_on"], work_unit=_unit(v["work_unit"], "work_unit") if v["work_unit"] else None,
            is_mobile=v["is_mobile"], outflow_place=v["outflow_place"], inflow_place=v["inflow_place"],
        )
    except Forbidden as exc:
        # Registering members needs a party role on the organisation's area, not on the person's.
        raise Forbidden(exc.message, {"organisation": [exc.message]}) from None


IMPORTERS: dict[str, Callable[[Any, dict[str, Any]], None]] = {
    "areas": _import_area, "organisations": _import_org, "units": _import_unit, "people": _import_person,
}


# ------------------------------------------------------------------------------------------------ import


@dataclass
class _Row:
    number: int
    values: dict[str, Any]
    errors: list[RowError]


class FileRefused(Exception):
    """The file as a whole cannot be imported (not an xlsx, wrong header, too many rows)."""

    def __init__(self, row: int, column: str, reason: str) -> None:
        super().__init__(reason)
        self.error = RowError(row, column, reason)


def import_workbook(*, actor: Any, kind: str, data: bytes, spec: SheetSpec | None = None,
                    importer: Callable[[Any, dict[str, Any]], Any] | None = None, cap: str = Cap.IMPORT,
                    refused: str | None = None, dry_run: bool = False,
                    progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import every row or none (R3).

    The file is read and checked cell by cell first; then, in one transaction, each row goes through the registry's
    actions (so checksums, permissions and audit are theirs), each in a savepoint so that a bad row does not stop
    the checking of later rows, which may refer to rows above them. Any error rolls the whole file back, and the
    report lists every problem with its spreadsheet row and column title.
    """
    spec = spec or _spec(kind)
    report = ImportReport(kind=kind, dry_run=dry_run)
    if actor is not None and not as_scope(actor).has(cap):
        report.errors.append(RowError(0, "", refused or _("您没有导入台账的权限")))
        return report
    try:
        rows = _read_rows(spec, data)
    except FileRefused as refused:
        report.errors.append(refused.error)
        return report
    report.rows = len(rows)
    if not rows:
        report.errors.append(RowError(0, "", _("文件中没有数据行：请在表头下方填写后再上传")))
        return report
    _check_duplicates(spec, rows)
    importer = importer or IMPORTERS[kind]
    failed_keys: dict[str, int] = {}  # the key of a row that failed → its number, to explain references to it
    with transaction.atomic():
        for done, row in enumerate(rows, start=1):
            if progress is not None and (done % PROGRESS_EVERY == 0 or done == len(rows)):
                progress(done, len(rows))
            if not row.errors:
                try:
                    with transaction.atomic():
                        result = importer(actor, row.values)
                except DomainError as exc:
                    row.errors.extend(_row_errors(spec, row, exc, failed_keys))
                except DatabaseError:
                    # Constraints the actions' checks cannot see (a concurrent insert of the same code).
                    row.errors.append(RowError(row.number, "", _("与已有数据冲突，请检查代码或证件号是否重复")))
                else:
                    report.created += 1
                    if result is not None:
                        report.results.append(result)
            if row.errors:
                report.errors.extend(row.errors)
                if spec.self_reference and row.values.get(spec.self_reference[1]):
                    failed_keys.setdefault(str(row.values[spec.self_reference[1]]), row.number)
        if report.errors:
            transaction.set_rollback(True)
            report.created = 0
            report.results = []
        elif dry_run:
            transaction.set_rollback(True)  # keep the counts, write nothing
    return report


def _read_rows(spec: SheetSpec, data: bytes) -> list[_Row]:
    """Every non-empty data row, its cells read per column (cell errors kept on the row). Nothing touches the
    database here, so a file that is refused as a whole costs nothing."""
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises zip, XML, key and value errors for files that are not xlsx
        reason = _("文件不是有效的 Excel（.xlsx）文件；.xls 或加密的文件请另存为 .xlsx 后上传")
        raise FileRefused(0, "", reason) from None
    try:
        sheets = [ws for ws in wb.worksheets if ws.title == spec.title] or list(wb.worksheets)
        if not sheets:
            raise FileRefused(0, "", _("文件中没有工作表"))
        ws = sheets[0]
        ws.reset_dimensions()  # the stored dimension may be wrong; read what is there
        return _rows_of(spec, ws.iter_rows(values_only=True))
    except FileRefused:
        raise
    except Exception:  # malformed sheet XML surfaces only while reading rows
        raise FileRefused(0, "", _("文件已损坏，无法读取，请另存为 .xlsx 后重新上传")) from None
    finally:
        wb.close()


def _rows_of(spec: SheetSpec, cells: Iterable[tuple[Any, ...]]) -> list[_Row]:
    lines = iter(enumerate(cells, start=1))
    position = _find_header(spec, lines)
    rows: list[_Row] = []
    for number, raw in lines:
        if not any(_text(v, _PLAIN) for v in raw):
            continue
        if len(rows) == MAX_ROWS:
            raise FileRefused(number, "", _("一次最多导入 {n} 行，请拆分文件后分批导入").format(n=MAX_ROWS))
        values: dict[str, Any] = {}
        errors: list[RowError] = []
        for column in spec.columns:
            index = position.get(column.title)
            value = raw[index] if index is not None and index < len(raw) else None
            try:
                values[column.field] = _read(column, value)
            except CellError as exc:
                values[column.field] = None
                errors.append(RowError(number, column.title, str(exc)))
        rows.append(_Row(number, values, errors))
    return rows


def _find_header(spec: SheetSpec, lines: Iterator[tuple[int, tuple[Any, ...]]]) -> dict[str, int]:
    """Each known title's position in the header: the first of the top rows naming any of the sheet's columns
    (a title row such as "XX社区人员台账" may sit above it). Required columns must be there; optional ones may be
    left out (people without party-member columns); unknown titles are refused."""
    known = set(spec.titles)
    content_at = 0
    for number, raw in lines:
        titles = [re.sub(r"[*＊\s]", "", _text(v, _PLAIN)) for v in raw]
        if known & set(titles):
            return _positions(spec, number, titles)
        content_at = content_at or (number if any(titles) else 0)
        if number >= HEADER_SEARCH_ROWS:
            break
    else:
        if not content_at:
            raise FileRefused(0, "", _("表格是空的：请在下载的模板中填写后上传"))
    required = "、".join(c.title for c in spec.columns if c.required)
    raise FileRefused(content_at or 1, required, _("找不到表头，请使用下载的模板（表头须在前 {n} 行内）").format(
        n=HEADER_SEARCH_ROWS))


def _positions(spec: SheetSpec, number: int, titles: list[str]) -> dict[str, int]:
    known = set(spec.titles)
    missing = [c.title for c in spec.columns if c.required and c.title not in titles]
    if missing:
        raise FileRefused(number, "、".join(missing), _("缺少必填列，请使用下载的模板"))
    unknown = [t for t in titles if t and t not in known and t not in IGNORED_TITLES]
    if unknown:
        raise FileRefused(number, "、".join(unknown), _("无法识别的列，请使用下载的模板中的列名"))
    repeated = sorted({t for t in titles if t in known and titles.count(t) > 1})
    if repeated:
        raise FileRefused(number, "、".join(repeated), _("列重复"))
    return {t: i for i, t in enumerate(titles) if t in known}


def _check_duplicates(spec: SheetSpec, rows: list[_Row]) -> None:
    """A code or ID number twice in one file is a typing mistake: name both rows rather than the database's
    "already exists" on the second."""
    for column in spec.columns:
        if not column.unique:
            continue
        seen: dict[str, int] = {}
        for row in rows:
            value = str(row.values.get(column.field) or "").upper()
            if not value:
                continue
            if value in seen:
                row.errors.append(RowError(row.number, column.title,
                                           _("与第 {row} 行重复").format(row=seen[value])))
            else:
                seen[value] = row.number


def _row_errors(spec: SheetSpec, row: _Row, exc: DomainError, failed_keys: dict[str, int]) -> list[RowError]:
    """A service error as row errors: service field names become column titles; a refusal without a field is
    about the area the row is for; a reference to a row above that failed says so."""
    fields = exc.fields or {spec.area_field if isinstance(exc, Forbidden) else "": [exc.message]}
    errors = []
    for name, reasons in fields.items():
        column = spec.by_field(name)
        for reason in reasons:
            if (spec.self_reference and column is not None and name == spec.self_reference[0]
                    and str(row.values.get(name) or "") in failed_keys):
                reason = _("{reason}（引用的第 {row} 行有错误）").format(
                    reason=reason, row=failed_keys[str(row.values[name])])
            errors.append(RowError(row.number, column.title if column else "", reason))
    return errors


# ------------------------------------------------------------------------------------------------ export


def _area_rows(viewer: Any, qs: QuerySet[Any]) -> Iterator[list[Any]]:
    # The parent's code comes from a subquery, not from rows above: the viewer's top node has its parent outside
    # the export, and the web layer may filter the list. Codes are public division codes (GB/T 2260).
    parent = Area.objects.filter(
        path=Substr(OuterRef("path"), 1, Length(OuterRef("path")) - Area.steplen)).values("code")[:1]
    for a in qs.annotate(parent_code=Subquery(parent)).iterator(chunk_size=EXPORT_CHUNK):
        yield [a.name, a.code, _label(AreaKind, a.kind), a.parent_code or "", a.households, a.population]


def _unit_rows(viewer: Any, qs: QuerySet[Any]) -> Iterator[list[Any]]:
    for u in qs.select_related("area").iterator(chunk_size=EXPORT_CHUNK):
        yield [u.name, u.credit_code, _label(Sector, u.sector), u.area.code, u.address, u.contact_name,
               phone_for(viewer, u.contact_phone, u.area.path), u.staff_count]


def _org_rows(viewer: Any, qs: QuerySet[Any]) -> Iterator[list[Any]]:
    for o in qs.select_related("area", "parent", "unit").iterator(chunk_size=EXPORT_CHUNK):
        yield [o.name, _label(OrgLevel, o.level), _label(Sector, o.sector), o.area.code,
               o.parent.name if o.parent else "", o.unit.credit_code if o.unit else "",
               _yes_no(o.has_joint_committee), o.founded_on.isoformat() if o.founded_on else ""]


def _person_rows(viewer: Any, qs: QuerySet[Any]) -> Iterator[list[Any]]:
    people = qs.select_related("area", "party_member__organisation", "party_member__work_unit")
    for p in people.iterator(chunk_size=EXPORT_CHUNK):
        numbers = personal_numbers(viewer, p)  # R4: full numbers only for roles that need them
        row = [p.name, p.area.code, numbers["phone"], numbers["id_number"], _yes_no(p.is_vulnerable)]
        m: PartyMember | None = getattr(p, "party_member", None)  # reverse one-to-one: None when not a member
        if m is None:
            yield [*row, *[""] * len(MEMBER_FIELDS)]
        else:
            yield [*row, m.organisation.name, _label(MemberStatus, m.status),
                   m.joined_on.isoformat() if m.joined_on else "", m.work_unit.credit_code if m.work_unit else "",
                   _yes_no(m.is_mobile), m.outflow_place, m.inflow_place]


EXPORTERS: dict[str, Callable[[Any, QuerySet[Any]], Iterator[list[Any]]]] = {
    "areas": _area_rows, "organisations": _org_rows, "units": _unit_rows, "people": _person_rows,
}


def export_workbook(*, viewer: Any, kind: str, queryset: QuerySet[Any] | None = None) -> bytes:
    """Everything the viewer may see (or the given queryset), in the template's columns, so an export can be edited
    and imported again. Personal numbers are masked unless the viewer's role needs them (R4)."""
    out = io.BytesIO()
    write_export(out, viewer=viewer, kind=kind, queryset=queryset)
    return out.getvalue()


def write_export(stream: IO[bytes], *, viewer: Any, kind: str, queryset: QuerySet[Any] | None = None) -> None:
    """:func:`export_workbook` into a file or response: rows are streamed from the database in chunks and written
    by openpyxl's write-only mode, so 100k rows take a constant number of queries and little memory.

    A given queryset is scoped again: filtering twice costs nothing and an export can never leak past R1.
    """
    spec = _spec(kind)
    model = MODELS[kind]
    if queryset is not None and queryset.model is not model:
        raise InvalidInput.on("queryset", _("导出的数据与表格类型不符"))
    qs = scoped(viewer, queryset if queryset is not None else model)
    qs = qs.order_by("path") if kind == "areas" else qs.order_by("pk")
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(spec.title)
    ws.freeze_panes = "A2"
    for i, column in enumerate(spec.columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(12, len(column.title) * 2 + 4)
    bold = Font(bold=True)
    ws.append([_header_cell(ws, column.title, bold) for column in spec.columns])
    for row in EXPORTERS[kind](viewer, qs):
        ws.append([_safe_cell(ws, value) for value in row])
    wb.save(stream)


def _header_cell(ws: Any, title: str, font: Font) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=title)
    cell.font = font
    return cell


def _safe_cell(ws: Any, value: Any) -> Any:
    """Text as text: a name typed as "=HYPERLINK(…)" must not become a live formula in someone's Excel, and control
    characters (which openpyxl refuses) must not break the whole export."""
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if not value.startswith("="):
        return value
    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    return cell
