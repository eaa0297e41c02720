"""A city adopts the platform from an empty database, in a real browser: the first-run page creates the city root and
its administrator; she imports the area tree and the staff accounts from Excel; a street official logs in, changes
her temporary password and sees only her street; a resident registers herself with an SMS code, the community
confirms her, she reports a problem, follows it and rates it, and each step reaches her inbox."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from gongzhi.accounts.models import RoleGrant
from gongzhi.registry.models import Area
from tests.browser.conftest import login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Chengshi-2026!"


def _sheet(tmp: Path, name: str, header: list[str], rows: list[list[Any]]) -> str:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(header)
    for row in rows:
        ws.append(row)
    path = tmp / name
    wb.save(path)
    return str(path)


AREAS = [
    ["海港区", "350201", "区/县", "350200"],
    ["海港区新华街道", "350201001000", "街道", "350201"],
    ["海港区新城街道", "350201002000", "街道", "350201"],
    ["碧海社区", "350201001001", "社区", "350201001000"],
    ["碧海社区第1网格", "350201001001001", "网格", "350201001001"],
    ["海鸥花园", "35020100100100101", "小区", "350201001001001"],
    ["海鸥花园1号楼", "35020100100100101001", "楼栋", "35020100100100101"],
    ["桥东社区", "350201002001", "社区", "350201002000"],
]


def _sms_code(caplog: Any) -> str:
    texts = [r.getMessage() for r in caplog.records if r.name == "gongzhi.sms"]
    codes = re.findall(r"验证码是 (\d{6})", " ".join(texts))
    assert codes, "no SMS code reached the log"
    return codes[-1]


def test_a_city_starts_from_an_empty_database(page: Any, tmp_path: Path, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger="gongzhi.sms")
    # 1. The first-run page: the city root and its administrator.
    page.goto("/")
    assert "/accounts/setup/" in page.url
    page.fill("#id_city_name", "海滨市")
    page.fill("#id_city_code", "350200")
    page.fill("#id_username", "root")
    page.fill("#id_display_name", "王敏")
    page.fill("#id_password", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    shot(page, "first-start-setup")
    page.click("button[type=submit]")
    page.wait_for_url("**/transfer/")
    assert Area.objects.get(depth=1).name == "海滨市"

    # 2. The area tree from Excel.
    page.select_option("#id_kind", "areas")
    page.set_input_files("#id_file", _sheet(tmp_path, "areas.xlsx", ["名称", "代码", "层级", "上级代码"], AREAS))
    page.click("main button[type=submit]")
    page.wait_for_selector("text=导入成功")
    assert Area.objects.count() == 1 + len(AREAS)

    # 3. Staff accounts from Excel, with one-time passwords.
    page.click("nav >> text=账号与角色")
    page.click("text=从 Excel 导入员工账号")
    staff = _sheet(tmp_path, "staff.xlsx", ["姓名", "手机号", "用户名", "角色", "区域代码", "单位信用代码"], [
        ["赵街道", "13700000001", "zhao", "街道干部", "350201001000", ""],
        ["钱社区", "13700000002", "qian", "社区工作者", "350201001001", ""],
    ])
    page.set_input_files("#id_file", staff)
    page.click("main button[type=submit]")
    page.wait_for_selector("#import-accounts")
    shot(page, "first-start-staff-imported")
    passwords = dict(zip(page.locator("#import-accounts td.username").all_inner_texts(),
                         page.locator("#import-accounts code.password").all_inner_texts(), strict=True))
    assert set(passwords) == {"zhao", "qian"}

    # 4. The street official changes her temporary password and sees only her street.
    login(page, "zhao", passwords["zhao"])
    assert "/accounts/password/" in page.url
    page.fill("#id_old_password", passwords["zhao"])
    page.fill("#id_new_password", "Zhao-street-88")
    page.fill("#id_new_password2", "Zhao-street-88")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=密码已修改")
    page.goto("/areas/")
    roots = page.locator("main ul.tree > li > span.node > a").all_inner_texts()
    assert roots == ["海港区新华街道"]
    page.goto("/areas/?q=桥东")
    assert "没有找到" in page.inner_text("main")

    # 5. A resident registers herself with an SMS code.
    page.context.clear_cookies()
    page.goto("/login/")
    page.click("text=居民注册")
    page.fill("#id_phone", "13655556666")
    page.click("main button[type=submit]")
    page.wait_for_selector("#id_code")
    page.fill("#id_code", _sms_code(caplog))
    page.fill("#id_name", "陈晨")
    page.select_option("#id_community", label="海港区新华街道 碧海社区")
    page.fill("#id_address", "海鸥花园1号楼302")
    page.fill("#id_password", "Chenchen-home-1")
    page.fill("#id_password2", "Chenchen-home-1")
    shot(page, "first-start-register")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=注册成功")

    # 6. Her community confirms her, recording her on her building.
    login(page, "qian", passwords["qian"])
    page.fill("#id_old_password", passwords["qian"])
    page.fill("#id_new_password", "Qian-community-9")
    page.fill("#id_new_password2", "Qian-community-9")
    page.click("main button[type=submit]")
    page.click("nav >> text=居民注册确认")
    page.click("text=陈晨")
    page.select_option("#id_area", str(Area.objects.get(code="35020100100100101001").pk))
    page.click("text=确认为本社区居民")
    page.wait_for_selector("text=已确认")
    assert RoleGrant.objects.filter(user__username="13655556666", role="resident").exists()
    _resident_reports_follows_and_rates(page)


def _resident_reports_follows_and_rates(page: Any) -> None:
    """She reports from her phone, says 我也遇到 on a neighbour's public case, follows each step of hers in the
    inbox, and rates the result."""
    from django.contrib.auth import get_user_model

    from gongzhi.cases import services as cases
    from gongzhi.cases.models import Case, Category

    qian = get_user_model().objects.get(username="qian")
    building = Area.objects.get(code="35020100100100101001")
    neighbours = cases.case_submit(actor=qian, title="小区路灯不亮", description="海鸥花园东门路灯不亮",
                                   area=building, channel="window")

    login(page, "13655556666", "Chenchen-home-1")
    page.set_viewport_size({"width": 390, "height": 844})  # her phone
    page.goto("/cases/report/")
    page.fill("#id_title", "楼道堆放杂物")
    page.fill("#id_description", "1号楼3单元楼道堆满纸箱，存在消防隐患")
    page.select_option("#id_area", str(building.pk))
    page.click("main button[type=submit]")
    page.wait_for_selector("#case-state")
    case_id = int(page.url.rstrip("/").split("/")[-1])
    shot(page, "first-start-resident-reported")

    page.goto(f"/cases/public/{neighbours.pk}/")
    page.click("button:has-text('我也遇到')")
    page.wait_for_selector("ul.messages")
    assert Case.objects.get(pk=neighbours.pk).follower_count == 1

    # The community carries her case through (each step through the one workflow engine).
    case = Case.objects.get(pk=case_id)
    case = cases.transition(actor=qian, case=case, name="accept", category=Category.objects.get(code="030602"))
    case = cases.transition(actor=qian, case=case, name="dispatch")
    case = cases.transition(actor=qian, case=case, name="start")
    case = cases.transition(actor=qian, case=case, name="handle", feedback="已联系物业清理楼道")
    cases.transition(actor=qian, case=case, name="verify")

    page.reload()
    badge = page.locator("header a[href='/inbox/']")
    assert badge.count() == 1
    page.goto("/inbox/")
    inbox = page.inner_text("main")
    for step in ("受理", "派遣", "签收办理", "办理反馈", "核实通过"):
        assert step in inbox, step
    shot(page, "first-start-resident-inbox")

    page.click(".hamburger")  # her phone's menu: who serves her community
    page.click("nav >> text=社区联系人")
    assert "碧海社区第1网格" in page.inner_text("#contacts")

    page.goto(f"/cases/{case_id}/")
    form = page.locator("form[data-action=rate]")
    form.locator("[name=rating]").select_option("satisfied")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("ul.messages")
    assert page.inner_text("#case-state") == "已办结"
    assert Case.objects.get(pk=case_id).rating == "satisfied"
