"""Councils and consultation through the real actions: procedures, escalation up the chain with the answer
flowing back, cadence overdue on a frozen date, figures, documents read back, scope and public results."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from docx import Document
from openpyxl import load_workbook

from gongzhi.core.errors import Conflict, Forbidden, InvalidInput
from gongzhi.councils import documents, selectors, services
from gongzhi.councils.models import Council, CouncilKind, CouncilMember, Meeting, Source, load_default_kinds
from gongzhi.councils.workflow import ItemState
from gongzhi.registry import services as registry
from gongzhi.registry.models import Person
from tests.cast import Cast

TZ = ZoneInfo("Asia/Shanghai")
S = ItemState


@pytest.fixture(autouse=True)
def _kinds(db) -> None:
    """A transactional test earlier in the run flushed the kinds the migration loads; put them back."""
    load_default_kinds()


@pytest.fixture
def chain(cast: Cast) -> dict[str, Any]:
    """A compound council under a community council under a street council (东港's four levels, three here)."""
    street = services.council_create(actor=cast.stan, area=cast.street, name="新华街道大工委联席会议",
                                     kind="working_committee", cadence="quarterly")
    community = services.council_create(actor=cast.alice, area=cast.community, name="碧海社区大党委联席会议",
                                        kind="party_committee", cadence="quarterly")
    compound = services.council_create(actor=cast.alice, area=cast.compound, name="海鸥花园家园议事会",
                                       kind="homeland", cadence="monthly", procedure="homeland")
    member = services.member_add(actor=cast.alice, council=compound, role="host",
                                 person=Person.objects.get(name="鲍勃"))
    return {"street": street, "community": community, "compound": compound, "member": member}


def meet(actor: Any, council: Council, day: dt.date) -> Meeting:
    return services.meeting_schedule(actor=actor, council=council, place="党群服务中心",
                                     scheduled_for=dt.datetime.combine(day, dt.time(14, 30), tzinfo=TZ))


def test_the_migration_turns_the_kind_codes_of_existing_councils_into_kinds(tmp_path) -> None:
    """On a database of its own (a subprocess): councils stored with the old code column keep their kind."""
    import os
    import sqlite3
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "GONGZHI_DATA_DIR": str(tmp_path), "GONGZHI_DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}

    def manage(*args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=root, env=env, check=True, capture_output=True)

    manage("migrate", "councils", "0001_initial")
    db = sqlite3.connect(tmp_path / "db.sqlite3")
    db.execute("INSERT INTO registry_area (path, depth, numchild, name, code, kind, households, population) "
               "VALUES ('0001', 1, 0, '旧市', '990100', 'city', 0, 0)")
    for name, kind in (("旧议事会", "homeland"), ("旧三联办", "tripartite")):
        db.execute("INSERT INTO councils_council (name, kind, area_id, cadence, procedure, created_on) "
                   "VALUES (?, ?, 1, 'monthly', 'simple', '2025-01-01')", (name, kind))
    db.commit()
    db.close()
    manage("migrate")
    db = sqlite3.connect(tmp_path / "db.sqlite3")
    rows = db.execute("SELECT c.name, k.name FROM councils_council c JOIN councils_councilkind k ON k.code = c.kind "
                      "ORDER BY c.id").fetchall()
    assert rows == [("旧议事会", "家园议事会"), ("旧三联办", "三方联席会/三联办")]
    assert db.execute("SELECT count(*) FROM councils_councilkind WHERE active").fetchone() == (6,)


def test_an_unsettled_item_climbs_two_levels_and_the_answer_comes_back_to_where_it_began(cast: Cast, chain) -> None:
    item = services.item_propose(actor=cast.bob, council=chain["compound"], title="小区停车难",
                                 description="车位太少，消防通道被占")
    assert item.source == Source.RESIDENT and item.raised_by.name == "鲍勃"
    m1 = meet(cast.alice, chain["compound"], dt.date(2026, 11, 2))
    item = services.item_step(actor=cast.alice, item=item, step="schedule", meeting=m1)
    services.meeting_hold(actor=cast.alice, meeting=m1, present=[chain["member"]], minutes="讨论停车难，无法解决")
    item = services.item_step(actor=cast.alice, item=item, step="fail", reason="小区内无空地可建车位")
    item = services.item_step(actor=cast.alice, item=item, step="escalate", reason="需社区协调驻区单位")
    up = item.escalated_to
    assert up.council == chain["community"] and up.source == Source.ESCALATION
    assert up.escalation_meeting == m1 and list(selectors.pending_from_below(chain["community"])) == [up]

    m2 = meet(cast.alice, chain["community"], dt.date(2026, 11, 10))
    up = services.item_step(actor=cast.alice, item=up, step="schedule", meeting=m2)
    with pytest.raises(InvalidInput):
        services.item_step(actor=cast.alice, item=up, step="decide", decision="x", responsible="y",
                           deadline=dt.date(2026, 12, 1))  # an escalated item is answered, not decided
    up = services.item_step(actor=cast.alice, item=up, step="fail", reason="驻区单位不同意开放")
    up = services.item_step(actor=cast.alice, item=up, step="escalate", reason="需街道协调")
    top = up.escalated_to
    assert top.council == chain["street"]

    with pytest.raises(Forbidden):  # the community worker cannot answer for the street
        services.item_step(actor=cast.alice, item=top, step="schedule", meeting=meet(cast.stan, chain["street"],
                                                                                     dt.date(2026, 11, 20)))
    m3 = chain["street"].meetings.get()
    top = services.item_step(actor=cast.stan, item=top, step="schedule", meeting=m3)
    top = services.item_step(actor=cast.stan, item=top, step="answer", answer="街道协调市直单位夜间开放停车场")
    item.refresh_from_db()
    up.refresh_from_db()
    assert (item.state, up.state, top.state) == (S.ANSWERED, S.ANSWERED, S.ANSWERED)
    assert item.answer == up.answer == "街道协调市直单位夜间开放停车场"
    assert [i.pk for i in selectors.public_results(cast.compound)] == [item.pk]


def test_six_steps_require_the_party_proposal_and_public_results_before_completion(cast: Cast, chain) -> None:
    council = services.council_create(actor=cast.alice, area=cast.community, name="碧海社区三联办",
                                      kind="tripartite", cadence="weekly", procedure="six_steps")
    item = services.item_propose(actor=cast.alice, council=council, title="物业费收缴率低", description="仅30%")
    meeting = meet(cast.alice, council, dt.date(2026, 11, 5))
    with pytest.raises(Conflict):
        services.item_step(actor=cast.alice, item=item, step="schedule", meeting=meeting)
    item = services.item_step(actor=cast.alice, item=item, step="party_propose")
    item = services.item_step(actor=cast.alice, item=item, step="schedule", meeting=meeting)
    item = services.item_step(actor=cast.alice, item=item, step="decide", decision="物业公示收支，业委会监督",
                              responsible="物业公司", deadline=dt.date(2026, 12, 1))
    with pytest.raises(Conflict):
        services.item_step(actor=cast.alice, item=item, step="complete")
    item = services.item_step(actor=cast.alice, item=item, step="publish")
    assert list(selectors.overdue_decisions(council, dt.date(2026, 12, 2))) == [item]  # past its deadline
    item = services.item_step(actor=cast.alice, item=item, step="complete", today=dt.date(2026, 11, 28))
    assert not selectors.overdue_decisions(council, dt.date(2026, 12, 2)).exists()
    assert item.state == S.DONE and item.done_on == dt.date(2026, 11, 28)


def test_a_decision_can_open_a_case_that_the_item_follows(cast: Cast, chain) -> None:
    item = services.item_propose(actor=cast.alice, council=chain["community"], title="楼道照明维修",
                                 description="多个单元楼道灯不亮")
    item = services.item_step(actor=cast.alice, item=item, step="schedule",
                              meeting=meet(cast.alice, chain["community"], dt.date(2026, 11, 3)))
    item = services.item_step(actor=cast.alice, item=item, step="decide", decision="派单维修", responsible="物业公司",
                              deadline=dt.date(2026, 11, 30), open_case=True)
    assert item.follow_up_case is not None and item.follow_up_case.channel == "meeting"


def test_a_stale_step_is_a_conflict(cast: Cast, chain) -> None:
    item = services.item_propose(actor=cast.alice, council=chain["community"], title="a", description="b")
    stale = type(item).objects.get(pk=item.pk)
    services.item_step(actor=cast.alice, item=item, step="schedule",
                       meeting=meet(cast.alice, chain["community"], dt.date(2026, 11, 3)))
    with pytest.raises(Conflict):
        services.item_step(actor=cast.alice, item=stale, step="schedule",
                           meeting=chain["community"].meetings.get())


def test_a_council_past_its_cadence_shows_as_overdue(cast: Cast, chain) -> None:
    compound = chain["compound"]
    m = meet(cast.alice, compound, dt.date(2026, 9, 1))
    services.meeting_hold(actor=cast.alice, meeting=m, present=[], minutes="月度议事")
    compound.refresh_from_db()
    assert not selectors.cadence_status(compound, dt.date(2026, 10, 1)).overdue
    late = selectors.cadence_status(compound, dt.date(2026, 10, 10))
    assert late.overdue and late.overdue_days == 8  # monthly: due 2026-10-02
    assert compound in [s.council for s in selectors.overdue_councils(cast.stan, cast.street, dt.date(2026, 10, 10))]


def test_figures_count_meetings_settled_escalated_and_resolved(cast: Cast, chain) -> None:
    m = meet(cast.alice, chain["compound"], dt.date(2026, 11, 2))
    services.meeting_hold(actor=cast.alice, meeting=m, present=[], minutes="议事")
    settled = services.item_propose(actor=cast.alice, council=chain["compound"], title="绿化修剪", description="x")
    settled = services.item_step(actor=cast.alice, item=settled, step="schedule", meeting=m)
    services.item_step(actor=cast.alice, item=settled, step="decide", decision="物业修剪", responsible="物业",
                       deadline=dt.date(2026, 11, 20))
    moved = services.item_propose(actor=cast.alice, council=chain["compound"], title="停车", description="y")
    moved = services.item_step(actor=cast.alice, item=moved, step="schedule", meeting=m)
    moved = services.item_step(actor=cast.alice, item=moved, step="fail", reason="无法解决")
    services.item_step(actor=cast.alice, item=moved, step="escalate", reason="上移")
    f = selectors.figures(cast.stan, cast.street, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert (f.councils, f.meetings_held, f.settled_here, f.escalated, f.resolved_after_escalation) == (3, 1, 1, 1, 0)


def test_minutes_and_ledger_documents_read_back(cast: Cast, chain) -> None:
    m = meet(cast.alice, chain["compound"], dt.date(2026, 11, 2))
    item = services.item_propose(actor=cast.alice, council=chain["compound"], title="电动车充电桩", description="z")
    item = services.item_step(actor=cast.alice, item=item, step="schedule", meeting=m)
    services.item_step(actor=cast.alice, item=item, step="decide", decision="安装10个充电桩", responsible="物业",
                       deadline=dt.date(2026, 12, 31))
    services.meeting_hold(actor=cast.alice, meeting=m, present=[chain["member"]], minutes="第一行\n第二行")
    doc = Document(io.BytesIO(documents.minutes_docx(m)))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert doc.paragraphs[0].text == "海鸥花园家园议事会会议纪要"
    assert "出席：鲍勃" in text and "1. 电动车充电桩：安装10个充电桩" in text and "第二行" in text
    wb = load_workbook(io.BytesIO(documents.ledger_xlsx(chain["compound"])))
    rows = list(wb["议题台账"].iter_rows(values_only=True))
    assert rows[1][1:4] == ("电动车充电桩", "成员提议", "已决议")
    assert list(wb["会议列表"].iter_rows(values_only=True))[1][2] == "是"


def test_council_pages_are_scoped_and_public_results_carry_no_names(cast: Cast, chain) -> None:
    charlie, alice, bob = Client(), Client(), Client()
    charlie.force_login(cast.charlie)
    alice.force_login(cast.alice)
    bob.force_login(cast.bob)
    item = services.item_propose(actor=cast.bob, council=chain["compound"], title="楼道堆物", description="请处理")
    m = meet(cast.alice, chain["compound"], dt.date(2026, 11, 2))
    for url in [f"/councils/{chain['compound'].pk}/", f"/councils/items/{item.pk}/", f"/councils/meetings/{m.pk}/",
                f"/councils/meetings/{m.pk}/minutes.docx", f"/councils/{chain['compound'].pk}/ledger.xlsx"]:
        assert alice.get(url).status_code == 200, url
        assert charlie.get(url).status_code == 404, url
    item = services.item_step(actor=cast.alice, item=item, step="schedule", meeting=m)
    services.item_step(actor=cast.alice, item=item, step="decide", decision="清理楼道", responsible="物业",
                       deadline=dt.date(2026, 11, 30))
    page = bob.get("/councils/public/").content.decode()
    assert "楼道堆物" in page and "清理楼道" in page and "鲍勃" not in page
    # The same with no login at all, for a chosen community; another community's list does not carry it.
    anonymous = Client().get(f"/councils/public/?area={cast.community.pk}").content.decode()
    assert "楼道堆物" in anonymous and "鲍勃" not in anonymous
    assert "楼道堆物" not in Client().get(f"/councils/public/?area={cast.community3.pk}").content.decode()
    assert CouncilMember.objects.count() == 1 and registry is not None


# ------------------------------------------------------------------------ who runs a council (Cap.COUNCIL_RUN)


def test_the_demo_party_secretary_schedules_and_holds_a_meeting_of_her_community_council() -> None:
    from django.contrib.auth import get_user_model

    from gongzhi.registry.demo import load_demo_city

    load_demo_city("small")
    secretary = get_user_model().objects.get(username="secretary")
    council = Council.objects.get(name="碧海社区大党委联席会议")
    web = Client()
    web.force_login(secretary)
    page = web.get(f"/councils/{council.pk}/").content.decode()
    assert "安排会议" in page and "添加成员" in page  # she may run it now
    response = web.post(f"/councils/{council.pk}/", {"action": "schedule", "scheduled_for": "2026-12-03T14:30",
                                                      "place": "碧海社区议事厅"})
    assert response.status_code == 302
    meeting = council.meetings.get(place="碧海社区议事厅")
    present = list(council.members.values_list("pk", flat=True)[:2])
    response = web.post(f"/councils/meetings/{meeting.pk}/", {"present": present, "minutes": "研究停车难问题"})
    assert response.status_code == 302
    meeting.refresh_from_db()
    council.refresh_from_db()
    assert meeting.held and meeting.minutes == "研究停车难问题"
    assert sorted(meeting.present.values_list("pk", flat=True)) == sorted(present)
    assert council.last_met_on == dt.date(2026, 12, 3)


@pytest.mark.django_db
def test_without_the_capability_only_the_convener_runs_her_own_council(cast: Cast, chain) -> None:
    bob = Person.objects.get(name="鲍勃")
    street = chain["street"]
    with pytest.raises(Forbidden):  # a grid worker has no council capability
        meet(cast.gina, chain["compound"], dt.date(2026, 11, 2))
    convened = services.council_create(actor=cast.stan, area=cast.street, name="新华街道居民议事会",
                                       kind="other", cadence="monthly", convener=bob)
    assert convened.members.get().person == bob  # the convener is its first member
    m = meet(cast.bob, convened, dt.date(2026, 11, 2))  # bob, a resident, convenes it
    item = services.item_propose(actor=cast.bob, council=convened, title="增设休闲座椅", description="广场缺座椅")
    assert item.source == Source.MEMBER
    item = services.item_step(actor=cast.bob, item=item, step="schedule", meeting=m)
    services.meeting_hold(actor=cast.bob, meeting=m, present=list(convened.members.all()), minutes="议定增设")
    with pytest.raises(Forbidden):  # … but not a council he does not convene
        meet(cast.bob, street, dt.date(2026, 11, 3))
    web = Client()
    web.force_login(cast.bob)  # the street council is outside a resident's scope; his own is reachable
    assert web.get(f"/councils/{street.pk}/").status_code == 404
    page = web.get(f"/councils/{convened.pk}/").content.decode()
    assert "安排会议" in page and "移出" in page
    assert web.get(f"/councils/items/{item.pk}/").status_code == 200


# ------------------------------------------------------------------------ creating councils and members on the web


def test_a_community_worker_creates_a_council_on_the_index_page(cast: Cast) -> None:
    bob = Person.objects.get(name="鲍勃")
    web = Client()
    web.force_login(cast.alice)
    page = web.get("/councils/").content.decode()
    assert "新建议事组织" in page and "家园议事会" in page
    form = {"area": cast.compound.pk, "name": "", "kind": "homeland", "cadence": "monthly", "procedure": "homeland",
            "convener": bob.pk}
    page = web.post("/councils/", form).content.decode()
    assert 'id="error-name"' in page and not Council.objects.exists()
    page = web.post("/councils/", {**form, "name": "海鸥花园家园议事会", "area": cast.street.pk}).content.decode()
    assert 'id="error-area"' in page and not Council.objects.exists()  # the street is not hers
    response = web.post("/councils/", {**form, "name": "海鸥花园家园议事会"})
    council = Council.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/councils/{council.pk}/"
    assert (council.area, council.kind.name, council.convener, council.procedure) == (
        cast.compound, "家园议事会", bob, "homeland")
    assert [(m.person, m.role) for m in council.members.all()] == [(bob, "convener")]
    page = web.post("/councils/", {**form, "name": "海鸥花园家园议事会"}).content.decode()
    assert "本区域已有同名议事组织" in page and Council.objects.count() == 1
    charlie = Client()
    charlie.force_login(cast.gina)  # no council capability: no form, and a post is refused
    assert "新建议事组织" not in charlie.get("/councils/").content.decode()
    assert charlie.post("/councils/", {**form, "name": "x"}).status_code == 404


def test_members_are_added_and_removed_on_the_council_page(cast: Cast, chain) -> None:
    from gongzhi.registry.models import Sector

    unit = registry.unit_create(actor=None, area=cast.community, name="碧海物业", credit_code="91350100M000100Y43",
                                sector=Sector.PROPERTY)
    org = registry.party_org_create(actor=None, area=cast.grid1, name="第1网格党支部", level="branch")
    bob = Person.objects.get(name="鲍勃")
    council = chain["community"]
    web = Client()
    web.force_login(cast.alice)
    url = f"/councils/{council.pk}/"
    page = web.get(url).content.decode()
    assert "添加成员" in page and "碧海物业" in page and "第1网格党支部" in page
    page = web.post(url, {"action": "add_member", "member-role": "member"}).content.decode()
    assert 'id="error-member-person"' in page  # none of the three chosen
    page = web.post(url, {"action": "add_member", "member-role": "member", "member-person": bob.pk,
                          "member-unit": unit.pk}).content.decode()
    assert 'id="error-member-person"' in page and not council.members.exists()
    for field, value, role in (("person", bob.pk, "deliberator"), ("unit", unit.pk, "member"),
                               ("organisation", org.pk, "member")):
        response = web.post(url, {"action": "add_member", "member-role": role, f"member-{field}": value})
        assert response.status_code == 302, field
    page = web.post(url, {"action": "add_member", "member-role": "member", "member-unit": unit.pk}).content.decode()
    assert "已是本议事组织成员" in page
    members = {m.display_name: m for m in council.members.all()}
    assert set(members) == {"鲍勃", "碧海物业", "第1网格党支部"} and members["鲍勃"].role == "deliberator"

    web.post(url, {"action": "remove_member", "member": members["碧海物业"].pk})
    gone = CouncilMember.objects.get(pk=members["碧海物业"].pk)
    assert gone.left_on is not None
    page = web.get(url).content.decode()
    assert f'data-member="{gone.pk}"' not in page and f'data-member="{members["鲍勃"].pk}"' in page
    m = meet(cast.alice, council, dt.date(2026, 11, 2))
    with pytest.raises(InvalidInput):  # who left does not attend
        services.meeting_hold(actor=cast.alice, meeting=m, present=[gone], minutes="x")
    from gongzhi.core.models import AuditEntry

    assert AuditEntry.objects.filter(action="councils.member.remove", object_id=str(gone.pk)).count() == 1
    trail = web.get(url).content.decode().split('id="trail"')[1]
    assert trail.count("碧海物业") == 2 and "第1网格党支部" in trail  # joined and left, by name
    outsider = Client()
    outsider.force_login(cast.charlie)
    assert outsider.post(url, {"action": "remove_member", "member": members["鲍勃"].pk}).status_code == 404


# ------------------------------------------------------------------------ kinds as administrator-defined data


def test_the_system_administrator_adds_renames_and_retires_kinds(cast: Cast, chain) -> None:
    assert list(CouncilKind.objects.values_list("code", "name")[:3]) == [
        ("joint_meeting", "联席会议"), ("working_committee", "大工委"), ("party_committee", "大党委")]
    admin = Client()
    admin.force_login(cast.admin)
    page = admin.get("/councils/kinds/").content.decode()
    assert "三方联席会/三联办" in page and 'data-kind="homeland"' in page
    page = admin.post("/councils/kinds/", {"action": "create", "new-code": "Bad Code", "new-name": "x",
                                           "new-order": 5}).content.decode()
    assert 'id="error-new-code"' in page
    assert admin.post("/councils/kinds/", {"action": "create", "new-code": "neighbourhood", "new-name": "邻里议事会",
                                           "new-order": 70}).status_code == 302
    homeland = CouncilKind.objects.get(code="homeland")
    response = admin.post("/councils/kinds/", {"action": "update", "kind": homeland.pk, f"k{homeland.pk}-name":
                                               "小区家园议事会", f"k{homeland.pk}-order": 50})  # unticked: retired
    assert response.status_code == 302
    homeland.refresh_from_db()
    assert (homeland.name, homeland.active) == ("小区家园议事会", False)
    chain["compound"].refresh_from_db()
    assert chain["compound"].kind.name == "小区家园议事会"  # existing councils keep their kind, under its new name
    with pytest.raises(InvalidInput) as err:
        services.council_create(actor=cast.alice, area=cast.compound, name="新议事会", kind="homeland",
                                cadence="monthly")
    assert "kind" in err.value.fields
    services.council_create(actor=cast.alice, area=cast.compound, name="新议事会", kind="neighbourhood",
                            cadence="monthly")
    alice = Client()
    alice.force_login(cast.alice)
    page = alice.get("/councils/").content.decode()
    kinds = page[page.index('name="kind"'):].split("</select>")[0]
    assert "邻里议事会" in kinds and 'value="homeland"' not in kinds and 'value="tripartite"' in kinds
    assert alice.get("/councils/kinds/").status_code == 404
    assert alice.post("/councils/kinds/", {"action": "create", "new-code": "x", "new-name": "y",
                                           "new-order": 1}).status_code == 404
    from gongzhi.core.models import AuditEntry

    assert set(AuditEntry.objects.filter(action__startswith="councils.kind.").values_list("action", flat=True)) == {
        "councils.kind.create", "councils.kind.update"}


def test_the_councils_index_does_not_query_per_council(cast: Cast, django_assert_max_num_queries) -> None:
    bob = Person.objects.get(name="鲍勃")
    web = Client()
    web.force_login(cast.alice)

    def councils(n: int) -> None:
        for i in range(Council.objects.count(), n):
            services.council_create(actor=None, area=cast.compound if i % 2 else cast.community, name=f"议事会{i}",
                                    kind="other", cadence="monthly", convener=bob)

    councils(2)
    web.get("/councils/")
    with django_assert_max_num_queries(14) as few:
        assert web.get("/councils/").status_code == 200
    councils(12)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = web.get("/councils/").content.decode()
    assert page.count('href="/councils/') >= 12
