from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gongzhi.accounts import services as accounts
from gongzhi.cases.models import Category
from gongzhi.registry import services as registry
from gongzhi.registry.models import Sector
from tests.cast import Cast, build_cast


@pytest.fixture(autouse=True)
def _chinese_first() -> Iterator[None]:
    """A request in English leaves its language active in the thread; each test starts in Chinese, as a user does."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """The point→grid index and table snapshots are per-process caches; each test starts from its own database."""
    from gongzhi.accounts.middleware import forget_initialised
    from gongzhi.core.snapshot import invalidate_all
    from gongzhi.maps.layers import forget as forget_map_layers
    from gongzhi.registry.geo import invalidate_grid_index

    invalidate_grid_index()
    forget_map_layers()
    invalidate_all()
    forget_initialised()
    yield
    invalidate_grid_index()
    forget_map_layers()
    invalidate_all()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Transactional tests (live server, threads) end by flushing every table, which also empties the reference
    data that data migrations load (the category tree). Once their teardown is over, put it back."""
    yield
    marker = item.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or bool(
        {"live_server", "transactional_db"} & set(getattr(item, "fixturenames", ()))
    )
    # After the session's last test the test database itself is gone (its fixture was torn down with the test).
    if transactional and nextitem is not None:
        from pytest_django.plugin import blocking_manager_key

        from gongzhi.cases.categories import load_default_categories
        from gongzhi.cobuild.models import load_default_list_types
        from gongzhi.councils.models import CouncilKind, load_default_kinds
        from gongzhi.dispatch import engine
        from gongzhi.dispatch.services import factory_install

        with item.config.stash[blocking_manager_key].unblock():
            load_default_categories(Category)
            load_default_kinds(CouncilKind)
            load_default_list_types()
            factory_install()
            engine.forget()


@pytest.fixture
def cast(db) -> Cast:
    return build_cast()


def build_pipeline(cast: Cast) -> dict[str, Any]:
    """Cast plus a department (市城管局) with a handler, street and district dispatchers, two categories."""
    unit = registry.unit_create(actor=None, area=cast.city, name="市城市管理局", credit_code="91350100M000100Y43",
                                sector=Sector.ORGAN)
    handler = accounts.user_create(actor=None, username="hank", password=cast.password)
    accounts.grant_role(actor=None, user=handler, role="unit_handler", unit=unit)
    dispatcher = accounts.user_create(actor=None, username="dora", password=cast.password)
    accounts.grant_role(actor=None, user=dispatcher, role="dispatcher", area=cast.street)
    district_dispatcher = accounts.user_create(actor=None, username="dina", password=cast.password)
    accounts.grant_role(actor=None, user=district_dispatcher, role="dispatcher", area=cast.district)
    return {"unit": unit, "hank": handler, "dora": dispatcher, "dina": district_dispatcher,
            "property": Category.objects.get(code="030602"), "street_order": Category.objects.get(code="030704")}


@pytest.fixture
def pipeline(cast: Cast) -> dict[str, Any]:
    return build_pipeline(cast)
