"""Small helpers the modules' actions share: model validation into field errors, and audited field updates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import F
from django.utils.translation import gettext as _

from . import audit
from .errors import Conflict, InvalidInput

M = TypeVar("M", bound=models.Model)


def validate(obj: models.Model, *, exclude: Iterable[str] = ()) -> None:
    """Run Django's field validation (lengths, choices, uniqueness) and raise :class:`InvalidInput` per field."""
    try:
        obj.full_clean(exclude=list(exclude))
    except ValidationError as exc:
        fields = {("__all__" if k == "__all__" else k): v for k, v in exc.message_dict.items()}
        name, messages = next(iter(fields.items()))
        raise InvalidInput(f"{name}: {messages[0]}", fields) from None


def has_version(obj: models.Model) -> bool:
    try:
        obj._meta.get_field("version")
    except FieldDoesNotExist:
        return False
    return True


def stale(message: str | None = None) -> Conflict:
    return Conflict(message or _("该记录已被他人修改，请刷新后重试"), {"version": [_("版本已过期，请刷新后重试")]})


def apply_changes(
    *,
    actor: Any,
    obj: M,
    changes: Mapping[str, Any],
    allowed: Iterable[str],
    action: str,
    reason: str = "",
    exclude_validation: Iterable[str] = (),
    expected_version: int | None = None,
) -> M:
    """Set ``changes`` on ``obj`` (only ``allowed`` fields), validate, save those fields, audit the difference.

    A model with a ``version`` column is written with a conditional UPDATE (``… WHERE version = expected``) that
    steps the version: of two people editing at once exactly one succeeds, the other gets :class:`Conflict` (409).
    ``expected_version`` is the version the editor saw (the form's hidden field, the API's ``version``); without it
    the version loaded with ``obj`` is used, which still guards the moment between reading and writing.
    """
    allowed = set(allowed)
    unknown = set(changes) - allowed
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidInput.on(name, _("不可修改的字段：{name}").format(name=name))
    versioned = has_version(obj)
    current = getattr(obj, "version", None) if versioned else None
    if versioned and expected_version is not None and expected_version != current:
        raise stale()
    fields = sorted(changes)
    before = audit.snapshot(obj, fields)
    for name, value in changes.items():
        setattr(obj, name, value)
    validate(obj, exclude=[*exclude_validation, *(["version"] if versioned else [])])
    after = audit.snapshot(obj, fields)
    old, new = audit.diff(before, after)
    if new:
        names = [obj._meta.get_field(f).name for f in new]
        if versioned:
            concrete = [obj._meta.get_field(f) for f in names]
            values = {f.attname: getattr(obj, f.attname) for f in concrete if isinstance(f, models.Field)}
            updated = type(obj)._base_manager.filter(pk=obj.pk, version=current).update(
                version=F("version") + 1, **values)
            if updated != 1:
                raise stale()
            obj.version = int(current or 0) + 1  # type: ignore[attr-defined]
        else:
            obj.save(update_fields=names)
        audit.record(actor=actor, action=action, obj=obj, before=old, after=new, reason=reason)
    return obj
