"""Reads for the accounts pages and API: the accounts an administrator manages, their grants, the role table."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet

from gongzhi.core.scope import scoped

from .labels import CAP_LABELS
from .models import AccountProfile, Registration, RegistrationState, RoleGrant
from .roles import POLICIES

User = get_user_model()


def managed_accounts(viewer: Any, q: str = "", active: bool | None = None) -> QuerySet[AccountProfile]:
    """Accounts whose node lies in the viewer's account-management subtree, with their grants (no N+1)."""
    qs = scoped(viewer, AccountProfile).select_related("user", "home_area").prefetch_related(
        Prefetch("user__grants", queryset=RoleGrant.objects.select_related("area", "unit").order_by("pk")))
    if q:
        qs = qs.filter(Q(user__username__contains=q) | Q(user__first_name__contains=q) | Q(phone__contains=q))
    if active is not None:
        qs = qs.filter(user__is_active=active)
    return qs.order_by("home_area__path", "user__username")


def pending_registrations(viewer: Any) -> QuerySet[Registration]:
    return (scoped(viewer, Registration).filter(state=RegistrationState.PENDING)
            .select_related("community", "user").order_by("created_at"))


def role_table() -> list[dict[str, Any]]:
    """The roles, the kinds of node each is granted on, and what each may do — shown beside every grant form."""
    from gongzhi.registry.models import AreaKind

    kinds = dict(AreaKind.choices)
    return [{"role": key, "label": str(p.role.label), "anchor": p.anchor,
             "area_kinds": [str(kinds.get(k, k)) for k in p.area_kinds],
             "caps": sorted(str(CAP_LABELS.get(c, c)) for c in p.caps)}
            for key, p in POLICIES.items()]


def grant_view(grant: RoleGrant) -> dict[str, Any]:
    area, unit = grant.area, grant.unit
    return {"id": grant.pk, "role": grant.role, "role_label": str(POLICIES[grant.role].role.label),
            "area": {"id": area.pk, "name": area.name, "code": area.code} if area is not None else None,
            "unit": {"id": unit.pk, "name": unit.name} if unit is not None else None,
            "granted_at": grant.granted_at}


def account_trail(user: Any, limit: int = 30) -> list[Any]:
    """What was done to an account: its own entries and the grants given to or taken from it."""
    from gongzhi.core.audit import object_type
    from gongzhi.core.models import AuditEntry

    name = user.get_username()
    qs = AuditEntry.objects.filter(
        Q(object_type=object_type(user), object_id=str(user.pk))
        | Q(object_type="accounts.rolegrant", after__user=name)
        | Q(object_type="accounts.rolegrant", before__user=name))
    return list(qs.order_by("-at", "-id")[:limit])
