"""Showing personal data (R4): numbers are stored once, in full, and masked on the way out.

Whether a viewer sees a field in full is decided by their roles (``gongzhi.accounts.roles``); everything that renders
people (templates, exports, API schemas) calls :func:`reveal` with the viewer's scope.
"""

from __future__ import annotations


def mask_phone(value: str | None) -> str:
    if not value:
        return ""
    if len(value) >= 11 and value.isdigit():
        return f"{value[:3]}****{value[-4:]}"
    # Landlines and odd formats: keep the area code and the last two digits.
    head = value.split("-")[0] if "-" in value else value[:3]
    return f"{head}-****{value[-2:]}" if "-" in value else f"{head}****{value[-2:]}"


def mask_id_number(value: str | None) -> str:
    if not value:
        return ""
    return f"{value[:3]}{'*' * (len(value) - 7)}{value[-4:]}"


def mask_name(value: str | None) -> str:
    """张三丰 → 张**: for lists shown to people who need to know someone exists, not who."""
    if not value:
        return ""
    return value[0] + "*" * (len(value) - 1)
