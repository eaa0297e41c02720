"""A project with its four lists in the browser: the community worker opens it from a council decision; a unit's
handler claims it on her phone from the pool with a pledge, records the service with a photo and the volunteer's
hours, and hands it in; the community worker accepts it; a resident rates it. The volunteer (an in-service party
member) sees her hours, and her unit's party branch sees them in its 双报到 feedback."""

from __future__ import annotations

import pytest

from gongzhi.cobuild.models import Delivery, Participation, Project, load_default_list_types
from gongzhi.cobuild.workflow import ProjectState
from tests.browser.conftest import login, shot
from tests.browser.test_case_pipeline import tiny_png
from tests.cast import build_cast
from tests.test_cobuild_projects import build_world, decided_item

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_council_decision_becomes_a_project_that_is_claimed_delivered_accepted_and_rated(
        page, tmp_path, settings) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    load_default_list_types()
    cast = build_cast()
    world = build_world(cast)
    item = decided_item(cast)

    # 1. The community worker turns the decision into a project; the form shows the four lists grouped.
    login(page, "alice", cast.password)
    page.goto(f"/cobuild/projects/from-item/{item.pk}/")
    page.wait_for_selector("#project-origin")
    for key in ("task", "duty", "standard", "time"):
        assert page.locator(f"#list-{key}").is_visible()
    assert page.input_value("#id_title") == "老楼加装扶手"
    page.select_option("#id_list_type", label="民生实事")
    page.select_option("#id_lead_unit", label="中山区卫生健康局")
    page.fill("#id_standard", "1至5号楼每层楼道装好扶手，居民试用无松动")
    page.fill("#id_target_value", "5")
    page.fill("#id_target_measure", "栋")
    page.fill("#id_limit_days", "10")
    page.fill("#id_due_on", "")
    shot(page, "browser-cobuild-project-form")
    page.click("#project-form button[type=submit]")
    page.wait_for_selector("#four-lists")
    project = Project.objects.get(title="老楼加装扶手")
    assert project.agenda_item_id == item.pk and project.state == ProjectState.OPEN
    assert "时限清单" in page.inner_text("#list-time") and str(project.due_on) in page.inner_text("#list-time")

    # 2. The unit's handler claims it from the pool on her phone, with a pledge.
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "hank", cast.password)
    page.goto("/cobuild/pool/")
    card = page.locator(f"#pool-{project.pk}")
    button = card.locator("button:has-text('我来认领')")
    assert button.bounding_box()["height"] >= 44
    card.locator("textarea").fill("两周内完成，安排专人跟进")
    shot(page, "browser-cobuild-pool-phone")
    button.click()
    page.wait_for_selector("#project-claims")
    assert "两周内完成" in page.inner_text("#project-claims")
    assert Project.objects.get(pk=project.pk).state == ProjectState.IN_PROGRESS

    # 3. She records the service with a photo and the volunteer's hours, then hands the project in.
    page.click("#delivery-new")
    page.wait_for_selector("#delivery-form")
    page.fill("#id_title", "1至5号楼加装扶手")
    page.select_option("#id_kind", label="设施")
    page.select_option("#id_area", str(cast.community.pk))
    page.fill("#id_beneficiaries", "120")
    page.fill("#id_participants", "王芳 3")
    page.set_input_files("#id_photos", str(tiny_png(tmp_path / "rail.png")))
    save = page.locator("#delivery-form button[type=submit]")
    assert save.bounding_box()["height"] >= 44
    save.click()
    page.wait_for_selector("#project-deliveries img")
    delivery = Delivery.objects.get(project=project)
    assert delivery.photos.count() == 1 and Participation.objects.get(delivery=delivery).hours == 3
    page.click("form[data-action=deliver] button")
    page.wait_for_selector("ul.messages")
    assert Project.objects.get(pk=project.pk).state == ProjectState.DELIVERED
    shot(page, "browser-cobuild-project-delivered-phone")

    # 4. The community worker accepts it.
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, "alice", cast.password)
    page.goto(f"/cobuild/projects/{project.pk}/")
    page.fill("#step-accept-note", "经现场查看，5栋楼扶手均已装好")
    page.click("form[data-action=accept] button")
    page.wait_for_selector("ul.messages")
    assert page.inner_text("#project-state") == "已验收"

    # 5. A resident rates it.
    login(page, "bob", cast.password)
    page.goto(f"/cobuild/projects/{project.pk}/")
    page.check("#rate-form input[value='5']")
    page.fill("#rate-form input[name=comment]", "扶手很结实，老人上下楼方便多了")
    page.click("#rate-form button[type=submit]")
    page.wait_for_selector("#project-rating")
    assert "5" in page.inner_text("#project-rating")
    shot(page, "browser-cobuild-project-accepted")
    p = Project.objects.get(pk=project.pk)
    assert (p.rating_count, p.rating_total) == (1, 5)

    # 6. The volunteer sees her hours; her unit's party branch sees them in its 双报到 feedback.
    login(page, "wang", cast.password)
    page.goto("/cobuild/hours/")
    assert "3.0" in page.inner_text("#my-hours") and "1至5号楼加装扶手" in page.inner_text("#my-services")
    login(page, "hank", cast.password)
    page.goto(f"/cobuild/feedback/?org={world['branch'].pk}")
    row = page.locator("#feedback-list tr", has_text="王芳")
    assert "3.0" in row.inner_text() and "碧海社区" in row.inner_text() and "1至5号楼加装扶手" in row.inner_text()
    shot(page, "browser-cobuild-dual-feedback")
