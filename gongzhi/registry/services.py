"""The registry's write path. Views, the API, Excel import, the demo city and tests all call these functions;
each one is atomic, checks the actor's capability on the node concerned and writes an audit record."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import shapely
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _
from shapely.geometry import mapping, shape

from gongzhi.accounts.roles import Cap
from gongzhi.core import audit
from gongzhi.core.errors import InvalidInput
from gongzhi.core.permissions import require
from gongzhi.core.validators import (
    bounded_text,
    normalize_credit_code,
    normalize_id_number,
    normalize_phone,
    visible_text,
)
from gongzhi.core.writes import apply_changes, validate

from .models import (
    CHILD_KINDS,
    PAIRING_SHAPES,
    Area,
    AreaKind,
    Commitment,
    CommitmentItem,
    CommitteeBody,
    DualRegistration,
    GrassrootsGroup,
    GrassrootsSurvey,
    GroupOutcome,
    MemberUnit,
    OrganisationPost,
    OrgLevel,
    Pairing,
    PairingVisit,
    PartyMember,
    PartyOrganisation,
    Person,
    PostKind,
    Sector,
    StaffPost,
    SurveyEntry,
)

AREA_FIELDS = ("name", "code", "kind", "households", "population", "boundary")
NOTE_MAX = 2000  # survey notes, visit notes, fulfilment evidence (TextFields: the services keep the bound)


def clean_boundary(value: Any, field: str = "boundary") -> dict[str, Any] | None:
    """Accept a GeoJSON Polygon/MultiPolygon (or a Feature wrapping one); refuse anything shapely finds invalid."""
    if value in (None, "", {}):
        return None
    if not isinstance(value, dict):
        raise InvalidInput.on(field, _("边界须为 GeoJSON 对象"))
    geometry = value.get("geometry") if value.get("type") == "Feature" else value
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise InvalidInput.on(field, _("边界须为 Polygon 或 MultiPolygon"))
    try:
        geom = shape(geometry)
    except Exception:  # shapely raises several types for malformed coordinates
        raise InvalidInput.on(field, _("边界坐标格式错误")) from None
    if geom.is_empty or not geom.is_valid:
        raise InvalidInput.on(field, _("边界多边形无效（自相交或为空）"))
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidInput.on(field, _("边界坐标须为经纬度（WGS84）"))
    if geom.has_z:  # a surveyed boundary often carries heights; the map and the point lookup are flat
        geom = shapely.force_2d(geom)
    return _plain(mapping(geom))


def _plain(geometry: Any) -> Any:
    """GeoJSON with lists, not shapely's tuples (the stored JSON is compared and re-read as lists)."""
    if isinstance(geometry, dict):
        return {key: _plain(value) for key, value in geometry.items()}
    if isinstance(geometry, (list, tuple)):
        return [_plain(value) for value in geometry]
    return geometry


