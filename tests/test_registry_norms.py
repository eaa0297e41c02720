"""Coverage figures that agree at every level, the grid-size rule (300–500 households) and the community-worker
staffing norm (1 per 350 households) on the area pages and in the figures, and a dashboard whose query count does
not grow with the number of child areas."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gongzhi.registry import selectors
from gongzhi.registry import services as registry
from gongzhi.registry.models import AreaKind, OrgLevel, PostKind, Sector
from tests.cast import Cast
from tests.test_web_registry import credit_code


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def figures(cov: selectors.Coverage) -> dict[str, Any]:
    d = cov.as_dict()
    for gaps in ("uncovered_compounds", "uncovered_units", "off_norm_grids", "understaffed"):
        d.pop(gaps)
    return d


# ------------------------------------------------------------------------------------------ coverage agrees


def test_a_grid_branch_covers_its_compound_on_the_compound_page_too(cast: Cast) -> None:
    """Before: the grid showed 1/1 compounds covered while its own compound showed 0/1 (the grid's branch lies
    outside the compound's subtree and was not looked up)."""
    registry.party_org_create(actor=None, area=cast.grid1, name="第1网格党支部", level=OrgLevel.BRANCH)
    for area in (cast.community, cast.grid1, cast.compound):
        cov = selectors.coverage(cast.admin, area)
        assert (cov.compounds, cov.compounds_with_org, cov.compound_rate) == (1, 1, 100.0), area.name
        assert cov.uncovered_compounds == []
    page = logged_in(cast.alice).get(f"/areas/{cast.compound.pk}/").content.decode()
    assert "100<small>%</small><small> (1/1)</small>" in page


def test_only_a_compounds_own_organisation_or_its_grids_branch_covers_it(cast: Cast) -> None:
    direct = registry.area_create(actor=None, parent=cast.community, name="直管小区", code="99010100100190",
                                  kind=AreaKind.COMPOUND, households=200)
    # The 社区党委 above a compound hung directly on the community, and a unit's organisation on the grid, do not.
    registry.party_org_create(actor=None, area=cast.community, name="碧海社区党委", level=OrgLevel.COMMITTEE)
    unit = registry.unit_create(actor=None, area=cast.community, name="某企业", credit_code=credit_code(7),
                                sector=Sector.NON_PUBLIC)
    registry.party_org_create(actor=None, area=cast.grid1, name="某企业党支部", level=OrgLevel.BRANCH, unit=unit)
    cov = selectors.coverage(cast.admin, cast.community)
    assert (cov.compounds, cov.compounds_with_org) == (2, 0)
    assert {a.name for a in cov.uncovered_compounds} == {"海鸥花园", "直管小区"}
    registry.party_org_create(actor=None, area=direct, name="直管小区党支部", level=OrgLevel.BRANCH)
    assert selectors.coverage(cast.admin, cast.community).compounds_with_org == 1
    assert selectors.coverage(cast.admin, direct).compound_rate == 100.0
    assert selectors.coverage(cast.admin, cast.compound).compound_rate == 0.0


def test_the_figures_per_child_are_the_figures_of_each_child(cast: Cast) -> None:
    registry.party_org_create(actor=None, area=cast.grid1, name="第1网格党支部", level=OrgLevel.BRANCH)
    org = registry.party_org_create(actor=None, area=cast.community2, name="港北社区党委", level=OrgLevel.COMMITTEE)
    person = registry.person_create(actor=None, area=cast.building, name="社工甲")
    registry.staff_post_assign(actor=None, person=person, kind=PostKind.COMMUNITY_WORKER, area=cast.community)
    member = registry.person_create(actor=None, area=cast.building, name="党员甲")
    registry.party_member_register(actor=None, person=member, organisation=org, is_mobile=True, inflow_place="x")
    registry.grassroots_group_create(actor=None, area=cast.grid3, name="秧歌队", kind="秧歌队")
    for parent in (cast.city, cast.district, cast.street, cast.community):
        by_child = selectors.coverage_by_child(cast.admin, parent)
        assert by_child, parent.name
        for child in by_child:
            assert figures(child) == figures(selectors.coverage(cast.admin, child.area)), child.area.name
    # and they add up to the parent's
    street = selectors.coverage(cast.admin, cast.street)
    kids = selectors.coverage_by_child(cast.admin, cast.street)
    for key in ("compounds", "compounds_with_org", "party_orgs", "party_members", "households", "grids",
                "community_workers", "communities", "communities_understaffed", "grassroots_groups"):
        assert getattr(street, key) == sum(getattr(k, key) for k in kids), key


# ------------------------------------------------------------------------------------------ norms


def test_grids_outside_300_to_500_households_are_flagged_on_the_pages_and_in_the_figures(cast: Cast) -> None:
    registry.area_update(actor=None, area=cast.grid2, changes={"households": 620})
    registry.area_update(actor=None, area=cast.grid3, changes={"households": 150})
    cov = selectors.coverage(cast.admin, cast.street)
    assert (cov.grids, cov.grids_undersized, cov.grids_oversized) == (3, 1, 1)
    assert [g.name for g in cov.off_norm_grids] == ["碧海社区第2网格", "港北社区第1网格"]

    admin = logged_in(cast.admin)
    body = admin.get(f"/areas/{cast.street.pk}/").content.decode()
    assert 'id="kpi-grids"' in body and "偏小 1 · 偏大 1" in body and 'id="norms"' in body
    assert 'id="norms-chart"' in body
    grid_page = admin.get(f"/areas/{cast.grid2.pk}/").content.decode()
    assert 'id="grid-flag"' in grid_page and "超过网格规模上限 500 户" in grid_page
    assert 'id="grid-flag"' not in admin.get(f"/areas/{cast.grid1.pk}/").content.decode()  # 400: within
    community = admin.get(f"/areas/{cast.community.pk}/").content.decode()
    assert "偏大</span> 620" in community  # the child row

    api = admin.get(f"/api/v1/areas/{cast.grid3.pk}/coverage").json()
    assert api["grid_flag"] == "undersized" and api["grid_norm"] == [300, 500]
    street = admin.get(f"/api/v1/areas/{cast.street.pk}/coverage").json()
    assert street["grids_oversized"] == 1 and street["off_norm_grids"][0]["households"] == 620


def test_the_grid_rule_is_a_setting(cast: Cast, settings: Any) -> None:
    settings.GONGZHI_GRID_HOUSEHOLDS = (410, 600)
    cov = selectors.coverage(cast.admin, cast.community)
    assert (cov.grids_undersized, cov.grids_oversized) == (1, 0)  # grid 1 has 400
    assert "低于网格规模下限 410 户" in logged_in(cast.admin).get(f"/areas/{cast.grid1.pk}/").content.decode()


def test_community_worker_staffing_against_one_per_350_households(cast: Cast, settings: Any) -> None:
    def worker(name: str, area: Any) -> None:
        person = registry.person_create(actor=None, area=cast.building, name=name)
        registry.staff_post_assign(actor=None, person=person, kind=PostKind.COMMUNITY_WORKER, area=area)

    for i in range(3):
        worker(f"社工{i}", cast.community)  # 1200 households need 4
    for i in range(3):
        worker(f"港北社工{i}", cast.community2)  # 800 households need 3
    cov = selectors.coverage(cast.admin, cast.community)
    assert (cov.community_workers, cov.community_workers_needed, cov.community_workers_short) == (3, 4, 1)
    assert cov.understaffed == [{"area": cast.community, "households": 1200, "workers": 3, "needed": 4}]
    street = selectors.coverage(cast.admin, cast.street)
    assert (street.communities, street.communities_understaffed) == (2, 1)
    body = logged_in(cast.admin).get(f"/areas/{cast.community.pk}/").content.decode()
    assert "社区工作者（按350户配1人）" in body and "缺 1 人" in body
    assert "1200 户 · 现有 3 人 · 需 4 人" in body

    settings.GONGZHI_HOUSEHOLDS_PER_COMMUNITY_WORKER = 400
    cov = selectors.coverage(cast.admin, cast.community)
    assert (cov.community_workers_needed, cov.community_workers_short, cov.understaffed) == (3, 0, [])
    api = logged_in(cast.admin).get(f"/api/v1/areas/{cast.street.pk}/coverage").json()
    assert api["households_per_worker"] == 400 and api["communities_understaffed"] == 0
    # a grid is not judged by the community norm
    assert 'id="kpi-staffing"' not in logged_in(cast.admin).get(f"/areas/{cast.grid1.pk}/").content.decode()


# ------------------------------------------------------------------------------------------ dashboard queries


def _add_districts(cast: Cast, n: int) -> None:
    """Districts with content under them, so that every figure has rows to count."""
    for i in range(n):
        d = registry.area_create(actor=None, parent=cast.city, name=f"新区{i}", code=f"9901{50 + i}",
                                 kind=AreaKind.DISTRICT)
        s = registry.area_create(actor=None, parent=d, name=f"新区{i}街道", code=f"9901{50 + i}001000",
                                 kind=AreaKind.STREET)
        c = registry.area_create(actor=None, parent=s, name=f"新区{i}社区", code=f"9901{50 + i}001001",
                                 kind=AreaKind.COMMUNITY, households=700)
        g = registry.area_create(actor=None, parent=c, name=f"新区{i}网格", code=f"9901{50 + i}001001001",
                                 kind=AreaKind.GRID, households=350)
        registry.area_create(actor=None, parent=g, name=f"新区{i}小区", code=f"9901{50 + i}00100100101",
                             kind=AreaKind.COMPOUND, households=350)
        org = registry.party_org_create(actor=None, area=c, name=f"新区{i}社区党委", level=OrgLevel.COMMITTEE)
        registry.party_org_create(actor=None, area=g, name=f"新区{i}网格党支部", level=OrgLevel.BRANCH, parent=org)
        registry.grassroots_group_create(actor=None, area=c, name=f"新区{i}舞蹈队", kind="广场舞队")


def test_the_dashboard_costs_the_same_queries_for_2_and_20_child_areas(
        cast: Cast, django_assert_num_queries: Callable[..., Any]) -> None:
    client = logged_in(cast.admin)
    client.get("/")  # warm the per-process caches (scope, settings snapshots)
    with CaptureQueriesContext(connection) as two:
        response = client.get("/")
    n_two = len(two.captured_queries)  # read now: the next request resets the connection's query log
    assert response.status_code == 200
    assert len(response.context["charts"]["coverage"]["xAxis"]["data"]) == 2
    _add_districts(cast, 18)
    client.get("/")
    with django_assert_num_queries(n_two):
        response = client.get("/")
    assert len(response.context["charts"]["coverage"]["xAxis"]["data"]) == 20
    bars = response.context["charts"]["coverage"]["series"][0]["data"]
    assert bars.count(100.0) == 18  # each new district: its one compound covered by its grid's branch


def test_a_street_page_costs_the_same_queries_for_2_and_12_communities(
        cast: Cast, django_assert_num_queries: Callable[..., Any]) -> None:
    client = logged_in(cast.admin)
    client.get(f"/areas/{cast.street.pk}/")
    with CaptureQueriesContext(connection) as few:
        client.get(f"/areas/{cast.street.pk}/")
    n_few = len(few.captured_queries)
    for i in range(10):
        registry.area_create(actor=None, parent=cast.street, name=f"社区{i}", code=f"99010100100{i + 3:02d}",
                             kind=AreaKind.COMMUNITY, households=400)
    client.get(f"/areas/{cast.street.pk}/")
    with django_assert_num_queries(n_few):
        client.get(f"/areas/{cast.street.pk}/")


@pytest.mark.parametrize("kind", ["city", "grid", "compound", "building"])
def test_coverage_of_any_level_is_a_fixed_number_of_queries(
        cast: Cast, kind: str, django_assert_max_num_queries: Callable[..., Any]) -> None:
    area = {"city": cast.city, "grid": cast.grid1, "compound": cast.compound, "building": cast.building}[kind]
    with django_assert_max_num_queries(20):
        selectors.coverage(cast.admin, area)
