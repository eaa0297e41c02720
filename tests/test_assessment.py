"""Assessment (考评): the outcome rules computed by hand for a small case (ties included), schemes as versioned
data, a round through its declared workflow with three weighted groups, raters' rules, residents' answers once each,
computed indicators equal to the cases figures, reviews, notice and publication, and the sanction enforced where
co-building assigns projects."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest
from django.utils import timezone

from gongzhi.accounts import services as accounts
from gongzhi.assessment import outcomes, selectors, services
from gongzhi.assessment.models import GroupKind, Round, Sanction, SchemeVersion, Source, SubjectKind, SurveyAnswer
from gongzhi.cases import selectors as case_selectors
from gongzhi.cases import services as cases
from gongzhi.core.audit import AuditEntry
from gongzhi.core.errors import Conflict, Forbidden, InvalidInput
from gongzhi.core.validators import credit_code_check_char
from gongzhi.registry import services as registry
from gongzhi.registry.models import Area, AreaKind, MemberUnit, Sector
from tests.cast import Cast


def _code(n: int) -> str:
    first = f"913501007{n:08d}"
    return first + credit_code_check_char(first)


# ------------------------------------------------------------------------------------------ the rules by hand


def test_outcomes_by_hand_with_ties_missing_groups_and_too_few_answers() -> None:
    """Five subjects, groups A (4) and B (4) of staff and R (2) of residents, full marks 100, at least 2 answers.

    1: A 90, 80 → 85; B 90 → 90; R ratings 5,5,4 → (100+100+80)/3 = 93.333…;
       total = (4·85 + 4·90 + 2·93.333…)/10 = 88.666… → 88.67; satisfaction 3/3 = 100.00
    2: A 70; B 70; R 3,3 → 60; total = (280+280+120)/10 = 68.00; satisfaction 0/2 = 0.00
    3: A 70; B 70; R 3,3 → 60 → 68.00 (ties with 2)
    4: A 95; B none (weight spread); R 5,5 → 100; total = (4·95 + 2·100)/6 = 96.666… → 96.67, incomplete
    5: A 50; B 50; R one answer (< 2) → invalid, unranked
    """
    groups = [outcomes.Group(1, D(4)), outcomes.Group(2, D(4)), outcomes.Group(3, D(2), residents=True)]
    items = [
        outcomes.Input(1, sheets={1: [D(90), D(80)], 2: [D(90)]}, ratings={5: 2, 4: 1}),
        outcomes.Input(2, sheets={1: [D(70)], 2: [D(70)]}, ratings={3: 2}),
        outcomes.Input(3, sheets={1: [D(70)], 2: [D(70)]}, ratings={3: 2}, late=1),
        outcomes.Input(4, sheets={1: [D(95)]}, ratings={5: 2}),
        outcomes.Input(5, sheets={1: [D(50)], 2: [D(50)]}, ratings={4: 1}),
    ]
    rules = outcomes.Rules(full_marks=D(100), min_answers=2,
                           stars=[{"level": 5, "min_score": 95, "min_satisfaction": 90},
                                  {"level": 4, "min_score": 85, "min_satisfaction": 90},
                                  {"level": 3, "min_score": 60}],
                           bands=[{"name": "红", "share": 30}, {"name": "蓝", "share": 40},
                                  {"name": "黄", "share": 30}],
                           honour_count=1, shame_count=1, sanction_last=1)
    r = {x.key: x for x in outcomes.compute(items, groups, rules)}
    assert [r[k].total for k in (1, 2, 3, 4)] == [D("88.67"), D("68.00"), D("68.00"), D("96.67")]
    assert r[1].group_scores == {1: D("85.00"), 2: D("90.00"), 3: D("93.33")}
    assert r[1].satisfaction == D("100.00") and r[2].satisfaction == D("0.00")
    assert [r[k].rank for k in (4, 1, 2, 3)] == [1, 2, 3, 3]  # the tie shares rank 3
    assert not r[4].complete and "missing:2" in r[4].notes and "late:1" in r[3].notes
    assert not r[5].valid and r[5].rank is None and r[5].band == "" and r[5].stars == 0
    # Bands over the 4 ranked: 红 ≤ round(4·0.3) = 1, 蓝 ≤ round(4·0.7) = 3, 黄 the rest; the tie at 3 stays 蓝.
    assert [r[k].band for k in (4, 1, 2, 3)] == ["红", "蓝", "蓝", "蓝"]
    assert [r[k].stars for k in (4, 1, 2, 3)] == [5, 4, 3, 3]
    assert r[4].listed == "red" and r[2].listed == r[3].listed == "black"  # both tied last are on the black list
    assert r[2].sanctioned and r[3].sanctioned and not r[1].sanctioned


def test_bands_by_score_and_stars_need_both_lines() -> None:
    groups = [outcomes.Group(1, D(1))]
    items = [outcomes.Input(k, sheets={1: [D(v)]}, case_satisfaction=sat)
             for k, v, sat in [(1, 96, D(95)), (2, 96, D(80)), (3, 75, None), (4, 40, D(99))]]
    rules = outcomes.Rules(full_marks=D(100), band_basis="score",
                           bands=[{"name": "优秀", "min_score": 90}, {"name": "良好", "min_score": 70},
                                  {"name": "一般", "min_score": 0}],
                           stars=[{"level": 5, "min_score": 95, "min_satisfaction": 90}, {"level": 3, "min_score": 70}])
    r = {x.key: x for x in outcomes.compute(items, groups, rules)}
    assert [r[k].band for k in (1, 2, 3, 4)] == ["优秀", "优秀", "良好", "一般"]
    assert [r[k].stars for k in (1, 2, 3, 4)] == [5, 3, 3, 0]  # 2 misses the satisfaction line of 5 stars


# ------------------------------------------------------------------------------------------ a round end to end


def _companies(cast: Cast) -> list[MemberUnit]:
    names = ["海鸥物业", "碧海物业", "港湾物业"]
    return [registry.unit_create(actor=None, area=cast.community if i < 2 else cast.community2, name=n,
                                 credit_code=_code(i + 1), sector=Sector.PROPERTY) for i, n in enumerate(names)]


def _user(name: str, role: str, **kw: Any) -> Any:
    u = accounts.user_create(actor=None, username=name, password="pass-word-123")
    accounts.grant_role(actor=None, user=u, role=role, **kw)
    return u


def _scheme(cast: Cast, *, computed: bool = False) -> Any:
    scheme = services.scheme_create(actor=cast.olga, area=cast.city, name="物业服务企业考评", period="annual",
                                    subject_kind=SubjectKind.PROPERTY_COMPANY)
    v = selectors.latest_version(scheme)
    env = services.indicator_add(actor=cast.olga, version=v, code="2", name="环境管理")
    services.indicator_add(actor=cast.olga, version=v, code="1", name="党建引领", max_points=20,
                           guidance="成立党组织、参与社区议事")
    services.indicator_add(actor=cast.olga, version=v, code="2.1", name="保洁", max_points=40, parent=env)
    services.indicator_add(actor=cast.olga, version=v, code="2.2", name="绿化", max_points=20 if computed else 40,
                           parent=env)
    if computed:
        services.indicator_add(actor=cast.olga, version=v, code="3", name="诉求满意率", max_points=20,
                               source=Source.CASE_SATISFACTION)
    services.group_add(actor=cast.olga, version=v, name="主管部门", weight=4)
    services.group_add(actor=cast.olga, version=v, name="社区党组织", weight=4)
    services.group_add(actor=cast.olga, version=v, name="业主代表", weight=2, kind=GroupKind.RESIDENTS)
    services.version_update(actor=cast.olga, version=v, stages=[{"name": "街道筛评", "level": "street"}],
                            stars=[{"level": 5, "min_score": 95, "min_satisfaction": 90}],
                            bands=[{"name": "红", "share": 34}, {"name": "蓝", "share": 33},
                                   {"name": "黄", "share": 33}],
                            honour_count=1, shame_count=1, sanction={"last_places": 1, "bar_days": 365},
                            min_answers=1, objection_days=0)
    services.version_publish(actor=cast.olga, version=v)
    return scheme


def _score(sheet: Any, rater: Any, points: dict[str, int], note: str = "扣分：楼道有垃圾") -> None:
    leaves = {i.code: i for i in selectors.scored_indicators(sheet.round)}
    services.sheet_save(actor=rater, sheet=sheet, submit=True,
                        scores={leaves[c].pk: (p, note) for c, p in points.items()})


def test_a_round_with_three_weighted_groups_reviews_notice_publication_and_the_bar(cast: Cast) -> None:
    a, b, c = _companies(cast)
    scheme = _scheme(cast)
    rnd = services.round_create(actor=cast.olga, scheme=scheme, name="2026年度物业考评", area=cast.district,
                                period_key="2026", period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 12, 31))
    subjects = {s.unit_id: s for s in rnd.subjects.all()}
    assert set(subjects) == {a.pk, b.pk, c.pk}
    housing = _user("zhujian", "district_official", area=cast.district)  # 主管部门 (住建) rater
    own = _user("haiou_staff", "unit_handler", unit=a)
    g_dept, g_party, _residents = list(rnd.scheme_version.groups.all())
    services.assign(actor=cast.olga, round=rnd, group=g_dept, rater=housing, subjects=list(subjects.values()))
    services.assign(actor=cast.olga, round=rnd, group=g_party, rater=cast.alice, subjects=list(subjects.values()))
    with pytest.raises(InvalidInput) as e:  # a rater never scores her own unit
        services.assign(actor=cast.olga, round=rnd, group=g_party, rater=own, subjects=[subjects[a.pk]])
    assert e.value.fields == {"rater": e.value.fields["rater"]}
    with pytest.raises(Forbidden):
        services.assign(actor=cast.alice, round=rnd, group=g_party, rater=cast.alice, subjects=[])

    rnd = services.round_step(actor=cast.olga, round=rnd, name="open_scoring")
    sheets = {(s.group_id, s.subject.unit_id): s for s in selectors.my_sheets(housing)}
    sheets.update({(s.group_id, s.subject.unit_id): s for s in selectors.my_sheets(cast.alice)})
    assert len(sheets) == 6
    with pytest.raises(Forbidden):  # only the rater fills her sheet
        _score(sheets[(g_dept.pk, a.pk)], cast.alice, {"1": 20, "2.1": 40, "2.2": 40})
    with pytest.raises(InvalidInput) as e:  # deductions need their evidence
        _score(sheets[(g_dept.pk, a.pk)], housing, {"1": 18, "2.1": 40, "2.2": 40}, note="")
    first = next(i for i in selectors.scored_indicators(rnd) if i.code == "1")
    assert list(e.value.fields) == [f"note_{first.pk}"]
    # dept: a 98, b 80, c 60; party: a 96, b 80, c 50
    for (group, unit), pts in {(g_dept.pk, a.pk): (20, 40, 38), (g_dept.pk, b.pk): (16, 32, 32),
                               (g_dept.pk, c.pk): (12, 24, 24), (g_party.pk, a.pk): (20, 38, 38),
                               (g_party.pk, b.pk): (16, 32, 32), (g_party.pk, c.pk): (10, 20, 20)}.items():
        rater = housing if group == g_dept.pk else cast.alice
        _score(sheets[(group, unit)], rater, dict(zip(["1", "2.1", "2.2"], pts, strict=True)))
    with pytest.raises(Conflict):  # a submitted sheet is final
        _score(sheets[(g_dept.pk, a.pk)], housing, {"1": 20, "2.1": 40, "2.2": 40})

    # Residents answer once each, anonymously.
    services.survey_answer(actor=cast.bob, subject=subjects[a.pk], rating=5)
    with pytest.raises(Conflict):
        services.survey_answer(actor=cast.bob, subject=subjects[a.pk], rating=1, comment="再投一次")
    with pytest.raises(InvalidInput) as e:
        services.survey_answer(actor=cast.bob, subject=subjects[c.pk], rating=1)
    assert "comment" in e.value.fields
    services.survey_answer(actor=cast.bob, subject=subjects[b.pk], rating=4)
    services.survey_answer(actor=cast.bob, subject=subjects[c.pk], rating=2, comment="楼道垃圾无人清理")
    answer = SurveyAnswer.objects.get(subject=subjects[a.pk])
    assert answer.voter == services.voter_key(rnd.pk, cast.bob.person.pk) and len(answer.voter) == 64
    assert services.voter_key(rnd.pk + 1, cast.bob.person.pk) != answer.voter  # not linkable across rounds
    assert not AuditEntry.objects.filter(action="assessment.survey.answer", actor=cast.bob).exists()
    # A resident of another district is not asked about this district's companies (the service refuses as the
    # survey list leaves her out).
    far = accounts.user_create(actor=None, username="far", password=cast.password)
    street3 = Area.objects.get(code="990102001000")
    c3 = registry.area_create(actor=None, parent=street3, name="湖畔社区", code="990102001009", kind=AreaKind.COMMUNITY)
    far_home = registry.area_create(actor=None, parent=c3, name="湖畔小区", code="990102001009900",
                                    kind=AreaKind.COMPOUND)
    registry.person_create(actor=None, area=far_home, name="远方", phone="13800138111", user=far)
    with pytest.raises(Forbidden):
        services.survey_answer(actor=far, subject=subjects[b.pk], rating=5)
    assert SurveyAnswer.objects.filter(subject=subjects[b.pk]).count() == 1

    rnd = services.round_step(actor=cast.olga, round=rnd, name="close_scoring")
    res = {s.unit_id: s for s in selectors.results(cast.olga, rnd)}
    # a: (4·98 + 4·96 + 2·100)/10 = 97.60; b: (320 + 320 + 2·80)/10 = 80.00; c: (240 + 200 + 2·40)/10 = 52.00
    assert [res[u].total for u in (a.pk, b.pk, c.pk)] == [D("97.60"), D("80.00"), D("52.00")]
    assert [res[u].rank for u in (a.pk, b.pk, c.pk)] == [1, 2, 3]
    assert res[a.pk].stars == 5 and res[a.pk].listed == "red" and res[c.pk].listed == "black"
    assert [res[u].band for u in (a.pk, b.pk, c.pk)] == ["红", "蓝", "黄"]

    # 街道筛评: the street official reviews the subjects of her street; c fails and loses nothing but stars.
    with pytest.raises(InvalidInput):
        services.round_step(actor=cast.olga, round=rnd, name="to_notice")  # the stage is not done
    with pytest.raises(Forbidden):
        services.review_record(actor=cast.alice, subject=res[a.pk], verdict="pass")
    assert {s.pk for s in selectors.review_queue(cast.stan, rnd)} == {res[a.pk].pk, res[b.pk].pk, res[c.pk].pk}
    for u in (a.pk, b.pk):
        services.review_record(actor=cast.stan, subject=res[u], verdict="pass")
    with pytest.raises(InvalidInput):
        services.review_record(actor=cast.stan, subject=res[c.pk], verdict="fail")  # a reason is required
    services.review_record(actor=cast.stan, subject=res[c.pk], verdict="fail", note="群众投诉多")
    rnd = services.round_step(actor=cast.stan, round=rnd, name="to_notice")
    assert rnd.state == "notice" and rnd.notice_until == timezone.localdate()

    objection = services.objection_file(actor=cast.bob, subject=res[b.pk], text="保洁分数偏高")
    with pytest.raises(InvalidInput):  # the notice period has not ended, and an objection is open
        services.round_step(actor=cast.olga, round=rnd, name="publish")
    services.objection_answer(actor=cast.olga, objection=objection, answer="已复核，评分有据")
    Round.objects.filter(pk=rnd.pk).update(notice_until=timezone.localdate() - dt.timedelta(days=1))
    rnd.refresh_from_db()
    rnd = services.round_step(actor=cast.olga, round=rnd, name="publish")
    assert rnd.state == "published"

    board = selectors.public_board(rnd)
    assert [s.unit_id for s in board.red] == [a.pk] and [s.unit_id for s in board.black] == [c.pk]
    assert [s.unit_id for s in board.stars] == [a.pk]
    # The last place is barred, and co-building refuses it as a lead unit or a claimant.
    bar = Sanction.objects.get(unit=c)
    assert bar.ends_on == timezone.localdate() + dt.timedelta(days=365)
    file = selectors.credit_file(cast.olga, c)
    assert [e.rank for e in file["entries"]] == [3] and file["sanctions"] == [bar]
    from gongzhi.cobuild.models import ListType
    from gongzhi.cobuild.services import projects

    with pytest.raises(InvalidInput) as e:
        projects.project_open(actor=cast.alice, area=cast.community, list_type=ListType.objects.first(),
                              title="楼道整治", task="清理楼道杂物", standard="无堆放", starts_on=timezone.localdate(),
                              limit_days=10, lead_unit=c)
    assert "港湾物业" in e.value.fields["lead_unit"][0]
    projects.project_open(actor=cast.alice, area=cast.community, list_type=ListType.objects.first(),
                          title="楼道整治", task="清理楼道杂物", standard="无堆放", starts_on=timezone.localdate(),
                          limit_days=10, lead_unit=a)
    services.sanction_lift(actor=cast.olga, sanction=bar, reason="整改到位")
    assert services.bar_on(c.pk) is None


def test_schemes_are_versioned_and_a_round_keeps_its_version(cast: Cast) -> None:
    _companies(cast)
    scheme = _scheme(cast)
    v1 = selectors.latest_version(scheme)
    with pytest.raises(Conflict):
        services.indicator_add(actor=cast.olga, version=v1, code="9", name="新增", max_points=5)
    rnd = services.round_create(actor=cast.olga, scheme=scheme, name="一季度", area=cast.district, period_key="2026Q1",
                                period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 3, 31))
    v2 = services.version_new_draft(actor=cast.olga, scheme=scheme)
    assert [i.code for i in v2.indicators.order_by("code")] == ["1", "2", "2.1", "2.2"]
    assert v2.indicators.get(code="2.1").parent == v2.indicators.get(code="2")
    services.indicator_add(actor=cast.olga, version=v2, code="9", name="新增", max_points=5)
    with pytest.raises(Forbidden):
        services.indicator_add(actor=cast.alice, version=v2, code="8", name="越权", max_points=5)
    stale = type(v2).objects.get(pk=v2.pk)  # an editor's copy read before the publication
    services.version_publish(actor=cast.olga, version=v2)
    with pytest.raises(Conflict):
        services.indicator_add(actor=cast.olga, version=stale, code="7", name="发布后", max_points=5)
    with pytest.raises(Conflict):
        services.group_add(actor=cast.olga, version=stale, name="发布后", weight=1)
    rnd.refresh_from_db()
    assert rnd.scheme_version == v1 and services.full_marks(v1) == 100 and services.full_marks(v2) == 105
    with pytest.raises(InvalidInput) as e:
        services.round_create(actor=cast.olga, scheme=scheme, name="again", area=cast.district, period_key="2026Q1",
                              period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 3, 31))
    assert "period_key" in e.value.fields
    with pytest.raises(InvalidInput) as e:
        services.version_update(actor=cast.olga, version=services.version_new_draft(actor=cast.olga, scheme=scheme),
                                bands=[{"name": "红", "share": 50}, {"name": "黄", "share": 40}])
    assert "bands" in e.value.fields


def test_computed_indicators_equal_the_case_figures_of_the_subject_and_period(cast: Cast) -> None:
    """A grid scheme with 诉求满意率 computed: the points are max × the satisfaction rate the cases figures show."""
    scheme = services.scheme_create(actor=cast.olga, area=cast.city, name="网格考评", period="quarterly",
                                    subject_kind=SubjectKind.GRID)
    v = selectors.latest_version(scheme)
    services.indicator_add(actor=cast.olga, version=v, code="1", name="巡查走访", max_points=80)
    services.indicator_add(actor=cast.olga, version=v, code="2", name="诉求满意率", max_points=20,
                           source=Source.CASE_SATISFACTION)
    services.group_add(actor=cast.olga, version=v, name="社区", weight=1)
    services.version_publish(actor=cast.olga, version=v)
    from tests.conftest import build_pipeline
    from tests.test_cases_residents import walk_to_verified

    pipeline = build_pipeline(cast)
    for title, rating in [("路灯坏了", "satisfied"), ("井盖缺失", "dissatisfied"), ("垃圾满溢", "satisfied"),
                          ("噪音扰民", "satisfied")]:
        case = cases.case_submit(actor=cast.bob, title=title, description=title * 3, area=cast.building)
        cases.rate(actor=cast.bob, case=walk_to_verified(cast, pipeline, case), rating=rating,
                   comment="还是没修好" if rating == "dissatisfied" else "")
    today = timezone.localdate()
    rnd = services.round_create(actor=cast.olga, scheme=scheme, name="本季度", area=cast.community,
                                period_key=f"{today.year}Q", period_start=today - dt.timedelta(days=30),
                                period_end=today)
    grid1 = rnd.subjects.get(area=cast.grid1)
    rnd = services.round_step(actor=cast.olga, round=rnd, name="open_scoring")
    services.assign(actor=cast.olga, round=rnd, group=rnd.scheme_version.groups.get(), rater=cast.alice,
                    subjects=[grid1])
    sheet = selectors.my_sheets(cast.alice).get()
    _score(sheet, cast.alice, {"1": 80})
    services.round_step(actor=cast.olga, round=rnd, name="close_scoring")
    figures = case_selectors.figures(cast.olga, cast.grid1, rnd.period_start, rnd.period_end)
    rate = figures.satisfaction_rate
    assert rate is not None and 0 < rate < 100  # the reworked case counts against the grid
    value = grid1.computed.get()
    assert value.figure == D(str(rate)) and value.points == outcomes.cents(D(20) * D(str(rate)) / 100)
    grid1.refresh_from_db()
    assert grid1.total == D(80) + value.points
    grid2 = rnd.subjects.get(area=cast.grid2)
    assert grid2.computed.get().points == 20 and "无可计数据" in grid2.computed.get().basis  # nothing to count
    assert not grid2.complete  # no sheet from its only group: incomplete, weight has nowhere to go
    assert grid2.total is None and not grid2.valid


def test_a_second_survey_answer_races_to_exactly_one(cast: Cast) -> None:
    """The unique (subject, voter) key holds one answer per resident even when both arrive together (the service
    turns the losing insert into a Conflict)."""
    _companies(cast)
    rnd = services.round_create(actor=cast.olga, scheme=_scheme(cast), name="年度", area=cast.district,
                                period_key="2026", period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 12, 31))
    services.round_step(actor=cast.olga, round=rnd, name="open_scoring")
    subject = rnd.subjects.first()
    outcomes_seen = []
    for rating in (5, 4):
        try:
            services.survey_answer(actor=cast.bob, subject=subject, rating=rating)
            outcomes_seen.append("ok")
        except Conflict:
            outcomes_seen.append("conflict")
    assert outcomes_seen == ["ok", "conflict"] and SurveyAnswer.objects.filter(subject=subject).count() == 1


def test_three_best_grid_workers_half_yearly_from_their_grids_figures_and_the_sheets(cast: Cast) -> None:
    """三最 (天长, every half year): grid workers on their posts are the subjects; each award goes to the best on its
    indicator (computed: the grid's case satisfaction; manual: the mean of submitted sheets; "" the total), tied
    subjects share it, and the public board names them by surname only."""
    grid_names = {cast.grid1.pk: "王芳", cast.grid2.pk: "李强", cast.grid3.pk: "张敏"}
    for area in (cast.grid1, cast.grid2, cast.grid3):
        person = registry.person_create(actor=None, area=cast.building, name=grid_names[area.pk],
                                        phone=f"1390000{area.pk % 10000:04d}")
        registry.staff_post_assign(actor=None, person=person, kind="grid_worker", area=area)
    scheme = services.scheme_create(actor=cast.olga, area=cast.city, name="网格员半年考评", period="half_year",
                                    subject_kind=SubjectKind.GRID_WORKER)
    v = selectors.latest_version(scheme)
    services.indicator_add(actor=cast.olga, version=v, code="1", name="走访入户", max_points=50)
    services.indicator_add(actor=cast.olga, version=v, code="2", name="群众满意", max_points=50,
                           source=Source.CASE_SATISFACTION)
    services.group_add(actor=cast.olga, version=v, name="社区", weight=1)
    with pytest.raises(InvalidInput) as e:
        services.version_update(actor=cast.olga, version=v, awards=[{"name": "最勤网格员", "indicator": "1"},
                                                                    {"name": "最勤网格员", "indicator": "2"}])
    assert set(e.value.fields) == {"awards"}
    read = SchemeVersion.objects.get(pk=v.pk).version
    services.version_update(actor=cast.olga, version=v, expected_version=read, honour_count=2)
    with pytest.raises(Conflict):  # a second editor saving what she read before the first one saved
        services.version_update(actor=cast.olga, version=v, expected_version=read, honour_count=5)
    assert SchemeVersion.objects.get(pk=v.pk).honour_count == 2
    services.version_update(actor=cast.olga, version=v, objection_days=0,
                            awards=[{"name": "最勤网格员", "indicator": "1"},
                                    {"name": "最满意网格员", "indicator": "2"},
                                    {"name": "最优网格员", "indicator": ""}])
    services.version_publish(actor=cast.olga, version=v)
    rnd = services.round_create(actor=cast.olga, scheme=scheme, name="2026年上半年", area=cast.street,
                                period_key="2026H1", period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 6, 30))
    subjects = {s.area_id: s for s in rnd.subjects.all()}
    assert set(subjects) == {cast.grid1.pk, cast.grid2.pk, cast.grid3.pk}
    assert subjects[cast.grid1.pk].name == "王芳（" + cast.grid1.name + "）" and subjects[cast.grid1.pk].person_id
    g = rnd.scheme_version.groups.get()
    services.assign(actor=cast.olga, round=rnd, group=g, rater=cast.alice, subjects=list(subjects.values()))
    rnd = services.round_step(actor=cast.olga, round=rnd, name="open_scoring")
    visits = {cast.grid1.pk: 45, cast.grid2.pk: 45, cast.grid3.pk: 30}  # grid1 and grid2 tie on 走访入户
    for sheet in selectors.my_sheets(cast.alice):
        _score(sheet, cast.alice, {"1": visits[sheet.subject.area_id]})
    rnd = services.round_step(actor=cast.olga, round=rnd, name="close_scoring")
    got = {s.area_id: s for s in rnd.subjects.all()}
    assert got[cast.grid1.pk].awards[:1] == ["最勤网格员"] and got[cast.grid2.pk].awards[:1] == ["最勤网格员"]
    assert "最勤网格员" not in got[cast.grid3.pk].awards
    # Without cases every grid has the same satisfaction figure (none → 0 points): all three share 最满意, and the
    # total decides 最优 (grid1 and grid2 tie again).
    points = {s.pk: v.points for s in got.values() for v in s.computed.all()}
    best = max(points.values())
    assert {s.area_id for s in got.values() if "最满意网格员" in s.awards} == {
        s.area_id for s in got.values() if points[s.pk] == best}
    best_total = max(s.total for s in got.values() if s.total is not None)
    assert {s.area_id for s in got.values() if "最优网格员" in s.awards} == {
        s.area_id for s in got.values() if s.total == best_total} == {cast.grid1.pk, cast.grid2.pk}
    rnd = services.round_step(actor=cast.olga, round=rnd, name="to_notice")
    board = selectors.public_board(rnd)
    assert sorted(s.name for s in board.awards["最勤网格员"]) == ["李**", "王**"]
    assert rnd in selectors.published_rounds()  # the 公示 is public while objections may be raised


def test_a_verdict_is_checked_against_the_stage_the_round_is_at_now_not_a_stale_subject(cast: Cast) -> None:
    _companies(cast)
    scheme = _scheme(cast)
    draft = services.version_new_draft(actor=cast.olga, scheme=scheme)
    services.version_update(actor=cast.olga, version=draft, stages=[{"name": "街道筛评", "level": "street"},
                                                                    {"name": "区级总评", "level": "district"}])
    services.version_publish(actor=cast.olga, version=draft)
    rnd = services.round_create(actor=cast.olga, scheme=scheme, name="二环节", area=cast.district, period_key="2026",
                                period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 12, 31))
    rnd = services.round_step(actor=cast.olga, round=rnd, name="open_scoring")
    rnd = services.round_step(actor=cast.olga, round=rnd, name="close_scoring")
    stale = list(rnd.subjects.select_related("round").order_by("pk"))
    services.review_record(actor=cast.stan, subject=stale[0], verdict="pass")
    services.round_step(actor=cast.olga, round=rnd, name="advance")
    with pytest.raises(Forbidden):  # the street's stage is over: 区级总评 is the district's
        services.review_record(actor=cast.stan, subject=stale[1], verdict="pass")
    assert not stale[1].reviews.exists()


def test_residents_year_end_scoring_feeds_the_departments_annual_assessment(cast: Cast) -> None:
    """东港: at least N residents score each helping department at year end; the result (or its invalidity) enters
    the department's annual assessment as a computed indicator, scaled to the indicator's points."""
    water, roads = (registry.unit_create(actor=None, area=cast.community, name=n, credit_code=_code(10 + i),
                                         sector=Sector.ORGAN) for i, n in enumerate(["区水务局", "区城管局"]))
    survey = services.scheme_create(actor=cast.olga, area=cast.city, name="居民年终测评", period="annual",
                                    subject_kind=SubjectKind.MEMBER_UNIT)
    sv = selectors.latest_version(survey)
    services.indicator_add(actor=cast.olga, version=sv, code="1", name="居民评价", max_points=0,
                           source=Source.CASE_SATISFACTION)  # no manual leaf: only the residents' group scores
    services.group_add(actor=cast.olga, version=sv, name="居民", weight=1, kind=GroupKind.RESIDENTS)
    services.version_update(actor=cast.olga, version=sv, min_answers=2, objection_days=0)
    with pytest.raises(InvalidInput):  # a leaf needs points
        services.version_publish(actor=cast.olga, version=sv)
    services.indicator_remove(actor=cast.olga, indicator=sv.indicators.get())
    services.indicator_add(actor=cast.olga, version=sv, code="1", name="服务满意", max_points=100,
                           source=Source.CASE_SATISFACTION)
    services.version_publish(actor=cast.olga, version=sv)
    annual = services.scheme_create(actor=cast.olga, area=cast.city, name="部门年度考核", period="annual",
                                    subject_kind=SubjectKind.MEMBER_UNIT)
    av = selectors.latest_version(annual)
    with pytest.raises(InvalidInput) as e:
        services.indicator_add(actor=cast.olga, version=av, code="1", name="群众评价", max_points=30,
                               source=Source.ROUND_RESULT)
    assert set(e.value.fields) == {"feed_scheme"}
    with pytest.raises(InvalidInput):  # not itself
        services.indicator_add(actor=cast.olga, version=av, code="1", name="群众评价", max_points=30,
                               source=Source.ROUND_RESULT, feed_scheme=annual)
    fed = services.indicator_add(actor=cast.olga, version=av, code="1", name="群众评价", max_points=30,
                                 source=Source.ROUND_RESULT, feed_scheme=survey)
    services.indicator_add(actor=cast.olga, version=av, code="2", name="工作实绩", max_points=70)
    services.group_add(actor=cast.olga, version=av, name="考核组", weight=1)
    services.version_publish(actor=cast.olga, version=av)

    year = {"period_key": "2026", "period_start": dt.date(2026, 1, 1), "period_end": dt.date(2026, 12, 31)}
    rs = services.round_create(actor=cast.olga, scheme=survey, name="2026年居民测评", area=cast.district, **year)
    rs = services.round_step(actor=cast.olga, round=rs, name="open_scoring")
    by_unit = {s.unit_id: s for s in rs.subjects.all()}
    voters = [cast.bob]
    for i in range(2):
        u = accounts.user_create(actor=None, username=f"voter{i}", password=cast.password)
        accounts.grant_role(actor=None, user=u, role="resident", area=cast.community)
        registry.person_create(actor=None, area=cast.building, name=f"居民{i}", phone=f"1380013820{i}", user=u)
        voters.append(u)
    for voter, rating in zip(voters, (5, 4, 5), strict=True):  # 水务局: 3 answers → (100+80+100)/3 = 93.33
        services.survey_answer(actor=voter, subject=by_unit[water.pk], rating=rating)
    services.survey_answer(actor=cast.bob, subject=by_unit[roads.pk], rating=5)  # 城管局: 1 < 2 → invalid
    rs = services.round_step(actor=cast.olga, round=rs, name="close_scoring")
    rs = services.round_step(actor=cast.olga, round=rs, name="to_notice")
    Round.objects.filter(pk=rs.pk).update(notice_until=timezone.localdate() - dt.timedelta(days=1))
    rs.refresh_from_db()
    services.round_step(actor=cast.olga, round=rs, name="publish")

    ra = services.round_create(actor=cast.olga, scheme=annual, name="2026年部门考核", area=cast.district, **year)
    ra = services.round_step(actor=cast.olga, round=ra, name="open_scoring")
    ra = services.round_step(actor=cast.olga, round=ra, name="close_scoring")
    values = {v.subject.unit_id: v for v in selectors.subject_detail(ra.subjects.get(unit=water))["computed"]}
    values.update({v.subject.unit_id: v for v in selectors.subject_detail(ra.subjects.get(unit=roads))["computed"]})
    assert values[water.pk].indicator == fed
    assert values[water.pk].figure == D("93.33") and values[water.pk].points == D("28.00")  # 30 × 93.33 / 100
    assert values[roads.pk].points == D("0.00") and "无效" in values[roads.pk].basis


def test_a_sanction_for_the_year_end_only_leaves_the_quarters_alone(cast: Cast) -> None:
    _companies(cast)
    scheme = _scheme(cast)
    draft = services.version_new_draft(actor=cast.olga, scheme=scheme)
    services.version_update(actor=cast.olga, version=draft, stages=[],
                            sanction={"last_places": 1, "bar_days": 365, "annual_only": True})
    with pytest.raises(InvalidInput):
        services.version_update(actor=cast.olga, version=draft, sanction={"last_places": 1, "annual_only": "yes"})
    services.version_publish(actor=cast.olga, version=draft)

    def run(key: str, start: dt.date, end: dt.date) -> Round:
        rnd = services.round_create(actor=cast.olga, scheme=scheme, name=key, area=cast.district, period_key=key,
                                    period_start=start, period_end=end)
        g_dept, _party, _r = list(rnd.scheme_version.groups.all())
        subjects = list(rnd.subjects.all())
        housing = accounts.user_create(actor=None, username=f"zj{key}", password=cast.password)
        accounts.grant_role(actor=None, user=housing, role="district_official", area=cast.district)
        services.assign(actor=cast.olga, round=rnd, group=g_dept, rater=housing, subjects=subjects)
        rnd = services.round_step(actor=cast.olga, round=rnd, name="open_scoring")
        for i, sheet in enumerate(selectors.my_sheets(housing)):
            _score(sheet, housing, {"1": 20 - i, "2.1": 40, "2.2": 40})
        for subject in subjects:  # the scheme wants one residents' answer for a valid result
            services.survey_answer(actor=cast.bob, subject=subject, rating=4)
        rnd = services.round_step(actor=cast.olga, round=rnd, name="close_scoring")
        rnd = services.round_step(actor=cast.olga, round=rnd, name="to_notice")
        Round.objects.filter(pk=rnd.pk).update(notice_until=timezone.localdate() - dt.timedelta(days=1))
        rnd.refresh_from_db()
        return services.round_step(actor=cast.olga, round=rnd, name="publish")

    run("2026Q1", dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert not Sanction.objects.exists()
    run("2026", dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    assert Sanction.objects.count() == 1
