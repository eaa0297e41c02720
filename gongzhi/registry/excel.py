"""Excel in and out for the registry (G2): templates to download, all-or-nothing imports through the registry's
actions with a report naming row, column and reason (R3), and exports of what the viewer may see, masked (R4).

The sheet layout is a file format shared with people's own 台账, so it does not follow the interface language:
column titles and choice labels are always the Chinese ones, and an export can be edited and imported again.
"""

from __future__ import annotations

import datetime as dt
import enum
import io
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Literal

from django.db import DatabaseError, transaction
from django.db.models import Model, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Length, Substr
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel
from openpyxl.worksheet.datavalidation import DataValidation

from gongzhi.accounts.roles import Cap
from gongzhi.core import audit, ledger
from gongzhi.core.errors import DomainError, Forbidden, InvalidInput
from gongzhi.core.masking import mask_id_number, mask_phone
from gongzhi.core.scope import as_scope, rule_for, scoped
from gongzhi.core.validators import normalize_credit_code, normalize_id_number, normalize_phone

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

logger = logging.getLogger("gongzhi.registry")

# Rows one file may hold: a whole street's people (a 100,000-row people sheet is checked and written in chunks as a
# background job, :func:`_import_people`); beyond this a report becomes unreadable and the file should be split.
MAX_ROWS = 100_000
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
    personal: bool = False  # masked in exports for most viewers: a masked value coming back means "unchanged"


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
        # Party organisations have no public code and their names repeat (every community has a 第1网格党支部):
        # the export writes each organisation's number so that an edited export finds its rows again.
        Column("组织编号", "key", N_("导出时生成，再次导入时据此对应已有的党组织；新建的党组织留空"), as_text=True,
               unique=True),
        Column("上级组织编号", "parent_key", N_("上级党组织的组织编号（导出时生成）；填写时按编号确定上级党组织"),
               as_text=True),
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
    # rows written; 0 whenever a row has an error, because then nothing is kept (dry runs excepted) — except when a
    # bulk people import is stopped mid-write by a concurrent change: then what the chunks before it wrote
    created: int = 0
    updated: int = 0  # existing rows (matched by their key) changed by the file
    unchanged: int = 0  # existing rows the file names without a change
    dry_run: bool = False  # checked and counted, then rolled back: what the import would do
    rows: int = 0  # data rows read from the file
    errors: list[RowError] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)  # what each importer returned (e.g. new accounts' passwords)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def refused(self) -> int:
        """Data rows with at least one error (0 when the file was refused before its rows were read)."""
        return len({e.row for e in self.errors if e.row > 0}) if self.rows else 0


class Outcome(enum.Enum):
    """What a registry importer did with an existing or new row (other importers return their own results)."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


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


class Masked(str):
    """A personal number as an export masks it (138****8000): it stands for the number on record, unchanged."""


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
        return Masked(raw)  # as exported to a viewer who may not see it: the importers read it as "unchanged"
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


def _sees(actor: Any, model: type[Model], area_path: str, unit_id: int | None = None) -> bool:
    """The scope rule (R1) for one row fetched by its key: cheaper, row after row, than building the scope's
    query for each lookup (the rows a file names are checked one by one)."""
    return actor is None or as_scope(actor).can(rule_for(model).cap, area_path=area_path, unit_id=unit_id)


def _area(actor: Any, code: str, field_name: str) -> Area:
    # Scoped, and one message for "no such code" and "not yours": an outsider learns nothing about other areas.
    area = Area.objects.filter(code=code).first()
    if area is None or not _sees(actor, Area, area.path):
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


IMPORT_REASON = N_("Excel 导入")
# The fields whose columns the file has, put into every row's values: a column left out of a file changes nothing.
COLUMNS = "_columns"


def _given(v: dict[str, Any], name: str) -> bool:
    columns = v.get(COLUMNS)
    return columns is None or name in columns


def _full(v: dict[str, Any], name: str) -> Any:
    """A personal number for a new row: a masked one stands for nothing on record."""
    if isinstance(v[name], Masked):
        raise InvalidInput.on(name, _("这是导出时脱敏的号码，新登记时不能使用；请填写完整号码或留空"))
    return v[name]


def _kept(stored: str | None, value: Any, mask: Callable[[str | None], str], name: str) -> bool:
    """Whether the cell is the number on record as an export masks it ("unchanged"). A masked cell that does not
    match the record (its visible digits were edited) is refused rather than guessed."""
    if not isinstance(value, Masked):
        return False
    if mask(stored) != value:
        raise InvalidInput.on(name, _("脱敏号码与登记的号码不符：请填写完整的新号码，或保留导出时的内容"))
    return True


def _normalized(normalize: Callable[[str, str], str], value: str, name: str) -> str:
    """The value as the service stores it, to compare with the record; one the service will refuse is passed on
    as it is, so that the service names the problem."""
    try:
        return normalize(value, name)
    except InvalidInput:
        return value


def _attname(obj: Model, name: str) -> str:
    return str(getattr(obj._meta.get_field(name), "attname", name))  # area → area_id


def _changes(obj: Model, wanted: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``wanted`` that differ from ``obj`` (related rows compared by their id)."""
    changes = {}
    for name, value in wanted.items():
        current = getattr(obj, _attname(obj, name))
        if current != (value.pk if isinstance(value, Model) else value):
            changes[name] = value
    return changes


def _update(update: Callable[..., Any], actor: Any, target: str, obj: Model, changes: dict[str, Any]) -> Outcome:
    """An existing row through its update action (audited there); a row without changes writes nothing and does
    not even ask for the right to change it (a viewer re-importing her own export is not refused)."""
    if not changes:
        return Outcome.UNCHANGED

    def values() -> list[Any]:
        return [getattr(obj, _attname(obj, name)) for name in changes]

    before = values()
    update(actor=actor, changes=changes, reason=_(IMPORT_REASON), **{target: obj})
    return Outcome.UPDATED if values() != before else Outcome.UNCHANGED


