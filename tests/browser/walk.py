"""The main pages of every role in the demo city, walked in a real browser (shared by the axe and English walks)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from gongzhi.registry.demo import DEMO_PASSWORD
from tests.browser.conftest import login

# The accounts whose main pages are walked (issue 9: admin, secretary, community, grid, resident, unit, dispatcher).
ROLES = ["admin", "secretary", "community", "grid", "resident", "unit", "dispatcher"]

# Pages with a fixed address; a role that cannot open one (403/404) simply skips it.
FIXED = [
    ("dashboard", "/"),
    ("areas", "/areas/"),
    ("people", "/people/"),
    ("units", "/units/"),
    ("orgs", "/orgs/"),
    ("pairings", "/pairings/"),
    ("groups", "/groups/"),
    ("transfer", "/transfer/"),
    ("workbench", "/cases/"),
    ("report", "/cases/report/"),
    ("mine", "/cases/mine/"),
    ("figures", "/cases/figures/"),
    ("councils", "/councils/"),
    ("inbox", "/inbox/"),
    ("users", "/accounts/users/"),
    ("calendar", "/cases/calendar/"),
    ("routing", "/cases/routing/"),
    ("public", "/cases/public/"),
]

# Detail pages: (name, the list page to find one on, the address pattern of a detail link).
DETAILS = [
    ("area", "/areas/", r"^/areas/\d+/$"),
    ("person", "/people/", r"^/people/\d+/$"),
    ("unit", "/units/", r"^/units/\d+/$"),
    ("org", "/orgs/", r"^/orgs/\d+/$"),
    ("case", "/cases/", r"^/cases/\d+/$"),
    ("my case", "/cases/mine/", r"^/cases/\d+/$"),
    ("public case", "/cases/public/", r"^/cases/public/\d+/$"),
    ("council", "/councils/", r"^/councils/\d+/$"),
    ("item", "@council", r"^/councils/items/\d+/$"),
]

ANONYMOUS = [("login", "/login/"), ("register", "/accounts/register/")]


def _open(page: Any, url: str) -> bool:
    response = page.goto(url)
    page.wait_for_load_state("load")
    return response is not None and response.status == 200


def _first_link(page: Any, pattern: str) -> str | None:
    hrefs = page.eval_on_selector_all("main a[href]", "els => els.map(e => e.getAttribute('href'))")
    for href in hrefs:
        path = href.split("?")[0].split("#")[0]
        if re.match(pattern, path):
            return path
    return None


def walk_role(page: Any, username: str, check: Callable[[str], None],
              after_login: Callable[[], None] | None = None) -> list[str]:
    """Log in as `username` and call check(label) on every main page that opens; return the labels visited."""
    login(page, username, DEMO_PASSWORD)
    if after_login:
        after_login()
    visited: list[str] = []
    for name, url in FIXED:
        if _open(page, url):
            check(f"{username} {name} {url}")
            visited.append(name)
    found: dict[str, str] = {}
    for name, source, pattern in DETAILS:
        source_url = found.get("council") if source == "@council" else source
        if source_url is None or not _open(page, source_url):
            continue
        link = _first_link(page, pattern)
        if link and _open(page, link):
            found[name] = link
            check(f"{username} {name} {link}")
            visited.append(name)
    return visited


def walk_anonymous(page: Any, check: Callable[[str], None],
                   before: Callable[[], None] | None = None) -> Iterator[str]:
    page.context.clear_cookies()
    if before:
        before()
    for name, url in ANONYMOUS:
        if _open(page, url):
            check(f"anonymous {name} {url}")
            yield name
