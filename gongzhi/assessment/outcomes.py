"""A round's results from its sheets, answers and computed indicators: pure arithmetic on plain values, so the rules
can be read, tested by hand and run over 10,000 subjects in well under a second.

The rules, as shown on the results page:

1. **A rater's sheet** is the sum of the points she gave to the manual indicators. Only *submitted* sheets count; a
   sheet still open when scoring closes is late and left out (the subject's notes say how many).
2. **A staff group's score** for a subject is the mean of its submitted sheets plus the subject's computed indicators.
3. **A residents' group's score** is the mean answer on the scale 非常满意 100 · 满意 80 · 基本满意 60 · 不满意 40 ·
   非常不满意 20, scaled to the scheme's full marks. With fewer answers than the scheme's minimum (东港: 50) the
   group has no score and the subject's result is **invalid**: it is shown, but neither ranked, banded nor starred.
   **Satisfaction** is the share of answers 满意 or better (基本满意 does not count); without a residents' group it is
   the satisfaction rate of the subject's own cases in the period.
4. **The total** is the weighted mean of the groups that have a score (4 : 4 : 2 → 0.4, 0.4, 0.2). When a staff group
   has no submitted sheet for a subject, its weight is spread over the others in proportion and the subject is marked
   incomplete. Totals are rounded half-up to the cent, and everything after uses the rounded total.
5. **Ranks**: by total, highest first; equal totals share a rank and the next rank skips (1, 2, 2, 4). Subjects
   screened out at a review stage keep their rank but get no stars.
6. **Bands** by rank share (e.g. 红 30 % · 蓝 40 % · 黄 30 %): band *i* takes the positions up to n × cumulative
   share, rounded half-up (10 grids: 3 · 4 · 3); a tie takes the band of its first position, so equal totals are
   never split. By score: the first band whose
   line the total reaches.
7. **Stars**: the highest level whose score line and satisfaction line are both reached.
8. **红榜 / 黑榜**: the subjects ranked in the top *k* (ties included), and those whose total is at or below the *m*-th
   lowest (ties included); a subject on both (tiny rounds) is on the red list only. **Sanctions** apply to the last
   ``last_places`` the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
RATING_SCORE = {5: Decimal(100), 4: Decimal(80), 3: Decimal(60), 2: Decimal(40), 1: Decimal(20)}
SATISFIED_RATINGS = (4, 5)


@dataclass(frozen=True)
class Group:
    key: int
    weight: Decimal
    residents: bool = False


@dataclass
class Input:
    key: int
    sheets: dict[int, list[Decimal]] = field(default_factory=dict)  # group → submitted sheet totals
    late: int = 0  # sheets not submitted
    computed: Decimal = Decimal(0)
    ratings: dict[int, int] = field(default_factory=dict)  # rating (1–5) → answers
    case_satisfaction: Decimal | None = None  # the subject's own cases, for satisfaction without a survey
    withdrawn: bool = False


@dataclass
class Result:
    key: int
    total: Decimal | None = None
    group_scores: dict[int, Decimal] = field(default_factory=dict)
    satisfaction: Decimal | None = None
    answers: int = 0
    complete: bool = True
    valid: bool = True
    rank: int | None = None
    stars: int = 0
    band: str = ""
    listed: str = ""  # "red" / "black"
    sanctioned: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Rules:
    full_marks: Decimal
    min_answers: int = 0
    stars: Sequence[dict] = ()  # {"level", "min_score", "min_satisfaction"}
    band_basis: str = "rank"
    bands: Sequence[dict] = ()  # {"name", "share"} or {"name", "min_score"}
    honour_count: int = 0
    shame_count: int = 0
    sanction_last: int = 0


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _mean(values: Sequence[Decimal]) -> Decimal:
    return sum(values, Decimal(0)) / len(values)


def _score(item: Input, groups: Sequence[Group], rules: Rules, out: Result) -> None:
    answers = sum(item.ratings.values())
    out.answers = answers
    if answers:
        satisfied = sum(n for r, n in item.ratings.items() if r in SATISFIED_RATINGS)
        out.satisfaction = cents(Decimal(100) * satisfied / answers)
    elif item.case_satisfaction is not None:
        out.satisfaction = cents(item.case_satisfaction)
    weighted, weights = Decimal(0), Decimal(0)
    for g in groups:
        if g.residents:
            if answers == 0 or answers < rules.min_answers:
                out.valid = False
                out.notes.append(f"residents:{answers}<{rules.min_answers}")
                continue
            mean = sum((RATING_SCORE[r] * n for r, n in item.ratings.items()), Decimal(0)) / answers
            score = mean * rules.full_marks / 100
        else:
            sheets = item.sheets.get(g.key) or []
            if not sheets:
                out.complete = False
                out.notes.append(f"missing:{g.key}")
                continue
            score = _mean(sheets) + item.computed
        out.group_scores[g.key] = cents(score)
        weighted += g.weight * score
        weights += g.weight
    if item.late:
        out.notes.append(f"late:{item.late}")
    if weights == 0:
        out.valid = False
        return
    out.total = cents(weighted / weights)


def _band_by_rank(position: int, n: int, bands: Sequence[dict]) -> str:
    cumulative = Decimal(0)
    for i, band in enumerate(bands):
        cumulative += Decimal(str(band.get("share", 0)))
        if i == len(bands) - 1 or position <= (n * cumulative / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP):
            return str(band["name"])
    return ""


def _band_by_score(total: Decimal, bands: Sequence[dict]) -> str:
    for band in sorted(bands, key=lambda b: -Decimal(str(b.get("min_score", 0)))):
        if total >= Decimal(str(band.get("min_score", 0))):
            return str(band["name"])
    return ""


def _stars(total: Decimal, satisfaction: Decimal | None, rules: Sequence[dict]) -> int:
    best = 0
    for rule in rules:
        if total < Decimal(str(rule.get("min_score", 0))):
            continue
        line = rule.get("min_satisfaction")
        if line not in (None, "") and (satisfaction is None or satisfaction < Decimal(str(line))):
            continue
        best = max(best, int(rule["level"]))
    return best


def compute(items: Sequence[Input], groups: Sequence[Group], rules: Rules) -> list[Result]:
    """Every subject's result, in the order given."""
    results = []
    for item in items:
        out = Result(item.key)
        _score(item, groups, rules, out)
        results.append(out)
    ranked = sorted((r for r in results if r.valid and r.total is not None), key=lambda r: -r.total)  # type: ignore[operator]
    n = len(ranked)
    previous: Decimal | None = None
    rank = 0
    for position, r in enumerate(ranked, start=1):
        if r.total != previous:
            rank, previous = position, r.total
        r.rank = rank
    withdrawn = {i.key for i in items if i.withdrawn}
    totals_desc = [r.total for r in ranked]
    red_line = totals_desc[rules.honour_count - 1] if 0 < rules.honour_count <= n else None
    black_line = totals_desc[n - rules.shame_count] if 0 < rules.shame_count <= n else None
    sanction_line = totals_desc[n - rules.sanction_last] if 0 < rules.sanction_last <= n else None
    for r in ranked:
        assert r.total is not None and r.rank is not None
        if rules.bands:
            r.band = (_band_by_rank(r.rank, n, rules.bands) if rules.band_basis == "rank"
                      else _band_by_score(r.total, rules.bands))
        if r.key not in withdrawn and rules.stars:
            r.stars = _stars(r.total, r.satisfaction, rules.stars)
        if red_line is not None and r.total >= red_line:
            r.listed = "red"
        elif black_line is not None and r.total <= black_line:
            r.listed = "black"
        if sanction_line is not None and r.total <= sanction_line and r.listed != "red":
            r.sanctioned = True
    return results
