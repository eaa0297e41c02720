"""Minutes and meeting notices as Word in GB/T 9704-2012 公文 form (A4, its margins, fonts, line grid and page
numbers), and the ledger and meeting list as Excel (G2)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

from django.db.models import Count
from django.utils import timezone
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn
from docx.shared import Length, Mm, Pt, Twips
from lxml import etree

from gongzhi.core import ledger as xlsx

from .models import Council, CouncilMember, Meeting, MemberRole
from .selectors import ledger
from .workflow import ItemState

# ------------------------------------------------------------------------------------ 公文 (GB/T 9704-2012) layout

TITLE_FONT = "方正小标宋简体"  # 标题: 2号小标宋体
BODY_FONT = "仿宋_GB2312"  # 正文: 3号仿宋体
HEADING_FONT = "黑体"  # 一级标题 "一、"
PAGE_NUMBER_FONT = "宋体"  # 页码: 4号半角宋体阿拉伯数字
# Word substitutes a missing font by the font table's alternate name: a machine without the GB2312 / 方正 fonts
# (Windows 10 and later ship only 仿宋 and 宋体) still prints 仿宋 and a 宋 face, not a Latin font.
ALT_FONTS = {BODY_FONT: "仿宋", TITLE_FONT: "宋体", "楷体_GB2312": "楷体"}
SIZE_TITLE, SIZE_BODY, SIZE_PAGE_NUMBER = Pt(22), Pt(16), Pt(14)  # 2号, 3号, 4号
# 版心 156 mm × 225 mm, 22 lines of 28 characters: a line every 225 mm / 22 = 28.95 pt.
LINE_PITCH = Twips(579)
WEEKDAYS = "一二三四五六日"


def _rfonts(rpr: Any, name: str) -> None:
    """All four font slots of a run or style: Word takes Chinese text from ``w:eastAsia``, so setting only
    ``font.name`` (ascii/hAnsi) would print it in a fallback font."""
    fonts = rpr.get_or_add_rFonts()
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), name)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)  # a theme font would win over the named one


def _run(paragraph: Any, text: str, font: str = BODY_FONT, size: Length = SIZE_BODY) -> Any:
    run = paragraph.add_run(text)
    run.font.size = size
    _rfonts(run._element.get_or_add_rPr(), font)
    return run


def _para(doc: Any, *, indent: bool = False, align: Any = None, hanging: Length | None = None) -> Any:
    """A body paragraph on the line grid; ``indent``: 首行缩进二字; ``hanging``: continuation lines aligned after a
    label (出席：……)."""
    p = doc.add_paragraph()
    fmt = p.paragraph_format
    if indent:
        fmt.first_line_indent = SIZE_BODY * 2
    if hanging is not None:
        fmt.left_indent, fmt.first_line_indent = hanging, -hanging
    if align is not None:
        p.alignment = align
    return p


def _page_number(paragraph: Any) -> None:
    """"— 1 —": 一字线, the PAGE field, 一字线, in 4号宋体."""
    _run(paragraph, "— ", PAGE_NUMBER_FONT, SIZE_PAGE_NUMBER)

    def field(tag: str, **attrs: str) -> None:
        element = OxmlElement(tag)
        for key, value in attrs.items():
            element.set(qn(key.replace("_", ":", 1)), value)
        if tag == "w:instrText":
            element.text = " PAGE "
        _run(paragraph, "", PAGE_NUMBER_FONT, SIZE_PAGE_NUMBER)._element.append(element)

    field("w:fldChar", w_fldCharType="begin")
    field("w:instrText", xml_space="preserve")
    field("w:fldChar", w_fldCharType="separate")
    _run(paragraph, "1", PAGE_NUMBER_FONT, SIZE_PAGE_NUMBER)  # shown until the field is updated
    field("w:fldChar", w_fldCharType="end")
    _run(paragraph, " —", PAGE_NUMBER_FONT, SIZE_PAGE_NUMBER)


def _gbt9704() -> Any:
    """An empty document on A4 with the standard's margins (天头 37 mm, 订口 28 mm), fonts, line grid and page
    numbers 7 mm below the text block, 单页码居右空一字，双页码居左空一字."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.header_distance, section.footer_distance = Mm(20), Mm(22)
    grid = section._sectPr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        section._sectPr.append(grid)
    # A line grid only: a character grid (linesAndChars) is read differently by Word and LibreOffice (the latter
    # spreads a line of 28 characters over 16). 3号 in 156 mm gives 27–28 characters a line by itself.
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), str(int(LINE_PITCH.twips)))
    grid.attrib.pop(qn("w:charSpace"), None)

    normal = doc.styles["Normal"]
    normal.font.size = SIZE_BODY  # type: ignore[attr-defined]
    _rfonts(normal.element.get_or_add_rPr(), BODY_FONT)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    normal.element.get_or_add_rPr().append(lang)
    fmt = normal.paragraph_format  # type: ignore[attr-defined]
    fmt.line_spacing_rule, fmt.line_spacing = WD_LINE_SPACING.EXACTLY, LINE_PITCH
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.widow_control = True

    doc.settings.odd_and_even_pages_header_footer = True
    for footer, align, side in ((section.footer, WD_ALIGN_PARAGRAPH.RIGHT, "right"),
                                (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT, "left")):
        footer.is_linked_to_previous = False
        p = footer.paragraphs[0]
        p.alignment = align
        p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
        setattr(p.paragraph_format, f"{side}_indent", SIZE_PAGE_NUMBER)  # 空一字
        _page_number(p)
    _alternate_fonts(doc)
    return doc


