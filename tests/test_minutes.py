"""Minutes and meeting notices in GB/T 9704-2012 公文 form (A4, 37/35/28/26 mm, 小标宋 title, 仿宋 body, "— 1 —" page
numbers), downloaded with Chinese file names; and the demo's meetings coherent with their members and items."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone
from docx import Document
from docx.oxml.ns import qn

from gongzhi.councils import documents, services
from gongzhi.councils.demo import TOPICS
from gongzhi.councils.models import AgendaItem, Council, Meeting, MemberRole, load_default_kinds
from gongzhi.registry import services as registry
from gongzhi.registry.models import Person
from tests.cast import Cast

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _kinds(db) -> None:
    load_default_kinds()


@pytest.fixture
def council(cast: Cast) -> dict[str, Any]:
    """海鸥花园家园议事会: 鲍勃 hosts, 卡罗尔 convenes, 戴维 deliberates; a meeting on 2026-11-02 with one item."""
    carol = registry.person_create(actor=None, area=cast.building, name="卡罗尔", phone="13800138001",
                                   id_number="110105195001010012")
    david = registry.person_create(actor=None, area=cast.building, name="戴维", phone="13800138002",
                                   id_number="110105195001010020")
    c = services.council_create(actor=cast.alice, area=cast.compound, name="海鸥花园家园议事会", kind="homeland",
                                cadence="monthly", procedure="homeland", convener=carol)
    convener = c.members.get(person=carol)  # the convener sits on her council
    host = services.member_add(actor=cast.alice, council=c, role="host", person=Person.objects.get(name="鲍勃"))
    absent = services.member_add(actor=cast.alice, council=c, role="deliberator", person=david)
    meeting = services.meeting_schedule(actor=cast.alice, council=c, place="海鸥花园党群服务站",
                                        scheduled_for=dt.datetime(2026, 11, 2, 14, 30, tzinfo=TZ))
    item = services.item_propose(actor=cast.alice, council=c, title="电动车充电桩", description="楼下充电难")
    item = services.item_step(actor=cast.alice, item=item, step="schedule", meeting=meeting)
    return {"council": c, "meeting": meeting, "item": item, "present": [convener, host], "absent": absent}


def _hold(cast: Cast, council: dict[str, Any]) -> Meeting:
    services.item_step(actor=cast.alice, item=council["item"], step="decide", decision="在北侧空地安装10个充电桩",
                       responsible="物业", deadline=dt.date(2026, 12, 31))
    return services.meeting_hold(actor=cast.alice, meeting=council["meeting"], present=council["present"],
                                 minutes="会议由卡罗尔主持。\n研究了电动车充电桩问题。")


def _mm(length: Any) -> float:
    return float(length.mm)


def _east_asia(run: Any) -> str | None:
    return run._element.rPr.rFonts.get(qn("w:eastAsia"))


def _assert_gbt9704(doc: Any) -> None:
    """A4, margins 37/35/28/26 mm, body 仿宋 3号 on a fixed 28.95 pt line, page numbers "— 1 —" with a PAGE field
    on the outer side of odd and even pages."""
    section = doc.sections[0]
    assert (round(_mm(section.page_width)), round(_mm(section.page_height))) == (210, 297)
    for length, want in ((section.top_margin, 37), (section.bottom_margin, 35), (section.left_margin, 28),
                         (section.right_margin, 26)):
        assert abs(_mm(length) - want) <= 0.5, (length, want)
    normal = doc.styles["Normal"]
    assert normal.font.size.pt == 16
    assert normal.element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312"
    assert 28 <= normal.paragraph_format.line_spacing.pt <= 29
    title = doc.paragraphs[0]
    assert title.alignment == 1  # centred
    assert all(_east_asia(r) == "方正小标宋简体" and r.font.size.pt == 22 for r in title.runs)
    assert doc.settings.odd_and_even_pages_header_footer
    for footer, align in ((section.footer, 2), (section.even_page_footer, 0)):  # odd right, even left
        p = footer.paragraphs[0]
        assert p.alignment == align and p.text == "— 1 —"
        assert " PAGE " in [e.text for e in p._element.iter(qn("w:instrText"))]
        assert all(_east_asia(r) == "宋体" and r.font.size.pt == 14 for r in p.runs)
    # A machine without 仿宋_GB2312 / 方正小标宋简体 substitutes the fonts Windows has.
    fonts = next(r.target_part for r in doc.part.rels.values() if r.reltype.endswith("/fontTable")).blob.decode()
    assert 'w:name="仿宋_GB2312"><w:altName w:val="仿宋"/>' in fonts


def test_minutes_are_a_gbt9704_document_with_attendance_items_and_decisions(cast: Cast, council) -> None:
    meeting = _hold(cast, council)
    doc = Document(io.BytesIO(documents.minutes_docx(meeting)))
    _assert_gbt9704(doc)
    assert doc.paragraphs[0].text == "海鸥花园家园议事会会议纪要"
    lines = [p.text for p in doc.paragraphs]
    assert "时间：2026年11月2日（星期一）14:30" in lines and "地点：海鸥花园党群服务站" in lines
    assert "主持人：卡罗尔" in lines and "出席：卡罗尔、鲍勃" in lines and "缺席：戴维" in lines
    assert "列席：无" in lines
    assert "1. 电动车充电桩：在北侧空地安装10个充电桩（责任方：物业；完成时限：2026年12月31日）" in lines
    assert lines.index("一、会议议题") < lines.index("二、议定事项") < lines.index("三、会议情况")
    assert "研究了电动车充电桩问题。" in lines and lines[-1] == "2026年11月2日"  # 成文日期, 不编虚位
    # Headings in 黑体, body runs in 仿宋 3号; labels 黑体 with the names in 仿宋.
    heading = next(p for p in doc.paragraphs if p.text == "二、议定事项")
    assert _east_asia(heading.runs[0]) == "黑体"
    attendance = next(p for p in doc.paragraphs if p.text.startswith("出席："))
    assert [_east_asia(r) for r in attendance.runs] == ["黑体", "仿宋_GB2312"]
    assert all(r.font.size.pt == 16 for r in attendance.runs)
    # Continuation lines of a long list of names line up after the colon: hanging by "出席：", 左空二字.
    fmt = attendance.paragraph_format
    assert round(fmt.left_indent.pt) == 16 * 5 and round(fmt.first_line_indent.pt) == -16 * 3


def test_the_notice_and_minutes_download_with_chinese_names_for_those_in_scope(cast: Cast, council) -> None:
    alice, charlie = Client(), Client()
    alice.force_login(cast.alice)
    charlie.force_login(cast.charlie)
    meeting = council["meeting"]
    page = alice.get(f"/councils/meetings/{meeting.pk}/").content.decode()
    assert f"/councils/meetings/{meeting.pk}/notice.docx" in page and "下载会议通知 Word" in page

    response = alice.get(f"/councils/meetings/{meeting.pk}/notice.docx")
    assert response.status_code == 200
    assert response["Content-Type"].endswith("wordprocessingml.document")
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    name = unquote(disposition.split("filename*=UTF-8''")[1])
    assert name == "关于召开海鸥花园家园议事会会议的通知（2026-11-02）.docx"
    doc = Document(io.BytesIO(response.content))
    _assert_gbt9704(doc)
    lines = [p.text for p in doc.paragraphs]
    assert lines[0] == "关于召开海鸥花园家园议事会会议的通知"
    assert "海鸥花园家园议事会各成员：" in lines
    assert ("定于2026年11月2日（星期一）14:30在海鸥花园党群服务站召开海鸥花园家园议事会会议，"
            "现将有关事项通知如下：") in lines
    assert lines.index("三、会议议题") < lines.index("1. 电动车充电桩") < lines.index("四、参会人员")
    assert "卡罗尔、鲍勃、戴维，召集人卡罗尔主持。" in lines
    assert charlie.get(f"/councils/meetings/{meeting.pk}/notice.docx").status_code == 404

    _hold(cast, council)
    page = alice.get(f"/councils/meetings/{meeting.pk}/").content.decode()
    assert "notice.docx" not in page  # held: the minutes, no longer the notice
    response = alice.get(f"/councils/meetings/{meeting.pk}/minutes.docx")
    assert response.status_code == 200
    assert unquote(response["Content-Disposition"].split("filename*=UTF-8''")[1]) == \
        "海鸥花园家园议事会会议纪要（2026-11-02）.docx"
    assert charlie.get(f"/councils/meetings/{meeting.pk}/minutes.docx").status_code == 404


def test_a_member_who_left_since_the_meeting_is_listed_as_absent_then(cast: Cast, council) -> None:
    c = council["council"]
    last_week = timezone.localtime() - dt.timedelta(days=7)
    meeting = services.meeting_schedule(actor=cast.alice, council=c, place="海鸥花园党群服务站",
                                        scheduled_for=last_week)
    services.meeting_hold(actor=cast.alice, meeting=meeting, present=council["present"], minutes="例会")
    services.member_remove(actor=cast.alice, member=council["absent"], reason="搬离小区")
    lines = [p.text for p in Document(io.BytesIO(documents.minutes_docx(meeting))).paragraphs]
    assert "缺席：戴维" in lines and "出席：卡罗尔、鲍勃" in lines
    assert "一、会议议题" in lines and "本次会议无议题。" in lines


def test_the_demo_meetings_have_their_attendance_minutes_and_decisions() -> None:
    from gongzhi.registry.demo import load_demo_city

    load_demo_city("small")
    decision_of = {t.title: t for t in TOPICS}
    assert len(decision_of) == len(TOPICS)  # one row per topic
    assert decision_of["绿化带修剪"].decision.startswith("物业两周内完成绿化带修剪")

    held = Meeting.objects.filter(held=True).select_related("council__convener")
    assert held.exists()
    for meeting in held.prefetch_related("present__person", "items"):
        present = list(meeting.present.all())
        assert present, meeting
        convener = meeting.council.convener
        assert convener is not None and convener.pk in {m.person_id for m in present}, meeting
        assert all(m.council_id == meeting.council_id for m in present)
        assert f"主持，应到{meeting.council.members.count()}人，实到{len(present)}人" in meeting.minutes
        for item in meeting.items.all():
            assert item.title in meeting.minutes, (meeting, item.title)

    # Every decision and every answer belongs to its item's topic.
    items = AgendaItem.objects.select_related("council")
    assert items.filter(decision__gt="").exists() and items.filter(answer__gt="").exists()
    for item in items:
        topic = decision_of[item.title]
        if item.decision:
            assert item.decision == topic.decision and item.responsible == topic.responsible, item.title
        if item.answer:
            assert item.answer.endswith(f"研究决定：{topic.answer}"), item.title

    # The minutes of a demo meeting name who came, and the host is not absent.
    council = Council.objects.get(name="碧海社区大党委联席会议")
    meeting = council.meetings.filter(held=True).order_by("-scheduled_for").first()
    assert meeting is not None
    lines = [p.text for p in Document(io.BytesIO(documents.minutes_docx(meeting))).paragraphs]
    names = [m.display_name for m in meeting.present.exclude(role=MemberRole.OBSERVER).order_by("pk")]
    assert f"出席：{'、'.join(names)}" in lines and "出席：无" not in lines
    absent_line = next(line for line in lines if line.startswith("缺席："))
    assert council.convener is not None and council.convener.name not in absent_line
    assert f"主持人：{council.convener.name}" in lines
    for item in meeting.items.all():
        assert any(line.startswith(f"1. {item.title}") or f". {item.title}：" in line for line in lines)
