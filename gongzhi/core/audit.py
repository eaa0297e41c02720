"""The audit trail (R2). Actions call :func:`record` inside their transaction, so the entry and the change commit
or roll back together."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db import models

from .masking import mask_id_number, mask_phone
from .models import AuditEntry

# Personal numbers are stored once (on the person); the audit trail keeps only their masked form.
MASKED_FIELDS: dict[str, Callable[[str | None], str]] = {
    "phone": mask_phone,
    "contact_phone": mask_phone,
    "id_number": mask_id_number,
}


def object_type(obj: models.Model) -> str:
    return f"{obj._meta.app_label}.{obj._meta.model_name}"


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The values of ``fields`` on ``obj`` as JSON-ready data; foreign keys as their ids, personal numbers masked."""
    data: dict[str, Any] = {}
    for name in fields:
        field = obj._meta.get_field(name)
        value = getattr(obj, getattr(field, "attname", name))
        if name in MASKED_FIELDS and value:
            value = MASKED_FIELDS[name](value)
        data[name] = value
    return data


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys that changed, for compact update entries."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def record(
    *,
    actor: Any,
    action: str,
    obj: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    area_path: str | None = None,
) -> AuditEntry:
    entry = pending(actor=actor, action=action, obj=obj, before=before, after=after, reason=reason,
                    area_path=area_path)
    entry.save(force_insert=True)
    return entry


def pending(
    *,
    actor: Any,
    action: str,
    obj: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    area_path: str | None = None,
) -> AuditEntry:
    """The entry :func:`record` would write, not saved yet: for :func:`record_many`."""
    if area_path is None:
        area_path = audit_area_path(obj)
    actor_id = getattr(actor, "pk", None)
    return AuditEntry(
        actor_id=actor_id,
        actor_name=actor.get_username() if actor_id else "system",
        action=action,
        object_type=object_type(obj),
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        area_path=area_path,
        before=before,
        after=after,
        reason=reason or "",
    )


def record_many(entries: Iterable[AuditEntry], batch_size: int = 500) -> list[AuditEntry]:
    """Entries built with :func:`pending`, written with one INSERT per ``batch_size``: a bulk action (an Excel
    import of thousands of rows) keeps one entry per changed record without one query per record. Call it inside
    the action's transaction, like :func:`record`."""
    return AuditEntry.objects.bulk_create(list(entries), batch_size=batch_size)


def audit_area_path(obj: models.Model) -> str:
    """Models name the area they belong to with ``audit_area_path()``; the area tree node is its own."""
    getter = getattr(obj, "audit_area_path", None)
    return getter() if callable(getter) else ""


def entries_for(obj: models.Model, limit: int = 100) -> list[AuditEntry]:
    """The trail of one object. Callers fetch ``obj`` through the scope first: seeing the object is the permission."""
    return list(
        AuditEntry.objects.filter(object_type=object_type(obj), object_id=str(obj.pk)).order_by("-at", "-id")[:limit]
    )


def present_trail(entries: list[AuditEntry]) -> list[dict[str, Any]]:
    """Rows for the 变更记录 table: action label, before/after as (field label, shown value) pairs. Related records
    are named with one query per related model for the whole trail."""
    from collections import defaultdict

    from django.apps import apps

    from gongzhi.accounts.labels import KEY_LABELS, action_label

    def model_of(object_type: str) -> type[models.Model] | None:
        try:
            return apps.get_model(object_type)
        except (LookupError, ValueError):
            return None

    def field_of(model: type[models.Model] | None, name: str) -> Any:
        if model is None:
            return None
        try:
            return model._meta.get_field(name)
        except Exception:
            return None

    # Related records are named by id, or by code where the entry kept a code (areas: "990101001001").
    wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
    for e in entries:
        model = model_of(e.object_type)
        for snap in (e.before, e.after):
            for key, value in (snap or {}).items() if isinstance(snap, dict) else ():
                field = field_of(model, key)
                if field is not None and field.is_relation and field.many_to_one and isinstance(value, (int, str)):
                    wanted[field.related_model].add(value)
    names: dict[type[models.Model], dict[Any, str]] = {}
    for related, keys in wanted.items():
        ids = [k for k in keys if isinstance(k, int)][:500]
        codes = [k for k in keys if isinstance(k, str)][:500]
        found = {obj.pk: str(obj) for obj in related._default_manager.filter(pk__in=ids)} if ids else {}
        if codes and any(f.name == "code" for f in related._meta.get_fields()):
            found.update({code: str(obj) for code, obj in
                          ((getattr(o, "code", None), o) for o in related._default_manager.filter(code__in=codes))})
        names[related] = found

    def shown(model: type[models.Model] | None, key: str, value: Any) -> tuple[str, Any]:
        field = field_of(model, key)
        if field is None:
            return str(KEY_LABELS.get(key, key)), "—" if value in (None, "") else value
        label = str(getattr(field, "verbose_name", key))
        if value in (None, ""):
            return label, "—"
        if field.is_relation and field.many_to_one:
            return label, names.get(field.related_model, {}).get(value, value)
        if getattr(field, "choices", None):
            return label, str(dict(field.flatchoices).get(value, value))
        if isinstance(value, bool):
            return label, "是" if value else "否"
        return label, value

    rows = []
    for e in entries:
        model = model_of(e.object_type)
        rows.append({
            "at": e.at, "actor_name": e.actor_name, "action": e.action, "action_label": action_label(e.action),
            "reason": e.reason,
            "before": [shown(model, k, v) for k, v in e.before.items()] if isinstance(e.before, dict) else e.before,
            "after": [shown(model, k, v) for k, v in e.after.items()] if isinstance(e.after, dict) else e.after,
        })
    return rows
