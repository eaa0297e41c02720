"""Delivery channels behind one interface: the inbox (always), e-mail and SMS (when the user chose them).

A channel is anything with a ``name`` and ``send(*, user_ids, note)``; it looks up the addresses it needs in one
query and delivers. :mod:`gongzhi.notifications.services` decides who gets what (the user's
:class:`~gongzhi.notifications.models.ChannelPreference`) and calls the channels after the transaction commits; a
failing channel is logged and never stops the others.

E-mail goes through Django's mail settings (``EMAIL_BACKEND``, ``EMAIL_HOST``, ``DEFAULT_FROM_EMAIL``…) to the
address on the user's account.

SMS goes to the phone of the user's person record (``registry.Person.user`` → ``Person.phone``) through an HTTP
gateway, configured in settings:

``GONGZHI_SMS_URL``
    the gateway's endpoint. Each message is one ``POST`` with the JSON body ``{"phone": "13800138000", "text": "…"}``
    (UTF-8, ``Content-Type: application/json; charset=utf-8``). Any 2xx answer means accepted; other answers,
    timeouts and connection errors are failures (:class:`SmsFailed`). The gateway is reached directly, never
    through a proxy from the environment (it is on the intranet).
``GONGZHI_SMS_TOKEN``
    sent as ``Authorization: Bearer <token>`` when set.
``GONGZHI_SMS_TIMEOUT``
    seconds to wait for the gateway (default 5).

With no ``GONGZHI_SMS_URL`` the text is written to the server log instead (logger ``gongzhi.sms``, level WARNING),
which is how one-time registration codes reach a laptop install. Phone numbers are never logged in full.
:func:`send_sms` is the one entry point for any SMS (notifications and registration codes).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.utils.translation import gettext as _

from gongzhi.core.errors import DomainError, InvalidInput
from gongzhi.core.masking import mask_phone
from gongzhi.core.validators import normalize_phone

from .models import Kind, Notification

log = logging.getLogger("gongzhi.notifications")
sms_log = logging.getLogger("gongzhi.sms")

SMS_MAX_CHARS = 500


class SmsFailed(DomainError):
    """The gateway did not accept the message (rendered as 502 by the API)."""

    code = "sms_failed"
    status = 502


@dataclass(frozen=True)
class Note:
    """What one notification says, whoever receives it."""

    kind: str
    message: str
    link: str = ""
    object_type: str = ""
    object_id: str = ""

    def absolute_link(self) -> str:
        """The link for messages read outside the site: prefixed with ``GONGZHI_SITE_URL`` when it is set."""
        if not self.link:
            return ""
        base = str(getattr(settings, "GONGZHI_SITE_URL", "") or "").rstrip("/")
        return f"{base}{self.link}" if base and self.link.startswith("/") else self.link


class Channel(Protocol):
    name: ClassVar[str]

    def send(self, *, user_ids: Sequence[int], note: Note) -> None: ...


class InAppChannel:
    """The inbox: one row per user (always on)."""

    name: ClassVar[str] = "in_app"

    def send(self, *, user_ids: Sequence[int], note: Note) -> None:
        Notification.objects.bulk_create([
            Notification(user_id=uid, kind=note.kind, message=note.message[:300], link=note.link[:300],
                         object_type=note.object_type[:50], object_id=note.object_id[:40])
            for uid in user_ids
        ])


class EmailChannel:
    """Django's mail settings, to the e-mail address on each user's account (users without one are skipped)."""

    name: ClassVar[str] = "email"

    def send(self, *, user_ids: Sequence[int], note: Note) -> None:
        addresses = list(get_user_model().objects.filter(pk__in=list(user_ids)).exclude(email="")
                         .values_list("email", flat=True))
        if not addresses:
            return
        label = Kind(note.kind).label if note.kind in Kind.values else _("通知")
        subject = _("【共治】{kind}：{message}").format(kind=label, message=note.message[:40]).replace("\n", " ")
        link = note.absolute_link()
        body = note.message + (("\n\n" + _("查看详情：{link}").format(link=link)) if link else "")
        sent = send_mass_mail([(subject, body, None, [address]) for address in addresses], fail_silently=False)
        log.info("notification %s e-mailed to %d of %d users", note.kind, sent, len(user_ids))


class SmsChannel:
    """The phone on each user's person record, through :func:`send_sms` (users without a phone are skipped)."""

    name: ClassVar[str] = "sms"

    def send(self, *, user_ids: Sequence[int], note: Note) -> None:
        from gongzhi.registry.models import Person

        phones = list(Person.objects.filter(user_id__in=list(user_ids)).exclude(phone="")
                      .values_list("phone", flat=True))
        link = note.absolute_link() if getattr(settings, "GONGZHI_SITE_URL", "") else ""  # a bare path is no use
        text = _("【共治】{message}").format(message=note.message) + (f" {link}" if link else "")
        for i, phone in enumerate(phones):
            try:
                send_sms(phone=phone, text=text[:SMS_MAX_CHARS])
            except InvalidInput as exc:  # one bad number must not stop the others
                sms_log.warning("SMS to %s not sent: %s", mask_phone(phone), exc.message)
            except SmsFailed:
                # The gateway is down or slow: do not make the request that caused this wait a timeout per phone.
                sms_log.warning("SMS gateway failing: %d more SMS of this notification not sent", len(phones) - i - 1)
                break


IN_APP = InAppChannel()
EMAIL = EmailChannel()
SMS = SmsChannel()
CHANNELS: dict[str, Channel] = {c.name: c for c in (IN_APP, EMAIL, SMS)}


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def send_sms(*, phone: str, text: str) -> None:
    """Send one SMS through the configured gateway, or write it to the log (``gongzhi.sms``) when there is none.

    Raises :class:`InvalidInput` (field ``phone`` or ``text``) for a bad number or an empty/too long text, and
    :class:`SmsFailed` when the gateway does not accept it."""
    phone = normalize_phone(phone, "phone")
    text = (text or "").strip()
    if not text:
        raise InvalidInput.on("text", _("短信内容不能为空"))
    if len(text) > SMS_MAX_CHARS:
        raise InvalidInput.on("text", _("短信内容不能超过{n}个字").format(n=SMS_MAX_CHARS))
    masked = mask_phone(phone)
    url = str(getattr(settings, "GONGZHI_SMS_URL", "") or "")
    if not url:
        sms_log.warning("SMS gateway not configured (GONGZHI_SMS_URL); SMS to %s: %s", masked, text)
        return
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        sms_log.error("GONGZHI_SMS_URL must be an http(s) URL; SMS to %s not sent", masked)
        raise SmsFailed(_("短信发送失败，请稍后重试"))
    headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
    token = str(getattr(settings, "GONGZHI_SMS_TOKEN", "") or "")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps({"phone": phone, "text": text}, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    timeout = float(getattr(settings, "GONGZHI_SMS_TIMEOUT", 5) or 5)
    try:
        with _DIRECT.open(request, timeout=timeout) as response:
            status = response.status
            response.read(4096)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        sms_log.warning("SMS gateway unreachable for SMS to %s: %s", masked, getattr(exc, "reason", exc))
        raise SmsFailed(_("短信发送失败，请稍后重试")) from None
    if not 200 <= status < 300:
        sms_log.warning("SMS gateway answered %s for SMS to %s", status, masked)
        raise SmsFailed(_("短信发送失败，请稍后重试"))
    sms_log.info("SMS to %s accepted by the gateway", masked)
