"""Grid patrol in the browser on a phone (390 px): the grid worker opens 网格巡查, starts today's round, ticks the
checklist (one problem with a photo), turns the problem into a case, visits a household and closes the round; the
community worker sees the figures with their chart."""

from __future__ import annotations

import pytest

from gongzhi.cases.models import Case
from gongzhi.patrol import services
from gongzhi.patrol.models import HouseholdVisit, PatrolCheck, PatrolRound
from tests.browser.conftest import login, shot
from tests.browser.test_case_pipeline import tiny_png
from tests.cast import build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_grid_worker_walks_a_round_on_her_phone(page, tmp_path, settings) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    cast = build_cast()
    services.plan_create(actor=cast.alice, area=cast.grid1, name="每天常态巡访", frequency="daily",
                         checklist=["消防通道", "楼道堆物", "独居老人"], patroller=cast.gina)
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "gina", cast.password)
    page.goto("/patrol/")
    task = page.locator(".patrol-task", has_text="每天常态巡访")
    assert "待巡查" in task.inner_text()
    start = task.locator("button:has-text('开始巡查')")
    assert start.bounding_box()["height"] >= 44
    shot(page, "browser-patrol-due-phone")
    start.click()
    page.wait_for_url("**/patrol/rounds/*/")

    def item(label: str):
        return page.locator(f".check[data-label='{label}']")

    item("消防通道").locator("label.tap-ok").click()
    item("消防通道").locator("button:has-text('保存')").click()
    page.wait_for_selector(".check[data-label='消防通道'].check-ok")
    problem = item("楼道堆物")
    tap = problem.locator("label.tap-problem")
    assert tap.bounding_box()["height"] >= 44
    tap.click()
    problem.locator("textarea").fill("3单元楼道堆放纸箱和旧家具，堵塞通道")
    problem.locator("input[type=file]").set_input_files(str(tiny_png(tmp_path / "hall.png")))
    problem.locator("button:has-text('保存')").click()
    page.wait_for_selector(".check[data-label='楼道堆物'].check-problem img.check-photo")
    to_case = item("楼道堆物").locator("button:has-text('转为诉求')")
    assert to_case.bounding_box()["height"] >= 44
    to_case.click()
    page.wait_for_selector("ul.messages")
    case = Case.objects.get()
    assert case.channel == "patrol" and case.area_id == cast.grid1.pk
    assert case.number in item("楼道堆物").inner_text()
    assert PatrolCheck.objects.get(label="楼道堆物").case_id == case.pk

    # 入户走访: the resident on the register, who mentions a problem.
    page.select_option("#id_visit-person", label="鲍勃（1号楼）")
    page.fill("#id_visit-note", "反映楼上漏水，希望社区协调")
    page.check("#id_visit-problem_found")
    page.click("button:has-text('记录走访')")
    page.wait_for_selector(".visit:has-text('鲍勃')")
    page.locator(".visit", has_text="鲍勃").locator("button:has-text('转为诉求')").click()
    page.wait_for_selector(".visit:has-text('已转为诉求')")
    visit = HouseholdVisit.objects.get()
    assert visit.case is not None and visit.case.channel == "visit" and visit.case.reporter.name == "鲍勃"

    # Closing before the last item is ticked names what is left; then it closes.
    page.click("button:has-text('完成本次巡查')")
    assert "独居老人" in page.inner_text("#error-checks")
    item("独居老人").locator("label.tap-ok").click()
    item("独居老人").locator("button:has-text('保存')").click()
    page.wait_for_selector(".check[data-label='独居老人'].check-ok")
    shot(page, "browser-patrol-round-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # nothing sticks out sideways on the phone
    page.fill("#id_close-summary", "巡查完毕，发现1处问题已转办")
    page.click("button:has-text('完成本次巡查')")
    page.wait_for_url("**/patrol/")
    assert PatrolRound.objects.get().state == "closed"
    assert "已完成" in page.locator(".patrol-task", has_text="每天常态巡访").inner_text()

    # The community worker sees it in the figures, with the chart drawn.
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, "alice", cast.password)
    page.goto(f"/patrol/figures/?area={cast.community.pk}")
    page.wait_for_selector("[data-chart='chart-visits'][data-ready='1']")
    row = page.locator("#grid-figures tr", has_text="碧海社区第1网格").inner_text()
    assert "400" in row and "0.2" in row
    shot(page, "browser-patrol-figures")
