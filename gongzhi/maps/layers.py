"""The area layer of the one map (一张图): which level of the area tree to draw for what the viewer sees, and the
boundaries of that level inside her screen, simplified for drawing.

Which level: the finest whose typical area is at least :data:`MIN_FEATURE_PX` pixels wide at the current zoom, so a
city shows its districts or streets and a grid worker zoomed in on her compound sees its buildings — decided from the
city's own geometry (a city with large grids and one with small ones both get a readable map), never coarser than
the viewer's own root (a community worker zoomed out still sees her community, not an empty district).

How fast: per process, each level's ids, paths and bounding boxes sit in numpy arrays (:class:`LevelIndex`), so the
boxes on screen are found without reading a boundary; only the hits' boundaries are read, simplified to the screen's
resolution and kept in a bounded cache. The index is rebuilt when an area changes (the same version stamp as the
point → grid index, checked every :data:`RECHECK_SECONDS`).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape

from gongzhi.registry.models import Area, AreaKind

RECHECK_SECONDS = 30.0
MIN_FEATURE_PX = 110  # an area narrower than this on screen cannot carry its name
MAX_FEATURES = 3000
LEVELS = (AreaKind.CITY, AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY, AreaKind.GRID, AreaKind.COMPOUND,
          AreaKind.BUILDING)
_SIMPLIFIED_KEPT = 40_000


@dataclass(frozen=True)
class Box:
    """What the viewer's screen shows: west, south, east, north in WGS-84 degrees, and its width in pixels."""

    west: float
    south: float
    east: float
    north: float
    width_px: int

    @property
    def degrees_per_px(self) -> float:
        return max(self.east - self.west, 1e-9) / max(self.width_px, 1)


@dataclass
class LevelIndex:
    kind: str
    ids: np.ndarray
    paths: list[str]
    names: list[str]
    bounds: np.ndarray  # (n, 4): minx, miny, maxx, maxy
    typical_width: float  # the median width of the level's areas, in degrees

    @classmethod
    def build(cls, kind: str, rows: Sequence[tuple[int, str, str, dict[str, Any]]]) -> LevelIndex:
        ids, paths, names, bounds = [], [], [], []
        for pk, path, name, boundary in rows:
            try:
                box = shapely.bounds(shape(boundary))
            except Exception:  # a malformed legacy boundary is left off the map, not a 500
                continue
            ids.append(pk)
            paths.append(path)
            names.append(name)
            bounds.append(box)
        array = np.asarray(bounds, dtype=float).reshape(-1, 4)
        width = float(np.median(array[:, 2] - array[:, 0])) if len(array) else 0.0
        return cls(kind=kind, ids=np.asarray(ids, dtype=np.int64), paths=paths, names=names, bounds=array,
                   typical_width=width)

    def within(self, box: Box, prefixes: Sequence[str] | None) -> list[int]:
        """Positions of the areas whose box meets the screen and that lie inside one of ``prefixes`` (None: all)."""
        if not len(self.ids):
            return []
        b = self.bounds
        hit = np.flatnonzero((b[:, 0] <= box.east) & (b[:, 2] >= box.west) & (b[:, 1] <= box.north)
                             & (b[:, 3] >= box.south))
        if prefixes is None:
            return hit.tolist()
        keys = tuple(prefixes)
        return [int(i) for i in hit if self.paths[i].startswith(keys)]


class _Indexes:
    """Per process: each level's typical width (from a sample of its areas) at once, and a level's full index only
    when a screen first needs that level (a city's 100,000 buildings are indexed when someone zooms in on them)."""

    SAMPLE = 400

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.widths: dict[str, float] = {}
        self.levels: dict[str, LevelIndex] = {}
        self.stamp: tuple[int, int] | None = None
        self.checked_at = 0.0
        self.simplified: OrderedDict[tuple[int, int], dict[str, Any]] = OrderedDict()

    def _fresh(self) -> None:
        """Called with the lock held: forget everything when an area changed since the last look."""
        now = time.monotonic()
        if self.stamp is not None and now - self.checked_at < RECHECK_SECONDS:
            return
        stamp = _area_stamp()
        if stamp != self.stamp:
            self.widths, self.levels = {}, {}
            self.simplified.clear()
            for kind in LEVELS:
                rows = list(Area.objects.filter(kind=kind, boundary__isnull=False).order_by("path")
                            .values_list("pk", "path", "name", "boundary")[: self.SAMPLE])
                if rows:
                    self.widths[kind] = LevelIndex.build(kind, rows).typical_width
            self.stamp = stamp
        self.checked_at = now

    def typical_widths(self) -> dict[str, float]:
        with self.lock:
            self._fresh()
            return self.widths

    def level(self, kind: str) -> LevelIndex | None:
        with self.lock:
            self._fresh()
            if kind not in self.widths:
                return None
            if kind not in self.levels:
                rows = Area.objects.filter(kind=kind, boundary__isnull=False).values_list("pk", "path", "name",
                                                                                         "boundary")
                self.levels[kind] = LevelIndex.build(kind, list(rows.iterator(chunk_size=5000)))
            return self.levels[kind]


