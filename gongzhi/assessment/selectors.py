"""Reads of assessment: schemes, rounds, a round's results, a rater's sheets, the public 红黑榜 and star list, a unit's
credit file (信用档案), the surveys open to a resident, and figures. Every list goes through the scope."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q, QuerySet

from gongzhi.accounts.roles import Cap
from gongzhi.core.scope import as_scope, get_scoped, scoped
from gongzhi.registry.models import Area, MemberUnit

from .models import (
    Assignment,
    ComputedValue,
    GroupKind,
    Indicator,
    Objection,
    Round,
    Sanction,
    Scheme,
    SchemeVersion,
    Score,
    Source,
    Subject,
    SurveyAnswer,
)
from .workflow import RoundState

S = RoundState


def schemes(viewer: Any) -> QuerySet[Scheme]:
    return scoped(viewer, Scheme).select_related("area").order_by("-created_at", "-pk")


def scheme_get(viewer: Any, pk: Any) -> Scheme:
    return get_scoped(viewer, Scheme.objects.select_related("area"), pk)


def version_get(viewer: Any, pk: Any) -> SchemeVersion:
    return get_scoped(viewer, SchemeVersion.objects.select_related("scheme", "scheme__area"), pk)


def latest_version(scheme: Scheme) -> SchemeVersion:
    version = scheme.versions.order_by("-number").first()
    assert version is not None  # a scheme is created with its first version
    return version


@dataclass
class Node:
    indicator: Indicator
    depth: int
    leaf: bool
    max_points: Decimal


def indicator_tree(version: SchemeVersion) -> list[Node]:
    """The indicators in reading order (depth-first), each branch with the sum of its leaves."""
    items = list(version.indicators.all())
    children: dict[int | None, list[Indicator]] = {}
    for i in items:
        children.setdefault(i.parent_id, []).append(i)

    def total(i: Indicator) -> Decimal:
        kids = children.get(i.pk)
        return sum((total(k) for k in kids), Decimal(0)) if kids else i.max_points

    out: list[Node] = []

    def walk(parent: int | None, depth: int) -> None:
        for i in sorted(children.get(parent, []), key=lambda x: (x.order, x.pk)):
            out.append(Node(i, depth, i.pk not in children, total(i)))
            walk(i.pk, depth + 1)

    walk(None, 0)
    return out


def rounds(viewer: Any, *, state: str | None = None, scheme: Scheme | None = None) -> QuerySet[Round]:
    qs = scoped(viewer, Round).select_related("scheme", "area", "scheme_version")
    if state:
        qs = qs.filter(state=state)
    if scheme is not None:
        qs = qs.filter(scheme=scheme)
    return qs.order_by("-period_start", "-pk")


def round_get(viewer: Any, pk: Any) -> Round:
    return get_scoped(viewer, Round.objects.select_related("scheme", "area", "scheme_version"), pk)


def results(viewer: Any, rnd: Round, *, area: Area | None = None) -> QuerySet[Subject]:
    """The round's subjects the viewer may see, best first (unranked at the end)."""
    qs = scoped(viewer, Subject).filter(round=rnd)
    if area is not None:
        qs = qs.filter(area_path__startswith=area.path)
    return qs.select_related("unit", "area").order_by(F("rank").asc(nulls_last=True), "name", "pk")


def subject_get(viewer: Any, pk: Any) -> Subject:
    return get_scoped(viewer, Subject.objects.select_related("round", "round__scheme", "round__scheme_version",
                                                             "unit", "area"), pk)


def subject_detail(subject: Subject) -> dict[str, Any]:
    """Everything on a subject's card: computed indicators with their basis, sheets by group, reviews, objections."""
    sheets = list(subject.assignments.select_related("group").order_by("group__order", "pk"))
    return {
        "computed": list(ComputedValue.objects.filter(subject=subject).select_related("indicator")
                         .order_by("indicator__order")),
        "sheets": sheets,
        "reviews": list(subject.reviews.select_related("by").order_by("stage")),
        "objections": list(subject.objections.order_by("at")),
    }


