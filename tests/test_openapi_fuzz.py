"""schemathesis against the JSON API, in process (WSGI), with a fixed seed and a small budget (issue 9, item 7).

Every operation of /api/v1/openapi.json gets a few generated requests, authenticated with the bearer token of a
system administrator of the test city (like the demo's ``admin``). The checks: no server error, status codes and
bodies as the schema documents them, and no valid request refused. ``GONGZHI_FUZZ_EXAMPLES`` raises the budget.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from schemathesis.specs.openapi.checks import positive_data_acceptance  # noqa: E402

from gongzhi.accounts import services as accounts  # noqa: E402

EXAMPLES = int(os.environ.get("GONGZHI_FUZZ_EXAMPLES", "5"))
SCHEMA_REJECTION = "输入有误："  # the message of a request the API's own schema validation refused (api/errors.py)


def schema_valid_request_not_refused_by_the_schema(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis' ``positive_data_acceptance`` with one nuance: a schema-valid request may still break a rule
    no schema can state (a 身份证号 checksum, a kind of node under its parent, an id that names nothing), and the
    API says so with a 400 naming the field. What must never happen is the API's own request validation refusing a
    request its published schema allows: then the schema lies about its bounds."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        raise AssertionError("Schema-valid request refused without the error shape") from None
    if not error.get("fields"):
        raise AssertionError(f"A 400 that names no field: {error}")
    if str(error.get("message", "")).startswith(SCHEMA_REJECTION):
        raise AssertionError(f"Schema-valid request refused by the API's own schema: {error['fields']}")
    return None


def _schema() -> Any:
    from django.core.wsgi import get_wsgi_application

    from gongzhi.api.main import api

    loaded = schemathesis.openapi.from_dict(api.get_openapi_schema())
    loaded.app = get_wsgi_application()
    return loaded


def _failures(operation: Any, headers: dict[str, str]) -> list[str]:
    found: list[str] = []

    @seed(20261120)
    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        try:
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance],
                                   additional_checks=[schema_valid_request_not_refused_by_the_schema])
        except (AssertionError, BaseExceptionGroup) as exc:  # failed checks: collect them all, report at the end
            subs = exc.exceptions if isinstance(exc, BaseExceptionGroup) else (exc,)
            for sub in subs:
                lines = [line.strip() for line in str(sub).splitlines() if line.strip()]
                found.append(f"{operation.label}: {' | '.join(lines[:4])}")

    run()
    return sorted(set(found))


@pytest.fixture
def _keep_connection() -> Any:
    """Django's own test client keeps the test's database connection open across requests; so must the WSGI
    client schemathesis drives (the handler would otherwise close it at the end of each request)."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_api_conforms_to_its_openapi_schema(cast: Any, _keep_connection: None) -> None:
    _token, key = accounts.token_create(actor=None, user=cast.admin, name="fuzz")
    headers = {"Authorization": f"Bearer {key}"}
    schema = _schema()
    started = time.monotonic()
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        failures += _failures(operation, headers)
    elapsed = time.monotonic() - started
    print(f"schemathesis: {operations} operations × {EXAMPLES} examples in {elapsed:.1f} s, "
          f"{len(failures)} failing")
    assert operations > 100
    assert not failures, "\n".join(failures)
