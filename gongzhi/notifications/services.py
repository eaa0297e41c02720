"""Notifications' write path: send a notification, mark read, choose channels.

:func:`notify` is what every module calls when something happened that people should hear of. Nothing is delivered
before the caller's transaction commits (``transaction.on_commit``), so nobody hears of a change that rolled back;
then the inbox always gets it and e-mail and SMS go to the users who chose them (:mod:`.channels`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit
from gongzhi.core.errors import Forbidden, InvalidInput

from . import channels
from .channels import Note
from .models import ChannelPreference, Kind, Notification

log = logging.getLogger("gongzhi.notifications")

MAX_IDS = 200


def _require_user(actor: Any) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise Forbidden(_("请先登录"))


def platform_language() -> Any:
    """Messages are stored once for everyone they reach: write them in the platform's language (Chinese), not in
    the language the acting user happens to have picked."""
    from django.conf import settings
    from django.utils import translation

    return translation.override(settings.LANGUAGE_CODE)


def notify(*, user_ids: Iterable[Any], kind: str, message: str, link: str = "",
           obj: models.Model | None = None) -> None:
    """Tell ``user_ids`` that ``message`` (about ``obj``, whose page is ``link``, a path on this site).

    Delivered after the current transaction commits, to the inbox and to the channels each user chose."""
    if kind not in Kind.values:
        raise InvalidInput.on("kind", _("未知的消息类别"))
    message = " ".join((message or "").split())
    if not message:
        raise InvalidInput.on("message", _("消息内容不能为空"))
    if link and not (link.startswith("/") and not link.startswith("//")):
        raise InvalidInput.on("link", _("链接须为本站地址"))
    ids = sorted({int(u) for u in user_ids if u})
    if not ids:
        return
    note = Note(kind=kind, message=message[:300], link=link[:300],
                object_type=audit.object_type(obj) if obj is not None else "",
                object_id=str(obj.pk) if obj is not None and obj.pk is not None else "")
    transaction.on_commit(lambda: _deliver(ids, note))


def _deliver(user_ids: Sequence[int], note: Note) -> None:
    """Runs after commit: the inbox for everyone, e-mail and SMS for those who chose them (one query for all)."""
    email_ids: list[int] = []
    sms_ids: list[int] = []
    for uid, email, sms in (ChannelPreference.objects.filter(user_id__in=list(user_ids))
                            .filter(Q(email=True) | Q(sms=True)).values_list("user_id", "email", "sms")):
        if email:
            email_ids.append(uid)
        if sms:
            sms_ids.append(uid)
    for channel, targets in ((channels.IN_APP, list(user_ids)), (channels.EMAIL, email_ids),
                             (channels.SMS, sms_ids)):
        if not targets:
            continue
        try:
            channel.send(user_ids=targets, note=note)
        except Exception:  # the change has committed: a channel failing is logged, the others still deliver
            log.exception("notification channel %s failed for %d users (%s)", channel.name, len(targets), note.kind)


@transaction.atomic
def mark_read(*, actor: Any, ids: Sequence[int] | None = None, all: bool = False) -> int:
    """Mark the actor's notifications ``ids`` (or ``all`` her unread ones) read; returns how many changed.
    Other users' notifications are never touched (ids that are not hers are ignored)."""
    _require_user(actor)
    wanted: list[int] = []
    if not all:
        try:
            wanted = sorted({int(i) for i in (ids or [])})
        except (TypeError, ValueError):
            raise InvalidInput.on("ids", _("消息编号无效")) from None
        if not wanted:
            raise InvalidInput.on("ids", _("请选择要标为已读的消息"))
        if len(wanted) > MAX_IDS:
            raise InvalidInput.on("ids", _("一次最多标记{n}条").format(n=MAX_IDS))
    qs = Notification.objects.filter(user=actor, read_at__isnull=True)
    if not all:
        qs = qs.filter(pk__in=wanted)
    now = timezone.now()
    changed = qs.update(read_at=now)
    if changed:
        audit.record(actor=actor, action="notifications.inbox.read", obj=actor,
                     after={"read": changed, "all": all, "ids": wanted[:50]})
    return changed


@transaction.atomic
def preferences_set(*, actor: Any, email: bool, sms: bool) -> ChannelPreference:
    """Choose the channels besides the inbox. E-mail needs an address on the account, SMS a phone number on the
    user's person record."""
    _require_user(actor)
    email, sms = bool(email), bool(sms)
    if email and not (actor.email or "").strip():
        raise InvalidInput.on("email", _("您的账号未登记电子邮箱，不能选择邮件提醒"))
    if sms:
        from gongzhi.registry.models import Person

        if not Person.objects.filter(user=actor).exclude(phone="").exists():
            raise InvalidInput.on("sms", _("您的账号未关联登记了手机号码的人员，不能选择短信提醒"))
    pref, _created = ChannelPreference.objects.select_for_update().get_or_create(user=actor)
    pref.user = actor  # named in the audit entry without another query
    before = {"email": pref.email, "sms": pref.sms}
    after = {"email": email, "sms": sms}
    if before != after:
        pref.email, pref.sms, pref.updated_at = email, sms, timezone.now()
        pref.save(update_fields=["email", "sms", "updated_at"])
        audit.record(actor=actor, action="notifications.preference.update", obj=pref, before=before, after=after)
    return pref
