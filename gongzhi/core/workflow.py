"""One small workflow engine that every module declares its table to.

A module writes its states as ``TextChoices`` and its graph as a list of :class:`Transition` rows ("from any of these
states, these actors may take this step to that state"), wraps them in a :class:`Workflow`, and lets
:meth:`Workflow.apply` make the move: the version-guarded conditional ``UPDATE`` (exactly one of several people acting
at once wins, the others get :class:`Conflict`), the version step, the audit entry with what changed. What a step
needs besides the state (a category, a deadline, a photo) and who counts as which actor stay in the module's services,
because they are the module's business; the engine owns only what is the same everywhere.

Nothing else assigns a workflow's state field: bulk builders (the demo) walk the table with :meth:`Workflow.follow`
so even generated histories obey the declared graph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import models, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from . import audit
from .errors import Conflict, InvalidInput

M = TypeVar("M", bound=models.Model)

ALL: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Transition:
    name: str
    label: Any  # lazily translated
    sources: frozenset[str]
    target: str | None  # None: a declared action that leaves the state as it is (督办, 催办, 进度报告)
    actors: frozenset[str] = ALL  # actor kinds the module recognises; empty: the module decides alone
    needs_reason: bool = False
    variants: frozenset[str] = ALL  # the procedures / list types this row applies to; empty: all of them

    @property
    def moves(self) -> bool:
        return self.target is not None

    def applies_to(self, variant: str | None) -> bool:
        return not self.variants or variant is None or variant in self.variants


def step(name: str, label: Any, sources: Iterable[str], target: str | None, actors: Iterable[str] = (), *,
         reason: bool = False, variants: Iterable[str] = ()) -> Transition:
    """One row of a table, written the way people read it."""
    return Transition(name, label, frozenset(sources), target, frozenset(actors), reason, frozenset(variants))


class Workflow:
    """A declared table for one model's state field.

    ``action_prefix`` names the audit actions (``cases.case`` → ``cases.case.accept``).
    """

    def __init__(self, *, action_prefix: str, transitions: Iterable[Transition],
                 initial: str, state_field: str = "state", version_field: str = "version",
                 conflict_message: Any = None) -> None:
        self.action_prefix = action_prefix
        self.transitions: dict[str, Transition] = {}
        for t in transitions:
            if t.name in self.transitions:
                raise ValueError(f"{action_prefix}: transition {t.name} declared twice")
            self.transitions[t.name] = t
        self.initial = initial
        self.state_field = state_field
        self.version_field = version_field
        self.conflict_message = conflict_message or _("该记录已被他人处理或当前状态不能执行此操作，请刷新后重试")

    # --- reading the table -------------------------------------------------------------------------------------------

    def __getitem__(self, name: str) -> Transition:
        return self.transitions[name]

    def __contains__(self, name: object) -> bool:
        return name in self.transitions

    def values(self) -> Iterable[Transition]:
        return self.transitions.values()

    def items(self) -> Iterable[tuple[str, Transition]]:
        return self.transitions.items()

    def get(self, name: str) -> Transition | None:
        return self.transitions.get(name)

    def row(self, name: str, field: str = "transition") -> Transition:
        """The row named ``name``; an unknown name is the caller's mistake, named on ``field``."""
        t = self.transitions.get(name)
        if t is None:
            raise InvalidInput.on(field, str(_("未知操作")))
        return t

    def available(self, state: str, *, variant: str | None = None,
                  actors: Iterable[str] | None = None) -> list[Transition]:
        """Rows that may be taken from ``state`` (for this variant, by any of these actor kinds)."""
        kinds = frozenset(actors) if actors is not None else None
        return [t for t in self.transitions.values()
                if state in t.sources and t.applies_to(variant)
                and (kinds is None or not t.actors or bool(kinds & t.actors))]

    def reachable(self) -> set[str]:
        """States one can get to from the initial state, for the tests that keep the table honest."""
        seen, frontier = {self.initial}, [self.initial]
        while frontier:
            state = frontier.pop()
            for t in self.transitions.values():
                if state in t.sources and t.target and t.target not in seen:
                    seen.add(t.target)
                    frontier.append(t.target)
        return seen

    def follow(self, state: str, name: str, *, variant: str | None = None) -> str:
        """The state after taking ``name`` from ``state``; for builders that write many rows at once (the demo)."""
        t = self.transitions[name]
        if state not in t.sources or not t.applies_to(variant):
            raise ValueError(f"{self.action_prefix}: {name} is not declared from {state}")
        return t.target or state

    def as_dot(self) -> str:
        """The graph in Graphviz form, for the documentation page."""
        lines = [f'digraph "{self.action_prefix}" {{']
        for t in self.transitions.values():
            for s in sorted(t.sources):
                lines.append(f'  {s} -> {t.target or s} [label="{t.label}"];')
        lines.append("}")
        return "\n".join(lines)

    # --- taking a step -----------------------------------------------------------------------------------------------

    def check(self, obj: models.Model, name: str, *, expected_version: int | None = None, reason: str = "",
              variant: str | None = None,
              authorise: Callable[[Transition], None] | None = None) -> tuple[Transition, int, str]:
        """The row, the version to guard on and the cleaned reason — or the error a person should see.

        Stale versions and states the row does not start from are conflicts (someone else moved first); then
        ``authorise`` (the module's rule of who may) raises Forbidden; a missing reason is invalid input on
        ``reason``.
        """
        t = self.row(name)
        current = getattr(obj, self.version_field)
        version = expected_version if expected_version is not None else current
        if getattr(obj, self.state_field) not in t.sources or not t.applies_to(variant) or version != current:
            raise Conflict(str(self.conflict_message))
        if authorise is not None:
            authorise(t)
        reason = (reason or "").strip()
        if t.needs_reason and not reason:
            raise InvalidInput.on("reason", str(_("请填写理由")))
        return t, version, reason

    def apply(self, *, actor: Any, obj: M, name: str, version: int, changes: Mapping[str, Any] | None = None,
              reason: str = "", around: Callable[[M], AbstractContextManager[Any]] | None = None,
              then: Iterable[Callable[[], Any]] = (), audit_after: Mapping[str, Any] | None = None) -> M:
        """Make the move: one conditional UPDATE on (pk, version, state), the version step, the audit entry.

        ``changes`` are the other fields the step writes; ``around`` wraps the UPDATE (the cases rollup tracks the
        row's figures before and after); ``then`` runs after the row moved and before the audit entry (follow-up
        records that need the new state). Call :meth:`check` first.
        """
        t = self.transitions[name]
        fields: dict[str, Any] = dict(changes or {})
        if t.target is not None:
            fields[self.state_field] = t.target
        opts = obj._meta
        before = audit.snapshot(obj, [opts.get_field(k).name for k in fields])
        with transaction.atomic():
            with around(obj) if around else nullcontext():
                updated = type(obj)._default_manager.filter(
                    pk=obj.pk, **{self.version_field: version, self.state_field: getattr(obj, self.state_field)}
                ).update(**{self.version_field: F(self.version_field) + 1}, **fields)
                if updated != 1:
                    raise Conflict(str(self.conflict_message))
                obj.refresh_from_db()
            followed = False
            for fn in then:
                fn()
                followed = True
            if followed:  # what the follow-ups wrote to the row shows in the object handed back
                obj.refresh_from_db()
            after = audit.snapshot(obj, list(before))
            if audit_after:
                after.update(audit_after)
            audit.record(actor=actor, action=f"{self.action_prefix}.{name}", obj=obj, before=before, after=after,
                         reason=reason)
        return obj
