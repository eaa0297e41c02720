"""The main pages of every role in the demo city, walked in a real browser (shared by the axe and English walks)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gongzhi.registry.demo import DEMO_PASSWORD
from tests.browser.conftest import login

# The walks check what pages say and how they are marked up, the same on every database; they are the suite's
# longest tests (six minutes together), so CI runs them once, on SQLite, and the flows' browser tests on every engine.
ON_SQLITE_ONLY = pytest.mark.skipif(
    os.environ.get("GONGZHI_DATABASE_URL", "").split(":", 1)[0] not in ("", "sqlite"),
    reason="the page walks run once, on SQLite (markup and wording do not depend on the database)")

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
    ("cobuild", "/cobuild/"),
    ("needs", "/cobuild/needs/"),
    ("matching", "/cobuild/needs/matching/"),
    ("needs import", "/cobuild/needs/import/"),
    ("resources import", "/cobuild/resources/import/"),
    ("resources", "/cobuild/resources/"),
    ("my resources", "/cobuild/resources/mine/"),
    ("projects", "/cobuild/projects/"),
    ("claim pool", "/cobuild/pool/"),
    ("my claims", "/cobuild/claims/"),
    ("deliveries", "/cobuild/deliveries/"),
    ("volunteer hours", "/cobuild/hours/"),
    ("dual feedback", "/cobuild/feedback/"),
    ("bookable services", "/cobuild/services/"),
    ("my bookings", "/cobuild/services/mine/"),
    ("service orgs", "/cobuild/services/orgs/"),
    ("booking desk", "/cobuild/services/desk/"),
    ("admission", "/cobuild/admission/"),
    ("admitted items", "/cobuild/admission/items/"),
    ("admission figures", "/cobuild/admission/figures/"),
    ("budgets", "/cobuild/funds/"),
    ("spendings", "/cobuild/funds/spendings/"),
    ("fund rules", "/cobuild/funds/rules/"),
    ("dispatch", "/dispatch/"),
    ("dispatch settings", "/dispatch/settings/"),
    ("hot spots", "/dispatch/hotspots/"),
    ("replies", "/dispatch/replies/"),
    ("to accept", "/cases/?queue=to_accept"),
    ("assessment", "/assessment/"),
    ("survey", "/assessment/survey/"),
    ("assessment public", "/assessment/public/"),
    ("my points", "/points/"),
    ("points queue", "/points/queue/"),
    ("points rules", "/points/rules/"),
    ("points store", "/points/store/"),
    ("points figures", "/points/figures/"),
    ("monthly reports", "/supervision/reports/"),
    ("cross checks", "/supervision/checks/"),
    ("service catalogue", "/services/"),
    ("service window", "/services/window/"),
    ("service department", "/services/department/"),
    ("my applications", "/services/mine/"),
    ("service figures", "/services/figures/"),
    ("sites", "/sites/"),
    ("new site", "/sites/new/"),
    ("my room bookings", "/sites/bookings/"),
    ("coverage", "/sites/coverage/"),
    ("city map", "/map/"),
    ("command screen", "/map/screen/"),
    ("boundary import", "/areas/boundaries/"),
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
    ("need", "/cobuild/needs/", r"^/cobuild/needs/\d+/$"),
    ("resource", "/cobuild/resources/", r"^/cobuild/resources/\d+/$"),
    ("project", "/cobuild/projects/", r"^/cobuild/projects/\d+/$"),
    ("community page", "/cobuild/", r"^/cobuild/community/\d+/$"),
    ("funds disclosure", "@community page", r"^/cobuild/funds/public/\d+/$"),
    ("service org", "/cobuild/services/orgs/", r"^/cobuild/services/orgs/\d+/$"),
    ("admission request", "/cobuild/admission/", r"^/cobuild/admission/requests/\d+/$"),
    ("budget", "/cobuild/funds/", r"^/cobuild/funds/budgets/\d+/$"),
    ("scheme", "/assessment/", r"^/assessment/schemes/\d+/$"),
    ("round", "/assessment/", r"^/assessment/rounds/\d+/$"),
    ("assessed subject", "@round", r"^/assessment/subjects/\d+/$"),
    ("sheet", "/assessment/", r"^/assessment/sheets/\d+/$"),
    ("board", "/assessment/public/", r"^/assessment/public/\d+/$"),
    ("points account", "/points/queue/", r"^/points/people/\d+/$"),
    ("monthly report", "/supervision/reports/", r"^/supervision/reports/\d+/$"),
    ("cross check", "/supervision/checks/", r"^/supervision/checks/\d+/$"),
    ("service item", "/services/", r"^/services/items/\d+/$"),
    ("application", "/services/window/", r"^/services/applications/\d+/$"),
    ("my application", "/services/mine/", r"^/services/applications/\d+/$"),
    ("site", "/sites/", r"^/sites/\d+/$"),
]

ANONYMOUS = [("login", "/login/"), ("register", "/accounts/register/"), ("assessment public", "/assessment/public/")]


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
        source_url = found.get(source[1:]) if source.startswith("@") else source
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
