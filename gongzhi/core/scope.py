"""The one place where a user's scope on the area tree is applied (R1).

Every list and fetch in views, the API, exports and commands goes through :func:`scoped` or :func:`get_scoped`.
Each model registers once how it hangs on the tree (:func:`register`): the lookup to its area's materialized path,
to a member unit, and to a person (so that people see themselves). An object outside the caller's scope is
:class:`~gongzhi.core.errors.NotFound`, exactly as if it did not exist.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import models
from django.db.models import Q, QuerySet

from . import lookups  # noqa: F401  (registers path__prefix)
from .errors import NotFound

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class GrantView:
    role: str
    caps: frozenset[str]
    area_id: int | None = None
    area_path: str | None = None  # "" is the whole tree (a Django superuser), None a grant on a unit
    unit_id: int | None = None


@dataclass(frozen=True)
class Scope:
    user_id: int | None
    person_id: int | None = None
    grants: tuple[GrantView, ...] = field(default_factory=tuple)

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(g.role for g in self.grants)

    def has(self, cap: str) -> bool:
        return any(cap in g.caps for g in self.grants)

    def can(self, cap: str, *, area_path: str | None = None, unit_id: int | None = None) -> bool:
        """May the user exercise ``cap`` on something at ``area_path`` (or belonging to ``unit_id``)?"""
        for g in self.grants:
            if cap not in g.caps:
                continue
            if g.area_path is not None and area_path is not None and area_path.startswith(g.area_path):
                return True
            if g.unit_id and unit_id and g.unit_id == unit_id:
                return True
        return False

    def area_prefixes(self, cap: str) -> list[str]:
        """The subtree roots for ``cap``, with nested ones dropped (a grant inside another adds nothing)."""
        paths = sorted({g.area_path for g in self.grants if cap in g.caps and g.area_path is not None})
        kept: list[str] = []
        for p in paths:
            if not any(p.startswith(k) for k in kept):
                kept.append(p)
        return kept

    def unit_ids(self, cap: str) -> list[int]:
        return sorted({g.unit_id for g in self.grants if cap in g.caps and g.unit_id})

    def root_area_ids(self, cap: str = "view") -> list[int]:
        prefixes = set(self.area_prefixes(cap))
        if "" in prefixes:  # the whole tree: its root nodes
            from gongzhi.registry.models import Area

            return sorted(Area.objects.filter(depth=1).values_list("pk", flat=True))
        return sorted({g.area_id for g in self.grants if g.area_path in prefixes and g.area_id})


ANONYMOUS = Scope(user_id=None)


# Scopes by user id for a few seconds: API clients send many requests in a row. Each entry is stamped with the user's
# authorisation generation, a counter in the cache shared by every worker process (settings.CACHES: a table in the
# database, or Redis). Granting or revoking a role or deactivating an account bumps it (:func:`bump_generation`),
# so every process stops using what it remembered at once; a request pays one cache read for that. API keys have a
# counter of their own (accounts.services). Other changes (a person linked to an account) are seen within SCOPE_TTL.
SCOPE_TTL = 10.0
GENERATION_KEY = "gongzhi:auth-generation"
_recent: dict[int, tuple[float, int, Scope]] = {}


def _gen_key(name: str | int) -> str:
    return f"{GENERATION_KEY}:{name}"


def generations(*names: str | int) -> list[int]:
    """Current generations (a user id, or a name such as "tokens"), shared by every process, in one cache read.
    A missing one is created at random, so a cache that lost it never brings back an old number."""
    from django.core.cache import cache

    keys = [_gen_key(n) for n in names]
    found = cache.get_many(keys)
    for key in keys:
        if key not in found:
            cache.add(key, secrets.randbits(48), timeout=None)
            found[key] = cache.get(key, -1)
    return [int(found[k]) for k in keys]


def generation(name: str | int) -> int:
    return generations(name)[0]


def bump_generation(name: str | int) -> None:
    """Invalidate what every process remembers under ``name``, now and again when the transaction commits (a
    process that read the old rows before the commit must not keep them under the new number)."""
    from django.db import transaction

    def bump() -> None:
        from django.core.cache import cache

        try:
            cache.incr(_gen_key(name))
        except ValueError:  # missing: start a fresh random number
            cache.set(_gen_key(name), secrets.randbits(48), timeout=None)

    bump()
    transaction.on_commit(bump)


def forget_scope(user_id: int | None = None) -> None:
    if user_id is None:
        _recent.clear()
    else:
        _recent.pop(user_id, None)


def scope_of(user: Any) -> Scope:
    """The user's scope, computed once per request (cached on the user object) and shared for SCOPE_TTL."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ANONYMOUS
    cached = getattr(user, "_gongzhi_scope", None)
    if cached is not None:
        return cached
    # Read once per request: accounts.token_authenticate leaves the number it read on the user it returns.
    gen = user.__dict__.pop("_gongzhi_generation", None)
    if gen is None:
        gen = generation(user.pk)
    hit = _recent.get(user.pk)
    if hit is not None and hit[1] == gen and time.monotonic() - hit[0] < SCOPE_TTL:
        user._gongzhi_scope = hit[2]
        return hit[2]
    from gongzhi.accounts.models import RoleGrant
    from gongzhi.accounts.roles import POLICIES
    from gongzhi.registry.models import Person

    grants = tuple(
        GrantView(
            role=g.role,
            caps=POLICIES[g.role].caps,
            area_id=g.area_id,
            area_path=g.area.path if g.area is not None else None,
            unit_id=g.unit_id,
        )
        for g in RoleGrant.objects.filter(user=user).select_related("area").only("role", "area__path", "unit_id")
        if g.role in POLICIES
    )
    if user.is_superuser:
        # A Django superuser is a system administrator over the whole tree, whatever her grants say.
        grants = (GrantView(role="sysadmin", caps=POLICIES["sysadmin"].caps, area_path=""), *grants)
    person_id = Person.objects.filter(user=user).values_list("pk", flat=True).first()
    scope = Scope(user_id=user.pk, person_id=person_id, grants=grants)
    user._gongzhi_scope = scope
    if len(_recent) > 10_000:
        _recent.clear()
    _recent[user.pk] = (time.monotonic(), gen, scope)
    return scope


