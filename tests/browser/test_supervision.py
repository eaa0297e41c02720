"""督查考核 in the browser: the community's party secretary writes and submits her monthly report, the street official
sees it waiting on 月述月评 and gives a verdict (a 差 without a note is refused, on the page); then a cross-check: the
street official records 港北 checking 碧海, the 港北 team member files a finding, the 碧海 community worker files the
rectification, the team member sends it back with a reason, it is rectified again and verified, and the ledger
counts it closed."""

from __future__ import annotations

import pytest
from django.utils import timezone

from gongzhi.accounts import services as accounts
from gongzhi.registry import services as registry
from gongzhi.registry.models import OrgLevel
from gongzhi.supervision.models import CrossCheck, Finding, MonthlyReport, Rectification
from tests.browser.conftest import login, shot
from tests.cast import build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_monthly_report_and_a_cross_check_to_closure(page) -> None:
    cast = build_cast()
    street_org = registry.party_org_create(actor=None, area=cast.street, name="中共新华街道工作委员会",
                                           level=OrgLevel.WORKING_COMMITTEE)
    registry.party_org_create(actor=None, area=cast.community, name="中共碧海社区委员会", level=OrgLevel.COMMITTEE,
                              parent=street_org)
    registry.party_org_create(actor=None, area=cast.community2, name="中共港北社区委员会", level=OrgLevel.COMMITTEE,
                              parent=street_org)
    sue = accounts.user_create(actor=None, username="sue", password=cast.password)
    accounts.grant_role(actor=None, user=sue, role="party_secretary", area=cast.community)

    # 述职: the secretary writes her organisation's month and submits it.
    login(page, "sue", cast.password)
    page.goto("/supervision/reports/")
    page.select_option("#id_organisation", label="中共碧海社区委员会（碧海社区）")
    page.fill("#id_month", timezone.localdate().strftime("%Y-%m"))
    page.fill("#id_work_done", "召开党委会2次，开展“三访民情”走访居民120户")
    page.fill("#id_problems", "网格党支部活动不够规律")
    page.fill("#id_next_plan", "每个网格党支部至少开展1次主题党日")
    page.click("button:has-text('提交述职')")
    page.wait_for_selector("ul.messages")
    assert page.inner_text("#report-state") == "待评议"
    report = MonthlyReport.objects.get()
    assert report.state == "submitted"

    # 评议: the street official finds it waiting and gives a verdict.
    login(page, "stan", cast.password)
    page.goto("/supervision/reports/")
    assert "中共港北社区委员会" in page.inner_text("#org-reports")
    assert "未填报" in page.locator("#org-reports tr[data-org='中共港北社区委员会']").inner_text()
    page.click(f"#review-queue a[href='/supervision/reports/{report.pk}/']")
    page.select_option("#id_verdict", "poor")
    page.click("#step-review button")
    page.wait_for_selector("ul.messages li.error")
    assert "评为“差”时请写明评议意见" in page.inner_text("ul.messages")
    page.select_option("#id_verdict", "fairly_good")
    page.fill("#id_note", "工作扎实，问题分析到位")
    page.click("#step-review button")
    page.wait_for_selector("#report-verdict")
    assert "较好" in page.inner_text("#report-verdict")
    assert MonthlyReport.objects.get().verdict == "fairly_good"
    page.goto("/supervision/reports/")
    assert page.inner_text("#kpi-submitted .value") == "1"
    assert page.inner_text("#kpi-missing .value") == "2"
    page.wait_for_selector("[data-chart='chart-verdicts'] canvas")
    shot(page, "browser-supervision-reports")

    # 交叉核查: 港北 checks 碧海 (the street official records it, charlie of 港北 is the team).
    page.goto("/supervision/checks/")
    page.select_option("#id_check-area", label="新华街道碧海社区（社区）")
    page.select_option("#id_check-inspecting_area", label="新华街道港北社区（社区）")
    page.fill("#id_check-checked_on", timezone.localdate().isoformat())
    page.check("input[name='check-methods'][value='records']")
    page.check("input[name='check-methods'][value='site']")
    page.select_option("#id_check-team", label="charlie（港北社区）")
    page.fill("#id_check-summary", "查阅台账资料，实地查看党群服务中心")
    page.click("button:has-text('登记核查')")
    page.wait_for_selector("#check-info")
    check = CrossCheck.objects.get()

    # The team member files a finding with a deadline of 5 working days.
    login(page, "charlie", cast.password)
    page.goto(f"/supervision/checks/{check.pk}/")
    page.fill("#id_finding-description", "党群服务中心未公示服务事项清单")
    page.select_option("#id_finding-category", "position")
    page.fill("#id_finding-place", "碧海社区党群服务中心")
    page.fill("#id_finding-deadline_days", "5")
    page.click("#new-finding button:has-text('登记问题')")
    page.wait_for_selector("ul.messages")
    finding = Finding.objects.get()
    assert page.locator(f"#finding-{finding.pk} .state").inner_text() == "待整改"

    # The responsible community rectifies.
    login(page, "alice", cast.password)
    page.goto("/supervision/checks/")
    page.click(f"#to-rectify a[href='/supervision/checks/{check.pk}/#finding-{finding.pk}']")
    card = page.locator(f"#finding-{finding.pk}")
    card.locator("textarea[name=measures]").fill("制作服务事项公示牌")
    card.locator("textarea[name=completion_note]").fill("已上墙公示")
    card.locator("button:has-text('提交整改')").click()
    page.wait_for_selector("ul.messages")
    assert Finding.objects.get().state == "rectified"

    # The inspecting side sends it back, then closes it after the second rectification.
    login(page, "charlie", cast.password)
    page.goto(f"/supervision/checks/{check.pk}/")
    card = page.locator(f"#finding-{finding.pk}")
    card.locator("input[name=reason]").fill("公示内容不全，缺少办理时限")
    card.locator("button:has-text('退回整改')").click()
    page.wait_for_selector("ul.messages")
    assert Finding.objects.get().state == "returned"

    login(page, "alice", cast.password)
    page.goto(f"/supervision/checks/{check.pk}/")
    card = page.locator(f"#finding-{finding.pk}")
    assert "公示内容不全" in card.inner_text()
    card.locator("textarea[name=measures]").fill("补充15项服务事项的办理时限")
    card.locator("textarea[name=completion_note]").fill("已重新公示")
    card.locator("button:has-text('提交整改')").click()
    page.wait_for_selector("ul.messages")

    login(page, "charlie", cast.password)
    page.goto("/supervision/checks/")
    page.click(f"#to-verify a[href='/supervision/checks/{check.pk}/#finding-{finding.pk}']")
    card = page.locator(f"#finding-{finding.pk}")
    card.locator("input[name=note]").fill("现场核实已整改到位")
    card.locator("button:has-text('核验销号')").click()
    page.wait_for_selector("ul.messages")
    assert page.locator(f"#finding-{finding.pk} .state").inner_text() == "已销号"
    assert list(Rectification.objects.order_by("pk").values_list("outcome", flat=True)) == ["sent_back", "accepted"]
    shot(page, "browser-supervision-check")

    # The street's ledger counts it closed.
    login(page, "stan", cast.password)
    page.goto("/supervision/checks/")
    row = page.locator("#ledger-counts tr[data-area='碧海社区']")
    assert row.locator("td").nth(4).inner_text() == "1"
    assert page.inner_text("#kpi-open .value") == "0"


