from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One change of state anywhere in the platform (R2): who, when, what, before, after, why."""

    at = models.DateTimeField(_("时间"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("操作人"),
    )
    actor_name = models.CharField(_("操作人"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=64)
    object_type = models.CharField(_("对象类型"), max_length=64)
    object_id = models.CharField(_("对象编号"), max_length=64)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    # The area the object belongs to, so the audit trail itself can be scoped on the tree.
    area_path = models.CharField(max_length=255, blank=True)
    before = models.JSONField(_("变更前"), null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(_("变更后"), null=True, blank=True, encoder=DjangoJSONEncoder)
    reason = models.TextField(_("原因"), blank=True)

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        indexes = [
            models.Index(fields=["object_type", "object_id", "at"], name="audit_object_idx"),
            models.Index(fields=["at"], name="audit_at_idx"),
            # "the newest entry about areas" (the grid index's freshness check) without walking every case's trail
            models.Index(fields=["object_type", "id"], name="audit_type_id_idx"),
        ]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.object_repr}"


class IdempotencyKey(models.Model):
    """A client's ``Idempotency-Key`` on an intake request and the response it got (core/idempotency.py): a retry
    with the same key from the same user gets that response again instead of creating a second case. One row per
    user, endpoint and key (the unique constraint makes the first of two simultaneous retries the winner)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    endpoint = models.CharField(max_length=40)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # SHA-256 of the request body: the same key on another request
    status = models.PositiveSmallIntegerField(default=0)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "endpoint", "key"], name="idempotency_once")]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.key}"
