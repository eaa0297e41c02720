"""The catalogue in Excel (F1): one sheet 服务事项, one row per item, that an office fills in and imports back.

Materials are one cell, separated by ``；``: ``居民身份证（原件）；户口簿（原件）；残疾人证（选交）`` —
（原件） means the original must be seen, （选交） that it is optional. The form is a JSON list in its own cell (see
:mod:`.catalogue`); tiers are 片区级、社区级、驿站级 (empty with 全市通办 是). Import is all or nothing: the first bad
cell is named by row and column and nothing is written."""

from __future__ import annotations

import json
from io import BytesIO
from typing import Any

from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill

from gongzhi.core.errors import InvalidInput

from . import selectors, services
from .models import ServiceItem

COLUMNS = ["事项编码", "事项名称", "审批部门", "承诺时限（工作日）", "改革前时限（工作日）", "申请对象", "最低年龄",
           "收费（元）", "全市通办", "可办理的阵地层级", "申请材料", "表单字段（JSON）", "办理说明", "在办"]
ORIGINAL, OPTIONAL = "（原件）", "（选交）"
MAX_ROWS = 2000


def _tier_names() -> dict[str, str]:
    from gongzhi.sites.models import Tier

    return {t: str(label) for t, label in Tier.choices}


def _materials_cell(item: ServiceItem) -> str:
    return "；".join(m.name + (ORIGINAL if m.original_required else "") + ("" if m.required else OPTIONAL)
                    for m in item.materials.all())


def export_catalogue() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "服务事项"
    ws.append(COLUMNS)
    for c in ws[1]:
        c.font = Font(bold=True, color="FFFFFF")
        c.fill = PatternFill("solid", fgColor="C0272D")
        c.alignment = Alignment(wrap_text=True, vertical="center")
    tiers = _tier_names()
    for item in selectors.catalogue(active_only=False):
        ws.append([item.code, item.name, item.department.name, item.time_limit_days, item.previous_time_limit_days,
                   item.eligibility, item.min_age, float(item.fee_yuan), "是" if item.anywhere else "否",
                   "、".join(tiers.get(t, t) for t in item.tiers or []), _materials_cell(item),
                   json.dumps(item.form_fields or [], ensure_ascii=False), item.description,
                   "是" if item.active else "否"])
    for col, width in zip("ABCDEFGHIJKLMN", (10, 22, 22, 10, 10, 28, 8, 8, 8, 16, 50, 50, 40, 6), strict=True):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A2"
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def export_response(data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    name = f"service-catalogue-{timezone.localdate():%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _yes(value: Any) -> bool:
    return str(value or "").strip() in ("是", "Y", "y", "yes", "1", "TRUE", "True", "true")


def _parse_materials(text: str) -> list[tuple[str, bool, bool]]:
    out = []
    for part in str(text or "").replace(";", "；").split("；"):
        name = part.strip()
        if not name:
            continue
        original = ORIGINAL in name
        optional = OPTIONAL in name
        name = name.replace(ORIGINAL, "").replace(OPTIONAL, "").strip()
        out.append((name, original, not optional))
    return out


def import_catalogue(*, actor: Any, data: bytes) -> tuple[int, int]:
    """Create or update every item of the sheet through :func:`services.item_save`; (created, updated)."""
    try:
        wb = load_workbook(BytesIO(data), read_only=True, data_only=True)
    except Exception:  # any unreadable upload is the user's file, not our error
        raise InvalidInput.on("file", _("无法读取 Excel 文件（须为 .xlsx）")) from None
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = [str(c or "").strip() for c in next(rows, ())]
    if header[: len(COLUMNS)] != COLUMNS:
        raise InvalidInput.on("file", _("表头与模板不符，请先导出目录作为模板"))
    by_label = {v: k for k, v in _tier_names().items()}
    created = updated = 0
    with transaction.atomic():
        for n, row in enumerate(rows, start=2):
            if n > MAX_ROWS + 1:
                raise InvalidInput.on("file", _("一次最多导入{n}行").format(n=MAX_ROWS))
            cells = list(row) + [None] * (len(COLUMNS) - len(row))
            if not any(c not in (None, "") for c in cells[: len(COLUMNS)]):
                continue
            code = str(cells[0] or "").strip()
            try:
                form = json.loads(cells[11]) if cells[11] not in (None, "") else []
            except (TypeError, ValueError):
                raise InvalidInput.on("file", _("第{n}行“{col}”不是有效的 JSON").format(n=n, col=COLUMNS[11])) from None
            tier_names = [t.strip() for t in str(cells[9] or "").replace(",", "、").split("、") if t.strip()]
            unknown = [t for t in tier_names if t not in by_label]
            if unknown:
                raise InvalidInput.on("file", _("第{n}行“{col}”：未知层级 {t}").format(
                    n=n, col=COLUMNS[9], t=unknown[0]))
            data_row = {"name": cells[1], "department": str(cells[2] or ""), "time_limit_days": cells[3],
                        "previous_time_limit_days": cells[4], "eligibility": cells[5] or "", "min_age": cells[6],
                        "fee_yuan": cells[7], "anywhere": _yes(cells[8]), "tiers": [by_label[t] for t in tier_names],
                        "form_fields": form, "description": cells[12] or "",
                        "active": cells[13] in (None, "") or _yes(cells[13])}
            exists = ServiceItem.objects.filter(code=code.upper()).exists()
            try:
                services.item_save(actor=actor, code=code, data=data_row, materials=_parse_materials(cells[10]))
            except InvalidInput as exc:
                field = next(iter(exc.fields), "")
                raise InvalidInput.on("file", _("第{n}行（{field}）：{msg}").format(
                    n=n, field=field, msg=exc.message)) from None
            updated += exists
            created += not exists
    return created, updated