def _alternate_fonts(doc: Any) -> None:
    part = next(r.target_part for r in doc.part.rels.values() if r.reltype.endswith("/fontTable"))
    table = parse_xml(part.blob)
    for name, alt in ALT_FONTS.items():
        font = OxmlElement("w:font")
        font.set(qn("w:name"), name)
        alt_name = OxmlElement("w:altName")
        alt_name.set(qn("w:val"), alt)
        charset = OxmlElement("w:charset")
        charset.set(qn("w:val"), "86")  # GB2312
        font.append(alt_name)
        font.append(charset)
        table.append(font)
    part._blob = etree.tostring(table, xml_declaration=True, encoding="UTF-8", standalone=True)


def _title(doc: Any, text: str) -> None:
    """标题: 2号小标宋, centred, 标题下空一行."""
    p = _para(doc, align=WD_ALIGN_PARAGRAPH.CENTER)
    _run(p, text, TITLE_FONT, SIZE_TITLE)
    doc.add_paragraph()


def _heading(doc: Any, text: str) -> None:
    """一级标题 "一、……": 黑体, 首行缩进二字, never the last line of a page."""
    p = _para(doc, indent=True)
    p.paragraph_format.keep_with_next = True
    _run(p, text, HEADING_FONT)


def _labelled(doc: Any, label: str, value: str) -> None:
    """出席：…… — the label in 黑体 and 左空二字, the names in 仿宋, continuation lines aligned after the colon."""
    p = _para(doc)
    fmt = p.paragraph_format
    fmt.left_indent = SIZE_BODY * (2 + len(label) + 1)
    fmt.first_line_indent = -SIZE_BODY * (len(label) + 1)
    _run(p, f"{label}：", HEADING_FONT)
    _run(p, value)


def _signature(doc: Any, issuer: str, day: dt.date) -> None:
    """发文机关署名 and 成文日期 (2026年11月2日, 不编虚位), 右空四字."""
    # Never a page with only the 署名 and 日期 on it: the last lines of the body go with them.
    doc.paragraphs[-1].paragraph_format.keep_with_next = True
    doc.add_paragraph().paragraph_format.keep_with_next = True
    for text in (issuer, _date(day)):
        p = _para(doc, align=WD_ALIGN_PARAGRAPH.RIGHT)
        p.paragraph_format.right_indent = SIZE_BODY * 4
        p.paragraph_format.keep_with_next = text == issuer  # 署名 and 日期 on one page
        _run(p, text)


def _date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _when(meeting: Meeting) -> str:
    when = timezone.localtime(meeting.scheduled_for)
    return f"{_date(when.date())}（星期{WEEKDAYS[when.weekday()]}）{when:%H:%M}"


def _names(members: list[CouncilMember]) -> str:
    return "、".join(m.display_name for m in members) or "无"


def _save(doc: Any) -> bytes:
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def minutes_filename(meeting: Meeting) -> str:
    return f"{meeting.council.name}会议纪要（{timezone.localtime(meeting.scheduled_for):%Y-%m-%d}）.docx"


def notice_filename(meeting: Meeting) -> str:
    return f"关于召开{meeting.council.name}会议的通知（{timezone.localtime(meeting.scheduled_for):%Y-%m-%d}）.docx"


