from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from gongzhi.accounts.roles import POLICIES
from gongzhi.core.scope import scope_of


def navigation(request: HttpRequest) -> dict[str, Any]:
    from gongzhi.web.nav import nav_for

    user = getattr(request, "user", None)
    roles = ""
    if user is not None and user.is_authenticated:
        roles = "、".join(sorted({str(POLICIES[r].role.label) for r in scope_of(user).roles}))
    from django.conf import settings

    return {"nav_items": nav_for(request), "user_roles": roles,
            "map_tiles": getattr(settings, "GONGZHI_MAP_TILES", "")}
