"""答复意见评价: how well an official reply answers a resident's message, scored 0–100 on three measures that can
each be told in one sentence on the page.

- 相关性 (relevance): does the reply talk about what was asked? The character-bigram cosine between message and reply
  (boilerplate such as 您好/留言已收悉/感谢您的支持 left out), the share of the title's key bigrams that recur in the
  reply, and the share of the places and objects the message names (xx小区, xx路, xx公司…) that the reply names too.
- 完整性 (completeness): the parts of a proper official reply, each found by its usual wording — 称呼问候, 调查核实情况,
  处理措施/结果, 政策法规依据, 后续安排/联系方式, 致谢 — with points each; a reply shorter than a few lines is cut in
  proportion.
- 及时性 (timeliness): working days from the message to the reply (the day of the message not counted), on the
  platform's calendar (法定节假日与调休) when it is at hand, else Monday–Friday.

The total weighs them 35 : 40 : 25. Pure functions over text and times: no models, no database. Thresholds were set by
reading the public 问政 messages with their replies (bench/dispatch_replies.py scores all of them): half of those
replies come within 8 working days, a quarter after 15; a quarter are shorter than 140 characters.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

__all__ = [
    "ELEMENTS", "LATE_WORKDAYS", "MEASURE", "WEIGHTS", "ReplyScore", "count_weekdays", "count_workdays",
    "score_reply",
]

# ---- weights and thresholds (stated on the page)

WEIGHTS = {"relevance": 35, "completeness": 40, "timeliness": 25}

# Timeliness: full marks up to FULL_WORKDAYS, then straight lines through these points, 0 from the last one on.
FULL_WORKDAYS = 5
LATE_WORKDAYS = 15  # the usual 12345 limit for a reply; later than this is "超期答复"
TIMELINESS_POINTS = ((FULL_WORKDAYS, 100), (LATE_WORKDAYS, 60), (30, 20), (60, 0))

# Completeness: a reply shorter than FULL_LENGTH characters keeps only part of its points (SHORT_FACTOR at
# SHORT_LENGTH characters or fewer, rising linearly to all of them at FULL_LENGTH).
SHORT_LENGTH, FULL_LENGTH, SHORT_FACTOR = 30, 120, 0.3

# Relevance: a cosine of SIMILARITY_FULL or more counts fully (the middle half of the public replies lie between
# 0.09 and 0.20), and so does a title coverage of TITLE_FULL or more.
SIMILARITY_FULL = 0.25
TITLE_FULL = 0.6
MAX_TERMS = 8  # places/objects of the message checked in the reply
MAX_TEXT = 3000  # characters of each text compared (long letters say what they ask at the start)

# ---- text pieces

_CLEAN = re.compile(
    r"_x000D_|https?://\S+|\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{3,4}-\d{4,}|\d{7,}"
)
_TOKEN = re.compile(r"[A-Za-z0-9]+|[\u4e00-\u9fff]")
# Words every message or every reply uses, whatever it is about: their bigrams say nothing of relevance.
_GENERIC = (
    "您好 你好 网友 网民 朋友 留言 来信 来邮 收悉 已收 获悉 反映 问题 情况 回复 答复 如下 现将 有关 感谢 谢谢 支持 "
    "关心 关注 监督 理解 工作 我们 您的 你的 相关 部门 领导 尊敬 书记 市长 县长 区长 希望 请求 要求 已经 进行 关于 "
    "对于 以上 特此 咨询 投诉 建议 政府 一下 什么 为什么 是否 可以 没有 他们 这个 一个 目前 现在 及时 积极 我局 我镇 "
    "我区 我县 我市 我院 我委 本人 自己 大家 如果 因为 所以 但是 而且 还是 就是 不是 这样 那么 时候 根据 按照 规定 "
    "经过 调查 核实 处理 联系 电话 办理 表示 同志 各位 老百姓 群众 居民 市民 解决 重视 高度 具体 "
    "请处理 麻烦 谢谢您 您反映 你反映 的问题 问政 平台 网帖 信件 信访"
)
_STOP_CHARS = set(
    "的了在是我和与及对把被从到向给个这那有为于说们也都就而又很去来让将要想请该其此等"
    "地得着过还求询诉议问离跑半修建看清装条种全且除办找至直整沿次各他些市省"
)
# Words after which a name starts (…举行熊家台幼儿园, 希望洪姜区…, 之后小区…).
_STOP_WORDS = re.compile(
    r"希望|之后|以后|举行|百姓|占用|要求|反映|关于|位于|来到|前往|居住|住在|附近|门口|旁边|对面|"
    r"以及|还有|通过|经过|没有|不能|进行|导致|造成|由于|因为|所以|已经|整个|各个|这些|那些|一些|"
    r"所有|晚上|早上|下午|上午|今天|昨天|什么|经常|常常|抱怨|反复|一名|彻底|解决|合理|应该|普通"
)
# What places and objects are called: 海鸥花园, 黄兴北路, 3号楼, 北山镇, 华汇房地产公司…
_SUFFIXES = (
    "小区|社区|街道|大道|花园|广场|公寓|山庄|家园|新村|市场|商场|医院|卫生院|学校|中学|小学|幼儿园|"
    "大学|学院|公司|银行|酒店|宾馆|工地|大厦|公园|车站|派出所|管委会|号楼|单元|局|村|镇|乡|县|区|路|街|巷|桥|栋|苑|湾|河|湖|厂"
)
_NOT_A_NAME = r"(?![灯面段况费程])"  # 路灯, 路面, 河段… are things, not the end of a name
_TERM = re.compile(r"[A-Za-z0-9\u4e00-\u9fff]{1,8}(?:" + _SUFFIXES + ")" + _NOT_A_NAME)  # greedy: the longest name
_TERM_END = re.compile(r"(?:" + _SUFFIXES + ")$")
_CODE_TERM = re.compile(r"[A-Za-z0-9]+(?:" + _SUFFIXES + ")$")
_PIECE = re.compile(r".*?(?:" + _SUFFIXES + ")" + _NOT_A_NAME)
_GENERIC_TERMS = frozenset((
    "小区 社区 街道 公司 学校 医院 政府 城区 市区 地区 辖区 片区 园区 我区 我县 我镇 本区 全区 全县 "
    "全市 全镇 住宅区 商业区 农村 乡村 物业公司 公路 马路 道路 开发区 风景区 景区 城乡 县城 老小区 新小区 高速公路"
).split())


def _clean(text: str) -> str:
    return _CLEAN.sub(" ", text[:MAX_TEXT])


def _bigrams(text: str) -> list[str]:
    tokens = _TOKEN.findall(text)
    return [a + b for a, b in pairwise(tokens)]


_STOP_BIGRAMS = frozenset(g for word in _GENERIC.split() for g in _bigrams(word))


def _vector(text: str) -> dict[str, float]:
    counts = Counter(g for g in _bigrams(text) if g not in _STOP_BIGRAMS)
    return {g: 1.0 + math.log(n) for g, n in counts.items()}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if not a or not b:
        return 0.0
    if len(a) > len(b):
        a, b = b, a
    dot = sum(v * b.get(g, 0.0) for g, v in a.items())
    return dot / math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))


def _pieces(span: str) -> list[str]:
    """Split "碧海社区海鸥花园1号楼" at each name's end ("碧海社区", "海鸥花园", "1号楼") and trim each to its name."""
    kept: list[str] = []
    for m in _PIECE.finditer(span):
        piece = m.group(0)
        cut = max((i for i, ch in enumerate(piece[:-1]) if ch in _STOP_CHARS), default=-1)
        piece = piece[cut + 1:]
        words = [w for w in _STOP_WORDS.finditer(piece) if w.end() < len(piece)]
        if words:
            piece = piece[words[-1].end():]
        code = _CODE_TERM.search(piece)
        if code:
            piece = code.group(0)  # "A7县", "3号楼", "18栋": the code is the name
        name = _TERM_END.sub("", piece)
        if len(name) >= (1 if code else 2):
            kept.append(piece[-7:])
    return kept


