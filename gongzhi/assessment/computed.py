"""Indicators computed from the platform's own data for a round's subjects and period (基层减负: nobody types in
what the system already knows). Each source reads the same numbers its module shows on its own figures pages, in
one grouped query per source for all the subjects of a round:

- 诉求满意率 / 按期办结率: the cases figures (:func:`gongzhi.cases.selectors.area_figures`) of the subject's area —
  or, for a unit, of the cases dispatched to it (:func:`gongzhi.cases.selectors.unit_figures`) — received in the
  period. Points = maximum × rate / 100.
- 议事会议按期召开率: the share of the area's councils that are not past their cadence at the end of the period
  (:func:`gongzhi.councils.selectors.cadence_status`).
- 共建项目按期完成率: projects of the area (or led by the unit) due in the period, accepted by their due date
  (as :mod:`gongzhi.cobuild.selectors.figures` counts them).
- 志愿服务时长: hours of deliveries in the area (or by the unit) in the period; full points at the indicator's target.

A subject with nothing to count (no cases, no councils, no projects due) earns the indicator's full points and the
basis says so: there was nothing to fall short of.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from gongzhi.cases import selectors as cases
from gongzhi.cobuild.models import Delivery, Project
from gongzhi.cobuild.workflow import ProjectState
from gongzhi.core import bulk
from gongzhi.councils.models import Council
from gongzhi.councils.selectors import cadence_status

from .models import ComputedValue, Indicator, Round, Source, Subject
from .outcomes import cents

CASE_SOURCES = (Source.CASE_SATISFACTION, Source.CASE_ON_TIME)


def _rate_points(indicator: Indicator, rate: float | Decimal | None, what: str) -> tuple[Decimal | None, Decimal, str]:
    if rate is None:
        return None, indicator.max_points, f"{what}：本期无可计数据，按满分计"
    figure = Decimal(str(rate))
    return figure, cents(indicator.max_points * figure / 100), f"{what} {figure}%"


@dataclass(slots=True, frozen=True)
class Value:
    """A computed indicator's value for one subject, before it is stored as a :class:`ComputedValue` (plain rows:
    10,000 model instances cost a fifth of a second, and most computations store none of them — see :func:`store`)."""

    subject_id: int
    indicator_id: int
    figure: Decimal | None
    points: Decimal
    basis: str


@dataclass(slots=True, frozen=True)
class SubjectKeys:
    """What the computations read of a round's subject: who or what it is and where. Read as plain rows — building
    10,000 model instances (with their JSON results decoded) took a quarter of a second that nothing used."""

    pk: int
    area_id: int | None
    unit_id: int | None
    org_id: int | None
    person_id: int | None
    area_path: str
    withdrawn: bool

    @classmethod
    def of_round(cls, rnd: Round) -> list[SubjectKeys]:
        return [cls(*row) for row in rnd.subjects.order_by("pk").values_list(
            "pk", "area_id", "unit_id", "org_id", "person_id", "area_path", "withdrawn")]


def _by_prefix(subjects: Sequence[SubjectKeys], rows: Iterable[tuple[str, Any]]) -> dict[int, list[Any]]:
    """Rows (area_path, value) bucketed to the area subjects whose path is a prefix of the row's."""
    widths = sorted({len(s.area_path) for s in subjects if s.area_id})
    at: dict[str, int] = {s.area_path: s.pk for s in subjects if s.area_id}
    out: dict[int, list[Any]] = defaultdict(list)
    for path, value in rows:
        for w in widths:
            pk = at.get(path[:w])
            if pk is not None:
                out[pk].append(value)
    return out


def case_figures(rnd: Round, subjects: Sequence[SubjectKeys]) -> dict[int, cases.Figures]:
    out: dict[int, cases.Figures] = {}
    areas = [s for s in subjects if s.area_id]
    for width in sorted({len(s.area_path) for s in areas}):
        by_path = cases.figures_for_paths(rnd.area_path, width, rnd.period_start, rnd.period_end)
        for s in areas:
            if len(s.area_path) == width and s.area_path in by_path:
                out[s.pk] = by_path[s.area_path]
    units = [s for s in subjects if s.unit_id and not s.area_id]
    if units:
        by_unit = cases.figures_for_units([s.unit_id for s in units if s.unit_id], rnd.period_start, rnd.period_end)
        for s in units:
            if s.unit_id in by_unit:
                out[s.pk] = by_unit[s.unit_id]
    return out


