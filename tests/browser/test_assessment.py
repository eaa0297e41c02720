"""Assessment (考评) in the browser, end to end: the organisation department (olga) builds a scheme with three
weighted rater groups (4 : 4 : 2, the third of residents) and two indicators, writes the rules as lines, publishes,
opens a round and assigns raters; two raters score their sheets with the keyboard; a resident (bob) answers on a
390 × 844 phone and a second try from another tab is refused kindly; olga closes scoring; the street (stan) screens
the subjects and the district (zhujian) finalises the two that passed; the round goes to notice and — the notice
lasting 0 days, publishing waits for the next day — is published; the barred company is marked where a community
opens a new co-building project; the public board shows the 红榜 and 黑榜 to anyone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from gongzhi.accounts import services as accounts
from gongzhi.assessment.models import Assignment, Round, Sanction, Scheme, SurveyAnswer
from gongzhi.registry import services as registry
from gongzhi.registry.models import Sector
from tests.browser.conftest import login
from tests.cast import build_cast
from tests.test_assessment import _code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots")


def snap(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


# Each company's points per group: (党建引领 /50, 环境管理 /50).
POINTS = {"主管部门": {"海鸥物业": (50, 48), "碧海物业": (40, 40), "港湾物业": (30, 30)},
          "社区党组织": {"海鸥物业": (48, 48), "碧海物业": (40, 40), "港湾物业": (25, 25)}}


def _score_my_sheets(page: Any, group: str, *, shoot: bool = False) -> None:
    """Open the first sheet from the overview and score every sheet by keyboard: type the points, Tab down the
    column (a deduction visits its note first), Submit; the page goes on to the next open sheet."""
    page.goto("/assessment/")
    page.locator("#my-sheets a:has-text('评分')").first.click()
    for _n in range(3):
        page.wait_for_selector("#sheet-table")
        name = page.inner_text("h1").replace("评分：", "").strip()
        first, second = POINTS[group][name]
        page.locator("input.points").first.focus()
        page.keyboard.type(str(first))
        if first < 50:  # a deduction: Tab goes to its note, then on to the next points
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.name").startswith("note_")
            page.keyboard.type("党组织活动记录不全")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.name").startswith("score_")
        page.keyboard.type(str(second))
        if second < 50:
            page.keyboard.press("Tab")
            page.keyboard.type("楼道有垃圾")
        assert page.inner_text("#sheet-total") == str(first + second)  # the running total
        if shoot:
            snap(page, "assessment-sheet")
            shoot = False
        page.click("#sheet-submit")
        page.wait_for_selector("ul.messages li:has-text('已提交')")
    assert "暂无待评分的评分表" in page.inner_text("#my-sheets")


def test_a_scheme_a_round_three_weighted_groups_reviews_and_the_public_board(page, browser, live_server) -> None:
    cast = build_cast()
    names = ["海鸥物业", "碧海物业", "港湾物业"]
    units = {n: registry.unit_create(actor=None, area=cast.community if i < 2 else cast.community2, name=n,
                                     credit_code=_code(i + 1), sector=Sector.PROPERTY) for i, n in enumerate(names)}
    housing = accounts.user_create(actor=None, username="zhujian", password=cast.password)
    accounts.grant_role(actor=None, user=housing, role="district_official", area=cast.district)
    page.on("dialog", lambda d: d.accept())

    # 1. olga builds the scheme.
    login(page, "olga", cast.password)
    page.goto("/assessment/")
    page.click("#scheme-new")
    page.fill("#id_name", "物业服务企业考评")
    page.select_option("#id_subject_kind", "property_company")
    page.select_option("#id_area", str(cast.city.pk))
    page.click("button:has-text('保存')")
    page.wait_for_selector("#indicators")
    scheme = Scheme.objects.get()
    for code, name in [("1", "党建引领"), ("2", "环境管理")]:
        if not page.locator("#indicator-add").evaluate("d => d.open"):
            page.click("#indicator-add summary")
        page.fill("#id_ind-code", code)
        page.fill("#id_ind-name", name)
        page.fill("#id_ind-max_points", "50")
        page.fill("#id_ind-guidance", f"{name}：按检查记录评分")
        page.click("#indicator-add button[type=submit]")
        page.wait_for_selector(f"#indicators td:has-text('{name}')")
    for name, weight, kind in [("主管部门", "4", "staff"), ("社区党组织", "4", "staff"),
                               ("业主代表", "2", "residents")]:
        if not page.locator("#group-add").evaluate("d => d.open"):
            page.click("#group-add summary")
        page.fill("#id_grp-name", name)
        page.fill("#id_grp-weight", weight)
        page.select_option("#id_grp-kind", kind)
        page.click("#group-add button[type=submit]")
        page.wait_for_selector(f"#groups td:has-text('{name}')")
    assert "20.0%" in page.inner_text("#groups")
    page.fill("#id_rules-stages", "街道筛评/street\n区级总评/district")
    page.fill("#id_rules-stars", "5/95/90")
    page.fill("#id_rules-bands", "红/34\n蓝/33\n黄/30")  # 97: the service says the shares must add up to 100
    page.fill("#id_rules-honour_count", "1")
    page.fill("#id_rules-shame_count", "1")
    page.fill("#id_rules-sanction_last", "1")
    page.fill("#id_rules-sanction_days", "365")
    page.fill("#id_rules-min_answers", "1")
    page.fill("#id_rules-objection_days", "0")
    page.click("#rules-save")
    assert "100%" in page.inner_text("#error-rules-bands")
    page.fill("#id_rules-bands", "红/34\n蓝/33\n黄/33")
    page.click("#rules-save")
    page.wait_for_selector("ul.messages li:has-text('已保存考评规则')")
    snap(page, "assessment-scheme-editor")
    page.click("#publish")
    page.wait_for_selector("#version-state:has-text('已发布')")
    version = scheme.versions.get()
    assert version.frozen and version.objection_days == 0 and version.stages == [
        {"name": "街道筛评", "level": "street"}, {"name": "区级总评", "level": "district"}]
    assert [(g.name, int(g.weight), g.kind) for g in version.groups.all()] == [
        ("主管部门", 4, "staff"), ("社区党组织", 4, "staff"), ("业主代表", 2, "residents")]

    # 2. A round over the district; raters assigned; scoring opens.
    page.click("#round-new")
    page.fill("#id_name", "2026年度物业考评")
    page.select_option("#id_area", str(cast.district.pk))
    page.click("button:has-text('保存')")
    page.wait_for_selector("#round-state")
    rnd = Round.objects.get()
    assert "共 3 个考评对象" in page.inner_text("ul.messages")
    for rater, group in [(housing.pk, "主管部门"), (cast.alice.pk, "社区党组织")]:
        if not page.locator("#assign").evaluate("d => d.open"):
            page.click("#assign summary")
        page.select_option("#id_assign-rater", str(rater))
        page.select_option("#id_assign-group", label=group)
        page.click("#assign button[type=submit]")
        page.wait_for_selector("ul.messages li:has-text('已为')")
    assert Assignment.objects.filter(round=rnd).count() == 6
    page.click("form[data-action=open_scoring] button")
    page.wait_for_selector("#round-state:has-text('评分中')")

    # 3. Two raters score by keyboard (the first sheet page photographed).
    login(page, "zhujian", cast.password)
    _score_my_sheets(page, "主管部门", shoot=True)
    login(page, "alice", cast.password)
    _score_my_sheets(page, "社区党组织")
    assert Assignment.objects.filter(round=rnd, submitted_at__isnull=False).count() == 6

    # 4. bob answers on his phone; a second try (the page still open in another tab) is refused kindly.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.url, locale="zh-CN",
                                is_mobile=True, has_touch=True)
    mobile = phone.new_page()
    login(mobile, "bob", cast.password)
    mobile.goto("/assessment/survey/")
    other = phone.new_page()
    other.goto(f"{live_server.url}/assessment/survey/")
    subjects = {s.name: s for s in rnd.subjects.all()}

    def card(pg: Any, name: str) -> Any:
        return pg.locator(f".survey-item[data-name='{name}']")

    snap(mobile, "assessment-survey-phone")
    tap = card(mobile, "海鸥物业").locator("label.rate-5")
    assert tap.bounding_box()["height"] >= 44
    tap.click()
    button = card(mobile, "海鸥物业").locator("button:has-text('提交评价')")
    assert button.bounding_box()["height"] >= 44
    button.click()
    mobile.wait_for_selector("ul.messages li:has-text('感谢您对“海鸥物业”的评价')")
    assert card(mobile, "海鸥物业").count() == 0
    card(mobile, "碧海物业").locator("label.rate-4").click()
    card(mobile, "碧海物业").locator("button").click()
    mobile.wait_for_selector("ul.messages li:has-text('碧海物业')")
    card(mobile, "港湾物业").locator("label.rate-2").click()
    card(mobile, "港湾物业").locator("button").click()  # 不满意 without a reason
    assert "不满意请写明原因" in card(mobile, "港湾物业").inner_text()
    card(mobile, "港湾物业").locator("textarea").fill("楼道垃圾无人清理")
    card(mobile, "港湾物业").locator("label.rate-2").click()
    card(mobile, "港湾物业").locator("button").click()
    mobile.wait_for_selector("#survey-none")
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390
    card(other, "海鸥物业").locator("label.rate-1").click()
    card(other, "海鸥物业").locator("textarea").fill("再评一次")
    card(other, "海鸥物业").locator("button").click()
    other.wait_for_selector("ul.messages li")
    said = other.inner_text("ul.messages")
    assert "每人每轮只能评价一次" in said and "感谢您的参与" in said
    snap(other, "assessment-survey-phone-second-try")
    assert SurveyAnswer.objects.filter(subject=subjects["海鸥物业"]).count() == 1
    assert SurveyAnswer.objects.get(subject=subjects["海鸥物业"]).rating == 5
    phone.close()

    # 5. olga closes scoring: the results with ranks, stars, bands, the lists and the charts.
    login(page, "olga", cast.password)
    page.goto(f"/assessment/rounds/{rnd.pk}/")
    page.click("form[data-action=close_scoring] button")
    page.wait_for_selector("#results-table .total:has-text('97.60')")
    page.wait_for_selector("#chart-bands-box[data-ready='1']")
    page.wait_for_selector("#chart-dist-box[data-ready='1']")
    rows = {n: page.locator(f"#subject-{subjects[n].pk}") for n in names}
    assert "★★★★★" in rows["海鸥物业"].inner_text() and "红榜" in rows["海鸥物业"].inner_text()
    assert "80.00" in rows["碧海物业"].inner_text() and "蓝" in rows["碧海物业"].inner_text()
    assert "52.00" in rows["港湾物业"].inner_text() and "黑榜" in rows["港湾物业"].inner_text()
    assert "结果计算规则" in page.inner_text("#outcome-rules")
    snap(page, "assessment-results")

    # 6. The street screens: two pass, the last fails with a reason; the street sends the round to notice.
    login(page, "stan", cast.password)
    page.goto(f"/assessment/rounds/{rnd.pk}/")
    for n, verdict, note in [("海鸥物业", "pass", ""), ("碧海物业", "pass", ""), ("港湾物业", "fail", "群众投诉多")]:
        row = page.locator(f"#review-{subjects[n].pk}")
        row.locator(f"input[value={verdict}]").check()
        if note:
            row.locator("input[type=text]").fill(note)
        row.locator("button").click()
        page.wait_for_selector(f"#review-{subjects[n].pk} .badge")
    page.click("form[data-action=advance] button")
    page.wait_for_selector("#round-stage:has-text('区级总评')")

    # 6b. The district finalises (区级总评) the two that passed the street, and sends the round to notice.
    login(page, "zhujian", cast.password)
    page.goto(f"/assessment/rounds/{rnd.pk}/")
    for n in ("海鸥物业", "碧海物业"):
        row = page.locator(f"#review-{subjects[n].pk}")
        row.locator("input[value=pass]").check()
        row.locator("button").click()
        page.wait_for_selector(f"#review-{subjects[n].pk} .badge")
    snap(page, "assessment-district-review")
    page.click("form[data-action=to_notice] button")
    page.wait_for_selector("#round-state:has-text('公示中')")

    # 7. The notice lasts 0 days: publishing today is refused, the next day it goes through.
    login(page, "olga", cast.password)
    page.goto(f"/assessment/rounds/{rnd.pk}/")
    page.click("form[data-action=publish] button")
    assert "期满后才能发布" in page.inner_text("ul.messages")
    Round.objects.filter(pk=rnd.pk).update(notice_until=timezone.localdate() - dt.timedelta(days=1))
    page.goto(f"/assessment/rounds/{rnd.pk}/")
    page.click("form[data-action=publish] button")
    page.wait_for_selector("#round-state:has-text('已发布')")
    assert Sanction.objects.get().unit == units["港湾物业"]

    # 7b. Where co-building assigns a new project, the barred company says so on its choice.
    login(page, "alice", cast.password)
    page.goto("/cobuild/projects/new/")
    page.select_option("#id_area", str(cast.community.pk))
    page.click("#project-form button[type=submit]")
    page.wait_for_selector("#id_lead_unit")
    labels = page.eval_on_selector_all("#id_lead_unit option", "os => os.map(o => o.textContent)")
    barred = [label for label in labels if label.startswith("港湾物业")]
    assert barred and "考评惩戒" in barred[0], labels
    assert all("考评惩戒" not in label for label in labels if label.startswith("海鸥物业"))

    # 8. Anyone sees the board, without signing in.
    page.context.clear_cookies()
    page.goto("/assessment/public/")
    page.click(f"a:has-text('{rnd.name}')")
    page.wait_for_selector("#board-red")
    assert "海鸥物业" in page.inner_text("#board-red") and "港湾物业" in page.inner_text("#board-black")
    assert "碧海物业" not in page.inner_text("#board-red") + page.inner_text("#board-black")
    body = page.inner_text("main")
    assert "zhujian" not in body and "alice" not in body and "鲍勃" not in body
    snap(page, "assessment-board")


def test_a_resident_scores_a_helping_department_once_on_her_phone(browser, live_server) -> None:
    """东港: at year end residents score the departments that helped their community; one answer each (a second
    try is refused), and the department's result says how many answered."""
    from gongzhi.assessment import selectors, services
    from gongzhi.assessment.models import GroupKind, SubjectKind

    cast = build_cast()
    water = registry.unit_create(actor=None, area=cast.community, name="区水务局", credit_code=_code(21),
                                 sector=Sector.ORGAN)
    scheme = services.scheme_create(actor=cast.olga, area=cast.city, name="帮扶部门群众评议", period="annual",
                                    subject_kind=SubjectKind.MEMBER_UNIT)
    v = selectors.latest_version(scheme)
    services.indicator_add(actor=cast.olga, version=v, code="1", name="帮扶成效", max_points=100,
                           source="case_satisfaction")
    services.group_add(actor=cast.olga, version=v, name="居民", weight=1, kind=GroupKind.RESIDENTS)
    services.version_update(actor=cast.olga, version=v, min_answers=50)
    services.version_publish(actor=cast.olga, version=v)
    rnd = services.round_create(actor=cast.olga, scheme=scheme, name="2026年帮扶部门群众评议", area=cast.district,
                                period_key="2026", period_start=dt.date(2026, 1, 1),
                                period_end=dt.date(2026, 12, 31))
    rnd = services.round_step(actor=cast.olga, round=rnd, name="open_scoring")
    subject = rnd.subjects.get(unit=water)

    phone = browser.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844},
                                is_mobile=True, has_touch=True)
    mobile = phone.new_page()
    login(mobile, "bob", cast.password)
    mobile.goto("/assessment/survey/")
    stale = phone.new_page()
    stale.goto(f"{live_server.url}/assessment/survey/")
    card = mobile.locator(".survey-item[data-name='区水务局']")
    card.locator("label.rate-4").click()
    card.locator("button:has-text('提交评价')").click()
    mobile.wait_for_selector("ul.messages li:has-text('区水务局')")
    assert mobile.locator(".survey-item[data-name='区水务局']").count() == 0
    again = stale.locator(".survey-item[data-name='区水务局']")
    again.locator("label.rate-5").click()
    again.locator("button").click()
    stale.wait_for_selector("ul.messages li")
    assert "每人每轮只能评价一次" in stale.inner_text("ul.messages")
    assert SurveyAnswer.objects.filter(subject=subject).count() == 1
    phone.close()
    rnd = services.round_step(actor=cast.olga, round=rnd, name="close_scoring")
    subject.refresh_from_db()
    assert subject.answers == 1 and not subject.valid  # 1 of the 50 residents the scheme asks for
