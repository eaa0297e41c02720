"""Boundaries in bulk (issue 14, item 5): a GIS export matched to the areas by code, reprojected from the declared
coordinate system, previewed before it is written, all or nothing; and the areas out again as GeoJSON."""

from __future__ import annotations

import json
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from gongzhi.core.models import AuditEntry
from gongzhi.registry.geo_io import wgs84_to_gcj02
from gongzhi.registry.models import Area
from tests.cast import Cast


def _feature(code: str, name: str, lng: float, lat: float, *, gcj: bool = False, z: bool = False) -> dict[str, Any]:
    ring = [(lng, lat), (lng + 0.01, lat), (lng + 0.01, lat + 0.01), (lng, lat + 0.01), (lng, lat)]
    if gcj:
        ring = [wgs84_to_gcj02(x, y) for x, y in ring]
    coords = [[x, y, 35.0] if z else [x, y] for x, y in ring]
    return {"type": "Feature", "properties": {"编码": code, "名称": name},
            "geometry": {"type": "Polygon", "coordinates": [coords]}}


def _upload(features: list[dict[str, Any]]) -> SimpleUploadedFile:
    body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()
    return SimpleUploadedFile("grids.geojson", body, content_type="application/geo+json")


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_gcj02_export_is_previewed_then_imported_matched_by_code(cast: Cast) -> None:
    features = [_feature(cast.grid1.code, "一网格", 123.50, 41.85, gcj=True, z=True),
                _feature("990199999999999", "不存在", 123.60, 41.85)]
    client = _client(cast.admin)
    preview = client.post("/api/v1/areas/boundaries/import",
                          {"file": _upload(features), "crs": "GCJ02", "dry_run": "true"}).json()
    assert preview["dry_run"] and [u["code"] for u in preview["updated"]] == [cast.grid1.code]
    assert preview["unmatched"] == [{"feature": 2, "code": "990199999999999", "name": "不存在"}]
    cast.grid1.refresh_from_db()
    assert cast.grid1.boundary["coordinates"][0][0] == [123.40, 41.80]  # the preview wrote nothing
    version = cast.grid1.version
    done = client.post("/api/v1/areas/boundaries/import", {"file": _upload(features), "crs": "GCJ02"}).json()
    assert not done["dry_run"]
    cast.grid1.refresh_from_db()
    assert cast.grid1.version == version + 1  # an edit form opened before the import is now stale
    x, y = cast.grid1.boundary["coordinates"][0][0]
    assert abs(x - 123.50) < 1e-5 and abs(y - 41.85) < 1e-5  # back in WGS-84, heights dropped
    entry = AuditEntry.objects.filter(action="registry.area.update", object_id=str(cast.grid1.pk)).latest("id")
    assert entry.after == {"boundary_from": "grids.geojson #1"} and entry.actor_name == "admin"


def test_a_bad_feature_refuses_the_whole_file_naming_it(cast: Cast) -> None:
    line = {"type": "Feature", "properties": {"编码": cast.grid2.code},
            "geometry": {"type": "LineString", "coordinates": [[123.4, 41.8], [123.5, 41.9]]}}
    features = [_feature(cast.grid1.code, "一网格", 123.50, 41.85), line]
    r = _client(cast.admin).post("/api/v1/areas/boundaries/import", {"file": _upload(features)})
    assert r.status_code == 400 and "第 2 个要素" in r.json()["error"]["fields"]["file"][0]
    cast.grid1.refresh_from_db()
    assert cast.grid1.boundary["coordinates"][0][0] == [123.40, 41.80]
    twice = [_feature(cast.grid1.code, "a", 123.5, 41.85), _feature(cast.grid1.code, "b", 123.6, 41.85)]
    r = _client(cast.admin).post("/api/v1/areas/boundaries/import", {"file": _upload(twice)})
    assert r.status_code == 400 and cast.grid1.code in r.json()["error"]["fields"]["file"][0]


def test_only_the_tree_editor_of_the_area_may_import_its_boundary(cast: Cast) -> None:
    r = _client(cast.charlie).post("/api/v1/areas/boundaries/import",
                                   {"file": _upload([_feature(cast.grid1.code, "一网格", 123.5, 41.85)])})
    assert r.status_code == 403
    cast.grid1.refresh_from_db()
    assert cast.grid1.boundary["coordinates"][0][0] == [123.40, 41.80]


def test_the_import_page_previews_and_imports(cast: Cast) -> None:
    client = _client(cast.admin)
    page = client.get("/areas/boundaries/")
    assert page.status_code == 200 and "GCJ-02" in page.content.decode()
    features = [_feature(cast.grid2.code, "二网格", 123.55, 41.85)]
    preview = client.post("/areas/boundaries/", {"file": _upload(features), "crs": "WGS84", "dry_run": "on"})
    assert "预检结果" in preview.content.decode() and cast.grid2.code in preview.content.decode()
    client.post("/areas/boundaries/", {"file": _upload(features), "crs": "WGS84"})
    assert Area.objects.get(pk=cast.grid2.pk).boundary["coordinates"][0][0] == [123.55, 41.85]
    empty = client.post("/areas/boundaries/", {"crs": "WGS84"})
    assert "file" in empty.context["form"].errors


def test_the_areas_go_out_as_geojson_within_scope(cast: Cast) -> None:
    data = _client(cast.alice).get(f"/api/v1/areas/{cast.community.pk}/boundaries").json()
    assert data["type"] == "FeatureCollection"
    assert sorted(f["properties"]["name"] for f in data["features"]) == ["碧海社区第1网格", "碧海社区第2网格"]
    assert _client(cast.charlie).get(f"/api/v1/areas/{cast.community.pk}/boundaries").status_code == 404
    grids = _client(cast.admin).get(f"/api/v1/areas/{cast.city.pk}/boundaries", {"kinds": "grid"}).json()
    assert len(grids["features"]) == 3
