"""The catalogue as data: the form of an item (fields as a JSON list) and the check of what an applicant filled in,
the tiers an item may be handled at, and the small default catalogue (our own wording) a fresh install loads from
the catalogue page (目录管理 → 载入默认目录) and the demo loads through the same service.

A form field is ``{"name": "bank_account", "label": "社保卡号", "type": "text"|"number"|"date"|"choice",
"required": true, "choices": ["…"]}`` (``choices`` only for a choice)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.utils.translation import gettext as _

from gongzhi.core.errors import InvalidInput

FIELD_TYPES = ("text", "number", "date", "choice")
TIERS = ("zone", "community", "station")
MAX_FIELDS = 20
MAX_CHOICES = 30
MAX_VALUE = 200
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def clean_tiers(value: Any, field: str = "tiers") -> list[str]:
    tiers = sorted(set(value or []), key=TIERS.index if all(t in TIERS for t in value or []) else str)
    if any(t not in TIERS for t in tiers):
        raise InvalidInput.on(field, _("未知的阵地层级（片区级 zone、社区级 community、驿站级 station）"))
    return tiers


def clean_form_fields(value: Any, field: str = "form_fields") -> list[dict[str, Any]]:
    """The form definition, normalised; anything malformed is invalid on ``field``."""
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > MAX_FIELDS:
        raise InvalidInput.on(field, _("表单字段须为列表，最多{n}项").format(n=MAX_FIELDS))
    out: list[dict[str, Any]] = []
    names: set[str] = set()
    for i, raw in enumerate(value):
        if not isinstance(raw, dict):
            raise InvalidInput.on(field, _("第{i}个字段格式不正确").format(i=i + 1))
        name = str(raw.get("name", "")).strip()
        label = str(raw.get("label", "")).strip()
        kind = str(raw.get("type", "text")).strip()
        if not _NAME.fullmatch(name) or name in names:
            raise InvalidInput.on(field, _("第{i}个字段的名称须为小写英文字母开头且不重复").format(i=i + 1))
        if not label or len(label) > 50:
            raise InvalidInput.on(field, _("第{i}个字段须有不超过50字的标签").format(i=i + 1))
        if kind not in FIELD_TYPES:
            raise InvalidInput.on(field, _("第{i}个字段的类型须为 text、number、date 或 choice").format(i=i + 1))
        item: dict[str, Any] = {"name": name, "label": label, "type": kind, "required": bool(raw.get("required"))}
        if kind == "choice":
            choices = [str(c).strip() for c in raw.get("choices") or [] if str(c).strip()]
            if not choices or len(choices) > MAX_CHOICES or any(len(c) > 50 for c in choices):
                raise InvalidInput.on(field, _("第{i}个字段（选项）须列出1到{n}个选项").format(i=i + 1, n=MAX_CHOICES))
            item["choices"] = choices
        names.add(name)
        out.append(item)
    return out


def clean_form_data(fields: list[dict[str, Any]], data: Any, field: str = "form_data") -> dict[str, Any]:
    """What the applicant filled in, checked against the item's form: required fields present, numbers numbers,
    dates ``YYYY-MM-DD``, choices one of the list; unknown keys refused. Errors name ``form_data.<name>``."""
    data = data or {}
    if not isinstance(data, dict):
        raise InvalidInput.on(field, _("申请表格式不正确"))
    known = {f["name"] for f in fields}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvalidInput.on(field, _("申请表中有未知字段：{names}").format(names="、".join(map(str, unknown))))
    out: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for f in fields:
        key = f"{field}.{f['name']}"
        raw = data.get(f["name"])
        text = "" if raw is None else str(raw).strip()
        if not text:
            if f.get("required"):
                errors[key] = [_("请填写{label}").format(label=f["label"])]
            continue
        if len(text) > MAX_VALUE:
            errors[key] = [_("不超过{n}个字").format(n=MAX_VALUE)]
        elif f["type"] == "number":
            try:
                number = float(text)
            except ValueError:
                errors[key] = [_("{label}须为数字").format(label=f["label"])]
                continue
            if number != number or abs(number) > 1e12:
                errors[key] = [_("{label}须为数字").format(label=f["label"])]
                continue
            out[f["name"]] = int(number) if number.is_integer() else number
        elif f["type"] == "date":
            try:
                out[f["name"]] = dt.date.fromisoformat(text).isoformat()
            except ValueError:
                errors[key] = [_("{label}须为日期（YYYY-MM-DD）").format(label=f["label"])]
        elif f["type"] == "choice":
            if text not in f.get("choices", []):
                errors[key] = [_("{label}须为列出的选项之一").format(label=f["label"])]
            else:
                out[f["name"]] = text
        else:
            out[f["name"]] = text
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], errors)
    return out


# ------------------------------------------------------------------------------------------ the default catalogue

def _f(name: str, label: str, kind: str = "text", required: bool = True, choices: list[str] | None = None
       ) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "label": label, "type": kind, "required": required}
    if choices:
        out["choices"] = choices
    return out


# code, name, department (by name in the registry), limit, before, eligibility, min age, fee, anywhere, tiers,
# description, materials (name, original seen, required), form fields
DEFAULT_ITEMS: list[dict[str, Any]] = [
    {"code": "MZ-001", "name": "高龄津贴申领", "department": "市民政局", "limit": 3, "before": 7,
     "eligibility": "本市户籍、年满80周岁的老年人", "min_age": 80,
     "description": "核实年龄与户籍后按月发放至本人社保卡。",
     "materials": [("居民身份证", True, True), ("户口簿", True, True), ("社会保障卡（金融账户）", False, True)],
     "fields": [_f("bank_card", "社保卡号"), _f("live_alone", "是否独居", "choice", True, ["是", "否"])]},
    {"code": "MZ-002", "name": "最低生活保障申请", "department": "市民政局", "limit": 15, "before": 30,
     "eligibility": "家庭人均收入低于本市低保标准的常住居民",
     "description": "社区入户调查、民主评议并公示后由民政部门审批。",
     "materials": [("居民身份证", True, True), ("户口簿", True, True), ("家庭收入情况说明", False, True),
                   ("家庭财产申报表", False, True), ("残疾人证或病历（如有）", False, False)],
     "fields": [_f("household_size", "家庭人口数", "number"), _f("monthly_income", "家庭月收入（元）", "number"),
                _f("reason", "申请原因")]},
    {"code": "MZ-003", "name": "老年人优待证办理", "department": "市民政局", "limit": 3, "before": 5,
     "eligibility": "年满60周岁的常住老年人", "min_age": 60,
     "materials": [("居民身份证", True, True), ("近期一寸照片", False, True)],
     "fields": [_f("phone", "联系电话")]},
    {"code": "MZ-004", "name": "门牌证明", "department": "市民政局", "limit": 2, "before": 5,
     "eligibility": "房屋所有权人或实际居住人",
     "materials": [("居民身份证", True, True), ("房屋权属证明或租赁合同", True, True)],
     "fields": [_f("address", "房屋坐落"), _f("purpose", "用途", "choice", True, ["办理户籍", "入学", "其他"])]},
    {"code": "CL-001", "name": "残疾人证申领", "department": "市卫生健康委员会", "limit": 10, "before": 20,
     "eligibility": "经指定医院评定为残疾的居民", "anywhere": False, "tiers": ["zone", "community"],
     "description": "须到片区级或社区级党群服务中心窗口，预约评残医院。",
     "materials": [("居民身份证", True, True), ("户口簿", True, True), ("近期二寸照片", False, True),
                   ("医院诊断证明", True, True)],
     "fields": [_f("kind", "残疾类别", "choice", True, ["视力", "听力", "言语", "肢体", "智力", "精神", "多重"])]},
    {"code": "GA-001", "name": "居住证明开具", "department": "市公安局", "limit": 1, "before": 3,
     "eligibility": "在本市居住的居民",
     "materials": [("居民身份证", True, True), ("租赁合同或房产证明", False, True)],
     "fields": [_f("since", "起始居住日期", "date"), _f("purpose", "用途")]},
    {"code": "GA-002", "name": "居住证申领", "department": "市公安局", "limit": 7, "before": 15,
     "eligibility": "在本市居住满半年的非本市户籍人员", "anywhere": False, "tiers": ["zone", "community"],
     "materials": [("居民身份证", True, True), ("居住登记凭证", False, True), ("近期一寸照片", False, True)],
     "fields": [_f("since", "来本市日期", "date"), _f("employer", "就业单位", required=False)]},
    {"code": "ZJ-001", "name": "公共租赁住房申请", "department": "市住房和城乡建设局", "limit": 15, "before": 20,
     "eligibility": "本市城镇住房困难、中低收入家庭",
     "description": "社区初审、街道复审后报住建部门审核配租。",
     "materials": [("居民身份证", True, True), ("户口簿", True, True), ("家庭收入证明", False, True),
                   ("现住房情况说明", False, True)],
     "fields": [_f("household_size", "家庭人口数", "number"), _f("current_area", "现住房面积（平方米）", "number"),
                _f("monthly_income", "家庭月收入（元）", "number")]},
    {"code": "ZJ-002", "name": "既有住宅加装电梯备案", "department": "市住房和城乡建设局", "limit": 5, "before": 10,
     "eligibility": "单元业主代表", "fee": "0",
     "materials": [("业主同意书", True, True), ("加装方案", False, True), ("施工单位资质", False, True)],
     "fields": [_f("building", "楼栋单元"), _f("owners_agreed", "同意户数", "number")]},
    {"code": "RS-001", "name": "灵活就业社保登记", "department": "市人力资源和社会保障局", "limit": 3, "before": 5,
     "eligibility": "本市户籍灵活就业人员", "anywhere": True,
     "materials": [("居民身份证", True, True), ("就业情况说明", False, False)],
     "fields": [_f("start", "参保起始月份", "date"), _f("level", "缴费档次", "choice", True, ["60%", "100%", "300%"])]},
    {"code": "SF-001", "name": "法律援助申请", "department": "市司法局", "limit": 7, "before": 7,
     "eligibility": "经济困难、需要法律帮助的居民",
     "materials": [("居民身份证", True, True), ("经济困难证明或承诺", False, True), ("案件相关材料", False, True)],
     "fields": [_f("matter", "案件类别", "choice", True, ["劳动争议", "婚姻家庭", "赡养抚养", "其他"]),
                _f("summary", "简要案情")]},
]
