"""Chinese first (R5): the interface is zh-hans unless the user picks English with the language switch.

Django's LocaleMiddleware would otherwise follow the browser's Accept-Language header; on shared office machines
with English-language browsers that would surprise the people the platform is for.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class ChineseFirstMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
