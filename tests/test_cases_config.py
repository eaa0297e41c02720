"""Configuring the case pipeline through the pages and the API: the working-day calendar (year view, 休/班 marks,
the warnings when a year's holidays are unknown) and the routing rules (list, create, delete, preview)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from gongzhi.accounts import services as accounts
from gongzhi.cases import services as cases
from gongzhi.cases.models import CalendarDay, Category, RoutingRule
from gongzhi.core import workdays
from gongzhi.core.models import AuditEntry
from gongzhi.registry import services as registry
from gongzhi.registry.models import AreaKind, Sector
from tests.cast import Cast

UNCOVERED = 2027  # chinesecalendar knows the State Council's holidays up to 2026


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_for(user: Any) -> Client:
    _token, key = accounts.token_create(actor=None, user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch) -> dt.date:
    """The dashboard's warning looks at the coming year: pin "today" to late 2026."""
    day = dt.date(2026, 11, 20)
    monkeypatch.setattr("gongzhi.cases.templatetags.case_config._today", lambda: day)
    return day


# ------------------------------------------------------------------------------------------ calendar: pages


def test_year_view_shows_each_day_and_where_it_comes_from(cast: Cast) -> None:
    admin = logged_in(cast.admin)
    html = admin.get("/cases/calendar/?year=2026").content.decode()
    assert html.count('class="card cal-month"') == 12
    assert 'id="calendar-uncovered"' not in html
    # 国庆 2026 on a Thursday: an official holiday (休); 2026-10-10, a Saturday, is an official 调休 working day (班)
    assert 'data-day="2026-10-01"' in html and "2026-10-01 休息日 · 国庆节" in html
    assert "2026-10-10 工作日 · 国庆节" in html
    picked = admin.get("/cases/calendar/?year=2026&day=2026-10-01").content.decode()
    assert 'id="picked-source">国务院放假安排<' in picked


def test_uncovered_year_warns_until_the_administrator_records_its_holidays(cast: Cast) -> None:
    admin = logged_in(cast.admin)
    html = admin.get(f"/cases/calendar/?year={UNCOVERED}").content.decode()
    assert 'id="calendar-uncovered"' in html
    assert "2027-10-01 工作日" in html  # Mon–Fri fallback: 国庆 would count as a working day
    picked = admin.get(f"/cases/calendar/?year={UNCOVERED}&day=2027-10-01").content.decode()
    assert 'id="picked-source">默认周一至周五<' in picked

    response = admin.post(f"/cases/calendar/?year={UNCOVERED}&day=2027-10-01",
                          {"action": "set", "year": UNCOVERED, "day": "2027-10-01", "kind": "holiday",
                           "note": "国庆节"})
    assert response.status_code == 302 and "day=2027-10-01" in response["Location"]
    assert CalendarDay.objects.get(day=dt.date(2027, 10, 1)).is_workday is False
    assert not workdays.is_workday(dt.date(2027, 10, 1))  # deadlines follow at once
    entry = AuditEntry.objects.get(action="cases.calendar.set")
    assert entry.actor_id == cast.admin.pk and entry.after["note"] == "国庆节" and entry.before is None

    html = admin.get(f"/cases/calendar/?year={UNCOVERED}&day=2027-10-01").content.decode()
    assert 'id="calendar-uncovered"' not in html
    assert 'id="picked-source">管理员设定<' in html and "2027-10-01 休息日 · 国庆节" in html

    # a Saturday marked 班 (调休 working day)
    admin.post(f"/cases/calendar/?year={UNCOVERED}", {"action": "set", "year": UNCOVERED, "day": "2027-10-09",
                                                      "kind": "workday", "note": "国庆调休"})
    assert workdays.is_workday(dt.date(2027, 10, 9))
    html = admin.get(f"/cases/calendar/?year={UNCOVERED}").content.decode()
    assert "2027-10-09 工作日 · 国庆调休" in html and 'id="overrides"' in html

    # removing her override: back to Mon–Fri, audited
    response = admin.post(f"/cases/calendar/?year={UNCOVERED}", {"action": "clear", "year": UNCOVERED,
                                                                 "day": "2027-10-09"})
    assert response.status_code == 302
    assert not CalendarDay.objects.filter(day=dt.date(2027, 10, 9)).exists()
    assert not workdays.is_workday(dt.date(2027, 10, 9))
    assert AuditEntry.objects.get(action="cases.calendar.clear").before["note"] == "国庆调休"


