"""Labels of choices, read per language from a table built once.

Django's ``get_FOO_display()`` builds a dict of the field's choices on every call, hashing each lazy label (one
gettext per choice): on a list of 100 cases with 12 states that was 1,200 translations and a third of the JSON API's
time (issue 15). A model whose lists show a label defines ``get_FOO_display`` itself through :func:`label` (Django
keeps a method the class defines).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import translation

_tables: dict[tuple[type[models.Choices], str], dict[Any, str]] = {}


def label(choices: type[models.Choices], value: Any) -> str:
    """The label of ``value`` among ``choices`` in the active language (the value itself when unknown)."""
    key = (choices, translation.get_language() or "")
    table = _tables.get(key)
    if table is None:
        table = _tables[key] = {c.value: str(c.label) for c in choices}
    return table.get(value, value)