def satisfaction_of(figures: cases.Figures | None) -> Decimal | None:
    """The satisfaction rate of a subject's cases in the period (stars without a residents' survey)."""
    rate = figures.satisfaction_rate if figures is not None else None
    return None if rate is None else Decimal(str(rate))


def _councils(rnd: Round, subjects: Sequence[SubjectKeys]) -> dict[int, list[bool]]:
    day = min(rnd.period_end, timezone.localdate())
    rows = [(c.area.path, not cadence_status(c, day).overdue)
            for c in Council.objects.filter(area__path__startswith=rnd.area_path, created_on__lte=day)
            .select_related("area")]
    return _by_prefix(subjects, rows)


def _projects(rnd: Round, subjects: Sequence[SubjectKeys]) -> tuple[dict[int, list[bool]], dict[int, list[bool]]]:
    qs = Project.objects.filter(due_on__gte=rnd.period_start, due_on__lte=rnd.period_end).exclude(
        state=ProjectState.CANCELLED)
    rows = list(qs.filter(area_path__startswith=rnd.area_path).values_list(
        "area_path", "lead_unit_id", "state", "accepted_at", "due_on"))
    done = [(path, state == ProjectState.ACCEPTED and accepted is not None
             and timezone.localtime(accepted).date() <= due) for path, _unit, state, accepted, due in rows]
    by_area = _by_prefix(subjects, done)
    by_unit: dict[int, list[bool]] = defaultdict(list)
    unit_subjects = {s.unit_id: s.pk for s in subjects if s.unit_id and not s.area_id}
    if unit_subjects:
        for _path, unit, state, accepted, due in qs.filter(lead_unit_id__in=list(unit_subjects)).values_list(
                "area_path", "lead_unit_id", "state", "accepted_at", "due_on"):
            by_unit[unit_subjects[unit]].append(state == ProjectState.ACCEPTED and accepted is not None
                                                and timezone.localtime(accepted).date() <= due)
    return by_area, by_unit


def _hours(rnd: Round, subjects: Sequence[SubjectKeys]) -> dict[int, Decimal]:
    qs = Delivery.objects.filter(delivered_on__gte=rnd.period_start, delivered_on__lte=rnd.period_end)
    by_area = _by_prefix(subjects, qs.filter(area_path__startswith=rnd.area_path).values_list("area_path", "hours"))
    out = {pk: sum(v, Decimal(0)) for pk, v in by_area.items()}
    unit_subjects = {s.unit_id: s.pk for s in subjects if s.unit_id and not s.area_id}
    if unit_subjects:
        for unit, hours in qs.filter(unit_id__in=list(unit_subjects)).values("unit_id").annotate(
                h=Sum("hours")).values_list("unit_id", "h").order_by():
            out[unit_subjects[unit]] = hours or Decimal(0)
    return out


def _subject_key(s: Subject | SubjectKeys) -> tuple[str, int] | None:
    """What makes two rounds' subjects the same one (a unit, an area, an organisation or a person)."""
    for name in ("person_id", "unit_id", "org_id", "area_id"):  # a grid worker has her grid too: the person first
        value = getattr(s, name)
        if value:
            return name, value
    return None


def _round_results(rnd: Round, subjects: Sequence[SubjectKeys],
                   indicators: list[Indicator]) -> dict[tuple[int, int], tuple[Decimal | None, Decimal, str]]:
    """For each ROUND_RESULT indicator: the subject's result in the feeding scheme's latest published round whose
    period lies within this round's (a year-end resident scoring inside the annual assessment), scaled from that
    scheme's full marks to the indicator's points. An invalid result (too few answers) or none gives 0 points and
    says why."""
    from .services import full_marks

    out: dict[tuple[int, int], tuple[Decimal | None, Decimal, str]] = {}
    for ind in indicators:
        if ind.source != Source.ROUND_RESULT or ind.feed_scheme_id is None:
            continue
        feed = (Round.objects.filter(scheme_id=ind.feed_scheme_id, state="published",
                                     period_end__gte=rnd.period_start, period_end__lte=rnd.period_end)
                .select_related("scheme_version").order_by("-period_end", "-pk").first())
        results: dict[tuple[str, int], Subject] = {}
        if feed is not None:
            for other in feed.subjects.all():
                key = _subject_key(other)
                if key is not None:
                    results[key] = other
        scale = full_marks(feed.scheme_version) if feed is not None else Decimal(0)
        for s in subjects:
            key = _subject_key(s)
            found = results.get(key) if key is not None else None
            if feed is None or found is None:
                out[(ind.pk, s.pk)] = (None, Decimal(0), "本期无该考评结果")
            elif not found.valid or found.total is None:
                out[(ind.pk, s.pk)] = (None, Decimal(0), f"{feed.name}：结果无效（{found.answers} 人评价）"[:200])
            else:
                points = cents(ind.max_points * found.total / scale) if scale > 0 else Decimal(0)
                out[(ind.pk, s.pk)] = (found.total, points, f"{feed.name}：{found.total} 分（满分 {scale}）"[:200])
    return out