def test_calendar_form_errors_name_their_field_and_write_nothing(cast: Cast) -> None:
    admin = logged_in(cast.admin)
    response = admin.post(f"/cases/calendar/?year={UNCOVERED}",
                          {"action": "set", "year": UNCOVERED, "day": "2027-10-01", "kind": "holiday",
                           "note": "长" * 51})
    assert response.status_code == 200
    assert 'id="error-note"' in response.content.decode()
    response = admin.post(f"/cases/calendar/?year={UNCOVERED}", {"action": "set", "year": UNCOVERED,
                                                                 "day": "2027-10-01"})
    assert 'id="error-kind"' in response.content.decode()
    response = admin.post(f"/cases/calendar/?year={UNCOVERED}", {"action": "set", "year": UNCOVERED,
                                                                 "day": "1899-01-01", "kind": "holiday"})
    assert 'id="error-day"' in response.content.decode()
    assert not CalendarDay.objects.exists() and not AuditEntry.objects.filter(action__startswith="cases.cal").exists()
    # clearing a day without an override says so
    response = admin.post(f"/cases/calendar/?year={UNCOVERED}", {"action": "clear", "year": UNCOVERED,
                                                                 "day": "2027-10-01"}, follow=True)
    assert "该日期没有人工调整" in response.content.decode()


def test_only_the_administrator_changes_the_calendar(cast: Cast) -> None:
    alice = logged_in(cast.alice)  # community worker: may read it (her deadlines), not change it
    html = alice.get(f"/cases/calendar/?year={UNCOVERED}&day=2027-10-01").content.decode()
    assert 'id="calendar-uncovered"' in html and 'name="kind"' not in html
    response = alice.post(f"/cases/calendar/?year={UNCOVERED}", {"action": "set", "year": UNCOVERED,
                                                                 "day": "2027-10-01", "kind": "holiday"})
    assert response.status_code == 404 and not CalendarDay.objects.exists()
    assert logged_in(cast.bob).get("/cases/calendar/").status_code == 404
    assert logged_in(cast.admin).get("/cases/calendar/?year=1800").status_code == 404
    assert Client().get("/cases/calendar/").status_code == 302  # to the login page


def test_navigation_reaches_the_configuration_pages(cast: Cast) -> None:
    html = logged_in(cast.admin).get("/").content.decode()
    assert 'href="/cases/calendar/"' in html and 'href="/cases/routing/"' in html


# ------------------------------------------------------------------------------------------ dashboard warning


def test_dashboard_warns_when_next_year_is_unknown(cast: Cast, today: dt.date, django_assert_max_num_queries) -> None:
    admin = logged_in(cast.admin)
    html = admin.get("/").content.decode()
    assert "2027年的放假安排尚未录入" in html and 'href="/cases/calendar/?year=2027"' in html
    assert "去录入节假日" in html
    alice_html = logged_in(cast.alice).get("/").content.decode()  # she dispatches: she sees it, read-only link
    assert "2027年的放假安排尚未录入" in alice_html and "查看工作日历" in alice_html
    assert "放假安排尚未录入" not in logged_in(cast.gina).get("/").content.decode()  # grid worker: not hers

    cases.calendar_day_set(actor=cast.admin, day=dt.date(2027, 1, 1), is_workday=False, note="元旦")
    assert "放假安排尚未录入" not in admin.get("/").content.decode()