_indexes = _Indexes()


def _area_stamp() -> tuple[int, int]:
    """(areas with a boundary, newest audit entry touching areas): changes whenever a boundary may have."""
    from gongzhi.core.models import AuditEntry

    count = Area.objects.filter(boundary__isnull=False).count()
    last = AuditEntry.objects.filter(object_type="registry.area").order_by("-id").values_list("id", flat=True).first()
    return count, last or 0


def forget() -> None:
    """Drop the indexes (tests and imports that write areas without an audit entry)."""
    with _indexes.lock:
        _indexes.stamp = None


def level_index(kind: str) -> LevelIndex | None:
    return _indexes.level(kind)


def typical_widths() -> dict[str, float]:
    """Each level that has boundaries → the median width of its areas in degrees."""
    return _indexes.typical_widths()


def pick_level(box: Box, root_depth_kind: str | None, available: dict[str, float]) -> str | None:
    """The finest level whose typical area is at least :data:`MIN_FEATURE_PX` wide on this screen, not coarser than
    the viewer's own root level; the coarsest available when even that is too small to read."""
    levels = [k for k in LEVELS if available.get(k, 0) > 0]
    if root_depth_kind in LEVELS:
        floor = LEVELS.index(root_depth_kind)  # type: ignore[arg-type]
        levels = [k for k in levels if LEVELS.index(k) >= floor] or levels
    if not levels:
        return None
    chosen = levels[0]
    for kind in levels:
        if available[kind] / box.degrees_per_px >= MIN_FEATURE_PX:
            chosen = kind
    return chosen


def _round(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], (int, float)):
            return [round(v, 6) for v in value[:2]]
        return [_round(v) for v in value]
    return value


def simplified(pk: int, boundary: dict[str, Any], tolerance: float) -> dict[str, Any]:
    """The boundary simplified to ``tolerance`` degrees (kept per area and tolerance band, bounded)."""
    band = max(0, int(np.log2(max(tolerance, 1e-9) / 1e-7)))  # tolerances within a factor of 2 share a drawing
    key = (pk, band)
    cache = _indexes.simplified
    found = cache.get(key)
    if found is not None:
        cache.move_to_end(key)
        return found
    geom = shape(boundary)
    small = shapely.simplify(geom, 1e-7 * 2 ** band, preserve_topology=True)
    drawing = mapping(small if not small.is_empty else geom)
    result = {"type": drawing["type"], "coordinates": _round(drawing["coordinates"])}
    cache[key] = result
    if len(cache) > _SIMPLIFIED_KEPT:
        cache.popitem(last=False)
    return result


@dataclass
class AreaLayer:
    kind: str | None
    features: list[dict[str, Any]]
    truncated: bool


def area_layer(box: Box, prefixes: Sequence[str] | None, root_kind: str | None, *,
               kind: str | None = None) -> AreaLayer:
    """The areas of the level to draw on ``box`` (or of ``kind`` when asked for), inside ``prefixes``."""
    available = typical_widths()
    chosen = kind if kind in available else pick_level(box, root_kind, available)
    index = level_index(chosen) if chosen else None
    if chosen is None or index is None:
        return AreaLayer(kind=None, features=[], truncated=False)
    hits = index.within(box, prefixes)
    truncated = len(hits) > MAX_FEATURES
    hits = hits[:MAX_FEATURES]
    ids = [int(index.ids[i]) for i in hits]
    rows = {pk: (path, name, code, boundary, households) for pk, path, name, code, boundary, households in
            Area.objects.filter(pk__in=ids).values_list("pk", "path", "name", "code", "boundary", "households")}
    tolerance = box.degrees_per_px * 0.8  # below a pixel: the simplification cannot be seen
    features = []
    for pk in ids:
        if pk not in rows:
            continue  # deleted since the index was built
        _path, name, code, boundary, households = rows[pk]
        features.append({"type": "Feature", "id": pk, "geometry": simplified(pk, boundary, tolerance),
                         "properties": {"id": pk, "name": name, "code": code, "kind": chosen,
                                        "households": households}})
    return AreaLayer(kind=chosen, features=features, truncated=truncated)
