"""The demo city: deterministic, realistic, and every demo account sees exactly its part of it."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.contrib.auth import get_user_model

from gongzhi.accounts.models import RoleGrant
from gongzhi.core.scope import scoped
from gongzhi.core.validators import is_valid_credit_code, is_valid_id_number
from gongzhi.registry.demo import DEMO_ACCOUNTS, load_demo_city
from gongzhi.registry.geo import grid_index
from gongzhi.registry.models import Area, AreaKind, MemberUnit, Pairing, Person
from gongzhi.registry.selectors import coverage, pairing_figures


def _fingerprint() -> str:
    rows = Area.objects.order_by("path").values_list("path", "code", "name", "households")
    people = Person.objects.order_by("id_number").values_list("name", "id_number", "phone")
    return hashlib.sha256(repr((list(rows), list(people))).encode()).hexdigest()


@pytest.mark.django_db(transaction=True)
def test_the_demo_city_is_deterministic_realistic_and_scoped() -> None:
    report = load_demo_city("small")
    first = _fingerprint()
    assert report.counts["communities"] == 16 and report.counts["grids"] == 64

    # Realistic: grids of 300–500 households (天长), valid numbers everywhere, grids tile without overlaps.
    households = list(Area.objects.filter(kind=AreaKind.GRID).values_list("households", flat=True))
    assert min(households) >= 180 and 300 <= sum(households) / len(households) <= 500
    assert all(is_valid_id_number(n) for n in Person.objects.values_list("id_number", flat=True))
    assert all(is_valid_credit_code(c) for c in MemberUnit.objects.values_list("credit_code", flat=True))
    index = grid_index()
    assert len(index.ids) == 64
    import shapely

    areas = shapely.area(index.tree.geometries)
    union = shapely.union_all(index.tree.geometries)
    assert abs(union.area - areas.sum()) < 1e-9  # no two grids overlap

    # Every figure has something to show on first start.
    city = Area.objects.get(depth=1)
    User = get_user_model()
    cov = coverage(User.objects.get(username="city"), city)
    assert 80 < (cov.compound_rate or 0) < 100 and cov.uncovered_compounds
    assert cov.non_public_units and 0 < (cov.non_public_rate or 0) < 100
    assert cov.grassroots_by_outcome.keys() >= {"pending", "org_formed", "instructor"}
    figures = pairing_figures(User.objects.get(username="city"), city, dt.date(2026, 11, 20))
    assert figures.visits_due and any(v["met"] for v in figures.visits_due)
    assert any(not v["met"] for v in figures.visits_due)

    # Every demo account sees exactly the subtree of its grant.
    for username, role, _where in DEMO_ACCOUNTS:
        user = User.objects.get(username=username)
        assert user.check_password("gongzhi-demo")
        grant = RoleGrant.objects.get(user=user)
        assert grant.role == role
        visible = set(scoped(user, Area).values_list("pk", flat=True))
        if grant.area is not None:
            expected = set(Area.objects.filter(path__startswith=grant.area.path).values_list("pk", flat=True))
            assert visible == expected, username
        else:
            assert visible == set(), username
            assert list(scoped(user, MemberUnit)) == [grant.unit]
            assert set(scoped(user, Pairing).values_list("unit_id", flat=True)) == {grant.unit.pk}
    resident = User.objects.get(username="resident")
    assert list(scoped(resident, Person)) == [resident.person]
    community = User.objects.get(username="community")
    community2 = User.objects.get(username="community2")
    mine = set(scoped(community, Person).values_list("pk", flat=True))
    theirs = set(scoped(community2, Person).values_list("pk", flat=True))
    assert mine and theirs and not mine & theirs

    # Loading again into an empty database gives the very same city.
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)
    from gongzhi.cases.categories import load_default_categories
    from gongzhi.cases.models import Category
    from gongzhi.dispatch.services import factory_install

    load_default_categories(Category)  # what the migrations put in a fresh database
    factory_install()
    load_demo_city("small")
    assert _fingerprint() == first


@pytest.mark.django_db
def test_loading_into_a_populated_database_is_refused(cast) -> None:
    with pytest.raises(RuntimeError):
        load_demo_city("small")