def test_dashboard_warning_costs_at_most_one_query_per_year(cast: Cast, today: dt.date,
                                                            django_assert_num_queries) -> None:
    from django.template import Context, Template
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = cast.admin
    template = Template("{% load case_config %}{% calendar_warning %}")
    from gongzhi.core.scope import scope_of

    scope_of(cast.admin)  # the scope is computed once per request anyway
    with django_assert_num_queries(1):  # 2026 is official (no query), 2027 asks the table once
        out = template.render(Context({"request": request}))
    assert "2027年" in out and "2026年" not in out


# ------------------------------------------------------------------------------------------ calendar: API


def test_calendar_through_the_api(cast: Cast) -> None:
    admin, alice, bob = api_for(cast.admin), api_for(cast.alice), api_for(cast.bob)
    body = admin.get(f"/api/v1/calendar-days?year={UNCOVERED}").json()
    assert body["covered"] is False and body["official"] is False and len(body["days"]) == 365
    assert body["days"][0] == {"date": "2027-01-01", "is_workday": True, "source": "weekday",
                               "source_label": "默认周一至周五", "note": ""}

    response = admin.put("/api/v1/calendar-days/2027-01-01", json.dumps({"is_workday": False, "note": "元旦"}),
                         content_type="application/json")
    assert response.status_code == 200 and response.json()["source"] == "table"
    body = admin.get(f"/api/v1/calendar-days?year={UNCOVERED}").json()
    assert body["covered"] is True and body["table_holidays"] == 1
    assert body["days"][0]["is_workday"] is False and body["days"][0]["note"] == "元旦"
    assert alice.get(f"/api/v1/calendar-days?year={UNCOVERED}").status_code == 200

    official = admin.get("/api/v1/calendar-days?year=2026").json()
    national_day = next(d for d in official["days"] if d["date"] == "2026-10-01")
    assert national_day == {"date": "2026-10-01", "is_workday": False, "source": "official",
                            "source_label": "国务院放假安排", "note": "国庆节"}

    assert alice.put("/api/v1/calendar-days/2027-01-02", json.dumps({"is_workday": True}),
                     content_type="application/json").status_code == 403
    assert bob.get("/api/v1/calendar-days?year=2027").status_code == 403
    too_long = admin.put("/api/v1/calendar-days/2027-01-02", json.dumps({"is_workday": True, "note": "长" * 51}),
                         content_type="application/json")
    assert too_long.status_code == 400 and "note" in too_long.json()["error"]["fields"]
    assert admin.get("/api/v1/calendar-days?year=1999").status_code == 400
    assert admin.put("/api/v1/calendar-days/1999-01-02", json.dumps({"is_workday": True}),
                     content_type="application/json").status_code == 400

    assert alice.delete("/api/v1/calendar-days/2027-01-01").status_code == 403
    assert admin.delete("/api/v1/calendar-days/2027-01-01").status_code == 204
    assert admin.delete("/api/v1/calendar-days/2027-01-01").status_code == 404
    assert workdays.is_workday(dt.date(2027, 1, 1))
    assert list(AuditEntry.objects.filter(object_type="cases.calendarday").values_list("action", flat=True)
                .order_by("id")) == ["cases.calendar.set", "cases.calendar.clear"]


# ------------------------------------------------------------------------------------------ routing: pages


@pytest.fixture
def unit(cast: Cast) -> Any:
    return registry.unit_create(actor=None, area=cast.city, name="市城市管理局", credit_code="91350100M000100Y43",
                                sector=Sector.ORGAN)


