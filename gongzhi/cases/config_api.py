"""The API for configuring the case pipeline: the working-day calendar and routing rules."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["诉求配置 case configuration"])
