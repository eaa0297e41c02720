"""What the one map (一张图) and the command-centre screen (大屏) read, always through the viewer's scope.

- :func:`areas` — the area level to draw on the screen (see :mod:`.layers`), optionally coloured by a case figure;
- :func:`cases` — the cases on the screen: single markers when few, counted cells (clusters and the heat layer)
  when many, filtered by state, category and period;
- :func:`sites` — service sites, party-service centres and 红色驿站 with their walking reach;
- :func:`locate` — the grid, compound and buildings at a point (the resident's pin);
- :func:`area_card` — what a click on an area shows;
- :func:`screen` — the 大屏's figures and ticker.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Avg, Count, F, Q, QuerySet
from django.db.models.functions import Floor
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from shapely.geometry import Point, shape

from gongzhi.accounts.roles import Cap
from gongzhi.cases import selectors as case_selectors
from gongzhi.cases.models import Case, Category, Level, case_number
from gongzhi.cases.workflow import OPEN_STATES, State
from gongzhi.core.errors import InvalidInput, NotFound
from gongzhi.core.scope import get_scoped, scope_of, scoped
from gongzhi.registry.geo import grid_at
from gongzhi.registry.models import Area, AreaKind

from . import layers
from .layers import Box

MAX_MARKERS = 1500  # above this the screen gets counted cells, not markers
CELL_PX = 56  # a counted cell's width on screen
FIGURES = {
    "satisfaction": gettext_lazy("满意率"),
    "on_time": gettext_lazy("按期办结率"),
    "response": gettext_lazy("响应率"),
    "per_1000": gettext_lazy("每千户诉求量"),
    "party_coverage": gettext_lazy("小区党组织覆盖率"),
}
STATES = ("open", "overdue", "closed", "all")
LEFT_OUT = (State.MERGED, State.WITHDRAWN, State.REJECTED)


def parse_box(bbox: str, width: int) -> Box:
    """``west,south,east,north`` as Leaflet's ``toBBoxString`` writes it; a bad one is named on its field."""
    try:
        west, south, east, north = (float(v) for v in bbox.split(","))
    except ValueError:
        raise InvalidInput.on("bbox", _("范围格式应为 西,南,东,北（经纬度）")) from None
    if not all(math.isfinite(v) for v in (west, south, east, north)) or not (
            -180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise InvalidInput.on("bbox", _("范围须为有效的经纬度，且西小于东、南小于北"))
    return Box(west, south, east, north, max(100, min(int(width), 8000)))


def _root_kind(viewer: Any, cap: str) -> str | None:
    roots = scope_of(viewer).root_area_ids(cap)
    kinds = list(Area.objects.filter(pk__in=roots[:50]).values_list("kind", flat=True))
    return min(kinds, key=lambda k: layers.LEVELS.index(k) if k in layers.LEVELS else 99) if kinds else None


def _prefixes(viewer: Any, cap: str) -> list[str] | None:
    prefixes = scope_of(viewer).area_prefixes(cap)
    return None if "" in prefixes else prefixes


def check_period(start: dt.date | None, end: dt.date | None, *, default_days: int) -> tuple[dt.date, dt.date]:
    today = timezone.localdate()
    end = end or today
    start = start or end - dt.timedelta(days=default_days - 1)
    case_selectors.check_period(start, end)
    return start, end


def areas(viewer: Any, box: Box, *, kind: str | None = None, figure: str | None = None,
          start: dt.date | None = None, end: dt.date | None = None) -> dict[str, Any]:
    if figure and figure not in FIGURES:
        raise InvalidInput.on("figure", _("未知的指标"))
    if kind and kind not in layers.LEVELS:
        raise InvalidInput.on("kind", _("未知的区域层级"))
    scope = scope_of(viewer)
    if not scope.area_prefixes(Cap.VIEW):
        return {"type": "FeatureCollection", "kind": None, "features": [], "truncated": False}
    layer = layers.area_layer(box, _prefixes(viewer, Cap.VIEW), _root_kind(viewer, Cap.VIEW), kind=kind)
    result: dict[str, Any] = {"type": "FeatureCollection", "kind": layer.kind,
                              "kind_label": str(AreaKind(layer.kind).label) if layer.kind else "",
                              "features": layer.features, "truncated": layer.truncated}
    if figure and layer.features:
        start, end = check_period(start, end, default_days=365)
        _colour_by(viewer, layer.features, figure, start, end)
        result.update(figure=figure, figure_label=str(FIGURES[figure]), start=start.isoformat(),
                      end=end.isoformat())
    return result


def _colour_by(viewer: Any, features: list[dict[str, Any]], figure: str, start: dt.date, end: dt.date) -> None:
    """Each feature's value of ``figure`` — only where the viewer may see case figures for it (None elsewhere)."""
    if figure == "party_coverage":
        _colour_by_coverage(features)
        return
    paths = dict(Area.objects.filter(pk__in=[f["id"] for f in features]).values_list("pk", "path"))
    allowed = scope_of(viewer).area_prefixes(Cap.CASE_VIEW)
    visible = {pk: path for pk, path in paths.items() if any(path.startswith(p) for p in allowed)}
    by_width: dict[int, list[str]] = {}
    for path in visible.values():
        by_width.setdefault(len(path), []).append(path)
    figures: dict[str, Any] = {}
    for width, group in by_width.items():
        root = _common_prefix(group, Area.steplen)
        figures.update(case_selectors.figures_for_paths(root, width, start, end))
    for feature in features:
        path = visible.get(feature["id"])
        f = figures.get(path) if path else None
        value: float | None = None
        if path is not None:
            if figure == "per_1000":
                households = feature["properties"].get("households") or 0
                value = round(1000 * (f.received if f else 0) / households, 1) if households else None
            elif f is not None:
                value = {"satisfaction": f.satisfaction_rate, "on_time": f.on_time_rate,
                         "response": f.response_rate}[figure]
        feature["properties"]["value"] = value


def _colour_by_coverage(features: list[dict[str, Any]]) -> None:
    """小区党组织覆盖率 (A2) of each area on screen: the registry's coverage, counted per level in one go. The features
    are already inside the viewer's view scope, which is what the registry's own coverage page asks."""
    from gongzhi.registry.selectors import coverage_of

    areas = list(Area.objects.filter(pk__in=[f["id"] for f in features]))
    by_width: dict[int, list[Area]] = {}
    for a in areas:
        by_width.setdefault(len(a.path), []).append(a)
    rates: dict[int, float | None] = {}
    for group in by_width.values():
        root = _common_prefix([a.path for a in group], Area.steplen)
        rates.update({c.area.pk: c.compound_rate for c in coverage_of(group, root)})
    for feature in features:
        feature["properties"]["value"] = rates.get(feature["id"])


def _common_prefix(paths: Sequence[str], step: int) -> str:
    first, last = min(paths), max(paths)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[: n - n % step]


MAX_PREFIXES = 64


def _visible_prefixes(box: Box) -> list[str]:
    """The subtrees on the screen, at most :data:`MAX_PREFIXES` (the visible level's areas, or their parents when
    there are more): zoomed in on a community, its cases are read through the (area_path, state) index instead of
    filtering the city's cases by coordinates, which no index serves. Empty at city scale (every case counts)."""
    widths = layers.typical_widths()
    kind = layers.pick_level(box, None, widths)
    index = layers.level_index(kind) if kind else None
    if index is None:
        return []
    paths = {index.paths[i] for i in index.within(box, None)}
    while len(paths) > MAX_PREFIXES:
        paths = {p[: -Area.steplen] for p in paths if len(p) > Area.steplen}
    return sorted(paths)


@dataclass(frozen=True)
class CaseFilter:
    state: str = "open"
    category: str = ""
    start: dt.date | None = None
    end: dt.date | None = None


def _cases_qs(viewer: Any, box: Box, flt: CaseFilter) -> QuerySet[Case]:
    if flt.state not in STATES:
        raise InvalidInput.on("state", _("状态应为 open、overdue、closed 或 all"))
    start, end = check_period(flt.start, flt.end, default_days=90)
    lo, hi = case_selectors._period(start, end)
    qs = scoped(viewer, Case, Cap.CASE_VIEW).filter(
        created_at__gte=lo, created_at__lt=hi, lng__gte=box.west, lng__lte=box.east, lat__gte=box.south,
        lat__lte=box.north).exclude(state__in=LEFT_OUT)
    if flt.state == "open":
        qs = qs.filter(state__in=OPEN_STATES)
    elif flt.state == "overdue":  # as the figures count it: flagged by the overdue job, still open
        qs = qs.filter(state__in=OPEN_STATES, overdue_at__isnull=False)
    elif flt.state == "closed":
        qs = qs.filter(state=State.CLOSED)
    prefixes = _visible_prefixes(box)
    if prefixes and len(prefixes) < MAX_PREFIXES // 2:  # a few subtrees: each one an index range
        # A case recorded on a coarser area (a community, not a grid) with its point on the screen counts too.
        above = {p[:n] for p in prefixes for n in range(Area.steplen, len(p), Area.steplen)}
        within = Q(area_path__in=sorted(above)) if above else Q()
        for prefix in prefixes:
            within |= Q(area_path__startswith=prefix)
        qs = qs.filter(within)
    if flt.category:
        if not Category.objects.filter(code=flt.category).exists():
            raise InvalidInput.on("category", _("没有这个分类"))
        qs = qs.filter(Q(category__code=flt.category) | Q(category__code__startswith=flt.category))
    return qs


def cases(viewer: Any, box: Box, flt: CaseFilter) -> dict[str, Any]:
    """Markers when at most :data:`MAX_MARKERS` cases are on the screen, else counted cells of :data:`CELL_PX`
    pixels (the clusters at city scale, and the heat layer's weights) — one grouped query either way."""
    if not scope_of(viewer).has(Cap.CASE_VIEW):
        return {"mode": "cells", "cells": [], "total": 0}
    qs = _cases_qs(viewer, box, flt)
    size = box.degrees_per_px * CELL_PX
    overdue = Q(state__in=OPEN_STATES, overdue_at__isnull=False)
    cells = list(qs.annotate(cx=Floor(F("lng") / size), cy=Floor(F("lat") / size)).values("cx", "cy")
                 .annotate(n=Count("pk"), late=Count("pk", filter=overdue), lng_=Avg("lng"), lat_=Avg("lat"))
                 .order_by())
    total = sum(c["n"] for c in cells)
    if total > MAX_MARKERS:
        return {"mode": "cells", "total": total, "cells": [
            {"lng": round(c["lng_"], 6), "lat": round(c["lat_"], 6), "n": c["n"], "overdue": c["late"]}
            for c in cells]}
    rows = qs.values_list("pk", "title", "state", "overdue_at", "lng", "lat", "created_at", "category__name")
    labels = dict(State.choices)
    markers = []
    for pk, title, state, overdue_at, lng, lat, created_at, category in rows:
        markers.append({"id": pk, "title": title, "state": state, "state_label": str(labels.get(state, state)),
                        "overdue": bool(state in OPEN_STATES and overdue_at is not None),
                        "lng": lng, "lat": lat, "category": category or "",
                        "number": case_number(created_at, pk)})
    return {"mode": "markers", "total": len(markers), "markers": markers}


def sites(viewer: Any, box: Box) -> dict[str, Any]:
    """Service sites on the screen with their walking reach (the 15-minute circle's radius in metres)."""
    from gongzhi.sites import coverage
    from gongzhi.sites.models import Site

    radius = coverage.DEFAULT_MINUTES * coverage.METRES_PER_MINUTE / coverage.DEFAULT_WALK_FACTOR
    rows = (Site.objects.filter(active=True, lon__gte=box.west, lon__lte=box.east, lat__gte=box.south,
                                lat__lte=box.north)
            .values_list("pk", "name", "kind", "lon", "lat", "address", "hours")[:2000])
    labels = dict(Site._meta.get_field("kind").choices or [])
    return {"reach_m": round(radius), "minutes": coverage.DEFAULT_MINUTES, "sites": [
        {"id": pk, "name": name, "kind": kind, "kind_label": str(labels.get(kind, kind)), "lng": lon, "lat": lat,
         "address": address, "hours": hours} for pk, name, kind, lon, lat, address, hours in rows]}


def locate(viewer: Any, lng: float, lat: float) -> dict[str, Any]:
    """The grid at the point (inside the viewer's scope), the compound whose boundary holds it (or the grid's only
    compound), and that compound's buildings to pick from."""
    grid = grid_at(lng, lat)
    if grid is None:
        raise NotFound(_("该位置不在任何网格内"))
    grid = get_scoped(viewer, Area, grid.pk)
    compounds = list(Area.objects.filter(path__prefix=grid.path, kind=AreaKind.COMPOUND).order_by("path")[:50])
    point = Point(lng, lat)
    compound = next((c for c in compounds if c.boundary and shape(c.boundary).covers(point)), None)
    if compound is None and len(compounds) == 1:
        compound = compounds[0]
    buildings: list[Area] = []
    building = None
    if compound is not None:
        buildings = list(Area.objects.filter(path__prefix=compound.path, kind=AreaKind.BUILDING)
                         .order_by("path")[:200])
        building = next((b for b in buildings if b.boundary and shape(b.boundary).covers(point)), None)
    ancestors = {a.kind: a for a in Area.objects.filter(path__in=[grid.path[:n] for n in range(
        Area.steplen, len(grid.path), Area.steplen)])}

    def ref(a: Area | None) -> dict[str, Any] | None:
        return {"id": a.pk, "name": a.name} if a is not None else None

    return {"lng": lng, "lat": lat, "grid": ref(grid), "community": ref(ancestors.get(AreaKind.COMMUNITY)),
            "street": ref(ancestors.get(AreaKind.STREET)), "compound": ref(compound), "building": ref(building),
            "compounds": [ref(c) for c in compounds], "buildings": [ref(b) for b in buildings]}


def area_card(viewer: Any, area_id: int) -> dict[str, Any]:
    """A click on an area: its figures this year, its party secretary and grid workers, its councils."""
    from gongzhi.councils.models import Council
    from gongzhi.registry.models import OrganisationPost, PostKind, StaffPost

    area = get_scoped(viewer, Area, area_id)
    scope = scope_of(viewer)
    card: dict[str, Any] = {"id": area.pk, "name": area.name, "kind": area.kind,
                            "kind_label": str(AreaKind(area.kind).label), "households": area.households,
                            "population": area.population, "url": f"/areas/{area.pk}/"}
    if scope.can(Cap.CASE_VIEW, area_path=area.path):
        today = timezone.localdate()
        f = case_selectors.area_figures(area, dt.date(today.year, 1, 1), today)
        card["figures"] = {"received": f.received, "open": f.open_cases, "overdue": f.overdue_open,
                           "response_rate": f.response_rate, "on_time_rate": f.on_time_rate,
                           "satisfaction_rate": f.satisfaction_rate}
    people: dict[str, list[str]] = {"secretaries": [], "grid_workers": []}
    if scope.can(Cap.VIEW_PEOPLE, area_path=area.path):
        people["grid_workers"] = sorted({name for name in StaffPost.objects.filter(
            area=area, until__isnull=True, kind=PostKind.GRID_WORKER).values_list("person__name", flat=True)})[:10]
    secretaries = OrganisationPost.objects.filter(organisation__area=area, until__isnull=True,
                                                  title__in=["书记", "第一书记"])
    people["secretaries"] = sorted(set(secretaries.values_list("person__name", flat=True)))[:5]
    card.update(people)
    card["councils"] = scoped(viewer, Council).filter(area=area).count()
    return card


def _open_now(area: Area) -> dict[str, int]:
    """Open and overdue cases now, whenever received, counted as the figures pages count them (overdue: flagged by
    the overdue job). A street and above add up the daily rollup — a city's count of every open case is a sum of its
    rollup rows, not a scan of its million cases; below a street, the cases themselves."""
    from gongzhi.cases import rollup

    if len(area.path) <= rollup.STREET_PATH_LEN:
        row = rollup.totals(area.path, case_selectors.EARLIEST, case_selectors.LATEST)
        return {"open": row["open_cases"], "overdue": row["overdue_open"]}
    return Case.objects.filter(area_path__startswith=area.path, state__in=OPEN_STATES).aggregate(
        open=Count("pk"), overdue=Count("pk", filter=Q(overdue_at__isnull=False)))


def screen(viewer: Any, area: Area | None = None) -> dict[str, Any]:
    """The 大屏: today's intake, open and overdue now, the 三率 of the last 30 days, closed cases by level, the hot
    spots and the newest cases (the ticker), for the viewer's first root or ``area``."""
    from gongzhi.dispatch.selectors_hotspots import top_hotspots

    if area is None:
        roots = scope_of(viewer).root_area_ids(Cap.CASE_VIEW)
        if not roots:
            raise NotFound(_("没有可查看的区域"))
        area = Area.objects.get(pk=roots[0])
    else:
        area = get_scoped(viewer, Area, area.pk, cap=Cap.CASE_VIEW)
    now = timezone.now()
    today = timezone.localdate()
    # The last 30 days, not the calendar month: on the 1st a month's rates would be empty all morning.
    month = case_selectors.area_figures(area, today - dt.timedelta(days=29), today)
    day = case_selectors.area_figures(area, today, today)
    base = Case.objects.filter(area_path__startswith=area.path)
    open_now = _open_now(area)
    newest = case_selectors.with_places(list(
        base.exclude(state__in=LEFT_OUT).select_related("category").order_by("-created_at", "-pk")[:12]))
    spots = top_hotspots(viewer, limit=5)
    return {
        "area": {"id": area.pk, "name": area.name}, "at": timezone.localtime(now).isoformat(timespec="seconds"),
        "today": {"received": day.received, "closed": day.closed},
        "open": open_now["open"], "overdue": open_now["overdue"],
        "month": {"received": month.received, "response_rate": month.response_rate,
                  "on_time_rate": month.on_time_rate, "satisfaction_rate": month.satisfaction_rate},
        "by_level": [{"level": str(Level(level).label), "closed": month.by_level.get(level, 0)}
                     for level in case_selectors.LEVEL_NAMES],
        "hotspots": [{"title": s.spot.label, "place": s.spot.place, "cases": len(s.cases),
                      "heat": round(s.spot.heat, 1)} for s in spots],
        "ticker": [{"id": c.pk, "number": c.number, "title": c.title, "place": c.place,
                    "category": c.category.name if c.category else "",
                    "at": timezone.localtime(c.created_at).strftime("%H:%M"), "state": str(c.get_state_display()),
                    "lng": c.lng, "lat": c.lat} for c in newest],
    }


def state_choices() -> list[tuple[str, str]]:
    return [("open", _("在办")), ("overdue", _("超期")), ("closed", _("已办结")), ("all", _("全部"))]


def bounds_json(area: Area) -> str:
    """:func:`bounds_of` as the ``data-bounds`` attribute the map component reads ("" without any boundary)."""
    import json

    found = bounds_of(area)
    return json.dumps(found) if found else ""


def bounds_of(area: Area) -> list[list[float]] | None:
    """The area's extent as Leaflet wants it, ``[[south, west], [north, east]]``: its own boundary, else the
    boundaries below it (a city drawn only through its grids)."""
    if area.boundary:
        west, south, east, north = shape(area.boundary).bounds
        return [[south, west], [north, east]]
    boxes = []
    widths = layers.typical_widths()
    for kind in (k for k in layers.LEVELS if k in widths):
        index = layers.level_index(kind)
        if index is None:
            continue
        hits = [i for i, path in enumerate(index.paths) if path.startswith(area.path)]
        if hits:
            boxes.append(index.bounds[hits])
            break  # the coarsest level that has boundaries spans the same extent as the finer ones
    if not boxes:
        return None
    b = boxes[0]
    return [[float(b[:, 1].min()), float(b[:, 0].min())], [float(b[:, 3].max()), float(b[:, 2].max())]]