def named_terms(text: str, limit: int = MAX_TERMS) -> list[str]:
    """The places and objects a message names (海鸥花园, 3号楼, 黄兴北路, 北山镇), in order, at most ``limit``."""
    found: list[str] = []
    for m in _TERM.finditer(_clean(text)):
        for term in _pieces(m.group(0)):
            if term not in found and term not in _GENERIC_TERMS and not term.endswith("政府"):
                found.append(term)
        if len(found) >= limit:
            break
    return found[:limit]


def _mentions(reply: str, term: str) -> bool:
    # The reply may drop the suffix or shorten the name (黄兴北路 → 黄兴路, 荣合桥社区 → 荣合桥).
    return term in reply or (len(term) >= 4 and term[:-1] in reply) or term[-3:] in reply


# ---- completeness: the parts of an official reply

@dataclass(frozen=True)
class Element:
    key: str
    label: object  # a lazy translation
    points: int
    pattern: re.Pattern[str]


ELEMENTS: tuple[Element, ...] = (
    Element("greeting", gettext_lazy("称呼问候"), 10, re.compile(
        r"^.{0,30}?(?:您好|你好|尊敬的|网友|网民|同志|先生|女士|市民|朋友|居民)", re.S)),
    Element("findings", gettext_lazy("调查核实情况"), 25, re.compile(
        r"经(?:过)?(?:调查|核实|核查|了解|查|现场|实地|研究|排查|走访|检测|勘察|调阅|审查|复核|统计)|调查|核实|核查|查看|勘察|走访|了解到|"
        r"据了解|据查|据统计|情况如下|基本情况|原因|属实|现状|目前|实际情况|情况是|数据显示|综上")),
    Element("measures", gettext_lazy("处理措施/结果"), 25, re.compile(
        r"已(?:经)?(?:责令|安排|组织|完成|督促|要求|整改|处理|落实|解决|修复|清理|拆除|开展|协调|约谈|立案|下发|恢复|制定|启动|纳入|派|"
        r"通知|告知|办理|退还|补发|发放|更换|维修|施工|开工|建成|投入|做好|联系|对|按|于|与|向|将)|责令|整改|督促|查处|处罚|下一步|"
        r"将(?:加强|继续|进一步|尽快|积极|及时|会同|组织|安排|督促|加大|按照|依法|对|在|于|不断|认真|逐步|统筹)|会(?:着重|认真|尽快|及时|继续)|"
        r"计划|拟于|正在|妥善|予以|限期|修复|清运|更换")),
    Element("basis", gettext_lazy("政策法规依据"), 15, re.compile(
        r"《[^》]{2,40}》|[〔\[]\d{4}[〕\]]|根据|依据|依照|按照|规定|第[一二三四五六七八九十百零\d]+条|政策|法律|法规|条例|办法|标准|文件精神")),
    Element("follow_up", gettext_lazy("后续安排/联系方式"), 15, re.compile(
        r"电话|联系|咨询|热线|地址|如有(?:疑问|问题|异议|不明)|前往|可到|可向|可至|可携带|欢迎|后续|跟踪|回访|窗口|邮箱|建议您|请您")),
    Element("thanks", gettext_lazy("致谢"), 10, re.compile(r"感谢|谢谢|致谢|支持|理解|关心|关注|祝您|敬请谅解")),
)
# Only "your message was passed on" (已转交…办理) is no handling of one's own.
_TRANSFER = re.compile(r"已?转(?:至|交|给|往|送|办)|转[\u4e00-\u9fffA-Za-z0-9]{0,12}(?:处理|办理|答复|回复)")
_ACK_ONLY_LENGTH = 40


