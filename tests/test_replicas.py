"""Read replicas (issue 15): the router's rules on any database, then — on PostgreSQL — a real streaming standby that
the test starts with pg_basebackup on loopback: marked lists read from it (a paused standby shows a stale list), the
writer reads her own write from the primary, a lagging standby is skipped, the lag is shown; and the failover drill:
the synchronous standby promoted after the primary is killed holds every acknowledged case and takes new ones."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import RequestFactory

from gongzhi.cases.models import Case
from gongzhi.core import replicas
from gongzhi.core.models import AuditEntry
from gongzhi.core.replicas import ReplicaRouter, Standby
from gongzhi.registry.models import Area


@pytest.fixture
def one_standby(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A configured standby whose state the test sets (no second server needed for the router's rules)."""
    state: dict[str, Any] = {"standby": Standby("replica1", True, 0.2), "asked": 0}

    def measure(alias: str) -> Standby:
        state["asked"] += 1
        return state["standby"]

    monkeypatch.setattr(replicas, "aliases", lambda: ["replica1"])
    monkeypatch.setattr(replicas, "measure", measure)
    replicas.forget_lags()
    yield state
    replicas.forget_lags()


@pytest.mark.django_db(transaction=True)  # outside the test's own transaction, as a request runs
def test_only_marked_reads_of_the_platforms_records_go_to_a_fit_standby(one_standby: dict[str, Any],
                                                                        settings: Any) -> None:
    router = ReplicaRouter()
    assert router.db_for_read(Case) is None  # outside a marked view: the primary
    with replicas.reading_from_replica() as alias:
        assert alias == "replica1"
        assert router.db_for_read(Case) == "replica1" and router.db_for_read(Area) == "replica1"
        assert router.db_for_read(AuditEntry) is None  # the audit log, accounts, sessions, cache: never
        from django.contrib.auth import get_user_model

        assert router.db_for_read(get_user_model()) is None
        with transaction.atomic():
            assert router.db_for_read(Case) is None  # a transaction reads what it writes on
    assert router.db_for_write(Case) == "default"
    assert router.allow_migrate("replica1", "cases") is False and router.allow_migrate("default", "cases")
    # Lagging, promoted or unreachable: not read from; the lag is asked at most every LAG_CHECK_SECONDS.
    for standby in (Standby("replica1", True, settings.GONGZHI_REPLICA_MAX_LAG + 1), Standby("replica1", False, None),
                    Standby("replica1", None, None, "connection refused")):
        one_standby["standby"] = standby
        replicas.forget_lags()
        assert replicas.choose(now=100.0) is None
    one_standby["standby"] = Standby("replica1", True, 0.0)
    asked = one_standby["asked"]
    assert replicas.choose(now=200.0) == "replica1" and replicas.choose(now=201.0) == "replica1"
    assert one_standby["asked"] == asked + 1
    assert replicas.choose(now=200.0 + replicas.LAG_CHECK_SECONDS) == "replica1" and one_standby["asked"] == asked + 2


@pytest.mark.django_db
def test_a_client_that_wrote_reads_from_the_primary_for_a_while(one_standby: dict[str, Any], cast: Any) -> None:
    factory = RequestFactory()
    seen: list[str | None] = []

    @replicas.replica_reads
    def view(request: Any) -> Any:
        seen.append(replicas._reading.get())
        from django.http import HttpResponse

        return HttpResponse("ok")

    middleware = replicas.PinWritersMiddleware(view)
    token = {"HTTP_AUTHORIZATION": "Bearer abc"}
    other = {"HTTP_AUTHORIZATION": "Bearer xyz"}
    get = factory.get("/", **token)
    get.user = cast.alice
    middleware(get)
    post = factory.post("/", **token)
    post.user = cast.alice
    middleware(post)  # a write: alice is pinned to the primary (and nothing is routed while it runs)
    again = factory.get("/", **token)
    again.user = cast.alice
    middleware(again)
    stranger = factory.get("/", **other)
    from django.contrib.auth.models import AnonymousUser

    stranger.user = AnonymousUser()
    middleware(stranger)
    assert seen == ["replica1", None, None, "replica1"]
    keyed = factory.post("/", {"api_key": "k-123"})
    keyed.user = AnonymousUser()
    assert replicas.client_key(keyed) is not None and "k-123" not in (replicas.client_key(keyed) or "")


@pytest.mark.skipif(not os.environ.get("GONGZHI_DATABASE_URL", "").startswith("postgres"),
                    reason="streaming replication is PostgreSQL's")
def test_a_streaming_standby_serves_the_lists_and_takes_over_without_losing_an_acknowledged_case() -> None:
    from bench import failover_drill, pgcluster

    why = pgcluster.available()
    if why:
        pytest.fail(f"cannot start PostgreSQL servers on loopback here: {why}")
    assert connection.vendor == "postgresql"
    root = pgcluster.workspace()
    data_dir = tempfile.mkdtemp(prefix="gongzhi-replica-test-")
    primary, standby, seed = failover_drill.prepare(root, data_dir, synchronous=False)
    try:
        seed_file = root / "seed.json"
        seed_file.write_text(json.dumps(seed))
        routed = failover_drill.child(failover_drill.env_for(primary.url("gongzhi"), data_dir,
                                                             replicas=standby.url("gongzhi")), "routing",
                                      str(seed_file))
        assert routed["before"][0]["in_recovery"] is True and routed["before"][0]["usable"] is True
        assert routed["writer sees her case"] is True, routed  # read-your-writes: from the primary
        assert routed["reader sees it on the paused standby"] is False  # served by the standby, stale
        assert routed["public list shows it on the paused standby"] is False
        assert "replica1" in routed["command"] and "standby" in routed["command"] and "lag" in routed["command"]
        assert routed["lagging"][0]["usable"] is False, routed
        assert routed["lagging standby skipped: reader sees it"] is True
        assert routed["standby caught up: reader sees it"] is True and routed["after"][0]["usable"] is True
        pgcluster.make_synchronous(primary, "standby1")
        result = failover_drill.drill(root, primary, standby, seed, data_dir, cases=30)
        assert result["acknowledged"] == 30 and result["present"] == 30 and result["missing"] == []
        assert result["written after"] == 1
        promoted = failover_drill.child(failover_drill.env_for(primary.url("gongzhi"), data_dir,
                                                               replicas=standby.url("gongzhi")), "status")
        assert promoted == [{"alias": "replica1", "in_recovery": False, "lag": None, "usable": False}]
    finally:
        pgcluster.remove(root, standby, primary)
