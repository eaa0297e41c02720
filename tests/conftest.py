from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cast import Cast, build_cast


@pytest.fixture(autouse=True)
def _fresh_grid_index() -> Iterator[None]:
    """The point→grid index is a per-process cache; each test starts from its own database."""
    from gongzhi.registry.geo import invalidate_grid_index

    invalidate_grid_index()
    yield
    invalidate_grid_index()


@pytest.fixture
def cast(db) -> Cast:
    return build_cast()
