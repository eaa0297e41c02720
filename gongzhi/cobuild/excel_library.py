"""Excel for the libraries: the needs and resources the viewer may see as office ledgers (:mod:`gongzhi.core.ledger`),
and needs and resources lists in — the registry's template and all-or-nothing import
(:func:`gongzhi.registry.excel.import_workbook`) with this module's sheets and importers, so row/column errors,
header checks and rollbacks behave exactly as there.

Like the registry's sheets the layout is a file format: Chinese titles and labels whatever the interface language.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import FileResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from gongzhi.accounts.roles import Cap
from gongzhi.core import ledger
from gongzhi.core.errors import InvalidInput
from gongzhi.core.scope import as_scope, scoped
from gongzhi.core.validators import normalize_credit_code
from gongzhi.registry import excel as registry_excel
from gongzhi.registry.excel import Column, ImportReport, SheetSpec
from gongzhi.registry.models import Area, MemberUnit

from .models import Kind, Need, NeedSource, OwnerKind, Resource, Urgency
from .services import library as services
from .workflow import MatchState, NeedState

NEEDS_KIND = "cobuild_needs"
NEEDS_SHEET = SheetSpec(NEEDS_KIND, "社区需求", (
    Column("需求名称", "title", N_("如：老年人助餐点每周送餐"), required=True),
    Column("需求类别", "kind", N_("助老、助餐、医疗、法律、教育、文体…"), required=True, parse="choice", choices=Kind),
    Column("区域代码", "area", N_("需求所在社区、网格或小区的代码，须在您的管理范围内"), required=True, as_text=True),
    Column("需求描述", "description", N_("不超过2000字")),
    Column("需求规模", "scale", N_("如：受益约 120 户")),
    Column("需求数量", "quantity", N_("正整数，按资源的计量单位；留空为 1"), parse="count"),
    Column("受益人数", "beneficiaries", N_("非负整数"), parse="count"),
    Column("紧急程度", "urgency", N_("一般、较急、紧急；留空为一般"), parse="choice", choices=Urgency),
    Column("期望解决时间", "wanted_by", N_("如 2026-12-31，不能早于今天"), parse="date"),
), area_field="area")


def _labels(choices: Any) -> dict[str, str]:
    with translation.override("zh-hans"):
        return {str(v): str(label) for v, label in choices.choices}


# ------------------------------------------------------------------------------------------------ exports


NEED_COLUMNS = [
    ledger.Col("编号", "code"), ledger.Col("需求名称"), ledger.Col("需求类别"), ledger.Col("需求区域"),
    ledger.Col("区域代码", "code"), ledger.Col("需求规模"), ledger.Col("需求数量", "int"),
    ledger.Col("受益人数", "int"),
    ledger.Col("紧急程度"), ledger.Col("期望解决时间", "date"), ledger.Col("状态"), ledger.Col("来源"),
    ledger.Col("已确认对接", "int"), ledger.Col("登记时间", "datetime"),
]


def _need_rows(qs: QuerySet[Need]) -> Iterator[list[Any]]:
    kinds, urgencies = _labels(Kind), _labels(Urgency)
    states, sources = _labels(NeedState), _labels(NeedSource)
    confirmed = Count("matches", filter=Q(matches__state__in=[MatchState.CONFIRMED, MatchState.DONE]))
    for n in qs.select_related("area").annotate(confirmed=confirmed).order_by("area_path", "pk").iterator(
            chunk_size=2000):
        yield [str(n.pk), n.title, kinds.get(n.kind, n.kind), n.area.name, n.area.code, n.scale, n.quantity,
               n.beneficiaries, urgencies.get(n.urgency, n.urgency), n.wanted_by, states.get(n.state, n.state),
               sources.get(n.source, n.source), n.confirmed, n.created_at]


def needs_ledger(viewer: Any, qs: QuerySet[Need] | None = None) -> FileResponse:
    """社区需求台账: every need the viewer may see (the page's filters kept), scoped again here."""
    qs = scoped(viewer, qs if qs is not None else Need)
    now = timezone.localtime()
    sheet = ledger.Sheet("社区需求", NEED_COLUMNS, _need_rows(qs),
                         title=_("社区需求台账（导出时间：{time}）").format(time=f"{now:%Y-%m-%d %H:%M}"))
    return ledger.streaming_response(ledger.dated_name(_("社区需求台账")), sheet)


RESOURCE_COLUMNS = [
    ledger.Col("编号", "code"), ledger.Col("资源名称"), ledger.Col("资源类别"), ledger.Col("提供方类型"),
    ledger.Col("提供方"), ledger.Col("所在区域"), ledger.Col("可提供数量", "int"), ledger.Col("已对接", "int"),
    ledger.Col("剩余", "int"), ledger.Col("计量单位"), ledger.Col("提供频次"), ledger.Col("资金金额（元）", "number"),
    ledger.Col("有效期起", "date"), ledger.Col("有效期止", "date"), ledger.Col("在库"), ledger.Col("服务区域"),
]


def _resource_rows(qs: QuerySet[Resource]) -> Iterator[list[Any]]:
    kinds, owners = _labels(Kind), _labels(OwnerKind)
    rows = (qs.select_related("unit", "organisation", "person", "area").prefetch_related("reach__area")
            .order_by("area_path", "pk"))
    for r in rows.iterator(chunk_size=2000):
        owner = r.unit or r.organisation or r.person
        reach = "、".join(x.area.name for x in sorted(r.reach.all(), key=lambda x: x.area_path))
        yield [str(r.pk), r.title, kinds.get(r.kind, r.kind), owners.get(r.owner_kind, r.owner_kind),
               str(owner or ""), r.area.name, r.capacity, r.used, r.left, r.measure, r.cadence,
               float(r.amount) if r.amount is not None else None, r.valid_from, r.valid_until,
               "是" if r.active else "否", reach]


def resources_ledger(viewer: Any, qs: QuerySet[Resource]) -> FileResponse:
    """共建资源台账 of the library as the viewer browses it (``selectors.library.resources`` applied the scope)."""
    now = timezone.localtime()
    sheet = ledger.Sheet("共建资源", RESOURCE_COLUMNS, _resource_rows(qs),
                         title=_("共建资源台账（导出时间：{time}）").format(time=f"{now:%Y-%m-%d %H:%M}"))
    return ledger.streaming_response(ledger.dated_name(_("共建资源台账")), sheet)


# ------------------------------------------------------------------------------------------------ needs in


def needs_template() -> bytes:
    return registry_excel.template_workbook(NEEDS_KIND, spec=NEEDS_SHEET)


def _area_for(actor: Any, code: str) -> Area:
    # One message for "no such code" and "not yours": an importer learns nothing about areas outside her subtree.
    area = Area.objects.filter(code=code).first()
    if area is None or not (actor is None or as_scope(actor).can(Cap.COBUILD_MANAGE, area_path=area.path)):
        raise InvalidInput.on("area", _("找不到代码为 {code} 的区域，或该区域不在您的管理范围内").format(code=code))
    return area


def _import_need(actor: Any, v: dict[str, Any]) -> None:
    services.need_register(
        actor=actor, area=_area_for(actor, v["area"]), kind=v["kind"], title=v["title"],
        description=v.get("description") or "", scale=v.get("scale") or "",
        quantity=v.get("quantity") or 1, beneficiaries=v.get("beneficiaries") or 0,
        urgency=v.get("urgency") or Urgency.NORMAL, wanted_by=v.get("wanted_by"))


def import_needs(*, actor: Any, data: bytes, dry_run: bool = False) -> ImportReport:
    """All rows or none, each through :func:`services.library.need_register` (its checks, scope and audit)."""
    return registry_excel.import_workbook(actor=actor, kind=NEEDS_KIND, data=data, spec=NEEDS_SHEET,
                                          importer=_import_need, cap=Cap.COBUILD_MANAGE, dry_run=dry_run,
                                          refused=_("您没有登记社区需求的权限"))


# ------------------------------------------------------------------------------------------------ resources in

RESOURCES_KIND = "cobuild_resources"
RESOURCES_SHEET = SheetSpec(RESOURCES_KIND, "共建资源", (
    Column("资源名称", "title", N_("如：义诊进社区"), required=True),
    Column("资源类别", "kind", N_("助老、助餐、医疗、法律、教育、文体、场地、资金…"), required=True, parse="choice",
           choices=Kind),
    Column("单位信用代码", "unit", N_("提供资源的本单位的统一社会信用代码（只能为本单位导入）"), required=True,
           as_text=True),
    Column("可提供数量", "capacity", N_("有效期内可提供的总量，正整数"), required=True, parse="count"),
    Column("计量单位", "measure", N_("次、小时、人次、平方米、元…；留空为“次”")),
    Column("提供频次", "cadence", N_("如：每年 6 次、周末、每月 2 小时")),
    Column("资金金额（元）", "amount", N_("资金类资源填写，最多两位小数")),
    Column("有效期起", "valid_from", N_("如 2026-01-01"), required=True, parse="date"),
    Column("有效期止", "valid_until", N_("如 2026-12-31"), required=True, parse="date"),
    Column("服务区域代码", "reach", N_("一个或多个区域代码，用顿号或逗号分隔；留空为本单位所在社区或街道"),
           as_text=True),
    Column("资源说明", "description", N_("不超过2000字")),
), area_field="unit")

SEPARATORS = re.compile(r"[、,，;；\s]+")


def resources_template() -> bytes:
    return registry_excel.template_workbook(RESOURCES_KIND, spec=RESOURCES_SHEET)


def _own_unit(actor: Any, code: str) -> MemberUnit:
    # As for areas: one message for "no such unit" and "not yours" — a unit imports its own resources only.
    unit = MemberUnit.objects.filter(credit_code=normalize_credit_code(code, "unit")).first()
    if unit is None or not (actor is None or as_scope(actor).can(Cap.COBUILD_OFFER, unit_id=unit.pk)):
        raise InvalidInput.on("unit", _("找不到信用代码为 {code} 的单位，或您不是该单位的经办人").format(code=code))
    return unit


def _amount(raw: Any) -> Decimal | None:
    text = str(raw or "").strip()
    if not text:
        return None
    try:
        value = Decimal(text).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise InvalidInput.on("amount", _("资金金额须为数字，如 20000 或 1500.50")) from None
    if value < 0 or value >= Decimal("1e10"):
        raise InvalidInput.on("amount", _("资金金额须在 0 到 9,999,999,999.99 元之间"))
    return value


def _reach(raw: Any) -> list[Area] | None:
    codes = [c for c in SEPARATORS.split(str(raw or "").strip()) if c]
    if not codes:
        return None
    found = {a.code: a for a in Area.objects.filter(code__in=codes)}
    missing = [c for c in codes if c not in found]
    if missing:
        raise InvalidInput.on("reach", _("找不到代码为 {code} 的区域").format(code="、".join(missing[:5])))
    return [found[c] for c in codes]


def _import_resource(actor: Any, v: dict[str, Any]) -> None:
    services.resource_offer(
        actor=actor, owner_kind=OwnerKind.UNIT, unit=_own_unit(actor, v["unit"]), kind=v["kind"], title=v["title"],
        capacity=v["capacity"], valid_from=v["valid_from"], valid_until=v["valid_until"],
        description=v.get("description") or "", measure=v.get("measure") or "次", cadence=v.get("cadence") or "",
        amount=_amount(v.get("amount")), reach=_reach(v.get("reach")))


def import_resources(*, actor: Any, data: bytes, dry_run: bool = False) -> ImportReport:
    """资源清单导入 by a unit's handler for her own unit: all rows or none, each through
    :func:`services.library.resource_offer` (its checks, the unit's ownership, audit)."""
    return registry_excel.import_workbook(actor=actor, kind=RESOURCES_KIND, data=data, spec=RESOURCES_SHEET,
                                          importer=_import_resource, cap=Cap.COBUILD_OFFER, dry_run=dry_run,
                                          refused=_("只有驻区单位的经办人可以导入本单位的资源"))