def test_routing_rule_created_listed_previewed_and_deleted_in_the_page(cast: Cast, unit: Any) -> None:
    admin = logged_in(cast.admin)
    property_cat = Category.objects.get(code="030602")
    html = admin.get(f"/cases/routing/?p_category={property_cat.pk}&p_area={cast.community.pk}").content.decode()
    assert "尚无规则" in html and 'id="route-result"' in html
    assert 'id="route-level">碧海社区（社区）<' in html  # the category's default level

    response = admin.post("/cases/routing/", {"action": "create", "category": property_cat.parent_id,
                                              "area": cast.district.pk, "level": "street", "unit": unit.pk})
    assert response.status_code == 302
    rule = RoutingRule.objects.get()
    assert (rule.area, rule.level, rule.unit, rule.category_id) == (cast.district, "street", unit,
                                                                     property_cat.parent_id)
    assert AuditEntry.objects.filter(action="cases.routing_rule.create", object_id=str(rule.pk)).exists()

    html = admin.get(f"/cases/routing/?p_category={property_cat.pk}&p_area={cast.building.pk}").content.decode()
    assert f'data-rule="{rule.pk}"' in html and "0306 " in html
    assert 'id="route-level">新华街道（街道）<' in html and 'id="route-unit">市城市管理局<' in html
    # a case of that category really goes there
    case = cases.case_submit(actor=cast.bob, title="占道经营", description="店外经营占道", area=cast.building,
                             category=property_cat)
    assert case.level == "street" and case.assignee_unit == unit

    response = admin.post("/cases/routing/", {"action": "delete", "rule": rule.pk})
    assert response.status_code == 302 and not RoutingRule.objects.exists()
    assert AuditEntry.objects.get(action="cases.routing_rule.delete").before["unit"] == unit.pk
    html = admin.get(f"/cases/routing/?p_category={property_cat.pk}&p_area={cast.building.pk}").content.decode()
    assert 'id="route-level">碧海社区（社区）<' in html


def test_routing_form_errors_name_their_field(cast: Cast, unit: Any) -> None:
    admin = logged_in(cast.admin)
    other_city = registry.area_create(actor=None, parent=None, name="外市", code="980100", kind=AreaKind.CITY)
    response = admin.post("/cases/routing/", {"action": "create", "area": other_city.pk, "level": "city"})
    html = response.content.decode()
    assert response.status_code == 200 and 'id="error-area"' in html and "不在您的管理范围内" in html
    # a level above the rule's area, without a department
    response = admin.post("/cases/routing/", {"action": "create", "area": cast.community.pk, "level": "district"})
    assert 'id="error-level"' in response.content.decode()
    response = admin.post("/cases/routing/", {"action": "create", "area": cast.building.pk, "level": "grid"})
    assert 'id="error-area"' in response.content.decode()
    response = admin.post("/cases/routing/", {"action": "create", "level": "street"})
    assert 'id="error-area"' in response.content.decode()
    assert not RoutingRule.objects.exists()
    # the same category and area twice
    admin.post("/cases/routing/", {"action": "create", "area": cast.street.pk, "level": "street"})
    response = admin.post("/cases/routing/", {"action": "create", "area": cast.street.pk, "level": "community"})
    assert 'id="error-category"' in response.content.decode() and RoutingRule.objects.count() == 1
    # a preview at a node no case can be located at
    response = admin.get(f"/cases/routing/?p_area={cast.street.pk}")
    assert 'id="error-p_area"' in response.content.decode()


def test_routing_page_is_for_the_administrator_only(cast: Cast, unit: Any) -> None:
    rule = cases.routing_rule_create(actor=cast.admin, area=cast.street, level="street", unit=unit)
    alice = logged_in(cast.alice)
    assert alice.get("/cases/routing/").status_code == 404
    assert alice.post("/cases/routing/", {"action": "delete", "rule": rule.pk}).status_code == 404
    assert RoutingRule.objects.filter(pk=rule.pk).exists()
    assert logged_in(cast.stan).get("/cases/routing/").status_code == 404


def test_rule_list_queries_do_not_grow_with_the_rules(cast: Cast, unit: Any, django_assert_max_num_queries) -> None:
    admin = logged_in(cast.admin)
    categories = list(Category.objects.filter(depth=3).order_by("code")[:30])
    for category in categories[:3]:
        cases.routing_rule_create(actor=None, area=cast.district, level="street", category=category, unit=unit)
    admin.get("/cases/routing/")
    with django_assert_max_num_queries(20) as few:
        assert admin.get("/cases/routing/").status_code == 200
    for category in categories[3:]:
        cases.routing_rule_create(actor=None, area=cast.street, level="street", category=category)
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = admin.get("/cases/routing/").content.decode()
    assert html.count("data-rule=") == 30


# ------------------------------------------------------------------------------------------ routing: API