def compute_values(rnd: Round, subjects: Sequence[SubjectKeys], indicators: list[Indicator],
                   figs: dict[int, cases.Figures]) -> dict[int, list[Value]]:
    """The values per subject for the computed ``indicators`` (``figs``: the subjects'
    case figures from :func:`case_figures`, when a case source or a satisfaction line needs them)."""
    sources = {i.source for i in indicators}
    councils = _councils(rnd, subjects) if Source.COUNCIL_CADENCE in sources else {}
    projects_area, projects_unit = (_projects(rnd, subjects) if Source.PROJECTS_ON_TIME in sources else ({}, {}))
    hours = _hours(rnd, subjects) if Source.VOLUNTEER_HOURS in sources else {}
    fed = _round_results(rnd, subjects, indicators) if Source.ROUND_RESULT in sources else {}
    out: dict[int, list[Value]] = defaultdict(list)
    for s in subjects:
        for ind in indicators:
            if ind.source == Source.CASE_SATISFACTION:
                f = figs.get(s.pk)
                figure, points, basis = _rate_points(ind, f.satisfaction_rate if f else None, "诉求满意率")
            elif ind.source == Source.CASE_ON_TIME:
                f = figs.get(s.pk)
                figure, points, basis = _rate_points(ind, f.on_time_rate if f else None, "按期办结率")
            elif ind.source == Source.COUNCIL_CADENCE:
                kept = councils.get(s.pk, [])
                rate = cents(Decimal(100) * sum(kept) / len(kept)) if kept else None
                figure, points, basis = _rate_points(ind, rate, "议事会议按期召开率")
            elif ind.source == Source.PROJECTS_ON_TIME:
                done = projects_unit.get(s.pk) if s.unit_id and not s.area_id else projects_area.get(s.pk)
                rate = cents(Decimal(100) * sum(done) / len(done)) if done else None
                figure, points, basis = _rate_points(ind, rate, "共建项目按期完成率")
            elif ind.source == Source.VOLUNTEER_HOURS:
                figure = hours.get(s.pk, Decimal(0))
                target = ind.target or Decimal(1)
                points = cents(ind.max_points * min(Decimal(1), figure / target))
                basis = f"志愿服务 {figure} 小时（满分 {target} 小时）"
            elif ind.source == Source.ROUND_RESULT:
                figure, points, basis = fed[(ind.pk, s.pk)]
            else:
                continue
            out[s.pk].append(Value(s.pk, ind.pk, figure, points, basis))
    return out


def store(rnd: Round, values: dict[int, list[Value]]) -> None:
    """Make the round's stored computed values (shown on each subject's card with their basis) those in ``values``.
    Only what changed is written: a round is recomputed at every step and after every late sheet, and the figures
    drawn from cases, councils and projects rarely move between two computations (rewriting 10,000 unchanged rows
    was a quarter of a city-wide round)."""
    stored = {(subject, indicator): (pk, figure, points, basis)
              for pk, subject, indicator, figure, points, basis in ComputedValue.objects.filter(
                  subject__round=rnd).values_list("pk", "subject_id", "indicator_id", "figure", "points", "basis")}
    new, changed = [], []
    for rows in values.values():
        for value in rows:
            old = stored.pop((value.subject_id, value.indicator_id), None)
            if old is None:
                new.append(ComputedValue(subject_id=value.subject_id, indicator_id=value.indicator_id,
                                         figure=value.figure, points=value.points, basis=value.basis))
            elif old[1:] != (value.figure, value.points, value.basis):
                changed.append(ComputedValue(pk=old[0], figure=value.figure, points=value.points, basis=value.basis))
    gone = [old[0] for old in stored.values()]
    for start in range(0, len(gone), 5000):
        ComputedValue.objects.filter(pk__in=gone[start:start + 5000]).delete()
    bulk.update_rows(ComputedValue, changed, ["figure", "points", "basis"])
    bulk.insert_rows(ComputedValue, new)
