"""Permission checks for actions: the scope says what a user may see; this says what they may do."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from .errors import Forbidden
from .scope import as_scope


def require(actor: Any, cap: str, *, area_path: str | None = None, unit_id: int | None = None) -> None:
    """``actor=None`` is the platform itself (data loads, scheduled jobs): always allowed and audited as system."""
    if actor is None:
        return
    if not as_scope(actor).can(cap, area_path=area_path, unit_id=unit_id):
        raise Forbidden(_("您没有权限执行此操作"))