def _outside(actor: Any, found: Any, field_name: str, outside: str) -> Any:
    """The row a key names, if any. Inside the actor's scope it is the row to update; a key that exists outside
    it refuses the row (creating it again would fail on the key anyway)."""
    if found is not None:
        path = found.path if isinstance(found, Area) else found.area.path
        if not _sees(actor, type(found), path, found.pk if isinstance(found, MemberUnit) else None):
            raise InvalidInput.on(field_name, outside)
    return found


def _parent_code(area: Area) -> str:
    if area.depth <= 1:
        return ""
    return Area.objects.filter(path=area.path[:-Area.steplen]).values_list("code", flat=True).first() or ""


def _import_area(actor: Any, v: dict[str, Any]) -> Outcome:
    area = _outside(actor, Area.objects.filter(code=v["code"]).first(), "code",
                    _("代码为 {code} 的区域已登记在您的权限范围以外").format(code=v["code"]))
    if area is None:
        parent = _area(actor, v["parent"], "parent") if v["parent"] else None
        services.area_create(actor=actor, parent=parent, name=v["name"], code=v["code"], kind=v["kind"],
                             households=v["households"] or 0, population=v["population"] or 0)
        return Outcome.CREATED
    if v["kind"] != area.kind:
        raise InvalidInput.on("kind", _("区域层级登记后不可修改（{name} 登记为{kind}）").format(
            name=area.name, kind=_label(AreaKind, area.kind)))
    if _given(v, "parent") and (v["parent"] or "") != (current := _parent_code(area)):
        raise InvalidInput.on("parent", _("导入不能移动区域：{name} 登记的上级代码为 {code}").format(
            name=area.name, code=current or _("（无）")))
    wanted: dict[str, Any] = {"name": v["name"]}
    for name in ("households", "population"):
        if _given(v, name):
            wanted[name] = v[name] or 0
    return _update(services.area_update, actor, "area", area, _changes(area, wanted))


def _import_unit(actor: Any, v: dict[str, Any]) -> Outcome:
    code = _normalized(normalize_credit_code, v["credit_code"], "credit_code")
    unit = _outside(actor, MemberUnit.objects.select_related("area").filter(credit_code=code).first(), "credit_code",
                    _("统一社会信用代码为 {code} 的单位已登记在您的权限范围以外").format(code=code))
    if unit is None:
        services.unit_create(actor=actor, area=_area(actor, v["area"], "area"), name=v["name"],
                             credit_code=v["credit_code"], sector=v["sector"], address=v["address"],
                             contact_name=v["contact_name"], contact_phone=_full(v, "contact_phone"),
                             staff_count=v["staff_count"] or 0)
        return Outcome.CREATED
    wanted: dict[str, Any] = {name: v[name] for name in ("name", "sector", "address", "contact_name")
                              if _given(v, name)}
    if _given(v, "staff_count"):
        wanted["staff_count"] = v["staff_count"] or 0
    if v["area"] != unit.area.code:
        wanted["area"] = _area(actor, v["area"], "area")
    phone = v["contact_phone"]
    if _given(v, "contact_phone") and not _kept(unit.contact_phone, phone, mask_phone, "contact_phone"):
        wanted["contact_phone"] = _normalized(normalize_phone, phone, "contact_phone") if phone else ""
    return _update(services.unit_update, actor, "unit", unit, _changes(unit, wanted))


def _org_of_row(actor: Any, v: dict[str, Any]) -> PartyOrganisation | None:
    """The existing organisation a row names: by its 组织编号 (written by the export), else by name and area code
    when exactly one organisation there has that name; None for a new one. A number that no organisation has any
    more (an export restored after a deletion) falls back to name and area code."""
    candidates = _visible(actor, PartyOrganisation).select_related("area", "parent", "unit")
    key = v.get("key") or ""
    if key and not key.isdigit():
        raise InvalidInput.on("key", _("组织编号应为导出时生成的数字；新建的党组织请将组织编号留空"))
    org = candidates.filter(pk=int(key)).first() if key else None
    if key and org is None and actor is not None and PartyOrganisation.objects.filter(pk=int(key)).exists():
        raise InvalidInput.on("key", _("组织编号为 {key} 的党组织不在您的权限范围内").format(key=key))
    if org is not None:
        if org.name != v["name"] and org.area.code != v["area"]:
            raise InvalidInput.on("key", _("组织编号 {key} 登记的是 {name}（区域代码 {code}），与本行的名称和区域代码"
                                           "都不符：请核对编号，新建的党组织请将编号留空").format(
                key=key, name=org.name, code=org.area.code))
        return org
    found = list(candidates.filter(name=v["name"], area__code=v["area"]).order_by("pk")[:2])
    if len(found) > 1:
        raise InvalidInput.on("name", _("区域 {code} 有多个名为 {name} 的党组织，请填写组织编号以确定是哪一个").format(
            code=v["area"], name=v["name"]))
    return found[0] if found else None


def _org_parent(v: dict[str, Any], area: Area, current: PartyOrganisation | None) -> PartyOrganisation | None:
    """The parent a row names: by 上级组织编号 when given (its name, if also given, must agree), else by a name
    that is unique on this area and above (rows above included: they are written by then)."""
    name, key = v["parent"], v.get("parent_key") or ""
    if key and not key.isdigit():
        raise InvalidInput.on("parent_key", _("上级组织编号应为导出时生成的数字"))
    if key:
        if current is not None and int(key) == current.pk:
            parent: PartyOrganisation | None = current
        else:
            parent = PartyOrganisation.objects.filter(pk=int(key), area__path__in=_ancestor_paths(area)).first()
        if parent is not None:
            if name and name != parent.name:
                raise InvalidInput.on("parent", _("上级党组织 {name} 与上级组织编号 {key}（{actual}）不符：更换上级时"
                                                  "请同时修改或清空上级组织编号").format(
                    name=name, key=key, actual=parent.name))
            return parent
        if not name or PartyOrganisation.objects.filter(pk=int(key)).exists():
            raise InvalidInput.on("parent_key", _("在本组织所在区域及其上级区域中找不到组织编号为 {key} 的党组织")
                                  .format(key=key))
        # A number no organisation has any more (an export restored after a deletion): go by the name.
    if not name:
        return None
    if current is not None and current.name == name:
        return current
    # The only valid parents sit on this area or above it (party_org_create checks the same).
    missing = _("在本组织所在区域及其上级区域中找不到上级党组织：{name}").format(name=name)
    return _one_org(PartyOrganisation.objects.filter(area__path__in=_ancestor_paths(area)), name, "parent", missing)


