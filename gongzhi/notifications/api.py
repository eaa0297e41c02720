"""The notifications API: the inbox, marking read, channel preferences."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["消息 notifications"])
