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
from gongzhi.councils.models import Council, CouncilMember, Meeting, Source
from gongzhi.councils.workflow import ItemState
from gongzhi.registry import services as registry
from gongzhi.registry.models import Person
from tests.cast import Cast

TZ = ZoneInfo("Asia/Shanghai")
S = ItemState


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
    assert CouncilMember.objects.count() == 1 and registry is not None
