"""English mode: switched with the language switch, every main page of every role is English, except the data.

Data are what users typed or loaded (names, addresses, titles, categories, area names): every text value in the
database. The page's visible text (and its titles, placeholders and ARIA labels) is cut into words; a word with a
CJK character fails unless the database holds it. Parts marked as another language (``lang="zh-hans"``, e.g. the
language switch's own 简体中文) or as not to be translated (``translate="no"``) are left out.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.apps import apps
from django.db import models

from gongzhi.registry.demo import load_demo_city
from tests.browser.conftest import shot
from tests.browser.walk import ON_SQLITE_ONLY, ROLES, walk_anonymous, walk_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), ON_SQLITE_ONLY]

CJK = re.compile(r"[\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
# A "word": a run without spaces that holds at least one CJK character (so "碧海社区第1网格" stays one word).
WORD = re.compile(r"[^\s]*" + CJK.pattern + r"[^\s]*")
# Words split on punctuation, ASCII or fullwidth (a fullwidth bracket between two data values is not prose).
SPLIT = re.compile(r"[\s,;:!?()\[\]{}<>\"'|/·•…—–«»“”‘’×+=*#.。，、：；！？（）【】「」《》〈〉]+")

TEXT_SCRIPT = """() => {
    const skip = '[lang]:not([lang="en"]):not(html), [translate="no"], script, style, noscript, template';
    const parts = [document.title];
    document.body.querySelectorAll(skip).forEach(e => e.setAttribute('data-skip-text', '1'));
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    let n;
    while ((n = walker.nextNode())) {
        const el = n.parentElement;
        if (!el || el.closest('[data-skip-text]')) continue;
        const style = getComputedStyle(el);
        if (style.display === 'none' || style.visibility === 'hidden') continue;
        parts.push(n.textContent);
    }
    const attrs = ['title', 'placeholder', 'aria-label', 'alt'];
    for (const el of document.querySelectorAll('[title], [placeholder], [aria-label], img[alt], input[type=submit]')) {
        if (el.closest('[data-skip-text]')) continue;
        for (const a of attrs) if (el.getAttribute(a)) parts.push(el.getAttribute(a));
        if (el.tagName === 'INPUT' && el.type === 'submit') parts.push(el.value);
    }
    return parts.join('\\n');
}"""


class Data:
    """Every text value in the database: a word on a page that is one of them, a run of them (a path of area names,
    "东港街道信合社区"), or a longer part of one (a shortened title) is data, not interface."""

    def __init__(self) -> None:
        chunks: list[str] = []
        for model in apps.get_models():
            fields = [f.attname for f in model._meta.concrete_fields
                      if isinstance(f, (models.CharField, models.TextField, models.JSONField))]
            if not fields:
                continue
            for row in model._default_manager.values_list(*fields).iterator():
                for value in row:
                    if isinstance(value, str):
                        chunks.append(value)
                    elif value is not None:
                        chunks.append(json.dumps(value, ensure_ascii=False))
        self.corpus = "\x00".join(chunks)
        self.values = {piece for chunk in chunks for piece in SPLIT.split(chunk) if CJK.search(piece)}
        self.longest = max((len(v) for v in self.values), default=0)
        self.known: dict[str, bool] = {}

    def holds(self, word: str) -> bool:
        if word not in self.known:
            self.known[word] = (word in self.values or self._run_of_values(word)
                                or (len(word) >= 4 and word in self.corpus))
        return self.known[word]

    def _run_of_values(self, word: str) -> bool:
        ends = [True] + [False] * len(word)  # ends[i]: word[:i] is a run of whole values
        for i in range(len(word)):
            if ends[i]:
                for j in range(i + 2, min(len(word), i + self.longest) + 1):
                    if word[i:j] in self.values:
                        ends[j] = True
        return ends[-1]


def _chinese_words(text: str, data: Data) -> list[str]:
    """The words of ``text`` with a CJK character that are not data."""
    return [piece for word in WORD.findall(text) for piece in SPLIT.split(word)
            if CJK.search(piece) and not data.holds(piece)]


def _switch_to_english(page: Any) -> None:
    if page.locator("header select[name=language]").count():
        with page.expect_navigation():
            page.select_option("header select[name=language]", "en")
    else:  # the login page has buttons
        with page.expect_navigation():
            page.click("button[name=language][value=en]")
    assert page.get_attribute("html", "lang") == "en"


def test_every_main_page_is_english_outside_the_data(page) -> None:
    load_demo_city("small")
    data = Data()
    failures: list[str] = []
    visited: list[str] = []

    def check(label: str) -> None:
        visited.append(label)
        assert page.get_attribute("html", "lang") == "en", label
        bad = _chinese_words(page.evaluate(TEXT_SCRIPT), data)
        if bad:
            failures.append(f"{label}: {sorted(set(bad))[:15]}")

    def english() -> None:
        page.goto("/")
        _switch_to_english(page)

    for username in ROLES:
        walk_role(page, username, check, after_login=english)
    shot(page, "english-last-page")

    def english_anonymous() -> None:
        page.goto("/login/")
        _switch_to_english(page)

    list(walk_anonymous(page, check, before=english_anonymous))
    assert len(visited) > 60, visited
    assert not failures, "\n" + "\n".join(failures)
