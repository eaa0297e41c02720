"""Hot spots among the platform's cases (热点问题): the cases of an area in the viewer's scope over the last 7, 30
or 90 days, grouped by :func:`gongzhi.dispatch.hotspots.find_hotspots`, hottest first.

The grouping runs over at most :data:`MAX_CASES` cases (the newest) and is kept in the cache for
:data:`CACHE_SECONDS` per viewer, area and period, so the dashboard's card of the top 3 costs one cache read; a merge
or a new agenda item made from a hot spot forgets every kept result at once (:func:`forget_hotspots`). The member
cases themselves are read fresh on every call (their state changes), through the scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.accounts.roles import Cap
from gongzhi.cases.models import Case
from gongzhi.cases.selectors import with_places
from gongzhi.cases.workflow import State
from gongzhi.core import scope as core_scope
from gongzhi.core.errors import InvalidInput
from gongzhi.core.scope import as_scope, scoped
from gongzhi.registry.models import Area, AreaKind

from .hotspots import HotSpot, Message, find_hotspots

PERIODS = (7, 30, 90)  # days
MAX_CASES = 5000
MAX_SPOTS = 200
CACHE_SECONDS = 120
GENERATION = "hotspots"
# Cases that are no problem of their own any more: refused, merged into another, taken back.
LEFT_OUT = (State.REJECTED, State.MERGED, State.WITHDRAWN)
# Where a case may be merged into another (the workflow's "merge" sources) and what may receive it.
MERGEABLE = frozenset({State.SUBMITTED, State.ACCEPTED})
RECEIVING = frozenset({State.SUBMITTED, State.ACCEPTED, State.DISPATCHED, State.IN_PROGRESS, State.REOPENED})
PLACE_KINDS = (AreaKind.COMMUNITY, AreaKind.GRID, AreaKind.COMPOUND, AreaKind.BUILDING)
AREA_KINDS = (AreaKind.CITY, AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY)
STEP = Area.steplen


@dataclass
class CaseHotSpot:
    """A hot spot with its member cases as the viewer sees them now (a member merged or out of scope since the
    grouping is left out)."""

    spot: HotSpot
    cases: list[Case]
    councils: list[Any] = field(default_factory=list)  # councils the viewer runs that cover it (the page fills it)

    @property
    def primary(self) -> Case | None:
        return choose_primary(self.cases)

    @property
    def receivers(self) -> list[Case]:
        """The members the others may be merged into (open, not yet handled)."""
        return [c for c in self.cases if c.state in RECEIVING]

    @property
    def mergeable(self) -> list[Case]:
        return [c for c in self.cases if c.state in MERGEABLE]

    @property
    def can_merge(self) -> bool:
        """Two open members at least, one of which may still be merged into another."""
        return len(self.receivers) >= 2 and bool(self.mergeable)


def choose_primary(cases: list[Case]) -> Case | None:
    """The case a hot spot's others are merged into: of the open ones that may receive a merge, the one most people
    have met (热度), then the oldest."""
    open_ = [c for c in cases if c.state in RECEIVING]
    if not open_:
        return None
    return min(open_, key=lambda c: (-c.heat, c.created_at, c.pk))


def heat_formula() -> str:
    """:data:`gongzhi.dispatch.hotspots.HEAT_FORMULA` for cases, in the request's language, for the page."""
    return _("热度 = 反映人数 ×（1 + lg(1 + 也遇到的人数 + 已并单数)）×（1 + 持续天数 ÷ 30，持续天数最多计 30 天）："
             "反映的人越多、也遇到的人越多、持续越久，热度越高。")


def check_days(days: Any) -> int:
    try:
        value = int(days)
    except (TypeError, ValueError):
        value = 0
    if value not in PERIODS:
        raise InvalidInput.on("days", _("统计周期只能是最近7天、30天或90天"))
    return value


def hotspot_areas(viewer: Any) -> list[Area]:
    """The areas the viewer may look at hot spots of: the city, districts, streets and communities where she
    dispatches (a few hundred at most)."""
    return list(scoped(viewer, Area, cap=Cap.CASE_DISPATCH).filter(kind__in=AREA_KINDS).order_by("path")[:300])


def _cases(viewer: Any, area: Area | None, since: dt.datetime) -> QuerySet[Case]:
    qs = scoped(viewer, Case).filter(created_at__gte=since).exclude(state__in=LEFT_OUT)
    if area is not None:
        qs = qs.filter(area_path__prefix=area.path)
    return qs