def minutes_docx(meeting: Meeting) -> bytes:
    """会议纪要 in GB/T 9704 form: title, 时间、地点、主持人、出席、列席、缺席, the items, 议定事项 numbered, and the
    minutes as written at the meeting."""
    council = meeting.council
    doc = _gbt9704()
    _title(doc, f"{council.name}会议纪要")
    members = list(council.members.select_related("person", "unit", "organisation").order_by("pk"))
    present_ids = set(meeting.present.values_list("pk", flat=True))
    present = [m for m in members if m.pk in present_ids]
    # Absent: members who did not come and had not left by the day (one who left since was absent then).
    day = timezone.localtime(meeting.scheduled_for).date()
    absent = [m for m in members if m.pk not in present_ids and (m.left_on is None or m.left_on > day)]
    convener = council.convener
    for label, value in (
        ("时间", _when(meeting)),
        ("地点", meeting.place),
        ("主持人", str(convener) if convener else "—"),
        ("出席", _names([m for m in present if m.role != MemberRole.OBSERVER])),
        ("列席", _names([m for m in present if m.role == MemberRole.OBSERVER])),
        ("缺席", _names(absent)),
    ):
        _labelled(doc, label, value)
    items = list(meeting.items.order_by("pk"))
    _heading(doc, "一、会议议题")
    for i, item in enumerate(items, 1):
        _run(_para(doc, indent=True), f"{i}. {item.title}")
    if not items:
        _run(_para(doc, indent=True), "本次会议无议题。")
    _heading(doc, "二、议定事项")
    for i, item in enumerate(items, 1):
        if item.decision:
            text = item.decision
            if item.deadline:
                text += f"（责任方：{item.responsible or '—'}；完成时限：{_date(item.deadline)}）"
        elif item.answer:
            text = f"上级答复：{item.answer}"
        elif item.state in (ItemState.UNSETTLED, ItemState.ESCALATED) or item.escalation_reason:
            text = f"本级未能解决，{item.get_state_display()}：{item.escalation_reason or item.discussion}"
        else:
            text = f"{item.get_state_display()}。{item.discussion}".rstrip("。") + "。"
        _run(_para(doc, indent=True), f"{i}. {item.title}：{text}")
    if not items:
        _run(_para(doc, indent=True), "无。")
    _heading(doc, "三、会议情况")
    for line in meeting.minutes.splitlines() or [""]:
        _run(_para(doc, indent=True), line.strip())
    _signature(doc, council.name, day)
    return _save(doc)


def notice_docx(meeting: Meeting) -> bytes:
    """会议通知 to the council's members: time, place, agenda, who attends, 有关要求."""
    council = meeting.council
    doc = _gbt9704()
    _title(doc, f"关于召开{council.name}会议的通知")
    _run(_para(doc), f"{council.name}各成员：")  # 主送: 顶格, 全角冒号
    _run(_para(doc, indent=True), f"定于{_when(meeting)}在{meeting.place}召开{council.name}会议，"
                                  "现将有关事项通知如下：")
    _heading(doc, "一、会议时间")
    _run(_para(doc, indent=True), _when(meeting))
    _heading(doc, "二、会议地点")
    _run(_para(doc, indent=True), meeting.place)
    _heading(doc, "三、会议议题")
    items = list(meeting.items.order_by("pk"))
    for i, item in enumerate(items, 1):
        _run(_para(doc, indent=True), f"{i}. {item.title}")
    if not items:
        _run(_para(doc, indent=True), "议题另行通知。")
    _heading(doc, "四、参会人员")
    members = list(council.members.filter(left_on__isnull=True).select_related("person", "unit", "organisation")
                   .order_by("pk"))
    convener = council.convener
    attending = "、".join(m.display_name for m in members) or "本议事组织全体成员"
    host = f"，召集人{convener}主持" if convener else ""
    _run(_para(doc, indent=True), f"{attending}{host}。")
    _heading(doc, "五、有关要求")
    _run(_para(doc, indent=True), "请各成员围绕会议议题提前做好准备，准时参会；因故不能参会的，请提前向召集人请假。")
    _signature(doc, council.name, timezone.localdate())
    return _save(doc)


def ledger_xlsx(council: Council) -> bytes:
    """The council's 议题台账 and its meetings, through the office-grade writer: dates as dates, fitted widths,
    frozen header, autofilter, A4 landscape print setup."""
    def items() -> Iterator[list[object]]:
        for i, item in enumerate(ledger(council), 1):
            yield [i, item.title, item.get_source_display(), item.get_state_display(),
                   timezone.localtime(item.meeting.scheduled_for).date() if item.meeting else None,
                   item.decision, item.responsible, item.deadline, item.done_on,
                   item.escalated_to.council.name if hasattr(item, "escalated_to") else "", item.answer]

    meetings = ([m.scheduled_for, m.place, "是" if m.held else "否", m.n_items]
                for m in council.meetings.annotate(n_items=Count("items")).order_by("-scheduled_for"))
    return xlsx.workbook_bytes(
        xlsx.Sheet("议题台账", [
            xlsx.Col("序号", "int"), xlsx.Col("议题"), xlsx.Col("来源"), xlsx.Col("状态"), xlsx.Col("上会日期", "date"),
            xlsx.Col("决议"), xlsx.Col("责任方"), xlsx.Col("完成时限", "date"), xlsx.Col("落实日期", "date"),
            xlsx.Col("上移至"), xlsx.Col("上级答复")], items()),
        xlsx.Sheet("会议列表", [xlsx.Col("会议时间", "datetime"), xlsx.Col("地点"), xlsx.Col("已召开"),
                                xlsx.Col("议题数", "int")], meetings),
    )
