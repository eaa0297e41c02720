"""一张图 and 大屏 through the API: the level drawn for the screen, scope, cases as markers or counted cells with
their filters, the point → grid → compound → building lookup, the area card, the screen's figures."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from gongzhi.accounts import services as accounts
from gongzhi.cases import services as cases
from gongzhi.cases.models import Case, Channel
from gongzhi.maps import layers, selectors
from gongzhi.registry import services as registry
from gongzhi.registry.models import AreaKind
from tests.cast import Cast, square

CITY_BOX = "123.30,41.70,123.55,41.90"


def api(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _report(cast: Cast, title: str, lng: float, lat: float) -> Case:
    return cases.case_submit(actor=cast.bob, title=title, description=title + "，请尽快处理", lng=lng, lat=lat)


def make_overdue(cast: Cast, case: Case) -> None:
    """Accepted and dispatched by the community, its deadline passed, flagged by the overdue job."""
    from gongzhi.cases.models import Category

    case = cases.transition(actor=cast.alice, case=case, name="accept", category=Category.objects.get(code="030602"))
    cases.transition(actor=cast.alice, case=case, name="dispatch")
    Case.objects.filter(pk=case.pk).update(due_at=timezone.now() - dt.timedelta(hours=2))
    assert cases.mark_overdue() == 1


def test_the_level_drawn_follows_the_zoom_and_never_goes_above_the_viewers_root(cast: Cast) -> None:
    # Outlines for the compound and its building, so every level from grid down exists.
    registry.area_update(actor=cast.admin, area=cast.compound, changes={"boundary": square(123.401, 41.801, 0.004)})
    registry.area_update(actor=cast.admin, area=cast.building, changes={"boundary": square(123.402, 41.802, 0.001)})
    olga = api(cast.olga)
    wide = olga.get("/api/v1/map/areas", {"bbox": CITY_BOX, "width": 1000}).json()
    assert wide["kind"] == AreaKind.GRID and {f["properties"]["name"] for f in wide["features"]} == {
        "碧海社区第1网格", "碧海社区第2网格", "港北社区第1网格"}
    close = olga.get("/api/v1/map/areas", {"bbox": "123.400,41.800,123.406,41.806", "width": 1000}).json()
    assert close["kind"] == AreaKind.BUILDING and [f["properties"]["name"] for f in close["features"]] == ["1号楼"]
    # A community worker of 港北 sees her own grid only, wherever she looks.
    charlie = api(cast.charlie).get("/api/v1/map/areas", {"bbox": CITY_BOX, "width": 1000}).json()
    assert [f["properties"]["name"] for f in charlie["features"]] == ["港北社区第1网格"]


def test_the_layers_are_compressed_for_browsers_that_accept_it(cast: Cast) -> None:
    import gzip
    import json

    r = api(cast.olga).get("/api/v1/map/areas", {"bbox": CITY_BOX, "width": 1000}, HTTP_ACCEPT_ENCODING="gzip")
    assert r["Content-Encoding"] == "gzip"
    assert len(json.loads(gzip.decompress(r.content))["features"]) == 3


def test_a_bad_box_is_named_on_its_field(cast: Cast) -> None:
    r = api(cast.olga).get("/api/v1/map/areas", {"bbox": "123.5,41.7,123.3,41.9", "width": 800})
    assert r.status_code == 400 and "bbox" in r.json()["error"]["fields"]
    r = api(cast.olga).get("/api/v1/map/cases", {"bbox": CITY_BOX, "state": "late"})
    assert r.status_code == 400 and "state" in r.json()["error"]["fields"]


def test_cases_come_as_markers_when_few_and_as_counted_cells_when_many(cast: Cast, monkeypatch: Any) -> None:
    first = _report(cast, "路灯不亮", 123.405, 41.805)
    _report(cast, "井盖松动", 123.406, 41.806)
    _report(cast, "垃圾满溢", 123.425, 41.805)  # in 港北
    alice = api(cast.alice)
    data = alice.get("/api/v1/map/cases", {"bbox": CITY_BOX, "width": 1000}).json()
    assert data["mode"] == "markers"
    # alice works in 碧海: the 港北 case is not hers to see.
    assert sorted(m["title"] for m in data["markers"]) == ["井盖松动", "路灯不亮"]
    marker = next(m for m in data["markers"] if m["id"] == first.pk)
    assert marker["number"] == first.number and marker["lng"] == 123.405 and not marker["overdue"]
    monkeypatch.setattr(selectors, "MAX_MARKERS", 1)
    cells = api(cast.olga).get("/api/v1/map/cases", {"bbox": CITY_BOX, "width": 1000}).json()
    assert cells["mode"] == "cells" and cells["total"] == 3
    assert sum(c["n"] for c in cells["cells"]) == 3 and len(cells["cells"]) >= 2  # 碧海 and 港北 apart


def test_the_overdue_filter_shows_only_late_open_cases(cast: Cast) -> None:
    late = _report(cast, "下水道堵塞", 123.405, 41.805)
    _report(cast, "楼道灯坏了", 123.406, 41.806)
    make_overdue(cast, late)
    data = api(cast.olga).get("/api/v1/map/cases", {"bbox": CITY_BOX, "state": "overdue"}).json()
    assert [m["title"] for m in data["markers"]] == ["下水道堵塞"] and data["markers"][0]["overdue"]
    old = api(cast.olga).get("/api/v1/map/cases", {"bbox": CITY_BOX, "start": "2020-01-01", "end": "2020-12-31"})
    assert old.json()["total"] == 0


def test_the_pin_finds_grid_compound_and_buildings(cast: Cast) -> None:
    registry.area_update(actor=cast.admin, area=cast.compound, changes={"boundary": square(123.401, 41.801, 0.004)})
    found = api(cast.bob).get("/api/v1/map/locate", {"lng": 123.403, "lat": 41.803}).json()
    assert found["grid"]["name"] == "碧海社区第1网格" and found["compound"]["name"] == "海鸥花园"
    assert found["community"]["name"] == "碧海社区" and found["street"]["name"] == "新华街道"
    assert [b["name"] for b in found["buildings"]] == ["1号楼"]
    outside = api(cast.bob).get("/api/v1/map/locate", {"lng": 100.0, "lat": 30.0})
    assert outside.status_code == 404


def test_the_area_card_shows_figures_people_and_councils_within_scope(cast: Cast) -> None:
    from gongzhi.registry.models import PostKind

    gina_person = registry.person_create(actor=None, area=cast.building, name="吉娜")
    registry.staff_post_assign(actor=None, person=gina_person, kind=PostKind.GRID_WORKER, area=cast.grid1)
    _report(cast, "路灯不亮", 123.405, 41.805)
    card = api(cast.alice).get(f"/api/v1/map/areas/{cast.grid1.pk}/card").json()
    assert card["name"] == "碧海社区第1网格" and card["grid_workers"] == ["吉娜"]
    assert card["figures"]["received"] == 1 and card["figures"]["open"] == 1
    assert api(cast.charlie).get(f"/api/v1/map/areas/{cast.grid1.pk}/card").status_code == 404


def test_areas_are_coloured_by_a_figure_only_where_the_viewer_sees_case_figures(cast: Cast) -> None:
    _report(cast, "路灯不亮", 123.405, 41.805)
    data = api(cast.olga).get("/api/v1/map/areas", {"bbox": CITY_BOX, "width": 1000, "figure": "per_1000"}).json()
    values = {f["properties"]["name"]: f["properties"]["value"] for f in data["features"]}
    assert values["碧海社区第1网格"] == 2.5  # one case, 400 households
    assert values["碧海社区第2网格"] == 0.0
    r = api(cast.olga).get("/api/v1/map/areas", {"bbox": CITY_BOX, "figure": "happiness"})
    assert r.status_code == 400 and "figure" in r.json()["error"]["fields"]


def test_the_screen_counts_today_open_and_overdue_and_lists_the_newest(cast: Cast) -> None:
    late = _report(cast, "下水道堵塞", 123.405, 41.805)
    _report(cast, "楼道灯坏了", 123.406, 41.806)
    make_overdue(cast, late)  # the overdue job flags it, and the figures count it
    dispatcher = accounts.user_create(actor=None, username="dee", password=cast.password)
    accounts.grant_role(actor=None, user=dispatcher, role="dispatcher", area=cast.city)
    data = api(dispatcher).get("/api/v1/map/screen").json()
    assert data["today"]["received"] == 2 and data["open"] == 2 and data["overdue"] == 1
    assert [t["title"] for t in data["ticker"]] == ["楼道灯坏了", "下水道堵塞"]
    assert {level["level"] for level in data["by_level"]} >= {"社区", "街道"}
    # A resident has no screen.
    assert api(cast.bob).get("/api/v1/map/screen").status_code in (403, 404)


def test_the_pages_are_in_the_navigation_and_draw_for_staff_only(cast: Cast) -> None:
    client = api(cast.olga)
    home = client.get("/").content.decode()
    assert "/map/" in home and "/map/screen/" in home
    page = client.get("/map/")
    assert page.status_code == 200 and 'data-map="city"' in page.content.decode()
    assert client.get("/map/screen/").status_code == 200
    assert api(cast.bob).get("/map/").status_code == 404


@pytest.mark.parametrize("kind", ["grid", "building"])
def test_a_level_index_finds_boxes_without_reading_boundaries(kind: str) -> None:
    rows = [(1, "0001", "甲", square(0, 0)), (2, "0002", "乙", square(1, 1)), (3, "00010001", "丙", square(0.5, 0))]
    index = layers.LevelIndex.build(kind, rows)
    box = layers.Box(-0.1, -0.1, 0.55, 0.2, 800)
    assert sorted(int(index.ids[i]) for i in index.within(box, None)) == [1, 3]
    assert [int(index.ids[i]) for i in index.within(box, ["00010"])] == [3]


def test_zoomed_in_a_case_recorded_on_the_community_with_its_point_here_still_shows(cast: Cast) -> None:
    on_grid = _report(cast, "路灯不亮", 123.405, 41.805)
    on_community = cases.case_submit(actor=cast.alice, title="小广场积水", description="下雨就积水",
                                     area=cast.community, lng=123.404, lat=41.804, channel=Channel.GRID_PATROL)
    elsewhere = _report(cast, "垃圾满溢", 123.425, 41.805)
    data = api(cast.olga).get("/api/v1/map/cases", {"bbox": "123.401,41.801,123.409,41.809", "width": 1000}).json()
    shown = {m["id"] for m in data["markers"]}
    assert on_community.area_path == cast.community.path
    assert shown == {on_grid.pk, on_community.pk} and elsewhere.pk not in shown


def test_areas_are_coloured_by_party_organisation_coverage_of_their_compounds(cast: Cast) -> None:
    from gongzhi.registry.models import OrgLevel

    registry.area_create(actor=cast.admin, parent=cast.grid1, name="海景花园", code="99010100100100102",
                         kind=AreaKind.COMPOUND)
    registry.party_org_create(actor=None, area=cast.compound, name="海鸥花园党支部", level=OrgLevel.BRANCH)
    data = api(cast.olga).get("/api/v1/map/areas", {"bbox": CITY_BOX, "width": 1000,
                                                    "figure": "party_coverage"}).json()
    values = {f["properties"]["name"]: f["properties"]["value"] for f in data["features"]}
    assert values == {"碧海社区第1网格": 50.0, "碧海社区第2网格": None, "港北社区第1网格": None}
    assert data["figure_label"] == "小区党组织覆盖率"