def my_sheets(viewer: Any, *, open_only: bool = True) -> QuerySet[Assignment]:
    """The sheets given to the viewer (rounds in scoring first)."""
    qs = Assignment.objects.filter(rater_id=getattr(viewer, "pk", None)).select_related(
        "round", "group", "subject", "round__scheme")
    if open_only:
        qs = qs.filter(round__state=S.SCORING, submitted_at=None)
    return qs.order_by("round__scoring_due", "round_id", "subject__name", "pk")


def sheet_get(viewer: Any, pk: Any) -> Assignment:
    return get_scoped(viewer, Assignment.objects.select_related(
        "round", "round__scheme_version", "round__scheme", "group", "subject"), pk)


def period_leaves(version: SchemeVersion, period_key: str = "") -> list[Indicator]:
    """The leaves of the version's tree that a round of ``period_key`` scores (an indicator limited to some
    periods, e.g. ``Q4`` or ``H2``, is scored only in rounds whose key ends with one of them)."""
    items = list(version.indicators.all())
    parents = {i.parent_id for i in items if i.parent_id}
    return [i for i in items if i.pk not in parents
            and (not i.periods or not period_key or any(period_key.endswith(p) or period_key == p for p in i.periods))]


def scored_indicators(rnd: Round) -> list[Indicator]:
    """The manual leaves the round's raters score (the indicators of its period), in the tree's reading order."""
    wanted = {i.pk for i in period_leaves(rnd.scheme_version, rnd.period_key) if i.source == Source.MANUAL}
    return [n.indicator for n in indicator_tree(rnd.scheme_version) if n.indicator.pk in wanted]


@dataclass
class SheetRow:
    node: Node
    score: Score | None
    scored: bool  # the rater types points here (a manual leaf of the round's period)


def sheet_rows(sheet: Assignment) -> list[SheetRow]:
    """The indicator tree of the sheet's version with the rater's scores so far."""
    scores = {s.indicator_id: s for s in sheet.scores.all()}
    wanted = {i.pk for i in scored_indicators(sheet.round)}
    return [SheetRow(n, scores.get(n.indicator.pk), n.indicator.pk in wanted)
            for n in indicator_tree(sheet.round.scheme_version)]


def raters(viewer: Any, rnd: Round) -> QuerySet[Any]:
    """Accounts that may be given sheets in ``rnd``: active users with a grant inside the round's area or on a unit
    of it, as far as the viewer may see accounts."""
    User = get_user_model()
    if not any(rnd.area_path.startswith(p) for p in as_scope(viewer).area_prefixes(Cap.ASSESS_MANAGE)):
        return User.objects.none()  # only who runs the round picks its raters
    units = MemberUnit.objects.filter(area__path__startswith=rnd.area_path).values("pk")
    return User.objects.filter(is_active=True).filter(
        Q(grants__area__path__startswith=rnd.area_path) | Q(grants__unit__in=units)).distinct().order_by("username")


def review_queue(viewer: Any, rnd: Round) -> list[Subject]:
    """The subjects the viewer reviews at the round's current stage."""
    from .services import reviewable

    if rnd.state != S.REVIEW:
        return []
    return [s for s in results(viewer, rnd).prefetch_related("reviews") if reviewable(viewer, s)]


def open_objections(rnd: Round) -> QuerySet[Objection]:
    return Objection.objects.filter(subject__round=rnd, answered_at=None).select_related("subject").order_by("at")


# ------------------------------------------------------------------------------------------ public and residents


def published_rounds() -> QuerySet[Round]:
    """Rounds whose 红黑榜 and star list are public (no sign-in): in 公示 (the objection period runs; the page says
    until when) and published. Rounds in notice first."""
    return (Round.objects.filter(state__in=[S.NOTICE, S.PUBLISHED]).select_related("scheme", "area", "scheme_version")
            .order_by(F("published_at").desc(nulls_first=True), "-pk"))


