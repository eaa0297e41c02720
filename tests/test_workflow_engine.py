"""The shared workflow engine (core/workflow.py) and every table declared to it."""

from __future__ import annotations

import pytest

from gongzhi.assessment.workflow import ROUND
from gongzhi.cases.workflow import TRANSITIONS as CASE_TABLE
from gongzhi.cobuild import workflow as cobuild
from gongzhi.core.errors import Conflict, InvalidInput
from gongzhi.core.models import AuditEntry
from gongzhi.core.workflow import Workflow, step
from gongzhi.councils.workflow import STEPS as ITEM_TABLE
from gongzhi.govservice import workflow as govservice
from gongzhi.points import workflow as points
from gongzhi.registry.models import Area
from gongzhi.sites import workflow as sites
from gongzhi.supervision import workflow as supervision

TABLES: list[Workflow] = [CASE_TABLE, ITEM_TABLE, *cobuild.ALL, ROUND, *points.ALL, *supervision.ALL,
                          *govservice.ALL, *sites.ALL]


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.action_prefix)
def test_every_declared_state_is_reachable_and_every_row_starts_somewhere(table: Workflow) -> None:
    reachable = table.reachable()
    for t in table.values():
        assert t.sources, t.name
        assert t.sources & reachable, f"{t.name} starts only from unreachable states"
        if t.target is not None:
            assert t.target in reachable


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.action_prefix)
def test_audit_actions_are_named_after_the_table(table: Workflow) -> None:
    app, obj = table.action_prefix.split(".")
    assert app and obj
    assert all("." not in t.name for t in table.values())


def test_a_row_declared_twice_is_refused() -> None:
    with pytest.raises(ValueError):
        Workflow(action_prefix="x.y", initial="a",
                 transitions=[step("go", "go", {"a"}, "b"), step("go", "go", {"a"}, "c")])


def test_follow_walks_only_declared_rows() -> None:
    assert CASE_TABLE.follow("submitted", "accept") == "accepted"
    assert CASE_TABLE.follow("accepted", "urge") == "accepted"  # a declared action that does not move
    with pytest.raises(ValueError):
        CASE_TABLE.follow("submitted", "rate")
    assert ITEM_TABLE.follow("proposed", "party_propose", variant="six_steps") == "party_proposed"
    with pytest.raises(ValueError):
        ITEM_TABLE.follow("proposed", "party_propose", variant="simple")


def test_available_filters_by_state_variant_and_actor() -> None:
    names = {t.name for t in CASE_TABLE.available("verified", actors={"reporter"})}
    assert names == {"rate", "reopen"}
    assert {t.name for t in ITEM_TABLE.available("proposed", variant="branch_first")} == {"branch_review", "schedule"}


@pytest.mark.django_db
def test_apply_moves_once_steps_the_version_and_audits(cast) -> None:
    """The engine on a real row: a stale version or a state the row does not start from is a conflict; a winning
    step moves the state, steps the version and writes one audit entry with before and after."""
    from gongzhi.cobuild.models import Kind, Need

    need = Need.objects.create(area=cast.community, area_path=cast.community.path, kind=Kind.ELDERLY, title="助老")
    t, version, reason = cobuild.NEED.check(need, "withdraw", reason="  已由街道统一解决 ")
    assert (t.target, version, reason) == ("withdrawn", 1, "已由街道统一解决")
    with pytest.raises(InvalidInput) as missing:
        cobuild.NEED.check(need, "withdraw")
    assert missing.value.fields == {"reason": [missing.value.message]}
    with pytest.raises(Conflict):
        cobuild.NEED.check(need, "withdraw", expected_version=7, reason="x")
    with pytest.raises(InvalidInput):
        cobuild.NEED.check(need, "no-such-step")

    stale = Need.objects.get(pk=need.pk)
    cobuild.NEED.apply(actor=cast.alice, obj=need, name="withdraw", version=1, reason=reason)
    assert (need.state, need.version) == ("withdrawn", 2)
    entry = AuditEntry.objects.get(action="cobuild.need.withdraw")
    assert entry.before == {"state": "open"} and entry.after == {"state": "withdrawn"}
    assert entry.reason == "已由街道统一解决" and entry.area_path == cast.community.path
    with pytest.raises(Conflict):  # the other person's copy is stale: nothing written twice
        cobuild.NEED.apply(actor=cast.alice, obj=stale, name="withdraw", version=1, reason="x")
    assert AuditEntry.objects.filter(action="cobuild.need.withdraw").count() == 1
    assert Area.objects.filter(pk=cast.community.pk).exists()
