"""Server-rendered pages through the test client: scope, masking, forms, bounded queries, no CDN, English."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from django.test import Client
from openpyxl import Workbook

from gongzhi.cases import services as cases
from gongzhi.registry import services as registry
from gongzhi.registry.models import MemberUnit, Person, Sector
from tests.cast import Cast


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def things(cast: Cast) -> dict[str, Any]:
    unit = registry.unit_create(actor=None, area=cast.community, name="碧海物业", credit_code="91350100M000100Y43",
                                sector=Sector.PROPERTY)
    leader = registry.person_create(actor=None, area=cast.building, name="领导")
    pairing = registry.pairing_create(actor=None, kind="leader_community", person=leader, area=cast.community,
                                      started_on=dt.date(2026, 1, 1))
    case = cases.case_submit(actor=cast.bob, title="楼道堆物", description="楼道堆放杂物", area=cast.building)
    return {"unit": unit, "pairing": pairing, "case": case, "bob": Person.objects.get(name="鲍勃")}


def pages_of(cast: Cast, t: dict[str, Any]) -> list[str]:
    return [f"/areas/{cast.community.pk}/", f"/areas/{cast.community.pk}/children/", f"/units/{t['unit'].pk}/",
            f"/people/{t['bob'].pk}/", f"/pairings/{t['pairing'].pk}/", f"/cases/{t['case'].pk}/",
            f"/people/?area={cast.community.pk}", f"/units/?area={cast.community.pk}",
            f"/cases/figures/?area={cast.community.pk}"]


def test_outsiders_get_404_on_every_page_of_another_community(cast: Cast, things: dict[str, Any]) -> None:
    alice, charlie = logged_in(cast.alice), logged_in(cast.charlie)
    for url in pages_of(cast, things):
        assert alice.get(url).status_code == 200, url
        assert charlie.get(url).status_code == 404, url


def test_pages_need_a_login(client: Client, cast: Cast) -> None:
    response = client.get("/people/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_people_lists_mask_numbers_unless_the_role_needs_them(cast: Cast, things: dict[str, Any]) -> None:
    assert "13800138000" in logged_in(cast.alice).get("/people/").content.decode()
    street = logged_in(cast.stan).get("/people/").content.decode()
    assert "138****8000" in street and "13800138000" not in street
    assert "11010519491231002X" not in street


def test_a_bad_unit_form_shows_the_field_error_and_writes_nothing(cast: Cast) -> None:
    response = logged_in(cast.alice).post("/units/new/", {
        "name": "某公司", "credit_code": "91350100M000100Y44", "sector": "non_public", "area": cast.community.pk})
    assert response.status_code == 200
    assert re.search(r'id="error-credit_code"><li>[^<]*校验码', response.content.decode())
    assert not MemberUnit.objects.exists()


def test_list_pages_run_a_bounded_number_of_queries(cast: Cast, django_assert_max_num_queries) -> None:
    client = logged_in(cast.alice)
    client.get("/people/")
    for i in range(4):
        registry.person_create(actor=None, area=cast.building, name=f"甲{i}", phone=f"1390000000{i}")
    with django_assert_max_num_queries(14) as few:
        client.get("/people/")
    for i in range(60):
        registry.person_create(actor=None, area=cast.building, name=f"乙{i}", phone=f"139000001{i:02d}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get("/people/").content.decode()
    assert body.count('href="/people/') >= 50


def test_the_workbench_runs_a_bounded_number_of_queries(cast: Cast, pipeline: dict[str, Any],
                                                        django_assert_max_num_queries) -> None:
    client = logged_in(cast.alice)
    cases.case_submit(actor=cast.bob, title="一", description="一", area=cast.building)
    with django_assert_max_num_queries(40) as few:
        client.get("/cases/?queue=to_accept")
    for i in range(30):
        cases.case_submit(actor=cast.bob, title=f"问题{i}", description="内容", area=cast.building)
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get("/cases/?queue=to_accept").content.decode()
    assert body.count('href="/cases/') >= 31


EXTERNAL = re.compile(r'(?:src|href)="(?:https?:)?//(?!localhost|127\.0\.0\.1|testserver)')


def test_no_page_loads_anything_from_another_host(cast: Cast, things: dict[str, Any]) -> None:
    client = logged_in(cast.alice)
    for url in ["/", "/login/", "/areas/", "/cases/", "/cases/report/", "/cases/figures/", "/transfer/",
                "/api/v1/docs", *pages_of(cast, things)]:
        body = client.get(url).content.decode()
        assert not EXTERNAL.search(body), url


def test_english_is_one_setting_away_and_chinese_is_the_default(cast: Cast) -> None:
    client = logged_in(cast.alice)
    zh = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert 'lang="zh-hans"' in zh and "工作台" in zh  # the browser's language is not followed
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    en = client.get("/").content.decode()
    assert 'lang="en"' in en and "Workbench" in en and "工作台" not in en


def test_excel_import_page_reports_errors_and_export_downloads(cast: Cast) -> None:
    client = logged_in(cast.alice)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["姓名", "区域代码", "电话", "身份证号", "困难/独居", "党组织关系", "党员类别", "工作单位信用代码",
               "流动党员", "流出地", "流入地"])
    ws.append(["坏号码", cast.building.code, "12345", "", "", "", "", "", "", "", ""])
    data = io.BytesIO()
    wb.save(data)
    data.seek(0)
    data.name = "people.xlsx"
    response = client.post("/transfer/", {"kind": "people", "file": data})
    body = response.content.decode()
    assert 'id="import-errors"' in body and "电话" in body
    assert not Person.objects.filter(name="坏号码").exists()
    download = client.get("/export/people.xlsx")
    assert download["Content-Type"].startswith("application/vnd.openxmlformats")
    assert client.get("/transfer/template/units.xlsx").status_code == 200
    assert logged_in(cast.bob).get("/transfer/").status_code == 404