def test_routing_rules_through_the_api(cast: Cast, unit: Any) -> None:
    admin, alice = api_for(cast.admin), api_for(cast.alice)
    property_cat = Category.objects.get(code="030602")
    preview = admin.get(f"/api/v1/routing-preview?area_id={cast.building.pk}&category_code=030602").json()
    assert preview["level"] == "community" and preview["owner"]["id"] == cast.community.pk
    assert preview["unit"] is None and preview["by_rule"] is False

    payload = {"area_id": cast.district.pk, "level": "street", "category_code": "0306", "unit_id": unit.pk}
    response = admin.post("/api/v1/routing-rules", json.dumps(payload), content_type="application/json")
    assert response.status_code == 201, response.content
    rule = response.json()
    assert rule["category"] == {"code": "0306", "name": property_cat.parent.name}
    assert rule["unit"] == {"id": unit.pk, "name": "市城市管理局"} and rule["area"]["id"] == cast.district.pk

    preview = admin.get(f"/api/v1/routing-preview?area_id={cast.building.pk}&category_code=030602").json()
    assert (preview["level"], preview["owner"]["id"], preview["unit"]["id"]) == ("street", cast.street.pk, unit.pk)
    assert preview["by_rule"] is True

    listed = admin.get(f"/api/v1/routing-rules?area_id={cast.district.pk}").json()
    assert [r["id"] for r in listed["items"]] == [rule["id"]] and listed["next"] is None
    assert admin.get(f"/api/v1/routing-rules?area_id={cast.district2.pk}").json()["items"] == []

    again = admin.post("/api/v1/routing-rules", json.dumps(payload), content_type="application/json")
    assert again.status_code == 400 and "category" in again.json()["error"]["fields"]
    bad = admin.post("/api/v1/routing-rules", json.dumps({**payload, "level": "galaxy"}),
                     content_type="application/json")
    assert bad.status_code == 400 and "level" in bad.json()["error"]["fields"]
    unknown = admin.post("/api/v1/routing-rules", json.dumps({**payload, "category_code": "zz"}),
                         content_type="application/json")
    assert unknown.status_code == 400 and "category_code" in unknown.json()["error"]["fields"]
    assert alice.post("/api/v1/routing-rules", json.dumps(payload), content_type="application/json").status_code == 403
    assert alice.get("/api/v1/routing-rules").status_code == 403
    assert alice.delete(f"/api/v1/routing-rules/{rule['id']}").status_code == 403

    assert admin.delete(f"/api/v1/routing-rules/{rule['id']}?reason=并入街道").status_code == 204
    assert admin.delete(f"/api/v1/routing-rules/{rule['id']}").status_code == 404
    assert AuditEntry.objects.get(action="cases.routing_rule.delete").reason == "并入街道"
    preview = admin.get(f"/api/v1/routing-preview?area_id={cast.building.pk}&category_code=030602").json()
    assert preview["level"] == "community"


def test_search_selects_are_backed_by_a_scoped_api(cast: Cast, unit: Any) -> None:
    admin = api_for(cast.admin)
    registry.area_create(actor=None, parent=None, name="外市碧海", code="980100", kind=AreaKind.CITY)
    areas = admin.get("/api/v1/case-config/choices?kind=area&q=碧海").json()
    assert [a["label"] for a in areas][:1] == ["新华街道碧海社区（社区）"]
    assert all("外市" not in a["label"] for a in areas)  # outside her scope
    places = admin.get("/api/v1/case-config/choices?kind=place&q=1号楼").json()
    assert [p["id"] for p in places] == [cast.building.pk]
    assert admin.get("/api/v1/case-config/choices?kind=unit&q=城市管理").json() == [
        {"id": unit.pk, "label": "市城市管理局"}]
    cats = admin.get("/api/v1/case-config/choices?kind=category&q=0306").json()
    assert cats[0]["label"].startswith("0306 ") and len(cats) > 1
    assert api_for(cast.alice).get("/api/v1/case-config/choices?kind=area&q=碧海").status_code == 403
