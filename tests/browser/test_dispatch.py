"""Dispatch intelligence as people click it (issue 11): a dispatcher opens a new case and sees the suggestion with
its confidence, department and alternatives, corrects it by taking another, and the correction is on the models
page; the hot-spot page shows a group of cases and one becomes a 并单 group."""

from __future__ import annotations

import pytest

from gongzhi.cases import services as cases
from gongzhi.cases.models import Case
from gongzhi.cases.workflow import State
from gongzhi.dispatch.models import Suggestion, SuggestionStatus
from tests.browser.conftest import login, shot
from tests.cast import build_cast
from tests.conftest import build_pipeline

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_dispatcher_sees_the_suggestion_corrects_it_and_the_correction_is_recorded(page) -> None:
    cast = build_cast()
    build_pipeline(cast)
    case = cases.case_submit(actor=cast.bob, title="小区物业不作为",
                             description="我们小区物业公司收了物业费不办事，楼道灯坏了三个月也不修，垃圾没人清理",
                             area=cast.building)
    suggestion = Suggestion.objects.get(case=case)
    assert suggestion.status == SuggestionStatus.PREFILLED

    login(page, "stan", cast.password)
    page.click("nav >> text=工作台")
    page.click("main a.btn:has-text('待受理')")
    page.wait_for_selector("#hotspots-card")  # the dispatcher's first page also shows hot spots and the waiting
    page.click(f"main >> text={case.number}")
    card = page.locator("#case-suggestion")
    card.wait_for()
    assert suggestion.category.code in card.inner_text()  # type: ignore[union-attr]
    assert "置信度" in page.inner_text("#suggested-confidence")
    assert page.locator("#suggestion-alternatives tr").count() == 4  # header + three alternatives
    assert page.locator("#suggested-unit").inner_text().strip()
    # The accept form is pre-filled with the first suggestion.
    assert page.locator("#act-accept-category").input_value() == suggestion.category.code  # type: ignore[union-attr]
    shot(page, "dispatch-suggestion")
    # The dispatcher takes the second alternative instead: the case is accepted with it, the correction recorded.
    second = suggestion.alternatives[1]["code"]
    page.locator("#suggestion-alternatives tr").nth(2).locator("button").click()
    page.wait_for_selector("ul.messages")
    case.refresh_from_db()
    assert case.state == State.ACCEPTED and case.category.code == second  # type: ignore[union-attr]
    assert Suggestion.objects.get(case=case).status == SuggestionStatus.CORRECTED

    login(page, "admin", cast.password)
    page.click("nav >> text=派单智能")
    row = page.locator("#corrections tr").nth(1)
    assert case.title[:10] in row.inner_text()
    page.locator("[data-chart=chart-reliability] canvas").first.wait_for()
    shot(page, "dispatch-models")


def test_the_hot_spot_page_shows_a_group_and_it_becomes_one_merge_group(page) -> None:
    cast = build_cast()
    build_pipeline(cast)
    texts = ["海鸥花园1号楼门口污水井堵塞外溢，臭气熏天", "海鸥花园1号楼门口污水井又堵了，污水流到路上",
             "海鸥花园1号楼下水道堵塞，污水井冒水好几天了"]
    made = [cases.case_submit(actor=cast.bob, title="海鸥花园污水井堵塞", description=t, area=cast.building)
            for t in texts]
    cases.case_submit(actor=cast.bob, title="学校门口流动摊贩", description="小学门口每天下午都有流动摊贩占道",
                      area=cast.building)

    login(page, "stan", cast.password)
    page.click("nav >> text=热点问题")
    first = page.locator("div.hotspot").first
    first.wait_for()
    text = first.inner_text()
    assert "污水井" in text
    for case in made:
        assert case.number in text
    shot(page, "dispatch-hotspots")
    page.once("dialog", lambda d: d.accept())
    first.locator("button", has_text="合并为一组").click()
    page.wait_for_selector("ul.messages")
    states = sorted(Case.objects.filter(pk__in=[c.pk for c in made]).values_list("state", flat=True))
    assert states.count(State.MERGED) == 2 and len(states) == 3
