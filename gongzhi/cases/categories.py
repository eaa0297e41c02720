"""The default category tree: 广东省地方标准 DB44/T 2479-2024《12345热线诉求分类》附录A (codes and names only), with
default time limits and owning levels chosen per first-level class. Administrators adjust both as data."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).resolve().parent / "data" / "db44t2479_2024_categories.csv"

# first-level (or second-level) code → (working days, owning level, priority 1–5, may skip levels when escalating)
DEFAULTS: dict[str, tuple[int, str, int, bool]] = {
    "01": (5, "district", 3, False),
    "02": (3, "street", 2, False),
    "03": (5, "community", 3, False),
    "0306": (3, "community", 3, False),  # 物业管理: 小事不出社区
    "0307": (2, "street", 2, False),  # 街面秩序: 综合执法在街道
    "04": (5, "street", 3, False),
    "05": (5, "district", 3, False),
    "06": (10, "district", 4, False),
    "07": (1, "street", 1, True),  # 公共安全: urgent, may go straight up
    "08": (5, "district", 3, False),
    "09": (3, "community", 3, False),
    "10": (5, "street", 3, False),
    "11": (10, "district", 4, False),
    "12": (5, "street", 3, False),
    "13": (10, "district", 3, False),
    "99": (5, "community", 4, False),
}


def defaults_for(code: str) -> tuple[int, str, int, bool]:
    for length in (len(code), 4, 2):
        if code[:length] in DEFAULTS:
            return DEFAULTS[code[:length]]
    return (5, "community", 3, False)


def load_default_categories(Category: Any) -> int:
    """Create the tree (idempotent: existing codes are left as the administrator set them)."""
    existing = set(Category.objects.values_list("code", flat=True))
    by_code: dict[str, Any] = {c.code: c for c in Category.objects.all()}
    created = 0
    with SOURCE.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            for depth, (code, name) in enumerate(
                [(row["level_1_code"], row["level_1_name"]), (row["level_2_code"], row["level_2_name"]),
                 (row["level_3_code"], row["level_3_name"])], start=1):
                if not code or code in by_code:
                    continue
                days, level, priority, skip = defaults_for(code)
                parent = by_code.get(code[:-2]) if depth > 1 else None
                obj = Category(code=code, name=name, parent=parent, depth=depth, time_limit=days,
                               default_level=level, priority=priority, may_skip_levels=skip)
                obj.save()
                by_code[code] = obj
                created += code not in existing
    return created
