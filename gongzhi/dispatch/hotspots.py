"""Hot spots (热点问题): messages about the same problem at the same place within a few weeks, grouped, each group
with a heat index. A pure engine (no database): the platform's cases go in through
:mod:`gongzhi.dispatch.selectors_hotspots`, the public messages of 附件3 through ``bench/dispatch_hotspots.py``.

How messages are grouped (:func:`find_hotspots`):

1. Each message becomes a vector of the character pairs and triples of its title (counted twice) and the start of
   its text, weighted TF-IDF (a pair few messages share weighs more; pairs most messages share — "小区", "问题" —
   are dropped), so two messages are similar (cosine) when they share their rare wording: the place's name, the
   problem's own words.
2. Two messages are linked when they were written within ``window_days`` of each other and are similar enough:
   ``threshold`` when they name a common place (:func:`extract_places` reads places from the text by rule; the
   platform adds the place it knows, ``place_hint``), ``threshold + NO_PLACE_MARGIN`` when they do not (places read
   by rule are sometimes wrong, so naming different ones only asks for more likeness). Never linked: messages in
   different districts, streets or communities, and messages the platform itself places differently.
3. The groups are the connected components of those links (a chain of messages, each close to the next); groups of
   fewer than ``min_size`` messages are dropped.

Cost: vectors by NumPy over the characters, O(n·L) for n messages of at most L characters; similarities only
between messages within the time window (the messages are cut in consecutive time blocks of ``window_days``), by
one sparse product per pair of neighbouring blocks, bounded by dropping the character n-grams more than
``MAX_DF`` of the messages share — O(Σ df²) over the remaining n-grams, each df ≤ MAX_DF·n; then linear in the
number of candidate links, and the places read only for the messages of a candidate link. About 1 s (CPU) for the
4,326 messages of 附件3 on one core (bench/dispatch_hotspots.py).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

# ------------------------------------------------------------------------------------------ messages and groups


@dataclass(frozen=True)
class Message:
    """One message (留言) or case: ``key`` names it (a case's id, a message's number)."""

    key: str | int
    title: str
    text: str
    time: dt.datetime
    likes: int = 0
    dislikes: int = 0
    place_hint: str = ""  # the place the platform knows (the area's name, the address), e.g. "海鸥花园 1号楼"
    author: str = ""  # who wrote it; several messages of one author count as one person in the heat


@dataclass
class HotSpot:
    label: str  # the most representative member's title
    place: str
    first: dt.datetime
    last: dt.datetime
    members: list[str | int]  # keys, oldest first
    size: int
    likes: int
    dislikes: int
    people: int
    heat: float
    places: list[str] = field(default_factory=list)  # every place the members name, most named first

    @property
    def days(self) -> int:
        """How many days the problem has lasted, first to last message (a same-day group: 0)."""
        return (self.last - self.first).days


HEAT_FORMULA = ("热度 = 反映人数 ×（1 + lg(1 + 点赞数 + 反对数)）×（1 + 持续天数 ÷ 30，持续天数最多计 30 天）："
                "反映的人越多、关注（点赞、反对）的人越多、持续越久，热度越高。")
SPREAD_DAYS = 30


def heat_index(*, people: int, likes: int, dislikes: int, days: float) -> float:
    """The heat of a group, as the page says it (:data:`HEAT_FORMULA`):

    heat = P × (1 + lg(1 + V)) × (1 + min(D, 30) / 30)

    - P, the people who raised it: the number of messages, several messages of one author counting once;
    - V, the attention: likes plus dislikes (for cases: the people who also met it, 我也遇到, and merged duplicates).
      On a log scale: 9 likes double the weight of the people, 99 triple it — a few thousand likes do not drown
      twenty residents writing in;
    - D, the days from the first to the last message, up to 30: a problem raised again over a month weighs up to
      twice one raised in a single day (it was not solved the first time).
    """
    spread = 1 + min(max(days, 0.0), SPREAD_DAYS) / SPREAD_DAYS
    return round(people * (1 + math.log10(1 + max(likes, 0) + max(dislikes, 0))) * spread, 2)


# ------------------------------------------------------------------------------------------ places

# Where a place's name ends, longest first (so "小区" wins over "区", "地铁站" over "站").
_SPECIFIC = ("幼儿园", "地铁站", "汽车站", "火车站", "小区", "花园", "家园", "公寓", "大厦", "广场", "公园", "新城",
             "新村", "山庄", "庭院", "华庭", "名城", "社区", "大道", "小学", "中学", "大学", "学院", "学校", "医院",
             "市场", "车站", "园区", "大桥", "路", "街", "巷", "村", "苑", "府", "城", "湾", "庄", "站", "桥")
_ADMIN = ("街道", "省", "市", "区", "县", "镇", "乡")
_SUFFIX_RE = re.compile("|".join(re.escape(s) for s in sorted(_SPECIFIC + _ADMIN, key=len, reverse=True)))
# Words that end a place's name on its left: what people write before or between places.
_STOP_WORDS = (
    "反映", "投诉", "举报", "关于", "咨询", "建议", "请问", "希望", "要求", "位于", "附近", "对面", "旁边", "周边",
    "周围", "门口", "居民", "业主", "住户", "我们", "你们", "他们", "存在", "出现", "没有", "一直", "已经", "目前",
    "现在", "问题", "情况", "严重", "强烈", "相关", "部门", "政府", "领导", "书记", "市长", "区长", "县长", "整个",
    "所在", "以及", "还是", "或者", "但是", "因为", "所以", "如果", "什么", "怎么", "为何", "何时", "能否", "是否",
    "可以", "一下", "一些", "这个", "那个", "这里", "那里", "本人", "今年", "去年", "每天", "晚上", "白天",
    # words that start with a place's suffix ("东港路路灯" is 东港路 and 路灯)
    "路灯", "路口", "路段", "路边", "路面", "路上", "路过", "路线", "村民", "城管", "城市", "市民", "区域", "站点",
    "的", "在", "和", "与", "及", "对", "从", "到", "向", "给", "被", "把", "将", "让", "我", "你", "他", "她", "是",
    "了", "也", "都", "就", "还", "又", "要", "请", "问", "个", "这", "那", "该", "有", "无", "不", "为", "因", "但",
    "而", "或", "等", "吗", "呢", "啊", "吧", "里", "内", "旁", "至", "由", "近", "很", "太",
)
_SPLIT_RE = re.compile(
    "[^0-9A-Za-z\u3400-\u9fff]+|" + "|".join(re.escape(w) for w in sorted(_STOP_WORDS, key=len, reverse=True)))
_MASKED = re.compile(r"[A-Z]\d*[区县市]")  # the public data's masked districts and cities
_MAX_NAME = 10  # characters of a name before its suffix; longer runs are cut from the left


def _segments(text: str) -> list[str]:
    return [s for s in _SPLIT_RE.split(text) if s]


def _places_in(segment: str) -> list[str]:
    """The places of one stretch of text without stop words: each suffix closes a name that starts after the
    previous place ("共治市中山区碧海社区海鸥花园" → 共治市, 中山区, 碧海社区, 海鸥花园); a suffix right after a place
    lengthens it ("丽发新城" + "小区" → "丽发新城小区")."""
    found: list[str] = []
    start = 0
    for m in _SUFFIX_RE.finditer(segment):
        name = segment[start:m.start()]
        if found and start == m.start() and len(m.group()) > 1 and not found[-1].endswith(_ADMIN):
            found[-1] += m.group()  # 丽发新城 + 小区
        elif len(name) >= (1 if len(m.group()) > 1 or m.group() in _ADMIN else 2):
            found.append(name[-_MAX_NAME:] + m.group())
        else:
            continue  # a suffix's character starting a name ("城南路", "村口"): the name goes on
        start = m.end()
    # "受害人去A4区" names the district A4区; "五矿万境K9县" is a place and is in A? district (we do not know which)
    masked = [t.group() for p in found if (t := _MASKED.search(p)) and t.end() == len(p) and t.start() > 0]
    return found + masked


def extract_places(text: str) -> list[str]:
    """Places as people write them (XX小区, XX花园, XX苑, XX路, XX街, XX村, XX学校, XX区, …), by rule, without a
    dictionary: the longest first, each once.

    >>> extract_places("A2区丽发新城小区旁边建搅拌站，噪音扰民")
    ['丽发新城小区', 'A2区']
    """
    seen: dict[str, int] = {}
    for segment in _segments(text or ""):
        for place in _places_in(segment):
            seen.setdefault(place, len(seen))
    return sorted(seen, key=lambda p: (-len(p), seen[p]))


def area_level(place: str) -> str:
    """The level of an administrative place: "district" for 区/县 (a short name, "中山区", or a masked one of the
    public data, "A3区"), "street" for 街道/镇/乡, "community" for 社区, "city" for 市/省; "" for a specific place
    (a compound, a road, a school… and longer names ending in 区: "五矿万境K9县" is a compound's phase)."""
    if place.endswith(("小区", "园区", "校区", "景区", "城区", "社区")):
        return "community" if place.endswith("社区") else ""
    if place.endswith(("区", "县")):
        return "district" if len(place) <= 4 or _MASKED.fullmatch(place) else ""
    if place.endswith(("街道", "镇", "乡")):
        return "street"
    if place.endswith(("市", "省")):
        return "city"
    return ""


def is_admin(place: str) -> bool:
    """A city, district, county, street, town or community: too wide to say two messages are about one place."""
    return area_level(place) != ""


def _areas(places: Iterable[str]) -> frozenset[tuple[str, str]]:
    """(level, name) of the districts, streets and communities named. Cities are left out (the public data masks
    its own city as "A市" and names other cities in passing), and so are two-character districts ("片区", "郊区"),
    words rather than names — but not the masked ones of the public data ("A3区")."""
    return frozenset((lv, p) for p in places if (lv := area_level(p)) and lv != "city"
                     and (len(p) >= 3 or _MASKED.fullmatch(p)))


def areas_conflict(a: frozenset[tuple[str, str]], b: frozenset[tuple[str, str]]) -> bool:
    """Both name a district (or a street, or a community) and none in common: different places."""
    for level in ("district", "street", "community"):
        x = {p for lv, p in a if lv == level}
        y = {p for lv, p in b if lv == level}
        if x and y and not x & y:
            return True
    return False


def _core(place: str) -> str:
    """A place without its generic suffix, to compare "丽发新城小区" with "丽发新城"."""
    for s in ("小区", "花园", "家园", "社区"):
        if place.endswith(s) and len(place) - len(s) >= 2:
            return place[: -len(s)]
    return place


def places_agree(a: Sequence[str], b: Sequence[str]) -> bool | None:
    """Do two messages name a common place? ``True`` (one place in both, or one inside the other: "丽发新城" and
    "丽发新城小区"), ``False`` (each names places, none in common), ``None`` (one of them names none)."""
    if not a or not b:
        return None
    for p in a:
        cp = _core(p)
        for q in b:
            if p == q:
                return True
            cq = _core(q)
            if min(len(cp), len(cq)) >= 3 and (cp in cq or cq in cp):
                return True
    return False


# ------------------------------------------------------------------------------------------ text vectors

MAX_DF = 0.03  # n-grams in more than 3% of the messages ("小区", "问题", "A市") say nothing about which problem
MIN_DF_CAP = 30  # …but never drop an n-gram 30 messages or fewer share (a small set has only a few messages)
TEXT_CHARS = 200  # the start of the text, where people say what and where
NO_PLACE_MARGIN = 0.15


_BUCKETS_BITS = 21  # n-grams hashed into 2 million columns: two rare n-grams rarely share one
_MIX = np.uint64(0x9E3779B97F4A7C15)


def _vectors(docs: Sequence[str]) -> sparse.csr_matrix:
    """TF-IDF rows (sublinear tf, L2 norm) over character pairs and triples, built with NumPy over all the texts at
    once (no Python loop per n-gram; n-grams hashed to columns). The rows keep every n-gram in their norm; the
    columns returned keep only those that may link two messages (shared by at least 2 and by at most MAX_DF of
    them)."""
    n = len(docs)
    joined = "\0".join(d.replace("\0", " ") for d in docs) + "\0"
    c = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    lengths = np.fromiter((len(d) + 1 for d in docs), dtype=np.int64, count=n)
    row_of = np.repeat(np.arange(n, dtype=np.int64), lengths)
    zero = np.uint64(0)
    ok2 = (c[:-1] != zero) & (c[1:] != zero)
    bi = ((c[:-1] << np.uint64(21)) | c[1:])[ok2]
    ok3 = ok2[:-1] & ok2[1:]
    tri = ((c[:-2] << np.uint64(42)) | (c[1:-1] << np.uint64(21)) | c[2:])[ok3] ^ np.uint64(0x5555555555555555)
    keys = np.concatenate([bi, tri])
    rows = np.concatenate([row_of[:-1][ok2], row_of[:-2][ok3]])
    width = 1 << _BUCKETS_BITS
    cols = ((keys * _MIX) >> np.uint64(64 - _BUCKETS_BITS)).astype(np.int64)
    counts = sparse.csr_matrix((np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=(n, width))
    counts.sum_duplicates()
    df = np.bincount(counts.indices, minlength=width)
    df_of = df[counts.indices]
    counts.data = (1 + np.log(counts.data)) * (np.log((1 + n) / (1 + df_of)) + 1).astype(np.float32)
    row_ids = np.repeat(np.arange(n), np.diff(counts.indptr))
    norms = np.sqrt(np.bincount(row_ids, weights=counts.data ** 2, minlength=n)).astype(np.float32)
    norms[norms == 0] = 1
    counts.data /= norms[row_ids]
    useful = (df >= 2) & (df <= max(MAX_DF * n, MIN_DF_CAP))
    mask = useful[counts.indices]
    column = np.cumsum(useful) - 1  # the kept columns, renumbered 0…
    indptr = np.concatenate([[0], np.cumsum(np.bincount(row_ids[mask], minlength=n))])
    return sparse.csr_matrix((counts.data[mask], column[counts.indices[mask]], indptr),
                             shape=(n, int(useful.sum())))


# ------------------------------------------------------------------------------------------ grouping


def _document(m: Message) -> str:
    return f"{m.title} {m.title} {m.text[:TEXT_CHARS]}"


@dataclass(frozen=True)
class _Places:
    specific: list[str]  # compounds, roads, schools… from the hint and the text, the hint's first
    hinted: list[str]  # those the platform knows (``place_hint``): reliable, unlike what is read from the text
    areas: frozenset[tuple[str, str]]  # districts, streets, communities
    in_title: list[str]  # every place the title names


def _message_places(m: Message) -> _Places:
    in_title = extract_places(m.title)
    places = list(dict.fromkeys(in_title + extract_places(m.text[:TEXT_CHARS])))
    hint = m.place_hint.strip()
    hinted = extract_places(hint) if hint else []
    if hint and not hinted:
        hinted = [hint]  # a name without a suffix we know ("1号楼", "万达广场东门"): as it is
    specific_hint = [p for p in hinted if not is_admin(p)]
    specific = list(dict.fromkeys(specific_hint + [p for p in places if not is_admin(p)]))
    return _Places(specific=specific, hinted=specific_hint, areas=_areas(hinted + places), in_title=in_title)


def _link(a: _Places, b: _Places, score: float, threshold: float) -> bool:
    """May these two similar messages be one problem at one place?"""
    if areas_conflict(a.areas, b.areas):
        return False  # different districts, streets or communities
    if a.hinted and b.hinted and places_agree(a.hinted, b.hinted) is False:
        return False  # the platform knows them at different places
    if places_agree(a.specific, b.specific):
        return score >= threshold
    return score >= threshold + NO_PLACE_MARGIN


class _PlaceCache:
    """The places of a message, read from its text only when a candidate link needs them."""

    def __init__(self, messages: Sequence[Message]) -> None:
        self.messages = messages
        self.found: dict[int, _Places] = {}

    def __getitem__(self, i: int) -> _Places:
        hit = self.found.get(i)
        if hit is None:
            hit = self.found[i] = _message_places(self.messages[i])
        return hit


def _candidate_pairs(x: sparse.csr_matrix, order: np.ndarray, stamps: np.ndarray, window: float,
                     floor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j, indices into the messages) written within ``window`` seconds whose cosine is ≥ ``floor``,
    compared block by block along time (a block against itself and the next one)."""
    t = stamps[order]
    block = ((t - t[0]) // max(window, 1.0)).astype(np.int64) if len(t) else np.zeros(0, dtype=np.int64)
    bounds = np.flatnonzero(np.diff(block)) + 1
    starts = np.concatenate([[0], bounds]).astype(np.int64)
    ends = np.concatenate([bounds, [len(t)]]).astype(np.int64)
    xs = x[order]
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    out_s: list[np.ndarray] = []
    for b, (s, e) in enumerate(zip(starts, ends, strict=True)):
        # the block against itself and the next block if it is the adjacent time window
        e2 = ends[b + 1] if b + 1 < len(starts) and block[starts[b + 1]] == block[s] + 1 else e
        sim = (xs[s:e] @ xs[s:e2].T).tocoo()
        gi = sim.row + s
        gj = sim.col + s
        mask = (sim.data >= floor) & (gi < gj) & (np.abs(t[gj] - t[gi]) <= window)
        out_i.append(order[gi[mask]])
        out_j.append(order[gj[mask]])
        out_s.append(sim.data[mask])
    if not out_i:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.float32)
    return np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_s)


def find_hotspots(messages: Sequence[Message], *, window_days: float = 30, threshold: float = 0.2,
                  min_size: int = 2, limit: int | None = None) -> list[HotSpot]:
    """Group ``messages`` about the same problem at the same place (see the module's text for how and at what
    cost) and return the groups of at least ``min_size``, hottest first (:func:`heat_index`; then larger, then more
    recent). ``threshold`` is the cosine two linked messages naming one place need (0–1: 0.2 catches the same
    problem told in other words; higher keeps only near-copies). ``limit`` names only the hottest groups (the others
    are not described: cheaper)."""
    n = len(messages)
    if n < max(min_size, 1):
        return []
    x = _vectors([_document(m) for m in messages])
    stamps = np.array([m.time.timestamp() for m in messages], dtype=np.float64)
    order = np.argsort(stamps, kind="stable")
    window = float(window_days) * 86400.0
    ii, jj, ss = _candidate_pairs(x, order, stamps, window, threshold)
    info = _PlaceCache(messages)
    keep = np.zeros(len(ii), dtype=bool)
    for k, (i, j, s) in enumerate(zip(ii.tolist(), jj.tolist(), ss.tolist(), strict=True)):
        keep[k] = _link(info[i], info[j], s, threshold)
    graph = sparse.coo_matrix((np.ones(int(keep.sum())), (ii[keep], jj[keep])), shape=(n, n))
    _count, labels = connected_components(graph, directed=False)
    groups: dict[int, list[int]] = {}
    for i, lab in enumerate(labels.tolist()):
        groups.setdefault(lab, []).append(i)
    found = [_group(messages, members) for members in groups.values() if len(members) >= min_size]
    found.sort(key=lambda h: (h.heat, h.size, h.last), reverse=True)
    chosen = found[:limit] if limit is not None else found
    # How close each message is to the rest of its group: the sum of its links' similarities.
    strength = np.bincount(np.concatenate([ii[keep], jj[keep]]), weights=np.concatenate([ss[keep], ss[keep]]),
                           minlength=n)
    for h in chosen:
        _describe(h, messages, strength, info, [int(k) for k in h.members])
    return chosen


def _group(messages: Sequence[Message], members: list[int]) -> HotSpot:
    """A group with its counts and heat; ``members`` hold indices until :func:`_describe` names it."""
    members = sorted(members, key=lambda i: (messages[i].time, str(messages[i].key)))
    group = [messages[i] for i in members]
    authors = {m.author for m in group if m.author}
    people = len(authors) + sum(1 for m in group if not m.author)
    likes = sum(max(m.likes, 0) for m in group)
    dislikes = sum(max(m.dislikes, 0) for m in group)
    first, last = group[0].time, group[-1].time
    return HotSpot(label="", place="", first=first, last=last, members=list(members), size=len(group),
                   likes=likes, dislikes=dislikes, people=people,
                   heat=heat_index(people=people, likes=likes, dislikes=dislikes,
                                   days=(last - first).total_seconds() / 86400))


def _describe(h: HotSpot, messages: Sequence[Message], strength: np.ndarray, info: _PlaceCache,
              members: list[int]) -> None:
    """Name the group: its label (the title of the member most linked to the others: the sum of its links'
    similarities), its place (the place most members name, longer names — more specific — preferred, with its
    district) and its members' keys."""
    h.label = messages[max(members, key=lambda i: (strength[i], -i))].title
    named: Counter[str] = Counter()
    districts: Counter[str] = Counter()
    for i in members:
        in_title = info[i].in_title
        named.update(set(info[i].specific))
        named.update({p for p in in_title if not is_admin(p)})  # a place in the title counts twice
        districts.update(p for lv, p in _areas(in_title) if lv == "district")
    ranked = sorted(named.items(), key=lambda pc: (-pc[1] * min(len(pc[0]), 6), -pc[1], pc[0]))
    h.places = [p for p, _c in ranked[:5]]
    district = districts.most_common(1)[0][0] if districts else ""
    place = h.places[0] if h.places else district
    if district and place != district and not place.startswith(district):
        place = f"{district}{place}"
    h.place = place
    h.members = [messages[i].key for i in members]
