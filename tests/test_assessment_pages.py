"""Assessment (考评) pages driven with the test client: the overview, the scheme editor (indicators, groups, the rules
written as lines and parsed into the service's JSON, errors next to the field, publish, new draft), a round (steps,
raters, results with ★, band chips, 红/黑榜, charts and the rules in words, the review queue), the rater's sheet
(errors at score_<id> / note_<id>), the resident's phone survey (a second answer refused kindly), objections in the
notice, the public 红黑榜 without sign-in or personal data, and a unit's credit file."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal as D
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from gongzhi.assessment import selectors, services
from gongzhi.assessment.models import (
    GroupKind,
    Indicator,
    Objection,
    RaterGroup,
    Round,
    Sanction,
    Scheme,
    Source,
    SubjectKind,
    SurveyAnswer,
)
from tests.cast import Cast
from tests.test_assessment import _companies, _scheme, _user

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(r: Any) -> str:
    return r.content.decode()


def grab(pattern: str, html: str) -> str:
    m = re.search(pattern, html, re.S)
    assert m is not None, pattern
    return m.group(1) if m.groups() else m.group(0)


def errors_of(html: str, field: str) -> str:
    m = re.search(rf'<ul class="errorlist" id="error-{re.escape(field)}">(.*?)</ul>', html, re.S)
    return m.group(1) if m else ""


# ------------------------------------------------------------------------------------------ the scheme editor


def test_olga_builds_a_scheme_on_the_editor_with_rules_as_lines(cast: Cast) -> None:
    olga = logged_in(cast.olga)
    home = text(olga.get("/assessment/"))
    assert 'href="/assessment/schemes/new/"' in home and "考评总览" in home
    assert olga.get("/assessment/schemes/new/").status_code == 200
    r = olga.post("/assessment/schemes/new/", {"name": "物业服务企业考评", "subject_kind": "property_company",
                                               "area": cast.city.pk, "period": "annual", "description": ""})
    scheme = Scheme.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/assessment/schemes/{scheme.pk}/"
    url = f"/assessment/schemes/{scheme.pk}/"
    page = text(olga.get(url))
    assert "草稿" in page and f'action="/assessment/schemes/{scheme.pk}/indicators/"' in page

    def add(**kw: Any) -> Any:
        data = {"code": "", "name": "", "parent": "", "max_points": "", "source": "manual", "target": "",
                "guidance": "", "evidence": "", "periods": "", **kw}
        return olga.post(f"{url}indicators/", {f"ind-{k}": v for k, v in data.items()})

    assert add(code="1", name="环境管理").status_code == 302
    branch = Indicator.objects.get(code="1")
    assert add(code="1.1", name="保洁", max_points="60", parent=branch.pk, guidance="楼道每日清扫",
               evidence="检查照片").status_code == 302
    assert add(code="2", name="志愿服务", max_points="40", source="volunteer_hours", target="100",
               periods="Q1，Q3").status_code == 302
    v = selectors.latest_version(scheme)
    assert Indicator.objects.get(code="2").periods == ["Q1", "Q3"]
    assert Indicator.objects.get(code="1.1").parent == branch
    # Errors of the service show next to the field, on the page again.
    r = add(code="1", name="重复", max_points="5")
    assert r.status_code == 400 and "编号已存在" in errors_of(text(r), "ind-code")
    r = add(code="3", name="时长", max_points="5", source="volunteer_hours")
    assert "满分所需时长" in errors_of(text(r), "ind-target")
    page = text(olga.get(url))
    assert "满分 100" in page and "志愿服务时长（系统计算）" in page and "楼道每日清扫" in page

    for name, weight, kind in [("主管部门", "4", "staff"), ("社区党组织", "4", "staff"),
                               ("业主代表", "2", "residents")]:
        r = olga.post(f"{url}groups/", {"grp-name": name, "grp-weight": weight, "grp-kind": kind})
        assert r.status_code == 302
    r = olga.post(f"{url}groups/", {"grp-name": "零", "grp-weight": "0", "grp-kind": "staff"})
    assert r.status_code == 400 and errors_of(text(r), "grp-weight")
    assert [(g.name, g.weight, g.kind) for g in v.groups.all()] == [
        ("主管部门", D(4), "staff"), ("社区党组织", D(4), "staff"), ("业主代表", D(2), "residents")]
    assert "40.0%" in text(olga.get(url))  # 4 of 10

    rules = {"stages": "街道筛评/street\n区级总评/区", "stars": "5/95/90\n3/60", "band_basis": "rank",
             "bands": "红/30\n蓝/40\n黄/30", "honour_count": "2", "shame_count": "1", "sanction_last": "1",
             "sanction_days": "365", "min_answers": "50", "objection_days": "5", "self_assessment": "on",
             "evidence_required": "on"}

    def save(**kw: Any) -> Any:
        return olga.post(f"{url}rules/", {f"rules-{k}": val for k, val in {**rules, **kw}.items()})

    r = save(stages="街道筛评/乡镇")  # a line the page cannot parse: said at the field, nothing saved
    assert r.status_code == 400 and "第1行" in errors_of(text(r), "rules-stages")
    r = save(bands="红/50\n黄/40")  # the service's rule (shares add up to 100) shown at the field
    assert r.status_code == 400 and "100%" in errors_of(text(r), "rules-bands")
    r = save(stars="五星/95")
    assert "第1行" in errors_of(text(r), "rules-stars")
    v.refresh_from_db()
    assert v.stages == [] and v.bands == []
    assert save().status_code == 302
    v.refresh_from_db()
    assert v.stages == [{"name": "街道筛评", "level": "street"}, {"name": "区级总评", "level": "district"}]
    assert v.stars == [{"level": 5, "min_score": 95, "min_satisfaction": 90}, {"level": 3, "min_score": 60}]
    assert v.bands == [{"name": "红", "share": 30}, {"name": "蓝", "share": 40}, {"name": "黄", "share": 30}]
    assert v.sanction == {"last_places": 1, "bar_days": 365} and v.min_answers == 50 and v.self_assessment
    assert (v.honour_count, v.shame_count, v.objection_days) == (2, 1, 5)
    page = text(olga.get(url))  # the lines come back as written
    assert "街道筛评/street\n区级总评/district" in page and "5/95/90\n3/60" in page and "红/30\n蓝/40\n黄/30" in page
    assert save(band_basis="score", bands="优/90\n良/75\n差/0").status_code == 302
    v.refresh_from_db()
    assert v.bands == [{"name": "优", "min_score": 90}, {"name": "良", "min_score": 75}, {"name": "差", "min_score": 0}]

    # Removing: an indicator and a group of the draft.
    extra = Indicator.objects.get(code="2")
    assert olga.post(f"/assessment/indicators/{extra.pk}/remove/").status_code == 302
    assert not Indicator.objects.filter(pk=extra.pk).exists()
    residents = v.groups.get(kind=GroupKind.RESIDENTS)
    olga.post(f"/assessment/groups/{residents.pk}/remove/")
    assert not RaterGroup.objects.filter(pk=residents.pk).exists()

    # Someone without ASSESS_MANAGE sees the scheme (her city's) but no editor, and cannot create one.
    alice = logged_in(cast.alice)
    assert alice.get("/assessment/schemes/new/").status_code == 404
    page = text(alice.get(url))
    assert "保洁" in page and "添加指标" not in page and "保存规则" not in page
    assert alice.post(f"{url}rules/", {f"rules-{k}": val for k, val in rules.items()}).status_code == 404
    v.refresh_from_db()
    assert v.min_answers == 50 and len(v.stages) == 2  # unchanged by her
    assert alice.post(f"{url}publish/").status_code == 404 and alice.post(f"{url}draft/").status_code == 404
    v.refresh_from_db()
    assert v.published_at is None

    # Publish freezes; a round may start; a new draft copies the version.
    r = olga.post(f"{url}publish/", follow=True)
    v.refresh_from_db()
    assert v.frozen and "已发布第 1 版" in text(r)
    page = text(olga.get(url))
    assert "添加指标" not in page and f'href="/assessment/schemes/{scheme.pk}/rounds/new/"' in page
    assert "街道筛评（街道） → 区级总评（区）" in page
    r = olga.post(f"{url}draft/", follow=True)
    assert "已新建第 2 版草稿" in text(r)
    v2 = selectors.latest_version(scheme)
    assert v2.number == 2 and list(v2.indicators.values_list("code", flat=True).order_by("code")) == ["1", "1.1"]
    assert "v1" in text(olga.get(f"{url}?v=1")) and "添加指标" not in text(olga.get(f"{url}?v=1"))


def test_publishing_an_empty_draft_says_why(cast: Cast) -> None:
    scheme = services.scheme_create(actor=cast.olga, area=cast.city, name="空方案", period="annual",
                                    subject_kind=SubjectKind.GRID)
    r = logged_in(cast.olga).post(f"/assessment/schemes/{scheme.pk}/publish/", follow=True)
    assert "请至少添加一项指标" in text(r) and selectors.latest_version(scheme).published_at is None


# ------------------------------------------------------------------------------------------ a round on the web


def _round(cast: Cast, **rules: Any) -> tuple[Round, dict[int, Any]]:
    companies = _companies(cast)
    scheme = _scheme(cast)
    olga = logged_in(cast.olga)
    r = olga.post(f"/assessment/schemes/{scheme.pk}/rounds/new/", {
        "name": "2026年度物业考评", "area": cast.district.pk, "period_key": "2026", "period_start": "2026-01-01",
        "period_end": "2026-12-31", "scoring_due": ""})
    rnd = Round.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/assessment/rounds/{rnd.pk}/"
    out: dict[int, Any] = {s.unit_id or 0: s for s in rnd.subjects.all()}
    out[0] = companies
    return rnd, out


def _step(client: Client, rnd: Round, name: str, **extra: Any) -> str:
    rnd.refresh_from_db()
    return text(client.post(f"/assessment/rounds/{rnd.pk}/step/", {"name": name, "version": rnd.version, **extra},
                            follow=True))


def _sheet_post(client: Client, sheet: Any, points: dict[str, Any], *, submit: bool = True,
                note: str = "扣分：楼道有垃圾") -> Any:
    leaves = {i.code: i for i in selectors.scored_indicators(sheet.round)}
    sheet.refresh_from_db()
    data: dict[str, Any] = {"version": sheet.version, ("submit" if submit else "save"): "1"}
    for code, p in points.items():
        data[f"score_{leaves[code].pk}"] = p
        data[f"note_{leaves[code].pk}"] = note
    return client.post(f"/assessment/sheets/{sheet.pk}/", data)


def test_a_round_walks_its_steps_on_the_round_page_to_the_public_board(cast: Cast) -> None:
    rnd, subjects = _round(cast)
    a, b, c = subjects[0]
    olga, stan, bob = logged_in(cast.olga), logged_in(cast.stan), logged_in(cast.bob)
    url = f"/assessment/rounds/{rnd.pk}/"
    page = text(olga.get(url))
    assert "准备中" in page and 'data-action="open_scoring"' in page and 'data-action="open_self"' not in page
    assert "分配评分人" in page and "结果计算规则" in page and "主管部门 4 : 社区党组织 4 : 业主代表 2" in page
    for s in ("海鸥物业", "碧海物业", "港湾物业"):
        assert s in page

    housing = _user("zhujian", "district_official", area=cast.district)
    own = _user("haiou_staff", "unit_handler", unit=a)
    g_dept, g_party, g_res = list(rnd.scheme_version.groups.all())
    page = text(olga.get(url))
    assert f'<option value="{housing.pk}">zhujian</option>' in page
    group_select = grab(r'<select name="assign-group".*?</select>', page)
    assert g_dept.name in group_select and g_res.name not in group_select  # residents answer on the phone
    r = olga.post(f"{url}assign/", {"assign-rater": housing.pk, "assign-group": g_dept.pk})
    assert r.status_code == 302
    r = olga.post(f"{url}assign/", {"assign-rater": cast.alice.pk, "assign-group": g_party.pk,
                                    "assign-subjects": [subjects[a.pk].pk, subjects[b.pk].pk, subjects[c.pk].pk]})
    assert r.status_code == 302
    r = olga.post(f"{url}assign/", {"assign-rater": own.pk, "assign-group": g_party.pk,
                                    "assign-subjects": [subjects[a.pk].pk]})
    assert r.status_code == 400 and "不能评本单位" in errors_of(text(r), "assign-rater")
    assert rnd.assignments.count() == 6
    assert logged_in(cast.alice).post(f"{url}assign/", {"assign-rater": cast.alice.pk,
                                                        "assign-group": g_party.pk}).status_code == 404

    assert "评分中" in _step(olga, rnd, "open_scoring")
    r = olga.post(f"{url}step/", {"name": "open_scoring", "version": 1}, follow=True)  # a stale button
    assert "已被他人推进" in text(r)

    # Raters score on their sheet pages; the overview lists the open sheets.
    zhujian = logged_in(housing)
    home = text(zhujian.get("/assessment/"))
    mine = list(selectors.my_sheets(housing))
    assert len(mine) == 3 and all(f'href="/assessment/sheets/{s.pk}/"' in home for s in mine)
    sheets = {(s.group_id, s.subject.unit_id): s for s in selectors.my_sheets(housing)}
    sheets.update({(s.group_id, s.subject.unit_id): s for s in selectors.my_sheets(cast.alice)})
    alice = logged_in(cast.alice)
    for (group, unit), pts in {(g_dept.pk, a.pk): (20, 40, 38), (g_dept.pk, b.pk): (16, 32, 32),
                               (g_dept.pk, c.pk): (12, 24, 24), (g_party.pk, a.pk): (20, 38, 38),
                               (g_party.pk, b.pk): (16, 32, 32), (g_party.pk, c.pk): (10, 20, 20)}.items():
        client = zhujian if group == g_dept.pk else alice
        assert _sheet_post(client, sheets[(group, unit)], dict(zip(["1", "2.1", "2.2"], pts, strict=True))
                           ).status_code == 302
    # Residents: bob answers on his phone page.
    for unit, rating, comment in [(a.pk, 5, ""), (b.pk, 4, ""), (c.pk, 2, "楼道垃圾无人清理")]:
        r = bob.post(f"/assessment/survey/{subjects[unit].pk}/", {f"s{subjects[unit].pk}-rating": rating,
                                                                  f"s{subjects[unit].pk}-comment": comment})
        assert r.status_code == 302
    page = text(olga.get(url))
    assert grab(r"主管部门 · 已提交/评分表</div><div class=\"value\">3<small>/3</small>", page)

    assert "审核中" in _step(olga, rnd, "close_scoring")
    page = text(olga.get(url))
    # a: 97.60 (5★, 红, 红榜); b: 80.00 (蓝); c: 52.00 (黄, 黑榜)
    row = {u: grab(rf'<tr id="subject-{subjects[u].pk}".*?</tr>', page) for u in (a.pk, b.pk, c.pk)}
    assert "97.60" in row[a.pk] and "★★★★★" in row[a.pk] and "band-red" in row[a.pk] and "listed-red" in row[a.pk]
    assert "80.00" in row[b.pk] and "band-blue" in row[b.pk] and "98.00" in row[a.pk] and "96.00" in row[a.pk]
    assert "52.00" in row[c.pk] and "band-yellow" in row[c.pk] and "listed-black" in row[c.pk]
    assert "100.00%" in row[a.pk]
    assert 'data-chart="chart-bands"' in page and 'data-chart="chart-dist"' in page
    bands = json.loads(grab(r'<script id="chart-bands" type="application/json">(.*?)</script>', page))
    assert bands["xAxis"]["data"] == ["红", "蓝", "黄"]
    assert [d["value"] for d in bands["series"][0]["data"]] == [1, 1, 1]
    dist = json.loads(grab(r'<script id="chart-dist" type="application/json">(.*?)</script>', page))
    assert sum(dist["series"][0]["data"]) == 3 and dist["series"][0]["data"][9] == 1  # 97.60 in 90–100
    assert "当前环节：街道筛评" in page
    xlsx = olga.get(f"/api/v1/assessment/rounds/{rnd.pk}/results.xlsx")
    assert f'href="/api/v1/assessment/rounds/{rnd.pk}/results.xlsx"' in page and xlsx.status_code == 200
    assert "notice.docx" not in page  # the 公示 document comes with the notice

    # 街道筛评 on the round page: stan's queue; a fail needs a reason.
    page = text(stan.get(url))
    assert "待审核：街道筛评" in page and page.count('class="inline review-form"') == 3
    assert 'data-action="to_notice"' in page and "分配评分人" not in page
    back = stan.post(f"/assessment/subjects/{subjects[c.pk].pk}/review/", {
        f"r{subjects[c.pk].pk}-verdict": "fail", f"r{subjects[c.pk].pk}-note": "", "next": "round"}, follow=True)
    assert "不通过须写明理由" in text(back)
    for u, verdict, note in [(a.pk, "pass", ""), (b.pk, "pass", ""), (c.pk, "fail", "群众投诉多")]:
        stan.post(f"/assessment/subjects/{subjects[u].pk}/review/", {
            f"r{subjects[u].pk}-verdict": verdict, f"r{subjects[u].pk}-note": note, "next": "round"})
    assert "公示中" in _step(stan, rnd, "to_notice")
    assert f'href="/api/v1/assessment/rounds/{rnd.pk}/notice.docx"' in text(olga.get(url))

    # 公示: bob (any signed-in user) sees the result and objects; olga answers on the round page.
    card = bob.get(f"/assessment/subjects/{subjects[b.pk].pk}/")
    assert card.status_code == 200 and "提出异议" in text(card) and "zhujian" not in text(card)
    r = bob.post(f"/assessment/subjects/{subjects[b.pk].pk}/objection/", {"obj-text": ""})
    assert r.status_code == 400 and errors_of(text(r), "obj-text")
    bob.post(f"/assessment/subjects/{subjects[b.pk].pk}/objection/", {"obj-text": "保洁分数偏高"})
    objection = Objection.objects.get()
    assert "期满后才能发布" in _step(olga, rnd, "publish")  # objection_days 0: the notice ends today
    page = text(olga.get(url))
    assert "保洁分数偏高" in page and f'action="/assessment/objections/{objection.pk}/answer/"' in page
    olga.post(f"/assessment/objections/{objection.pk}/answer/", {f"o{objection.pk}-answer": "已复核，评分有据",
                                                                  "next": "round"})
    objection.refresh_from_db()
    assert objection.answered_at is not None
    assert "已复核" in text(bob.get(f"/assessment/subjects/{subjects[b.pk].pk}/"))
    Round.objects.filter(pk=rnd.pk).update(notice_until=timezone.localdate() - dt.timedelta(days=1))
    olga.post(f"/assessment/subjects/{subjects[a.pk].pk}/objection/", {"obj-text": "再提一条"})
    assert "尚有异议未答复" in _step(olga, rnd, "publish")
    last = Objection.objects.get(text="再提一条")
    services.objection_answer(actor=cast.olga, objection=last, answer="已答复")
    assert "已发布" in _step(olga, rnd, "publish")

    # The public board: no sign-in, the lists, nothing personal.
    anon = Client()
    listing = text(anon.get("/assessment/public/"))
    assert f'href="/assessment/public/{rnd.pk}/"' in listing
    board = text(anon.get(f"/assessment/public/{rnd.pk}/"))
    red = grab(r'id="board-red">(.*?)</section>', board)
    black = grab(r'id="board-black">(.*?)</section>', board)
    assert "海鸥物业" in red and "港湾物业" in black and "碧海物业" not in red + black
    assert "zhujian" not in board and "alice" not in board and "鲍勃" not in board and "群众投诉多" not in board
    assert "★★★★★" in grab(r'id="board-stars">(.*?)</section>', board)
    assert anon.get(f"/assessment/rounds/{rnd.pk}/").status_code == 302  # the round page needs a sign-in

    # The last place's credit file shows the result and the bar; olga may lift it.
    file = text(olga.get(f"/assessment/units/{c.pk}/credit/"))
    bar = Sanction.objects.get(unit=c)
    assert "生效中" in file and "排名末位" in file and "2026年度物业考评" in file and "黑榜" in file
    r = olga.post(f"/assessment/sanctions/{bar.pk}/lift/", {f"l{bar.pk}-reason": "整改到位"}, follow=True)
    assert "已解除惩戒" in text(r) and services.bar_on(c.pk) is None
    assert logged_in(cast.gina).get(f"/assessment/units/{c.pk}/credit/").status_code == 404  # not her unit or area


def test_the_sheet_page_shows_errors_at_the_field_and_keeps_what_was_typed(cast: Cast) -> None:
    rnd, subjects = _round(cast)
    a = subjects[0][0]
    g_dept = rnd.scheme_version.groups.get(name="主管部门")
    services.assign(actor=cast.olga, round=rnd, group=g_dept, rater=cast.alice, subjects=[subjects[a.pk]])
    sheet = selectors.my_sheets(cast.alice, open_only=False).get()
    alice = logged_in(cast.alice)
    leaves = {i.code: i for i in selectors.scored_indicators(rnd)}
    r = _sheet_post(alice, sheet, {"1": 20, "2.1": 40, "2.2": 40})
    assert r.status_code == 409 and "不在评分阶段" in text(r)  # the round has not opened scoring
    services.round_step(actor=cast.olga, round=rnd, name="open_scoring")
    page = text(alice.get(f"/assessment/sheets/{sheet.pk}/"))
    for ind in leaves.values():
        assert f'name="score_{ind.pk}"' in page and f'max="{int(ind.max_points)}"' in page
        assert f'name="note_{ind.pk}"' in page
    assert f'href="/api/v1/assessment/sheets/{sheet.pk}/sheet.xlsx"' in page
    assert 'min="0"' in page and 'step="0.5"' in page and "assessment/sheet.js" in page and "<script>" not in page
    assert "满分" in page and "/ 100" in page

    r = _sheet_post(alice, sheet, {"1": 25, "2.1": 40, "2.2": 40})  # above the maximum
    assert r.status_code == 400 and "0 到 20.00" in errors_of(text(r), f"score_{leaves['1'].pk}")
    assert 'value="25"' in text(r)  # what she typed stays
    r = _sheet_post(alice, sheet, {"1": 18, "2.1": 40, "2.2": 40}, note="")  # a deduction without its note
    assert r.status_code == 400 and "扣分须写明依据" in errors_of(text(r), f"note_{leaves['1'].pk}")
    r = _sheet_post(alice, sheet, {"1": 18, "2.1": "", "2.2": ""}, submit=False)  # saved, not submitted
    assert r.status_code == 302
    sheet.refresh_from_db()
    assert sheet.total == 18 and sheet.submitted_at is None
    r = _sheet_post(alice, sheet, {"1": 18, "2.1": "", "2.2": ""})
    assert r.status_code == 400 and "尚有 2 项未评分" in text(r)
    r = _sheet_post(alice, sheet, {"1": 18, "2.1": 39.5, "2.2": 40})
    assert r.status_code == 302 and r["Location"] == "/assessment/"
    sheet.refresh_from_db()
    assert sheet.total == D("97.50") and sheet.submitted_at is not None
    page = text(alice.get(f"/assessment/sheets/{sheet.pk}/"))
    assert "已提交" in page and 'name="score_' not in page and "39.5" in page
    # Nobody else opens her sheet.
    assert logged_in(cast.charlie).get(f"/assessment/sheets/{sheet.pk}/").status_code == 404


def test_a_resident_answers_once_on_her_phone_and_the_second_try_is_refused_kindly(cast: Cast) -> None:
    rnd, subjects = _round(cast)
    a = subjects[0][0]
    services.round_step(actor=cast.olga, round=rnd, name="open_scoring")
    bob = logged_in(cast.bob)
    assert bob.get("/assessment/").status_code == 302  # a resident without sheets goes to the survey
    page = text(bob.get("/assessment/survey/"))
    s = subjects[a.pk]
    assert "海鸥物业" in page and "非常满意" in page and "非常不满意" in page and rnd.name in page
    assert page.count('class="card survey-item"') == 3
    r = bob.post(f"/assessment/survey/{s.pk}/", {f"s{s.pk}-rating": "1", f"s{s.pk}-comment": ""})
    assert r.status_code == 400 and "不满意请写明原因" in errors_of(text(r), f"s{s.pk}-comment")
    r = bob.post(f"/assessment/survey/{s.pk}/", {f"s{s.pk}-rating": "", f"s{s.pk}-comment": ""})
    assert r.status_code == 400 and errors_of(text(r), f"s{s.pk}-rating")
    r = bob.post(f"/assessment/survey/{s.pk}/", {f"s{s.pk}-rating": "5"}, follow=True)
    assert "感谢您对“海鸥物业”的评价" in text(r) and text(r).count('class="card survey-item"') == 2
    r = bob.post(f"/assessment/survey/{s.pk}/", {f"s{s.pk}-rating": "1", f"s{s.pk}-comment": "再投一次"}, follow=True)
    assert r.status_code == 200 and "每人每轮只能评价一次" in text(r) and "感谢您的参与" in text(r)
    assert SurveyAnswer.objects.filter(subject=s).count() == 1 and SurveyAnswer.objects.get(subject=s).rating == 5
    # Staff without a linked person are told so; a subject outside the resident's area is not there.
    assert "尚未关联本人身份" in text(logged_in(cast.alice).get("/assessment/survey/"))
    assert logged_in(cast.alice).post(f"/assessment/survey/{s.pk}/", {f"s{s.pk}-rating": "5"}).status_code == 404


def test_self_assessment_in_the_self_stage_by_the_subjects_own_unit(cast: Cast) -> None:
    companies = _companies(cast)
    scheme = _scheme(cast)
    draft = services.version_new_draft(actor=cast.olga, scheme=scheme)
    services.version_update(actor=cast.olga, version=draft, self_assessment=True)
    services.version_publish(actor=cast.olga, version=draft)
    rnd = services.round_create(actor=cast.olga, scheme=scheme, name="年度", area=cast.district, period_key="2026",
                                period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 12, 31))
    olga = logged_in(cast.olga)
    assert 'data-action="open_self"' in text(olga.get(f"/assessment/rounds/{rnd.pk}/"))
    assert "自评申报" in _step(olga, rnd, "open_self")
    handler = _user("haiou_staff", "unit_handler", unit=companies[0])
    client = logged_in(handler)
    page = text(client.get(f"/assessment/rounds/{rnd.pk}/"))
    subject = rnd.subjects.get(unit=companies[0])
    assert f'href="/assessment/subjects/{subject.pk}/#declare"' in page and "待申报" in page
    card = text(client.get(f"/assessment/subjects/{subject.pk}/"))
    assert f'action="/assessment/subjects/{subject.pk}/declare/"' in card
    r = client.post(f"/assessment/subjects/{subject.pk}/declare/", {"self_score": "101", "self_note": "自评"})
    assert r.status_code == 400 and errors_of(text(r), "self_score")
    r = client.post(f"/assessment/subjects/{subject.pk}/declare/",
                    {"self_score": "92", "self_note": "党建、环境均达标"})
    assert r.status_code == 302
    subject.refresh_from_db()
    assert subject.declared and subject.self_score == 92
    # Another unit's subject is not on her page.
    other = rnd.subjects.get(unit=companies[1])
    assert client.get(f"/assessment/subjects/{other.pk}/").status_code == 404
    # Her unit's credit file is linked from the overview.
    assert f'href="/assessment/units/{companies[0].pk}/credit/"' in text(client.get("/assessment/"))


def test_pages_without_the_capability_are_not_there(cast: Cast) -> None:
    anon = Client()
    assert anon.get("/assessment/").status_code == 302
    assert anon.get("/assessment/public/").status_code == 200
    assert anon.get("/assessment/public/999/").status_code == 404
    gina = logged_in(cast.gina)  # a grid worker: no ASSESS_VIEW, no sheets, no person
    assert gina.get("/assessment/").status_code == 404
    scheme = _scheme(cast)
    assert gina.get(f"/assessment/schemes/{scheme.pk}/").status_code == 404
    assert logged_in(cast.stan).get(f"/assessment/schemes/{scheme.pk}/rounds/new/").status_code == 404
    rnd = services.round_create(actor=cast.olga, scheme=scheme, name="年度", area=cast.district, period_key="2026",
                                period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 12, 31))
    assert anon.get(f"/assessment/public/{rnd.pk}/").status_code == 404  # not published yet
    assert logged_in(cast.stan).get(f"/assessment/rounds/{rnd.pk}/").status_code == 200
    assert 'data-action=' not in text(logged_in(cast.stan).get(f"/assessment/rounds/{rnd.pk}/"))


def test_computed_indicators_show_their_basis_on_the_subject_card(cast: Cast) -> None:
    scheme = services.scheme_create(actor=cast.olga, area=cast.city, name="网格考评", period="quarterly",
                                    subject_kind=SubjectKind.GRID)
    v = selectors.latest_version(scheme)
    services.indicator_add(actor=cast.olga, version=v, code="1", name="巡查走访", max_points=80)
    services.indicator_add(actor=cast.olga, version=v, code="2", name="诉求满意率", max_points=20,
                           source=Source.CASE_SATISFACTION)
    services.group_add(actor=cast.olga, version=v, name="社区", weight=1)
    services.version_update(actor=cast.olga, version=v, band_basis="score",
                            bands=[{"name": "红", "min_score": 90}, {"name": "蓝", "min_score": 0}])
    services.version_publish(actor=cast.olga, version=v)
    rnd = services.round_create(actor=cast.olga, scheme=scheme, name="本季度", area=cast.community,
                                period_key="2026Q4", period_start=dt.date(2026, 10, 1),
                                period_end=dt.date(2026, 12, 31))
    services.round_step(actor=cast.olga, round=rnd, name="open_scoring")
    grid1 = rnd.subjects.get(area=cast.grid1)
    services.assign(actor=cast.olga, round=rnd, group=v.groups.get(), rater=cast.alice, subjects=[grid1])
    sheet = selectors.my_sheets(cast.alice).get()
    page = text(logged_in(cast.alice).get(f"/assessment/sheets/{sheet.pk}/"))
    computed = v.indicators.get(code="2")
    assert f'name="score_{computed.pk}"' not in page and "诉求满意率（系统计算）" in page  # nobody types it in
    _sheet_post(logged_in(cast.alice), sheet, {"1": 80})
    services.round_step(actor=cast.olga, round=rnd, name="close_scoring")
    olga = logged_in(cast.olga)
    card = text(olga.get(f"/assessment/subjects/{grid1.pk}/"))
    assert "系统计算指标" in card and "无可计数据" in card and "100.00" in card and "alice" in card
    page = text(olga.get(f"/assessment/rounds/{rnd.pk}/"))
    grid2 = rnd.subjects.get(area=cast.grid2)
    row = grab(rf'<tr id="subject-{grid2.pk}".*?</tr>', page)
    assert "flag-invalid" in row and "flag-incomplete" in row and "缺少“社区”的评分" in row
    assert "按分数线分档" in page and "红 ≥ 90" in page
