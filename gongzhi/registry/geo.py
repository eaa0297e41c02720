"""Point → grid lookup (A1), which the case pipeline routes by.

The grids' boundaries are loaded once per process into a shapely ``STRtree`` (a packed R-tree). Batches are answered
by one vectorised ``query`` call; single points by the same tree. The index is rebuilt lazily when a grid boundary
changes (``invalidate_grid_index`` runs on commit of such a change, in this process; other processes notice the
changed version stamp within ``RECHECK_SECONDS``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.strtree import STRtree

from .models import Area, AreaKind

RECHECK_SECONDS = 30.0


@dataclass
class GridIndex:
    ids: np.ndarray  # area ids, aligned with the tree's geometries
    tree: STRtree
    stamp: tuple[int, int]
    paths: dict[int, str]  # area id → materialized path, so a lookup needs no query to know the ancestors

    @classmethod
    def build(cls, rows: Sequence[Sequence[Any]], stamp: tuple[int, int] = (0, 0)) -> GridIndex:
        ids, geoms, paths = [], [], {}
        for row in rows:
            pk, boundary = row[0], row[1]
            if boundary:
                geom = shape(boundary)
                shapely.prepare(geom)
                ids.append(pk)
                geoms.append(geom)
                if len(row) > 2:
                    paths[pk] = row[2]
        return cls(ids=np.asarray(ids, dtype=np.int64), tree=STRtree(geoms), stamp=stamp, paths=paths)

    def locate(self, lng: float, lat: float) -> int | None:
        """The id of the grid containing the point, or ``None`` outside every grid."""
        hits = self.tree.query(shapely.Point(lng, lat), predicate="intersects")
        if len(hits) == 0:
            return None
        return int(self.ids[hits.min()])  # on a shared edge, the lower index wins (deterministic)

    def locate_many(self, lngs: np.ndarray, lats: np.ndarray) -> np.ndarray:
        """Grid ids for many points at once; -1 where a point is in no grid."""
        points = shapely.points(np.asarray(lngs, dtype=float), np.asarray(lats, dtype=float))
        result = np.full(len(points), -1, dtype=np.int64)
        if len(self.ids) == 0 or len(points) == 0:
            return result
        point_idx, tree_idx = self.tree.query(points, predicate="intersects")
        # Reverse order so that, for a point on a shared edge, the lowest tree index is written last and wins.
        order = np.lexsort((-tree_idx, point_idx))
        result[point_idx[order]] = self.ids[tree_idx[order]]
        return result


_lock = threading.Lock()
_index: GridIndex | None = None
_checked_at = 0.0


def _grid_stamp() -> tuple[int, int]:
    """A cheap fingerprint of the grid set: (count, newest audit id touching areas)."""
    from gongzhi.core.models import AuditEntry

    count = Area.objects.filter(kind=AreaKind.GRID).count()
    last = (
        AuditEntry.objects.filter(object_type="registry.area").order_by("-id").values_list("id", flat=True).first()
    )
    return count, last or 0


def grid_index() -> GridIndex:
    global _index, _checked_at
    now = time.monotonic()
    if _index is not None and now - _checked_at < RECHECK_SECONDS:
        return _index
    with _lock:
        stamp = _grid_stamp()
        if _index is None or _index.stamp != stamp:
            rows = Area.objects.filter(kind=AreaKind.GRID, boundary__isnull=False).values_list("pk", "boundary", "path")
            _index = GridIndex.build(list(rows), stamp)
        _checked_at = now
        return _index


def invalidate_grid_index() -> None:
    global _index
    with _lock:
        _index = None


def grid_at(lng: float, lat: float) -> Area | None:
    """The grid containing a point, with its ancestors reachable through ``path`` (community, street…)."""
    pk = grid_index().locate(lng, lat)
    return Area.objects.filter(pk=pk).first() if pk is not None else None
