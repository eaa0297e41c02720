"""The registry's part of the JSON API: the area tree, organisations, units, people, pairings, coverage.

Every read goes through the scope; every write through :mod:`.services`; people leave masked (R4)."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any, Literal

from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile

from gongzhi.accounts.roles import POLICIES, Cap
from gongzhi.api.auth import user_of
from gongzhi.core import audit
from gongzhi.core.errors import Forbidden, InvalidInput, NotFound
from gongzhi.core.scope import as_scope, get_scoped, rule_for, scoped

from . import selectors, services
from .geo import grid_at
from .models import (
    Area,
    AreaKind,
    CommitmentItem,
    CommitteeBody,
    DualRegistration,
    GrassrootsGroup,
    GrassrootsSurvey,
    MemberStatus,
    MemberUnit,
    OrganisationPost,
    OrgLevel,
    Pairing,
    PairingKind,
    PartyMember,
    PartyOrganisation,
    Person,
    PostKind,
    Sector,
    StaffPost,
)
from .presenters import personal_numbers, phone_for

router = Router(tags=["组织体系 registry"])
MAX_LIMIT = 200
VERSION_HELP = ("乐观锁版本：读取时得到的 version；与当前不符则 409 冲突。"
                "省略则不做此检查（后写者覆盖先写者，last write wins）")


# ------------------------------------------------------------------------------------------ paging


def page(qs: QuerySet[Any], limit: int, after: str | None, render: Any) -> dict[str, Any]:
    """Keyset page over ``pk``: bounded, stable, no COUNT(*)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.on("limit", f"须在 1 到 {MAX_LIMIT} 之间")
    if after:
        try:
            last = int(base64.urlsafe_b64decode(after.encode()).decode())
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput.on("after", "游标无效") from None
        qs = qs.filter(pk__gt=last)
    rows = list(qs.order_by("pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = base64.urlsafe_b64encode(str(rows[-1].pk).encode()).decode() if more and rows else None
    return {"items": [render(r) for r in rows], "next": cursor}


def area_ref(area: Area) -> dict[str, Any]:
    return {"id": area.pk, "code": area.code, "name": area.name, "kind": area.kind}


def area_out(area: Area) -> dict[str, Any]:
    return {**area_ref(area), "path": area.path, "depth": area.depth, "households": area.households,
            "population": area.population, "children": area.numchild, "has_boundary": area.boundary is not None,
            "version": area.version}


# ------------------------------------------------------------------------------------------ me


@router.get("/me", response=dict, summary="当前用户与角色 Who am I")
def me(request: HttpRequest) -> dict[str, Any]:
    user = user_of(request)
    scope = as_scope(user)
    areas = Area.objects.in_bulk([g.area_id for g in scope.grants if g.area_id])
    return {
        "username": user.get_username(), "person_id": scope.person_id,
        "roles": [{"role": g.role, "label": str(POLICIES[g.role].role.label),
                   "area": area_ref(areas[g.area_id]) if g.area_id in areas else None, "unit_id": g.unit_id}
                  for g in scope.grants],
    }


# ------------------------------------------------------------------------------------------ areas


class AreaIn(Schema):
    parent_id: int | None = Field(None, description="上级节点（市级为空）")
    name: str = Field(..., min_length=1, max_length=100)
    code: str = Field(..., min_length=1, max_length=32)
    kind: Literal["city", "district", "street", "community", "grid", "compound", "building"]
    households: int = Field(0, ge=0, le=10_000_000)
    population: int = Field(0, ge=0, le=100_000_000)
    boundary: dict[str, Any] | None = Field(None, description="GeoJSON Polygon/MultiPolygon (WGS84)")


class AreaPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    households: int | None = Field(None, ge=0, le=10_000_000)
    population: int | None = Field(None, ge=0, le=100_000_000)
    boundary: dict[str, Any] | None = None
    reason: str = Field("", max_length=500)
    version: int | None = Field(None, ge=1, le=2_147_483_647, description=VERSION_HELP)


@router.get("/areas/roots", response=list[dict], summary="可见的顶层节点")
def area_roots(request: HttpRequest) -> list[dict[str, Any]]:
    return [area_out(a) for a in selectors.area_roots(user_of(request))]


@router.get("/areas/search", response=list[dict], summary="按名称或代码搜索")
def area_search(request: HttpRequest, q: str = Query(..., min_length=1, max_length=50)) -> list[dict[str, Any]]:
    return [area_out(a) for a in selectors.area_search(user_of(request), q)]


@router.get("/areas/locate", response=dict, summary="坐标所在网格 Point → grid")
def area_locate(request: HttpRequest, lng: float = Query(..., ge=-180, le=180),
                lat: float = Query(..., ge=-90, le=90)) -> dict[str, Any]:
    grid = grid_at(lng, lat)
    if grid is None:
        raise NotFound("该位置不在任何网格内")
    grid = get_scoped(user_of(request), Area, grid.pk)
    return {"grid": area_out(grid), "ancestors": [area_ref(a) for a in selectors.area_ancestors(grid)]}


@router.get("/areas/{area_id}", response=dict, summary="节点")
def area_get(request: HttpRequest, area_id: int) -> dict[str, Any]:
    area = selectors.area_get(user_of(request), area_id)
    return {**area_out(area), "boundary": area.boundary}


@router.get("/areas/{area_id}/children", response=dict, summary="下级节点")
def area_children(request: HttpRequest, area_id: int, limit: int = Query(50, ge=1, le=200),
                  after: str | None = Query(None, max_length=64)) -> dict[str, Any]:
    user = user_of(request)
    area = selectors.area_get(user, area_id)
    return page(selectors.area_children(user, area), limit, after, area_out)


@router.get("/areas/{area_id}/subtree", response=dict, summary="子树（可按层级筛选）")
def area_subtree(request: HttpRequest, area_id: int, kinds: str = Query("", max_length=100),
                 limit: int = Query(50, ge=1, le=200),
                 after: str | None = Query(None, max_length=64)) -> dict[str, Any]:
    user = user_of(request)
    area = selectors.area_get(user, area_id)
    wanted = [k for k in kinds.split(",") if k]
    if any(k not in AreaKind.values for k in wanted):
        raise InvalidInput.on("kinds", "未知层级")
    return page(selectors.area_subtree(user, area, wanted or None), limit, after, area_out)


@router.get("/areas/{area_id}/ancestors", response=list[dict], summary="上级节点")
def area_ancestors(request: HttpRequest, area_id: int) -> list[dict[str, Any]]:
    area = selectors.area_get(user_of(request), area_id)
    return [area_ref(a) for a in selectors.area_ancestors(area)]


@router.post("/areas", response={201: dict}, summary="新建节点")
def area_create(request: HttpRequest, payload: AreaIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    parent = selectors.area_get(user, payload.parent_id) if payload.parent_id else None
    area = services.area_create(actor=user, parent=parent, name=payload.name, code=payload.code, kind=payload.kind,
                                households=payload.households, population=payload.population,
                                boundary=payload.boundary)
    return Status(201, area_out(area))


@router.patch("/areas/{area_id}", response=dict, summary="修改节点")
def area_update(request: HttpRequest, area_id: int, payload: AreaPatch) -> dict[str, Any]:
    user = user_of(request)
    area = selectors.area_get(user, area_id)
    changes = payload.dict(exclude_unset=True)
    reason = changes.pop("reason", "")
    version = changes.pop("version", None)
    return area_out(services.area_update(actor=user, area=area, changes=changes, reason=reason,
                                         expected_version=version))


MAX_EXPORT = 20_000


@router.post("/areas/boundaries/import", response=dict, summary="导入边界（GeoJSON 或 Shapefile 压缩包）")
def area_boundaries_import(request: HttpRequest, file: File[UploadedFile],
                           crs: Form[str] = "WGS84", code_field: Form[str] = "", name_field: Form[str] = "",
                           dry_run: Form[bool] = False) -> dict[str, Any]:
    """``crs``: WGS84, CGCS2000, GCJ02 or CGCS2000_3DEG_CM_<中央经线>; a Shapefile's .prj wins over it."""
    result = services.boundaries_import(actor=user_of(request), data=file.read(), filename=file.name or "upload",
                                        crs=crs, code_field=code_field or None, name_field=name_field or None,
                                        dry_run=dry_run)
    return {"dry_run": result.dry_run,
            "updated": [{"id": pk, "code": code, "name": name} for pk, code, name in result.updated],
            "unmatched": [{"feature": n, "code": code, "name": name} for n, code, name in result.unmatched]}


@router.get("/areas/{area_id}/boundaries", response=dict, summary="导出边界（GeoJSON FeatureCollection，WGS-84）")
def area_boundaries_export(request: HttpRequest, area_id: int,
                           kinds: str = Query("", max_length=100)) -> dict[str, Any]:
    from .geo_io import to_feature_collection

    user = user_of(request)
    area = selectors.area_get(user, area_id)
    wanted = [k for k in kinds.split(",") if k]
    if any(k not in AreaKind.values for k in wanted):
        raise InvalidInput.on("kinds", "未知层级")
    qs = scoped(user, Area).filter(path__startswith=area.path, boundary__isnull=False).order_by("path")
    if wanted:
        qs = qs.filter(kind__in=wanted)
    rows = list(qs.values_list("pk", "code", "name", "kind", "boundary")[: MAX_EXPORT + 1])
    if len(rows) > MAX_EXPORT:
        raise InvalidInput.on("kinds", f"边界超过 {MAX_EXPORT} 个，请按层级分批导出")
    return to_feature_collection(({"id": pk, "code": code, "name": name, "kind": kind}, boundary)
                                 for pk, code, name, kind, boundary in rows)


@router.get("/areas/{area_id}/coverage", response=dict, summary="党组织覆盖情况 (A2)")
def area_coverage(request: HttpRequest, area_id: int) -> dict[str, Any]:
    user = user_of(request)
    return selectors.coverage(user, selectors.area_get(user, area_id)).as_dict()


@router.get("/areas/{area_id}/pairing-figures", response=dict, summary="结对与走访 (A6)")
def area_pairing_figures(request: HttpRequest, area_id: int, day: dt.date | None = None) -> dict[str, Any]:
    user = user_of(request)
    if day is not None and not dt.date(2000, 1, 1) <= day <= dt.date(2099, 12, 31):
        raise InvalidInput.on("day", "日期须在2000-01-01到2099-12-31之间")
    return selectors.pairing_figures(user, selectors.area_get(user, area_id), day or timezone.localdate()).as_dict()


# ------------------------------------------------------------------------------------------ units


class UnitIn(Schema):
    area_id: int
    name: str = Field(..., min_length=1, max_length=150)
    credit_code: str = Field(..., min_length=1, max_length=30, description="统一社会信用代码 GB 32100")
    sector: Literal[tuple(Sector.values)]  # type: ignore[valid-type]
    address: str = Field("", max_length=200)
    contact_name: str = Field("", max_length=50)
    contact_phone: str = Field("", max_length=30)
    staff_count: int = Field(0, ge=0, le=10_000_000)


def unit_out(viewer: Any, unit: MemberUnit) -> dict[str, Any]:
    return {"id": unit.pk, "name": unit.name, "credit_code": unit.credit_code, "sector": unit.sector,
            "area": area_ref(unit.area), "address": unit.address, "contact_name": unit.contact_name,
            "contact_phone": phone_for(viewer, unit.contact_phone, unit.area.path), "staff_count": unit.staff_count,
            "version": unit.version}


def _within(qs: QuerySet[Any], user: Any, area_id: int | None, field: str) -> QuerySet[Any]:
    if area_id is None:
        return qs
    area = selectors.area_get(user, area_id)
    return qs.filter(**{f"{field}__prefix": area.path})


@router.get("/units", response=dict, summary="驻区单位")
def unit_list(request: HttpRequest, area_id: int | None = None, sector: str = Query("", max_length=100),
              q: str = Query("", max_length=50), limit: int = Query(50, ge=1, le=200),
              after: str | None = Query(None, max_length=64)) -> dict[str, Any]:
    user = user_of(request)
    qs = _within(scoped(user, MemberUnit).select_related("area"), user, area_id, "area__path")
    if sector:
        qs = qs.filter(sector=sector)
    if q:
        qs = qs.filter(Q(name__contains=q[:50]) | Q(credit_code__startswith=q[:18].upper()))
    return page(qs, limit, after, lambda u: unit_out(user, u))


@router.get("/units/{unit_id}", response=dict)
def unit_get(request: HttpRequest, unit_id: int) -> dict[str, Any]:
    user = user_of(request)
    return unit_out(user, get_scoped(user, MemberUnit.objects.select_related("area"), unit_id))


@router.post("/units", response={201: dict})
def unit_create(request: HttpRequest, payload: UnitIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    data = payload.dict()
    area = selectors.area_get(user, data.pop("area_id"))
    return Status(201, unit_out(user, services.unit_create(actor=user, area=area, **data)))


# ------------------------------------------------------------------------------------------ party organisations


class OrgIn(Schema):
    area_id: int
    name: str = Field(..., min_length=1, max_length=150)
    level: Literal[tuple(OrgLevel.values)]  # type: ignore[valid-type]
    sector: Literal[tuple(Sector.values)] = Sector.COMMUNITY  # type: ignore[valid-type]
    parent_id: int | None = None
    unit_id: int | None = None
    covered_unit_ids: list[int] = Field(default_factory=list, max_length=200)
    has_joint_committee: bool = False
    founded_on: dt.date | None = None


def org_out(o: PartyOrganisation) -> dict[str, Any]:
    return {"id": o.pk, "name": o.name, "level": o.level, "sector": o.sector, "area": area_ref(o.area),
            "parent_id": o.parent_id, "unit_id": o.unit_id, "has_joint_committee": o.has_joint_committee,
            "founded_on": o.founded_on, "version": o.version}


@router.get("/organisations", response=dict, summary="党组织")
def org_list(request: HttpRequest, area_id: int | None = None, level: str = Query("", max_length=100),
             sector: str = Query("", max_length=100), q: str = Query("", max_length=50),
             limit: int = Query(50, ge=1, le=200), after: str | None = Query(None, max_length=64)) -> dict[str, Any]:
    user = user_of(request)
    qs = _within(scoped(user, PartyOrganisation).select_related("area"), user, area_id, "area__path")
    if level:
        qs = qs.filter(level=level)
    if sector:
        qs = qs.filter(sector=sector)
    if q:
        qs = qs.filter(name__contains=q[:50])
    return page(qs, limit, after, org_out)


@router.get("/organisations/{org_id}", response=dict)
def org_get(request: HttpRequest, org_id: int) -> dict[str, Any]:
    return org_out(get_scoped(user_of(request), PartyOrganisation.objects.select_related("area"), org_id))


@router.post("/organisations", response={201: dict})
def org_create(request: HttpRequest, payload: OrgIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    org = services.party_org_create(
        actor=user, area=selectors.area_get(user, payload.area_id), name=payload.name, level=payload.level,
        sector=payload.sector,
        parent=get_scoped(user, PartyOrganisation, payload.parent_id) if payload.parent_id else None,
        unit=get_scoped(user, MemberUnit, payload.unit_id) if payload.unit_id else None,
        covered_units=[get_scoped(user, MemberUnit, i) for i in payload.covered_unit_ids],
        has_joint_committee=payload.has_joint_committee, founded_on=payload.founded_on,
    )
    return Status(201, org_out(org))


class OrgPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=150)
    level: Literal[tuple(OrgLevel.values)] | None = None  # type: ignore[valid-type]
    sector: Literal[tuple(Sector.values)] | None = None  # type: ignore[valid-type]
    parent_id: int | None = Field(None, description="上级党组织（传 null 取消）")
    has_joint_committee: bool | None = None
    founded_on: dt.date | None = None
    reason: str = Field("", max_length=500)
    version: int | None = Field(None, ge=1, le=2_147_483_647, description=VERSION_HELP)


@router.patch("/organisations/{org_id}", response=dict, summary="修改党组织")
def org_update(request: HttpRequest, org_id: int, payload: OrgPatch) -> dict[str, Any]:
    user = user_of(request)
    org = get_scoped(user, PartyOrganisation.objects.select_related("area", "parent"), org_id)
    changes = payload.dict(exclude_unset=True)
    reason = changes.pop("reason", "")
    if "parent_id" in changes:
        parent_id = changes.pop("parent_id")
        changes["parent"] = get_scoped(user, PartyOrganisation.objects.select_related("area"), parent_id) \
            if parent_id else None
    version = changes.pop("version", None)
    for key in ("name", "level", "sector", "has_joint_committee"):
        if key in changes and changes[key] is None:
            raise InvalidInput.on(key, "不能为空")
    return org_out(services.party_org_update(actor=user, org=org, changes=changes, reason=reason,
                                             expected_version=version))


class OrgPostIn(Schema):
    person_id: int
    title: str = Field(..., min_length=1, max_length=30, description="书记、副书记、委员、兼职委员…")
    body: Literal[tuple(CommitteeBody.values)] = CommitteeBody.COMMITTEE  # type: ignore[valid-type]
    is_part_time: bool = False
    representing_id: int | None = Field(None, description="兼职委员所代表的驻区单位")
    since: dt.date | None = None
    reason: str = Field("", max_length=500)


def org_post_out(p: OrganisationPost) -> dict[str, Any]:
    return {"id": p.pk, "organisation_id": p.organisation_id, "person_id": p.person_id, "person": p.person.name,
            "body": p.body, "title": p.title, "is_part_time": p.is_part_time, "representing_id": p.representing_id,
            "since": p.since, "until": p.until}


@router.get("/organisations/{org_id}/posts", response=dict, summary="班子成员与大工委/大党委委员")
def org_post_list(request: HttpRequest, org_id: int, limit: int = Query(50, ge=1, le=200),
                  after: str | None = Query(None, max_length=64)) -> dict[str, Any]:
    user = user_of(request)
    org = get_scoped(user, PartyOrganisation, org_id)
    qs = scoped(user, OrganisationPost).filter(organisation=org).select_related("person")
    return page(qs, limit, after, org_post_out)


@router.post("/organisations/{org_id}/posts", response={201: dict}, summary="任命班子成员或兼职委员")
def org_post_create(request: HttpRequest, org_id: int, payload: OrgPostIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    org = get_scoped(user, PartyOrganisation.objects.select_related("area"), org_id)
    post = services.org_post_create(
        actor=user, organisation=org, person=get_scoped(user, Person, payload.person_id), title=payload.title,
        body=payload.body, is_part_time=payload.is_part_time,
        representing=get_scoped(user, MemberUnit, payload.representing_id) if payload.representing_id else None,
        since=payload.since, reason=payload.reason)
    return Status(201, org_post_out(post))


# ------------------------------------------------------------------------------------------ people


class PersonIn(Schema):
    area_id: int = Field(..., description="居住的楼栋或小区")
    name: str = Field(..., min_length=1, max_length=50)
    phone: str = Field("", max_length=30)
    id_number: str | None = Field(None, max_length=30, description="身份证号 GB 11643")
    is_vulnerable: bool = False


class PersonPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=50)
    phone: str | None = Field(None, max_length=30)
    id_number: str | None = Field(None, max_length=30)
    area_id: int | None = None
    is_vulnerable: bool | None = None
    reason: str = Field("", max_length=500)
    version: int | None = Field(None, ge=1, le=2_147_483_647, description=VERSION_HELP)


def person_out(viewer: Any, p: Person) -> dict[str, Any]:
    return {"id": p.pk, "name": p.name, "gender": p.gender, "birth_year": p.birth_year, "area": area_ref(p.area),
            "is_vulnerable": p.is_vulnerable, "version": p.version, **personal_numbers(viewer, p)}


@router.get("/people", response=dict, summary="人员（电话、身份证号按角色脱敏）")
def person_list(request: HttpRequest, area_id: int | None = None, q: str = Query("", max_length=50),
                limit: int = Query(50, ge=1, le=200), after: str | None = Query(None, max_length=64)) -> dict[str, Any]:
    user = user_of(request)
    qs = _within(scoped(user, Person).select_related("area"), user, area_id, "area__path")
    if q:
        qs = qs.filter(name__contains=q[:50])
    return page(qs, limit, after, lambda p: person_out(user, p))


@router.get("/people/{person_id}", response=dict)
def person_get(request: HttpRequest, person_id: int) -> dict[str, Any]:
    user = user_of(request)
    return person_out(user, get_scoped(user, Person.objects.select_related("area"), person_id))


@router.post("/people", response={201: dict})
def person_create(request: HttpRequest, payload: PersonIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    person = services.person_create(actor=user, area=selectors.area_get(user, payload.area_id), name=payload.name,
                                    phone=payload.phone, id_number=payload.id_number,
                                    is_vulnerable=payload.is_vulnerable)
    return Status(201, person_out(user, person))


@router.patch("/people/{person_id}", response=dict)
def person_update(request: HttpRequest, person_id: int, payload: PersonPatch) -> dict[str, Any]:
    user = user_of(request)
    person = get_scoped(user, Person.objects.select_related("area"), person_id)
    changes = payload.dict(exclude_unset=True)
    reason = changes.pop("reason", "")
    version = changes.pop("version", None)
    if "area_id" in changes:
        changes["area"] = selectors.area_get(user, changes.pop("area_id"))
    return person_out(user, services.person_update(actor=user, person=person, changes=changes, reason=reason,
                                                   expected_version=version))


class PartyMemberIn(Schema):
    person_id: int
    organisation_id: int
    status: Literal["full", "probationary"] = "full"
    joined_on: dt.date | None = None
    work_unit_id: int | None = None
    is_mobile: bool = False
    outflow_place: str = Field("", max_length=100)
    inflow_place: str = Field("", max_length=100)
    needs_home_study: bool = False


def member_out(viewer: Any, m: PartyMember) -> dict[str, Any]:
    return {"id": m.pk, "person": person_out(viewer, m.person), "organisation_id": m.organisation_id,
            "status": m.status, "in_service": m.in_service, "work_unit_id": m.work_unit_id,
            "is_mobile": m.is_mobile, "outflow_place": m.outflow_place, "inflow_place": m.inflow_place,
            "needs_home_study": m.needs_home_study, "registered": bool(getattr(m, "registrations_count", 0)),
            "version": m.version}


@router.get("/party-members", response=dict, summary="党员")
def member_list(request: HttpRequest, area_id: int | None = None, mobile: bool | None = None,
                limit: int = Query(50, ge=1, le=200), after: str | None = Query(None, max_length=64)) -> dict[str, Any]:
    from django.db.models import Count

    user = user_of(request)
    qs = _within(scoped(user, PartyMember).select_related("person__area"), user, area_id, "person__area__path")
    if mobile is not None:
        qs = qs.filter(is_mobile=mobile)
    qs = qs.annotate(registrations_count=Count("registrations"))
    return page(qs, limit, after, lambda m: member_out(user, m))


@router.post("/party-members", response={201: dict})
def member_register(request: HttpRequest, payload: PartyMemberIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    member = services.party_member_register(
        actor=user, person=get_scoped(user, Person, payload.person_id),
        organisation=get_scoped(user, PartyOrganisation, payload.organisation_id), status=payload.status,
        joined_on=payload.joined_on,
        work_unit=MemberUnit.objects.filter(pk=payload.work_unit_id).first() if payload.work_unit_id else None,
        is_mobile=payload.is_mobile, outflow_place=payload.outflow_place, inflow_place=payload.inflow_place,
        needs_home_study=payload.needs_home_study,
    )
    return Status(201, member_out(user, PartyMember.objects.select_related("person__area").get(pk=member.pk)))


class PostIn(Schema):
    person_id: int
    area_id: int
    kind: Literal[tuple(PostKind.values)]  # type: ignore[valid-type]
    grade: str = Field("", max_length=20)
    since: dt.date | None = None


@router.post("/staff-posts", response={201: dict}, summary="任命岗位（社区工作者、网格员…）")
def post_assign(request: HttpRequest, payload: PostIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    post = services.staff_post_assign(actor=user, person=get_scoped(user, Person, payload.person_id),
                                      kind=payload.kind, area=selectors.area_get(user, payload.area_id),
                                      grade=payload.grade, since=payload.since)
    return Status(201, {"id": post.pk, "kind": post.kind, "area": area_ref(post.area), "person_id": post.person_id})


class MemberPatch(Schema):
    organisation_id: int | None = None
    status: Literal[tuple(MemberStatus.values)] | None = None  # type: ignore[valid-type]
    joined_on: dt.date | None = None
    work_unit_id: int | None = Field(None, description="工作单位（传 null 取消）")
    in_service: bool | None = None
    is_mobile: bool | None = None
    outflow_place: str | None = Field(None, max_length=100)
    inflow_place: str | None = Field(None, max_length=100)
    needs_home_study: bool | None = None
    reason: str = Field("", max_length=500)
    version: int | None = Field(None, ge=1, le=2_147_483_647, description=VERSION_HELP)


def _member(user: Any, member_id: int) -> PartyMember:
    return get_scoped(user, PartyMember.objects.select_related("person__area", "organisation__area"), member_id)


@router.patch("/party-members/{member_id}", response=dict, summary="修改党员信息")
def member_update(request: HttpRequest, member_id: int, payload: MemberPatch) -> dict[str, Any]:
    user = user_of(request)
    member = _member(user, member_id)
    changes = payload.dict(exclude_unset=True)
    reason = changes.pop("reason", "")
    version = changes.pop("version", None)
    if "organisation_id" in changes:
        org_id = changes.pop("organisation_id")
        if org_id is None:
            raise InvalidInput.on("organisation_id", "组织关系所在党组织不能为空")
        changes["organisation"] = get_scoped(user, PartyOrganisation.objects.select_related("area"), org_id)
    if "work_unit_id" in changes:
        unit_id = changes.pop("work_unit_id")
        changes["work_unit"] = get_scoped(user, MemberUnit, unit_id) if unit_id else None
    for key in ("status", "in_service", "is_mobile", "outflow_place", "inflow_place", "needs_home_study"):
        if key in changes and changes[key] is None:
            raise InvalidInput.on(key, "不能为空")
    services.party_member_update(actor=user, member=member, changes=changes, reason=reason,
                                 expected_version=version)
    return member_out(user, _member(user, member_id))


class DualRegistrationIn(Schema):
    community_id: int
    registered_on: dt.date
    party_member_id: int | None = Field(None, description="在职党员（与 unit_id 二选一）")
    unit_id: int | None = None
    reason: str = Field("", max_length=500)


def registration_out(r: DualRegistration) -> dict[str, Any]:
    return {"id": r.pk, "community": area_ref(r.community), "party_member_id": r.party_member_id,
            "unit_id": r.unit_id, "registered_on": r.registered_on}


@router.get("/dual-registrations", response=dict, summary="双报到")
def registration_list(request: HttpRequest, area_id: int | None = None, limit: int = Query(50, ge=1, le=200),
                      after: str | None = Query(None, max_length=64)) -> dict[str, Any]:
    user = user_of(request)
    qs = _within(scoped(user, DualRegistration).select_related("community"), user, area_id, "community__path")
    return page(qs, limit, after, registration_out)


@router.post("/dual-registrations", response={201: dict}, summary="登记双报到")
def registration_create(request: HttpRequest, payload: DualRegistrationIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    reg = services.dual_register(
        actor=user, community=selectors.area_get(user, payload.community_id), registered_on=payload.registered_on,
        party_member=get_scoped(user, PartyMember, payload.party_member_id) if payload.party_member_id else None,
        unit=get_scoped(user, MemberUnit, payload.unit_id) if payload.unit_id else None, reason=payload.reason)
    return Status(201, registration_out(reg))


class EndIn(Schema):
    on: dt.date = Field(..., description="结束/离任日期")
    reason: str = Field("", max_length=500)
    version: int | None = Field(None, ge=1, le=2_147_483_647, description=VERSION_HELP)


@router.post("/staff-posts/{post_id}/end", response=dict, summary="离任")
def post_end(request: HttpRequest, post_id: int, payload: EndIn) -> dict[str, Any]:
    user = user_of(request)
    post = get_scoped(user, StaffPost.objects.select_related("area"), post_id)
    post = services.staff_post_end(actor=user, post=post, until=payload.on, reason=payload.reason,
                                   expected_version=payload.version)
    return {"id": post.pk, "kind": post.kind, "area": area_ref(post.area), "person_id": post.person_id,
            "since": post.since, "until": post.until}


# ------------------------------------------------------------------------------------------ grassroots survey


class GroupIn(Schema):
    area_id: int
    name: str = Field(..., min_length=1, max_length=100)
    kind: str = Field(..., min_length=1, max_length=30)
    member_count: int = Field(0, ge=0, le=1_000_000)
    party_member_count: int = Field(0, ge=0, le=1_000_000)


def group_out(g: GrassrootsGroup) -> dict[str, Any]:
    return {"id": g.pk, "name": g.name, "kind": g.kind, "area": area_ref(g.area), "member_count": g.member_count,
            "party_member_count": g.party_member_count, "outcome": g.outcome, "party_org_id": g.party_org_id,
            "instructor_id": g.instructor_id, "last_surveyed_on": g.last_surveyed_on}


@router.get("/grassroots-groups", response=dict, summary="草根组织")
def group_list(request: HttpRequest, area_id: int | None = None, outcome: str = Query("", max_length=100),
               limit: int = Query(50, ge=1, le=200), after: str | None = Query(None, max_length=64)) -> dict[str, Any]:
    user = user_of(request)
    qs = _within(scoped(user, GrassrootsGroup).select_related("area"), user, area_id, "area__path")
    if outcome:
        qs = qs.filter(outcome=outcome)
    return page(qs, limit, after, group_out)


@router.post("/grassroots-groups", response={201: dict})
def group_create(request: HttpRequest, payload: GroupIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    data = payload.dict()
    area = selectors.area_get(user, data.pop("area_id"))
    return Status(201, group_out(services.grassroots_group_create(actor=user, area=area, **data)))


class SurveyEntryIn(Schema):
    group_id: int
    member_count: int | None = Field(None, ge=0, le=1_000_000)
    party_member_count: int | None = Field(None, ge=0, le=1_000_000)


class SurveyIn(Schema):
    area_id: int
    conducted_on: dt.date
    note: str = Field("", max_length=2000)
    entries: list[SurveyEntryIn] = Field(..., min_length=1, max_length=500)


def survey_out(s: GrassrootsSurvey, entries: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"id": s.pk, "area": area_ref(s.area), "conducted_on": s.conducted_on, "note": s.note}
    if entries:
        out["entries"] = [{"group_id": e.group_id, "group": e.group.name, "member_count": e.member_count,
                           "party_member_count": e.party_member_count, "can_form_org": e.can_form_org,
                           "outcome": e.group.outcome}
                          for e in s.entries.select_related("group").order_by("pk")[:500]]
    return out


@router.get("/grassroots-surveys", response=dict, summary="草根组织排查")
def survey_list(request: HttpRequest, area_id: int | None = None, limit: int = Query(50, ge=1, le=200),
                after: str | None = Query(None, max_length=64)) -> dict[str, Any]:
    user = user_of(request)
    qs = _within(scoped(user, GrassrootsSurvey).select_related("area"), user, area_id, "area__path")
    return page(qs, limit, after, survey_out)


@router.get("/grassroots-surveys/{survey_id}", response=dict)
def survey_get(request: HttpRequest, survey_id: int) -> dict[str, Any]:
    return survey_out(get_scoped(user_of(request), GrassrootsSurvey.objects.select_related("area"), survey_id),
                      entries=True)


@router.post("/grassroots-surveys", response={201: dict}, summary="登记一轮排查")
def survey_create(request: HttpRequest, payload: SurveyIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    area = selectors.area_get(user, payload.area_id)
    groups = scoped(user, GrassrootsGroup).select_related("area").in_bulk([e.group_id for e in payload.entries])
    entries = []
    for i, e in enumerate(payload.entries):
        if e.group_id not in groups:
            raise InvalidInput.on(f"entries[{i}].group_id", "未找到该草根组织")
        entry: dict[str, Any] = {"group": groups[e.group_id]}
        if e.member_count is not None:
            entry["member_count"] = e.member_count
        if e.party_member_count is not None:
            entry["party_member_count"] = e.party_member_count
        entries.append(entry)
    survey = services.survey_record(actor=user, area=area, conducted_on=payload.conducted_on, entries=entries,
                                    note=payload.note)
    return Status(201, survey_out(survey, entries=True))


class FormOrgIn(Schema):
    name: str = Field(..., min_length=1, max_length=150)
    parent_id: int
    founded_on: dt.date
    reason: str = Field("", max_length=500)


@router.post("/grassroots-groups/{group_id}/form-org", response={201: dict}, summary="草根组织组建党组织")
def group_form_org(request: HttpRequest, group_id: int, payload: FormOrgIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    group = get_scoped(user, GrassrootsGroup.objects.select_related("area"), group_id)
    org = services.group_form_party_org(
        actor=user, group=group, name=payload.name, founded_on=payload.founded_on, reason=payload.reason,
        parent=get_scoped(user, PartyOrganisation.objects.select_related("area"), payload.parent_id))
    return Status(201, {"organisation": org_out(org), "group": group_out(group)})


class InstructorIn(Schema):
    person_id: int
    since: dt.date
    reason: str = Field("", max_length=500)


@router.post("/grassroots-groups/{group_id}/instructor", response=dict, summary="选派党建指导员")
def group_instructor(request: HttpRequest, group_id: int, payload: InstructorIn) -> dict[str, Any]:
    user = user_of(request)
    group = get_scoped(user, GrassrootsGroup.objects.select_related("area"), group_id)
    group = services.group_assign_instructor(actor=user, group=group,
                                             instructor=get_scoped(user, Person, payload.person_id),
                                             since=payload.since, reason=payload.reason)
    return group_out(group)


# ------------------------------------------------------------------------------------------ pairings


class PairingIn(Schema):
    kind: Literal[tuple(PairingKind.values)]  # type: ignore[valid-type]
    started_on: dt.date
    area_id: int | None = None
    person_id: int | None = None
    unit_id: int | None = None
    organisation_id: int | None = None
    target_person_id: int | None = None


class PairingVisitIn(Schema):
    visited_on: dt.date
    note: str = Field("", max_length=2000)


class CommitmentIn(Schema):
    title: str = Field(..., min_length=1, max_length=150)
    signed_on: dt.date
    items: list[dict[str, Any]] = Field(..., min_length=1, max_length=50)


class FulfilIn(Schema):
    fulfilled_on: dt.date
    evidence: str = Field(..., min_length=1, max_length=2000)


def pairing_out(p: Pairing) -> dict[str, Any]:
    return {"id": p.pk, "kind": p.kind, "area": area_ref(p.area), "person_id": p.person_id, "unit_id": p.unit_id,
            "organisation_id": p.organisation_id, "target_person_id": p.target_person_id,
            "started_on": p.started_on, "ended_on": p.ended_on, "version": p.version}


@router.get("/pairings", response=dict, summary="结对")
def pairing_list(request: HttpRequest, area_id: int | None = None, kind: str = Query("", max_length=100),
                 limit: int = Query(50, ge=1, le=200),
                 after: str | None = Query(None, max_length=64)) -> dict[str, Any]:
    user = user_of(request)
    qs = _within(scoped(user, Pairing).select_related("area"), user, area_id, "area__path")
    if kind:
        qs = qs.filter(kind=kind)
    return page(qs, limit, after, pairing_out)


@router.get("/pairings/{pairing_id}", response=dict)
def pairing_get(request: HttpRequest, pairing_id: int) -> dict[str, Any]:
    pairing = get_scoped(user_of(request), Pairing.objects.select_related("area"), pairing_id)
    return {**pairing_out(pairing),
            "visits": list(pairing.visits.order_by("-visited_on").values("visited_on", "note")[:100]),
            "commitments": [{"id": c.pk, "title": c.title, "signed_on": c.signed_on,
                             "items": [{"id": i.pk, "text": i.text, "due_on": i.due_on,
                                        "fulfilled_on": i.fulfilled_on} for i in c.items.all()]}
                            for c in pairing.commitments.prefetch_related("items")]}


@router.post("/pairings", response={201: dict})
def pairing_create(request: HttpRequest, payload: PairingIn) -> Status[dict[str, Any]]:
    user = user_of(request)

    def fetch(model: type[Model], pk: int | None) -> Any:
        return get_scoped(user, model, pk) if pk else None

    pairing = services.pairing_create(
        actor=user, kind=payload.kind, started_on=payload.started_on,
        area=fetch(Area, payload.area_id), person=fetch(Person, payload.person_id),
        unit=MemberUnit.objects.filter(pk=payload.unit_id).first() if payload.unit_id else None,
        organisation=PartyOrganisation.objects.filter(pk=payload.organisation_id).first()
        if payload.organisation_id else None,
        target_person=fetch(Person, payload.target_person_id),
    )
    return Status(201, pairing_out(pairing))


@router.post("/pairings/{pairing_id}/end", response=dict, summary="结束结对")
def pairing_end(request: HttpRequest, pairing_id: int, payload: EndIn) -> dict[str, Any]:
    user = user_of(request)
    pairing = get_scoped(user, Pairing.objects.select_related("area"), pairing_id)
    return pairing_out(services.pairing_end(actor=user, pairing=pairing, ended_on=payload.on, reason=payload.reason,
                                            expected_version=payload.version))


@router.post("/pairings/{pairing_id}/visits", response={201: dict})
def visit_create(request: HttpRequest, pairing_id: int, payload: PairingVisitIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    visit = services.visit_record(actor=user, pairing=get_scoped(user, Pairing, pairing_id),
                                  visited_on=payload.visited_on, note=payload.note)
    return Status(201, {"id": visit.pk, "visited_on": visit.visited_on})


@router.post("/pairings/{pairing_id}/commitments", response={201: dict})
def commitment_create(request: HttpRequest, pairing_id: int, payload: CommitmentIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    items = []
    for i, item in enumerate(payload.items):
        text = item.get("text")
        if not isinstance(text, str) or len(text) > 300:
            raise InvalidInput.on(f"items[{i}].text", "承诺事项须为不超过300字的文字")
        due = item.get("due_on")
        try:
            items.append({"text": text, "due_on": dt.date.fromisoformat(due) if due else None})
        except (TypeError, ValueError):
            raise InvalidInput.on(f"items[{i}].due_on", "日期格式应为 2026-12-31") from None
    commitment = services.commitment_create(actor=user, pairing=get_scoped(user, Pairing, pairing_id),
                                            title=payload.title, signed_on=payload.signed_on, items=items)
    return Status(201, {"id": commitment.pk, "items": list(commitment.items.values("id", "text", "due_on"))})


@router.post("/commitment-items/{item_id}/fulfil", response=dict)
def item_fulfil(request: HttpRequest, item_id: int, payload: FulfilIn) -> dict[str, Any]:
    user = user_of(request)
    item = get_scoped(user, CommitmentItem.objects.select_related("commitment__pairing__area"), item_id)
    item = services.commitment_item_fulfil(actor=user, item=item, fulfilled_on=payload.fulfilled_on,
                                           evidence=payload.evidence)
    return {"id": item.pk, "fulfilled_on": item.fulfilled_on}


# ------------------------------------------------------------------------------------------ audit


def _auditable() -> dict[str, type[Model]]:
    from gongzhi.cases.models import Case
    from gongzhi.councils.models import AgendaItem, Council, Meeting

    return {
        "registry.area": Area, "registry.memberunit": MemberUnit, "registry.partyorganisation": PartyOrganisation,
        "registry.person": Person, "registry.pairing": Pairing, "registry.grassrootsgroup": GrassrootsGroup,
        "cases.case": Case, "councils.council": Council, "councils.meeting": Meeting, "councils.agendaitem": AgendaItem,
    }


@router.get("/audit/{object_type}/{object_id}", response=list[dict], summary="对象的变更记录 (R2)")
def audit_trail(request: HttpRequest, object_type: str, object_id: int) -> list[dict[str, Any]]:
    model = _auditable().get(object_type)
    if model is None:
        raise NotFound("未找到")
    user = user_of(request)
    obj = get_scoped(user, model, object_id)  # outside the scope: 404
    # Seeing the object is not enough: the trail is for those who may view audit records where it lives (R2).
    area_lookup = rule_for(model).area
    path = model._default_manager.filter(pk=obj.pk).values_list(area_lookup, flat=True).first() if area_lookup else None
    if path is None or not as_scope(user).can(Cap.VIEW_AUDIT, area_path=path):
        raise Forbidden("您无权查看该对象的变更记录")
    return [{"at": e.at, "actor": e.actor_name, "action": e.action, "before": e.before, "after": e.after,
             "reason": e.reason} for e in audit.entries_for(obj)]
