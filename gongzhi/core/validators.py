"""Checksums and formats for Chinese identifiers (R4).

- 公民身份号码 GB 11643-1999: 17 digits + check character (ISO 7064 MOD 11-2).
- 统一社会信用代码 GB 32100-2015: 18 characters from a 31-symbol alphabet + check (weighted MOD 31).
- Mainland mobile numbers: 11 digits starting with 1[3-9]; landlines 0xx(x)-xxxxxxx(x).
"""

from __future__ import annotations

import datetime as dt
import re

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
