from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def nav_for(request: HttpRequest) -> list[dict[str, Any]]:
    return []
