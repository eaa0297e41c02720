"""Staff accounts from Excel: one row per person and role (姓名, 手机号, 角色, 区域代码 or 单位信用代码), imported
all or nothing through ``accounts.services`` with the registry's sheet machinery (same template style, same
row/column/reason report). Each new account gets a temporary password, shown once after the import, to be
changed at first login."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from gongzhi.core.errors import InvalidInput
from gongzhi.registry import excel as sheets
from gongzhi.registry.models import MemberUnit

from . import services
from .roles import POLICIES, Cap, Role

User = get_user_model()

STAFF = sheets.SheetSpec("staff", "员工账号", (
    sheets.Column("姓名", "display_name", "", required=True),
    sheets.Column("手机号", "phone", N_("11位手机号；用户名留空时作为用户名"), required=True, parse="phone",
                  as_text=True, unique=True),
    sheets.Column("用户名", "username", N_("留空则用手机号"), unique=True),
    sheets.Column("角色", "role", N_("如：社区工作者、网格员、街道干部、部门/单位经办人"), required=True,
                  parse="choice", choices=Role),
    sheets.Column("区域代码", "area", N_("角色所在区域的代码（部门/单位经办人留空）"), as_text=True),
    sheets.Column("单位信用代码", "unit", N_("部门/单位经办人填写单位的统一社会信用代码"), as_text=True),
), area_field="area")


def template() -> bytes:
    return sheets.template_workbook("staff", spec=STAFF)


def _import_staff(actor: Any, v: dict[str, Any]) -> dict[str, str]:
    role = v["role"]
    policy = POLICIES[role]
    area = unit = None
    if policy.anchor == "unit":
        if not v["unit"]:
            raise InvalidInput.on("unit", _("该角色须填写单位信用代码"))
        unit = MemberUnit.objects.filter(credit_code=v["unit"].upper()).select_related("area").first()
        if unit is None:
            raise InvalidInput.on("unit", _("找不到统一社会信用代码为 {code} 的单位").format(code=v["unit"]))
    else:
        if not v["area"]:
            raise InvalidInput.on("area", _("该角色须填写区域代码"))
        area = sheets._area(actor, v["area"], "area")
    username = v["username"] or v["phone"]
    temporary = services.temporary_password()
    user = services.user_create(actor=actor, username=username, password=temporary, display_name=v["display_name"],
                                home_area=area if area is not None else unit.area if unit else None,
                                phone=v["phone"], must_change_password=True, reason=_("员工账号导入"))
    services.grant_role(actor=actor, user=user, role=role, area=area, unit=unit, reason=_("员工账号导入"))
    return {"username": username, "display_name": v["display_name"], "role": str(policy.role.label),
            "password": temporary}


def import_staff(*, actor: Any, data: bytes) -> sheets.ImportReport:
    return sheets.import_workbook(actor=actor, kind="staff", data=data, spec=STAFF, importer=_import_staff,
                                  cap=Cap.MANAGE_ACCOUNTS, refused=_("您没有管理账号的权限"))
