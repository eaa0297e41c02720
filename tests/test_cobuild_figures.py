"""Co-building figures (selectors/figures.py), their page, Excel export and API, and the community page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import BytesIO

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from gongzhi.cobuild.models import (
    AdmissionRequest,
    Budget,
    Delivery,
    FundSource,
    Kind,
    ListType,
    Need,
    Participation,
    Project,
    Purpose,
    Resource,
    Spending,
)
from gongzhi.cobuild.selectors import figures as fig
from gongzhi.core.validators import credit_code_check_char
from gongzhi.registry import services as registry
from gongzhi.registry.models import Person, Sector

pytestmark = pytest.mark.django_db


def _year(cast) -> dict:
    """A small year in 碧海社区 (and one record in 港北社区 that must not count for 碧海)."""
    today = timezone.localdate()
    c, c2 = cast.community, cast.community2
    code = "12100000400000000"
    unit = registry.unit_create(actor=None, name="市第一医院", credit_code=code + credit_code_check_char(code),
                                sector=Sector.HOSPITAL, area=cast.street)
    Need.objects.create(area=c, area_path=c.path, kind=Kind.ELDERLY, title="独居老人助餐")
    Need.objects.create(area=cast.grid1, area_path=cast.grid1.path, kind=Kind.MEDICAL, title="义诊", state="met",
                        met_at=timezone.now())
    Need.objects.create(area=c2, area_path=c2.path, kind=Kind.LEGAL, title="法律咨询")
    Resource.objects.create(owner_kind="unit", unit=unit, area=cast.street, area_path=c.path, kind=Kind.MEDICAL,
                            title="义诊", capacity=6, used=2, valid_from=today - dt.timedelta(days=30),
                            valid_until=today + dt.timedelta(days=300))
    lt = ListType.objects.get(code="livelihood")
    Project.objects.create(area=c, area_path=c.path, list_type=lt, title="加装电梯", task="t", standard="s",
                           starts_on=today - dt.timedelta(days=60), due_on=today - dt.timedelta(days=5))
    Project.objects.create(area=c, area_path=c.path, list_type=lt, title="楼道照明", task="t", standard="s",
                           starts_on=today - dt.timedelta(days=60), due_on=today - dt.timedelta(days=10),
                           state="accepted", accepted_at=timezone.now() - dt.timedelta(days=12))
    d = Delivery.objects.create(area=c, area_path=c.path, kind=Kind.MEDICAL, title="义诊", delivered_on=today,
                                beneficiaries=40, hours=Decimal("3"), unit=unit)
    Participation.objects.create(delivery=d, person=Person.objects.get(user=cast.bob), hours=Decimal("3"),
                                 area_path=c.path, delivered_on=today)
    Delivery.objects.create(area=c2, area_path=c2.path, kind=Kind.LEGAL, title="普法", delivered_on=today,
                            beneficiaries=10, hours=Decimal("2"))
    AdmissionRequest.objects.create(department=unit, area=cast.street, area_path=cast.street.path, kind="report",
                                    title="报表", description="d", state="refused")
    b = Budget.objects.create(area=c, area_path=c.path, year=today.year, source=FundSource.CITY,
                              amount=Decimal("20000"), spent=Decimal("1500"))
    Spending.objects.create(budget=b, area_path=c.path, amount=Decimal("1500"), purpose=Purpose.SERVICE,
                            description="助餐补贴", spent_on=today)
    return {"unit": unit}


def test_figures_of_a_community_count_only_its_subtree(cast) -> None:
    _year(cast)
    today = timezone.localdate()
    f = fig.figures(cast.community, today - dt.timedelta(days=365), today)
    assert (f.needs_registered, f.needs_met, f.needs_open) == (2, 1, 1)
    assert (f.resources_offered, f.resources_matched) == (1, 1)
    assert (f.projects_due, f.projects_on_time, f.projects_overdue) == (2, 1, 1)
    assert f.on_time_rate == 0.5 and f.on_time_percent == 50.0
    assert (f.services, f.beneficiaries, f.hours, f.volunteers_active) == (1, 40, Decimal("3"), 1)
    assert (f.budget, f.spent_in_period, f.balance) == (Decimal("20000"), Decimal("1500"), Decimal("18500"))
    assert [code for code, _label, _t in f.spent_by_purpose] == ["service"]
    street = fig.figures(cast.street, today - dt.timedelta(days=365), today)
    assert street.services == 2 and street.requests_refused == 1 and street.refusal_rate == 1.0
    rows = {r.area.name: r for r in fig.by_child(cast.street, today - dt.timedelta(days=365), today)}
    assert rows[cast.community.name].services == 1 and rows[cast.community2.name].services == 1
    assert rows[cast.community.name].needs_open == 1 and rows[cast.community.name].spent == Decimal("1500")


def test_figures_take_a_fixed_number_of_queries(cast, django_assert_max_num_queries) -> None:
    _year(cast)
    today = timezone.localdate()
    with django_assert_max_num_queries(12):
        fig.figures(cast.district, today - dt.timedelta(days=365), today)
    with django_assert_max_num_queries(6):
        fig.by_child(cast.district, today - dt.timedelta(days=365), today)


def test_page_export_and_api_follow_the_scope(cast, client) -> None:
    _year(cast)
    client.force_login(cast.alice)
    page = client.get(f"/cobuild/?area={cast.community.pk}")
    assert page.status_code == 200
    assert "待满足需求" in page.content.decode() and "kpi-on-time" in page.content.decode()
    assert client.get(f"/cobuild/?area={cast.community2.pk}").status_code == 404  # 港北 is not hers
    assert client.get("/cobuild/?start=2026-13-01").status_code == 200  # a bad date is an error on the field
    assert "error-start" in client.get("/cobuild/?start=2026-13-01").content.decode()
    export = client.get(f"/cobuild/figures.xlsx?area={cast.community.pk}")
    assert export.status_code == 200 and "filename*=UTF-8''" in export["Content-Disposition"]
    ws = load_workbook(BytesIO(export.content)).active
    header = [c.value for c in ws[2]]
    assert "服务次数" in header
    assert ws.cell(row=3, column=1).value == cast.community.name
    assert isinstance(ws.cell(row=3, column=3).value, int)
    api = client.get(f"/api/v1/cobuild/figures?area_id={cast.community.pk}")
    assert api.status_code == 200 and api.json()["total"]["services"] == 1
    assert client.get(f"/api/v1/cobuild/figures?area_id={cast.community2.pk}").status_code == 404
    assert client.get(f"/api/v1/cobuild/figures?area_id={cast.community.pk}&start=1900-01-01").status_code == 400
    community = client.get(f"/cobuild/community/{cast.community.pk}/")
    assert community.status_code == 200 and "独居老人助餐" in community.content.decode()
    assert client.get(f"/api/v1/cobuild/communities/{cast.community.pk}").json()["open_needs"][0]["title"] == \
        "独居老人助餐"
    assert client.get(f"/cobuild/community/{cast.street.pk}/").status_code == 404  # not a community


def test_residents_do_not_reach_the_staff_figures(cast, client) -> None:
    client.force_login(cast.bob)
    assert client.get("/cobuild/").status_code == 404
    assert client.get(f"/api/v1/cobuild/figures?area_id={cast.community.pk}").status_code == 404
