from __future__ import annotations

from django import template
from django.utils.html import format_html

register = template.Library()


@register.filter
def pct(value: float | None) -> str:
    """A rate for display: 92.59 → "92.59%", no data → "—"."""
    if value is None:
        return "—"
    return format_html("{}<small>%</small>", value)