def as_scope(actor: Any) -> Scope:
    return actor if isinstance(actor, Scope) else scope_of(actor)


@dataclass(frozen=True)
class ScopeRule:
    area: str | None  # lookup to the materialized path of the object's area ("path", "area__path")
    unit: str | None  # lookup to a member unit id
    person: str | None  # lookup to the person the object is about (people always see their own)
    cap: str
    # Further ways a user reaches an object (e.g. a case they follow after a merge); returns None when none apply.
    extra: Callable[[Scope], Q | None] | None = None


_RULES: dict[type[models.Model], ScopeRule] = {}


def register(
    model: type[models.Model],
    *,
    area: str | None = None,
    unit: str | None = None,
    person: str | None = None,
    cap: str = "view",
    extra: Callable[[Scope], Q | None] | None = None,
) -> None:
    _RULES[model] = ScopeRule(area=area, unit=unit, person=person, cap=cap, extra=extra)


def rule_for(model: type[models.Model]) -> ScopeRule:
    try:
        return _RULES[model]
    except KeyError:  # pragma: no cover - a programming error, caught by the scope test over all models
        raise LookupError(f"{model.__name__} has no scope rule; register it in its app's scoping module") from None


def registered_models() -> list[type[models.Model]]:
    return list(_RULES)


def scope_q(scope: Scope, model: type[models.Model], cap: str | None = None) -> Q | None:
    """The filter for ``model`` under ``scope``; ``None`` when nothing at all is visible."""
    rule = rule_for(model)
    cap = cap or rule.cap
    q = Q()
    any_term = False
    if rule.area:
        for prefix in scope.area_prefixes(cap):
            q |= Q(**{f"{rule.area}__prefix": prefix})
            any_term = True
    if rule.unit:
        units = scope.unit_ids(cap)
        if units:
            q |= Q(**{f"{rule.unit}__in": units})
            any_term = True
    if rule.person and scope.person_id is not None:
        q |= Q(**{rule.person: scope.person_id})
        any_term = True
    if rule.extra is not None and scope.is_authenticated:
        more = rule.extra(scope)
        if more is not None:
            q |= more
            any_term = True
    return q if any_term else None


def scoped(actor: Any, model_or_qs: type[M] | QuerySet[M], cap: str | None = None) -> QuerySet[M]:
    qs: QuerySet[M] = model_or_qs if isinstance(model_or_qs, QuerySet) else model_or_qs._default_manager.all()
    q = scope_q(as_scope(actor), qs.model, cap)
    if q is None:
        return qs.none()
    # A person may match several grants (and their own row): distinct only when an OR could duplicate rows via joins.
    return qs.filter(q)


def get_scoped(actor: Any, model_or_qs: type[M] | QuerySet[M], pk: Any, cap: str | None = None) -> M:
    try:
        return scoped(actor, model_or_qs, cap).get(pk=pk)
    except (models.ObjectDoesNotExist, ValueError, TypeError):
        raise NotFound("未找到") from None
