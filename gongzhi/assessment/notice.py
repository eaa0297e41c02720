"""The 公示 notice of a round's results: Word in GB/T 9704 公文 form (the councils' layout helpers), and the same
text as PDF where WeasyPrint is installed.

关于{轮次}考评结果的公示 — what was assessed and over which period, the ranked table (名次, 考评对象, 总分, 星级,
档次), the 红榜 and 黑榜, the star list, the bands, then the objection period up to ``notice_until`` and how to
object. Only names of the assessed and their results are printed, as on the public board: no raters, no residents,
and a person assessed by initial only.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.html import escape
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

from gongzhi.councils.documents import _date, _gbt9704, _heading, _para, _run, _save, _signature, _title

from .models import Round, Subject
from .workflow import RoundState

TABLE_SIZE = Pt(12)  # 小四 in the table: five columns on 156 mm
MAX_TABLE_ROWS = 2000  # a city-wide round of grids lists its first 2,000; the full list is the Excel export


@dataclass
class NoticeData:
    round: Round
    ranked: list[Subject] = field(default_factory=list)
    unranked: int = 0
    red: list[Subject] = field(default_factory=list)
    black: list[Subject] = field(default_factory=list)
    stars: dict[int, list[Subject]] = field(default_factory=dict)
    bands: dict[str, list[Subject]] = field(default_factory=dict)
    notice_until: dt.date | None = None


def notice_data(rnd: Round) -> NoticeData:
    """What the notice prints, from the stored results (as :func:`.selectors.public_board` shows them)."""
    data = NoticeData(rnd)
    for s in rnd.subjects.order_by("rank", "name", "pk"):
        if s.rank is None or not s.valid:
            data.unranked += 1
            continue
        if s.person_id:
            s.name = s.name[:1] + "**"
        data.ranked.append(s)
        if s.listed == "red":
            data.red.append(s)
        elif s.listed == "black":
            data.black.append(s)
        if s.stars:
            data.stars.setdefault(s.stars, []).append(s)
        if s.band:
            data.bands.setdefault(s.band, []).append(s)
    data.stars = dict(sorted(data.stars.items(), reverse=True))
    data.notice_until = rnd.notice_until or (
        timezone.localdate() + dt.timedelta(days=rnd.scheme_version.objection_days))
    return data


def notice_filename(rnd: Round, ext: str) -> str:
    return f"关于{rnd.name}考评结果的公示.{ext}"


def title_of(rnd: Round) -> str:
    return f"关于{rnd.name}考评结果的公示"


def _stars(n: int) -> str:
    return "★" * n if n else "—"


def _names(items: list[Subject]) -> str:
    return "、".join(s.name for s in items) or "无"


def _paragraphs(data: NoticeData) -> dict[str, str]:
    rnd = data.round
    period = f"{_date(rnd.period_start)}至{_date(rnd.period_end)}"
    return {
        "opening": (f"根据《{rnd.scheme.name}》，{rnd.area.name}对{period}（{rnd.period_key}）的{rnd.name}开展了考评，"
                    f"共考评{len(data.ranked) + data.unranked}个对象，其中{len(data.ranked)}个取得有效结果"
                    + (f"，{data.unranked}个因评分或居民评价人数不足未排名" if data.unranked else "")
                    + "。经评分、审核，现将考评结果予以公示。"),
        "period": (f"公示期自{_date(timezone.localdate())}起至{_date(data.notice_until)}止"
                   if data.notice_until and rnd.state != RoundState.PUBLISHED else
                   f"公示期至{_date(data.notice_until)}止" if data.notice_until else "公示期以平台公布为准"),
        "how": ("公示期内，对考评结果有异议的，可登录“共治”平台在该考评对象的页面提出异议，"
                f"也可以书面形式向{rnd.area.name}考评工作组反映。反映问题应实事求是，写明理由并提供相关依据，"
                "署真实姓名和联系方式；公示期满、异议答复完毕后发布结果。"),
    }


# ------------------------------------------------------------------------------------------------ Word


def _table(doc: Any, data: NoticeData) -> None:
    header = ("名次", "考评对象", "总分", "星级", "档次")
    rows = data.ranked[:MAX_TABLE_ROWS]
    table = doc.add_table(rows=1 + len(rows), cols=len(header))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    values = [header] + [(str(s.rank), s.name, str(s.total), _stars(s.stars), s.band or "—") for s in rows]
    for r, line in enumerate(values):
        cells = table.rows[r].cells
        for c, text in enumerate(line):
            p = cells[c].paragraphs[0]
            p.alignment = WD_ALIGN_PARAGRAPH.LEFT if c == 1 and r else WD_ALIGN_PARAGRAPH.CENTER
            p.paragraph_format.first_line_indent = Pt(0)
            _run(p, text, "黑体" if r == 0 else "仿宋_GB2312", TABLE_SIZE)
    if len(data.ranked) > MAX_TABLE_ROWS:
        _run(_para(doc, indent=True), f"（仅列前{MAX_TABLE_ROWS}名，完整名单见考评结果表。）")


def notice_docx(rnd: Round) -> bytes:
    """The 公示 notice as Word (A4, 公文 margins, fonts and page numbers)."""
    data = notice_data(rnd)
    text = _paragraphs(data)
    doc = _gbt9704()
    _title(doc, title_of(rnd))
    _run(_para(doc, indent=True), text["opening"])
    _heading(doc, "一、考评结果")
    _table(doc, data)
    _heading(doc, "二、红榜和黑榜")
    _run(_para(doc, indent=True), f"红榜：{_names(data.red)}。")
    _run(_para(doc, indent=True), f"黑榜：{_names(data.black)}。")
    _heading(doc, "三、星级评定和分档")
    if data.stars:
        for level, items in data.stars.items():
            _run(_para(doc, indent=True), f"{level}星级（{_stars(level)}）：{_names(items)}。")
    else:
        _run(_para(doc, indent=True), "本轮未评定星级。")
    for band, items in data.bands.items():
        _run(_para(doc, indent=True), f"{band}档：{_names(items)}。")
    _heading(doc, "四、公示期和异议")
    _run(_para(doc, indent=True), text["period"] + "。")
    _run(_para(doc, indent=True), text["how"])
    _signature(doc, rnd.area.name, timezone.localdate())
    return _save(doc)


# ------------------------------------------------------------------------------------------------ PDF


def pdf_available() -> bool:
    return importlib.util.find_spec("weasyprint") is not None


def notice_html(rnd: Round) -> str:
    from gongzhi.core.reports import FONT

    data = notice_data(rnd)
    text = _paragraphs(data)
    e = escape
    rows = "".join(f"<tr><td>{s.rank}</td><td class='name'>{e(s.name)}</td><td>{s.total}</td>"
                   f"<td>{_stars(s.stars)}</td><td>{e(s.band or '—')}</td></tr>"
                   for s in data.ranked[:MAX_TABLE_ROWS])
    stars = "".join(f"<p>{level}星级（{_stars(level)}）：{e(_names(items))}。</p>"
                    for level, items in data.stars.items())
    bands = "".join(f"<p>{e(band)}档：{e(_names(items))}。</p>" for band, items in data.bands.items())
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{e(title_of(rnd))}</title>
<style>
@page {{ size: A4; margin: 37mm 26mm 35mm 28mm; @bottom-center {{ content: "— " counter(page) " —"; }} }}
body {{ font-family: {FONT}; font-size: 14pt; line-height: 1.7; }}
h1 {{ text-align: center; font-size: 20pt; margin: 0 0 1em; }}
h2 {{ font-size: 14pt; margin: .8em 0 .2em; text-indent: 2em; }}
p {{ text-indent: 2em; margin: 0; }}
table {{ border-collapse: collapse; width: 100%; font-size: 11pt; margin: .4em 0; }}
th, td {{ border: 1px solid #333; padding: 2px 6px; text-align: center; }}
td.name {{ text-align: left; }}
thead {{ display: table-header-group; }}
.signature {{ text-align: right; margin-top: 2em; padding-right: 4em; text-indent: 0; }}
</style></head><body>
<h1>{e(title_of(rnd))}</h1>
<p>{e(text["opening"])}</p>
<h2>一、考评结果</h2>
<table><thead><tr><th>名次</th><th>考评对象</th><th>总分</th><th>星级</th><th>档次</th></tr></thead>
<tbody>{rows}</tbody></table>
<h2>二、红榜和黑榜</h2>
<p>红榜：{e(_names(data.red))}。</p><p>黑榜：{e(_names(data.black))}。</p>
<h2>三、星级评定和分档</h2>
{stars or "<p>本轮未评定星级。</p>"}{bands}
<h2>四、公示期和异议</h2>
<p>{e(text["period"])}。</p><p>{e(text["how"])}</p>
<p class="signature">{e(rnd.area.name)}<br>{_date(timezone.localdate())}</p>
</body></html>"""


def notice_pdf(rnd: Round) -> bytes:
    from weasyprint import HTML  # imported when used: Pango is loaded only for documents

    pdf = HTML(string=notice_html(rnd)).write_pdf()
    assert pdf is not None
    return bytes(pdf)
