"""Per-process snapshots of small, rarely changing tables (categories, routing rules, the upper levels of the area
tree), so the hot paths (case intake) do not ask the database the same question on every request.

A snapshot reloads after ``ttl`` seconds, or at once after :meth:`Snapshot.invalidate` — which the actions that
change the underlying rows call on commit in their own process; other processes catch up within ``ttl``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

_all: list[Snapshot] = []  # type: ignore[type-arg]


class Snapshot(Generic[T]):
    def __init__(self, loader: Callable[[], T], ttl: float = 30.0) -> None:
        self._loader = loader
        self._ttl = ttl
        self._value: T | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()
        _all.append(self)

    def get(self) -> T:
        now = time.monotonic()
        value = self._value
        if value is not None and now - self._loaded_at < self._ttl:
            return value
        with self._lock:
            if self._value is None or time.monotonic() - self._loaded_at >= self._ttl:
                self._value = self._loader()
                self._loaded_at = time.monotonic()
            return self._value

    def invalidate(self) -> None:
        with self._lock:
            self._value = None


def invalidate_all() -> None:
    """Tests start from their own database: forget everything."""
    from gongzhi.accounts.services import forget_tokens

    from .scope import forget_scope

    for snap in _all:
        snap.invalidate()
    forget_scope()
    forget_tokens()