@dataclass
class Board:
    round: Round
    red: list[Subject] = field(default_factory=list)
    black: list[Subject] = field(default_factory=list)
    stars: list[Subject] = field(default_factory=list)
    bands: dict[str, list[Subject]] = field(default_factory=dict)
    awards: dict[str, list[Subject]] = field(default_factory=dict)  # 三最: award name → winners


def public_board(rnd: Round) -> Board:
    """The published 红黑榜, star list, bands and awards (三最). Only names of the assessed (units, areas,
    organisations) and their results: no raters, no residents, no personal data (a person assessed shows by
    surname only)."""
    board = Board(rnd)
    board.awards = {str(a.get("name", "")): [] for a in rnd.scheme_version.awards or []}
    for s in rnd.subjects.filter(valid=True).exclude(rank=None).order_by("rank", "name"):
        if s.person_id:
            s.name = s.name[:1] + "**"
        if s.listed == "red":
            board.red.append(s)
        elif s.listed == "black":
            board.black.append(s)
        if s.stars:
            board.stars.append(s)
        if s.band:
            board.bands.setdefault(s.band, []).append(s)
        for name in s.awards or []:
            board.awards.setdefault(name, []).append(s)
    board.stars.sort(key=lambda s: (-s.stars, s.rank or 0))
    return board


def open_surveys(viewer: Any) -> list[Subject]:
    """Subjects the resident may still answer for: rounds in scoring with a residents' group over her home area."""
    person = as_scope(viewer).person_id
    if person is None:
        return []
    from gongzhi.registry.models import Person

    from .services import voter_key

    home = Person.objects.filter(pk=person).values_list("area__path", flat=True).first() or ""
    if not home:
        return []
    ancestors = [home[:k] for k in range(Area.steplen, len(home) + 1, Area.steplen)]
    live = list(Round.objects.filter(state=S.SCORING, area_path__in=ancestors,
                                     scheme_version__groups__kind=GroupKind.RESIDENTS).distinct())
    out: list[Subject] = []
    for rnd in live:
        answered = set(SurveyAnswer.objects.filter(round=rnd, voter=voter_key(rnd.pk, person))
                       .values_list("subject_id", flat=True))
        out.extend(s for s in rnd.subjects.select_related("round").order_by("name") if s.pk not in answered)
    return out[:200]


# ------------------------------------------------------------------------------------------ credit file, figures


def credit_file(viewer: Any, unit: MemberUnit) -> dict[str, Any]:
    """A unit's 信用档案: every published result and every sanction."""
    unit = get_scoped(viewer, MemberUnit, unit.pk)
    entries = list(Subject.objects.filter(unit=unit, round__state=S.PUBLISHED).select_related(
        "round", "round__scheme").order_by("-round__period_end", "-round__period_start", "-pk"))
    sanctions = list(Sanction.objects.filter(unit=unit).order_by("-starts_on"))
    return {"unit": unit, "entries": entries, "sanctions": sanctions}


def summary(rnd: Round, qs: QuerySet[Subject] | None = None) -> dict[str, Any]:
    """Counts for the results page's charts: subjects per band and per star level, incomplete and invalid ones."""
    qs = qs if qs is not None else rnd.subjects.all()
    rows = list(qs.values_list("band", "stars", "valid", "complete", "total"))
    totals = [t for *_, t in rows if t is not None]
    return {
        "subjects": len(rows),
        "bands": dict(Counter(b for b, *_ in rows if b)),
        "stars": dict(sorted(Counter(s for _, s, *_ in rows if s).items(), reverse=True)),
        "invalid": sum(1 for r in rows if not r[2]),
        "incomplete": sum(1 for r in rows if not r[3]),
        "mean": (sum(totals, Decimal(0)) / len(totals)).quantize(Decimal("0.01")) if totals else None,
        "sheets": Assignment.objects.filter(round=rnd).aggregate(
            all=Count("pk"), submitted=Count("pk", filter=Q(submitted_at__isnull=False))),
        "answers": SurveyAnswer.objects.filter(round=rnd).count(),
    }


def can_view_assessment(viewer: Any) -> bool:
    return as_scope(viewer).has(Cap.ASSESS_VIEW)
