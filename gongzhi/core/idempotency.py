"""``Idempotency-Key`` for intake requests (a case through the API or Open311): a client that retries a request whose
answer it never got sends the same key, and gets the first answer again instead of a second case.

The key row is inserted first, in the same transaction as the work: of two simultaneous retries one inserts the row
and does the work, the other waits on the unique constraint (PostgreSQL; SQLite's write lock on the transaction)
and, once the first has committed, replays its stored response. When the work fails nothing is stored, so a retry
runs again. A key is bound to its user, its endpoint and its request body.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.http.request import RawPostDataException
from django.utils import timezone
from django.utils.translation import gettext as _

from .errors import Conflict, InvalidInput
from .models import IdempotencyKey

HEADER = "Idempotency-Key"
# How long a key is remembered: long enough for any client's retries (the IETF draft's examples use 24 hours), short
# enough that the table stays small; the deadline jobs forget older keys.
KEEP = dt.timedelta(hours=24)
KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces, as the IETF draft's examples


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: str


def key_of(request: HttpRequest) -> str | None:
    """The request's key, or None without the header; a malformed key is an error naming the header."""
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    raw = raw.strip()
    if not KEY_RE.match(raw):
        raise InvalidInput.on(HEADER, _("幂等键须为1到255个可见ASCII字符"))
    return raw


def _fingerprint(request: HttpRequest) -> str:
    try:
        raw = request.body
    except RawPostDataException:  # a multipart form already read as a stream: its fields stand for it
        raw = repr(sorted(request.POST.lists())).encode()
    return hashlib.sha256(raw).hexdigest()


def once(*, request: HttpRequest, user: Any, endpoint: str, key: str | None,
         run: Callable[[], Response]) -> tuple[Response, bool]:
    """Run ``run`` once per (user, endpoint, key); returns the response and whether it is a replay."""
    if key is None or getattr(user, "pk", None) is None:
        return run(), False
    fingerprint = _fingerprint(request)
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(user=user, endpoint=endpoint, key=key, fingerprint=fingerprint)
        except IntegrityError:
            row = IdempotencyKey.objects.get(user=user, endpoint=endpoint, key=key)
            if row.fingerprint != fingerprint:
                raise InvalidInput.on(HEADER, _("此幂等键已用于另一个请求，请换一个新的键")) from None
            if not row.status:  # pragma: no cover - only when the first request's transaction is still open
                raise Conflict(_("相同幂等键的请求正在处理，请稍后重试")) from None
            return Response(row.status, row.content_type, row.body), True
        response = run()
        row.status, row.content_type, row.body = response.status, response.content_type, response.body
        row.save(update_fields=["status", "content_type", "body"])
    return response, False


def forget_expired(now: dt.datetime | None = None) -> int:
    """Delete keys older than :data:`KEEP`; a retry after that is a new request. Returns how many went."""
    cutoff = (now or timezone.now()) - KEEP
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
