"""The one map and the command-centre screen in the JSON API (mounted under /api/v1/): the area level on a screen
(GeoJSON, optionally coloured by a figure), the cases on it (markers or counted cells), service sites, the grid and
buildings at a point, an area's card and the 大屏's figures. Every read goes through the viewer's scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.views.decorators.gzip import gzip_page
from ninja import Query, Router
from ninja.decorators import decorate_view

from gongzhi.api.auth import user_of
from gongzhi.core.scope import get_scoped
from gongzhi.registry.models import Area

from . import selectors

router = Router(tags=["一张图 map"])

BBOX = Query(..., max_length=120, description="西,南,东,北（WGS-84 经纬度），即 Leaflet 的 toBBoxString()")
WIDTH = Query(1000, ge=100, le=8000, description="屏幕宽度（像素）：决定显示哪一级区域和聚合格的大小")


# The layers are the big answers (a city's streets and cells: ~0.2 MB of JSON, ~0.05 MB compressed). They carry no
# secret and echo nothing from the request, so compressing them gives BREACH nothing to guess.
@router.get("/map/areas", response=dict, summary="地图上的区域（GeoJSON，按缩放自动选层级，可按指标着色）")
@decorate_view(gzip_page)
def map_areas(request: HttpRequest, bbox: str = BBOX, width: int = WIDTH,
              kind: str | None = Query(None, max_length=12), figure: str | None = Query(None, max_length=16),
              start: dt.date | None = None, end: dt.date | None = None) -> dict[str, Any]:
    return selectors.areas(user_of(request), selectors.parse_box(bbox, width), kind=kind, figure=figure,
                           start=start, end=end)


@router.get("/map/cases", response=dict, summary="地图上的诉求（少则逐件标注，多则按格聚合）")
@decorate_view(gzip_page)
def map_cases(request: HttpRequest, bbox: str = BBOX, width: int = WIDTH,
              state: str = Query("open", max_length=10, description="open 在办 / overdue 超期 / closed 已办结 / all"),
              category: str = Query("", max_length=20, description="分类编码（含下级）"),
              start: dt.date | None = None, end: dt.date | None = None) -> dict[str, Any]:
    flt = selectors.CaseFilter(state=state, category=category, start=start, end=end)
    return selectors.cases(user_of(request), selectors.parse_box(bbox, width), flt)


@router.get("/map/sites", response=dict, summary="地图上的服务阵地（含步行15分钟范围）")
def map_sites(request: HttpRequest, bbox: str = BBOX, width: int = WIDTH) -> dict[str, Any]:
    return selectors.sites(user_of(request), selectors.parse_box(bbox, width))


@router.get("/map/locate", response=dict, summary="坐标所在的网格、小区和楼栋")
def map_locate(request: HttpRequest, lng: float = Query(..., ge=-180, le=180),
               lat: float = Query(..., ge=-90, le=90)) -> dict[str, Any]:
    return selectors.locate(user_of(request), lng, lat)


@router.get("/map/areas/{area_id}/card", response=dict, summary="区域卡片：指标、书记、网格员、议事会")
def map_area_card(request: HttpRequest, area_id: int) -> dict[str, Any]:
    return selectors.area_card(user_of(request), area_id)


@router.get("/map/screen", response=dict, summary="大屏数据：今日受理、在办超期、三率、热点、最新诉求")
def map_screen(request: HttpRequest, area_id: int | None = Query(None)) -> dict[str, Any]:
    user = user_of(request)
    area = get_scoped(user, Area, area_id) if area_id is not None else None  # outside the scope: 404
    return selectors.screen(user, area)