def _import_org(actor: Any, v: dict[str, Any]) -> Outcome:
    org = _org_of_row(actor, v)
    area = org.area if org is not None and org.area.code == v["area"] else _area(actor, v["area"], "area")
    parent = _org_parent(v, area, org.parent if org is not None else None)
    if org is not None and org.unit is not None and org.unit.credit_code == v["unit"].upper():
        unit: MemberUnit | None = org.unit
    else:
        unit = _unit(v["unit"], "unit") if v["unit"] else None
    if org is None:
        services.party_org_create(
            actor=actor, area=area, name=v["name"], level=v["level"], sector=v["sector"] or Sector.COMMUNITY,
            parent=parent, unit=unit, has_joint_committee=v["has_joint_committee"], founded_on=v["founded_on"],
        )
        return Outcome.CREATED
    wanted: dict[str, Any] = {"name": v["name"], "level": v["level"], "area": area}
    if _given(v, "unit"):
        wanted["unit"] = unit
    if _given(v, "sector"):
        wanted["sector"] = v["sector"] or (unit.sector if unit is not None else Sector.COMMUNITY)
    if _given(v, "parent") or _given(v, "parent_key"):
        wanted["parent"] = parent
    for name in ("has_joint_committee", "founded_on"):
        if _given(v, name):
            wanted[name] = v[name]
    return _update(services.party_org_update, actor, "org", org, _changes(org, wanted))


def _person_of_row(actor: Any, v: dict[str, Any]) -> Person | None:
    """The existing person a row names: by 身份证号; by a masked 身份证号 among the people of that name and area
    whose number it masks; without one, by name and area code among people registered without an ID number, when
    exactly one matches. None for a new person; several candidates refuse the row rather than guess."""
    related = ("area", "party_member__organisation", "party_member__work_unit")
    same_place = Q(name=v["name"], area__code=v["area"])
    number = v["id_number"]
    if isinstance(number, Masked):
        head, tail = number.split("*")[0], number.rsplit("*")[-1]
        matches = Q(id_number__startswith=head, id_number__endswith=tail)
        found = [p for p in Person.objects.select_related(*related).filter(same_place & matches)[:10]
                 if mask_id_number(p.id_number) == number and _sees(actor, Person, p.area.path)]
        if len(found) != 1:
            raise InvalidInput.on("id_number", _(
                "找不到与该脱敏身份证号相符的人员（按姓名、区域代码和号码可见部分查找）：新登记的人员请填写完整号码")
                if not found else _("有多位同名、同区域的人员与该脱敏身份证号相符，无法确定是哪一位：请填写完整号码"))
        return found[0]
    # One query for both ways of finding the person: by the number, or by name and area among people without one.
    nameless = same_place & Q(id_number__isnull=True)
    if number:
        number = _normalized(normalize_id_number, number, "id_number")
        candidates = list(Person.objects.select_related(*related).filter(Q(id_number=number) | nameless)[:10])
        by_number = next((p for p in candidates if p.id_number == number), None)
        if by_number is not None:
            return _outside(actor, by_number, "id_number", _("该身份证号的人员已登记在您的权限范围以外"))
    else:
        candidates = list(Person.objects.select_related(*related).filter(nameless)[:10])
    found = [p for p in candidates if p.id_number is None and _sees(actor, Person, p.area.path)]
    if len(found) > 1:
        raise InvalidInput.on("name", _("区域 {code} 有多位名为 {name} 且未登记身份证号的人员，无法确定是哪一位："
                                        "请填写身份证号").format(code=v["area"], name=v["name"]))
    return found[0] if found else None


def _person_changes(actor: Any, person: Person, v: dict[str, Any]) -> dict[str, Any]:
    wanted: dict[str, Any] = {"name": v["name"]}
    if v["area"] != person.area.code:
        wanted["area"] = _area(actor, v["area"], "area")
    phone = v["phone"]
    if _given(v, "phone") and not _kept(person.phone, phone, mask_phone, "phone"):
        wanted["phone"] = _normalized(normalize_phone, phone, "phone") if phone else ""
    number = v["id_number"]
    if _given(v, "id_number") and number and not _kept(person.id_number, number, mask_id_number, "id_number"):
        wanted["id_number"] = _normalized(normalize_id_number, number, "id_number")
    if _given(v, "is_vulnerable"):
        wanted["is_vulnerable"] = v["is_vulnerable"]
    return _changes(person, wanted)


def _member_org(actor: Any, name: str, area: Area) -> PartyOrganisation:
    """The organisation a member's 党组织关系 names: unique among those the actor sees, or else unique among those
    on the person's own area and above (every community has its 第1网格党支部)."""
    candidates = _visible(actor, PartyOrganisation)
    missing = _("找不到党组织：{name}，或该党组织不在您的权限范围内").format(name=name)
    try:
        return _one_org(candidates, name, "organisation", missing)
    except InvalidInput:
        near = list(candidates.filter(name=name, area__path__in=_ancestor_paths(area))[:2])
        if len(near) == 1:
            return near[0]
        raise


