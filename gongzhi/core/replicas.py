"""Reads from PostgreSQL streaming replicas (issue 15): lists and figures may be served by a hot standby, so one
primary keeps its CPU for the writes.

What may go to a replica, and when:

- only the views marked :func:`replica_reads` or run in :func:`routed` (the case lists, Open311's list, the public
  list, the figures) and only their reads of the platform's own records (:data:`REPLICA_APPS`) — never accounts,
  role grants, sessions, the cache table or the audit log: a revoked role must stop working at once, not after the
  standby replays it;
- never inside a transaction (what a transaction reads must be what it writes on);
- never for a client that wrote within the last :data:`PIN_SECONDS` (``GONGZHI_READ_YOUR_WRITES``, default 15 s):
  every unsafe request (POST, PUT, PATCH, DELETE) pins its client — the signed-in user, or the API key — to the
  primary for that long (:class:`PinWritersMiddleware`, a key in the shared cache), so a dispatcher who just moved
  a case finds it moved in her queue;
- never to a standby whose replay lags more than ``GONGZHI_REPLICA_MAX_LAG`` seconds (default 5) or that does not
  answer: each process asks each standby for its lag at most every :data:`LAG_CHECK_SECONDS` and otherwise reads
  from the primary.

Replicas are configured with ``GONGZHI_REPLICA_URLS`` (comma-separated PostgreSQL URLs); they become the database
aliases ``replica1``, ``replica2``… `gongzhi manage replicas` prints each one's state and lag. The failover drill
(promote a standby, repoint the platform, check that nothing acknowledged was lost) is ``bench/failover_drill.py``.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse

# The apps whose records a list or a figure reads. Not here on purpose: accounts, auth, sessions, axes, core (the
# audit log, idempotency keys), the cache table, jobs.
REPLICA_APPS = frozenset({
    "assessment", "cases", "cobuild", "councils", "dispatch", "govservice", "maps", "patrol", "points", "registry",
    "sites", "supervision",
})
LAG_CHECK_SECONDS = 2.0
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PIN_KEY = "gongzhi:reads-from-primary:{}"  # set for GONGZHI_READ_YOUR_WRITES seconds

_reading: ContextVar[str | None] = ContextVar("gongzhi_replica_reading", default=None)
_lags: dict[str, tuple[float, float | None]] = {}  # alias → (checked at, lag in seconds or None: not usable)


def aliases() -> list[str]:
    """The configured standbys' database aliases, in order."""
    return sorted((a for a in settings.DATABASES if a.startswith("replica")), key=lambda a: int(a[7:] or 0))


def max_lag() -> float:
    return float(getattr(settings, "GONGZHI_REPLICA_MAX_LAG", 5.0))


def pin_seconds() -> int:
    return int(getattr(settings, "GONGZHI_READ_YOUR_WRITES", 15))


# Behind by the age of the last transaction it replayed — unless it has replayed all it received (0). A standby
# that is behind but has replayed nothing since it started cannot say by how much: NULL, not read from.
LAG_SQL = """
SELECT pg_is_in_recovery(),
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0.0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END::float8
"""


@dataclass(frozen=True)
class Standby:
    alias: str
    in_recovery: bool | None  # None: it did not answer
    lag: float | None  # seconds behind the primary (0: it replayed all it received; None: unknown or no standby)
    error: str = ""

    @property
    def usable(self) -> bool:
        return bool(self.in_recovery) and self.lag is not None and self.lag <= max_lag()


def measure(alias: str) -> Standby:
    """Ask the standby whether it is one and how far its replay lags (a promoted one is no standby any more)."""
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(LAG_SQL)
            row = cursor.fetchone()
    except Exception as exc:  # an unreachable standby is reported, not raised: reads fall back to the primary
        connections[alias].close()
        return Standby(alias, None, None, str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    in_recovery = bool(row[0])
    return Standby(alias, in_recovery, float(row[1]) if in_recovery and row[1] is not None else None)


def status() -> list[Standby]:
    """Every configured standby as it is now (for `gongzhi manage replicas` and the system API)."""
    return [measure(a) for a in aliases()]


def choose(now: float | None = None) -> str | None:
    """A standby fit to read from (lag checked at most every LAG_CHECK_SECONDS per process), or None."""
    now = time.monotonic() if now is None else now
    for alias in aliases():
        checked, lag = _lags.get(alias, (-1e9, None))
        if now - checked >= LAG_CHECK_SECONDS:
            standby = measure(alias)
            lag = standby.lag if standby.usable else None
            _lags[alias] = (now, lag)
        if lag is not None:
            return alias
    return None


def forget_lags() -> None:
    _lags.clear()


def client_key(request: HttpRequest) -> str | None:
    """Who is asking, for read-your-writes: the API key sent (never the key itself), or else the signed-in user.
    The key first: an API request's user is known only once the API has checked the key, after the middleware."""
    secret = request.headers.get("Authorization", "")
    if not secret and request.method in UNSAFE:
        secret = request.POST.get("api_key", "")  # Open311 clients send their key with the form
    if secret:
        return "k" + hashlib.sha256(secret.encode()).hexdigest()[:24]
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"u{user.pk}"
    return None


def pin(key: str) -> None:
    from django.core.cache import cache

    cache.set(PIN_KEY.format(key), 1, timeout=pin_seconds())


def pinned(key: str | None) -> bool:
    if key is None:
        return False
    from django.core.cache import cache

    return cache.get(PIN_KEY.format(key)) is not None


@contextmanager
def reading_from_replica(client: str | None = None) -> Iterator[str | None]:
    """Within the block, reads of REPLICA_APPS go to a fit standby (yielded; None: the primary)."""
    alias = None if not aliases() or pinned(client) else choose()
    token = _reading.set(alias)
    try:
        yield alias
    finally:
        _reading.reset(token)


@contextmanager
def routed(request: HttpRequest) -> Iterator[str | None]:
    """The reads of a request that only reads (a list, figures) may come from a standby: for API operations, whose
    signatures django-ninja reads (a decorator would hide them), as ``with replicas.routed(request):``."""
    if not aliases() or request.method in UNSAFE:
        yield None
        return
    with reading_from_replica(client_key(request)) as alias:
        yield alias


def replica_reads(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view that only reads (a list, figures): it may be served from a standby."""
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        with routed(request):
            return view(request, *args, **kwargs)

    return wrapper


class PinWritersMiddleware:
    """After an unsafe request, its client reads from the primary for GONGZHI_READ_YOUR_WRITES seconds. Installed
    only when replicas are configured (settings)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = client_key(request) if request.method in UNSAFE else None
        if key is not None:
            pin(key)  # before the write: a read racing it from another tab must not see the standby's past
        response = self.get_response(request)
        if key is None and request.method in UNSAFE:
            key = client_key(request)  # signed in by this very request (the login form)
            if key is not None:
                pin(key)
        return response


class ReplicaRouter:
    """Reads of REPLICA_APPS inside a :func:`replica_reads` view go to the chosen standby; everything else, and
    every write and migration, to the primary."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        alias = _reading.get()
        if alias is None or model._meta.app_label not in REPLICA_APPS:  # type: ignore[attr-defined]
            return None
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return None
        return alias

    def db_for_write(self, model: type, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS
