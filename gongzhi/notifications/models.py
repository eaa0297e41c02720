"""What reaches a person: one row per notification in her inbox, and the channels she chose besides it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    CASE = "case", _("诉求进展")
    CASE_OVERDUE = "case_overdue", _("诉求超期")
    CASE_DUE_SOON = "case_due_soon", _("诉求即将到期")
    COUNCIL_ESCALATED = "council_escalated", _("议题上移")
    COUNCIL_ANSWERED = "council_answered", _("议题答复")
    NOTICE = "notice", _("通知")


class Notification(models.Model):
    """One notification for one user. ``link`` is the page of the thing it is about (a path on this site);
    ``object_type``/``object_id`` name that thing (``cases.case`` / ``42``) for the API and for clean-up."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("接收人"))
    kind = models.CharField(_("类别"), max_length=24, choices=Kind.choices, default=Kind.NOTICE)
    message = models.CharField(_("内容"), max_length=300)
    link = models.CharField(_("链接"), max_length=300, blank=True)
    object_type = models.CharField(_("对象类型"), max_length=50, blank=True)
    object_id = models.CharField(_("对象编号"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("消息")
        verbose_name_plural = _("消息")
        indexes = [
            # The inbox, newest first, keyset on (created_at, id).
            models.Index(fields=["user", "-created_at", "-id"], name="notif_user_new_idx"),
            # The unread ones of a user, newest first (the header count and the 未读 filter): a partial index.
            models.Index(fields=["user", "-created_at", "-id"], condition=Q(read_at__isnull=True),
                         name="notif_user_unread_idx"),
        ]

    def __str__(self) -> str:
        return self.message

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class ChannelPreference(models.Model):
    """The channels a user wants besides the inbox (which is always on). No row: inbox only."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="channel_preference", verbose_name=_("用户"))
    email = models.BooleanField(_("电子邮件"), default=False)
    sms = models.BooleanField(_("短信"), default=False)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    class Meta:
        verbose_name = _("消息渠道设置")
        verbose_name_plural = _("消息渠道设置")

    def __str__(self) -> str:
        return gettext("{user} 的消息渠道").format(user=self.user.get_username())
