"""Funds (G3): allocation rules applied once per community (twice adds nothing), budgets by hand, spendings with
receipts (PDF signature, images re-encoded, anything else refused), the balance never below zero (two spends that
would overdraw: exactly one succeeds), scope (港北 does not see 碧海's budgets), the public disclosure page without
personal data, the half-year audit export, the API."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import struct
import threading
import zlib
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from openpyxl import load_workbook

from gongzhi.accounts import services as accounts
from gongzhi.cobuild.models import Budget, Spending
from gongzhi.cobuild.selectors import funds as selectors
from gongzhi.cobuild.services import funds as services
from gongzhi.core.errors import Forbidden, InvalidInput, NotFound
from gongzhi.core.scope import get_scoped
from tests.cast import Cast, build_cast

YEAR = dt.date.today().year
DAY = dt.date.today()


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes([200, 40, 40] * 8) for _ in range(8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _budget(cast: Cast, amount: str = "1000") -> Budget:
    return services.budget_create(actor=cast.alice, area=cast.community, year=YEAR, source="district",
                                  amount=Decimal(amount))


def test_a_rule_gives_every_community_its_share_once(cast: Cast) -> None:
    rule = services.rule_create(actor=cast.olga, area=cast.district, year=YEAR, source="city",
                                base_amount=Decimal("20000"), per_hundred_households=Decimal("2000"))
    with pytest.raises(Forbidden):
        services.rule_create(actor=cast.alice, area=cast.district, year=YEAR, source="city", base_amount=1)
    assert services.allocation_apply(actor=cast.olga, rule=rule) == 3  # 碧海, 港北, 桥东 (湖滨 is in 长安区)
    got = {b.area.name: b.amount for b in Budget.objects.select_related("area")}
    # 碧海 1,200 households → 12 × 2,000; 港北 800 → 8 ×; 桥东 500 → 5 ×.
    assert got == {"碧海社区": Decimal("44000.00"), "港北社区": Decimal("36000.00"), "桥东社区": Decimal("30000.00")}
    assert services.allocation_apply(actor=cast.olga, rule=rule) == 0  # applying twice does not double
    assert Budget.objects.count() == 3


def test_a_spending_never_overdraws_and_receipts_are_checked(cast: Cast, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    budget = _budget(cast)
    s = services.spending_record(actor=cast.alice, budget=budget, amount=Decimal("600"), purpose="service",
                                 description="重阳节敬老活动物资", payee="碧海便民超市", spent_on=DAY,
                                 receipt=("r.png", png()))
    assert s.receipt_type == "image/png" and s.receipt.read().startswith(b"\x89PNG")
    pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
    s2 = services.spending_record(actor=cast.alice, budget=budget, amount=Decimal("100"), purpose="activity",
                                  description="党员活动日场地布置", spent_on=DAY, receipt=("r.pdf", pdf))
    assert s2.receipt_type == "application/pdf"
    with pytest.raises(InvalidInput) as exc:
        services.spending_record(actor=cast.alice, budget=budget, amount=Decimal("400"), purpose="service",
                                 description="超支", spent_on=DAY)
    assert "amount" in exc.value.fields and "300" in exc.value.fields["amount"][0]
    for bad in (b"<html><script>alert(1)</script>", b"\x89PNG\r\n\x1a\n<html>", b"%PDF-" + b"0" * (10 << 20)):
        with pytest.raises(InvalidInput) as exc:
            services.spending_record(actor=cast.alice, budget=budget, amount=Decimal("1"), purpose="other",
                                     description="票据不对", spent_on=DAY, receipt=("x", bad))
        assert "receipt" in exc.value.fields
    with pytest.raises(InvalidInput) as exc:
        services.spending_record(actor=cast.alice, budget=budget, amount=Decimal("1"), purpose="other",
                                 description="明年的", spent_on=DAY + dt.timedelta(days=1))
    assert "spent_on" in exc.value.fields
    budget.refresh_from_db()
    assert (budget.spent, budget.balance) == (Decimal("700.00"), Decimal("300.00"))
    with pytest.raises(Forbidden):
        services.spending_record(actor=cast.charlie, budget=budget, amount=Decimal("1"), purpose="other",
                                 description="港北替碧海花钱", spent_on=DAY)


def test_charlie_of_gangbei_does_not_see_bihais_budgets(cast: Cast) -> None:
    budget = _budget(cast)
    assert list(selectors.budgets(cast.alice)) == [budget]
    assert list(selectors.budgets(cast.charlie)) == []
    with pytest.raises(NotFound):
        get_scoped(cast.charlie, Budget, budget.pk)
    assert budget in selectors.budgets(cast.stan)  # the street sees its communities'


@pytest.mark.django_db(transaction=True)
def test_two_spends_that_would_overdraw_exactly_one_succeeds() -> None:
    cast = build_cast()
    budget = _budget(cast, "1000")
    alice2 = accounts.user_create(actor=None, username="alice2", password=cast.password)
    accounts.grant_role(actor=None, user=alice2, role="community_worker", area=cast.community)
    results: list[str] = []
    barrier = threading.Barrier(2)

    def go(user: Any) -> None:
        b = Budget.objects.get(pk=budget.pk)
        barrier.wait()
        try:
            services.spending_record(actor=user, budget=b, amount=Decimal("700"), purpose="service",
                                     description="购置助老设备", spent_on=DAY)
            results.append("ok")
        except InvalidInput:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=go, args=(u,)) for u in (cast.alice, alice2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok", "refused"]
    budget.refresh_from_db()
    assert budget.spent == Decimal("700.00") and Spending.objects.count() == 1


def test_the_public_disclosure_shows_money_not_people(cast: Cast, client) -> None:
    budget = _budget(cast, "5000")
    services.budget_create(actor=cast.alice, area=cast.community, year=YEAR, source="donation", amount=800)
    services.spending_record(actor=cast.alice, budget=budget, amount=Decimal("1200"), purpose="help",
                             description="困难家庭临时救助", payee="张三丰", spent_on=DAY)
    services.spending_record(actor=cast.alice, budget=budget, amount=Decimal("300"), purpose="facility",
                             description="活动室灯具更换", payee="新华五金商行", spent_on=DAY)
    page = client.get(f"/cobuild/funds/public/{cast.community.pk}/?year={YEAR}")  # no sign-in
    html = page.content.decode()
    assert page.status_code == 200
    assert "困难家庭临时救助" in html and "新华五金商行" in html and "张三丰" not in html
    assert "个人（姓名不公示）" in html and 'id="pub-balance">4300.00<' in html and "社会捐赠" in html
    assert "alice" not in html
    assert client.get(f"/cobuild/funds/public/{cast.street.pk}/").status_code == 404  # communities only
    api = client.get(f"/api/v1/public/funds/{cast.community.pk}?year={YEAR}").json()
    assert {s["payee"] for s in api["spendings"]} == {"个人（姓名不公示）", "新华五金商行"}
    assert selectors.payee_public("碧海社区居委会") == "碧海社区居委会"


def test_the_half_year_audit_export(cast: Cast, client) -> None:
    b1 = _budget(cast, "10000")
    b2 = services.budget_create(actor=cast.charlie, area=cast.community2, year=YEAR, source="city", amount=5000)
    jan, jul = dt.date(YEAR, 1, 15), dt.date(YEAR, 7, 15)
    services.spending_record(actor=cast.alice, budget=b1, amount=1000, purpose="service", description="上半年",
                             spent_on=min(jan, DAY), today=DAY)
    if DAY >= jul:
        services.spending_record(actor=cast.alice, budget=b1, amount=2000, purpose="service", description="下半年",
                                 spent_on=jul, today=DAY)
    services.spending_record(actor=cast.charlie, budget=b2, amount=500, purpose="activity", description="活动",
                             spent_on=min(jan, DAY), today=DAY)
    client.force_login(cast.stan)
    r = client.get(f"/cobuild/funds/audit.xlsx?year={YEAR}&half=1&area={cast.street.pk}")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["各社区余额", "预算", "支出明细"]
    rows = [[c.value for c in row] for row in wb["各社区余额"].iter_rows()]
    by_name = {row[0]: row for row in rows if row and row[0]}
    assert by_name["碧海社区"][2:] == [10000, 1000, 1000, 9000]
    assert by_name["合计"][2:] == [15000, 1500, 1500, 13500]
    spend_rows = [row for row in wb["支出明细"].iter_rows(values_only=True) if row and row[4] in ("上半年", "下半年")]
    assert [row[4] for row in spend_rows] == ["上半年"]  # only the first half's
    client.force_login(cast.charlie)
    mine = load_workbook(io.BytesIO(client.get(f"/cobuild/funds/audit.xlsx?year={YEAR}&half=1").content))
    names = {row[0] for row in mine["各社区余额"].iter_rows(values_only=True)}
    assert "碧海社区" not in names and "港北社区" in names


def test_the_api_records_a_spending_with_a_base64_receipt(cast: Cast, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    _token, key = accounts.token_create(actor=None, user=cast.alice, name="t")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    r = api.post("/api/v1/cobuild/funds/budgets", json.dumps({"area_id": cast.community.pk, "year": YEAR,
                                                              "source": "party_dues", "amount": "2000"}),
                 content_type="application/json")
    assert r.status_code == 201, r.content
    bid = r.json()["id"]
    body = {"amount": "150.50", "purpose": "activity", "description": "七一主题党日", "spent_on": DAY.isoformat(),
            "receipt": base64.b64encode(png()).decode()}
    r = api.post(f"/api/v1/cobuild/funds/budgets/{bid}/spendings", json.dumps(body), content_type="application/json")
    assert r.status_code == 201 and r.json()["has_receipt"]
    over = api.post(f"/api/v1/cobuild/funds/budgets/{bid}/spendings",
                    json.dumps({**body, "amount": "5000", "receipt": None}), content_type="application/json")
    assert over.status_code == 400 and "amount" in over.json()["error"]["fields"]
    listed = api.get("/api/v1/cobuild/funds/budgets").json()["items"]
    assert listed[0]["balance"] in ("1849.50", 1849.5)
    _t, ckey = accounts.token_create(actor=None, user=cast.charlie, name="t")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {ckey}").get(
        f"/api/v1/cobuild/funds/budgets/{bid}/spendings").status_code == 404


def test_the_pages_keep_rules_budgets_and_spendings(cast: Cast, client, django_assert_max_num_queries) -> None:
    client.force_login(cast.olga)
    r = client.post("/cobuild/funds/rules/", {"area": cast.district.pk, "year": YEAR, "source": "district",
                                              "target_kind": "community", "base_amount": "10000",
                                              "per_hundred_households": "0"})
    assert r.status_code == 302
    rule = selectors.rules(cast.olga).get()
    for _ in range(2):
        assert client.post(f"/cobuild/funds/rules/{rule.pk}/apply/").status_code == 302
    assert Budget.objects.count() == 3
    client.force_login(cast.alice)
    page = client.get(f"/cobuild/funds/?year={YEAR}")
    assert page.status_code == 200 and "碧海社区" in page.content.decode() and "港北社区" not in page.content.decode()
    r = client.post("/cobuild/funds/budgets/new/", {"area": cast.community.pk, "year": YEAR, "source": "residents",
                                                    "amount": "1500", "note": "居民自筹"})
    assert r.status_code == 302
    for i in range(5):
        services.spending_record(actor=cast.alice, budget=Budget.objects.get(source="residents"), amount=10,
                                 purpose="other", description=f"支出{i}", spent_on=DAY)
    with django_assert_max_num_queries(12):
        assert client.get(f"/cobuild/funds/spendings/?year={YEAR}").status_code == 200
    assert "支出4" in client.get(f"/cobuild/funds/spendings/?year={YEAR}").content.decode()
    assert client.get("/cobuild/funds/spendings/new/").status_code == 200
    client.force_login(cast.charlie)
    b = Budget.objects.get(source="residents")
    assert client.get(f"/cobuild/funds/budgets/{b.pk}/").status_code == 404