def _non_negative(field: str, value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput.on(field, _("须为非负整数")) from None
    if number < 0:
        raise InvalidInput.on(field, _("须为非负整数"))
    return number


# ---------------------------------------------------------------- areas (A1)

# Estates and buildings change where people live and work: a street or community keeps the 小区 and 楼栋 inside her
# area up to date (an official's 台账 adds a new compound); the levels above them are the tree editor's.
LOCAL_AREA_KINDS = (AreaKind.COMPOUND, AreaKind.BUILDING)


def _require_tree(actor: Any, kind: str, area_path: str) -> None:
    cap = Cap.EDIT_REGISTRY if kind in LOCAL_AREA_KINDS else Cap.EDIT_AREA_TREE
    require(actor, cap, area_path=area_path)


@transaction.atomic
def area_create(
    *,
    actor: Any,
    parent: Area | None,
    name: str,
    code: str,
    kind: str,
    households: int = 0,
    population: int = 0,
    boundary: dict[str, Any] | None = None,
    reason: str = "",
) -> Area:
    _require_tree(actor, kind, parent.path if parent else "")
    if parent is None:
        if kind != AreaKind.CITY:
            raise InvalidInput.on("parent", _("只有市级节点可以没有上级"))
    elif kind not in CHILD_KINDS.get(parent.kind, ()):
        raise InvalidInput.on("kind", _("该层级不能设在所选上级之下"))
    area = Area(
        name=visible_text(name, "name", max_length=100),
        code=(code or "").strip(),
        kind=kind,
        households=_non_negative("households", households),
        population=_non_negative("population", population),
        boundary=clean_boundary(boundary),
    )
    validate(area, exclude=["path", "depth", "numchild"])
    area = Area.objects.add_child(parent, instance=area) if parent else Area.objects.add_root(instance=area)
    audit.record(actor=actor, action="registry.area.create", obj=area, after=audit.snapshot(area, AREA_FIELDS[:5]),
                 reason=reason)
    _touch_grid_index(area)
    return area


@transaction.atomic
def area_update(*, actor: Any, area: Area, changes: dict[str, Any], reason: str = "",
                expected_version: int | None = None) -> Area:
    _require_tree(actor, area.kind, area.path)
    changes = dict(changes)
    if "kind" in changes and changes["kind"] != area.kind:
        raise InvalidInput.on("kind", _("节点层级创建后不可修改"))
    changes.pop("kind", None)
    if "name" in changes:
        changes["name"] = visible_text(changes["name"], "name", max_length=100)
    for f in ("households", "population"):
        if f in changes:
            changes[f] = _non_negative(f, changes[f])
    if "boundary" in changes:
        changes["boundary"] = clean_boundary(changes["boundary"])
    apply_changes(actor=actor, obj=area, changes=changes, allowed=AREA_FIELDS, action="registry.area.update",
                  reason=reason, exclude_validation=["path", "depth", "numchild"], expected_version=expected_version)
    if "boundary" in changes:
        _touch_grid_index(area)
    return area


def _touch_grid_index(area: Area) -> None:
    if area.kind == AreaKind.GRID:
        from .geo import invalidate_grid_index

        transaction.on_commit(invalidate_grid_index)


# ---------------------------------------------------------------- member units (A3)

UNIT_FIELDS = ("name", "credit_code", "sector", "area", "address", "contact_name", "contact_phone", "staff_count")


@transaction.atomic
def unit_create(*, actor: Any, area: Area, name: str, credit_code: str, sector: str, address: str = "",
                contact_name: str = "", contact_phone: str = "", staff_count: int = 0, reason: str = "") -> MemberUnit:
    require(actor, Cap.EDIT_REGISTRY, area_path=area.path)
    unit = MemberUnit(
        area=area,
        name=visible_text(name, "name", max_length=150),
        credit_code=normalize_credit_code(credit_code),
        sector=sector,
        address=address.strip(),
        contact_name=contact_name.strip(),
        contact_phone=normalize_phone(contact_phone, "contact_phone") if contact_phone else "",
        staff_count=_non_negative("staff_count", staff_count),
    )
    validate(unit)
    unit.save()
    audit.record(actor=actor, action="registry.unit.create", obj=unit, after=audit.snapshot(unit, UNIT_FIELDS),
                 reason=reason)
    return unit


@transaction.atomic
def unit_update(*, actor: Any, unit: MemberUnit, changes: dict[str, Any], reason: str = "",
                expected_version: int | None = None) -> MemberUnit:
    require(actor, Cap.EDIT_REGISTRY, area_path=unit.area.path)
    changes = dict(changes)
    if "name" in changes:
        changes["name"] = visible_text(changes["name"], "name", max_length=150)
    if "credit_code" in changes:
        changes["credit_code"] = normalize_credit_code(changes["credit_code"])
    if changes.get("contact_phone"):
        changes["contact_phone"] = normalize_phone(changes["contact_phone"], "contact_phone")
    if "area" in changes:
        require(actor, Cap.EDIT_REGISTRY, area_path=changes["area"].path)
    return apply_changes(actor=actor, obj=unit, changes=changes, allowed=UNIT_FIELDS,
                         action="registry.unit.update", reason=reason, expected_version=expected_version)


# ---------------------------------------------------------------- party organisations (A2)

ORG_FIELDS = ("name", "level", "sector", "area", "parent", "unit", "has_joint_committee", "founded_on")


@transaction.atomic
def party_org_create(
    *,
    actor: Any,
    area: Area,
    name: str,
    level: str,
    sector: str = Sector.COMMUNITY,
    parent: PartyOrganisation | None = None,
    unit: MemberUnit | None = None,
    covered_units: list[MemberUnit] | None = None,
    has_joint_committee: bool = False,
    founded_on: dt.date | None = None,
    reason: str = "",
) -> PartyOrganisation:
    require(actor, Cap.EDIT_PARTY, area_path=area.path)
    if parent is not None and parent.pk and not area.path.startswith(parent.area.path):
        raise InvalidInput.on("parent", _("上级党组织须位于本组织所在区域或其上级区域"))
    if unit is not None and sector == Sector.COMMUNITY:
        sector = unit.sector
    org = PartyOrganisation(
        area=area, name=visible_text(name, "name", max_length=150), level=level, sector=sector, parent=parent,
        unit=unit, has_joint_committee=has_joint_committee, founded_on=founded_on,
    )
    validate(org)
    org.save()
    if covered_units:
        if level != OrgLevel.JOINT_BRANCH:
            raise InvalidInput.on("covered_units", _("只有联合党支部可以覆盖多个单位"))
        org.covered_units.set(covered_units)
    audit.record(
        actor=actor, action="registry.party_org.create", obj=org,
        after={**audit.snapshot(org, ORG_FIELDS), "covered_units": [u.pk for u in covered_units or []]},
        reason=reason,
    )
    return org


@transaction.atomic
def party_org_update(*, actor: Any, org: PartyOrganisation, changes: dict[str, Any],
                     reason: str = "", expected_version: int | None = None) -> PartyOrganisation:
    require(actor, Cap.EDIT_PARTY, area_path=org.area.path)
    changes = dict(changes)
    if "name" in changes:
        changes["name"] = visible_text(changes["name"], "name", max_length=150)
    area = changes.get("area", org.area)
    if "area" in changes:
        require(actor, Cap.EDIT_PARTY, area_path=area.path)
    parent = changes.get("parent", org.parent)
    if parent is not None:
        if parent.pk == org.pk:
            raise InvalidInput.on("parent", _("上级党组织不能是本组织"))
        ancestor, seen = parent, set()
        while ancestor is not None and ancestor.pk not in seen:  # no cycle: the new parent is not below this one
            if ancestor.parent_id == org.pk:
                raise InvalidInput.on("parent", _("上级党组织不能是本组织的下级"))
            seen.add(ancestor.pk)
            ancestor = ancestor.parent
        if not area.path.startswith(parent.area.path):
            raise InvalidInput.on("parent", _("上级党组织须位于本组织所在区域或其上级区域"))
    return apply_changes(actor=actor, obj=org, changes=changes, allowed=ORG_FIELDS,
                         action="registry.party_org.update", reason=reason, expected_version=expected_version)


@transaction.atomic
def org_post_create(*, actor: Any, organisation: PartyOrganisation, person: Person, title: str,
                    body: str = CommitteeBody.COMMITTEE, is_part_time: bool = False,
                    representing: MemberUnit | None = None, since: dt.date | None = None,
                    reason: str = "") -> OrganisationPost:
    """A seat on a committee; a part-time member of a 大工委/大党委 (兼职委员) usually represents a member unit."""
    require(actor, Cap.EDIT_PARTY, area_path=organisation.area.path)
    if body == CommitteeBody.JOINT and not organisation.has_joint_committee:
        raise InvalidInput.on("body", _("该党组织未设大工委/大党委"))
    post = OrganisationPost(organisation=organisation, person=person, body=body,
                            title=visible_text(title, "title", max_length=30),
                            is_part_time=is_part_time, representing=representing, since=since)
    validate(post)
    post.save()
    audit.record(actor=actor, action="registry.org_post.create", obj=post,
                 after=audit.snapshot(post, ("organisation", "person", "body", "title", "is_part_time",
                                             "representing")), reason=reason)
    return post


# ---------------------------------------------------------------- people (A5)

PERSON_FIELDS = ("name", "gender", "birth_year", "id_number", "phone", "area", "is_vulnerable")


def _clean_person_fields(values: dict[str, Any]) -> dict[str, Any]:
    values = dict(values)
    if values.get("id_number"):
        values["id_number"] = normalize_id_number(values["id_number"])
        if not values.get("birth_year"):
            values["birth_year"] = int(values["id_number"][6:10])
        if not values.get("gender"):
            values["gender"] = "M" if int(values["id_number"][16]) % 2 else "F"
    elif "id_number" in values:
        values["id_number"] = None
    if values.get("phone"):
        values["phone"] = normalize_phone(values["phone"])
    if "name" in values:
        values["name"] = visible_text(values["name"], "name", max_length=50)
    return values


# People live in a 小区 or a 楼栋: a community, grid or street is a territory, not an address.
PERSON_AREA_KINDS = (AreaKind.COMPOUND, AreaKind.BUILDING)


def _person_area(area: Area) -> Area:
    if area.kind not in PERSON_AREA_KINDS:
        raise InvalidInput.on("area", _("人员须登记在小区或楼栋，不能登记在“{name}”（{kind}）").format(
            name=area.name, kind=area.get_kind_display()))
    return area


@transaction.atomic
def person_create(*, actor: Any, area: Area, name: str, phone: str = "", id_number: str | None = None,
                  gender: str = "", birth_year: int | None = None, is_vulnerable: bool = False, user: Any = None,
                  reason: str = "") -> Person:
    require(actor, Cap.EDIT_PEOPLE, area_path=area.path)
    _person_area(area)
    values = _clean_person_fields({"name": name, "phone": phone, "id_number": id_number, "gender": gender,
                                   "birth_year": birth_year})
    person = Person(area=area, is_vulnerable=is_vulnerable, user=user, **values)
    validate(person)
    person.save()
    if user is not None:
        from gongzhi.core.scope import bump_generation, forget_scope

        forget_scope(user.pk)  # their scope now includes their own person
        bump_generation(user.pk)  # …in every process, not only this one
    audit.record(actor=actor, action="registry.person.create", obj=person,
                 after=audit.snapshot(person, PERSON_FIELDS), reason=reason)
    return person


@transaction.atomic
def person_link_account(*, actor: Any, person: Person, user: Any, reason: str = "") -> Person:
    """Her account becomes hers on the registry: she then sees her own record and cases (a resident confirmed by
    her community). Refused when the record belongs to another account."""
    require(actor, Cap.EDIT_PEOPLE, area_path=person.area.path)
    if person.user_id and person.user_id != user.pk:
        raise InvalidInput.on("person", _("该居民档案已关联其他账号"))
    if person.user_id == user.pk:
        return person
    Person.objects.filter(pk=person.pk).update(user=user)
    person.user = user
    from gongzhi.core.scope import bump_generation, forget_scope

    forget_scope(user.pk)
    bump_generation(user.pk)
    audit.record(actor=actor, action="registry.person.link", obj=person, after={"user": user.get_username()},
                 reason=reason)
    return person


@transaction.atomic
def person_update(*, actor: Any, person: Person, changes: dict[str, Any], reason: str = "",
                  expected_version: int | None = None) -> Person:
    require(actor, Cap.EDIT_PEOPLE, area_path=person.area.path)
    changes = _clean_person_fields(changes)
    if "area" in changes:
        require(actor, Cap.EDIT_PEOPLE, area_path=changes["area"].path)
        _person_area(changes["area"])
    return apply_changes(actor=actor, obj=person, changes=changes, allowed=PERSON_FIELDS,
                         action="registry.person.update", reason=reason, expected_version=expected_version)


MEMBER_FIELDS = ("organisation", "status", "joined_on", "work_unit", "in_service", "is_mobile", "outflow_place",
                 "inflow_place", "needs_home_study")


@transaction.atomic
def party_member_register(*, actor: Any, person: Person, organisation: PartyOrganisation, status: str = "full",
                          joined_on: dt.date | None = None, work_unit: MemberUnit | None = None,
                          in_service: bool = False, is_mobile: bool = False, outflow_place: str = "",
                          inflow_place: str = "", needs_home_study: bool = False, reason: str = "") -> PartyMember:
    require(actor, Cap.EDIT_PARTY, area_path=organisation.area.path)
    if PartyMember.objects.filter(person=person).exists():
        raise InvalidInput.on("person", _("此人已登记为党员"))
    if is_mobile and not (outflow_place or inflow_place):
        raise InvalidInput.on("outflow_place", _("流动党员须填写流出地或流入地"))
    member = PartyMember(person=person, organisation=organisation, status=status, joined_on=joined_on,
                         work_unit=work_unit, in_service=in_service or work_unit is not None, is_mobile=is_mobile,
                         outflow_place=outflow_place.strip(), inflow_place=inflow_place.strip(),
                         needs_home_study=needs_home_study)
    validate(member)
    member.save()
    audit.record(actor=actor, action="registry.party_member.create", obj=member,
                 after=audit.snapshot(member, MEMBER_FIELDS), reason=reason)
    return member


@transaction.atomic
def party_member_update(*, actor: Any, member: PartyMember, changes: dict[str, Any],
                        reason: str = "", expected_version: int | None = None) -> PartyMember:
    require(actor, Cap.EDIT_PARTY, area_path=member.organisation.area.path)
    changes = dict(changes)
    if "organisation" in changes:
        require(actor, Cap.EDIT_PARTY, area_path=changes["organisation"].area.path)
    for place in ("outflow_place", "inflow_place"):
        if place in changes:
            changes[place] = (changes[place] or "").strip()
    is_mobile = changes.get("is_mobile", member.is_mobile)
    if is_mobile and not (changes.get("outflow_place", member.outflow_place)
                          or changes.get("inflow_place", member.inflow_place)):
        raise InvalidInput.on("outflow_place", _("流动党员须填写流出地或流入地"))
    if changes.get("work_unit") is not None and not changes.get("in_service", member.in_service):
        raise InvalidInput.on("in_service", _("填写了工作单位的党员须为在职党员"))
    return apply_changes(actor=actor, obj=member, changes=changes, allowed=MEMBER_FIELDS,
                         action="registry.party_member.update", reason=reason, expected_version=expected_version)


@transaction.atomic
def dual_register(*, actor: Any, community: Area, registered_on: dt.date, party_member: PartyMember | None = None,
                  unit: MemberUnit | None = None, reason: str = "") -> DualRegistration:
    """双报到: in-service members report to their residence community; units to the community they serve."""
    require(actor, Cap.EDIT_PARTY, area_path=community.path)
    if community.kind != AreaKind.COMMUNITY:
        raise InvalidInput.on("community", _("须报到到社区"))
    if (party_member is None) == (unit is None):
        raise InvalidInput.on("party_member", _("须指定报到的党员或单位（二者选一）"))
    if party_member is not None and not party_member.in_service:
        raise InvalidInput.on("party_member", _("只有在职党员需要双报到"))
    if DualRegistration.objects.filter(community=community, party_member=party_member, unit=unit).exists():
        raise InvalidInput.on("party_member" if party_member is not None else "unit", _("已向该社区报到过"))
    reg = DualRegistration(community=community, registered_on=registered_on, party_member=party_member, unit=unit)
    validate(reg)
    reg.save()
    audit.record(actor=actor, action="registry.dual_registration.create", obj=reg,
                 after=audit.snapshot(reg, ("community", "party_member", "unit", "registered_on")), reason=reason)
    return reg


POST_AREA_KINDS: dict[str, tuple[str, ...]] = {
    PostKind.COMMUNITY_WORKER: (AreaKind.COMMUNITY,),
    PostKind.GRID_WORKER: (AreaKind.GRID, AreaKind.COMPOUND),
    PostKind.BUILDING_LEADER: (AreaKind.BUILDING,),
}


@transaction.atomic
def staff_post_assign(*, actor: Any, person: Person, kind: str, area: Area, grade: str = "",
                      since: dt.date | None = None, reason: str = "") -> StaffPost:
    require(actor, Cap.EDIT_PEOPLE, area_path=area.path)
    kinds = POST_AREA_KINDS.get(kind)
    if kinds and area.kind not in kinds:
        raise InvalidInput.on("area", _("该岗位不能设在此类节点"))
    post = StaffPost(person=person, kind=kind, area=area, grade=grade.strip(), since=since)
    validate(post)
    post.save()
    audit.record(actor=actor, action="registry.staff_post.create", obj=post,
                 after=audit.snapshot(post, ("person", "kind", "area", "grade", "since")), reason=reason)
    return post


@transaction.atomic
def staff_post_end(*, actor: Any, post: StaffPost, until: dt.date, reason: str = "",
                   expected_version: int | None = None) -> StaffPost:
    require(actor, Cap.EDIT_PEOPLE, area_path=post.area.path)
    if post.until is not None:
        raise InvalidInput.on("until", _("该岗位已离任"))
    if post.since and until < post.since:
        raise InvalidInput.on("until", _("离任日期不能早于任职日期"))
    return apply_changes(actor=actor, obj=post, changes={"until": until}, allowed=("until",),
                         action="registry.staff_post.end", reason=reason, expected_version=expected_version)


# ---------------------------------------------------------------- grassroots survey (A4)


@transaction.atomic
def grassroots_group_create(*, actor: Any, area: Area, name: str, kind: str, member_count: int = 0,
                            party_member_count: int = 0, reason: str = "") -> GrassrootsGroup:
    require(actor, Cap.EDIT_REGISTRY, area_path=area.path)
    group = GrassrootsGroup(area=area, name=visible_text(name, "name", max_length=100),
                            kind=visible_text(kind, "kind", max_length=30),
                            member_count=_non_negative("member_count", member_count),
                            party_member_count=_non_negative("party_member_count", party_member_count))
    if group.party_member_count > group.member_count:
        raise InvalidInput.on("party_member_count", _("党员数不能多于成员数"))
    validate(group)
    group.save()
    audit.record(actor=actor, action="registry.grassroots_group.create", obj=group,
                 after=audit.snapshot(group, ("name", "kind", "area", "member_count", "party_member_count")),
                 reason=reason)
    return group


# 本溪: a group with three or more party members can form its own organisation (党章: 3 full members).
MIN_MEMBERS_FOR_ORG = 3


@transaction.atomic
def survey_record(*, actor: Any, area: Area, conducted_on: dt.date, entries: list[dict[str, Any]],
                  note: str = "") -> GrassrootsSurvey:
    """Record one census round: each entry updates the group's counts and says whether it can form an org."""
    require(actor, Cap.EDIT_REGISTRY, area_path=area.path)
    if not entries:
        raise InvalidInput.on("entries", _("排查须至少登记一个草根组织"))
    seen: set[int] = set()
    for i, entry in enumerate(entries):
        if entry["group"].pk in seen:
            raise InvalidInput.on(f"entries[{i}].group", _("同一组织在一次排查中只能登记一次"))
        seen.add(entry["group"].pk)
    survey = GrassrootsSurvey(area=area, conducted_on=conducted_on, note=bounded_text(note, "note", NOTE_MAX))
    validate(survey)
    survey.save()
    for i, entry in enumerate(entries):
        group: GrassrootsGroup = entry["group"]
        if not group.area.path.startswith(area.path):
            raise InvalidInput.on(f"entries[{i}].group", _("该组织不在排查区域内"))
        members = _non_negative(f"entries[{i}].member_count", entry.get("member_count", group.member_count))
        party = _non_negative(f"entries[{i}].party_member_count",
                              entry.get("party_member_count", group.party_member_count))
        if party > members:
            raise InvalidInput.on(f"entries[{i}].party_member_count", _("党员数不能多于成员数"))
        SurveyEntry.objects.create(survey=survey, group=group, member_count=members, party_member_count=party,
                                   can_form_org=party >= MIN_MEMBERS_FOR_ORG)
        apply_changes(actor=actor, obj=group,
                      changes={"member_count": members, "party_member_count": party, "last_surveyed_on": conducted_on},
                      allowed=("member_count", "party_member_count", "last_surveyed_on"),
                      action="registry.grassroots_group.survey", reason=f"排查 {conducted_on}")
    audit.record(actor=actor, action="registry.survey.create", obj=survey,
                 after={"area": area.code, "conducted_on": conducted_on, "entries": len(entries)})
    return survey


@transaction.atomic
def group_form_party_org(*, actor: Any, group: GrassrootsGroup, name: str, parent: PartyOrganisation,
                         founded_on: dt.date, reason: str = "") -> PartyOrganisation:
    """The group qualifies: found its party organisation and close the survey item."""
    if group.outcome == GroupOutcome.ORG_FORMED:
        raise InvalidInput.on("group", _("该组织已组建党组织"))
    if group.party_member_count < MIN_MEMBERS_FOR_ORG:
        raise InvalidInput.on("group", _("正式党员不足3名，不具备单独组建条件，请选派党建指导员"))
    org = party_org_create(actor=actor, area=group.area, name=name, level=OrgLevel.BRANCH,
                           sector=Sector.GRASSROOTS, parent=parent, founded_on=founded_on, reason=reason)
    apply_changes(actor=actor, obj=group, changes={"outcome": GroupOutcome.ORG_FORMED, "party_org": org},
                  allowed=("outcome", "party_org"), action="registry.grassroots_group.outcome", reason=reason)
    return org


@transaction.atomic
def group_assign_instructor(*, actor: Any, group: GrassrootsGroup, instructor: Person,
                            since: dt.date, reason: str = "") -> GrassrootsGroup:
    """The group cannot form an organisation: a 党建指导员 brings it under the party's guidance."""
    require(actor, Cap.EDIT_REGISTRY, area_path=group.area.path)
    if group.outcome == GroupOutcome.ORG_FORMED:
        raise InvalidInput.on("group", _("该组织已组建党组织"))
    if not StaffPost.objects.filter(person=instructor, kind=PostKind.INSTRUCTOR, until__isnull=True).exists():
        staff_post_assign(actor=actor, person=instructor, kind=PostKind.INSTRUCTOR, area=group.area, since=since,
                          reason=reason)
    return apply_changes(actor=actor, obj=group,
                         changes={"outcome": GroupOutcome.INSTRUCTOR, "instructor": instructor},
                         allowed=("outcome", "instructor"), action="registry.grassroots_group.outcome",
                         reason=reason)


# ---------------------------------------------------------------- pairings (A6)


@transaction.atomic
def pairing_create(*, actor: Any, kind: str, area: Area | None = None, started_on: dt.date,
                   person: Person | None = None, unit: MemberUnit | None = None,
                   organisation: PartyOrganisation | None = None, target_person: Person | None = None,
                   reason: str = "") -> Pairing:
    shape_ = PAIRING_SHAPES.get(kind)
    if shape_ is None:
        raise InvalidInput.on("kind", _("未知结对类型"))
    side, area_kinds = shape_
    given = {"person": person, "unit": unit, "organisation": organisation}
    if given[side] is None or any(v is not None for k, v in given.items() if k != side):
        raise InvalidInput.on(side, _("该结对类型须且只须指定一方：{side}").format(side=side))
    if area_kinds:
        if area is None or area.kind not in area_kinds:
            raise InvalidInput.on("area", _("结对区域层级不符合该结对类型"))
        if target_person is not None:
            raise InvalidInput.on("target_person", _("该结对类型不结对个人"))
    else:
        if target_person is None:
            raise InvalidInput.on("target_person", _("须指定结对对象"))
        if not target_person.is_vulnerable:
            raise InvalidInput.on("target_person", _("结对对象须为登记的困难/独居群众"))
        area = target_person.area
    assert area is not None
    require(actor, Cap.EDIT_REGISTRY, area_path=area.path)
    pairing = Pairing(kind=kind, area=area, started_on=started_on, person=person, unit=unit,
                      organisation=organisation, target_person=target_person)
    validate(pairing)
    pairing.save()
    audit.record(actor=actor, action="registry.pairing.create", obj=pairing,
                 after=audit.snapshot(pairing, ("kind", "area", "person", "unit", "organisation", "target_person",
                                                "started_on")), reason=reason)
    return pairing


@transaction.atomic
def pairing_end(*, actor: Any, pairing: Pairing, ended_on: dt.date, reason: str = "",
                expected_version: int | None = None) -> Pairing:
    require(actor, Cap.EDIT_REGISTRY, area_path=pairing.area.path)
    if pairing.ended_on is not None:
        raise InvalidInput.on("ended_on", _("该结对已结束"))
    if ended_on < pairing.started_on:
        raise InvalidInput.on("ended_on", _("结束日期不能早于开始日期"))
    return apply_changes(actor=actor, obj=pairing, changes={"ended_on": ended_on}, allowed=("ended_on",),
                         action="registry.pairing.end", reason=reason, expected_version=expected_version)


@transaction.atomic
def visit_record(*, actor: Any, pairing: Pairing, visited_on: dt.date, note: str = "") -> PairingVisit:
    require(actor, Cap.EDIT_REGISTRY, area_path=pairing.area.path)
    if visited_on < pairing.started_on:
        raise InvalidInput.on("visited_on", _("走访日期不能早于结对开始日期"))
    visit = PairingVisit(pairing=pairing, visited_on=visited_on, note=bounded_text(note, "note", NOTE_MAX))
    validate(visit)
    visit.save()
    audit.record(actor=actor, action="registry.visit.create", obj=visit,
                 after={"pairing": pairing.pk, "visited_on": visited_on})
    return visit


@transaction.atomic
def commitment_create(*, actor: Any, pairing: Pairing, title: str, signed_on: dt.date,
                      items: list[dict[str, Any]]) -> Commitment:
    require(actor, Cap.EDIT_REGISTRY, area_path=pairing.area.path)
    if not items:
        raise InvalidInput.on("items", _("承诺书至少须有一项承诺事项"))
    commitment = Commitment(pairing=pairing, title=visible_text(title, "title", max_length=150), signed_on=signed_on)
    validate(commitment)
    commitment.save()
    for i, item in enumerate(items):
        row = CommitmentItem(commitment=commitment, due_on=item.get("due_on"),
                             text=visible_text(item.get("text"), f"items[{i}].text", max_length=300))
        validate(row)
        row.save()
    audit.record(actor=actor, action="registry.commitment.create", obj=commitment,
                 after={"title": commitment.title, "items": [i.get("text") for i in items]})
    return commitment


@transaction.atomic
def commitment_item_fulfil(*, actor: Any, item: CommitmentItem, fulfilled_on: dt.date, evidence: str,
                           reason: str = "") -> CommitmentItem:
    require(actor, Cap.EDIT_REGISTRY, area_path=item.commitment.pairing.area.path)
    if item.fulfilled_on:
        raise InvalidInput.on("item", _("该事项已兑现"))
    evidence = visible_text(evidence, "evidence")
    bounded_text(evidence, "evidence", NOTE_MAX)
    return apply_changes(actor=actor, obj=item, changes={"fulfilled_on": fulfilled_on, "evidence": evidence},
                         allowed=("fulfilled_on", "evidence"), action="registry.commitment_item.fulfil",
                         reason=reason)


# ---------------------------------------------------------------- boundaries in bulk (一张图's geometry)


@dataclass
class BoundaryImport:
    """What a boundary file did (or, on a dry run, would do): areas matched by code, the features left unmatched."""

    updated: list[tuple[int, str, str]]  # (area id, code, name)
    unmatched: list[tuple[int, str, str]]  # (feature number from 1, code, name)
    dry_run: bool


def boundaries_import(*, actor: Any, data: bytes, filename: str, crs: str = "WGS84", code_field: str | None = None,
                      name_field: str | None = None, dry_run: bool = False) -> BoundaryImport:
    """Boundaries from a GeoJSON or zipped Shapefile (in the declared CRS, reprojected to WGS-84), matched to the
    areas by their code (区划代码/网格编码). All or nothing: a malformed feature, an area outside the actor's tree or
    a code twice in the file refuses the whole file, naming the field and the feature. Each changed area gets its
    own audit entry."""
    from .geo_io import GeoInputError, read_features

    try:
        features = read_features(data, filename, crs=crs, name_field=name_field, code_field=code_field)
    except GeoInputError as exc:
        raise InvalidInput.on(exc.field, exc.message) from None
    codes = [f.code for f in features]
    seen: set[str] = set()
    for number, code in enumerate(codes, start=1):
        if not code:
            raise InvalidInput.on("code_field", _("第 %(n)d 个要素没有编码，无法对应到区域") % {"n": number})
        if code in seen:
            raise InvalidInput.on("file", _("编码 %(code)s 在文件中出现了两次") % {"code": code})
        seen.add(code)
    areas = {a.code: a for a in Area.objects.filter(code__in=codes)}
    updated, unmatched, changed, entries = [], [], [], []
    for number, feature in enumerate(features, start=1):
        area = areas.get(feature.code)
        if area is None:
            unmatched.append((number, feature.code, feature.name))
            continue
        cap = Cap.EDIT_REGISTRY if area.kind in LOCAL_AREA_KINDS else Cap.EDIT_AREA_TREE
        require(actor, cap, area_path=area.path)
        boundary = clean_boundary(feature.geometry, "file")
        updated.append((area.pk, area.code, area.name))
        if boundary == area.boundary:
            continue
        entries.append(audit.pending(actor=actor, action="registry.area.update", obj=area,
                                     before={"had_boundary": area.boundary is not None},
                                     after={"boundary_from": f"{filename} #{number}"}, reason=_("导入边界文件")))
        area.boundary = boundary
        area.version = F("version") + 1  # as area_update steps it: an edit form opened before the import is stale
        changed.append(area)
    if not dry_run and changed:
        with transaction.atomic():
            Area.objects.bulk_update(changed, ["boundary", "version"], batch_size=500)
            audit.record_many(entries)
            from .geo import invalidate_grid_index

            transaction.on_commit(invalidate_grid_index)
    return BoundaryImport(updated=updated, unmatched=unmatched, dry_run=dry_run)
