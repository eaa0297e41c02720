"""Minutes as Word (the usual Chinese government layout) and the ledger and meeting list as Excel (G2)."""

from __future__ import annotations

import io

from django.db.models import Count
from django.utils import timezone
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt
from openpyxl import Workbook

from .models import Council, Meeting
from .selectors import ledger


def _font(run: object, name: str, size: float, bold: bool = False) -> None:
    run.font.name = name  # type: ignore[attr-defined]
    run.font.size = Pt(size)  # type: ignore[attr-defined]
    run.font.bold = bold  # type: ignore[attr-defined]
    # Word picks the East-Asian font from w:eastAsia; without it Chinese falls back to a Latin font.
    run._element.rPr.rFonts.set(qn("w:eastAsia"), name)  # type: ignore[attr-defined]


def minutes_docx(meeting: Meeting) -> bytes:
    council = meeting.council
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "仿宋"  # type: ignore[attr-defined]
    style.font.size = Pt(16)  # type: ignore[attr-defined]
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "仿宋")  # type: ignore[attr-defined]
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _font(title.add_run(f"{council.name}会议纪要"), "方正小标宋简体", 22, bold=True)
    when = timezone.localtime(meeting.scheduled_for)
    present = list(meeting.present.select_related("person", "unit", "organisation"))
    absent = [m for m in council.members.filter(left_on__isnull=True).select_related("person", "unit", "organisation")
              if m not in present]

    def who(members: list) -> str:  # type: ignore[type-arg]
        return "、".join(m.display_name for m in members) or "无"

    for label, value in (
        ("时间", f"{when:%Y年%m月%d日 %H:%M}"),
        ("地点", meeting.place),
        ("主持人", str(council.convener) if council.convener else ""),
        ("出席", who([m for m in present if m.role != "observer"])),
        ("列席", who([m for m in present if m.role == "observer"])),
        ("缺席", who(absent)),
    ):
        p = doc.add_paragraph()
        _font(p.add_run(f"{label}："), "黑体", 16)
        _font(p.add_run(value), "仿宋", 16)
    items = list(meeting.items.order_by("pk"))
    heading = doc.add_paragraph()
    _font(heading.add_run("一、会议议题"), "黑体", 16)
    for i, item in enumerate(items, 1):
        _font(doc.add_paragraph().add_run(f"{i}. {item.title}"), "仿宋", 16)
    heading = doc.add_paragraph()
    _font(heading.add_run("二、会议决定"), "黑体", 16)
    for i, item in enumerate(items, 1):
        if item.decision or item.answer:
            text = item.decision or item.answer
            extra = f"（责任方：{item.responsible}；完成时限：{item.deadline:%Y年%m月%d日}）" if item.deadline else ""
        else:
            text, extra = f"本级未能解决，{item.get_state_display()}：{item.escalation_reason or item.discussion}", ""
        _font(doc.add_paragraph().add_run(f"{i}. {item.title}：{text}{extra}"), "仿宋", 16)
    heading = doc.add_paragraph()
    _font(heading.add_run("三、会议纪要"), "黑体", 16)
    for line in meeting.minutes.splitlines() or [""]:
        _font(doc.add_paragraph().add_run(line), "仿宋", 16)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def ledger_xlsx(council: Council) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("议题台账")
    ws.append(["序号", "议题", "来源", "状态", "上会日期", "决议", "责任方", "完成时限", "落实日期", "上移至",
               "上级答复"])
    for i, item in enumerate(ledger(council), 1):
        ws.append([i, item.title, item.get_source_display(), item.get_state_display(),
                   timezone.localtime(item.meeting.scheduled_for).strftime("%Y-%m-%d") if item.meeting else "",
                   item.decision, item.responsible, item.deadline.isoformat() if item.deadline else "",
                   item.done_on.isoformat() if item.done_on else "",
                   item.escalated_to.council.name if hasattr(item, "escalated_to") else "", item.answer])
    meetings = wb.create_sheet("会议列表")
    meetings.append(["会议时间", "地点", "已召开", "议题数"])
    for m in council.meetings.annotate(n_items=Count("items")).order_by("-scheduled_for"):
        meetings.append([timezone.localtime(m.scheduled_for).strftime("%Y-%m-%d %H:%M"), m.place,
                         "是" if m.held else "否", m.n_items])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
