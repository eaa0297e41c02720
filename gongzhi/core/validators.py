"""Checksums and formats for Chinese identifiers (R4).

- 公民身份号码 GB 11643-1999: 17 digits + check character (ISO 7064 MOD 11-2).
- 统一社会信用代码 GB 32100-2015: 18 characters from a 31-symbol alphabet + check (weighted MOD 31).
- Mainland mobile numbers: 11 digits starting with 1[3-9]; landlines 0xx(x)-xxxxxxx(x).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.utils.translation import gettext as _

from .errors import InvalidInput

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def id_number_check_char(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def is_valid_id_number(value: str) -> bool:
    value = value.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
        return False
    try:
        dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return id_number_check_char(value[:17]) == value[17]


def normalize_id_number(value: str, field: str = "id_number") -> str:
    value = (value or "").strip().upper()
    if not is_valid_id_number(value):
        raise InvalidInput.on(field, _("身份证号码无效（须为18位且校验码正确）"))
    return value


def credit_code_check_char(first17: str) -> str:
    total = sum(CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(value: str) -> bool:
    value = value.strip().upper()
    if len(value) != 18 or any(c not in CREDIT_CODE_ALPHABET for c in value):
        return False
    if not value[2:8].isdigit():  # the administrative division code
        return False
    return credit_code_check_char(value[:17]) == value[17]


def normalize_credit_code(value: str, field: str = "credit_code") -> str:
    value = (value or "").strip().upper()
    if not is_valid_credit_code(value):
        raise InvalidInput.on(field, _("统一社会信用代码无效（须为18位且校验码正确）"))
    return value


def normalize_phone(value: str, field: str = "phone") -> str:
    value = re.sub(r"[\s()]", "", (value or "").strip())
    if value.startswith("+86"):
        value = value[3:]
    if not (_MOBILE.fullmatch(value) or _LANDLINE.fullmatch(value)):
        raise InvalidInput.on(field, _("电话号码无效（手机号须为11位，固话如 024-12345678）"))
    return value


# Characters that show nothing on their own: format controls (U+200B zero width space, U+202E right-to-left
# override, U+FEFF…), separators (spaces of every width, line/paragraph separators), other controls, and
# combining marks with no base character. A title or a name of only these is empty to a reader.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"})
_INVISIBLE_EXTRA = frozenset("\u115f\u1160\u3164\uffa0\u2800")  # Hangul fillers, braille blank: drawn as nothing


def has_visible_text(value: str) -> bool:
    import unicodedata

    return any(c not in _INVISIBLE_EXTRA and unicodedata.category(c) not in _INVISIBLE_CATEGORIES for c in value)


def visible_text(value: str | None, field: str, *, max_length: int | None = None, required: bool = True) -> str:
    """A title or a name: stripped, bounded, and with at least one visible character (not only U+200B, U+202E,
    spaces or other invisible characters). Raises :class:`InvalidInput` naming ``field``."""
    text = (value or "").strip()
    if not text and not required:
        return ""
    if not text:
        raise InvalidInput.on(field, _("不能为空"))
    if not has_visible_text(text):
        raise InvalidInput.on(field, _("须包含可见的文字（不能只有空格或不可见字符）"))
    if max_length is not None and len(text) > max_length:
        raise InvalidInput.on(field, _("不能超过 {n} 个字符").format(n=max_length))
    return text


def bounded_text(value: str | None, field: str, max_length: int) -> str:
    """Free text (a note, a description) stripped and at most ``max_length`` characters; TextFields have no bound
    of their own in the database, so the services keep this one."""
    text = (value or "").strip()
    if len(text) > max_length:
        raise InvalidInput.on(field, _("不能超过 {n} 个字符").format(n=max_length))
    return text


def text_in(value: str | None, field: str, limit: int, *, required: bool = False, message: str = "") -> str:
    """Text stripped and at most ``limit`` characters; ``required`` refuses an empty one with ``message``."""
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput.on(field, message or _("此项必填"))
    if len(text) > limit:
        raise InvalidInput.on(field, _("不超过{n}个字").format(n=limit))
    return text


def whole_number(value: Any, field: str, lo: int, hi: int) -> int:
    """An integer from ``lo`` to ``hi`` (a string of digits is read; a boolean is not a number)."""
    if isinstance(value, bool):
        raise InvalidInput.on(field, _("请填写整数"))
    if not isinstance(value, int):
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise InvalidInput.on(field, _("请填写整数")) from None
    if not lo <= value <= hi:
        raise InvalidInput.on(field, _("须在 {lo} 到 {hi} 之间").format(lo=lo, hi=hi))
    return int(value)
