"""Boundary geometry in and out for the area tree (district … building).

Pure functions on bytes and GeoJSON dicts, with no database access: the import view and the API decide what to do with
the features; this module only turns an uploaded file into WGS84 lng/lat polygons, or stored polygons into what a map
draws. Boundaries arrive in whatever the city's surveyors or web-map tools produced: GeoJSON or zipped shapefiles, in
GPS coordinates, CGCS2000 (geographic or a 3-degree Gauss-Krüger zone) or the GCJ-02 offset coordinates of Chinese
web maps.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import json
import math
import re
import struct
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import shapefile
import shapely
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

MAX_FEATURES = 20_000
MAX_BYTES = 50 * 1024 * 1024

# 3-degree zones, EPSG:4534 (CM 75°E) … EPSG:4554 (CM 135°E). These are the codes whose false easting is a plain
# 500 000 m; the 4513–4533 family carries the zone number in the easting and would need a different name.
_GK3_FIRST_EPSG = 4534
_GK3_MERIDIANS = range(75, 136, 3)
_GK3_PREFIX = "CGCS2000_3DEG_CM_"

# The labels are the import form's choices, so they are translated (lazily: this module has no request).
SUPPORTED_CRS: dict[str, Any] = {
    "WGS84": gettext_lazy("WGS84 经纬度（GPS，EPSG:4326）"),
    # EPSG:4490. CGCS2000 and WGS84 differ by centimetres at city scale, far below what a boundary drawing resolves,
    # so the two are treated as the same; a datum transformation would only add a dependency on grid files.
    "CGCS2000": gettext_lazy("CGCS2000 经纬度（EPSG:4490）"),
    "GCJ02": gettext_lazy("GCJ-02 火星坐标（高德、腾讯等国内网络地图）"),
    **{
        f"{_GK3_PREFIX}{cm}": format_lazy(
            gettext_lazy("CGCS2000 3 度带高斯-克吕格投影，中央经线 {cm}°E（EPSG:{epsg}）"),
            cm=cm, epsg=_GK3_FIRST_EPSG + i)
        for i, cm in enumerate(_GK3_MERIDIANS)
    },
}

NAME_KEYS = ("name", "NAME", "名称", "MC", "mc")
CODE_KEYS = ("code", "CODE", "编码", "区划代码", "BM", "bm", "adcode")

# Transforms work on an (N, 2) array of x/y so that a polygon of thousands of vertices is converted in one call.
_Transform = Callable[[np.ndarray], np.ndarray]


class GeoInputError(ValueError):
    """A file the user uploaded cannot be used; ``field`` names the form/API field the message belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ImportedFeature:
    name: str
    code: str
    properties: dict[str, Any] = field(default_factory=dict)
    geometry: dict[str, Any] = field(default_factory=dict)  # GeoJSON Polygon/MultiPolygon, WGS84 lng/lat, 2D


# --- GCJ-02 -----------------------------------------------------------------------------------------------------------
# The published (leaked) WGS84→GCJ02 formula. Its inverse has no closed form; a fixed-point iteration on the forward
# formula converges to well under a millimetre in a handful of steps because the offset varies slowly.

_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323


