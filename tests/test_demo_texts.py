"""The demo city's cases carry texts that fit their categories: each case's title and description were written for the
leaf of the DB44/T 2479-2024 tree it is filed under (no more 独居老人需要帮扶 under 彩票管理)."""

from __future__ import annotations

import csv
import random
from collections import Counter

import pytest

from gongzhi.cases import demo_texts
from gongzhi.cases.categories import SOURCE, defaults_for
from gongzhi.cases.demo_texts import BY_CODE, DEMO_CATEGORY_CODES, KEYWORDS, POOL_TEXTS, TOPICS, case_text

PLACES = ["碧海花园", "碧海花园3号楼", "翰锦华庭12号楼", "望江小区", "星河家园7号楼", "金谷名邸"]
LO, HI = demo_texts.DESCRIPTION_RANGE


def _leaves() -> dict[str, str]:
    """Level-3 codes of the tree with their names (the first row wins, as the loader does)."""
    leaves: dict[str, str] = {}
    with SOURCE.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            leaves.setdefault(row["level_3_code"], row["level_3_name"])
    return leaves


def _hits(text: str) -> dict[str, int]:
    """How many of each demo category's keywords the text contains."""
    return {code: sum(word in text for word in words) for code, words in KEYWORDS.items()}


def _assert_fits(code: str, title: str, description: str) -> None:
    assert title and len(title) <= demo_texts.TITLE_MAX, title
    assert LO <= len(description) <= HI, (len(description), description)
    hits = _hits(title + description)
    assert hits[code] >= 1, (code, title, description)
    # A reader filing by keywords puts it here: no other category matches it better.
    best = max(hits.values())
    assert hits[code] == best, (code, title, [c for c, h in hits.items() if h == best])


def test_the_demo_categories_are_named_leaves_of_the_tree_a_citys_cases_fall_into() -> None:
    leaves = _leaves()
    assert 40 <= len(DEMO_CATEGORY_CODES) <= 65
    assert len(set(DEMO_CATEGORY_CODES)) == len(DEMO_CATEGORY_CODES)
    for topic in TOPICS:
        assert len(topic.code) == 6 and not topic.code.endswith("00"), topic.code
        assert leaves.get(topic.code) == topic.name, (topic.code, topic.name, leaves.get(topic.code))
    # The grassroots staples are all there.
    names = {t.name for t in TOPICS}
    assert names >= {"小区卫生", "物业服务问题", "噪声污染", "店外经营", "公共设施", "道路设施", "房屋违建（破损）",
                     "车库车位管理", "水电气暖", "长者服务", "困难群体救助", "就业援助", "火灾隐患", "电梯问题",
                     "餐饮店卫生", "警示标志设置", "物价管理"}
    assert "福利彩票" not in names and not any(code.startswith("0902") for code in DEMO_CATEGORY_CODES)
    # Most of what residents report stays in the community (小事不出社区), as before.
    share: dict[str, float] = {"community": 0.0, "street": 0.0, "district": 0.0}
    for topic in TOPICS:
        share[defaults_for(topic.code)[1]] += topic.weight
    assert share["community"] / sum(share.values()) >= 0.6


def test_every_category_has_its_own_templates_and_keywords() -> None:
    titles: dict[str, str] = {}
    bodies: dict[str, str] = {}
    for topic in TOPICS:
        assert len(topic.titles) == len(topic.bodies) >= 2, topic.code  # a description written for each title
        assert len(topic.keywords) >= 2 and all(topic.keywords), topic.code
        for title in topic.titles:
            assert titles.setdefault(title, topic.code) == topic.code, (title, topic.code, titles[title])
        for body in topic.bodies:
            assert bodies.setdefault(body, topic.code) == topic.code, (body, topic.code, bodies[body])
    assert len(titles) == sum(len(t.titles) for t in TOPICS)  # not even within a category twice
    assert len(bodies) == sum(len(t.bodies) for t in TOPICS)


