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
def audit_rows(entries: object) -> list[dict[str, object]]:
    """Audit entries as people read them: the action in Chinese (新增角色授权, not ``accounts.grant.create``), field
    names by their labels, choices by their labels and related records by their names (not "area 9")."""
    from gongzhi.core.audit import present_trail

    return present_trail(list(entries or []))  # type: ignore[call-overload]


@register.filter
def pairs(value: object) -> str:
    """``[(label, value), …]`` as short "label value" lines."""
    if not value:
        return ""
    if not isinstance(value, list):
        return format_html("{}", value)
    return mark_safe("".join(format_html("<div><span class=\"muted\">{}</span> {}</div>", k, v) for k, v in value))
