"""The registry's write path: validation by field, nothing half-written, audit of every change, permissions."""

from __future__ import annotations

import datetime as dt

import pytest

from gongzhi.core.errors import Forbidden, InvalidInput
from gongzhi.core.models import AuditEntry
from gongzhi.registry import services as registry
from gongzhi.registry.models import (
    Area,
    AreaKind,
    CommitmentItem,
    GroupOutcome,
    MemberUnit,
    OrgLevel,
    PairingKind,
    PartyOrganisation,
    Person,
    Sector,
)
from tests.cast import Cast, square

CREDIT = "91350100M000100Y43"


def test_creating_an_area_under_the_wrong_level_names_the_kind_field(cast: Cast) -> None:
    before = Area.objects.count()
    with pytest.raises(InvalidInput) as exc:
        registry.area_create(actor=cast.admin, parent=cast.street, name="错层网格", code="X1", kind=AreaKind.GRID)
    assert list(exc.value.fields) == ["kind"]
    assert Area.objects.count() == before


def test_a_self_intersecting_boundary_is_refused(cast: Cast) -> None:
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    with pytest.raises(InvalidInput) as exc:
        registry.area_create(actor=cast.admin, parent=cast.community, name="坏网格", code="X2", kind="grid",
                             boundary=bowtie)
    assert "boundary" in exc.value.fields
    assert not Area.objects.filter(code="X2").exists()


