"""The 15-minute service circle (F4, 天长 “15分钟服务圈”): which households live within a walk of a site that offers
a service, for a community, a street or the whole city.

The walk is estimated, not routed: a household is inside when the straight-line distance to a site, times a walking
factor (paths are longer than the crow flies; 1.3 by default), is at most what one walks in the given minutes (75 m a
minute, 4.5 km/h). The registry gives buildings their households but not a point of their own, so a building stands
at the centre of its grid's boundary; a grid without buildings counts with its own households. Both are said on the
page. Distances are taken on a local flat projection (metres east and north of the area's centre), which is exact
to well under 1 % over a city; the sites are put in a packed R-tree (shapely ``STRtree``) and every grid centre asks
it once, vectorised, so a city of 10,000 grids and 100,000 buildings takes well under the 2 s of the benchmark
(``bench/coverage.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from django.db.models import QuerySet
from django.utils.html import escape
from django.utils.translation import gettext as _
from shapely.strtree import STRtree

from gongzhi.registry.models import Area, AreaKind

from .models import Site

METRES_PER_MINUTE = 75.0
DEFAULT_MINUTES = 15
DEFAULT_WALK_FACTOR = 1.3
MAX_OUTSIDE_LISTED = 200
MAX_GRIDS_DRAWN = 2500
M_PER_DEGREE_LAT = 110_574.0
M_PER_DEGREE_LON_AT_EQUATOR = 111_320.0


@dataclass
class AreaCoverage:
    area_id: int
    name: str
    households: int = 0
    covered: int = 0

    @property
    def share(self) -> float | None:
        return round(100 * self.covered / self.households, 1) if self.households else None


@dataclass
class Coverage:
    root: Area
    minutes: int
    walk_factor: float
    radius_m: float  # straight-line distance that counts as inside
    sites: int = 0  # sites offering the service, with a point
    households: int = 0
    covered: int = 0
    buildings: int = 0
    buildings_outside: int = 0
    unplaced_households: int = 0  # in grids without a boundary: not counted either way
    communities: list[AreaCoverage] = field(default_factory=list)
    outside: list[dict[str, Any]] = field(default_factory=list)  # the first buildings outside, largest first
    grid_shares: dict[int, bool] = field(default_factory=dict)  # grid id → its centre is inside
    site_points: list[tuple[float, float, str]] = field(default_factory=list)
    homes: Any = None  # the placed households, for another question about the same area (by_item)

    @property
    def share(self) -> float | None:
        return round(100 * self.covered / self.households, 1) if self.households else None

    def as_dict(self) -> dict[str, Any]:
        return {"area_id": self.root.pk, "area": self.root.name, "minutes": self.minutes,
                "walk_factor": self.walk_factor, "radius_m": round(self.radius_m), "sites": self.sites,
                "households": self.households, "covered": self.covered, "share": self.share,
                "buildings": self.buildings, "buildings_outside": self.buildings_outside,
                "unplaced_households": self.unplaced_households,
                "communities": [{"area_id": c.area_id, "name": c.name, "households": c.households,
                                 "covered": c.covered, "share": c.share} for c in self.communities],
                "outside": self.outside}


def offering_sites(item: Any = None) -> QuerySet[Site]:
    """Open sites with a point; with ``item``, only those whose window handles it."""
    qs = Site.objects.filter(active=True, lon__isnull=False, lat__isnull=False)
    if item is not None:
        qs = qs.filter(items=item)
    return qs


def _ring(boundary: dict[str, Any]) -> list[list[float]]:
    coords = boundary["coordinates"]
    return coords[0] if boundary["type"] == "Polygon" else coords[0][0]


@dataclass
class _Homes:
    """An area's households placed on its grids' centres, on a local flat projection (metres)."""

    grid_rows: list[tuple[Any, ...]]  # (pk, path, households, boundary)
    placed: list[int]  # indices of the grids with a boundary
    per_grid: np.ndarray  # households per grid (its buildings', else its own)
    xy: np.ndarray  # (len(placed), 2) metres east and north of the centre of the area
    origin: tuple[float, float, float, float]  # lon0, lat0, metres per degree east, north
    buildings: list[tuple[Any, ...]]  # (pk, path, households)
    b_grid: np.ndarray  # each building's grid index, -1 outside every grid
    b_households: np.ndarray


def _homes(root: Area) -> _Homes:
    grids = Area.objects.filter(pk=root.pk) if root.kind == AreaKind.GRID else \
        Area.objects.filter(kind=AreaKind.GRID, path__startswith=root.path)
    grid_rows = list(grids.values_list("pk", "path", "households", "boundary"))
    grid_paths = [r[1] for r in grid_rows]
    placed = [i for i, r in enumerate(grid_rows) if r[3]]
    # Households: the buildings' where the grid has buildings, else the grid's own.
    grid_len = len(grid_paths[0]) if grid_paths else 0
    index_of = {p: i for i, p in enumerate(grid_paths)}
    per_grid = np.zeros(len(grid_rows), dtype=np.int64)
    has_buildings = np.zeros(len(grid_rows), dtype=bool)
    buildings = list(Area.objects.filter(kind=AreaKind.BUILDING, path__startswith=root.path)
                     .values_list("pk", "path", "households"))
    b_grid = np.full(len(buildings), -1, dtype=np.int64)
    b_households = np.zeros(len(buildings), dtype=np.int64)
    for j, (_pk, path, households) in enumerate(buildings):
        b_grid[j], b_households[j] = (index_of.get(path[:grid_len], -1) if grid_len else -1), households
    inside = b_grid >= 0
    np.add.at(per_grid, b_grid[inside], b_households[inside])
    has_buildings[b_grid[inside]] = True
    own = np.array([r[2] for r in grid_rows], dtype=np.int64) if grid_rows else np.zeros(0, dtype=np.int64)
    per_grid = np.where(has_buildings, per_grid, own)
    xy = np.zeros((0, 2))
    origin = (0.0, 0.0, 1.0, 1.0)
    if placed:
        polygons = [shapely.Polygon(_ring(grid_rows[i][3])) for i in placed]
        centres = shapely.get_coordinates(shapely.centroid(polygons))
        lon0, lat0 = float(centres[:, 0].mean()), float(centres[:, 1].mean())
        kx, ky = M_PER_DEGREE_LON_AT_EQUATOR * math.cos(math.radians(lat0)), M_PER_DEGREE_LAT
        xy = np.column_stack(((centres[:, 0] - lon0) * kx, (centres[:, 1] - lat0) * ky))
        origin = (lon0, lat0, kx, ky)
    return _Homes(grid_rows=grid_rows, placed=placed, per_grid=per_grid, xy=xy, origin=origin, buildings=buildings,
                  b_grid=b_grid, b_households=b_households)


def _covered(homes: _Homes, sites: list[tuple[float, float, str]], radius: float) -> np.ndarray:
    """Which grids have their centre within ``radius`` metres of one of ``sites`` (one vectorised R-tree query)."""
    covered = np.zeros(len(homes.grid_rows), dtype=bool)
    if not homes.placed or not sites:
        return covered
    lon0, lat0, kx, ky = homes.origin
    s = np.asarray([(lon, lat) for lon, lat, _n in sites], dtype=float)
    tree = STRtree(shapely.points((s[:, 0] - lon0) * kx, (s[:, 1] - lat0) * ky))
    hit, _site = tree.query(shapely.points(homes.xy[:, 0], homes.xy[:, 1]), predicate="dwithin", distance=radius)
    covered[np.asarray(homes.placed, dtype=np.int64)[np.unique(hit)]] = True
    return covered


def by_item(root: Area, *, minutes: int = DEFAULT_MINUTES, walk_factor: float = DEFAULT_WALK_FACTOR,
            homes: _Homes | None = None) -> list[dict[str, Any]]:
    """Coverage by service: for every item of the catalogue, the share of ``root``'s households within the walk of
    a site whose window handles it (the households are placed once; each item asks the R-tree once)."""
    from gongzhi.govservice.models import ServiceItem

    radius = minutes * METRES_PER_MINUTE / walk_factor
    homes = homes or _homes(root)
    placed = np.zeros(len(homes.grid_rows), dtype=bool)
    placed[homes.placed] = True
    total = int(homes.per_grid[placed].sum())
    points: dict[int, list[tuple[float, float, str]]] = {}
    for item_id, lon, lat in (Site.items.through.objects.filter(
            site__active=True, site__lon__isnull=False, site__lat__isnull=False)
            .values_list("serviceitem_id", "site__lon", "site__lat")):
        points.setdefault(item_id, []).append((float(lon or 0), float(lat or 0), ""))
    out = []
    for item in ServiceItem.objects.filter(active=True).order_by("code").only("code", "name"):
        pts = points.get(item.pk, [])
        covered = int(homes.per_grid[_covered(homes, pts, radius)].sum())
        out.append({"item_id": item.pk, "code": item.code, "name": item.name, "sites": len(pts),
                    "households": total, "covered": covered,
                    "share": round(100 * covered / total, 1) if total else None})
    return out


def compute(root: Area, *, item: Any = None, minutes: int = DEFAULT_MINUTES,
            walk_factor: float = DEFAULT_WALK_FACTOR, sites: list[tuple[float, float, str]] | None = None,
            homes: _Homes | None = None) -> Coverage:
    """The coverage of ``root``'s households by the sites offering ``item`` (any site when ``None``)."""
    radius = minutes * METRES_PER_MINUTE / walk_factor
    result = Coverage(root=root, minutes=minutes, walk_factor=walk_factor, radius_m=radius)
    step = Area.steplen
    if sites is None:
        sites = [(float(s.lon or 0), float(s.lat or 0), s.name)
                 for s in offering_sites(item).only("lon", "lat", "name")]
    result.sites = len(sites)
    result.site_points = sites
    homes = homes or _homes(root)
    result.homes = homes
    grid_rows, placed, per_grid = homes.grid_rows, homes.placed, homes.per_grid
    grid_paths = [r[1] for r in grid_rows]
    buildings, b_grid, b_households = homes.buildings, homes.b_grid, homes.b_households
    inside = b_grid >= 0
    result.buildings = int(inside.sum())
    covered = _covered(homes, sites, radius)
    placed_mask = np.zeros(len(grid_rows), dtype=bool)
    placed_mask[placed] = True
    result.households = int(per_grid[placed_mask].sum())
    result.covered = int(per_grid[covered].sum())
    result.unplaced_households = int(per_grid[~placed_mask].sum())
    result.grid_shares = {grid_rows[i][0]: bool(covered[i]) for i in placed}
    # By community (or the root itself below community level).
    depth = len(root.path) // step
    community_len = 4 * step if depth <= 4 else len(root.path)
    totals: dict[str, list[int]] = {}
    for i in placed:
        key = grid_paths[i][:community_len]
        t = totals.setdefault(key, [0, 0])
        t[0] += int(per_grid[i])
        t[1] += int(per_grid[i]) if covered[i] else 0
    names = dict(Area.objects.filter(path__in=list(totals)).values_list("path", "name"))
    ids = dict(Area.objects.filter(path__in=list(totals)).values_list("path", "pk"))
    result.communities = sorted((AreaCoverage(area_id=ids.get(p, 0), name=names.get(p, p), households=h, covered=c)
                                 for p, (h, c) in totals.items()), key=lambda c: (c.share or 0, c.name))
    # The buildings outside, largest first.
    out_mask = inside & ~covered[np.where(b_grid >= 0, b_grid, 0)]
    result.buildings_outside = int(out_mask.sum())
    order = np.argsort(-b_households[out_mask], kind="stable")[:MAX_OUTSIDE_LISTED]
    listed = [buildings[j] for j in np.flatnonzero(out_mask)[order]]
    if listed:
        labels = _building_labels([b[1] for b in listed])
        result.outside = [{"id": pk, "name": labels.get(path, ""), "households": households}
                          for pk, path, households in listed]
    return result


