from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def pct(value: float | None) -> str:
    """A rate for display: 92.59 → "92.59%", no data → "—"."""
    if value is None:
        return "—"
    shown = int(value) if float(value).is_integer() else value
    return format_html("{}<small>%</small>", shown)


@register.filter
def changes(value: object) -> str:
    """An audit snapshot ({field: value}) as short "field: value" lines; anything else as text."""
    if not value:
        return ""
    if not isinstance(value, dict):
        return format_html("{}", value)
    rows = [format_html("<div><span class=\"muted\">{}</span> {}</div>", k, "—" if v in (None, "") else v)
            for k, v in value.items()]
    return mark_safe("".join(rows))