def _outside_china(lng: np.ndarray, lat: np.ndarray) -> np.ndarray:
    # The offset is only applied inside this box; Chinese web maps show foreign coordinates unshifted.
    return (lng < 72.004) | (lng > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _gcj_offset(lng: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = lng - 105.0
    y = lat - 35.0
    pi = math.pi
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    d_lat += (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    d_lat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    d_lat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    d_lng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    d_lng += (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    d_lng += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    d_lng += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * pi
    magic = 1.0 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * pi)
    d_lng = (d_lng * 180.0) / (_GCJ_A / sqrt_magic * np.cos(rad_lat) * pi)
    outside = _outside_china(lng, lat)
    return np.where(outside, 0.0, d_lng), np.where(outside, 0.0, d_lat)


def _wgs_to_gcj_array(coords: np.ndarray) -> np.ndarray:
    lng, lat = coords[:, 0], coords[:, 1]
    d_lng, d_lat = _gcj_offset(lng, lat)
    return np.column_stack((lng + d_lng, lat + d_lat))


def _gcj_to_wgs_array(coords: np.ndarray) -> np.ndarray:
    target = np.asarray(coords, dtype=float)
    guess = target.copy()
    for _ in range(30):
        error = target - _wgs_to_gcj_array(guess)
        guess = guess + error
        if np.all(np.abs(error) < 1e-10):  # ~0.01 mm
            break
    return guess


def wgs84_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    out = _wgs_to_gcj_array(np.array([[lng, lat]], dtype=float))[0]
    return float(out[0]), float(out[1])


def gcj02_to_wgs84(lng: float, lat: float) -> tuple[float, float]:
    out = _gcj_to_wgs_array(np.array([[lng, lat]], dtype=float))[0]
    return float(out[0]), float(out[1])


# --- coordinate systems -----------------------------------------------------------------------------------------------


def _pyproj_transform(source: CRS) -> _Transform:
    # always_xy: shapefiles and GeoJSON store easting/lng first, whatever axis order the EPSG definition declares.
    transformer = Transformer.from_crs(source, CRS.from_epsg(4326), always_xy=True)

    def run(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack((np.asarray(x, dtype=float), np.asarray(y, dtype=float)))

    return run


def _declared_transform(crs: str) -> _Transform | None:
    """``None`` means the coordinates are already WGS84 lng/lat."""
    key = (crs or "").strip().upper()
    if key in ("WGS84", "CGCS2000"):
        return None
    if key == "GCJ02":
        return _gcj_to_wgs_array
    match = re.fullmatch(re.escape(_GK3_PREFIX) + r"(\d+)", key)
    if match and int(match.group(1)) in _GK3_MERIDIANS:
        epsg = _GK3_FIRST_EPSG + (int(match.group(1)) - _GK3_MERIDIANS.start) // _GK3_MERIDIANS.step
        return _pyproj_transform(CRS.from_epsg(epsg))
    choices = "、".join(["WGS84", "CGCS2000", "GCJ02", f"{_GK3_PREFIX}75 … {_GK3_PREFIX}135（每 3 度一带）"])
    raise GeoInputError("crs", f"不支持的坐标系「{crs}」；可选：{choices}")


def _file_transform(source: CRS, declared: str) -> _Transform | None:
    """A coordinate system described in the file (.prj, GeoJSON ``crs``) is more reliable than the form's choice —
    except that no .prj can say GCJ-02: tools exporting web-map coordinates label them plain WGS84, so a geographic
    declaration in the file does not contradict a GCJ02 choice by the user."""
    if source.is_geographic:
        if declared.strip().upper() == "GCJ02":
            return _gcj_to_wgs_array
        if source.to_epsg() in (4326, 4490):
            return None
    return _pyproj_transform(source)


def _crs_from_wkt(text: str) -> CRS:
    try:
        return CRS.from_wkt(text)
    except CRSError as exc:
        raise GeoInputError("file", f".prj 文件无法识别坐标系：{exc}") from exc


# --- reading ----------------------------------------------------------------------------------------------------------


def read_features(
    data: bytes,
    filename: str,
    crs: str = "WGS84",
    name_field: str | None = None,
    code_field: str | None = None,
) -> list[ImportedFeature]:
    """Parse an uploaded boundary file into WGS84 polygons. Raises ``GeoInputError`` naming the first problem."""
    if len(data) > MAX_BYTES:
        size = len(data) / 1024 / 1024
        raise GeoInputError("file", f"文件过大（{size:.1f} MB），上限为 {MAX_BYTES // 1024 // 1024} MB")
    transform = _declared_transform(crs)  # validates the declared name even when the file overrides it
    lower = (filename or "").lower()
    if lower.endswith((".geojson", ".json")):
        raw, file_crs = _geojson_features(data)
    elif lower.endswith(".zip"):
        raw, file_crs = _shapefile_features(data)
    else:
        raise GeoInputError("file", "只接受 GeoJSON（.geojson / .json）或压缩的 Shapefile（.zip）")
    if file_crs is not None:
        transform = _file_transform(file_crs, crs)
    if len(raw) > MAX_FEATURES:
        raise GeoInputError("file", f"要素过多（{len(raw)} 个），一次最多导入 {MAX_FEATURES} 个，请分批导入")
    if not raw:
        raise GeoInputError("file", "文件中没有要素")

    all_keys = {key for properties, _ in raw for key in properties}
    for field_name, chosen in (("name_field", name_field), ("code_field", code_field)):
        if chosen and chosen not in all_keys:
            available = "、".join(sorted(all_keys)) or "无"
            raise GeoInputError(field_name, f"文件中没有字段「{chosen}」；可用字段：{available}")

    features = []
    for number, (properties, geometry) in enumerate(raw, start=1):
        geom = _polygonal(number, geometry, transform, crs)
        features.append(ImportedFeature(
            name=_pick(properties, name_field, NAME_KEYS),
            code=_pick(properties, code_field, CODE_KEYS),
            properties=properties,
            geometry=_as_geojson(geom, digits=7),  # 7 decimals ≈ 1 cm; reprojection leaves meaningless float tails
        ))
    return features


_RawFeature = tuple[dict[str, Any], Any]


def _geojson_features(data: bytes) -> tuple[list[_RawFeature], CRS | None]:
    try:
        doc = json.loads(data.decode("utf-8-sig"))  # utf-8-sig: Windows tools prepend a BOM
    except (UnicodeDecodeError, ValueError) as exc:
        raise GeoInputError("file", f"不是有效的 GeoJSON 文件：{exc}") from exc
    if not isinstance(doc, dict):
        raise GeoInputError("file", "不是有效的 GeoJSON 文件：顶层应为对象")
    kind = doc.get("type")
    if kind == "FeatureCollection":
        items = doc.get("features")
        if not isinstance(items, list):
            raise GeoInputError("file", "GeoJSON 的 features 应为数组")
    elif kind == "Feature":
        items = [doc]
    elif (isinstance(kind, str) and "coordinates" in doc) or kind == "GeometryCollection":
        items = [{"type": "Feature", "properties": {}, "geometry": doc}]
    else:
        raise GeoInputError("file", f"不是有效的 GeoJSON 文件：未知类型「{kind}」")
    raw: list[_RawFeature] = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise GeoInputError("file", f"第 {number} 个要素：格式错误")
        properties = item.get("properties") or {}
        if not isinstance(properties, dict):
            raise GeoInputError("file", f"第 {number} 个要素：properties 应为对象")
        raw.append(({str(k): _plain(v) for k, v in properties.items()}, item.get("geometry")))
    return raw, _geojson_crs(doc)


def _geojson_crs(doc: Mapping[str, Any]) -> CRS | None:
    # RFC 7946 dropped the ``crs`` member, but QGIS and ArcGIS still write it when exporting a projected layer, and
    # ignoring it would silently misplace every boundary.
    member = doc.get("crs")
    if not isinstance(member, dict):
        return None
    name = (member.get("properties") or {}).get("name")
    if not isinstance(name, str) or not name.strip():
        return None
    try:
        return CRS.from_user_input(name)
    except CRSError as exc:
        raise GeoInputError("file", f"GeoJSON 的 crs「{name}」无法识别：{exc}") from exc


def _shapefile_features(data: bytes) -> tuple[list[_RawFeature], CRS | None]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise GeoInputError("file", "不是有效的 zip 压缩包") from exc
    with archive:
        # A small zip can inflate to gigabytes; the size limit is about what is read, not what was uploaded.
        members = [m for m in archive.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX/")]
        if sum(m.file_size for m in members) > MAX_BYTES:
            raise GeoInputError("file", f"压缩包解压后超过 {MAX_BYTES // 1024 // 1024} MB")
        shps = [m for m in members if m.filename.lower().endswith(".shp")]
        if not shps:
            raise GeoInputError("file", "压缩包中没有 .shp 文件")
        if len(shps) > 1:
            raise GeoInputError("file", "压缩包中有多个 .shp 文件，请每个压缩包只放一个图层")
        stem = shps[0].filename[:-4].lower()
        parts = {m.filename[len(stem):].lower(): m for m in members if m.filename.lower().startswith(stem + ".")}
        if ".dbf" not in parts:
            raise GeoInputError("file", "压缩包中缺少与 .shp 同名的 .dbf 文件")
        wanted = (".shp", ".shx", ".dbf", ".cpg", ".prj")
        blobs = {ext: archive.read(member) for ext, member in parts.items() if ext in wanted}
    file_crs = None
    if ".prj" in blobs:
        prj = blobs[".prj"].decode("utf-8", errors="replace").strip()
        if prj:
            file_crs = _crs_from_wkt(prj)
    declared = _cpg_encoding(blobs.get(".cpg"))
    for encoding in [declared] if declared else ["utf-8", "gbk"]:
        try:
            return _read_shapefile(blobs, encoding), file_crs
        except UnicodeDecodeError:
            continue
    raise GeoInputError("file", "无法识别 .dbf 属性表的文字编码（已尝试 UTF-8 与 GBK），请在压缩包中附上 .cpg 文件")


def _cpg_encoding(blob: bytes | None) -> str | None:
    if not blob:
        return None
    text = blob.decode("ascii", errors="ignore").strip().lower()
    # ArcGIS writes code-page numbers ("936", "65001") as often as names.
    text = {"65001": "utf-8", "936": "gbk", "54936": "gb18030"}.get(text, text)
    if text.isdigit():
        text = f"cp{text}"
    try:
        return codecs.lookup(text).name
    except LookupError:
        return None  # an unknown .cpg is no worse than none: fall back to guessing


def _read_shapefile(blobs: Mapping[str, bytes], encoding: str) -> list[_RawFeature]:
    shx = io.BytesIO(blobs[".shx"]) if ".shx" in blobs else None
    try:
        reader = shapefile.Reader(shp=io.BytesIO(blobs[".shp"]), shx=shx, dbf=io.BytesIO(blobs[".dbf"]),
                                  encoding=encoding, encodingErrors="strict")
    except shapefile.ShapefileException as exc:
        if _caused_by_decoding(exc):
            raise UnicodeDecodeError(encoding, b"", 0, 1, str(exc)) from exc
        raise GeoInputError("file", f"Shapefile 无法读取：{exc}") from exc
    with reader:
        if len(reader) > MAX_FEATURES:
            raise GeoInputError("file", f"要素过多（{len(reader)} 个），一次最多导入 {MAX_FEATURES} 个，请分批导入")
        raw: list[_RawFeature] = []
        try:
            for item in reader.iterShapeRecords():
                properties = {str(k): _plain(v) for k, v in item.record.as_dict().items()}
                geometry = None if item.shape.shapeType == shapefile.NULL else item.shape.__geo_interface__
                raw.append((properties, geometry))
        except UnicodeDecodeError:
            raise
        except (shapefile.ShapefileException, ValueError, IndexError, struct.error) as exc:
            if _caused_by_decoding(exc):
                raise UnicodeDecodeError(encoding, b"", 0, 1, str(exc)) from exc
            raise GeoInputError("file", f"Shapefile 内容损坏：{exc}") from exc
    return raw


def _caused_by_decoding(exc: BaseException) -> bool:
    # pyshp wraps a wrong guess of the DBF encoding in its own exception; the caller needs it back to try the next one.
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, UnicodeDecodeError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "could not decode" in str(exc).lower()


def _plain(value: Any) -> Any:
    """Properties are stored as JSON; DBF dates and decimals are not JSON."""
    if isinstance(value, str):
        return value.strip()
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace").strip()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def _pick(properties: Mapping[str, Any], chosen: str | None, keys: Iterable[str]) -> str:
    candidates = [chosen] if chosen else [k for k in keys if properties.get(k) not in (None, "")]
    for key in candidates:
        value = properties.get(key)
        if value is None:
            return ""
        # DBF numeric columns hand codes back as floats (350102.0); a code is an identifier, not a number.
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value).strip()
    return ""


def _polygonal(number: int, geometry: Any, transform: _Transform | None, crs: str) -> BaseGeometry:
    prefix = f"第 {number} 个要素："
    if not geometry:
        raise GeoInputError("file", prefix + "缺少几何图形")
    try:
        geom = shape(geometry)
    except Exception as exc:  # shapely raises a zoo of types (ValueError, TypeError, GEOSException, KeyError…)
        raise GeoInputError("file", prefix + "坐标格式错误") from exc
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise GeoInputError("file", prefix + f"几何类型为 {geom.geom_type}，只接受面（Polygon / MultiPolygon）")
    if geom.is_empty:
        raise GeoInputError("file", prefix + "几何图形为空")
    geom = shapely.force_2d(geom)
    if transform is not None:
        geom = shapely.transform(geom, transform)
    coords = shapely.get_coordinates(geom)
    if not (np.all(np.isfinite(coords)) and np.all(np.abs(coords[:, 0]) <= 180) and np.all(np.abs(coords[:, 1]) <= 90)):
        raise GeoInputError(
            "file",
            prefix + f"换算后的坐标超出经纬度范围（经度 -180～180，纬度 -90～90），所选坐标系「{crs}」可能不对",
        )
    if not geom.is_valid:
        geom = _repair(geom)
        if geom is None:
            raise GeoInputError("file", prefix + "面的边界自相交或不闭合，无法自动修复，请在 GIS 软件中修正后再导入")
    return _oriented(geom)


def _repair(geom: BaseGeometry) -> BaseGeometry | None:
    try:
        # "structure" drops collapsed slivers and spikes instead of returning them as lines alongside the polygon,
        # so a boundary with a digitising spike is repaired rather than refused.
        fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False)
    except TypeError:  # shapely < 2.1 has only the default method
        fixed = shapely.make_valid(geom)
    if fixed.is_empty or fixed.geom_type not in ("Polygon", "MultiPolygon") or not fixed.is_valid:
        return None
    return fixed


def _oriented(geom: BaseGeometry) -> BaseGeometry:
    # RFC 7946: exterior rings counter-clockwise. Shapefiles store them clockwise.
    if isinstance(geom, Polygon):
        return orient(geom, sign=1.0)
    if isinstance(geom, MultiPolygon):
        return MultiPolygon([orient(p, sign=1.0) for p in geom.geoms])
    return geom


def _as_geojson(geom: BaseGeometry, digits: int) -> dict[str, Any]:
    out = mapping(geom)
    return {"type": out["type"], "coordinates": _listify(out["coordinates"], digits)}


def _listify(value: Any, digits: int) -> Any:
    # mapping() returns nested tuples; stored JSON and template contexts compare equal to lists only.
    if isinstance(value, list | tuple):
        if value and isinstance(value[0], int | float):
            return [round(float(v), digits) for v in value[:2]]
        return [_listify(v, digits) for v in value]
    return value


# --- writing ----------------------------------------------------------------------------------------------------------


def simplify_for_drawing(geometry: dict[str, Any], tolerance_degrees: float) -> dict[str, Any]:
    """A lighter polygon for the map overview; never empty, so a tiny building still shows."""
    geom = shape(geometry)
    rounded_original = _as_geojson(geom, digits=6)
    simplified = geom.simplify(max(tolerance_degrees, 0.0), preserve_topology=True)
    if simplified.is_empty:
        return rounded_original
    result = _as_geojson(simplified, digits=6)
    if shape(result).is_empty:
        return rounded_original
    return result


def to_feature_collection(rows: Iterable[tuple[dict[str, Any], dict[str, Any] | None]]) -> dict[str, Any]:
    """Rows without a boundary stay in the collection (geometry null) so an export lists every area."""
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": dict(properties), "geometry": geometry} for properties, geometry in rows
        ],
    }
