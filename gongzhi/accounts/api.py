"""The accounts API: users, role grants, staff import."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["账号 accounts"])
