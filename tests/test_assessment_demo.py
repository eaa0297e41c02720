"""The demo city's assessment year (gongzhi.assessment.demo): the 天长 property scheme with its year-end 红黑榜 and the
last place barred, the street's 红蓝黄 grids each quarter by the configured shares, the 本溪 five-star communities
through their review stages, and the 东港 resident scoring with one unit under 50 answers — all as the services
compute them, on the demo's calendar."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import ROUND_HALF_UP
from decimal import Decimal as D
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db.models import F

from gongzhi.assessment import demo, outcomes, selectors, services
from gongzhi.assessment.models import (
    Assignment,
    ComputedValue,
    GroupKind,
    Objection,
    Review,
    Round,
    Sanction,
    Score,
    Source,
    SubjectKind,
    SurveyAnswer,
)
from gongzhi.cases import selectors as case_selectors
from gongzhi.core.models import AuditEntry
from gongzhi.registry.demo import SEED, TODAY, load_demo_city
from gongzhi.registry.models import Area, AreaKind, MemberUnit, Sector


def _expected_bands(ranks: list[int], bands: list[dict]) -> list[str]:
    """outcomes.py rule 6 written out again: band i takes positions up to n × cumulative share (half up); a tie
    takes the band of its first position, which is its rank."""
    n = len(ranks)
    out = []
    for rank in ranks:
        cumulative = D(0)
        for i, band in enumerate(bands):
            cumulative += D(str(band["share"]))
            if i == len(bands) - 1 or rank <= (n * cumulative / 100).quantize(D(1), rounding=ROUND_HALF_UP):
                out.append(band["name"])
                break
    return out


@pytest.mark.django_db
def test_the_demo_citys_assessment_year(settings: Any) -> None:
    # The registry runs the extensions listed in settings; this one is called here, once, whether listed or not.
    settings.GONGZHI_DEMO_EXTENSIONS = [e for e in settings.GONGZHI_DEMO_EXTENSIONS
                                        if e != "gongzhi.assessment.demo.load"]
    load_demo_city("small")
    counts = demo.load(size="small", seed=SEED, today=TODAY, progress=lambda step, frac: None)
    assert counts["assessment_rounds"] == Round.objects.count() == 11
    # 三最: the street's grid workers on their posts, each award to the best on its indicator (ties share).
    workers = Round.objects.get(scheme__subject_kind="grid_worker")
    ranked = [s for s in workers.subjects.all() if s.valid and s.rank is not None]
    assert counts["assessment_grid_worker_subjects"] == workers.subjects.count() >= 3 and ranked
    best_total = max(s.total for s in ranked if s.total is not None)
    assert {s.pk for s in ranked if "最美网格员" in s.awards} == {s.pk for s in ranked if s.total == best_total}
    assert all(any(name in s.awards for s in ranked) for name in ("最勤网格员", "最满意网格员"))
    assert all(s.person_id and s.area.kind == "grid" for s in workers.subjects.select_related("area"))
    User = get_user_model()
    users = {u.username: u for u in User.objects.all()}
    first = Area.objects.filter(kind=AreaKind.COMMUNITY).order_by("path").first()
    assert first is not None
    district, street = Area.objects.get(path=first.path[:8]), Area.objects.get(path=first.path[:12])

    # Everything happened on the demo's calendar, nothing after its "today".
    assert not AuditEntry.objects.filter(action__startswith="assessment.", at__date__gt=TODAY).exists()
    assert all(r.state == "published" and r.published_at is not None and r.published_at.date() <= TODAY
               for r in Round.objects.all())

    # ---- 1. 天长: 60 leaves worth 100 under six headings, 4 : 4 : 2, deductions explained, the last place barred.
    rounds = list(Round.objects.filter(scheme__subject_kind=SubjectKind.PROPERTY_COMPANY).order_by("period_start",
                                                                                                    "period_key"))
    assert [r.period_key for r in rounds] == ["2025", "2025Q1", "2025Q2", "2025Q3"]
    final = next(r for r in rounds if r.period_key == "2025")
    version = final.scheme_version
    assert version.number == 2 and version.sanction == {"last_places": 1, "bar_days": 365}
    assert all(r.scheme_version.number == 1 and not r.scheme_version.sanction for r in rounds if r is not final)
    tree = selectors.indicator_tree(version)
    leaves = [n for n in tree if n.leaf]
    headings = [n.indicator.name for n in tree if n.depth == 0]
    assert len(leaves) == 60 and services.full_marks(version) == 100
    assert headings[:6] == ["党建引领", "环境卫生", "秩序维护", "设施设备", "服务质量", "群众满意"]
    assert sum(1 for n in leaves if n.indicator.evidence) >= 20
    groups = list(version.groups.order_by("order"))
    assert [(g.name, g.weight, g.kind) for g in groups] == [
        ("物业主管部门", 4, GroupKind.STAFF), ("社区党组织", 4, GroupKind.STAFF), ("业主代表", 2, GroupKind.RESIDENTS)]
    companies = MemberUnit.objects.filter(sector=Sector.PROPERTY, area__path__startswith=district.path)
    assert final.subjects.count() == companies.count() == demo.PROPERTY_COMPANIES

    # Raters are the demo accounts, never of the unit they score; every sheet adds up and explains its deductions.
    sheets = Assignment.objects.filter(round__in=rounds)
    assert {s.rater.username for s in sheets.select_related("rater")} == {"district", "unit", "secretary"}
    assert not sheets.filter(subject__unit=users["unit"].grants.get().unit).exists()
    for sheet in sheets.filter(submitted_at__isnull=False).prefetch_related("scores")[:40]:
        scores = list(sheet.scores.all())
        assert len(scores) == 60 and sheet.total == sum((s.points for s in scores), D(0))
    deducted = Score.objects.filter(assignment__round__in=rounds, points__lt=F("indicator__max_points"))
    assert deducted.count() > 100 and not deducted.filter(note="").exists()
    late = sheets.filter(submitted_at__isnull=True)
    assert late.count() == 1 and not late.get().subject.complete  # the second quarter's unsubmitted sheet
    assert Assignment.objects.filter(round=final, submitted_at__date__lt=final.period_end).count() == 0

    # The stored results are exactly what the service computes from the sheets and answers.
    items, grps, rules = services.inputs(final)
    recomputed = {r.key: r for r in outcomes.compute(items, grps, rules)}
    results = list(final.subjects.order_by("rank"))
    assert all(s.total == recomputed[s.pk].total and s.rank == recomputed[s.pk].rank for s in results)
    assert all(s.answers == SurveyAnswer.objects.filter(subject=s).count() >= 15 for s in results)
    assert len({s.total for s in results}) >= 8  # scores are varied
    assert D(80) < min(s.total or 0 for s in results) < max(s.total or 0 for s in results) <= D(100)

    board = selectors.public_board(final)
    last = results[-1]
    assert final.published_at is not None and last.unit is not None
    assert len(board.red) == 3 and [s.pk for s in board.black] == [last.pk]
    bar = Sanction.objects.get(subject__round=final)
    assert bar.unit_id == last.unit_id and bar.subject_id == last.pk
    assert bar.starts_on == final.published_at.date() and bar.ends_on == bar.starts_on + dt.timedelta(days=365)
    assert services.bar_on(last.unit_id, TODAY) == bar  # barred from new co-building projects now
    assert Sanction.objects.count() == 1  # the quarterly rounds (version 1) bar nobody
    objection = Objection.objects.get(subject__round=final)
    assert objection.answered_at is not None and final.notice_until is not None
    assert objection.at.date() <= final.notice_until < final.published_at.date()
    file = selectors.credit_file(users["district"], last.unit)
    assert {e.round.period_key for e in file["entries"]} == {"2025", "2025Q1", "2025Q2", "2025Q3"}
    assert file["sanctions"] == [bar]

    # ---- 2. 天长 红蓝黄 grids: the street's grids, the last four quarters, bands by the configured shares.
    grid_rounds = list(Round.objects.filter(scheme__subject_kind=SubjectKind.GRID).order_by("period_start"))
    assert [r.period_key for r in grid_rounds] == ["2025Q4", "2026Q1", "2026Q2", "2026Q3"]
    grids = Area.objects.filter(kind=AreaKind.GRID, path__startswith=street.path).count()
    for rnd in grid_rounds:
        bands = rnd.scheme_version.bands
        assert [b["name"] for b in bands] == ["红", "蓝", "黄"]
        subjects = list(rnd.subjects.order_by("rank", "pk"))
        assert len(subjects) == grids and all(s.valid and s.rank for s in subjects)
        assert [s.band for s in subjects] == _expected_bands([s.rank or 0 for s in subjects], bands)
        shares = Counter(s.band for s in subjects)
        assert set(shares) == {"红", "蓝", "黄"} and shares["蓝"] >= shares["黄"] >= 1
        sources = set(ComputedValue.objects.filter(subject__round=rnd).values_list("indicator__source", flat=True))
        assert sources == {Source.CASE_SATISFACTION, Source.CASE_ON_TIME}
    q3 = grid_rounds[-1]
    grid = q3.subjects.select_related("area").order_by("pk").first()
    assert grid is not None and grid.area is not None
    value = grid.computed.get(indicator__source=Source.CASE_ON_TIME)
    figures = case_selectors.figures(users["street"], grid.area, q3.period_start, q3.period_end)
    if figures.on_time_rate is not None:
        assert value.figure == D(str(figures.on_time_rate))
        assert value.points == outcomes.cents(value.indicator.max_points * D(str(figures.on_time_rate)) / 100)

    # ---- 3. 本溪 五星级和谐社区: declared, scored, 街道筛评 → 区级总评, published; five stars at 95 and 90 %.
    stars = Round.objects.get(scheme__subject_kind=SubjectKind.COMMUNITY)
    assert [s["name"] for s in stars.scheme_version.stages] == ["街道筛评", "区级总评"]
    communities = list(stars.subjects.order_by("rank"))
    assert all(s.declared and s.self_score for s in communities)
    five = [s for s in communities if s.stars == 5]
    assert 1 <= len(five) < len(communities)
    assert all(s.total is not None and s.total >= 95 and s.satisfaction is not None and s.satisfaction >= 90
               for s in five)
    assert all(s.stars < 5 for s in communities if (s.total or 0) < 95 or (s.satisfaction or 0) < 90)
    screened = [s for s in communities if s.withdrawn]
    assert len(screened) == 1 and screened[0].stars == 0
    assert Review.objects.get(subject=screened[0]).verdict == "fail"
    for s in communities:
        if not s.withdrawn:
            assert sorted(Review.objects.filter(subject=s).values_list("stage", "verdict")) == [(0, "pass"),
                                                                                                 (1, "pass")]
    reviewers = set(Review.objects.filter(subject__round=stars, stage=0).values_list("by__username", flat=True))
    assert reviewers == {"street", "district"}
    assert [s.pk for s in selectors.public_board(stars).stars][:len(five)] == [s.pk for s in five]

    # ---- 4. 东港: residents score the units at year end; under 50 answers the result is invalid.
    units = Round.objects.get(scheme__subject_kind=SubjectKind.MEMBER_UNIT)
    assert units.scheme_version.min_answers == 50
    assert [g.kind for g in units.scheme_version.groups.all()] == [GroupKind.RESIDENTS]
    rows = list(units.subjects.all())
    short = [s for s in rows if s.answers < 50]
    assert len(short) == 1 and not short[0].valid and short[0].rank is None and short[0].total is None
    assert all(s.valid and s.rank is not None for s in rows if s.answers >= 50)
    assert sum(s.answers for s in rows) == SurveyAnswer.objects.filter(round=units).count()
    # Answers are anonymous and once each; the low ones say why.
    assert not SurveyAnswer.objects.filter(round=units, rating__lte=2, comment="").exists()
    voters = SurveyAnswer.objects.filter(round=units).values_list("subject_id", "voter")
    assert len(set(voters)) == len(voters)

