"""Two redirects every page needs: an empty platform leads to the first-run page; an account holding a temporary
password goes to the password change before anything else. Neither costs a query on an ordinary request."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from .signals import MUST_CHANGE

# Once the platform has areas it never becomes empty again in this process; ask the database only until then.
_initialised = False
ENTRY_POINTS = frozenset({"/", "/login/"})


def _is_initialised() -> bool:
    global _initialised
    if not _initialised:
        from gongzhi.registry.models import Area

        _initialised = Area.objects.exists()
    return _initialised


def forget_initialised() -> None:
    global _initialised
    _initialised = False


class FirstRunMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "GET" and request.path in ENTRY_POINTS and not _is_initialised():
            return redirect("accounts:setup")
        return self.get_response(request)


class PasswordChangeMiddleware:
    ALLOWED = ("/accounts/password/", "/logout/", "/static/", "/i18n/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and session.get(MUST_CHANGE) and not request.path.startswith(self.ALLOWED):
            if request.path.startswith("/api/"):
                return HttpResponse('{"error": {"code": "password_change_required", "message": "须先修改密码", '
                                    '"fields": {}}}', status=403, content_type="application/json")
            return redirect("accounts:password")
        return self.get_response(request)
