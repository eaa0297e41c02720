from __future__ import annotations

import pytest

from gongzhi.core.errors import NotFound
from gongzhi.core.scope import get_scoped, scoped
from gongzhi.registry import services as registry
from gongzhi.registry.models import Area, Person
from tests.cast import Cast


def test_community_worker_sees_only_their_communitys_subtree(cast: Cast) -> None:
    names = set(scoped(cast.alice, Area).values_list("name", flat=True))
    assert "碧海社区" in names and "海鸥花园" in names
    assert "港北社区" not in names and "新华街道" not in names


def test_outsider_fetch_is_not_found(cast: Cast) -> None:
    with pytest.raises(NotFound):
        get_scoped(cast.charlie, Area, cast.grid1.pk)


def test_resident_sees_only_themselves_among_people(cast: Cast) -> None:
    registry.person_create(actor=cast.alice, area=cast.building, name="邻居", phone="13900139000")
    assert list(scoped(cast.bob, Person).values_list("name", flat=True)) == ["鲍勃"]
    assert set(scoped(cast.alice, Person).values_list("name", flat=True)) == {"鲍勃", "邻居"}
