"""Open311 GeoReport v2: our own checks through the test client, and an independent client (``georeport``)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from gongzhi.accounts import services as accounts
from gongzhi.cases import services as cases
from gongzhi.cases.models import Case, Category, Channel
from tests.cast import Cast


@pytest.fixture
def api_key(cast: Cast) -> str:
    _token, key = accounts.token_create(actor=None, user=cast.gina, name="open311 client")
    return key


def test_discovery_and_services_in_json_and_xml(client, cast: Cast) -> None:
    discovery = client.get("/open311/v2/discovery.json").json()
    assert discovery["endpoints"][0]["url"].endswith("/open311/v2/")
    services = client.get("/open311/v2/services.json").json()
    n = Category.objects.filter(depth=3, active=True).count()
    assert n > 500 and len(services) == n and {"service_code": "030602", "service_name": "小区卫生"}.items() <= next(
        s for s in services if s["service_code"] == "030602").items()
    root = ET.fromstring(client.get("/open311/v2/services.xml").content)
    assert root.tag == "services" and len(root.findall("service")) == n
    assert client.get("/open311/v2/services/030602.json").json()["service_code"] == "030602"
    assert client.get("/open311/v2/services/nope.json").status_code == 404


def test_post_needs_a_valid_api_key_and_creates_a_case(client, cast: Cast, api_key: str) -> None:
    form = {"service_code": "030602", "lat": "41.805", "long": "123.405", "description": "楼道堆满杂物",
            "first_name": "明", "last_name": "王", "phone": "13700137000"}
    denied = client.post("/open311/v2/requests.json", form)
    assert denied.status_code == 403 and denied.json()[0]["code"] == 403
    made = client.post("/open311/v2/requests.json", {**form, "api_key": api_key})
    assert made.status_code == 201
    case = Case.objects.get(pk=made.json()[0]["service_request_id"])
    assert case.channel == Channel.OPEN311 and case.area == cast.grid1 and case.contact_name == "王明"
    detail = client.get(f"/open311/v2/requests/{case.pk}.json").json()[0]
    assert detail["status"] == "open" and detail["service_code"] == "030602"
    assert "13700137000" not in str(detail) and "王明" not in str(detail)  # no personal data out


@pytest.mark.parametrize(
    ("form", "fragment"),
    [
        ({"service_code": "999999", "lat": "41.8", "long": "123.4", "description": "x"}, "service_code"),
        ({"service_code": "030602", "lat": "north", "long": "123.4", "description": "x"}, "lat"),
        ({"service_code": "030602", "description": "x"}, "location"),
        ({"service_code": "030602", "lat": "10", "long": "10", "description": "x"}, "lng"),
        ({"service_code": "030602", "lat": "41.805", "long": "123.405", "description": ""}, "description"),
    ],
)
def test_bad_posts_are_400_with_a_description_and_write_nothing(client, cast: Cast, api_key: str, form,
                                                                fragment: str) -> None:
    response = client.post("/open311/v2/requests.xml", {**form, "api_key": api_key})
    assert response.status_code == 400
    error = ET.fromstring(response.content).find("error")
    assert error is not None and error.findtext("code") == "400" and fragment in (error.findtext("description") or "")
    assert not Case.objects.exists()


def test_search_filters_pages_and_errors(client, cast: Cast) -> None:
    made = [cases.case_submit(actor=cast.bob, title=f"问题{i}", description=f"问题{i}", area=cast.building)
            for i in range(5)]
    cases.case_submit(actor=cast.bob, title="私事", description="私事", area=cast.building, is_public=False)
    everything = client.get("/open311/v2/requests.json").json()
    assert {r["service_request_id"] for r in everything} == {str(c.pk) for c in made}
    page = client.get("/open311/v2/requests.json?page=2&page_size=2").json()
    assert len(page) == 2
    assert client.get("/open311/v2/requests.json?status=closed").json() == []
    assert client.get("/open311/v2/requests.json?page_size=5000").status_code == 400
    assert client.get("/open311/v2/requests.json?start_date=yesterday").status_code == 400
    assert client.get("/open311/v2/requests.json?jurisdiction_id=elsewhere").status_code == 404
    assert client.get("/open311/v2/requests/999999.json").status_code == 404
    assert client.get(f"/open311/v2/tokens/{made[0].pk}.json").json()[0]["service_request_id"] == str(made[0].pk)
    assert client.get("/open311/v2/requests.yaml").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_an_independent_open311_client_reads_services_and_requests(live_server) -> None:
    from georeport import GeoReport

    from tests.cast import build_cast

    cast = build_cast()
    case = cases.case_submit(actor=cast.bob, title="路灯不亮", description="小区门口路灯不亮", area=cast.building)
    for fmt in ("json", "xml"):
        client = GeoReport(f"{live_server.url}/open311/v2", jurisdiction="gongzhi.local", output_format=fmt)
        services = client.get_service_list()
        assert any(s["service_code"] == "030501" for s in services)
        assert client.get_service_definition("030501")
        found = client.get_service_requests(service_request_id=str(case.pk))
        found = found if isinstance(found, list) else [found]
        assert found[0]["service_request_id"] == str(case.pk)
        single = client.get_service_request(str(case.pk))
        assert single["description"] == "小区门口路灯不亮" and single["status"] == "open"


def test_a_listed_request_says_who_holds_it_and_when_in_local_time_with_a_fixed_number_of_queries(
        client, cast: Cast) -> None:
    import datetime as dt

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from gongzhi.registry.models import Sector
    from gongzhi.registry.services import unit_create
    from tests.test_web_registry import credit_code

    made = [cases.case_submit(actor=cast.bob, title=f"问题{i}", description=f"问题{i}", area=cast.building)
            for i in range(3)]
    unit = unit_create(actor=None, area=cast.community, name="市供电公司", credit_code=credit_code(7),
                       sector=Sector.STATE_ENTERPRISE)
    closed_at = timezone.make_aware(dt.datetime(2026, 11, 2, 9, 30))
    Case.objects.filter(pk=made[0].pk).update(state="closed", feedback="已更换灯泡", closed_at=closed_at,
                                              assignee_unit=unit)
    with CaptureQueriesContext(connection) as few:
        client.get("/open311/v2/requests.json")
    for i in range(20):
        cases.case_submit(actor=cast.bob, title=f"更多{i}", description=f"更多{i}", area=cast.building)
    with CaptureQueriesContext(connection) as many:
        rows = {r["service_request_id"]: r for r in client.get("/open311/v2/requests.json").json()}
    assert len(many.captured_queries) == len(few.captured_queries)
    done = rows[str(made[0].pk)]
    assert (done["status"], done["status_notes"], done["agency_responsible"]) == ("closed", "已更换灯泡", "市供电公司")
    assert done["updated_datetime"] == "2026-11-02T09:30:00+08:00"  # Asia/Shanghai, as the clients expect
    still = rows[str(made[1].pk)]
    owner = Case.objects.select_related("owner_area").get(pk=made[1].pk).owner_area
    assert (still["status"], still["status_notes"], still["agency_responsible"]) == ("open", "", owner.name)
    assert still["address_id"] == str(cast.building.pk) and still["requested_datetime"].endswith("+08:00")
