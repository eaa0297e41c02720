"""A resident's own channel in the browser (issue 8, item 5): she reports, adds an update with a photo, a neighbour
finds the case on the public page (no sign-in) and says she met it too, and the reporter rates the result."""

from __future__ import annotations

import pytest

from gongzhi.accounts import services as accounts
from gongzhi.cases import services as cases
from gongzhi.cases.models import Case, CasePhoto
from gongzhi.registry import services as registry
from tests.browser.conftest import login, shot
from tests.browser.test_case_pipeline import act, report, tiny_png
from tests.cast import build_cast
from tests.conftest import build_pipeline

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_resident_reports_adds_an_update_a_neighbour_follows_and_she_rates(page, tmp_path, settings) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    cast = build_cast()
    world = build_pipeline(cast)
    pw = cast.password
    carol = accounts.user_create(actor=None, username="carol", password=pw)
    accounts.grant_role(actor=None, user=carol, role="resident", area=cast.community)
    registry.person_create(actor=None, area=cast.building, name="卡萝", user=carol)

    login(page, "bob", pw)
    case_id = report(page, "楼道堆放杂物")
    page.fill("#id_update_text", "今天又多了几袋装修垃圾")
    page.set_input_files("#id_update_photos", str(tiny_png(tmp_path / "more.png")))
    page.click("form[data-action=update] button[type=submit]")
    page.wait_for_selector("ul.messages")
    assert "今天又多了几袋装修垃圾" in page.inner_text("#case-updates")
    assert page.locator("img[alt=居民补充]").count() == 1
    shot(page, "browser-resident-update")

    # Anyone sees the public list without signing in: the compound, not the building or the reporter.
    page.context.clear_cookies()
    page.goto("/cases/public/")
    listed = page.inner_text("#public-cases")
    assert "楼道堆放杂物" in listed and "海鸥花园" in listed and "1号楼" not in listed and "鲍勃" not in listed
    shot(page, "browser-public-cases")

    login(page, "carol", pw)
    page.goto("/cases/public/")
    page.click("#public-cases >> text=楼道堆放杂物")
    page.click("button:has-text('我也遇到')")
    page.wait_for_selector("ul.messages")
    assert "1 人也遇到" in page.inner_text("#case-heat")
    page.goto("/cases/mine/")
    assert "楼道堆放杂物" in page.inner_text("#mine-followed")

    # Staff see the heat on the workbench and carry the case through.
    login(page, "alice", pw)
    page.goto("/cases/?queue=to_accept")
    assert "1人也遇到" in page.inner_text("table.case-list")
    case = Case.objects.get(pk=case_id)
    case = cases.transition(actor=cast.alice, case=case, name="accept", category=world["property"])
    case = cases.transition(actor=cast.alice, case=case, name="dispatch")
    case = cases.transition(actor=cast.alice, case=case, name="start")
    case = cases.transition(actor=cast.alice, case=case, name="handle", feedback="已清运装修垃圾")
    cases.transition(actor=cast.gina, case=case, name="verify")

    login(page, "bob", pw)
    page.click("nav >> text=我的诉求")
    page.click(f"#mine-reported a[href='/cases/{case_id}/']")
    act(page, "rate", rating="satisfied")
    assert page.inner_text("#case-state") == "已办结"
    shot(page, "browser-resident-rated")
    case = Case.objects.get(pk=case_id)
    assert (case.state, case.rating, case.follower_count) == ("closed", "satisfied", 1)
    assert CasePhoto.objects.filter(case=case, stage="update").count() == 1