def _import_person(actor: Any, v: dict[str, Any]) -> Outcome:
    given = [f for f in MEMBER_FIELDS[1:] if v.get(f)]
    if given and not v.get("organisation"):
        raise InvalidInput.on(given[0], _("填写党员信息时须填写党组织关系"))
    person = _person_of_row(actor, v)
    member: PartyMember | None = None
    if person is None:
        person = services.person_create(actor=actor, area=_area(actor, v["area"], "area"), name=v["name"],
                                        phone=_full(v, "phone"), id_number=_full(v, "id_number") or None,
                                        is_vulnerable=v["is_vulnerable"])
        outcome = Outcome.CREATED
    else:
        member = getattr(person, "party_member", None)  # reverse one-to-one: None when not a member
        outcome = _update(services.person_update, actor, "person", person, _person_changes(actor, person, v))
    if not _given(v, "organisation"):
        return outcome
    if not v["organisation"]:
        if member is not None:
            raise InvalidInput.on("organisation", _("导入不能撤销党员登记：{name} 的组织关系在 {org}，请在党员页面办理")
                                  .format(name=person.name, org=member.organisation.name))
        return outcome
    if member is not None and member.organisation.name == v["organisation"]:
        organisation = member.organisation
    else:
        organisation = _member_org(actor, v["organisation"], person.area)
    if member is not None and member.work_unit is not None and member.work_unit.credit_code == v["work_unit"].upper():
        work_unit: MemberUnit | None = member.work_unit
    else:
        work_unit = _unit(v["work_unit"], "work_unit") if v["work_unit"] else None
    fields: dict[str, Any] = {"organisation": organisation, "status": v["status"] or MemberStatus.FULL,
                              "joined_on": v["joined_on"], "work_unit": work_unit, "is_mobile": v["is_mobile"],
                              "outflow_place": v["outflow_place"], "inflow_place": v["inflow_place"]}
    try:
        if member is None:
            services.party_member_register(actor=actor, person=person, **fields)
            return Outcome.CREATED if outcome is Outcome.CREATED else Outcome.UPDATED
        changes = _changes(member, {k: value for k, value in fields.items() if _given(v, k)})
        if changes.get("work_unit") is not None and not member.in_service:
            changes["in_service"] = True  # a member with a work unit is in service (as at registration)
        if _update(services.party_member_update, actor, "member", member, changes) is Outcome.UPDATED:
            return Outcome.UPDATED
    except Forbidden as exc:
        # Registering members needs a party role on the organisation's area, not on the person's.
        raise Forbidden(exc.message, {"organisation": [exc.message]}) from None
    return outcome