def test_the_pages_pass_axe_and_fit_a_phone(browser, live_server) -> None:
    """No critical or serious axe violation on the four pages; on a phone nothing sticks out sideways and every
    button is a 44 px tap target."""
    from gongzhi.supervision import services
    from tests.browser.test_accessibility import TAP, TAP_SCRIPT, _axe

    cast = build_cast()
    street_org = registry.party_org_create(actor=None, area=cast.street, name="中共新华街道工作委员会",
                                           level=OrgLevel.WORKING_COMMITTEE)
    org = registry.party_org_create(actor=None, area=cast.community, name="中共碧海社区委员会",
                                    level=OrgLevel.COMMITTEE, parent=street_org)
    sue = accounts.user_create(actor=None, username="sue", password=cast.password)
    accounts.grant_role(actor=None, user=sue, role="party_secretary", area=cast.community)
    report = services.report_create(actor=sue, organisation=org, month=timezone.localdate(), work_done="召开党委会",
                                    submit=True)
    services.report_step(actor=cast.stan, report=report, step="review", verdict="good")
    check = services.check_create(actor=cast.stan, area=cast.community, inspecting_area=cast.community2,
                                  checked_on=timezone.localdate(), team=[cast.charlie], methods=["site"])
    finding = services.finding_add(actor=cast.charlie, cross_check=check, description="党建阵地标识不统一",
                                   category="position", deadline_days=5)
    services.finding_step(actor=cast.alice, finding=finding, step="rectify", measures="统一标识",
                          completion_note="已更换")
    pages = ["/supervision/reports/", f"/supervision/reports/{report.pk}/", "/supervision/checks/",
             f"/supervision/checks/{check.pk}/"]
    failures: list[str] = []
    opened: list[str] = []
    for size in ({"width": 1280, "height": 900}, {"width": 390, "height": 844}):
        context = browser.new_context(viewport=size, base_url=live_server.url, locale="zh-CN", bypass_csp=True)
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            for username in ("sue", "stan", "alice", "charlie"):
                login(page, username, cast.password)
                for url in pages:
                    if page.goto(url).status != 200:
                        continue  # not hers to see (charlie: 碧海's report)
                    opened.append(url)
                    label = f"{username} {url} {size['width']}"
                    if size["width"] > 400:
                        failures += [f"{v['impact']} {v['id']} on {label}: {v['targets']}" for v in _axe(page)
                                     if v["impact"] in ("critical", "serious")]
                    else:
                        failures += [f"tap {b} on {label}" for b in page.evaluate(TAP_SCRIPT, TAP)]
                        width = page.evaluate("document.documentElement.scrollWidth")
                        if width > 390:
                            failures.append(f"{width}px wide: {label}")
        finally:
            context.close()
    assert len(opened) == 2 * (4 * 4 - 1), opened  # everyone opens every page but charlie 碧海's report
    assert not failures, "\n" + "\n".join(failures)
