"""A realistic year of co-building for the demo city: each part's loader (``demo_library``, ``demo_projects``,
``demo_services``) builds its records through its services, on the areas, units and people the registry's demo
made. Listed in ``GONGZHI_DEMO_EXTENSIONS``."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from gongzhi.registry.models import Area, AreaKind, MemberUnit, Person

from .models import load_default_list_types

PARTS = ("demo_library", "demo_projects", "demo_services")


@dataclass
class DemoAreas:
    """What the part loaders build on: the first street's communities get the full picture (the demo accounts live
    there); the rest of the city gets a lighter year so the district figures are not empty."""

    city: Area
    communities: list[Area]  # every community, first street first
    focus: list[Area]  # the communities of the first street
    compounds: dict[str, list[Area]]  # community path → its compounds
    streets: list[Area]
    districts: list[Area]


def _areas() -> DemoAreas | None:
    first = Area.objects.filter(kind=AreaKind.COMMUNITY).order_by("path").first()
    if first is None:
        return None
    street_path = first.path[:12]
    communities = list(Area.objects.filter(kind=AreaKind.COMMUNITY).order_by("path"))
    compounds: dict[str, list[Area]] = {}
    for c in Area.objects.filter(kind=AreaKind.COMPOUND).order_by("path"):
        compounds.setdefault(c.path[:16], []).append(c)
    return DemoAreas(
        city=Area.objects.get(depth=1), communities=communities,
        focus=[c for c in communities if c.path.startswith(street_path)], compounds=compounds,
        streets=list(Area.objects.filter(kind=AreaKind.STREET).order_by("path")),
        districts=list(Area.objects.filter(kind=AreaKind.DISTRICT).order_by("path")),
    )


def load(*, size: str, seed: int, today: dt.date, progress: Callable[[str, float], None]) -> dict[str, int]:
    progress("共驻共建", 0.0)
    load_default_list_types()
    areas = _areas()
    if areas is None:
        return {}
    units = list(MemberUnit.objects.select_related("area").order_by("pk"))
    people = list(Person.objects.filter(area__path__startswith=areas.focus[0].path[:12])
                  .select_related("area").order_by("pk")[:5000])
    counts: dict[str, int] = {}
    for i, name in enumerate(PARTS):
        try:
            part: Any = import_module(f"{__package__}.{name}")
        except ImportError:
            continue
        rng = random.Random(seed + 1700 + i)
        counts.update(part.load(areas=areas, units=units, people=people, today=today, rng=rng))
        progress("共驻共建", (i + 1) / len(PARTS))
    return counts
