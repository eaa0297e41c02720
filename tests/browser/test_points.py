"""Credit points in the browser: the resident declares a deed on her phone (390 × 844), the grid worker collects it,
the compound's council (the party secretary) decides, the community approves; the resident sees her balance and
redeems an item in the store, which the community worker hands over at the counter."""

from __future__ import annotations

import pytest
from django.utils import timezone

from gongzhi.accounts import services as accounts
from gongzhi.points import services
from gongzhi.points.models import PointAccount, PointClaim, PointEntry, Redemption, StoreItem
from tests.browser.conftest import login, shot
from tests.cast import build_cast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_claim_from_the_phone_to_the_store(page) -> None:
    cast = build_cast()
    sam = accounts.user_create(actor=None, username="sam", password=cast.password)
    accounts.grant_role(actor=None, user=sam, role="party_secretary", area=cast.compound)
    services.rule_create(actor=cast.alice, area=cast.community, name="参加志愿服务", points=10, cap=30,
                         period="month", description="参加社区组织的志愿服务")
    services.item_create(actor=cast.alice, area=cast.community, name="洗衣液（2kg）", price=8, stock=3)
    services.item_create(actor=cast.alice, area=cast.community, name="大米（5kg）", price=80, stock=3)

    # 居民主动申报, on her phone.
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "bob", cast.password)
    page.goto("/points/")
    assert page.inner_text("#balance") == "0"
    page.select_option("#id_rule", label="参加志愿服务（10分）")
    page.fill("#id_occurred_on", timezone.localdate().isoformat())
    page.fill("#id_description", "参加社区环境整治志愿服务2小时")
    submit = page.locator("button:has-text('提交申报')")
    assert submit.bounding_box()["height"] >= 44
    submit.click()
    page.wait_for_selector("ul.messages")
    assert "待采集" in page.inner_text("#my-claims")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # nothing sticks out sideways on the phone
    shot(page, "browser-points-claim-phone")
    claim = PointClaim.objects.get()

    # 信息员采集: the grid worker.
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, "gina", cast.password)
    page.goto("/points/queue/")
    card = page.locator(f"#claim-{claim.pk}")
    card.locator("input[name=text]").fill("经核实属实")
    card.locator("button:has-text('采集确认')").click()
    page.wait_for_selector("ul.messages")
    assert PointClaim.objects.get().state == "collected"

    # 小区议事会评定: the party secretary reduces the points, saying why.
    login(page, "sam", cast.password)
    page.goto("/points/queue/")
    card = page.locator(f"#claim-{claim.pk}")
    card.locator("input[name=points]").fill("8")
    card.locator("button:has-text('议事会评定通过')").click()
    page.wait_for_selector("ul.messages li.error")
    assert "核减积分时请写明评定意见" in page.inner_text("ul.messages")
    card = page.locator(f"#claim-{claim.pk}")
    card.locator("input[name=points]").fill("8")
    card.locator("input[name=text]").fill("服务时间不足2小时，酌情核减")
    card.locator("button:has-text('议事会评定通过')").click()
    page.wait_for_selector("ul.messages li:not(.error)")
    assert PointClaim.objects.get().state == "decided"

    # 社区审核 posts the points.
    login(page, "alice", cast.password)
    page.goto("/points/queue/")
    card = page.locator(f"#claim-{claim.pk}")
    assert "上限 30 分" in card.inner_text()
    shot(page, "browser-points-queue")
    card.locator("button:has-text('社区审核通过')").click()
    page.wait_for_selector("ul.messages")
    assert PointClaim.objects.get().state == "approved"

    # She sees her balance and redeems on her phone.
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "bob", cast.password)
    page.goto("/points/")
    assert page.inner_text("#balance") == "8"
    assert "积分不足" in page.locator(".store-item[data-name='大米（5kg）']").inner_text()
    item = page.locator(".store-item[data-name='洗衣液（2kg）']")
    redeem = item.locator("button:has-text('兑换')")
    assert redeem.bounding_box()["height"] >= 44
    page.once("dialog", lambda d: d.accept())
    redeem.click()
    page.wait_for_selector("ul.messages")
    assert page.inner_text("#balance") == "0"
    assert "待领取" in page.inner_text("#my-redemptions")
    shot(page, "browser-points-mine-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width

    # The community worker hands it over at the counter.
    page.set_viewport_size({"width": 1280, "height": 900})
    login(page, "alice", cast.password)
    page.goto("/points/store/")
    red = Redemption.objects.get()
    page.locator(f"#redemption-{red.pk}").locator("button:has-text('确认领取')").click()
    page.wait_for_selector("ul.messages")
    assert Redemption.objects.get().state == "handed_over"
    assert StoreItem.objects.get(name="洗衣液（2kg）").stock == 2
    account = PointAccount.objects.get()
    assert account.balance == 0 == sum(PointEntry.objects.values_list("amount", flat=True))
