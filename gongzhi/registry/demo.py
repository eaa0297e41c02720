"""A deterministic, realistic fictional city for demos, tests and benchmarks (issue: demo city).

``共治市`` is laid out on a jittered lattice: every grid is a quadrilateral sharing its corners with its neighbours,
so the grids tile their community without gaps and the point lookup has real polygons to search. Names, codes and
figures follow the seeds: grids of 300–500 households (天长), a 社区大党委 with part-time members from member units
(本溪), departments paired 3–5 to a community and leaders visiting each quarter (东港), 双报到 members, 流动党员,
grassroots groups surveyed with both outcomes (本溪), vulnerable residents paired with members (蓬莱).

Everything is generated from one seed, so two loads of the same size are identical. The loader is a bulk write:
one transaction, one audit record naming the size and counts (writing 100k nodes one action at a time would take
minutes); everything after the load goes through the services like any other change.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.module_loading import import_string
from shapely.geometry import Polygon, box, mapping
from shapely.ops import unary_union

from gongzhi.accounts.models import AccountProfile, RoleGrant
from gongzhi.core import audit
from gongzhi.core.validators import CREDIT_CODE_ALPHABET, credit_code_check_char, id_number_check_char

from .models import (
    Area,
    AreaKind,
    Commitment,
    CommitmentItem,
    CommitteeBody,
    DualRegistration,
    Gender,
    GrassrootsGroup,
    GrassrootsSurvey,
    GroupOutcome,
    MemberStatus,
    MemberUnit,
    OrganisationPost,
    OrgLevel,
    Pairing,
    PairingKind,
    PairingVisit,
    PartyMember,
    PartyOrganisation,
    Person,
    PostKind,
    Sector,
    StaffPost,
    SurveyEntry,
)

SEED = 20240701
CITY_CODE = "990100"  # "99" is no real province: the codes have the real shape but name nowhere real
ORIGIN = (123.38, 41.76)  # lng, lat of the lattice's south-west corner
CELL = (0.0042, 0.0030)  # one grid cell ≈ 350 m × 330 m
DEMO_PASSWORD = "gongzhi-demo"
TODAY = dt.date(2026, 11, 20)


@dataclass(frozen=True)
class CitySize:
    districts: int
    streets: int
    communities: int
    grids: int
    buildings_per_grid: tuple[int, int]
    residents_per_building: int
    members_per_grid: int
    units_per_street: int


SIZES: dict[str, CitySize] = {
    # Starts in seconds: enough of everything for every page and figure to mean something.
    "small": CitySize(districts=2, streets=5, communities=16, grids=64, buildings_per_grid=(5, 8),
                      residents_per_building=3, members_per_grid=6, units_per_street=10),
    # 沈阳: 110 streets and 955 communities; 10k grids and ~100k nodes for the benchmarks.
    "city": CitySize(districts=10, streets=110, communities=955, grids=10_000, buildings_per_grid=(6, 10),
                     residents_per_building=0, members_per_grid=1, units_per_street=8),
}

DISTRICT_NAMES = ["中山区", "长安区", "河东区", "河西区", "滨江区", "高新区", "东湖区", "南湖区", "北陵区", "西城区",
                  "铁西区", "临海区"]
STREET_WORDS = ["新华", "新城", "东港", "桥东", "滨河", "光明", "胜利", "和平", "建设", "文化", "解放", "振兴", "幸福",
                "长青", "民主", "友谊", "朝阳", "花园", "青年", "工人", "春晖", "太平", "永安", "北山", "南岭", "海滨"]
COMMUNITY_WORDS = ["碧海", "港北", "桥东", "湖滨", "阳光", "金谷", "翰锦", "信合", "青一", "天洋", "曙光", "丽苑",
                   "锦绣", "翠竹", "望江", "松涛", "银杏", "紫荆", "红旗", "秀水", "福安", "康宁", "和顺", "瑞景",
                   "春华", "秋实", "育才", "书香", "晨曦", "星河"]
COMPOUND_SUFFIX = ["花园", "家园", "小区", "华庭", "雅苑", "新村", "公馆", "名邸"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红建国海峰春梅志宏文斌颖俊晓东亮婷雪琳凤云"
DEPARTMENTS = [("市住房和城乡建设局", Sector.ORGAN), ("市城市管理综合行政执法局", Sector.ORGAN),
               ("市民政局", Sector.ORGAN), ("市卫生健康委员会", Sector.ORGAN), ("市公安局", Sector.ORGAN),
               ("市教育局", Sector.ORGAN), ("市司法局", Sector.ORGAN), ("市市场监督管理局", Sector.ORGAN),
               ("市生态环境局", Sector.ORGAN), ("市人力资源和社会保障局", Sector.ORGAN),
               ("市自来水集团", Sector.STATE_ENTERPRISE), ("市热力集团", Sector.STATE_ENTERPRISE)]
UNIT_KINDS: list[tuple[Sector, str, float]] = [  # sector, name pattern, share of a street's units
    (Sector.NON_PUBLIC, "{w}{x}科技有限公司", 0.30),
    (Sector.NON_PUBLIC, "{w}{x}商贸有限公司", 0.15),
    (Sector.SOCIAL_ORG, "{w}社会工作服务中心", 0.15),
    (Sector.PROPERTY, "{w}物业服务有限公司", 0.15),
    (Sector.SCHOOL, "{w}小学", 0.10),
    (Sector.HOSPITAL, "{w}社区卫生服务中心", 0.075),
    (Sector.PUBLIC_INSTITUTION, "{w}供电所", 0.075),
]
GROUP_KINDS = ["广场舞队", "秧歌队", "太极拳队", "合唱团", "书画社", "棋牌协会", "志愿巡逻队"]


def credit_code(rng: random.Random, district_code: str) -> str:
    body = "91" + district_code + "".join(rng.choice(CREDIT_CODE_ALPHABET[:10] + "ABCDEFGH") for _ in range(9))
    return body + credit_code_check_char(body)


def id_number(rng: random.Random, district_code: str, gender: str) -> str:
    birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 65))
    seq = rng.randrange(0, 500) * 2 + (1 if gender == Gender.MALE else 0)
    body = f"{district_code}{birth:%Y%m%d}{seq:03d}"
    return body + id_number_check_char(body)


@dataclass
class _Builder:
    size: CitySize
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))
    areas: list[Area] = field(default_factory=list)
    used_phones: set[str] = field(default_factory=set)

    def phone(self) -> str:
        while True:
            number = f"1{self.rng.choice('3589')}{self.rng.randrange(0, 10**9):09d}"
            if number not in self.used_phones:
                self.used_phones.add(number)
                return number

    def name(self) -> str:
        given = self.rng.choice(GIVEN) + (self.rng.choice(GIVEN) if self.rng.random() < 0.7 else "")
        return self.rng.choice(SURNAMES) + given


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _path(parent: str, step: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    while step:
        step, rem = divmod(step, 36)
        out = digits[rem] + out
    return parent + out.rjust(4, "0")


def _lattice_point(ix: int, iy: int) -> tuple[float, float]:
    """Corner (ix, iy) of the lattice, jittered by a hash so that neighbouring cells share it exactly."""
    h = (ix * 73856093) ^ (iy * 19349663) ^ SEED
    jx = ((h & 0xFFFF) / 0xFFFF - 0.5) * 0.36
    jy = (((h >> 16) & 0xFFFF) / 0xFFFF - 0.5) * 0.36
    return (round(ORIGIN[0] + (ix + jx) * CELL[0], 6), round(ORIGIN[1] + (iy + jy) * CELL[1], 6))


def _hilbert(side: int, d: int) -> tuple[int, int]:
    """The d-th cell of a Hilbert curve filling a side × side square (side a power of two)."""
    x = y = 0
    s, t = 1, d
    while s < side:
        rx = 1 & (t // 2)
        ry = 1 & (t ^ rx)
        if ry == 0:
            if rx == 1:
                x, y = s - 1 - x, s - 1 - y
            x, y = y, x
        x += s * rx
        y += s * ry
        t //= 4
        s *= 2
    return x, y


def _cell(ix: int, iy: int) -> Polygon:
    return Polygon([_lattice_point(ix, iy), _lattice_point(ix + 1, iy), _lattice_point(ix + 1, iy + 1),
                    _lattice_point(ix, iy + 1)])


def _compound_shapes(cell: Polygon, n: int) -> list[Any]:
    """A grid's compounds: the cell less a street's width along its edges, split side by side (no randomness, so the
    rest of the city's generation is unchanged)."""
    inner = cell.buffer(-min(CELL) * 0.07, join_style="mitre")
    minx, miny, maxx, maxy = inner.bounds
    if n <= 1:
        return [inner]
    step = (maxx - minx) / n
    gap = step * 0.06
    return [inner.intersection(box(minx + k * step + gap, miny, minx + (k + 1) * step - gap, maxy)) for k in range(n)]


def _building_shapes(compound: Any, n: int) -> list[Any]:
    """A compound's buildings as slabs in rows (楼栋 of a 小区), each inside the compound."""
    if n <= 0 or compound.is_empty:
        return []
    minx, miny, maxx, maxy = compound.bounds
    cols = max(1, math.ceil(math.sqrt(n * 0.75)))
    rows = math.ceil(n / cols)
    w, h = (maxx - minx) / cols, (maxy - miny) / rows
    shapes = []
    for j in range(n):
        cx, cy = minx + (j % cols + 0.5) * w, maxy - (j // cols + 0.5) * h
        slab = box(cx - w * 0.3, cy - h * 0.16, cx + w * 0.3, cy + h * 0.16).intersection(compound)
        shapes.append(slab if not slab.is_empty and slab.geom_type == "Polygon" else None)
    return shapes


def _outline(geoms: list[Any]) -> dict[str, Any] | None:
    """The union of neighbouring cells as one polygon (the lattice's shared corners make the union exact)."""
    if not geoms:
        return None
    union = unary_union(geoms)
    return _geojson(union) if union.geom_type in ("Polygon", "MultiPolygon") and union.is_valid else None


def _geojson(geom: Any) -> dict[str, Any]:
    data = mapping(geom)
    return {"type": data["type"], "coordinates": _lists(data["coordinates"])}


def _lists(value: Any) -> Any:
    return [_lists(v) for v in value] if isinstance(value, (list, tuple)) else value


@dataclass
class LoadReport:
    size: str
    counts: dict[str, int]
    accounts: list[tuple[str, str, str]]  # username, role label, node


def load_demo_city(size: str = "small", *, progress: Callable[[str, float], None] | None = None) -> LoadReport:
    """Generate and load the city into an empty database (raises if areas already exist)."""
    if Area.objects.exists():
        raise RuntimeError("数据库中已有区域数据，演示城市只能载入空库")
    spec = SIZES[size]
    with transaction.atomic():
        builder = _Builder(spec)
        report_progress = progress or (lambda step, frac: None)
        counts = _load(builder, report_progress)
        accounts = _demo_accounts()
        for dotted in settings.GONGZHI_DEMO_EXTENSIONS:
            try:
                extension = import_string(dotted)
            except ImportError:
                continue  # a module without demo data yet
            counts.update(extension(size=size, seed=SEED, today=TODAY, progress=report_progress))
        audit.record(actor=None, action="registry.demo.load", obj=Area.objects.get(depth=1),
                     after={"size": size, **counts}, reason="载入演示城市")
    return LoadReport(size=size, counts=counts, accounts=accounts)


def _load(b: _Builder, progress: Callable[[str, float], None]) -> dict[str, int]:
    spec, rng = b.size, b.rng
    progress("区域树", 0.0)
    # ---- the tree, level by level; every node gets its path computed here (bulk_create skips treebeard).
    city = Area(path=_path("", 1), depth=1, numchild=spec.districts, name="共治市", code=CITY_CODE,
                kind=AreaKind.CITY)
    districts: list[Area] = []
    for d in range(spec.districts):
        districts.append(Area(path=_path(city.path, d + 1), depth=2, name=DISTRICT_NAMES[d % len(DISTRICT_NAMES)],
                              code=f"9901{d + 1:02d}", kind=AreaKind.DISTRICT))
    streets: list[Area] = []
    street_names = _names(rng, STREET_WORDS, spec.streets, "街道")
    for d, n in zip(districts, _split(spec.streets, spec.districts), strict=True):
        d.numchild = n
        for s in range(n):
            streets.append(Area(path=_path(d.path, s + 1), depth=3, name=street_names[len(streets)],
                                code=f"{d.code}{s + 1:03d}000", kind=AreaKind.STREET))
    communities: list[Area] = []
    community_names = _names(rng, COMMUNITY_WORDS, spec.communities, "社区")
    for s, n in zip(streets, _split(spec.communities, spec.streets), strict=True):
        s.numchild = n
        for c in range(n):
            communities.append(Area(path=_path(s.path, c + 1), depth=4, name=community_names[len(communities)],
                                    code=f"{s.code[:9]}{c + 1:03d}", kind=AreaKind.COMMUNITY))

    # Communities sit on a square lattice of blocks; each block holds its grids in a square of cells.
    grids_per_community = _split(spec.grids, spec.communities)
    block = math.ceil(math.sqrt(max(grids_per_community)))
    # Communities follow a Hilbert curve over the blocks: consecutive communities (one street's, one district's)
    # are neighbours, so streets and districts come out compact, as on a real map, not as strips across the city.
    side = 1 << max(0, math.ceil(math.log2(max(1, math.ceil(math.sqrt(spec.communities))))))
    grids: list[Area] = []
    compounds: list[Area] = []
    buildings: list[Area] = []
    community_geoms = []
    for ci, (community, n) in enumerate(zip(communities, grids_per_community, strict=True)):
        community.numchild = n
        hx, hy = _hilbert(side, ci)
        bx, by = hx * block, hy * block
        cells = []
        for gi in range(n):
            cell = _cell(bx + gi % block, by + gi // block)
            cells.append(cell)
            grid = Area(path=_path(community.path, gi + 1), depth=5, name=f"{community.name}第{gi + 1}网格",
                        code=f"{community.code}{gi + 1:03d}", kind=AreaKind.GRID, boundary=_geojson(cell))
            grids.append(grid)
            n_buildings = rng.randint(*spec.buildings_per_grid)
            n_compounds = 1 if n_buildings < 7 else 2
            grid.numchild = n_compounds
            grid_households = 0
            compound_shapes = _compound_shapes(cell, n_compounds)
            for k, nb in enumerate(_split(n_buildings, n_compounds)):
                compound_shape = compound_shapes[k]
                compound = Area(path=_path(grid.path, k + 1), depth=6, numchild=nb,
                                name=f"{rng.choice(COMMUNITY_WORDS)}{rng.choice(COMPOUND_SUFFIX)}",
                                code=f"{grid.code}{k + 1:02d}", kind=AreaKind.COMPOUND,
                                boundary=_geojson(compound_shape) if compound_shape.geom_type == "Polygon" else None)
                compounds.append(compound)
                for j, slab in enumerate(_building_shapes(compound_shape, nb)):
                    households = rng.randint(36, 72)
                    buildings.append(Area(path=_path(compound.path, j + 1), depth=7, name=f"{j + 1}号楼",
                                          code=f"{compound.code}{j + 1:03d}", kind=AreaKind.BUILDING,
                                          households=households, population=round(households * 2.6),
                                          boundary=_geojson(slab) if slab is not None else None))
                    compound.households += households
                compound.population = round(compound.households * 2.6)
                grid_households += compound.households
            grid.households, grid.population = grid_households, round(grid_households * 2.6)
            community.households += grid_households
        community.population = round(community.households * 2.6)
        geom = unary_union(cells)
        community_geoms.append(geom)
        community.boundary = _geojson(geom)
    progress("区域树", 0.3)
    by_prefix: dict[str, list[Area]] = {}
    for c in communities:
        by_prefix.setdefault(c.path[:12], []).append(c)
    geom_of = {c.path: g for c, g in zip(communities, community_geoms, strict=True)}
    for s in streets:
        s.households = sum(c.households for c in by_prefix.get(s.path, []))
        s.population = sum(c.population for c in by_prefix.get(s.path, []))
        # Streets and districts are drawn as the union of their communities (the map's first levels).
        s.boundary = _outline([geom_of[c.path] for c in by_prefix.get(s.path, [])])
    for d in districts:
        d.boundary = _outline([geom_of[c.path] for c in communities if c.path.startswith(d.path)])
    for d in districts:
        d.households = sum(s.households for s in streets if s.path.startswith(d.path))
        d.population = sum(s.population for s in streets if s.path.startswith(d.path))
    city.households = sum(d.households for d in districts)
    city.population = sum(d.population for d in districts)

    all_areas = [city, *districts, *streets, *communities, *grids, *compounds, *buildings]
    Area.objects.bulk_create(all_areas, batch_size=2000)
    # bulk_create returns ids on PostgreSQL and SQLite ≥ 3.35; reload by path to be safe everywhere.
    ids = dict(Area.objects.values_list("path", "pk"))
    for a in all_areas:
        a.pk = ids[a.path]
    progress("区域树", 0.5)

    district_of = {d.path: d for d in districts}
    people = _People(b)

    # ---- member units: city departments, then each street's units.
    units: list[MemberUnit] = []
    for name, sector in DEPARTMENTS:
        units.append(MemberUnit(name=name, sector=sector, area=city, credit_code=credit_code(rng, "990100"),
                                address=f"共治市{rng.choice(STREET_WORDS)}路{rng.randint(1, 300)}号",
                                contact_name=b.name(), contact_phone=b.phone(), staff_count=rng.randint(80, 600)))
    department_units = list(units)
    street_units: dict[str, list[MemberUnit]] = {}
    for s in streets:
        district_code = district_of[s.path[:8]].code
        kinds = _weighted(rng, UNIT_KINDS, spec.units_per_street)
        street_communities = by_prefix.get(s.path, [])
        for sector, pattern in kinds:
            home = rng.choice(street_communities) if street_communities else s
            word = rng.choice(STREET_WORDS + COMMUNITY_WORDS)
            flavour = rng.choice(["创新", "恒信", "华兴", "瑞达", "博远", "安泰"])
            unit = MemberUnit(name=pattern.format(w=word, x=flavour),
                              sector=sector, area=home, credit_code=credit_code(rng, district_code),
                              address=f"{s.name}{word}路{rng.randint(1, 300)}号", contact_name=b.name(),
                              contact_phone=b.phone(), staff_count=rng.randint(5, 300))
            units.append(unit)
            street_units.setdefault(s.path, []).append(unit)
    _dedupe_unit_names(units)
    MemberUnit.objects.bulk_create(units, batch_size=2000)
    progress("驻区单位", 0.55)

    # ---- party organisations on the tree.
    orgs: list[PartyOrganisation] = []

    def org(**kw: Any) -> PartyOrganisation:
        o = PartyOrganisation(**kw)
        orgs.append(o)
        return o

    city_org = org(name="中共共治市委员会", level=OrgLevel.COMMITTEE, sector=Sector.ORGAN, area=city)
    _save(orgs)
    district_orgs = {d.path: org(name=f"中共共治市{d.name}委员会", level=OrgLevel.COMMITTEE, sector=Sector.ORGAN,
                                 area=d, parent=city_org) for d in districts}
    _save(orgs)
    street_orgs = {s.path: org(name=f"中共{s.name}工作委员会", level=OrgLevel.WORKING_COMMITTEE, area=s,
                               parent=district_orgs[s.path[:8]], has_joint_committee=True,
                               founded_on=dt.date(2005, 3, 1)) for s in streets}
    _save(orgs)
    community_orgs = {c.path: org(name=f"中共{c.name}委员会", level=OrgLevel.COMMITTEE, area=c,
                                  parent=street_orgs[c.path[:12]], has_joint_committee=True,
                                  founded_on=dt.date(2008, 7, 1)) for c in communities}
    _save(orgs)
    grid_orgs: dict[str, PartyOrganisation] = {}
    for g in grids:
        # Most grids have their branch; the rest are the 应建尽建 gaps the coverage page lists.
        if rng.random() < 0.88:
            grid_orgs[g.path] = org(name=f"{g.name}党支部", level=OrgLevel.BRANCH, area=g,
                                    parent=community_orgs[g.path[:16]], founded_on=dt.date(2019, 7, 1))
    for comp in compounds:
        if comp.path[:20] not in grid_orgs and rng.random() < 0.4:
            org(name=f"{comp.name}小区党支部", level=OrgLevel.BRANCH, area=comp,
                parent=community_orgs[comp.path[:16]], founded_on=dt.date(2021, 7, 1))
    _save(orgs)
    if spec.residents_per_building:
        for bl in buildings[:: 3]:
            parent = grid_orgs.get(bl.path[:20])
            if parent is not None:
                org(name=f"{bl.name}党小组", level=OrgLevel.GROUP, area=bl, parent=parent)
    department_orgs = {u.name: org(name=f"中共{u.name}机关支部委员会", level=OrgLevel.BRANCH, sector=u.sector,
                                   area=city, unit=u, parent=city_org) for u in department_units}
    joint_branches: list[tuple[PartyOrganisation, list[MemberUnit]]] = []
    for s in streets:
        small: list[MemberUnit] = []
        for u in street_units.get(s.path, []):
            if u.sector in (Sector.NON_PUBLIC, Sector.SOCIAL_ORG):
                roll = rng.random()
                if roll < 0.45:
                    org(name=f"{u.name}党支部", level=OrgLevel.BRANCH, sector=u.sector, area=u.area, unit=u,
                        parent=street_orgs[s.path])
                elif roll < 0.78:
                    small.append(u)  # covered by a joint branch
            elif u.sector != Sector.PROPERTY or rng.random() < 0.6:
                org(name=f"{u.name}党支部", level=OrgLevel.BRANCH, sector=u.sector, area=u.area, unit=u,
                    parent=street_orgs[s.path])
        if small:
            jb = org(name=f"{s.name}非公企业和社会组织联合党支部", level=OrgLevel.JOINT_BRANCH,
                     sector=Sector.NON_PUBLIC, area=s, parent=street_orgs[s.path])
            joint_branches.append((jb, small))
    _save(orgs)
    through = PartyOrganisation.covered_units.through
    through.objects.bulk_create([through(partyorganisation_id=jb.pk, memberunit_id=u.pk)
                                 for jb, small in joint_branches for u in small])
    progress("党组织", 0.65)

    # ---- people: workers per community, grid workers per grid, residents, party members.
    area_district_code = {d.path: d.code for d in districts}
    community_buildings: dict[str, list[Area]] = {}
    for bl in buildings:
        community_buildings.setdefault(bl.path[:16], []).append(bl)
    for c in communities:
        homes = community_buildings.get(c.path) or [c]
        workers = max(1, -(-c.households // 350))
        for _ in range(workers):
            p = people.add(rng.choice(homes), area_district_code[c.path[:8]])
            people.post(p, PostKind.COMMUNITY_WORKER, c, grade=f"{rng.randint(1, 3)}岗{rng.randint(1, 16)}级")
        for _ in range(2 if spec.residents_per_building else 0):
            p = people.add(rng.choice(homes), area_district_code[c.path[:8]])
            people.post(p, PostKind.VOLUNTEER, c)
    for g in grids:
        homes = [bl for bl in community_buildings.get(g.path[:16], []) if bl.path.startswith(g.path)] or [g]
        p = people.add(rng.choice(homes), area_district_code[g.path[:8]])
        people.post(p, PostKind.GRID_WORKER, g)
    for bl in buildings:
        for _ in range(spec.residents_per_building):
            people.add(bl, area_district_code[bl.path[:8]], vulnerable=rng.random() < 0.04)
    people.flush()
    progress("人员", 0.75)

    # ---- party members: the grid branch (or community committee) holds each member's relation.
    members: list[PartyMember] = []
    member_people: list[Person] = []
    candidates = [p for p in people.persons if not p.is_vulnerable]
    rng.shuffle(candidates)
    wanted = min(len(candidates), spec.members_per_grid * len(grids))
    work_units = [u for u in units if u.sector in (Sector.ORGAN, Sector.SCHOOL, Sector.HOSPITAL,
                                                    Sector.STATE_ENTERPRISE, Sector.PUBLIC_INSTITUTION)]
    for p in candidates[:wanted]:
        area_path = people.area_path[p.area_id]
        holder = grid_orgs.get(area_path[:20]) or community_orgs[area_path[:16]]
        in_service = rng.random() < 0.35
        mobile = not in_service and rng.random() < 0.06
        members.append(PartyMember(
            person=p, organisation=holder, status=MemberStatus.FULL if rng.random() < 0.95 else
            MemberStatus.PROBATIONARY, joined_on=dt.date(rng.randint(1970, 2024), rng.randint(1, 12), 1),
            work_unit=rng.choice(work_units) if in_service and work_units else None, in_service=in_service,
            is_mobile=mobile, outflow_place="共治市" if mobile else "",
            inflow_place=rng.choice(["广东省深圳市", "江苏省苏州市", "浙江省杭州市"]) if mobile else "",
            needs_home_study=not in_service and rng.random() < 0.05,
        ))
        member_people.append(p)
    PartyMember.objects.bulk_create(members, batch_size=2000)
    registrations = [
        DualRegistration(party_member=m, community_id=people.community_id(m.person.area_id),
                         registered_on=dt.date(2024, rng.randint(1, 12), rng.randint(1, 28)))
        for m in members if m.in_service and rng.random() < 0.8
    ]
    DualRegistration.objects.bulk_create(registrations, batch_size=2000)
    progress("党员", 0.8)

    # ---- joint committees: secretary + part-time members from member units (本溪: 兼职委员).
    posts: list[OrganisationPost] = []
    secretaries = iter(member_people)
    for c in communities:
        comm_org = community_orgs[c.path]
        sec = next(secretaries, None)
        if sec is not None:
            posts.append(OrganisationPost(organisation=comm_org, person=sec, body=CommitteeBody.COMMITTEE,
                                          title="书记", since=dt.date(2021, 11, 1)))
        local_units = [u for u in street_units.get(c.path[:12], []) if u.area_id == c.pk]
        for u in local_units[:3]:
            rep = next(secretaries, None)
            if rep is not None:
                posts.append(OrganisationPost(organisation=comm_org, person=rep, body=CommitteeBody.JOINT,
                                              title="兼职委员", is_part_time=True, representing=u,
                                              since=dt.date(2022, 3, 1)))
    for s in streets:
        for u in street_units.get(s.path, [])[:4]:
            rep = next(secretaries, None)
            if rep is not None:
                posts.append(OrganisationPost(organisation=street_orgs[s.path], person=rep, body=CommitteeBody.JOINT,
                                              title="兼职委员", is_part_time=True, representing=u,
                                              since=dt.date(2022, 3, 1)))
    OrganisationPost.objects.bulk_create(posts, batch_size=2000)

    # ---- grassroots groups and last spring's survey.
    groups: list[GrassrootsGroup] = []
    for c in communities:
        for _ in range(rng.randint(1, 3)):
            members_n = rng.randint(12, 60)
            party_n = rng.randint(0, 6)
            groups.append(GrassrootsGroup(name=f"{c.name}{rng.choice(GROUP_KINDS)}", kind=rng.choice(GROUP_KINDS),
                                          area=c, member_count=members_n, party_member_count=party_n,
                                          last_surveyed_on=dt.date(2026, 4, 15)))
    _dedupe_group_names(groups)
    GrassrootsGroup.objects.bulk_create(groups, batch_size=2000)
    surveys = {s.path: GrassrootsSurvey(area=s, conducted_on=dt.date(2026, 4, 15), note="2026年春季草根组织排查")
               for s in streets}
    GrassrootsSurvey.objects.bulk_create(surveys.values())
    SurveyEntry.objects.bulk_create([
        SurveyEntry(survey=surveys[grp.area.path[:12]], group=grp, member_count=grp.member_count,
                    party_member_count=grp.party_member_count, can_form_org=grp.party_member_count >= 3)
        for grp in groups
    ], batch_size=2000)
    instructors = iter(member_people[len(posts) + 1:])
    new_orgs: list[tuple[GrassrootsGroup, PartyOrganisation]] = []
    for grp in groups:
        if grp.party_member_count >= 3 and rng.random() < 0.7:
            o = PartyOrganisation(name=f"{grp.name}党支部", level=OrgLevel.BRANCH, sector=Sector.GRASSROOTS,
                                  area=grp.area, parent=community_orgs[grp.area.path],
                                  founded_on=dt.date(2026, 5, 20))
            new_orgs.append((grp, o))
        elif grp.party_member_count < 3 and rng.random() < 0.6:
            instructor = next(instructors, None)
            if instructor is not None:
                grp.outcome, grp.instructor = GroupOutcome.INSTRUCTOR, instructor
                people.post(instructor, PostKind.INSTRUCTOR, grp.area)
    PartyOrganisation.objects.bulk_create([o for _, o in new_orgs])
    for grp, o in new_orgs:
        grp.outcome, grp.party_org = GroupOutcome.ORG_FORMED, o
    GrassrootsGroup.objects.bulk_update(groups, ["outcome", "party_org", "instructor"], batch_size=2000)
    people.flush()
    progress("草根组织", 0.85)

    # ---- pairings (东港 三进, 沈阳 机关支部结对, 蓬莱 包小区/包楼栋/结对帮扶) with commitments and visits.
    pairings: list[Pairing] = []
    leaders = [people.add(rng.choice(buildings), "990101") for _ in range(min(32, len(communities)))]
    people.flush()
    quarter_starts = [dt.date(2025, 10, 1), dt.date(2026, 1, 1), dt.date(2026, 4, 1), dt.date(2026, 7, 1),
                      dt.date(2026, 10, 1)]
    visits: list[tuple[Pairing, dt.date]] = []
    for leader, c in zip(leaders, rng.sample(communities, len(leaders)), strict=True):
        leading = Pairing(kind=PairingKind.LEADER_COMMUNITY, person=leader, area=c, started_on=dt.date(2025, 10, 1))
        pairings.append(leading)
        for q in quarter_starts:
            # Most leaders keep the rule; a few miss a quarter, which the figures then show.
            for _ in range(rng.choices([0, 1, 2], weights=[1, 5, 2])[0]):
                day = q + dt.timedelta(days=rng.randint(0, 80))
                if day <= TODAY:
                    visits.append((leading, day))
    for c in communities:
        for u in rng.sample(department_units, k=min(len(department_units), rng.randint(3, 5))):
            pairings.append(Pairing(kind=PairingKind.DEPARTMENT_COMMUNITY, unit=u, area=c,
                                    started_on=dt.date(2025, 1, 1)))
        dept = rng.choice(department_units)
        pairings.append(Pairing(kind=PairingKind.BRANCH_COMMUNITY, organisation=department_orgs[dept.name], area=c,
                                started_on=dt.date(2024, 6, 1)))
    compound_units = [u for us in street_units.values() for u in us]
    for comp in compounds[:: 4 if spec.residents_per_building else 40]:
        street_pool = street_units.get(comp.path[:12]) or compound_units
        pairings.append(Pairing(kind=PairingKind.UNIT_COMPOUND, unit=rng.choice(street_pool), area=comp,
                                started_on=dt.date(2025, 3, 1)))
    member_by_area: dict[int, list[Person]] = {}
    for p in member_people:
        member_by_area.setdefault(p.area_id, []).append(p)
    for bl in buildings[:: 2 if spec.residents_per_building else 50]:
        if member_by_area.get(bl.pk):
            pairings.append(Pairing(kind=PairingKind.MEMBER_BUILDING, person=member_by_area[bl.pk][0], area=bl,
                                    started_on=dt.date(2025, 5, 1)))
    vulnerable = [p for p in people.persons if p.is_vulnerable]
    helpers = iter(member_people[::-1])
    for v in vulnerable:
        helper = next(helpers, None)
        if helper is not None:
            pairings.append(Pairing(kind=PairingKind.MEMBER_VULNERABLE, person=helper, area_id=v.area_id,
                                    target_person=v, started_on=dt.date(2025, 9, 1)))
    Pairing.objects.bulk_create(pairings, batch_size=2000)
    PairingVisit.objects.bulk_create([PairingVisit(pairing=pv, visited_on=d, note="调研社区党建工作，参加联席会议")
                                      for pv, d in visits], batch_size=2000)
    commitments: list[Commitment] = []
    items: list[CommitmentItem] = []
    promises = ["每季度参加一次社区联席会议", "开展送医疗下社区活动2次", "提供帮扶资金2万元", "组织党员志愿服务4次",
                "协调解决老旧小区改造中的难题", "开放单位停车场错时共享"]
    for pairing in pairings:
        if pairing.kind in (PairingKind.DEPARTMENT_COMMUNITY, PairingKind.UNIT_COMPOUND) and rng.random() < 0.5:
            letter = Commitment(pairing=pairing, title="驻社区单位承诺书", signed_on=dt.date(2026, 1, 10))
            commitments.append(letter)
            for text in rng.sample(promises, 3):
                done = rng.random() < 0.55
                items.append(CommitmentItem(commitment=letter, text=text, due_on=dt.date(2026, 12, 31),
                                            fulfilled_on=dt.date(2026, rng.randint(2, 10), 15) if done else None,
                                            evidence="已按承诺完成，社区确认" if done else ""))
    Commitment.objects.bulk_create(commitments, batch_size=2000)
    CommitmentItem.objects.bulk_create(items, batch_size=2000)
    progress("结对共建", 1.0)
    return {
        "areas": len(all_areas), "grids": len(grids), "communities": len(communities), "streets": len(streets),
        "units": len(units), "party_orgs": PartyOrganisation.objects.count(), "people": len(people.persons),
        "party_members": len(members), "pairings": len(pairings), "grassroots_groups": len(groups),
    }


class _People:
    """Buffers Person rows (and their posts) for bulk insertion."""

    def __init__(self, b: _Builder) -> None:
        self.b = b
        self.persons: list[Person] = []
        self.pending: list[Person] = []
        self.posts: list[StaffPost] = []
        self.area_path: dict[int, str] = dict(Area.objects.values_list("pk", "path"))
        self.path_id = {v: k for k, v in self.area_path.items()}
        self.id_numbers: set[str] = set()

    def add(self, area: Area, district_code: str, vulnerable: bool = False) -> Person:
        rng = self.b.rng
        gender = rng.choice([Gender.MALE, Gender.FEMALE])
        number = id_number(rng, district_code, gender)
        while number in self.id_numbers:
            number = id_number(rng, district_code, gender)
        self.id_numbers.add(number)
        p = Person(name=self.b.name(), gender=gender, birth_year=int(number[6:10]), id_number=number,
                   phone=self.b.phone(), area_id=area.pk, is_vulnerable=vulnerable)
        self.persons.append(p)
        self.pending.append(p)
        return p

    def post(self, person: Person, kind: str, area: Area, grade: str = "") -> None:
        self.posts.append(StaffPost(person=person, kind=kind, area_id=area.pk, grade=grade,
                                    since=dt.date(2023, 1, 1)))

    def community_id(self, area_id: int) -> int:
        return self.path_id[self.area_path[area_id][:16]]

    def flush(self) -> None:
        Person.objects.bulk_create(self.pending, batch_size=2000)
        self.pending = []
        StaffPost.objects.bulk_create(self.posts, batch_size=2000)
        self.posts = []


def _save(orgs: list[PartyOrganisation]) -> None:
    unsaved = [o for o in orgs if o.pk is None]
    PartyOrganisation.objects.bulk_create(unsaved, batch_size=2000)


def _names(rng: random.Random, words: list[str], count: int, suffix: str) -> list[str]:
    names: list[str] = []
    for i in range(count):
        a = words[i % len(words)]
        names.append(f"{a}{suffix}" if i < len(words) else f"{a}{rng.choice(words)}{suffix}")
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else n.replace(suffix, f"{seen[n]}{suffix}"))
    return out


def _weighted(rng: random.Random, kinds: list[tuple[Sector, str, float]], n: int) -> Iterator[tuple[Sector, str]]:
    for _ in range(n):
        sector, pattern, _w = rng.choices(kinds, weights=[k[2] for k in kinds])[0]
        yield sector, pattern


def _dedupe_unit_names(units: list[MemberUnit]) -> None:
    seen: dict[str, int] = {}
    for u in units:
        seen[u.name] = seen.get(u.name, 0) + 1
        if seen[u.name] > 1:
            u.name = f"{u.name}（{seen[u.name]}）"


def _dedupe_group_names(groups: list[GrassrootsGroup]) -> None:
    seen: dict[str, int] = {}
    for g in groups:
        seen[g.name] = seen.get(g.name, 0) + 1
        if seen[g.name] > 1:
            g.name = f"{g.name}{seen[g.name]}队"


# ---------------------------------------------------------------------------------------- demo accounts

DEMO_ACCOUNTS: list[tuple[str, str, str]] = [
    # username, role, where: "resident" lives in the first community; the rest hold their role there.
    ("admin", "sysadmin", "city"),
    ("city", "city_official", "city"),
    ("orgadmin", "org_admin", "city"),
    ("dispatcher", "dispatcher", "city"),
    ("district", "district_official", "district"),
    ("street", "street_official", "street"),
    ("streetadmin", "account_admin", "street"),
    ("secretary", "party_secretary", "community"),
    ("community", "community_worker", "community"),
    ("community2", "community_worker", "community2"),
    ("grid", "grid_worker", "grid"),
    ("resident", "resident", "community"),
    ("unit", "unit_handler", "unit"),
]


def _demo_accounts() -> list[tuple[str, str, str]]:
    from gongzhi.accounts.roles import POLICIES

    User = get_user_model()
    first_community = Area.objects.filter(kind=AreaKind.COMMUNITY).order_by("path").first()
    assert first_community is not None
    street = Area.objects.get(path=first_community.path[:12])
    anchors: dict[str, Any] = {
        "city": Area.objects.get(depth=1),
        "district": Area.objects.get(path=first_community.path[:8]),
        "street": street,
        "community": first_community,
        # An outsider to the first community: a community in another street.
        "community2": Area.objects.filter(kind=AreaKind.COMMUNITY).exclude(path__prefix=street.path)
        .order_by("path").first() or first_community,
        "grid": Area.objects.filter(kind=AreaKind.GRID, path__prefix=first_community.path).order_by("path").first(),
        "unit": MemberUnit.objects.filter(name=DEPARTMENTS[0][0]).first(),
    }
    out = []
    for username, role, where in DEMO_ACCOUNTS:
        user = User(username=username, first_name=str(POLICIES[role].role.label))
        user.set_password(DEMO_PASSWORD)
        user.save()
        anchor = anchors[where]
        if where == "unit":
            RoleGrant.objects.create(user=user, role=role, unit=anchor)
        else:
            RoleGrant.objects.create(user=user, role=role, area=anchor)
        AccountProfile.objects.create(user=user, home_area=anchor.area if where == "unit" else anchor)
        if username == "resident":
            home = Area.objects.filter(kind=AreaKind.BUILDING, path__prefix=first_community.path).order_by("path")[0]
            gender = Gender.FEMALE
            number = id_number(random.Random(SEED + 1), "990101", gender)
            resident = Person.objects.create(name="李秀兰", gender=gender, id_number=number,
                                             birth_year=int(number[6:10]), phone="13904110001", area=home, user=user)
            # A volunteer (三河 领单): the demo resident sees the claim pool in 我的诉求.
            StaffPost.objects.create(person=resident, kind=PostKind.VOLUNTEER, area=first_community)
        else:
            staff_id = _staff_person(role, anchor)
            if staff_id is not None:
                Person.objects.filter(pk=staff_id).update(user=user)
        out.append((username, str(POLICIES[role].role.label), str(anchor)))
    return out


def _staff_person(role: str, anchor: Any) -> int | None:
    """Link demo staff accounts to a matching person in the registry, so their pages show a real name."""
    kind = {"community_worker": PostKind.COMMUNITY_WORKER, "grid_worker": PostKind.GRID_WORKER}.get(role)
    if kind is None or not isinstance(anchor, Area):
        return None
    return StaffPost.objects.filter(kind=kind, area=anchor, person__user__isnull=True).values_list(
        "person_id", flat=True).first()
