"""Accounts' write path: users, role grants, API tokens. Every change is audited."""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.models import User as UserModel
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit
from gongzhi.core.errors import InvalidInput

from .models import ApiToken, RoleGrant
from .roles import POLICIES

User = get_user_model()


@transaction.atomic
def user_create(*, actor: AbstractBaseUser | None, username: str, password: str | None, display_name: str = "",
                reason: str = "") -> AbstractBaseUser:
    username = (username or "").strip()
    if not username:
        raise InvalidInput.on("username", _("用户名不能为空"))
    if User.objects.filter(username=username).exists():
        raise InvalidInput.on("username", _("用户名已存在"))
    user = User(username=username, first_name=display_name[:150])
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    audit.record(actor=actor, action="accounts.user.create", obj=user, after={"username": username}, reason=reason)
    return user


@transaction.atomic
def grant_role(*, actor: AbstractBaseUser | None, user: UserModel, role: str, area=None, unit=None,
               reason: str = "") -> RoleGrant:
    pol = POLICIES.get(role)
    if pol is None:
        raise InvalidInput.on("role", _("未知角色"))
    if pol.anchor == "unit":
        if unit is None or area is not None:
            raise InvalidInput.on("unit", _("该角色须授权到单位"))
    else:
        if area is None or unit is not None:
            raise InvalidInput.on("area", _("该角色须授权到区域节点"))
        if pol.area_kinds and area.kind not in pol.area_kinds:
            raise InvalidInput.on("area", _("该角色不能授权到此类节点"))
    grant, created = RoleGrant.objects.get_or_create(user=user, role=role, area=area, unit=unit)
    _forget(user.pk)
    if created:
        audit.record(
            actor=actor,
            action="accounts.grant.create",
            obj=grant,
            after={"user": user.get_username(), "role": role, "area": area.code if area else None,
                   "unit": unit.pk if unit else None},
            reason=reason,
            area_path=area.path if area else "",
        )
    return grant


@transaction.atomic
def revoke_role(*, actor: AbstractBaseUser | None, grant: RoleGrant, reason: str = "") -> None:
    before = {"user": grant.user.get_username(), "role": grant.role}
    area_path = grant.area.path if grant.area_id and grant.area else ""
    audit.record(actor=actor, action="accounts.grant.delete", obj=grant, before=before, reason=reason,
                 area_path=area_path)
    _forget(grant.user_id)
    grant.delete()


@transaction.atomic
def token_create(*, actor: AbstractBaseUser | None, user: UserModel, name: str) -> tuple[ApiToken, str]:
    """Returns the token row and its key; the key is not stored and cannot be shown again."""
    if not name.strip():
        raise InvalidInput.on("name", _("名称不能为空"))
    key = ApiToken.new_key()
    token = ApiToken.objects.create(user=user, name=name.strip()[:100], prefix=key[3:11],
                                    key_hash=ApiToken.hash_key(key))
    audit.record(actor=actor, action="accounts.token.create", obj=token, after={"name": token.name})
    return token, key


@transaction.atomic
def token_revoke(*, actor: AbstractBaseUser | None, token: ApiToken) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    _recent_tokens.clear()
    audit.record(actor=actor, action="accounts.token.revoke", obj=token, after={"revoked": True})


# Recently checked keys, for a few seconds: a client sending many requests costs one lookup, not one per request.
# Revoking in this process forgets them at once; other processes stop accepting a revoked key within TOKEN_TTL.
TOKEN_TTL = 10.0
_recent_tokens: dict[str, tuple[float, AbstractBaseUser]] = {}


def _forget(user_id: int) -> None:
    from gongzhi.core.scope import forget_scope

    forget_scope(user_id)
    transaction.on_commit(lambda: forget_scope(user_id))


def token_authenticate(key: str) -> AbstractBaseUser | None:
    digest = ApiToken.hash_key(key)
    hit = _recent_tokens.get(digest)
    if hit is not None and time.monotonic() - hit[0] < TOKEN_TTL:
        return hit[1]
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=digest, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    # Touch at most once a minute: a busy client must not turn every read into a write.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    if len(_recent_tokens) > 10_000:
        _recent_tokens.clear()
    _recent_tokens[digest] = (time.monotonic(), token.user)
    return token.user


def forget_tokens() -> None:
    _recent_tokens.clear()
