"""Small helpers the modules' actions share: model validation into field errors, and audited field updates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models

from . import audit
from .errors import InvalidInput

M = TypeVar("M", bound=models.Model)


def validate(obj: models.Model, *, exclude: Iterable[str] = ()) -> None:
    """Run Django's field validation (lengths, choices, uniqueness) and raise :class:`InvalidInput` per field."""
    try:
        obj.full_clean(exclude=list(exclude))
    except ValidationError as exc:
        fields = {("__all__" if k == "__all__" else k): v for k, v in exc.message_dict.items()}
        name, messages = next(iter(fields.items()))
        raise InvalidInput(f"{name}: {messages[0]}", fields) from None


def apply_changes(
    *,
    actor: Any,
    obj: M,
    changes: Mapping[str, Any],
    allowed: Iterable[str],
    action: str,
    reason: str = "",
    exclude_validation: Iterable[str] = (),
) -> M:
    """Set ``changes`` on ``obj`` (only ``allowed`` fields), validate, save those fields, audit the difference."""
    allowed = set(allowed)
    unknown = set(changes) - allowed
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidInput.on(name, f"不可修改的字段：{name}")
    fields = sorted(changes)
    before = audit.snapshot(obj, fields)
    for name, value in changes.items():
        setattr(obj, name, value)
    validate(obj, exclude=exclude_validation)
    after = audit.snapshot(obj, fields)
    old, new = audit.diff(before, after)
    if new:
        obj.save(update_fields=[obj._meta.get_field(f).name for f in new])
        audit.record(actor=actor, action=action, obj=obj, before=old, after=new, reason=reason)
    return obj
