"""Boundary import/export (``gongzhi.registry.geo_io``): pure functions, no database."""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import shapefile
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import Point, Polygon, shape

from gongzhi.registry import geo_io
from gongzhi.registry.geo_io import GeoInputError, ImportedFeature

# A small square in central Beijing, in WGS84 lng/lat, counter-clockwise.
SQUARE = [(116.39, 39.90), (116.40, 39.90), (116.40, 39.91), (116.39, 39.91), (116.39, 39.90)]


def _geojson(*features: dict[str, Any], **extra: Any) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features), **extra}, ensure_ascii=False).encode()


def _feature(geometry: dict[str, Any], **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def _polygon(ring: Sequence[Sequence[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}


def _zipped_shapefile(rings: list[list[tuple[float, float]]], names: list[str], codes: list[str], *,
                      encoding: str = "utf-8", cpg: str | None = None, prj: str | None = None) -> bytes:
    shp, shx, dbf = io.BytesIO(), io.BytesIO(), io.BytesIO()
    writer = shapefile.Writer(shp=shp, shx=shx, dbf=dbf, shapeType=shapefile.POLYGON, encoding=encoding)
    writer.field("名称", "C", size=50)
    writer.field("编码", "C", size=12)
    for ring, name, code in zip(rings, names, codes, strict=True):
        writer.poly([list(reversed(ring))])  # shapefile outer rings are clockwise
        writer.record(name, code)
    writer.close()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("boundaries/社区.shp", shp.getvalue())
        archive.writestr("boundaries/社区.shx", shx.getvalue())
        archive.writestr("boundaries/社区.dbf", dbf.getvalue())
        if cpg is not None:
            archive.writestr("boundaries/社区.cpg", cpg)
        if prj is not None:
            archive.writestr("boundaries/社区.prj", prj)
    return out.getvalue()


def _assert_same_polygon(geometry: dict[str, Any], ring: list[tuple[float, float]], tolerance: float) -> None:
    got = shapely.normalize(shape(geometry))
    want = shapely.normalize(Polygon(ring))
    assert got.geom_type == "Polygon"
    np.testing.assert_allclose(shapely.get_coordinates(got), shapely.get_coordinates(want), atol=tolerance, rtol=0)


def _metres(d_lng: float, d_lat: float, lat: float) -> float:
    return math.hypot(d_lng * 111_320 * math.cos(math.radians(lat)), d_lat * 110_574)


# --- GeoJSON ----------------------------------------------------------------------------------------------------------


def test_geojson_3d_polygon_comes_back_2d_with_name_and_code() -> None:
    ring_3d = [(x, y, 45.5) for x, y in SQUARE]
    data = _geojson(_feature(_polygon(ring_3d), 名称="东街社区", 区划代码=350102001001, 人口=3200))
    [feature] = geo_io.read_features(data, "社区.geojson")
    assert isinstance(feature, ImportedFeature)
    assert (feature.name, feature.code) == ("东街社区", "350102001001")
    assert feature.properties["人口"] == 3200
    assert feature.geometry["type"] == "Polygon"
    assert all(len(p) == 2 for p in feature.geometry["coordinates"][0])
    assert isinstance(feature.geometry["coordinates"][0][0], list)
    _assert_same_polygon(feature.geometry, SQUARE, 1e-9)


def test_bare_geometry_and_single_feature_are_accepted() -> None:
    [bare] = geo_io.read_features(json.dumps(_polygon(SQUARE)).encode(), "x.json")
    assert (bare.name, bare.code, bare.properties) == ("", "", {})
    [single] = geo_io.read_features(json.dumps(_feature(_polygon(SQUARE), NAME="A", adcode="350102")).encode(),
                                    "x.json")
    assert (single.name, single.code) == ("A", "350102")


def test_explicit_name_and_code_fields_win_and_a_missing_one_is_named() -> None:
    data = _geojson(_feature(_polygon(SQUARE), name="ignored", 网格名="第一网格", 网格号="G01"))
    [feature] = geo_io.read_features(data, "grid.geojson", name_field="网格名", code_field="网格号")
    assert (feature.name, feature.code) == ("第一网格", "G01")
    with pytest.raises(GeoInputError) as caught:
        geo_io.read_features(data, "grid.geojson", name_field="不存在")
    assert caught.value.field == "name_field"
    assert "不存在" in caught.value.message


def test_line_string_is_refused_with_its_feature_number() -> None:
    line = {"type": "LineString", "coordinates": [list(p) for p in SQUARE]}
    data = _geojson(_feature(_polygon(SQUARE), name="ok"), _feature(line, name="ring"))
    with pytest.raises(GeoInputError) as caught:
        geo_io.read_features(data, "x.geojson")
    assert caught.value.field == "file"
    assert "第 2 个要素" in str(caught.value)
    assert "LineString" in str(caught.value)


def test_malformed_coordinates_are_refused_with_feature_number() -> None:
    data = _geojson(_feature({"type": "Polygon", "coordinates": [["a", "b"]]}))
    with pytest.raises(GeoInputError, match="第 1 个要素：坐标格式错误"):
        geo_io.read_features(data, "x.geojson")


def test_bow_tie_is_repaired_into_polygons_or_refused() -> None:
    bow_tie = [(116.0, 39.0), (116.01, 39.01), (116.01, 39.0), (116.0, 39.01), (116.0, 39.0)]
    data = _geojson(_feature(_polygon(bow_tie), name="蝴蝶"))
    try:
        [feature] = geo_io.read_features(data, "x.geojson")
    except GeoInputError as exc:
        assert "第 1 个要素" in str(exc)
    else:
        repaired = shape(feature.geometry)
        assert repaired.is_valid
        assert repaired.geom_type in ("Polygon", "MultiPolygon")
        assert repaired.area == pytest.approx(0.01 * 0.01 / 2, rel=1e-6)


def test_projected_coordinates_declared_as_wgs84_are_refused() -> None:
    metres = [(500_000.0, 4_400_000.0), (501_000.0, 4_400_000.0), (501_000.0, 4_401_000.0), (500_000.0, 4_400_000.0)]
    with pytest.raises(GeoInputError) as caught:
        geo_io.read_features(_geojson(_feature(_polygon(metres))), "x.geojson", crs="WGS84")
    assert "第 1 个要素" in caught.value.message
    assert "WGS84" in caught.value.message
    assert "坐标系" in caught.value.message


def test_declared_gauss_kruger_zone_is_reprojected() -> None:
    to_zone = Transformer.from_crs(4326, 4548, always_xy=True)
    ring = [to_zone.transform(x, y) for x, y in SQUARE]
    [feature] = geo_io.read_features(_geojson(_feature(_polygon(ring))), "x.geojson", crs="CGCS2000_3DEG_CM_117")
    _assert_same_polygon(feature.geometry, SQUARE, 1e-6)


def test_declared_gcj02_is_shifted_back_to_wgs84() -> None:
    ring = [geo_io.wgs84_to_gcj02(x, y) for x, y in SQUARE]
    [feature] = geo_io.read_features(_geojson(_feature(_polygon(ring))), "x.geojson", crs="GCJ02")
    _assert_same_polygon(feature.geometry, SQUARE, 1e-6)


@pytest.mark.parametrize("crs", ["CGCS2000_3DEG_CM_118", "CGCS2000_3DEG_CM_138", "UTM50N", "EPSG:3857"])
def test_unknown_crs_is_refused(crs: str) -> None:
    with pytest.raises(GeoInputError) as caught:
        geo_io.read_features(_geojson(_feature(_polygon(SQUARE))), "x.geojson", crs=crs)
    assert caught.value.field == "crs"
    assert crs in caught.value.message


def test_supported_crs_lists_every_three_degree_zone() -> None:
    zones = [k for k in geo_io.SUPPORTED_CRS if k.startswith("CGCS2000_3DEG_CM_")]
    assert len(zones) == 21
    assert {"WGS84", "CGCS2000", "GCJ02", "CGCS2000_3DEG_CM_75", "CGCS2000_3DEG_CM_135"} <= set(geo_io.SUPPORTED_CRS)


def test_limits_and_unknown_file_types_are_refused() -> None:
    with pytest.raises(GeoInputError, match="文件过大"):
        geo_io.read_features(b" " * (geo_io.MAX_BYTES + 1), "x.geojson")
    many = [_feature(_polygon(SQUARE))] * (geo_io.MAX_FEATURES + 1)
    with pytest.raises(GeoInputError, match="要素过多"):
        geo_io.read_features(_geojson(*many), "x.geojson")
    with pytest.raises(GeoInputError, match="GeoJSON"):
        geo_io.read_features(b"<kml/>", "x.kml")
    with pytest.raises(GeoInputError, match="GeoJSON"):
        geo_io.read_features(b"{not json", "x.geojson")


# --- Shapefile --------------------------------------------------------------------------------------------------------


def test_zipped_shapefile_with_gbk_names_and_cpg() -> None:
    other = [(x + 0.01, y) for x, y in SQUARE]
    data = _zipped_shapefile([SQUARE, other], ["东街社区", "南门社区"], ["350102001001", "350102001002"],
                             encoding="gbk", cpg="GBK")
    features = geo_io.read_features(data, "社区.zip")
    assert [(f.name, f.code) for f in features] == [("东街社区", "350102001001"), ("南门社区", "350102001002")]
    assert features[0].properties == {"名称": "东街社区", "编码": "350102001001"}
    _assert_same_polygon(features[0].geometry, SQUARE, 1e-9)
    # Written clockwise as shapefiles require, returned counter-clockwise as GeoJSON requires.
    assert Polygon(features[0].geometry["coordinates"][0]).exterior.is_ccw


def test_zipped_shapefile_in_gbk_without_cpg_is_guessed() -> None:
    data = _zipped_shapefile([SQUARE], ["鼓楼区"], ["350102"], encoding="gbk")
    [feature] = geo_io.read_features(data, "区.zip")
    assert feature.name == "鼓楼区"


@pytest.mark.parametrize("wkt_version", ["WKT2_2019", "WKT1_ESRI"])
def test_shapefile_in_three_degree_zone_is_reprojected_from_its_prj(wkt_version: str) -> None:
    zone = CRS.from_epsg(4548)
    to_zone = Transformer.from_crs(CRS.from_epsg(4326), zone, always_xy=True)
    projected = [to_zone.transform(x, y) for x, y in SQUARE]
    assert projected[0][0] > 100_000  # really metres
    data = _zipped_shapefile([projected], ["东街社区"], ["001"], prj=zone.to_wkt(wkt_version))
    # The .prj is more reliable than the form's default choice.
    [feature] = geo_io.read_features(data, "社区.zip", crs="WGS84")
    _assert_same_polygon(feature.geometry, SQUARE, 1e-6)


def test_zip_without_shapefile_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "nothing")
    with pytest.raises(GeoInputError, match=r"\.shp"):
        geo_io.read_features(out.getvalue(), "x.zip")
    with pytest.raises(GeoInputError, match="zip"):
        geo_io.read_features(b"not a zip", "x.zip")


# --- GCJ-02 -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lng", "lat"), [(116.397, 39.908), (119.296, 26.074), (121.47, 31.23), (87.6, 43.8)])
def test_gcj02_round_trip(lng: float, lat: float) -> None:
    back = geo_io.gcj02_to_wgs84(*geo_io.wgs84_to_gcj02(lng, lat))
    assert back == pytest.approx((lng, lat), abs=1e-6)


def test_gcj02_offset_in_beijing_is_a_few_hundred_metres() -> None:
    lng, lat = 116.397, 39.908
    g_lng, g_lat = geo_io.wgs84_to_gcj02(lng, lat)
    assert g_lng - lng == pytest.approx(0.006, abs=0.001)
    assert g_lat - lat == pytest.approx(0.0014, abs=0.0005)
    assert 100 < _metres(g_lng - lng, g_lat - lat, lat) < 700


@pytest.mark.parametrize(("lng", "lat"), [(2.35, 48.85), (-74.0, 40.7), (151.2, -33.9)])
def test_gcj02_has_no_offset_outside_china(lng: float, lat: float) -> None:
    assert geo_io.wgs84_to_gcj02(lng, lat) == (lng, lat)
    assert geo_io.gcj02_to_wgs84(lng, lat) == (lng, lat)


# --- output -----------------------------------------------------------------------------------------------------------


def test_simplify_reduces_a_circle_and_keeps_it_valid() -> None:
    circle = Point(116.4, 39.9).buffer(0.01, quad_segs=250)
    original = shapely.geometry.mapping(circle)
    assert len(circle.exterior.coords) > 1000
    simplified = geo_io.simplify_for_drawing(original, 0.0001)
    ring = simplified["coordinates"][0]
    assert simplified["type"] == "Polygon"
    assert isinstance(simplified["coordinates"], list) and isinstance(ring[0], list)
    assert 4 <= len(ring) < len(circle.exterior.coords) / 4
    assert all(round(v, 6) == v for p in ring for v in p)
    result = shape(simplified)
    assert result.is_valid
    assert result.area == pytest.approx(circle.area, rel=0.01)


def test_simplify_never_returns_an_empty_geometry() -> None:
    tiny = _polygon([(116.0, 39.0), (116.000001, 39.0), (116.000001, 39.000001), (116.0, 39.0)])
    simplified = geo_io.simplify_for_drawing(tiny, 1.0)
    assert simplified["type"] == "Polygon"
    assert simplified["coordinates"][0]


def test_to_feature_collection_keeps_rows_without_geometry() -> None:
    geometry = _polygon(SQUARE)
    rows = [({"name": "东街社区", "id": 1}, geometry), ({"name": "未划界", "id": 2}, None)]
    collection = geo_io.to_feature_collection(rows)
    assert collection == {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"name": "东街社区", "id": 1}, "geometry": geometry},
            {"type": "Feature", "properties": {"name": "未划界", "id": 2}, "geometry": None},
        ],
    }
    json.dumps(collection)