# ---- working days

def _local_date(value: dt.datetime) -> dt.date:
    if value.tzinfo is None:  # naive times are local (Asia/Shanghai) already
        return value.date()
    from zoneinfo import ZoneInfo

    return value.astimezone(ZoneInfo("Asia/Shanghai")).date()


def count_weekdays(start: dt.date, end: dt.date) -> int:
    """Monday–Friday days after ``start`` up to and including ``end`` (the pure fallback)."""
    if end <= start:
        return 0
    days = (end - start).days
    weeks, rest = divmod(days, 7)
    n = weeks * 5
    for i in range(1, rest + 1):
        if (start + dt.timedelta(days=weeks * 7 + i)).weekday() < 5:
            n += 1
    return n


def count_workdays(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` on the official calendar (法定节假日、调休 and the
    administrator's table, :mod:`gongzhi.core.workdays`); Monday–Friday if that calendar is not at hand."""
    try:
        from gongzhi.core.workdays import is_workday
    except ImportError:  # pragma: no cover - the calendar ships with the platform
        return count_weekdays(start, end)
    if end <= start:
        return 0
    return sum(1 for i in range(1, (end - start).days + 1) if is_workday(start + dt.timedelta(days=i)))


# ---- the score

@dataclass(frozen=True)
class ReplyScore:
    relevance: int
    completeness: int
    timeliness: int
    total: int
    workdays: int
    similarity: float  # bigram cosine between message and reply, 0–1
    title_coverage: float  # share of the title's key bigrams found in the reply, 0–1
    covered: tuple[str, ...]  # places/objects of the message the reply names too
    missed: tuple[str, ...]  # … and those it does not
    elements: tuple[str, ...]  # keys of ELEMENTS found in the reply
    length: int
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def late(self) -> bool:
        return self.workdays > LATE_WORKDAYS

    @property
    def element_labels(self) -> list[str]:
        return [str(e.label) for e in ELEMENTS if e.key in self.elements]

    @property
    def missing_labels(self) -> list[str]:
        return [str(e.label) for e in ELEMENTS if e.key not in self.elements]

    def explanations(self) -> dict[str, str]:
        """One sentence per measure for this reply, as the page shows it."""
        terms = len(self.covered) + len(self.missed)
        named = (_("留言中的地点/对象答复提及{n}/{m}个").format(n=len(self.covered), m=terms) if terms
                 else _("留言未指明具体地点/对象"))
        return {
            "relevance": _("用字相似度{s:.2f}，标题要点覆盖{t:.0%}，{named}。").format(
                s=self.similarity, t=self.title_coverage, named=named),
            "completeness": _("具备{have}；缺{lack}；全文{n}字。").format(
                have="、".join(self.element_labels) or _("无"), lack="、".join(self.missing_labels) or _("无"),
                n=self.length),
            "timeliness": _("反映后第{n}个工作日答复。").format(n=self.workdays),
        }


def _relevance(title: str, text: str, reply: str) -> tuple[int, float, float, list[str], list[str]]:
    message = _clean(f"{title} {text}")
    body = _clean(reply)
    similarity = _cosine(_vector(message), _vector(body))
    key = [g for g in dict.fromkeys(_bigrams(_clean(title))) if g not in _STOP_BIGRAMS]
    title_coverage = sum(1 for g in key if g in body) / len(key) if key else min(1.0, similarity / SIMILARITY_FULL)
    terms = named_terms(f"{title} {text}")
    covered = [t for t in terms if _mentions(body, t)]
    missed = [t for t in terms if t not in covered]
    s = min(1.0, similarity / SIMILARITY_FULL)
    t = min(1.0, title_coverage / TITLE_FULL)
    if terms:
        value = 0.4 * s + 0.3 * t + 0.3 * len(covered) / len(terms)
    else:
        value = 0.5 * s + 0.5 * t
    return round(100 * value), similarity, title_coverage, covered, missed


def _completeness(reply: str) -> tuple[int, list[str], bool]:
    body = reply.strip()
    found = [e for e in ELEMENTS if e.pattern.search(body)]
    transferred_only = bool(_TRANSFER.search(body)) and len(body) < FULL_LENGTH and not any(
        e.key == "findings" for e in found)
    if transferred_only:  # "已转交xx办理" is no measure taken
        found = [e for e in found if e.key != "measures"]
    points = sum(e.points for e in found)
    n = len(body)
    if n <= SHORT_LENGTH:
        factor = SHORT_FACTOR
    elif n < FULL_LENGTH:
        factor = SHORT_FACTOR + (1 - SHORT_FACTOR) * (n - SHORT_LENGTH) / (FULL_LENGTH - SHORT_LENGTH)
    else:
        factor = 1.0
    return round(points * factor), [e.key for e in found], transferred_only


def _timeliness(workdays: int) -> int:
    if workdays <= FULL_WORKDAYS:
        return 100
    for (d0, s0), (d1, s1) in pairwise(TIMELINESS_POINTS):
        if workdays <= d1:
            return round(s0 + (s1 - s0) * (workdays - d0) / (d1 - d0))
    return 0


def score_reply(
    message_title: str,
    message_text: str,
    reply: str,
    asked_at: dt.datetime,
    replied_at: dt.datetime,
    *,
    workdays_fn: Callable[[dt.date, dt.date], int] | None = None,
) -> ReplyScore:
    """Score one reply to one message. ``workdays_fn(start, end)`` counts the working days after ``start`` up to
    ``end`` (default :func:`count_workdays`, the platform's calendar; :func:`count_weekdays` is Monday–Friday)."""
    title, text, reply = message_title or "", message_text or "", (reply or "").replace("_x000D_", "").strip()
    relevance, similarity, title_coverage, covered, missed = _relevance(title, text, reply)
    completeness, elements, transferred_only = _completeness(reply)
    count = workdays_fn or count_workdays
    workdays = max(0, count(_local_date(asked_at), _local_date(replied_at)))
    timeliness = _timeliness(workdays)
    total = round((WEIGHTS["relevance"] * relevance + WEIGHTS["completeness"] * completeness
                   + WEIGHTS["timeliness"] * timeliness) / sum(WEIGHTS.values()))

    reasons: list[str] = []
    ack_only = len(reply) <= _ACK_ONLY_LENGTH and "findings" not in elements and "measures" not in elements
    if ack_only:
        reasons.append(_("仅有套话，未作实质答复"))
    elif transferred_only:
        reasons.append(_("仅告知已转办，未答复办理结果"))
    elif len(reply) < FULL_LENGTH:
        reasons.append(_("答复过短（{n}字）").format(n=len(reply)))
    if similarity < 0.3 * SIMILARITY_FULL and title_coverage < 0.2:
        reasons.append(_("答复内容与所反映问题关联弱"))
    elif title_coverage < 0.2:
        reasons.append(_("未回应标题所提事项"))
    if missed and len(missed) * 2 >= len(covered) + len(missed):
        # The names themselves are data: the page shows them beside the reason (``missed``), untranslated.
        reasons.append(_("未提及留言中的地点或对象"))
    for key, label in () if ack_only else (("findings", _("缺调查核实情况")), ("measures", _("缺处理措施或结果")),
                       ("basis", _("未说明政策法规依据")), ("follow_up", _("缺后续安排或联系方式"))):
        if key not in elements and not (key == "measures" and transferred_only):
            reasons.append(label)
    if workdays > LATE_WORKDAYS:
        reasons.append(_("超过{limit}个工作日答复（{n}个）").format(limit=LATE_WORKDAYS, n=workdays))
    elif workdays > FULL_WORKDAYS:
        reasons.append(_("第{n}个工作日答复").format(n=workdays))
    return ReplyScore(
        relevance=relevance, completeness=completeness, timeliness=timeliness, total=total, workdays=workdays,
        similarity=round(similarity, 3), title_coverage=round(title_coverage, 3), covered=tuple(covered),
        missed=tuple(missed), elements=tuple(elements), length=len(reply), reasons=tuple(reasons))


# ---- the measure, as the page explains it (one sentence per dimension)

MEASURE: tuple[tuple[object, object], ...] = (
    (gettext_lazy("相关性"), gettext_lazy(
        "答复是否回应了所问：答复与留言的用字相似度（去掉“您好”“留言已收悉”等套话）占40%，标题要点在答复中出现的比例占30%，"
        "留言中点名的小区、道路、单位等在答复中再次出现的比例占30%。")),
    (gettext_lazy("完整性"), gettext_lazy(
        "规范答复的六项要素：称呼问候10分、调查核实情况25分、处理措施/结果25分、政策法规依据15分、后续安排/联系方式15分、致谢10分；"
        "不足120字的答复按字数折减（30字及以下只计三成）。")),
    (gettext_lazy("及时性"), gettext_lazy(
        "从反映到答复的工作日数（按法定节假日与调休，反映当天不计）：5个工作日内100分，第15个工作日60分，第30个工作日20分，"
        "60个工作日及以上0分，其间按日线性递减；超过15个工作日计为超期答复。")),
    (gettext_lazy("总分"), gettext_lazy(
        "相关性×35% + 完整性×40% + 及时性×25%。评分由系统按文字规则自动计算，供督办参考，不代替人工审阅。")),
)
