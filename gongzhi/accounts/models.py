from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .roles import Role


class RoleGrant(models.Model):
    """A role held by a user on a node of the area tree (scope = its subtree) or on a member unit."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grants", verbose_name=_("用户")
    )
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    area = models.ForeignKey(
        "registry.Area", null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("区域")
    )
    unit = models.ForeignKey(
        "registry.MemberUnit",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("单位"),
    )
    granted_at = models.DateTimeField(_("授权时间"), default=timezone.now)

    class Meta:
        verbose_name = _("角色授权")
        verbose_name_plural = _("角色授权")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(area__isnull=False) | models.Q(unit__isnull=False), name="grant_has_anchor"
            ),
            models.UniqueConstraint(fields=["user", "role", "area", "unit"], name="grant_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()}"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """Bearer token for API clients. Only a hash is stored; the key is shown once when created."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("名称"), max_length=100)
    prefix = models.CharField(max_length=8, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API 令牌")
        verbose_name_plural = _("API 令牌")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def new_key() -> str:
        return "gz_" + secrets.token_urlsafe(32)

    @staticmethod
    def hash_key(key: str) -> str:
        return _hash(key)