def _building_labels(paths: list[str]) -> dict[str, str]:
    """小区 + 楼栋 names for building paths (one query for the buildings and their compounds)."""
    step = Area.steplen
    wanted = set(paths) | {p[:-step] for p in paths}
    names = dict(Area.objects.filter(path__in=wanted).values_list("path", "name"))
    return {p: f"{names.get(p[:-step], '')}{names.get(p, '')}" for p in paths}


def svg(result: Coverage, size: int = 520) -> str:
    """The map of gaps, drawn offline: grids inside the circle in green, outside in red, sites as dots with their
    circle. Above :data:`MAX_GRIDS_DRAWN` grids the communities are drawn instead, shaded by their share."""
    shapes: list[tuple[list[list[float]], str, str]] = []  # ring, css class, title
    if len(result.grid_shares) <= MAX_GRIDS_DRAWN:
        for pk, boundary, name in Area.objects.filter(pk__in=list(result.grid_shares)).values_list(
                "pk", "boundary", "name"):
            inside = result.grid_shares[pk]
            where = _("15分钟圈内") if inside else _("圈外")
            shapes.append((_ring(boundary), "in" if inside else "out", f"{name}: {where}"))
    else:
        by_id = {c.area_id: c for c in result.communities}
        for pk, boundary, name in Area.objects.filter(pk__in=list(by_id), boundary__isnull=False).values_list(
                "pk", "boundary", "name"):
            share = by_id[pk].share or 0
            band = "in" if share >= 90 else "mid" if share >= 60 else "out"
            shapes.append((_ring(boundary), band, f"{name}：{share}%"))
    if not shapes:
        return ""
    xs = [p[0] for ring, _c, _t in shapes for p in ring]
    ys = [p[1] for ring, _c, _t in shapes for p in ring]
    minx, maxx, miny, maxy = min(xs), max(xs), min(ys), max(ys)
    lat0 = (miny + maxy) / 2
    aspect = math.cos(math.radians(lat0))  # a degree of longitude is shorter than one of latitude
    width_deg = (maxx - minx) * aspect
    scale = size / max(width_deg, maxy - miny, 1e-9)
    height = max(40, int((maxy - miny) * scale))

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return (lon - minx) * aspect * scale, (maxy - lat) * scale

    parts = []
    for ring, css, title in shapes:
        d = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in
                     enumerate(xy(p[0], p[1]) for p in ring))
        parts.append(f'<path class="{css}" d="{d} Z"><title>{escape(title)}</title></path>')
    r = result.radius_m / M_PER_DEGREE_LAT * scale
    for lon, lat, name in result.site_points:
        if not (minx - 0.05 <= lon <= maxx + 0.05 and miny - 0.05 <= lat <= maxy + 0.05):
            continue
        x, y = xy(lon, lat)
        parts.append(f'<circle class="reach" cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}"/>'
                     f'<circle class="site" cx="{x:.1f}" cy="{y:.1f}" r="3.5"><title>{escape(name)}</title></circle>')
    label = _("15分钟服务圈覆盖示意图：绿色为圈内网格，红色为圈外网格，圆点为服务阵地")
    return (f'<svg class="svgmap coverage-map" viewBox="-2 -2 {size + 4} {height + 4}" '
            f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}">'
            f'<title>{escape(label)}</title>{"".join(parts)}</svg>')
