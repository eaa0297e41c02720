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


class AccountProfile(models.Model):
    """What the platform keeps about an account beyond Django's user: the node it belongs to (an account
    administrator manages the accounts of her subtree), a mobile number for SMS, and a forced password change."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account",
                                verbose_name=_("用户"))
    home_area = models.ForeignKey("registry.Area", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                  verbose_name=_("所属区域"))
    phone = models.CharField(_("手机号"), max_length=20, blank=True, db_index=True)
    must_change_password = models.BooleanField(_("下次登录须修改密码"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("创建人"))
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("账号资料")
        verbose_name_plural = _("账号资料")

    def __str__(self) -> str:
        return str(self.user)

    def audit_area_path(self) -> str:
        return self.home_area.path if self.home_area_id and self.home_area else ""


class PhoneCode(models.Model):
    """A one-time code sent by SMS to prove a phone number (residents' self-registration). Only a hash is kept."""

    phone = models.CharField(max_length=20, db_index=True)
    code_hash = models.CharField(max_length=64)
    purpose = models.CharField(max_length=20, default="register")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["phone", "created_at"], name="phonecode_phone_idx")]

    def __str__(self) -> str:
        return f"{self.phone[:3]}****"


class RegistrationState(models.TextChoices):
    PENDING = "pending", _("待社区确认")
    CONFIRMED = "confirmed", _("已确认")
    REJECTED = "rejected", _("未通过")


class Registration(models.Model):
    """A resident's self-registration: her account exists at once; the community confirms who she is (links her to
    her person record, or records her) before she acts as a resident of that community."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="registration",
                                verbose_name=_("用户"))
    name = models.CharField(_("姓名"), max_length=50)
    phone = models.CharField(_("手机号"), max_length=20)
    community = models.ForeignKey("registry.Area", on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("所在社区"))
    address = models.CharField(_("住址"), max_length=200, blank=True)
    state = models.CharField(_("状态"), max_length=10, choices=RegistrationState.choices,
                             default=RegistrationState.PENDING)
    person = models.ForeignKey("registry.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                               verbose_name=_("居民档案"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(_("说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("申请时间"), default=timezone.now)

    class Meta:
        verbose_name = _("居民注册")
        verbose_name_plural = _("居民注册")
        indexes = [models.Index(fields=["state", "community"], name="registration_state_idx")]

    def __str__(self) -> str:
        return self.name

    def audit_area_path(self) -> str:
        return self.community.path