IMPORTERS: dict[str, Callable[[Any, dict[str, Any]], Outcome]] = {
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

    Rows that name an existing record by its key (区域代码, 统一社会信用代码, 身份证号, 组织编号) update it through
    the update actions, and only what differs; a masked number means "unchanged", so an export imports back with
    nothing written. Rows are checked against the actor's scope one by one: a row outside it is refused with its
    row and column, the others are checked as usual. ``dry_run`` checks and counts everything, then rolls back.
    ``progress(done, total)`` is called every ``PROGRESS_EVERY`` rows and after the last.

    The people sheet (the one that runs to tens of thousands of rows) goes through :func:`_import_people` instead:
    the same checks and messages, but references looked up a chunk at a time, every row checked before anything is
    written, and the writes made in bulk, one short transaction per chunk, so that other users are not kept waiting.
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
    if importer is None and spec is SHEETS["people"]:
        return _import_people(actor, spec, rows, report, dry_run, progress)
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
                    if result is Outcome.UPDATED:
                        report.updated += 1
                    elif result is Outcome.UNCHANGED:
                        report.unchanged += 1
                    else:
                        report.created += 1
                        if result is not None and result is not Outcome.CREATED:
                            report.results.append(result)
            if row.errors:
                report.errors.extend(row.errors)
                if spec.self_reference and row.values.get(spec.self_reference[1]):
                    failed_keys.setdefault(str(row.values[spec.self_reference[1]]), row.number)
        if report.errors:
            transaction.set_rollback(True)
            report.results = []
            if not dry_run:  # nothing was kept; a dry run still says what the good rows would do
                report.created = report.updated = report.unchanged = 0
        elif dry_run:
            transaction.set_rollback(True)  # keep the counts, write nothing
    return report


# ------------------------------------------------------------------------------------------------ people in bulk

# Rows looked up together, and written together in one short transaction. On SQLite the writer lock is held for
# one chunk (a fraction of a second), so another user's login or intake waits that long, not for the whole file.
BULK_CHUNK = 1000
# A breath between two chunks' transactions on SQLite: a writer waiting in SQLite's busy handler polls for the lock
# (every 100 ms once it has waited a while), and a loop that commits and begins again at once could keep it waiting
# chunk after chunk; a pause longer than the poll lets it in after at most one chunk.
SQLITE_YIELD_SECONDS = 0.1
PERSON_RELATED = ("area", "party_member__organisation__area", "party_member__work_unit")
PERSON_FK = ("area", "user", "version")  # checked by the look-ups, not by one query per row in full_clean
MEMBER_FK = ("person", "organisation", "work_unit", "version")


@dataclass
class _PersonPlan:
    """What one checked row will write: the person and membership to insert or update, and their audit diffs."""

    row: int
    outcome: Outcome
    person: Person
    person_op: str = ""  # "create", "update" or "" (nothing to write)
    person_diff: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
    person_version: int = 0  # the version read at checking time: the write is refused if it moved since
    member: PartyMember | None = None
    member_op: str = ""
    member_diff: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
    member_version: int = 0


def _fields_valid(obj: Model, exclude: Iterable[str]) -> None:
    """:func:`gongzhi.core.writes.validate` without its per-row queries: the field checks (lengths, choices, types)
    only. Foreign keys come from the look-ups and uniqueness is the look-ups' job (an ID number on record finds its
    person, one repeated in the file is refused by :func:`_check_duplicates`)."""
    from django.core.exceptions import ValidationError

    try:
        obj.clean_fields(exclude=list(exclude))
    except ValidationError as exc:
        fields = dict(exc.message_dict.items())
        name, messages = next(iter(fields.items()))
        raise InvalidInput(f"{name}: {messages[0]}", fields) from None


def _set_fields(obj: Model, changes: dict[str, Any], allowed: Iterable[str],
                exclude: Iterable[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`gongzhi.core.writes.apply_changes` up to the write: the changes set on ``obj`` and checked, and the
    audit diff (personal numbers masked). The write itself is the chunk's bulk update."""
    unknown = set(changes) - set(allowed)
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidInput.on(name, _("不可修改的字段：{name}").format(name=name))
    names = sorted(changes)
    before = audit.snapshot(obj, names)
    for name, value in changes.items():
        setattr(obj, name, value)
    _fields_valid(obj, exclude)
    return audit.diff(before, audit.snapshot(obj, names))


class _PeopleLookups:
    """The references of one chunk of people rows, each kind fetched with one query: areas by code, units by credit
    code, party organisations by name (these three kept for the whole file: they repeat), and the existing persons
    by ID number and by name and area code (per chunk). The rules are those of the row-by-row importer above."""

    def __init__(self, actor: Any) -> None:
        self.actor = actor
        self.scope = None if actor is None else as_scope(actor)
        self.areas: dict[str, Area | None] = {}
        self.units: dict[str, MemberUnit | None] = {}
        self.orgs: dict[str, list[PartyOrganisation]] = {}
        self.by_number: dict[str, Person] = {}
        self.by_place: dict[tuple[str, str], list[Person]] = {}
        self.claimed: dict[int, int] = {}  # existing person → the row that names it
        self.new_nameless: dict[tuple[str, str], int] = {}  # (name, area code) of a new person without ID → row

    def sees(self, model: type[Model], area_path: str) -> bool:
        return self.scope is None or self.scope.can(rule_for(model).cap, area_path=area_path)

    def require(self, cap: str, area_path: str) -> None:
        from gongzhi.core.permissions import require

        require(self.scope, cap, area_path=area_path)

    def load(self, rows: list[_Row]) -> None:
        values = [r.values for r in rows if not r.errors]
        codes = {v["area"] for v in values if v["area"]} - set(self.areas)
        if codes:
            found = {a.code: a for a in Area.objects.filter(code__in=codes)}
            self.areas.update({code: found.get(code) for code in codes})
        units = {v["work_unit"].upper() for v in values if v.get("work_unit")} - set(self.units)
        if units:
            found_units = {u.credit_code: u for u in MemberUnit.objects.filter(credit_code__in=units)}
            self.units.update({code: found_units.get(code) for code in units})
        names = {v["organisation"] for v in values if v.get("organisation")} - set(self.orgs)
        if names:
            self.orgs.update({name: [] for name in names})
            for org in _visible(self.actor, PartyOrganisation).filter(name__in=names).select_related(
                    "area").order_by("pk"):
                self.orgs[org.name].append(org)
        numbers = {_normalized(normalize_id_number, v["id_number"], "id_number") for v in values
                   if v["id_number"] and not isinstance(v["id_number"], Masked)}
        self.by_number = {str(p.id_number): p for p in Person.objects.select_related(*PERSON_RELATED).filter(
            id_number__in=numbers)} if numbers else {}
        # Rows without a number on record are found by name and area code (among people without an ID number, or
        # whose number a masked cell masks).
        place = [v for v in values if not v["id_number"] or isinstance(v["id_number"], Masked)
                 or _normalized(normalize_id_number, v["id_number"], "id_number") not in self.by_number]
        self.by_place = {}
        if place:
            people = Person.objects.select_related(*PERSON_RELATED).filter(
                name__in={v["name"] for v in place}, area__code__in={v["area"] for v in place})
            for p in people.order_by("pk"):
                self.by_place.setdefault((p.name, p.area.code), []).append(p)

    def area(self, code: str, field_name: str) -> Area:
        if code not in self.areas:
            self.areas[code] = Area.objects.filter(code=code).first()
        area = self.areas[code]
        if area is None or not self.sees(Area, area.path):
            raise InvalidInput.on(field_name, _("找不到代码为 {code} 的区域，或该区域不在您的权限范围内").format(
                code=code))
        return area

    def unit(self, code: str, field_name: str) -> MemberUnit:
        code = code.upper()
        if code not in self.units:
            self.units[code] = MemberUnit.objects.filter(credit_code=code).first()
        unit = self.units[code]
        if unit is None:
            raise InvalidInput.on(field_name, _("找不到统一社会信用代码为 {code} 的单位（须先导入或登记该单位）")
                                  .format(code=code))
        return unit

    def member_org(self, name: str, area: Area) -> PartyOrganisation:
        """As :func:`_member_org`: unique among the organisations the actor sees, or else among those on the
        person's own area and above."""
        found = self.orgs.get(name)
        if found is None:
            found = self.orgs[name] = list(_visible(self.actor, PartyOrganisation).filter(name=name).select_related(
                "area").order_by("pk"))
        if len(found) == 1:
            return found[0]
        if not found:
            raise InvalidInput.on("organisation", _("找不到党组织：{name}，或该党组织不在您的权限范围内").format(
                name=name))
        ancestors = set(_ancestor_paths(area))
        near = [o for o in found if o.area.path in ancestors]
        if len(near) == 1:
            return near[0]
        where = "、".join(f"{o.area.name}（{o.area.code}）" for o in found[:5])
        raise InvalidInput.on("organisation", _("有多个名为 {name} 的党组织：{where}，请改用唯一的名称").format(
            name=name, where=where))

    def person_of_row(self, v: dict[str, Any]) -> Person | None:
        """As :func:`_person_of_row`, from the chunk's look-ups."""
        number = v["id_number"]
        same_place = self.by_place.get((v["name"], v["area"]), [])
        if isinstance(number, Masked):
            head, tail = number.split("*")[0], number.rsplit("*")[-1]
            found = [p for p in same_place if p.id_number and p.id_number.startswith(head)
                     and p.id_number.endswith(tail) and mask_id_number(p.id_number) == number
                     and self.sees(Person, p.area.path)]
            if not found:
                raise InvalidInput.on("id_number", _(
                    "找不到与该脱敏身份证号相符的人员（按姓名、区域代码和号码可见部分查找）：新登记的人员请填写完整号码"))
            if len(found) > 1:
                raise InvalidInput.on("id_number", _(
                    "有多位同名、同区域的人员与该脱敏身份证号相符，无法确定是哪一位：请填写完整号码"))
            return found[0]
        if number:
            by_number = self.by_number.get(_normalized(normalize_id_number, number, "id_number"))
            if by_number is not None:
                if not self.sees(Person, by_number.area.path):
                    raise InvalidInput.on("id_number", _("该身份证号的人员已登记在您的权限范围以外"))
                return by_number
        found = [p for p in same_place if p.id_number is None and self.sees(Person, p.area.path)]
        if len(found) > 1:
            raise InvalidInput.on("name", _("区域 {code} 有多位名为 {name} 且未登记身份证号的人员，无法确定是哪一位："
                                            "请填写身份证号").format(code=v["area"], name=v["name"]))
        return found[0] if found else None


def _plan_person(lk: _PeopleLookups, row: _Row) -> _PersonPlan:
    """:func:`_import_person` without writing: the same checks, in the same order, with the same messages, through
    the look-ups; the registry's rules (``services._clean_person_fields``, ``services._person_area``, the
    capabilities ``person_create``/``person_update``/``party_member_*`` require) applied here, their writes done in
    bulk by :func:`_write_people`."""
    v = row.values
    given = [f for f in MEMBER_FIELDS[1:] if v.get(f)]
    if given and not v.get("organisation"):
        raise InvalidInput.on(given[0], _("填写党员信息时须填写党组织关系"))
    person = lk.person_of_row(v)
    member: PartyMember | None = None
    if person is None:
        area = lk.area(v["area"], "area")
        phone, id_number = _full(v, "phone"), _full(v, "id_number") or None
        lk.require(Cap.EDIT_PEOPLE, area.path)
        services._person_area(area)
        values = services._clean_person_fields({"name": v["name"], "phone": phone, "id_number": id_number,
                                                "gender": "", "birth_year": None})
        person = Person(area=area, is_vulnerable=v["is_vulnerable"], user=None, **values)
        _fields_valid(person, PERSON_FK)
        if person.id_number is None and (earlier := lk.new_nameless.get((person.name, area.code))):
            raise InvalidInput.on("name", _("与第 {row} 行同名、同区域且都没有身份证号，无法区分是否为同一人："
                                            "请填写身份证号").format(row=earlier))
        plan = _PersonPlan(row.number, Outcome.CREATED, person, person_op="create")
    else:
        if person.pk in lk.claimed:
            raise InvalidInput.on("id_number" if v["id_number"] else "name", _(
                "与第 {row} 行是同一人（按身份证号或姓名和区域代码对应）：同一人在一个文件中只能出现一次").format(
                row=lk.claimed[person.pk]))
        member = getattr(person, "party_member", None)  # fetched with the person: None when not a member
        plan = _PersonPlan(row.number, Outcome.UNCHANGED, person, person_version=person.version)
        changes = _person_changes_from(lk, person, v)
        if changes:
            lk.require(Cap.EDIT_PEOPLE, person.area.path)
            changes = services._clean_person_fields(changes)
            if "area" in changes:
                lk.require(Cap.EDIT_PEOPLE, changes["area"].path)
                services._person_area(changes["area"])
            plan.person_diff = _set_fields(person, changes, services.PERSON_FIELDS, PERSON_FK)
            if plan.person_diff[1]:
                plan.person_op, plan.outcome = "update", Outcome.UPDATED
    if _given(v, "organisation") and not v["organisation"] and member is not None:
        raise InvalidInput.on("organisation", _("导入不能撤销党员登记：{name} 的组织关系在 {org}，请在党员页面办理")
                              .format(name=person.name, org=member.organisation.name))
    if _given(v, "organisation") and v["organisation"]:
        _plan_member(lk, plan, member, v)
    if plan.person_op == "create" and person.id_number is None:
        lk.new_nameless[(person.name, person.area.code)] = row.number
    elif plan.person_op != "create":
        lk.claimed[person.pk] = row.number
    return plan


def _person_changes_from(lk: _PeopleLookups, person: Person, v: dict[str, Any]) -> dict[str, Any]:
    """As :func:`_person_changes`, with the area from the look-ups."""
    wanted: dict[str, Any] = {"name": v["name"]}
    if v["area"] != person.area.code:
        wanted["area"] = lk.area(v["area"], "area")
    phone = v["phone"]
    if _given(v, "phone") and not _kept(person.phone, phone, mask_phone, "phone"):
        wanted["phone"] = _normalized(normalize_phone, phone, "phone") if phone else ""
    number = v["id_number"]
    if _given(v, "id_number") and number and not _kept(person.id_number, number, mask_id_number, "id_number"):
        wanted["id_number"] = _normalized(normalize_id_number, number, "id_number")
    if _given(v, "is_vulnerable"):
        wanted["is_vulnerable"] = v["is_vulnerable"]
    return _changes(person, wanted)


def _plan_member(lk: _PeopleLookups, plan: _PersonPlan, member: PartyMember | None, v: dict[str, Any]) -> None:
    person = plan.person
    if member is not None and member.organisation.name == v["organisation"]:
        organisation = member.organisation
    else:
        organisation = lk.member_org(v["organisation"], person.area)
    if member is not None and member.work_unit is not None and member.work_unit.credit_code == v["work_unit"].upper():
        work_unit: MemberUnit | None = member.work_unit
    else:
        work_unit = lk.unit(v["work_unit"], "work_unit") if v["work_unit"] else None
    fields: dict[str, Any] = {"organisation": organisation, "status": v["status"] or MemberStatus.FULL,
                              "joined_on": v["joined_on"], "work_unit": work_unit, "is_mobile": v["is_mobile"],
                              "outflow_place": v["outflow_place"], "inflow_place": v["inflow_place"]}
    try:
        if member is None:  # services.party_member_register
            lk.require(Cap.EDIT_PARTY, organisation.area.path)
            if fields["is_mobile"] and not (fields["outflow_place"] or fields["inflow_place"]):
                raise InvalidInput.on("outflow_place", _("流动党员须填写流出地或流入地"))
            plan.member = PartyMember(person=person, in_service=work_unit is not None, needs_home_study=False,
                                      **{**fields, "outflow_place": fields["outflow_place"].strip(),
                                         "inflow_place": fields["inflow_place"].strip()})
            _fields_valid(plan.member, MEMBER_FK)
            plan.member_op = "create"
            plan.outcome = Outcome.CREATED if plan.person_op == "create" else Outcome.UPDATED
            return
        changes = _changes(member, {k: value for k, value in fields.items() if _given(v, k)})
        if changes.get("work_unit") is not None and not member.in_service:
            changes["in_service"] = True  # a member with a work unit is in service (as at registration)
        if not changes:
            return
        # services.party_member_update
        lk.require(Cap.EDIT_PARTY, member.organisation.area.path)
        if "organisation" in changes:
            lk.require(Cap.EDIT_PARTY, changes["organisation"].area.path)
        for place in ("outflow_place", "inflow_place"):
            if place in changes:
                changes[place] = (changes[place] or "").strip()
        is_mobile = changes.get("is_mobile", member.is_mobile)
        if is_mobile and not (changes.get("outflow_place", member.outflow_place)
                              or changes.get("inflow_place", member.inflow_place)):
            raise InvalidInput.on("outflow_place", _("流动党员须填写流出地或流入地"))
        if changes.get("work_unit") is not None and not changes.get("in_service", member.in_service):
            raise InvalidInput.on("in_service", _("填写了工作单位的党员须为在职党员"))
        version = member.version
        diff = _set_fields(member, changes, services.MEMBER_FIELDS, MEMBER_FK)
        if diff[1]:
            plan.member, plan.member_op, plan.member_diff, plan.member_version = member, "update", diff, version
            plan.outcome = Outcome.UPDATED
    except Forbidden as exc:
        # Registering members needs a party role on the organisation's area, not on the person's.
        raise Forbidden(exc.message, {"organisation": [exc.message]}) from None


def _bump_versions(model: type[Model], plans: list[tuple[Model, int]], fields: set[str]) -> None:
    """The chunk's updates of one model, as :func:`gongzhi.core.writes.apply_changes` makes them one by one: only
    if the version is still the one read when the row was checked (else :class:`Conflict`, nothing of the chunk
    kept), and stepped by one. The rows are locked on PostgreSQL; SQLite's transaction holds the write lock."""
    from django.db import connection

    from gongzhi.core.writes import stale

    if not plans:
        return
    qs = model._base_manager.filter(pk__in=[obj.pk for obj, _v in plans])
    if connection.features.has_select_for_update:
        qs = qs.select_for_update()
    current = dict(qs.values_list("pk", "version"))
    if any(current.get(obj.pk) != version for obj, version in plans):
        raise stale(_("导入期间有人修改了其中的记录，请重新导入"))
    for obj, version in plans:
        obj.version = version + 1  # type: ignore[attr-defined]
    model._base_manager.bulk_update([obj for obj, _v in plans], sorted(fields | {"version"}), batch_size=250)


def _write_people(actor: Any, plans: list[_PersonPlan]) -> None:
    """One chunk, in one transaction: new persons and members inserted in bulk, changed ones updated in bulk with
    their version checked and stepped, one audit entry per created or changed record (as the actions write them).
    The entries are built before the transaction (only the new rows' ids are filled in inside it): on SQLite the
    writer lock is held for the INSERTs and UPDATEs alone."""
    reason = _(IMPORT_REASON)
    entries: list[tuple[Model, Any]] = []  # (record, its pending entry), in the order the actions would write them
    for p in plans:
        if p.person_op == "create":
            entries.append((p.person, audit.pending(actor=actor, action="registry.person.create", obj=p.person,
                                                    after=audit.snapshot(p.person, services.PERSON_FIELDS))))
        elif p.person_op == "update":
            entries.append((p.person, audit.pending(actor=actor, action="registry.person.update", obj=p.person,
                                                    before=p.person_diff[0], after=p.person_diff[1],
                                                    reason=reason)))
        if p.member is not None and p.member_op == "create":
            entries.append((p.member, audit.pending(actor=actor, action="registry.party_member.create",
                                                    obj=p.member,
                                                    after=audit.snapshot(p.member, services.MEMBER_FIELDS))))
        elif p.member is not None and p.member_op == "update":
            entries.append((p.member, audit.pending(actor=actor, action="registry.party_member.update",
                                                    obj=p.member, before=p.member_diff[0], after=p.member_diff[1],
                                                    reason=reason)))
    with transaction.atomic():
        Person.objects.bulk_create([p.person for p in plans if p.person_op == "create"], batch_size=250)
        _bump_versions(Person, [(p.person, p.person_version) for p in plans if p.person_op == "update"],
                       {name for p in plans if p.person_op == "update" for name in p.person_diff[1]})
        PartyMember.objects.bulk_create([p.member for p in plans if p.member is not None and p.member_op == "create"],
                                        batch_size=250)
        _bump_versions(PartyMember, [(p.member, p.member_version) for p in plans
                                     if p.member is not None and p.member_op == "update"],
                       {name for p in plans if p.member_op == "update" for name in p.member_diff[1]})
        for obj, entry in entries:
            entry.object_id = str(obj.pk)  # new rows have their ids now
        audit.record_many(entry for _obj, entry in entries)


class _Progress:
    """``progress(done, total)`` every ``PROGRESS_EVERY`` rows and once at the end, as the row-by-row import calls
    it, for work done a chunk at a time (every mark a chunk passes is reported, in order)."""

    def __init__(self, progress: Callable[[int, int], None] | None, total: int) -> None:
        self.progress, self.total, self.last = progress, total, 0

    def at(self, done: int) -> None:
        if self.progress is None:
            return
        done = min(done, self.total)
        for mark in range(self.last - self.last % PROGRESS_EVERY + PROGRESS_EVERY, done + 1, PROGRESS_EVERY):
            self.progress(mark, self.total)
            self.last = mark
        if done == self.total and self.last < self.total:
            self.progress(self.total, self.total)
            self.last = self.total


def _import_people(actor: Any, spec: SheetSpec, rows: list[_Row], report: ImportReport, dry_run: bool,
                   progress: Callable[[int, int], None] | None) -> ImportReport:
    """The people sheet in bulk (tens of thousands of rows): every row checked first, chunk by chunk, with a
    constant number of read-only queries per chunk and no write; then, only if no row has an error, the rows are
    written chunk by chunk, each chunk in its own short transaction.

    A row error therefore still means nothing is written (the file is all or nothing for everything the checks can
    see). What the checks cannot see — someone changing one of the file's persons between the check and the write
    (the version moved), or registering the same ID number meanwhile — stops the import at that chunk: the chunks
    before it are kept (and audited), the report names the chunk's rows and says how many were written, and the
    same file imported again completes the rest (the rows already written come back as unchanged).
    """
    total = len(rows)
    # The progress bar covers checking and writing: checking is its first half when the rows are to be written.
    share = 1 if dry_run else 2
    meter = _Progress(progress, total)
    lk = _PeopleLookups(actor)
    plans: list[_PersonPlan] = []
    for start in range(0, total, BULK_CHUNK):
        chunk = rows[start:start + BULK_CHUNK]
        lk.load(chunk)
        for row in chunk:
            if not row.errors:
                try:
                    plans.append(_plan_person(lk, row))
                except DomainError as exc:
                    row.errors.extend(_row_errors(spec, row, exc, {}))
            if row.errors:
                report.errors.extend(row.errors)
            row.values = {}  # checked: only the plan is kept (memory of a 100k-row file)
        meter.at((start + len(chunk)) // share)
    lk.by_number, lk.by_place = {}, {}
    for plan in plans:
        if plan.outcome is Outcome.UPDATED:
            report.updated += 1
        elif plan.outcome is Outcome.UNCHANGED:
            report.unchanged += 1
        else:
            report.created += 1
    if report.errors or dry_run:
        if report.errors and not dry_run:  # nothing was written; a dry run still says what the good rows would do
            report.created = report.updated = report.unchanged = 0
        meter.at(total)
        return report
    _write_chunks(actor, plans, report, meter)
    return report


def _write_chunks(actor: Any, plans: list[_PersonPlan], report: ImportReport, meter: _Progress) -> None:
    import time

    from django.db import connection

    writes = [p for p in plans if p.person_op or p.member_op]
    written = {Outcome.CREATED: 0, Outcome.UPDATED: 0}
    for start in range(0, len(writes), BULK_CHUNK):
        chunk = writes[start:start + BULK_CHUNK]
        try:
            _write_people(actor, chunk)
        except (DatabaseError, DomainError) as exc:
            logger.warning("people import stopped at row %s: %s", chunk[0].row, exc)
            report.created, report.updated = written[Outcome.CREATED], written[Outcome.UPDATED]
            report.unchanged = len(plans) - len(writes)
            report.errors.append(RowError(chunk[0].row, "", _(
                "第 {first}–{last} 行写入时与他人同时进行的修改冲突，这些行及其后的行未写入；此前已写入 {done} 行。"
                "请重新导入同一文件：已写入的行将显示为无变化，其余的行会补上").format(
                first=chunk[0].row, last=chunk[-1].row, done=written[Outcome.CREATED] + written[Outcome.UPDATED])))
            return
        for p in chunk:
            written[p.outcome] = written.get(p.outcome, 0) + 1
        meter.at((meter.total + meter.total * (start + len(chunk)) // len(writes)) // 2)
        if connection.vendor == "sqlite" and start + BULK_CHUNK < len(writes):
            time.sleep(SQLITE_YIELD_SECONDS)
    meter.at(meter.total)


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
    present = frozenset(c.field for c in spec.columns if c.title in position)
    rows: list[_Row] = []
    for number, raw in lines:
        if not any(_text(v, _PLAIN) for v in raw):
            continue
        if len(rows) == MAX_ROWS:
            raise FileRefused(number, "", _("一次最多导入 {n} 行，请拆分文件后分批导入").format(n=MAX_ROWS))
        values: dict[str, Any] = {COLUMNS: present}
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
            if not value or isinstance(row.values.get(column.field), Masked):  # masks of different numbers agree
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
               _yes_no(o.has_joint_committee), o.founded_on, str(o.pk), str(o.parent_id or "")]


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
                   m.joined_on, m.work_unit.credit_code if m.work_unit else "",
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
    # The office-grade writer (gongzhi.core.ledger): codes, IDs and phones as text, dates as dates, fitted widths,
    # frozen header, autofilter, print setup. No title row: the header stays on row 1 for the import.
    columns = [_ledger_col(c) for c in spec.columns]
    ledger.write(stream, ledger.Sheet(spec.title, columns, EXPORTERS[kind](viewer, qs)))


def _ledger_col(column: Column) -> ledger.Col:
    kind: ledger.Kind = ("code" if column.as_text else "int" if column.parse == "count" else
                         "date" if column.parse == "date" else "text")
    return ledger.Col(column.title, kind)
