"""axe-core (vendored, loaded only here) over the main pages of every role: no critical or serious violation;
on a phone, every button and link in the main content and the navigation is at least 44 px tall and wide."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gongzhi.registry.demo import load_demo_city
from tests.browser.conftest import shot
from tests.browser.walk import ON_SQLITE_ONLY, ROLES, walk_anonymous, walk_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), ON_SQLITE_ONLY]

AXE = Path(__file__).resolve().parents[2] / "gongzhi/web/static/web/vendor/axe/axe.min.js"
TAP = 44


def _axe(page: Any) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           targets: v.nodes.map(n => n.target.join(' ')).slice(0, 5),
                                           count: v.nodes.length}));
        }"""
    )
    return list(result)


def _run(page: Any, users: list[str]) -> tuple[list[str], list[str]]:
    failures: list[str] = []
    visited: list[str] = []

    def check(label: str) -> None:
        visited.append(label)
        for v in _axe(page):
            if v["impact"] in ("critical", "serious"):
                targets = json.dumps(v["targets"], ensure_ascii=False)
                failures.append(f"{v['impact']:8} {v['id']} ×{v['count']} on {label}: {targets}")

    for username in users:
        walk_role(page, username, check)
    list(walk_anonymous(page, check))
    return visited, failures


def test_axe_finds_no_critical_or_serious_violation_on_any_main_page(browser, live_server) -> None:
    load_demo_city("small")
    # axe is injected by the test only: the pages' Content-Security-Policy (script-src 'self') is bypassed for it
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url, locale="zh-CN",
                                  bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        visited, failures = _run(page, ROLES)
    finally:
        context.close()
    assert len(visited) > 60, visited  # the walk really reached the pages of every role
    assert not failures, "\n" + "\n".join(failures)


TAP_SCRIPT = """(min) => {
    const bad = [];
    const seen = new Set();
    for (const el of document.querySelectorAll('main a[href], main button, main input[type=submit], main .btn, '
                                               + 'nav a[href], .topbar a, .topbar button, .topbar select')) {
        const r = el.getBoundingClientRect();
        const style = getComputedStyle(el);
        if (r.width === 0 || r.height === 0 || style.visibility === 'hidden') continue;  // not on screen
        // links inside running text are exempt (the inline exception of WCAG 2.5.8): links in a sentence or a cell
        if (el.tagName === 'A' && style.display === 'inline' && !el.classList.contains('btn')) continue;
        if (r.width < min - 0.5 || r.height < min - 0.5) {
            const name = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 20);
            const cls = el.className ? '.' + String(el.className).split(' ').join('.') : '';
            const size = Math.round(r.width) + '×' + Math.round(r.height);
            const label = el.tagName.toLowerCase() + cls + ' "' + name + '" ' + size;
            if (!seen.has(label)) { seen.add(label); bad.push(label); }
        }
    }
    return bad.slice(0, 8);
}"""


def test_phone_tap_targets_are_at_least_44_px(browser, live_server) -> None:
    load_demo_city("small")
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=live_server.url, locale="zh-CN",
                                  is_mobile=True, has_touch=True, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    failures: list[str] = []
    visited: list[str] = []

    def check(label: str) -> None:
        visited.append(label)
        if label.startswith("community workbench"):
            shot(page, "a11y-phone-workbench")
        bad = page.evaluate(TAP_SCRIPT, TAP)
        if bad:
            failures.append(f"{label}: {bad}")
        # the navigation opens from the hamburger on a phone: its links must be large enough too
        if page.locator(".hamburger").is_visible():
            page.click(".hamburger")
            bad = page.evaluate(TAP_SCRIPT, TAP)
            if bad:
                failures.append(f"{label} (menu open): {bad}")
            page.click(".hamburger")

    try:
        walk_role(page, "community", check)
        walk_role(page, "resident", check)
        list(walk_anonymous(page, check))
        shot(page, "a11y-phone-register")
    finally:
        context.close()
    assert len(visited) > 20, visited
    assert not failures, "\n" + "\n".join(failures)
