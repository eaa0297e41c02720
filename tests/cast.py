"""A small named cast, built through the real actions (no parallel factory world).

    city 共治市
    └─ district 中山区
       ├─ street 新华街道
       │  ├─ community 碧海社区  (alice: community worker; bob: resident; gina: grid worker of grid 1)
       │  │  ├─ grid 碧海社区第1网格 ─ compound 海鸥花园 ─ building 1号楼
       │  │  └─ grid 碧海社区第2网格
       │  └─ community 港北社区  (charlie: community worker — an outsider to 碧海)
       │     └─ grid 港北社区第1网格
       └─ street 新城街道
          └─ community 桥东社区
    district 长安区 ─ street 东湖街道 ─ community 湖滨社区
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model

from gongzhi.accounts import services as accounts
from gongzhi.registry import services as registry
from gongzhi.registry.models import Area, AreaKind

User = get_user_model()


def square(lng: float, lat: float, size: float = 0.01) -> dict[str, Any]:
    return {
        "type": "Polygon",
        "coordinates": [[[lng, lat], [lng + size, lat], [lng + size, lat + size], [lng, lat + size], [lng, lat]]],
    }


@dataclass
class Cast:
    city: Area
    district: Area
    district2: Area
    street: Area
    street2: Area
    community: Area
    community2: Area
    community3: Area
    grid1: Area
    grid2: Area
    grid3: Area
    compound: Area
    building: Area
    admin: Any
    alice: Any  # community worker, 碧海社区
    bob: Any  # resident, 碧海社区 (has a Person)
    charlie: Any  # community worker, 港北社区
    gina: Any  # grid worker, grid 1
    olga: Any  # organisation-department admin, city
    stan: Any  # street official, 新华街道
    password: str = "pass-word-123"


def build_cast() -> Cast:
    pw = "pass-word-123"

    def add(parent: Area | None, name: str, code: str, kind: str, **kw: Any) -> Area:
        return registry.area_create(actor=None, parent=parent, name=name, code=code, kind=kind, **kw)

    city = add(None, "共治市", "990100", AreaKind.CITY)
    district = add(city, "中山区", "990101", AreaKind.DISTRICT)
    district2 = add(city, "长安区", "990102", AreaKind.DISTRICT)
    street = add(district, "新华街道", "990101001000", AreaKind.STREET)
    street2 = add(district, "新城街道", "990101002000", AreaKind.STREET)
    street3 = add(district2, "东湖街道", "990102001000", AreaKind.STREET)
    community = add(street, "碧海社区", "990101001001", AreaKind.COMMUNITY, households=1200, population=3100)
    community2 = add(street, "港北社区", "990101001002", AreaKind.COMMUNITY, households=800, population=2000)
    community3 = add(street2, "桥东社区", "990101002001", AreaKind.COMMUNITY, households=500, population=1300)
    add(street3, "湖滨社区", "990102001001", AreaKind.COMMUNITY, households=600)
    grid1 = add(community, "碧海社区第1网格", "990101001001001", AreaKind.GRID, households=400,
                boundary=square(123.40, 41.80))
    grid2 = add(community, "碧海社区第2网格", "990101001001002", AreaKind.GRID, households=420,
                boundary=square(123.41, 41.80))
    grid3 = add(community2, "港北社区第1网格", "990101001002001", AreaKind.GRID, households=380,
                boundary=square(123.42, 41.80))
    compound = add(grid1, "海鸥花园", "99010100100100101", AreaKind.COMPOUND, households=300)
    building = add(compound, "1号楼", "99010100100100101001", AreaKind.BUILDING, households=60)

    def user(name: str, role: str, area: Area | None = None, **kw: Any) -> Any:
        u = accounts.user_create(actor=None, username=name, password=pw)
        accounts.grant_role(actor=None, user=u, role=role, area=area, **kw)
        return u

    admin = user("admin", "sysadmin", city)
    alice = user("alice", "community_worker", community)
    charlie = user("charlie", "community_worker", community2)
    gina = user("gina", "grid_worker", grid1)
    olga = user("olga", "org_admin", city)
    stan = user("stan", "street_official", street)
    bob = user("bob", "resident", community)
    registry.person_create(actor=None, area=building, name="鲍勃", phone="13800138000",
                           id_number="11010519491231002X", user=bob)
    return Cast(city=city, district=district, district2=district2, street=street, street2=street2,
                community=community, community2=community2, community3=community3, grid1=grid1, grid2=grid2,
                grid3=grid3, compound=compound, building=building, admin=admin, alice=alice, bob=bob,
                charlie=charlie, gina=gina, olga=olga, stan=stan, password=pw)


TODAY = dt.date(2026, 11, 20)
