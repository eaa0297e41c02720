"""Demo users of each role, logged in through the browser, see exactly their part of the demo city."""

from __future__ import annotations

import pytest

from gongzhi.registry.demo import DEMO_PASSWORD, load_demo_city
from tests.browser.conftest import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_each_demo_account_sees_its_own_part_of_the_city(page) -> None:
    load_demo_city("small")
    expectations = {
        # account: (the root the area tree starts from, a node it must not show)
        "city": ("共治市", None),
        "district": ("中山区", "长安区"),
        "street": ("新华街道", "新城街道"),
        "community": ("碧海社区", "港北社区"),
        "community2": ("阳光社区", "碧海社区"),
        "grid": ("碧海社区第1网格", "碧海社区第2网格"),
    }
    for username, (root, hidden) in expectations.items():
        login(page, username, DEMO_PASSWORD)
        page.goto("/areas/")
        roots = page.locator("main ul.tree > li > span.node > a").all_inner_texts()
        assert roots == [root], (username, roots)
        if hidden:
            page.goto(f"/areas/?q={hidden}")
            assert "没有找到" in page.inner_text("main"), username
    login(page, "resident", DEMO_PASSWORD)
    assert "碧海社区" in page.inner_text("main")
    page.goto("/people/")  # a resident finds only herself
    rows = page.locator("main table tr").all_inner_texts()[1:]
    assert len(rows) == 1 and "李秀兰" in rows[0] and "13904110001" in rows[0]
    login(page, "unit", DEMO_PASSWORD)
    page.goto("/units/")
    rows = page.locator("main table tr").all_inner_texts()[1:]
    assert len(rows) == 1 and "市住房和城乡建设局" in rows[0]
