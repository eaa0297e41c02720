"""Assessment (考评) through the JSON API with bearer tokens: a scheme built as data (400s naming their fields, a
frozen version a 409), a round walked through its steps (a stale version a 409), raters' sheets saved and
submitted, a resident's answer once (the second a 409), results paged by rank, the street's review, the notice, an
objection and its answer, publication, the public board without sign-in and the last company's credit file; 403
and 404 for outsiders."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from gongzhi.accounts import services as accounts
from gongzhi.assessment.models import Round, Sanction, SurveyAnswer
from gongzhi.core.validators import credit_code_check_char
from gongzhi.registry import services as registry
from gongzhi.registry.models import MemberUnit, Sector
from tests.cast import Cast


class Api:
    def __init__(self, user: Any = None) -> None:
        if user is None:
            self.client = Client()
        else:
            _token, key = accounts.token_create(actor=None, user=user, name="test")
            self.client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def get(self, url: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{url}", params)

    def post(self, url: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(f"/api/v1{url}", json.dumps(body or {}), content_type="application/json")

    def patch(self, url: str, body: dict[str, Any]) -> Any:
        return self.client.patch(f"/api/v1{url}", json.dumps(body), content_type="application/json")

    def delete(self, url: str) -> Any:
        return self.client.delete(f"/api/v1{url}")


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content.decode()
    return response.json()


def fields(response: Any, status: int = 400) -> set[str]:
    assert response.status_code == status, response.content.decode()
    return set(response.json()["error"]["fields"])


def _code(n: int) -> str:
    first = f"913501007{n:08d}"
    return first + credit_code_check_char(first)


def companies(cast: Cast) -> list[MemberUnit]:
    names = ["海鸥物业", "碧海物业", "港湾物业"]
    return [registry.unit_create(actor=None, area=cast.community if i < 2 else cast.community2, name=n,
                                 credit_code=_code(i + 1), sector=Sector.PROPERTY) for i, n in enumerate(names)]


def user(name: str, role: str, **kw: Any) -> Any:
    u = accounts.user_create(actor=None, username=name, password="pass-word-123")
    accounts.grant_role(actor=None, user=u, role=role, **kw)
    return u


def build_scheme(olga: Api, cast: Cast) -> dict[str, Any]:
    """物业服务企业考评 through the API: 党建 20 + 环境 (保洁 40, 绿化 40), 主管部门 4 : 社区党组织 4 : 业主代表 2."""
    scheme = ok(olga.post("/assessment/schemes", {"area_id": cast.city.pk, "name": "物业服务企业考评",
                                                  "subject_kind": "property_company", "period": "annual"}), 201)
    vid = scheme["version"]["id"]
    env = ok(olga.post(f"/assessment/versions/{vid}/indicators", {"code": "2", "name": "环境管理"}), 201)
    ok(olga.post(f"/assessment/versions/{vid}/indicators", {"code": "1", "name": "党建引领", "max_points": "20",
                                                            "guidance": "成立党组织、参与社区议事"}), 201)
    for code, name in (("2.1", "保洁"), ("2.2", "绿化")):
        ok(olga.post(f"/assessment/versions/{vid}/indicators", {"code": code, "name": name, "max_points": "40",
                                                                "parent_id": env["id"]}), 201)
    groups = (("主管部门", "4", "staff"), ("社区党组织", "4", "staff"), ("业主代表", "2", "residents"))
    for name, weight, kind in groups:
        ok(olga.post(f"/assessment/versions/{vid}/groups", {"name": name, "weight": weight, "kind": kind}), 201)
    ok(olga.patch(f"/assessment/versions/{vid}", {
        "stages": [{"name": "街道筛评", "level": "street"}],
        "stars": [{"level": 5, "min_score": "95", "min_satisfaction": "90"}],
        "bands": [{"name": "红", "share": "34"}, {"name": "蓝", "share": "33"}, {"name": "黄", "share": "33"}],
        "honour_count": 1, "shame_count": 1, "sanction": {"last_places": 1, "bar_days": 365}, "min_answers": 1,
        "objection_days": 0}))
    ok(olga.post(f"/assessment/versions/{vid}/publish"))
    return ok(olga.get(f"/assessment/schemes/{scheme['id']}"))


def open_round(olga: Api, cast: Cast, scheme: dict[str, Any], housing: Any) -> dict[str, Any]:
    """A district round with 主管部门 scored by ``housing`` and 社区党组织 by alice, open for scoring."""
    rnd = ok(olga.post("/assessment/rounds", {"scheme_id": scheme["id"], "name": "2026年度物业考评",
                                              "area_id": cast.district.pk, "period_key": "2026",
                                              "period_start": "2026-01-01", "period_end": "2026-12-31"}), 201)
    dept, party, _residents = rnd["groups"]
    for group, rater in ((dept, housing), (party, cast.alice)):
        made = ok(olga.post(f"/assessment/rounds/{rnd['id']}/assignments",
                            {"group_id": group["id"], "rater_id": rater.pk}), 201)
        assert made["created"] == 3
    return ok(olga.post(f"/assessment/rounds/{rnd['id']}/step", {"name": "open_scoring", "version": rnd["version"]}))


def leaf_ids(sheet: dict[str, Any]) -> dict[str, int]:
    return {r["code"]: r["indicator_id"] for r in sheet["rows"] if r["scored"]}


def test_a_scheme_is_built_as_data_and_frozen_when_published(cast: Cast) -> None:
    olga, alice, gina = Api(cast.olga), Api(cast.alice), Api(cast.gina)
    base = {"area_id": cast.city.pk, "name": "网格考评", "subject_kind": "grid", "period": "quarterly"}
    assert fields(olga.post("/assessment/schemes", {**base, "subject_kind": "planet", "name": ""})) == {
        "subject_kind", "name"}
    assert fields(olga.post("/assessment/schemes", {**base, "area_id": cast.building.pk})) == {"area"}
    assert fields(alice.post("/assessment/schemes", {**base, "area_id": cast.community.pk}), 403) == set()
    scheme = build_scheme(olga, cast)
    tree = scheme["version"]["indicators"]
    assert [(n["code"], n["depth"], n["leaf"], n["max_points"]) for n in tree] == [
        ("2", 0, False, "80.00"), ("2.1", 1, True, "40.00"), ("2.2", 1, True, "40.00"), ("1", 0, True, "20.00")]
    assert scheme["version"]["full_marks"] == "100.00" and scheme["version"]["frozen"]
    assert [g["weight"] for g in scheme["version"]["groups"]] == ["4.00", "4.00", "2.00"]
    assert scheme["version"]["bands"] == [{"name": "红", "share": 34}, {"name": "蓝", "share": 33},
                                          {"name": "黄", "share": 33}]
    vid = scheme["version"]["id"]
    frozen = olga.post(f"/assessment/versions/{vid}/indicators", {"code": "9", "name": "新增", "max_points": "5"})
    assert frozen.status_code == 409
    assert gina.get(f"/assessment/schemes/{scheme['id']}").status_code == 404  # no assessment capability
    assert alice.get(f"/assessment/schemes/{scheme['id']}").status_code == 200  # the city's scheme covers her

    draft = ok(olga.post(f"/assessment/schemes/{scheme['id']}/drafts"), 201)
    assert draft["number"] == 2 and not draft["frozen"] and len(draft["indicators"]) == 4
    assert olga.post(f"/assessment/schemes/{scheme['id']}/drafts").status_code == 409  # one draft at a time
    d = draft["id"]
    assert fields(olga.post(f"/assessment/versions/{d}/indicators", {"code": "1", "name": "重复"})) == {"code"}
    assert fields(olga.post(f"/assessment/versions/{d}/indicators", {"code": "9", "name": "x",
                                                                      "max_points": "1000.01"})) == {"max_points"}
    assert fields(olga.post(f"/assessment/versions/{d}/indicators", {"code": "9", "name": "x", "max_points": "-1"})
                  ) == {"max_points"}
    assert fields(olga.post(f"/assessment/versions/{d}/indicators", {"code": "9", "name": "志愿",
                                                                      "max_points": "5",
                                                                      "source": "volunteer_hours"})) == {"target"}
    assert fields(olga.post(f"/assessment/versions/{d}/indicators", {"code": "9", "name": "x",
                                                                      "parent_id": tree[0]["id"]})) == {"parent_id"}
    assert fields(olga.post(f"/assessment/versions/{d}/indicators", {"code": "9", "name": "x", "max_points": "5",
                                                                      "source": "round_result"})) == {"feed_scheme_id"}
    assert fields(olga.post(f"/assessment/versions/{d}/indicators", {
        "code": "9", "name": "x", "max_points": "5", "source": "round_result",
        "feed_scheme_id": scheme["id"]})) == {"feed_scheme_id"}  # not the scheme itself
    assert fields(olga.patch(f"/assessment/versions/{d}", {"bands": [{"name": "红", "share": "50"},
                                                                     {"name": "黄", "share": "40"}]})) == {"bands"}
    assert fields(olga.patch(f"/assessment/versions/{d}", {"stages": [{"name": "x", "level": "planet"}]})) == {
        "stages[0].level"}
    assert fields(alice.post(f"/assessment/versions/{d}/indicators", {"code": "8", "name": "越权"}), 403) == set()
    added = ok(olga.post(f"/assessment/versions/{d}/indicators", {"code": "9", "name": "新增", "max_points": "5"}),
               201)
    assert added["version"]["full_marks"] == "105.00"
    assert olga.delete(f"/assessment/indicators/{added['id']}").status_code == 204
    group = ok(olga.post(f"/assessment/versions/{d}/groups", {"name": "第三方", "weight": "1"}), 201)
    assert olga.delete(f"/assessment/groups/{group['id']}").status_code == 204
    assert fields(olga.post(f"/assessment/versions/{d}/groups", {"name": "零", "weight": "0"})) == {"weight"}
    rev = ok(olga.get(f"/assessment/schemes/{scheme['id']}"))["version"]["version"]
    ok(olga.patch(f"/assessment/versions/{d}", {"honour_count": 2, "version": rev}))
    assert olga.patch(f"/assessment/versions/{d}", {"honour_count": 3, "version": rev}).status_code == 409
    published = ok(olga.post(f"/assessment/versions/{d}/publish"))
    assert published["frozen"] and published["full_marks"] == "100.00"
    assert ok(olga.get(f"/assessment/schemes/{scheme['id']}", number=1))["version"]["number"] == 1
    listed = ok(olga.get("/assessment/schemes", limit=1))
    assert len(listed["items"]) == 1 and listed["next"] is None


def test_a_round_through_the_api_from_scoring_to_the_public_board(cast: Cast) -> None:
    a, b, c = companies(cast)
    housing = user("zhujian", "district_official", area=cast.district)
    olga, alice, stan, bob = Api(cast.olga), Api(cast.alice), Api(cast.stan), Api(cast.bob)
    rater, charlie, gina = Api(housing), Api(cast.charlie), Api(cast.gina)
    scheme = build_scheme(olga, cast)
    bad = olga.post("/assessment/rounds", {"scheme_id": scheme["id"], "name": "x", "area_id": cast.district.pk,
                                           "period_key": "2027", "period_start": "2027-02-01",
                                           "period_end": "2027-01-01"})
    assert fields(bad) == {"period_end"}
    rnd = open_round(olga, cast, scheme, housing)
    rid = rnd["id"]
    assert rnd["state"] == "scoring" and {s["name"] for s in rnd["steps"]} == {"close_scoring", "cancel"}
    stale = olga.post(f"/assessment/rounds/{rid}/step", {"name": "close_scoring", "version": rnd["version"] - 1})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "conflict"
    assert alice.post(f"/assessment/rounds/{rid}/step", {"name": "close_scoring"}).status_code == 403
    assert fields(olga.post(f"/assessment/rounds/{rid}/step", {"name": "fly"})) == {"name"}
    assert fields(olga.post(f"/assessment/rounds/{rid}/assignments", {"group_id": 0, "rater_id": housing.pk})) == {
        "group_id"}
    assert ok(olga.get("/assessment/rounds", state="scoring"))["items"][0]["id"] == rid
    assert ok(olga.get("/assessment/rounds", state="published"))["items"] == []

    # Raters fill their own sheets only; a deduction needs its note, named by its place in the request.
    mine = ok(rater.get("/assessment/sheets"))["items"]
    assert len(mine) == 3 and {s["subject"]["name"] for s in mine} == {"海鸥物业", "碧海物业", "港湾物业"}
    assert ok(charlie.get("/assessment/sheets"))["items"] == []
    by_name = {s["subject"]["name"]: s["id"] for s in mine}
    sheet = ok(rater.get(f"/assessment/sheets/{by_name['海鸥物业']}"))
    ids = leaf_ids(sheet)
    assert alice.get(f"/assessment/sheets/{sheet['id']}").status_code == 404  # not her sheet
    body: dict[str, Any] = {"scores": [{"indicator_id": ids["1"], "points": "20"},
                                       {"indicator_id": ids["2.1"], "points": "38"}], "submit": False}
    assert fields(rater.post(f"/assessment/sheets/{sheet['id']}", body)) == {"scores[1].note"}
    assert fields(rater.post(f"/assessment/sheets/{sheet['id']}", {"scores": [
        {"indicator_id": ids["1"], "points": "21"}]})) == {"scores[0].points"}
    assert fields(rater.post(f"/assessment/sheets/{sheet['id']}", {"scores": [
        {"indicator_id": ids["1"], "points": "abc"}]})) == {"scores[0].points"}
    body["scores"][1]["note"] = "楼道有垃圾"
    saved = ok(rater.post(f"/assessment/sheets/{sheet['id']}", {**body, "version": sheet["version"]}))
    assert saved["total"] == "58.00" and saved["submitted_at"] is None
    stale = rater.post(f"/assessment/sheets/{sheet['id']}", {**body, "version": sheet["version"]})
    assert stale.status_code == 409
    submit = rater.post(f"/assessment/sheets/{sheet['id']}", {**body, "submit": True})
    assert fields(submit) == {"scores"}  # 2.2 is not scored yet
    points = {("主管部门", "海鸥物业"): (20, 40, 38), ("主管部门", "碧海物业"): (16, 32, 32),
              ("主管部门", "港湾物业"): (12, 24, 24), ("社区党组织", "海鸥物业"): (20, 38, 38),
              ("社区党组织", "碧海物业"): (16, 32, 32), ("社区党组织", "港湾物业"): (10, 20, 20)}
    for api in (rater, alice):
        for s in ok(api.get("/assessment/sheets"))["items"]:
            pts = points[(s["group"]["name"], s["subject"]["name"])]
            scores = [{"indicator_id": ids[code], "points": str(p), "note": "扣分有据"}
                      for code, p in zip(("1", "2.1", "2.2"), pts, strict=True)]
            done = ok(api.post(f"/assessment/sheets/{s['id']}", {"scores": scores, "submit": True}))
            assert done["total"] == f"{sum(pts)}.00" and done["submitted_at"]
    assert ok(rater.get("/assessment/sheets"))["items"] == []
    assert len(ok(rater.get("/assessment/sheets", all=True))["items"]) == 3

    # A resident answers once per subject; the second try is a 409 and no name is kept.
    surveys = ok(bob.get("/assessment/surveys"))
    subject_ids = {s["subject"]["name"]: s["subject"]["id"] for s in surveys}
    assert set(subject_ids) == {"海鸥物业", "碧海物业", "港湾物业"}
    assert fields(bob.post(f"/assessment/subjects/{subject_ids['港湾物业']}/answer", {"rating": 1})) == {"comment"}
    assert fields(bob.post(f"/assessment/subjects/{subject_ids['港湾物业']}/answer", {"rating": 6})) == {"rating"}
    ok(bob.post(f"/assessment/subjects/{subject_ids['海鸥物业']}/answer", {"rating": 5}), 201)
    again = bob.post(f"/assessment/subjects/{subject_ids['海鸥物业']}/answer", {"rating": 1, "comment": "再来"})
    assert again.status_code == 409
    ok(bob.post(f"/assessment/subjects/{subject_ids['碧海物业']}/answer", {"rating": 4}), 201)
    ok(bob.post(f"/assessment/subjects/{subject_ids['港湾物业']}/answer",
                {"rating": 2, "comment": "垃圾无人清理"}), 201)
    assert SurveyAnswer.objects.filter(round_id=rid).count() == 3
    assert [s["subject"]["name"] for s in ok(bob.get("/assessment/surveys"))] == []
    assert gina.post(f"/assessment/subjects/{subject_ids['海鸥物业']}/answer", {"rating": 5}).status_code == 403

    rnd = ok(olga.post(f"/assessment/rounds/{rid}/step", {"name": "close_scoring", "version": rnd["version"]}))
    assert rnd["state"] == "review" and rnd["stage_name"] == "街道筛评" and rnd["summary"]["subjects"] == 3
    # Results by rank, one at a time with the keyset cursor.
    seen: list[tuple[Any, ...]] = []
    after = None
    while True:
        page = ok(olga.get(f"/assessment/rounds/{rid}/results", limit=1, **({"after": after} if after else {})))
        seen += [(s["rank"], s["name"], s["total"], s["band"], s["listed"]) for s in page["items"]]
        after = page["next"]
        if after is None:
            break
    assert seen == [(1, "海鸥物业", "97.60", "红", "red"), (2, "碧海物业", "80.00", "蓝", ""),
                    (3, "港湾物业", "52.00", "黄", "black")]
    assert fields(olga.get(f"/assessment/rounds/{rid}/results", after="x")) == {"after"}
    assert fields(olga.get(f"/assessment/rounds/{rid}/results", limit=201)) == {"limit"}
    street_results = ok(olga.get(f"/assessment/rounds/{rid}/results", area_id=cast.community2.pk))
    assert [s["name"] for s in street_results["items"]] == ["港湾物业"]
    card = ok(olga.get(f"/assessment/subjects/{subject_ids['海鸥物业']}"))
    assert card["group_scores"] == {"主管部门": "98.00", "社区党组织": "96.00", "业主代表": "100.00"}
    assert {s["rater"] for s in card["sheets"]} == {"zhujian", "alice"}
    assert charlie.get(f"/assessment/subjects/{subject_ids['海鸥物业']}").status_code == 404  # 碧海 is not his
    own = user("haiou_staff", "unit_handler", unit=a)
    own_card = ok(Api(own).get(f"/assessment/subjects/{subject_ids['海鸥物业']}"))  # a unit sees its own result
    assert own_card["total"] == "97.60" and all("rater" not in s for s in own_card["sheets"])

    # 街道筛评 by the street official.
    queue = ok(stan.get(f"/assessment/rounds/{rid}/reviews"))
    assert {s["name"] for s in queue} == {"海鸥物业", "碧海物业", "港湾物业"}
    assert all(s["verdict"] is None for s in queue)
    assert alice.post(f"/assessment/subjects/{subject_ids['海鸥物业']}/review", {"verdict": "pass"}).status_code == 403
    assert fields(stan.post(f"/assessment/subjects/{subject_ids['港湾物业']}/review", {"verdict": "fail"})) == {"note"}
    for name in ("海鸥物业", "碧海物业"):
        ok(stan.post(f"/assessment/subjects/{subject_ids[name]}/review", {"verdict": "pass"}))
    ok(stan.post(f"/assessment/subjects/{subject_ids['港湾物业']}/review", {"verdict": "fail", "note": "投诉多"}))
    rnd = ok(stan.post(f"/assessment/rounds/{rid}/step", {"name": "to_notice"}))
    assert rnd["state"] == "notice" and rnd["notice_until"] == timezone.localdate().isoformat()

    # During the notice any signed-in resident may object; the manager answers; then it publishes.
    objection = ok(bob.post(f"/assessment/subjects/{subject_ids['碧海物业']}/objections",
                            {"text": "保洁分数偏高"}), 201)
    assert "by" not in objection
    assert fields(olga.post(f"/assessment/rounds/{rid}/step", {"name": "publish"})) == {"transition"}
    assert [o["text"] for o in ok(olga.get(f"/assessment/rounds/{rid}/objections"))] == ["保洁分数偏高"]
    assert alice.get(f"/assessment/rounds/{rid}/objections").status_code == 404
    assert alice.post(f"/assessment/objections/{objection['id']}/answer", {"answer": "x"}).status_code == 403
    ok(olga.post(f"/assessment/objections/{objection['id']}/answer", {"answer": "已复核，评分有据"}))
    assert olga.post(f"/assessment/objections/{objection['id']}/answer", {"answer": "again"}).status_code == 409
    Round.objects.filter(pk=rid).update(notice_until=timezone.localdate() - dt.timedelta(days=1))
    noticed = ok(Api().get(f"/assessment/board/{rid}"))  # public from the 公示 on, saying so
    assert noticed["round"]["state"] == "notice" and noticed["round"]["published_at"] is None
    assert noticed["round"]["notice_until"] == str(timezone.localdate() - dt.timedelta(days=1))
    rnd = ok(olga.post(f"/assessment/rounds/{rid}/step", {"name": "publish"}))
    assert rnd["state"] == "published"

    public = Api()  # no sign-in
    assert [r["id"] for r in ok(public.get("/assessment/board"))] == [rid]
    board = ok(public.get(f"/assessment/board/{rid}"))
    assert [s["name"] for s in board["red"]] == ["海鸥物业"] and [s["name"] for s in board["black"]] == ["港湾物业"]
    assert [s["name"] for s in board["stars"]] == ["海鸥物业"] and set(board["bands"]) == {"红", "蓝", "黄"}
    assert "rater" not in json.dumps(board, ensure_ascii=False) and "zhujian" not in json.dumps(board)
    assert public.get(f"/assessment/rounds/{rid}").status_code == 401

    credit = ok(olga.get(f"/assessment/units/{c.pk}/credit"))
    assert [e["rank"] for e in credit["entries"]] == [3]
    assert [(s["kind"], s["active"]) for s in credit["sanctions"]] == [("bar_projects", True)]
    sanction = Sanction.objects.get(unit=c)
    assert alice.post(f"/assessment/sanctions/{sanction.pk}/lift", {"reason": "整改到位"}).status_code == 404
    assert fields(olga.post(f"/assessment/sanctions/{sanction.pk}/lift", {"reason": ""})) == {"reason"}
    lifted = ok(olga.post(f"/assessment/sanctions/{sanction.pk}/lift", {"reason": "整改到位"}))
    assert lifted["lifted_at"]
    assert gina.get(f"/assessment/units/{b.pk}/credit").status_code == 404  # the unit is outside her grid


def test_outsiders_get_404_and_limits_are_bounded(cast: Cast) -> None:
    companies(cast)
    olga, charlie = Api(cast.olga), Api(cast.charlie)
    housing = user("zhujian", "district_official", area=cast.district)
    scheme = build_scheme(olga, cast)
    rnd = open_round(olga, cast, scheme, housing)
    other = user("changan", "district_official", area=cast.district2)
    outsider = Api(other)
    assert outsider.get(f"/assessment/rounds/{rnd['id']}").status_code == 404
    assert outsider.post(f"/assessment/rounds/{rnd['id']}/step", {"name": "close_scoring"}).status_code == 404
    assert outsider.get(f"/assessment/rounds/{rnd['id']}/results").status_code == 404
    sheet = ok(Api(housing).get("/assessment/sheets"))["items"][0]
    assert outsider.get(f"/assessment/sheets/{sheet['id']}").status_code == 404
    assert outsider.post(f"/assessment/sheets/{sheet['id']}", {"scores": []}).status_code == 404
    assert outsider.get(f"/assessment/subjects/{sheet['subject']['id']}").status_code == 404
    assert charlie.get("/assessment/sheets").json()["items"] == []
    assert fields(olga.get("/assessment/rounds", limit=0)) == {"limit"}
    assert fields(olga.get("/assessment/rounds", state="flying")) == {"state"}
    # A stale round version on assignment-free steps is a 409 whatever the step.
    assert olga.post(f"/assessment/rounds/{rnd['id']}/step", {"name": "cancel", "version": 1,
                                                              "reason": "x"}).status_code == 409
    assert fields(olga.post(f"/assessment/rounds/{rnd['id']}/step", {"name": "cancel"})) == {"reason"}


@pytest.mark.parametrize("path", ["/assessment/schemes", "/assessment/rounds", "/assessment/sheets",
                                  "/assessment/surveys"])
def test_the_api_needs_a_sign_in(db: Any, path: str) -> None:
    assert Api().get(path).status_code == 401