def test_a_boundary_with_heights_is_stored_flat_and_its_pages_draw(cast: Cast) -> None:
    """Surveyed boundaries carry Z values; they used to make the report and area pages answer 500."""
    from django.test import Client
    from django.urls import reverse

    from gongzhi.registry.geo import grid_at, invalidate_grid_index

    ring = [[123.45, 41.80, 12.5], [123.46, 41.80, 13.0], [123.46, 41.81, 12.0], [123.45, 41.81, 12.2],
            [123.45, 41.80, 12.5]]
    grid = registry.area_create(actor=cast.admin, parent=cast.community, name="高程网格", code="X3", kind="grid",
                                boundary={"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}})
    grid.refresh_from_db()
    assert grid.boundary == {"type": "Polygon", "coordinates": [[p[:2] for p in ring]]}
    invalidate_grid_index()
    found = grid_at(123.455, 41.805)
    assert found is not None and found.pk == grid.pk
    client = Client()
    client.force_login(cast.admin)
    assert client.get(reverse("web:area", args=[grid.pk])).status_code == 200
    assert client.get(reverse("web:area", args=[cast.community.pk])).status_code == 200
    client.force_login(cast.bob)
    assert client.get(reverse("cases:report")).status_code == 200


def test_area_codes_are_unique(cast: Cast) -> None:
    with pytest.raises(InvalidInput) as exc:
        registry.area_create(actor=cast.admin, parent=cast.community, name="重复", code=cast.grid1.code, kind="grid")
    assert "code" in exc.value.fields


def test_area_update_is_audited_with_before_after_and_reason(cast: Cast) -> None:
    registry.area_update(actor=cast.admin, area=cast.grid1, changes={"households": 455}, reason="入户核查")
    entry = AuditEntry.objects.filter(action="registry.area.update").latest("id")
    assert entry.before == {"households": 400} and entry.after == {"households": 455}
    assert entry.reason == "入户核查" and entry.actor_name == "admin" and entry.area_path == cast.grid1.path


def test_only_the_tree_editor_may_change_the_tree(cast: Cast) -> None:
    with pytest.raises(Forbidden):
        registry.area_update(actor=cast.alice, area=cast.grid1, changes={"households": 1})


def test_a_unit_with_a_bad_credit_code_is_refused_and_not_written(cast: Cast) -> None:
    with pytest.raises(InvalidInput) as exc:
        registry.unit_create(actor=cast.alice, area=cast.community, name="某公司", credit_code="91350100M000100Y44",
                             sector=Sector.NON_PUBLIC)
    assert "credit_code" in exc.value.fields
    assert MemberUnit.objects.count() == 0


def test_a_community_worker_cannot_register_a_unit_in_another_community(cast: Cast) -> None:
    with pytest.raises(Forbidden):
        registry.unit_create(actor=cast.charlie, area=cast.community, name="某公司", credit_code=CREDIT,
                             sector=Sector.NON_PUBLIC)


def test_people_are_stored_once_with_their_numbers_and_audited_masked(cast: Cast) -> None:
    person = registry.person_create(actor=cast.alice, area=cast.building, name="王芳", phone="139 0000 1111",
                                    id_number="440524188001010014")
    assert person.phone == "13900001111" and person.birth_year == 1880 and person.gender == "M"
    entry = AuditEntry.objects.get(action="registry.person.create", object_id=str(person.pk))
    assert entry.after["phone"] == "139****1111"
    assert entry.after["id_number"] == "440***********0014"
    assert "13900001111" not in str(entry.after)


def test_a_second_person_with_the_same_id_number_is_refused(cast: Cast) -> None:
    with pytest.raises(InvalidInput) as exc:
        registry.person_create(actor=cast.alice, area=cast.building, name="冒名", id_number="11010519491231002X")
    assert "id_number" in exc.value.fields


def test_a_mobile_party_member_needs_a_place(cast: Cast) -> None:
    branch = registry.party_org_create(actor=cast.olga, area=cast.grid1, name="第1网格党支部", level=OrgLevel.BRANCH)
    person = Person.objects.get(name="鲍勃")
    with pytest.raises(InvalidInput) as exc:
        registry.party_member_register(actor=cast.olga, person=person, organisation=branch, is_mobile=True)
    assert "outflow_place" in exc.value.fields
    member = registry.party_member_register(actor=cast.olga, person=person, organisation=branch, is_mobile=True,
                                            inflow_place="广东省深圳市")
    assert member.is_mobile


def test_double_registration_is_for_in_service_members_and_goes_to_a_community(cast: Cast) -> None:
    branch = registry.party_org_create(actor=cast.olga, area=cast.grid1, name="支部", level=OrgLevel.BRANCH)
    unit = registry.unit_create(actor=cast.olga, area=cast.community, name="市民政局", credit_code=CREDIT,
                                sector=Sector.ORGAN)
    member = registry.party_member_register(actor=cast.olga, person=Person.objects.get(name="鲍勃"),
                                            organisation=branch, work_unit=unit)
    assert member.in_service
    with pytest.raises(InvalidInput):
        registry.dual_register(actor=cast.olga, community=cast.grid1, registered_on=dt.date(2026, 1, 5),
                               party_member=member)
    reg = registry.dual_register(actor=cast.olga, community=cast.community, registered_on=dt.date(2026, 1, 5),
                                 party_member=member)
    assert reg.community == cast.community


def test_a_grassroots_group_with_three_party_members_forms_its_own_branch(cast: Cast) -> None:
    parent = registry.party_org_create(actor=cast.olga, area=cast.community, name="社区党委",
                                       level=OrgLevel.COMMITTEE, has_joint_committee=True)
    dance = registry.grassroots_group_create(actor=cast.alice, area=cast.community, name="广场舞队", kind="广场舞队",
                                             member_count=30, party_member_count=2)
    registry.survey_record(actor=cast.alice, area=cast.community, conducted_on=dt.date(2026, 4, 1),
                           entries=[{"group": dance, "member_count": 32, "party_member_count": 3}])
    dance.refresh_from_db()
    assert (dance.member_count, dance.party_member_count) == (32, 3)
    org = registry.group_form_party_org(actor=cast.olga, group=dance, name="广场舞队党支部", parent=parent,
                                        founded_on=dt.date(2026, 5, 1))
    dance.refresh_from_db()
    assert dance.outcome == GroupOutcome.ORG_FORMED and dance.party_org == org and org.sector == Sector.GRASSROOTS


def test_a_small_group_gets_an_instructor_instead(cast: Cast) -> None:
    yangge = registry.grassroots_group_create(actor=cast.alice, area=cast.community, name="秧歌队", kind="秧歌队",
                                              member_count=20, party_member_count=1)
    with pytest.raises(InvalidInput):
        registry.group_form_party_org(actor=cast.olga, group=yangge, name="x", parent=None,  # type: ignore[arg-type]
                                      founded_on=dt.date(2026, 5, 1))
    instructor = Person.objects.get(name="鲍勃")
    registry.group_assign_instructor(actor=cast.alice, group=yangge, instructor=instructor, since=dt.date(2026, 5, 1))
    yangge.refresh_from_db()
    assert yangge.outcome == GroupOutcome.INSTRUCTOR and instructor.posts.filter(kind="instructor").exists()


def test_pairings_check_their_shape(cast: Cast) -> None:
    leader = registry.person_create(actor=cast.admin, area=cast.building, name="市领导")
    with pytest.raises(InvalidInput) as exc:
        registry.pairing_create(actor=cast.admin, kind=PairingKind.LEADER_COMMUNITY, area=cast.grid1,
                                person=leader, started_on=dt.date(2026, 1, 1))
    assert "area" in exc.value.fields
    with pytest.raises(InvalidInput) as exc:
        registry.pairing_create(actor=cast.admin, kind=PairingKind.MEMBER_VULNERABLE, person=leader,
                                target_person=Person.objects.get(name="鲍勃"), started_on=dt.date(2026, 1, 1))
    assert "target_person" in exc.value.fields  # bob is not registered as vulnerable


def test_commitment_items_are_fulfilled_once_with_evidence(cast: Cast) -> None:
    unit = registry.unit_create(actor=cast.alice, area=cast.community, name="市住建局", credit_code=CREDIT,
                                sector=Sector.ORGAN)
    pairing = registry.pairing_create(actor=cast.alice, kind=PairingKind.DEPARTMENT_COMMUNITY, unit=unit,
                                      area=cast.community, started_on=dt.date(2026, 1, 1))
    with pytest.raises(InvalidInput) as exc:
        registry.commitment_create(actor=cast.alice, pairing=pairing, title="承诺书", signed_on=dt.date(2026, 1, 2),
                                   items=[{"text": "修缮漏雨房屋"}, {"text": " "}])
    assert list(exc.value.fields) == ["items[1].text"]
    assert not CommitmentItem.objects.exists()
    letter = registry.commitment_create(actor=cast.alice, pairing=pairing, title="承诺书",
                                        signed_on=dt.date(2026, 1, 2), items=[{"text": "修缮漏雨房屋"}])
    item = letter.items.get()
    with pytest.raises(InvalidInput):
        registry.commitment_item_fulfil(actor=cast.alice, item=item, fulfilled_on=dt.date(2026, 3, 1), evidence="")
    registry.commitment_item_fulfil(actor=cast.alice, item=item, fulfilled_on=dt.date(2026, 3, 1),
                                    evidence="已完成30幢楼屋面防水")
    with pytest.raises(InvalidInput):
        registry.commitment_item_fulfil(actor=cast.alice, item=item, fulfilled_on=dt.date(2026, 3, 2), evidence="再次")


def test_a_joint_committee_seat_needs_a_joint_committee(cast: Cast) -> None:
    org = registry.party_org_create(actor=cast.olga, area=cast.community, name="碧海社区党委",
                                    level=OrgLevel.COMMITTEE)
    person = Person.objects.get(name="鲍勃")
    with pytest.raises(InvalidInput):
        registry.org_post_create(actor=cast.olga, organisation=org, person=person, title="兼职委员", body="joint")
    registry.party_org_update(actor=cast.olga, org=org, changes={"has_joint_committee": True})
    post = registry.org_post_create(actor=cast.olga, organisation=org, person=person, title="兼职委员", body="joint",
                                    is_part_time=True)
    assert post.is_part_time and PartyOrganisation.objects.get(pk=org.pk).has_joint_committee


def test_new_grid_boundaries_reach_the_point_lookup(cast: Cast, django_capture_on_commit_callbacks) -> None:
    from gongzhi.registry.geo import grid_at

    assert grid_at(123.405, 41.805) == cast.grid1
    assert grid_at(123.455, 41.805) is None
    with django_capture_on_commit_callbacks(execute=True):
        new = registry.area_create(actor=cast.admin, parent=cast.community2, name="港北社区第2网格",
                                   code="990101001002002", kind="grid", boundary=square(123.45, 41.80))
    assert grid_at(123.455, 41.805) == new