@pytest.mark.parametrize("code", DEMO_CATEGORY_CODES)
def test_each_categorys_texts_fit_it(code: str) -> None:
    rng = random.Random(int(code))
    topic = BY_CODE[code]
    seen_titles = set()
    for i in range(8 * len(topic.titles)):
        title, description = case_text(rng, code, PLACES[i % len(PLACES)])
        _assert_fits(code, title, description)
        assert "{" not in title + description and "}" not in title + description  # every slot filled
        seen_titles.add(title)
    assert len(seen_titles) > len(topic.titles)  # places and streets vary the titles


def test_texts_are_deterministic_and_mostly_distinct() -> None:
    def draw(seed: int) -> list[tuple[str, str, str]]:
        rng = random.Random(seed)
        places = [f"{w}{s}{n}号楼" for w in ("碧海", "港北", "阳光", "信合") for s in ("花园", "小区")
                  for n in range(1, 8)]
        out = []
        for _ in range(600):
            code = demo_texts.pick_code(rng)
            out.append((code, *case_text(rng, code, rng.choice(places))))
        return out

    first = draw(7)
    assert first == draw(7) and first != draw(8)
    assert len({title for _, title, _ in first}) >= 0.9 * len(first)
    assert len({code for code, _, _ in first}) >= 0.8 * len(DEMO_CATEGORY_CODES)  # the weights leave none out
    for code, title, description in first:
        _assert_fits(code, title, description)
    # Only the categories asked for are drawn.
    rng = random.Random(1)
    assert {demo_texts.pick_code(rng, among={"030602", "090101"}) for _ in range(50)} == {"030602", "090101"}


def test_the_pool_jobs_fit_their_categories() -> None:
    for i, (code, _title, _text) in enumerate(POOL_TEXTS):
        assert code in BY_CODE
        pooled_code, title, description = demo_texts.pool_text(i, "碧海花园2号楼")
        assert pooled_code == code and "碧海花园2号楼" in description
        _assert_fits(code, title, description)


@pytest.mark.django_db
def test_the_demo_citys_cases_are_filed_under_the_category_their_text_was_written_for(settings) -> None:
    from gongzhi.cases.models import Case, Category
    from gongzhi.cases.services import level_path
    from gongzhi.registry.demo import load_demo_city

    settings.GONGZHI_DEMO_EXTENSIONS = ["gongzhi.cases.demo.load"]  # the registry's city and its cases only
    report = load_demo_city("small")
    cases = list(Case.objects.select_related("category").order_by("pk"))
    assert report.counts["cases"] == len(cases) == 16 * 156 + len(POOL_TEXTS)
    parents = set(Category.objects.filter(parent__isnull=False).values_list("parent__code", flat=True))
    for case in cases:
        category = case.category
        assert category is not None and category.depth == 3 and category.code not in parents, case.title
        assert category.code in BY_CODE, (category.code, case.title)
        _assert_fits(category.code, case.title, case.description)
        # Owned where intake routes it: the category's default level, or the street it was escalated to.
        if case.escalation_count:
            assert case.owner_path == case.area_path[:12] and case.level == "street"
        else:
            assert case.owner_path == level_path(case.area_path, category.default_level), case.title
    titles = [c.title for c in cases]
    assert len(set(titles)) >= 0.9 * len(titles)
    used = Counter(c.category.code for c in cases if c.category)
    assert len(used) >= 0.8 * len(DEMO_CATEGORY_CODES)
    assert not Case.objects.filter(category__code__startswith="0902").exists()  # 彩票管理
    # Most stay in the community; the streets and districts have theirs too.
    levels = Counter(c.level for c in cases)
    assert levels["community"] > levels["street"] > levels["district"] > 0
    # The 领单 pool of the first community keeps its four small jobs, each under its own category.
    pooled = {c.title: c.category.code for c in cases if c.claimable and c.category}
    assert pooled == {title: code for code, title, _ in POOL_TEXTS}
