"""Labels of choices, read per language from a table built once — for every model's ``get_FOO_display()``.

Django's ``get_FOO_display()`` builds a dict of the field's choices on every call, hashing each lazy label (one
gettext per choice): on a list of 100 cases with 12 states that was 1,200 translations and a third of the JSON API's
time (issue 15). :func:`install` (run by the core app once every model is loaded) gives each model the same method
reading a table per field and language instead; a model that defines ``get_FOO_display`` itself keeps its own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.db import models
from django.utils import translation
from django.utils.hashable import make_hashable

_tables: dict[tuple[int, str], dict[Any, str]] = {}


def label(field: models.Field[Any, Any], value: Any) -> Any:
    """The label of ``value`` among ``field``'s choices in the active language (the value itself when unknown,
    as Django answers)."""
    key = (id(field), translation.get_language() or "")
    table = _tables.get(key)
    if table is None:
        table = _tables[key] = {make_hashable(v): str(text) for v, text in field.flatchoices}
    return table.get(make_hashable(value), value)


def _display(field: models.Field[Any, Any]) -> Callable[[models.Model], Any]:
    def get_display(self: models.Model) -> Any:
        return label(field, getattr(self, field.attname))

    get_display.__name__ = f"get_{field.name}_display"
    return get_display


def install() -> int:
    """Replace Django's generated ``get_FOO_display`` on every model; returns how many were replaced."""
    replaced = 0
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.concrete_fields:
            name = f"get_{field.name}_display"
            if field.choices and isinstance(model.__dict__.get(name), functools.partialmethod):
                setattr(model, name, _display(field))
                replaced += 1
    return replaced