def _place_names(paths: set[str]) -> dict[str, tuple[str, str]]:
    """(name, kind) of the areas at these paths, a few hundred paths per query."""
    found: dict[str, tuple[str, str]] = {}
    ordered = sorted(paths)
    for i in range(0, len(ordered), 500):
        for path, name, kind in Area.objects.filter(path__in=ordered[i:i + 500]).values_list("path", "name", "kind"):
            found[path] = (name, kind)
    return found


def _messages(rows: Sequence[Mapping[str, Any]]) -> list[Message]:
    """Cases as messages: where the platform places them (the names of their community, grid, compound and
    building: ``place_hint``), their address in the text, the people who also met them or were merged into them as
    the likes (the reporter is the case itself), the reporter as the author."""
    prefixes = {r["area_path"][:n] for r in rows for n in range(STEP, len(r["area_path"]) + 1, STEP)}
    names = _place_names(prefixes)
    messages = []
    for r in rows:
        path = r["area_path"]
        chain = [names.get(path[:n]) for n in range(STEP, len(path) + 1, STEP)]
        hint = " ".join(name for name, kind in (c for c in chain if c) if kind in PLACE_KINDS)
        author = f"p{r['reporter_id']}" if r["reporter_id"] else (f"t{r['contact_phone']}" if r["contact_phone"]
                                                                  else "")
        messages.append(Message(
            key=r["pk"], title=r["title"], text=f"{r['address']} {r['description']}".strip(),
            time=r["created_at"], likes=r["duplicate_count"] + r["follower_count"], place_hint=hint, author=author))
    return messages


def _spots(viewer: Any, area: Area | None, days: int, now: dt.datetime) -> list[HotSpot]:
    user_id = as_scope(viewer).user_id
    gen_user, gen_spots = core_scope.generations(user_id or 0, GENERATION)
    key = f"gongzhi:hotspots:{gen_spots}:{user_id}:{gen_user}:{area.pk if area else 0}:{days}"
    found: list[HotSpot] | None = cache.get(key)
    if found is None:
        since = now - dt.timedelta(days=days)
        rows = list(_cases(viewer, area, since).order_by("-created_at", "-pk").values(
            "pk", "title", "description", "address", "area_path", "created_at", "reporter_id", "contact_phone",
            "duplicate_count", "follower_count")[:MAX_CASES])
        found = find_hotspots(_messages(rows), limit=MAX_SPOTS)
        cache.set(key, found, CACHE_SECONDS)
    return found


def case_hotspots(viewer: Any, *, area: Area | None = None, days: int = 30, limit: int = 20,
                  now: dt.datetime | None = None) -> list[CaseHotSpot]:
    """The ``limit`` hottest hot spots among the cases of ``area`` (its subtree; ``None``: all the viewer sees)
    over the last ``days`` days, each with its member cases (with their ``place``), the oldest first."""
    days = check_days(days)
    limit = max(1, min(int(limit), MAX_SPOTS))
    now = now or timezone.now()
    spots = _spots(viewer, area, days, now)[:limit]
    ids = {int(k) for s in spots for k in s.members}
    by_id = {c.pk: c for c in with_places(list(
        scoped(viewer, Case).filter(pk__in=ids).exclude(state__in=LEFT_OUT).select_related("area", "category")))}
    out = []
    for s in spots:
        members = [by_id[int(k)] for k in s.members if int(k) in by_id]
        if len(members) >= 2:
            out.append(CaseHotSpot(spot=s, cases=members))
    return out


def top_hotspots(viewer: Any, limit: int = 3) -> list[CaseHotSpot]:
    """The dashboard's card: the hottest over the last 30 days of all the viewer dispatches ([] for others)."""
    if not as_scope(viewer).has(Cap.CASE_DISPATCH):
        return []
    return case_hotspots(viewer, days=30, limit=limit)


def card_context(viewer: Any) -> dict[str, Any]:
    """What ``dispatch/_hotspots_card.html`` needs: ``{% include "dispatch/_hotspots_card.html" %}`` with these."""
    return {"hotspots": top_hotspots(viewer), "heat_formula": heat_formula()}


def forget_hotspots() -> None:
    """Every kept grouping is stale (a hot spot was merged or raised): the next read groups again."""
    core_scope.bump_generation(GENERATION)
