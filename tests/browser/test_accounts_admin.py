"""An account administrator of a street at work in the browser: she creates an account inside her street, grants it a
second role with the search box, resets its password and deactivates it; accounts outside her street are not there."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from gongzhi.accounts import services as accounts
from gongzhi.accounts.models import RoleGrant
from tests.browser.conftest import login, shot
from tests.cast import build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_street_account_administrator_creates_grants_resets_and_deactivates(page: Any) -> None:
    cast = build_cast()
    sara = accounts.user_create(actor=None, username="sara", password=cast.password, home_area=cast.street)
    accounts.grant_role(actor=None, user=sara, role="account_admin", area=cast.street)
    login(page, "sara", cast.password)
    page.click("nav >> text=账号与角色")
    listing = page.inner_text("main table")
    assert "alice" in listing and "olga" not in listing
    page.click("text=新建账号")
    page.fill("#id_username", "wangfang")
    page.fill("#id_display_name", "王芳")
    page.fill("#id_phone", "13912345678")
    page.select_option("#id_home_area", str(cast.community.pk))
    page.select_option("#id_role", "community_worker")
    page.click("main button[type=submit]")
    temporary = page.inner_text("#temporary-password")
    assert len(temporary) == 14
    page.click("text=查看账号")

    # A second role: the area is found by typing in the search box above the select.
    form = page.locator("#grant-form")
    form.locator("[name=role]").select_option("grid_worker")
    form.get_by_role("searchbox", name="授权区域 搜索").fill("碧海社区第1")
    expect(form.locator("select[name=area] option")).to_have_count(2)  # "—" and the one grid found
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=已授予角色")
    assert RoleGrant.objects.filter(user__username="wangfang", role="grid_worker", area=cast.grid1).exists()
    assert "新增角色授权" in page.inner_text("#trail")
    shot(page, "accounts-user")

    page.click("text=重置密码")
    assert page.inner_text("#temporary-password") != temporary
    page.fill("#deact-reason", "调离本街道")
    page.click("text=停用账号")
    page.wait_for_selector("text=已停用账号")
    assert "已停用" in page.inner_text("h1")
