"""Credit points (信用积分, E5) through the services, the pages and the API: a claim from 居民主动申报 through
信息员采集, 小区议事会评定 and 社区审核 with each capability checked, refusals with reasons, the cap per period at
approval, the append-only ledger with its exact balance, the exchange store (no overdraft, no overselling, also when
two redeem at once), the figures with masked names, and the demo extension."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import re
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from gongzhi.accounts import services as accounts
from gongzhi.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from gongzhi.core.models import AuditEntry
from gongzhi.core.scope import forget_scope, get_scoped
from gongzhi.points import demo, selectors, services
from gongzhi.points.models import (
    EntryKind,
    PointAccount,
    PointClaim,
    PointEntry,
    PointRule,
    Redemption,
    StoreItem,
    period_bounds,
)
from gongzhi.points.workflow import CLAIM, REDEMPTION, ClaimState, RedemptionState
from gongzhi.registry import services as registry
from gongzhi.registry.models import Person
from tests.cast import Cast, build_cast

TODAY = timezone.localdate()


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


class Api:
    def __init__(self, user: Any) -> None:
        _token, key = accounts.token_create(actor=None, user=user, name="test")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def get(self, url: str) -> Any:
        return self.client.get(f"/api/v1{url}")

    def post(self, url: str, body: dict[str, Any] | None = None) -> Any:
        return self.client.post(f"/api/v1{url}", json.dumps(body or {}), content_type="application/json")

    def put(self, url: str, body: dict[str, Any]) -> Any:
        return self.client.put(f"/api/v1{url}", json.dumps(body), content_type="application/json")


def secretary(cast: Cast) -> Any:
    """小区议事会: the party secretary of the compound (POINTS_DECIDE, no collecting or approving)."""
    u = accounts.user_create(actor=None, username="sam", password=cast.password)
    accounts.grant_role(actor=None, user=u, role="party_secretary", area=cast.compound)
    return u


def resident(cast: Cast, name: str, community: Any = None, home: Any = None) -> Any:
    u = accounts.user_create(actor=None, username=name, password=cast.password)
    accounts.grant_role(actor=None, user=u, role="resident", area=community or cast.community)
    registry.person_create(actor=None, area=home or cast.building, name=f"居民{name}", user=u)
    forget_scope()
    return u


def person(user: Any) -> Person:
    return Person.objects.select_related("area").get(user=user)


def volunteer_rule(cast: Cast, **kw: Any) -> PointRule:
    return services.rule_create(actor=cast.alice, area=kw.pop("area", cast.community),
                                name=kw.pop("name", "参加志愿服务"), points=kw.pop("points", 5),
                                cap=kw.pop("cap", 20), period=kw.pop("period", "month"), **kw)


def worker(cast: Cast, step: str) -> Any:
    """Who takes a step on a claim of 碧海: the grid worker collects, the community worker decides (she holds
    POINTS_DECIDE too), the street approves — three people, as the four-eyes rule wants."""
    kind = step.removeprefix("refuse_")
    return {"collect": cast.gina, "decide": cast.alice, "approve": cast.stan}[kind]


def approved(cast: Cast, rule: PointRule, user: Any, occurred_on: dt.date = TODAY, sam: Any = None) -> PointClaim:
    claim = services.claim_file(actor=user, rule=rule, occurred_on=occurred_on, description="参加社区环境整治")
    for step in ("collect", "decide", "approve"):
        claim = services.claim_step(actor=worker(cast, step), claim=claim, step=step)
    return claim


def give(person_: Person, amount: int) -> None:
    services.entry_correct(actor=None, person=person_, amount=amount, reason="期初积分")


def ledger_sum(person_: Person) -> int:
    return sum(PointEntry.objects.filter(person=person_).values_list("amount", flat=True))


def store_item(cast: Cast, **kw: Any) -> StoreItem:
    return services.item_create(actor=cast.alice, area=kw.pop("area", cast.community), name=kw.pop("name", "洗衣液"),
                                price=kw.pop("price", 30), stock=kw.pop("stock", 10), **kw)


# ------------------------------------------------------------------------------------------ the table


def test_the_declared_tables_reach_every_state() -> None:
    assert CLAIM.reachable() == set(ClaimState.values)
    assert REDEMPTION.reachable() == set(RedemptionState.values)
    assert all(CLAIM[name].needs_reason for name in ("refuse_collect", "refuse_decide", "refuse_approve"))


def test_periods_are_months_quarters_and_years() -> None:
    day = dt.date(2026, 11, 20)
    assert period_bounds("month", day) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert period_bounds("month", dt.date(2026, 12, 5)) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert period_bounds("quarter", day) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert period_bounds("quarter", dt.date(2026, 2, 28)) == (dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert period_bounds("year", day) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


# ------------------------------------------------------------------------------------------ rules


def test_rules_are_set_by_those_who_approve_and_seen_from_below(cast: Cast) -> None:
    rule = services.rule_create(actor=cast.stan, area=cast.street, name="垃圾分类示范户", points=10, cap=10,
                                period="month")
    with pytest.raises(Forbidden):
        services.rule_create(actor=cast.gina, area=cast.community, name="x", points=1, cap=1)
    with pytest.raises(Forbidden):
        services.rule_create(actor=cast.charlie, area=cast.community, name="x", points=1, cap=1)
    with pytest.raises(InvalidInput) as exc:
        services.rule_create(actor=cast.alice, area=cast.grid1, name="x", points=1, cap=1)
    assert "area" in exc.value.fields
    with pytest.raises(InvalidInput) as exc:
        services.rule_create(actor=cast.alice, area=cast.community, name="x", points=10, cap=5)
    assert "cap" in exc.value.fields
    with pytest.raises(InvalidInput) as exc:
        services.rule_create(actor=cast.stan, area=cast.street, name="垃圾分类示范户", points=1, cap=1)
    assert "name" in exc.value.fields
    # The street's rule applies in 碧海: its resident and its community worker see it; 湖滨 (another district) not.
    assert rule in selectors.rules(cast.bob) and rule in selectors.rules(cast.alice)
    assert [r.name for r in selectors.rules_for(person(cast.bob))] == ["垃圾分类示范户"]
    with pytest.raises(Forbidden):  # seen, but not hers to change
        services.rule_update(actor=cast.alice, rule=rule, name="垃圾分类示范户", points=5, cap=10, period="month")
    services.rule_update(actor=cast.stan, rule=rule, name="垃圾分类示范户", points=5, cap=10, period="quarter",
                         reason="调整")
    rule.refresh_from_db()
    assert (rule.points, rule.period, rule.version) == (5, "quarter", 2)
    assert AuditEntry.objects.filter(action="points.point_rule.update", object_id=str(rule.pk)).exists()


# ------------------------------------------------------------------------------------------ the claim flow


def test_the_whole_claim_flow_with_each_capability(cast: Cast) -> None:
    sam = secretary(cast)
    rule = volunteer_rule(cast, points=8)
    claim = services.claim_file(actor=cast.bob, rule=rule, occurred_on=TODAY, description="为独居老人送餐")
    assert (claim.state, claim.channel, claim.person.name, claim.points) == ("declared", "self", "鲍勃", 8)
    # 采集: the grid worker of her grid (or the community); not 港北's worker, not the secretary, not herself.
    for outsider in (cast.charlie, sam, cast.bob):
        with pytest.raises(Forbidden):
            services.claim_step(actor=outsider, claim=claim, step="collect")
    with pytest.raises(NotFound):
        get_scoped(cast.charlie, PointClaim, claim.pk)
    claim = services.claim_step(actor=cast.gina, claim=claim, step="collect", note="经核实属实")
    assert claim.state == "collected" and claim.collected_by == cast.gina and claim.collect_note == "经核实属实"
    # 评定: the compound council (the secretary); the grid worker may not.
    for outsider in (cast.gina, cast.charlie, cast.bob):
        with pytest.raises(Forbidden):
            services.claim_step(actor=outsider, claim=claim, step="decide")
    with pytest.raises(InvalidInput) as exc:  # reducing the points needs the council's reason
        services.claim_step(actor=sam, claim=claim, step="decide", points=6)
    assert "note" in exc.value.fields
    with pytest.raises(InvalidInput) as exc:
        services.claim_step(actor=sam, claim=claim, step="decide", points=9)
    assert "points" in exc.value.fields
    claim = services.claim_step(actor=sam, claim=claim, step="decide", points=6, note="服务时间不足2小时，酌情核减")
    assert (claim.state, claim.points, claim.points_claimed) == ("decided", 6, 8)
    assert not PointEntry.objects.exists()  # nothing posted before 社区审核
    # 审核: the community (POINTS_APPROVE); neither the secretary nor the grid worker nor 港北.
    for outsider in (sam, cast.gina, cast.charlie):
        with pytest.raises(Forbidden):
            services.claim_step(actor=outsider, claim=claim, step="approve")
    claim = services.claim_step(actor=cast.alice, claim=claim, step="approve")
    assert claim.state == "approved" and claim.approved_by == cast.alice
    entry = PointEntry.objects.get()
    assert (entry.amount, entry.kind, entry.claim_id, entry.balance_after, entry.by) == (6, "earn", claim.pk, 6,
                                                                                         cast.alice)
    assert selectors.balance(person(cast.bob)) == 6
    with pytest.raises(Conflict):  # a second approval posts nothing more
        services.claim_step(actor=cast.alice, claim=claim, step="approve")
    actions = list(AuditEntry.objects.filter(object_type="points.pointclaim").order_by("id")
                   .values_list("action", flat=True))
    assert actions == ["points.claim.declare", "points.claim.collect", "points.claim.decide", "points.claim.approve"]


def test_an_information_officer_files_for_a_resident_and_it_is_collected_at_once(cast: Cast) -> None:
    rule = volunteer_rule(cast)
    bob = person(cast.bob)
    claim = services.claim_file(actor=cast.gina, person=bob, rule=rule, occurred_on=TODAY,
                                description="参加文明交通劝导", note="现场采集")
    assert (claim.state, claim.channel, claim.collect_note, claim.filed_by) == ("collected", "collector", "现场采集",
                                                                                cast.gina)
    with pytest.raises(Forbidden):
        services.claim_file(actor=cast.charlie, person=bob, rule=rule, occurred_on=TODAY, description="x")
    with pytest.raises(Forbidden):  # a staff account without a Person cannot declare for herself
        services.claim_file(actor=cast.alice, rule=rule, occurred_on=TODAY, description="x")


def test_claims_are_validated_field_by_field(cast: Cast) -> None:
    rule = volunteer_rule(cast)
    other = services.rule_create(actor=cast.charlie, area=cast.community2, name="港北志愿服务", points=5, cap=20)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"rule": other}, "rule"),
        ({"occurred_on": TODAY + dt.timedelta(days=1)}, "occurred_on"),
        ({"occurred_on": TODAY - dt.timedelta(days=400)}, "occurred_on"),
        ({"description": "  "}, "description"),
    ]
    for change, field in cases:
        args = {"rule": rule, "occurred_on": TODAY, "description": "参加志愿服务", **change}
        with pytest.raises(InvalidInput) as exc:
            services.claim_file(actor=cast.bob, **args)
        assert field in exc.value.fields, change
    services.claim_file(actor=cast.bob, rule=rule, occurred_on=TODAY, description="参加志愿服务")
    with pytest.raises(InvalidInput) as exc:  # the same deed twice
        services.claim_file(actor=cast.bob, rule=rule, occurred_on=TODAY, description="又一次")
    assert "occurred_on" in exc.value.fields
    services.rule_update(actor=cast.alice, rule=rule, name=rule.name, points=5, cap=20, period="month",
                         active=False)
    rule.refresh_from_db()
    with pytest.raises(InvalidInput):
        services.claim_file(actor=cast.bob, rule=rule, occurred_on=TODAY - dt.timedelta(days=1), description="x")
    assert PointClaim.objects.count() == 1


def test_refusals_at_each_step_need_a_reason_and_reach_the_resident(cast: Cast) -> None:
    rule = volunteer_rule(cast)
    refused = []
    for i, (walk, refusal) in enumerate([((), "refuse_collect"), (("collect",), "refuse_decide"),
                                         (("collect", "decide"), "refuse_approve")]):
        claim = services.claim_file(actor=cast.bob, rule=rule, occurred_on=TODAY - dt.timedelta(days=i),
                                    description="参加志愿服务")
        for step in walk:
            claim = services.claim_step(actor=worker(cast, step), claim=claim, step=step)
        with pytest.raises(InvalidInput) as exc:
            services.claim_step(actor=worker(cast, refusal), claim=claim, step=refusal, reason="  ")
        assert "reason" in exc.value.fields
        claim = services.claim_step(actor=worker(cast, refusal), claim=claim, step=refusal,
                                    reason=f"理由{i}：未见签到记录")
        assert (claim.state, claim.refused_step, claim.refuse_reason) == ("refused", refusal, f"理由{i}：未见签到记录")
        refused.append(claim)
    assert AuditEntry.objects.filter(action="points.claim.refuse_decide", reason="理由1：未见签到记录").exists()
    assert not PointEntry.objects.exists()
    page = logged_in(cast.bob).get("/points/").content.decode()
    assert "理由2：未见签到记录" in page and "未通过" in page
    # She may withdraw a claim nobody has collected yet, and only her own.
    claim = services.claim_file(actor=cast.bob, rule=rule, occurred_on=TODAY - dt.timedelta(days=5),
                                description="参加志愿服务")
    with pytest.raises(Forbidden):
        services.claim_step(actor=cast.gina, claim=claim, step="withdraw")
    assert services.claim_step(actor=cast.bob, claim=claim, step="withdraw").state == "withdrawn"


def test_the_cap_per_period_is_enforced_at_approval_and_explained(cast: Cast) -> None:
    rule = volunteer_rule(cast, points=5, cap=12, period="month")
    day = TODAY.replace(day=1)
    claims = [services.claim_file(actor=cast.bob, rule=rule, occurred_on=day + dt.timedelta(days=i),
                                  description="参加志愿服务") for i in range(3) if day + dt.timedelta(days=i) <= TODAY]
    if len(claims) < 3:  # early in the month: the deeds of last month's last days share last month's cap
        last = day - dt.timedelta(days=1)
        claims = [services.claim_file(actor=cast.bob, rule=rule, occurred_on=last - dt.timedelta(days=i),
                                      description="参加志愿服务") for i in range(3)]
    for c in claims:
        for step in ("collect", "decide"):
            services.claim_step(actor=worker(cast, step), claim=c, step=step)
    for c in claims[:2]:
        services.claim_step(actor=cast.stan, claim=PointClaim.objects.get(pk=c.pk), step="approve")
    third = PointClaim.objects.get(pk=claims[2].pk)
    with pytest.raises(InvalidInput) as exc:
        services.claim_step(actor=cast.stan, claim=third, step="approve")
    message = exc.value.fields["points"][0]
    assert "最多12分" in message and "已获得10分" in message and "还可获得2分" in message, message
    assert PointClaim.objects.get(pk=third.pk).state == "decided"  # nothing half-written
    third = services.claim_step(actor=cast.stan, claim=third, step="approve", points=2)
    assert third.points == 2 and selectors.balance(person(cast.bob)) == 12
    # Next period starts afresh; a deed of a past period counts against that period.
    other = services.claim_file(actor=cast.bob, rule=rule, occurred_on=claims[0].occurred_on - dt.timedelta(days=40),
                                description="参加志愿服务")
    for step in ("collect", "decide", "approve"):
        other = services.claim_step(actor=worker(cast, step), claim=other, step=step)
    assert other.state == "approved" and selectors.balance(person(cast.bob)) == 17


# ------------------------------------------------------------------------------------------ the ledger


def test_the_ledger_is_append_only_and_the_balance_is_its_sum(cast: Cast) -> None:
    rule = volunteer_rule(cast, points=20, cap=100)
    bob = person(cast.bob)
    claim = approved(cast, rule, cast.bob)
    item = store_item(cast, price=15, stock=3)
    r = services.redeem(actor=cast.bob, item=item)
    services.redemption_step(actor=cast.bob, redemption=r, step="cancel")
    services.redeem(actor=cast.bob, item=item, quantity=1)
    services.entry_correct(actor=cast.alice, person=bob, amount=-3, reason="重复计分更正", claim=claim)
    with pytest.raises(InvalidInput) as exc:  # a correction never overdraws
        services.entry_correct(actor=cast.alice, person=bob, amount=-100, reason="x")
    assert "amount" in exc.value.fields and "当前余额2分" in exc.value.fields["amount"][0]
    with pytest.raises(InvalidInput) as exc:
        services.entry_correct(actor=cast.alice, person=bob, amount=5, reason="")
    assert "reason" in exc.value.fields
    with pytest.raises(Forbidden):
        services.entry_correct(actor=cast.gina, person=bob, amount=5, reason="x")
    kinds = list(PointEntry.objects.filter(person=bob).order_by("pk").values_list("kind", "amount", "balance_after"))
    assert kinds == [("earn", 20, 20), ("spend", -15, 5), ("refund", 15, 20), ("spend", -15, 5),
                     ("correct", -3, 2)]
    account = PointAccount.objects.get(person=bob)
    assert account.balance == ledger_sum(bob) == 2 and account.earned == 20 and account.spent == 15
    # Append-only: no entry is changed or removed, one by one or in bulk.
    entry = PointEntry.objects.first()
    assert entry is not None
    entry.amount = 999
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        PointEntry.objects.filter(person=bob).update(amount=1)
    with pytest.raises(TypeError):
        PointEntry.objects.filter(person=bob).delete()
    assert ledger_sum(bob) == 2
    # …and the write path never asks to.
    source = inspect.getsource(services)
    assert not re.search(r"PointEntry[^\n]*\.(update|delete|bulk_update)\(", source) and ".delete(" not in source


def test_the_balance_cannot_go_below_zero_even_by_mistake(cast: Cast) -> None:
    from django.db import IntegrityError, transaction

    give(person(cast.bob), 5)
    with pytest.raises(IntegrityError), transaction.atomic():
        PointAccount.objects.filter(person=person(cast.bob)).update(balance=-1)


# ------------------------------------------------------------------------------------------ the store


def test_redemptions_take_stock_and_points_or_nothing(cast: Cast) -> None:
    bob = person(cast.bob)
    give(bob, 70)
    item = store_item(cast, price=30, stock=2)
    with pytest.raises(Forbidden):
        services.item_create(actor=cast.gina, area=cast.community, name="毛巾", price=10)
    with pytest.raises(Conflict) as conflict:  # more than in stock
        services.redeem(actor=cast.bob, item=item, quantity=3)
    assert "仅剩2件" in conflict.value.message
    r = services.redeem(actor=cast.bob, item=item, quantity=2)
    assert (r.points, r.state, r.channel) == (60, "redeemed", "self")
    item.refresh_from_db()
    assert item.stock == 0 and selectors.balance(bob) == 10
    services.item_restock(actor=cast.alice, item=item, change=5, reason="补货")
    item.refresh_from_db()
    with pytest.raises(InvalidInput) as exc:
        services.redeem(actor=cast.bob, item=item)
    assert "quantity" in exc.value.fields and "当前余额10分" in exc.value.fields["quantity"][0]
    item.refresh_from_db()
    assert item.stock == 5 and selectors.balance(bob) == 10  # the stock taken first was given back
    with pytest.raises(InvalidInput) as exc:
        services.item_restock(actor=cast.alice, item=item, change=-6, reason="盘亏")
    assert "change" in exc.value.fields
    with pytest.raises(InvalidInput) as exc:
        services.item_restock(actor=cast.alice, item=item, change=-1)
    assert "reason" in exc.value.fields
    # The counter: staff redeem for her; they say why when they cancel for her; hand-over by staff only.
    give(bob, 50)
    at_counter = services.redeem(actor=cast.alice, item=item, person=bob)
    assert at_counter.channel == "counter" and at_counter.by == cast.alice
    with pytest.raises(Forbidden):
        services.redemption_step(actor=cast.bob, redemption=at_counter, step="hand_over")
    with pytest.raises(InvalidInput) as exc:
        services.redemption_step(actor=cast.alice, redemption=at_counter, step="cancel")
    assert "reason" in exc.value.fields
    services.redemption_step(actor=cast.alice, redemption=r, step="hand_over")
    with pytest.raises(Conflict):  # handed over: no longer cancellable
        services.redemption_step(actor=cast.bob, redemption=Redemption.objects.get(pk=r.pk), step="cancel")
    services.redemption_step(actor=cast.alice, redemption=at_counter, step="cancel", reason="居民改换其他商品")
    item.refresh_from_db()
    assert item.stock == 5 and selectors.balance(bob) == ledger_sum(bob) == 60
    with pytest.raises(Forbidden):  # 港北's worker is not 碧海's store
        services.redeem(actor=cast.charlie, item=item, person=bob)
    gangbei = services.item_create(actor=cast.charlie, area=cast.community2, name="毛巾", price=5, stock=5)
    with pytest.raises(InvalidInput) as exc:
        services.redeem(actor=cast.bob, item=gangbei)
    assert "item" in exc.value.fields
    services.item_update(actor=cast.alice, item=item, name=item.name, price=item.price, active=False)
    with pytest.raises(InvalidInput):
        services.redeem(actor=cast.bob, item=StoreItem.objects.get(pk=item.pk))


def _race(users: list[Any], go: Any) -> list[str]:
    results: list[str] = []
    barrier = threading.Barrier(len(users))

    def run(user: Any, i: int) -> None:
        barrier.wait()
        try:
            go(user, i)
            results.append("ok")
        except DomainError:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(u, i)) for i, u in enumerate(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(results)


@pytest.mark.django_db(transaction=True)
def test_two_residents_racing_for_the_last_item_exactly_one_wins() -> None:
    cast = build_cast()
    rita = resident(cast, "rita")
    for u in (cast.bob, rita):
        give(person(u), 50)
    item = services.item_create(actor=cast.alice, area=cast.community, name="大米（5kg）", price=40, stock=1)

    def go(user: Any, _i: int) -> None:
        services.redeem(actor=user, item=StoreItem.objects.get(pk=item.pk))

    assert _race([cast.bob, rita], go) == ["ok", "refused"]
    assert StoreItem.objects.get(pk=item.pk).stock == 0 and Redemption.objects.count() == 1
    balances = sorted(PointAccount.objects.values_list("balance", flat=True))
    assert balances == [10, 50]
    for u in (cast.bob, rita):
        assert PointAccount.objects.get(person=person(u)).balance == ledger_sum(person(u))


@pytest.mark.django_db(transaction=True)
def test_two_redemptions_racing_for_the_last_points_exactly_one_wins() -> None:
    cast = build_cast()
    bob = person(cast.bob)
    give(bob, 30)
    rice = services.item_create(actor=cast.alice, area=cast.community, name="大米（5kg）", price=30, stock=5)
    oil = services.item_create(actor=cast.alice, area=cast.community, name="食用油", price=30, stock=5)

    def go(user: Any, i: int) -> None:
        # One from her phone, one at the counter for her, at the same moment.
        services.redeem(actor=user, item=StoreItem.objects.get(pk=(rice, oil)[i].pk),
                        person=None if i == 0 else bob)

    assert _race([cast.bob, cast.alice], go) == ["ok", "refused"]
    assert PointAccount.objects.get(person=bob).balance == 0 == ledger_sum(bob)
    assert Redemption.objects.count() == 1
    assert sorted(StoreItem.objects.values_list("stock", flat=True)) == [4, 5]  # the loser's stock came back


@pytest.mark.django_db(transaction=True)
def test_two_approvals_racing_against_the_cap_exactly_one_posts() -> None:
    cast = build_cast()
    alice2 = accounts.user_create(actor=None, username="alice2", password=cast.password)
    accounts.grant_role(actor=None, user=alice2, role="community_worker", area=cast.community)
    rule = services.rule_create(actor=cast.alice, area=cast.community, name="调解邻里纠纷", points=8, cap=8,
                                period="year")
    claims = []
    for i in range(2):
        c = services.claim_file(actor=cast.bob, rule=rule, occurred_on=TODAY - dt.timedelta(days=i),
                                description="调解楼上楼下漏水纠纷")
        for step in ("collect", "decide"):
            c = services.claim_step(actor=worker(cast, step), claim=c, step=step)
        claims.append(c)
    if TODAY.timetuple().tm_yday == 1:  # 1 January: yesterday's deed is last year's
        pytest.skip("both deeds must fall in one year")

    def go(user: Any, i: int) -> None:
        services.claim_step(actor=user, claim=PointClaim.objects.get(pk=claims[i].pk), step="approve")

    assert _race([cast.stan, alice2], go) == ["ok", "refused"]
    assert PointAccount.objects.get(person=person(cast.bob)).balance == 8 == ledger_sum(person(cast.bob))


# ------------------------------------------------------------------------------------------ the API


def test_the_api_runs_the_flow_and_names_the_field_in_errors(cast: Cast) -> None:
    sam = secretary(cast)
    bob, gina, sam_api, alice, charlie = Api(cast.bob), Api(cast.gina), Api(sam), Api(cast.alice), Api(cast.charlie)
    r = alice.post("/points/rules", {"area_id": cast.community.pk, "name": "参加志愿服务", "points": 5, "cap": 20,
                                     "period": "month"})
    assert r.status_code == 201, r.content
    rule_id = r.json()["id"]
    r = alice.post("/points/rules", {"area_id": cast.community.pk, "name": "超额", "points": 50, "cap": 10})
    assert r.status_code == 400 and "cap" in r.json()["error"]["fields"]
    assert [x["name"] for x in bob.get("/points/rules").json()["items"]] == ["参加志愿服务"]
    r = bob.post("/points/claims", {"rule_id": 999999, "occurred_on": TODAY.isoformat(), "description": "x"})
    assert r.status_code == 400 and "rule_id" in r.json()["error"]["fields"]
    r = bob.post("/points/claims", {"rule_id": rule_id, "occurred_on": (TODAY + dt.timedelta(days=2)).isoformat(),
                                    "description": "x"})
    assert r.status_code == 400 and "occurred_on" in r.json()["error"]["fields"]
    r = bob.post("/points/claims", {"rule_id": rule_id, "occurred_on": TODAY.isoformat(),
                                    "description": "参加社区环境整治"})
    assert r.status_code == 201, r.content
    claim = r.json()
    assert claim["state"] == "declared" and claim["steps"] == ["withdraw"]
    cid = claim["id"]
    assert charlie.get(f"/points/claims/{cid}").status_code == 404
    assert [c["id"] for c in gina.get("/points/claims?queue=collect").json()["items"]] == [cid]
    r = gina.post(f"/points/claims/{cid}/steps", {"step": "refuse_collect", "version": 1})
    assert r.status_code == 400 and "reason" in r.json()["error"]["fields"]
    r = gina.post(f"/points/claims/{cid}/steps", {"step": "collect", "note": "属实", "version": 1})
    assert r.status_code == 200 and r.json()["state"] == "collected"
    assert gina.post(f"/points/claims/{cid}/steps", {"step": "collect", "version": 1}).status_code == 409
    assert gina.post(f"/points/claims/{cid}/steps", {"step": "decide"}).status_code == 403
    r = sam_api.post(f"/points/claims/{cid}/steps", {"step": "decide", "version": 2})
    assert r.status_code == 200 and r.json()["state"] == "decided"
    r = alice.post(f"/points/claims/{cid}/steps", {"step": "approve", "version": 3})
    assert r.status_code == 200 and r.json()["state"] == "approved"
    me = bob.get("/points/me").json()
    assert me["balance"] == 5 and me["entries"][0]["kind"] == "earn" and me["entries"][0]["amount"] == 5
    assert alice.get("/points/me").status_code == 404  # no resident behind the account
    # The store.
    r = alice.post("/points/store/items", {"area_id": cast.community.pk, "name": "毛巾", "price": 5, "stock": 1})
    assert r.status_code == 201, r.content
    item_id = r.json()["id"]
    r = gina.post("/points/store/items", {"area_id": cast.community.pk, "name": "x", "price": 5})
    assert r.status_code == 400 and "area_id" in r.json()["error"]["fields"]  # not an area she sees
    assert bob.post("/points/store/items", {"area_id": cast.community.pk, "name": "x", "price": 5}).status_code == 403
    assert [i["name"] for i in bob.get("/points/store/items").json()["items"]] == ["毛巾"]
    r = bob.post("/points/redemptions", {"item_id": item_id, "quantity": 11})
    assert r.status_code == 400 and "quantity" in r.json()["error"]["fields"]
    r = bob.post("/points/redemptions", {"item_id": item_id})
    assert r.status_code == 201 and r.json()["points"] == 5 and r.json()["steps"] == ["cancel"]
    rid = r.json()["id"]
    assert bob.post("/points/redemptions", {"item_id": item_id}).status_code == 409  # sold out
    r = alice.post(f"/points/store/items/{item_id}/stock", {"change": -1})
    assert r.status_code == 400 and "reason" in r.json()["error"]["fields"]
    assert alice.post(f"/points/store/items/{item_id}/stock", {"change": 3, "reason": "补货"}).json()["stock"] == 3
    r = alice.post(f"/points/redemptions/{rid}/steps", {"step": "hand_over"})
    assert r.status_code == 200 and r.json()["state"] == "handed_over"
    assert bob.get("/points/me").json()["balance"] == 0
    r = alice.post("/points/corrections", {"person_id": person(cast.bob).pk, "amount": -1, "reason": "x"})
    assert r.status_code == 400 and "amount" in r.json()["error"]["fields"]
    r = alice.post("/points/corrections", {"person_id": person(cast.bob).pk, "amount": 3, "reason": "补记"})
    assert r.status_code == 201 and r.json()["balance_after"] == 3
    r = charlie.post("/points/corrections", {"person_id": person(cast.bob).pk, "amount": 3, "reason": "补记"})
    assert r.status_code == 400 and "person_id" in r.json()["error"]["fields"]
    r = alice.put(f"/points/rules/{rule_id}", {"name": "参加志愿服务", "points": 6, "cap": 20, "period": "month",
                                              "version": 1})
    assert r.status_code == 200 and r.json()["points"] == 6
    assert alice.put(f"/points/rules/{rule_id}", {"name": "参加志愿服务", "points": 6, "cap": 20,
                                                 "period": "month", "version": 1}).status_code == 409
    r = alice.put(f"/points/store/items/{item_id}", {"name": "毛巾", "price": 8, "version": 1})
    assert r.status_code == 200 and r.json()["price"] == 8
    assert len(alice.get("/points/redemptions").json()["items"]) == 1
    assert bob.get("/points/redemptions?mine=true").json()["items"][0]["state"] == "handed_over"
    f = alice.get(f"/points/figures?area_id={cast.community.pk}").json()
    assert f["total"]["earned"] == 5 and f["top"][0]["name"] == "鲍*"
    assert bob.get(f"/points/figures?area_id={cast.community.pk}").status_code == 404
    # keyset pagination
    page = bob.get("/points/me?limit=1").json()
    assert len(page["entries"]) == 1 and page["next"] is not None
    assert bob.get("/points/me?limit=500").status_code == 400


# ------------------------------------------------------------------------------------------ the pages


PAGES = {
    "/points/": ("bob",),
    "/points/queue/": ("alice", "gina", "sam", "stan"),
    "/points/rules/": ("alice", "gina", "sam", "stan"),
    "/points/store/": ("alice", "stan"),
    "/points/figures/": ("alice", "stan"),
}


def test_each_page_is_there_for_its_roles_only(cast: Cast) -> None:
    users = {"bob": cast.bob, "alice": cast.alice, "gina": cast.gina, "sam": secretary(cast), "stan": cast.stan}
    for url, allowed in PAGES.items():
        assert Client().get(url).status_code == 302, url  # to the login page
        for name, user in users.items():
            status = logged_in(user).get(url).status_code
            assert status == (200 if name in allowed else 404), (url, name, status)


def test_the_pages_run_the_flow(cast: Cast) -> None:
    sam = secretary(cast)
    rule = volunteer_rule(cast)
    bob = logged_in(cast.bob)
    page = bob.get("/points/").content.decode()
    assert 'id="balance">0<' in page and "参加志愿服务（5分）" in page
    r = bob.post("/points/", {"rule": rule.pk, "occurred_on": TODAY.isoformat(), "description": ""})
    assert r.status_code == 400 and 'id="error-description"' in r.content.decode()
    r = bob.post("/points/", {"rule": rule.pk, "occurred_on": TODAY.isoformat(), "description": "清理楼道堆物"})
    assert r.status_code == 302
    claim = PointClaim.objects.get()
    gina = logged_in(cast.gina)
    assert f'id="claim-{claim.pk}"' in gina.get("/points/queue/").content.decode()
    r = gina.post(f"/points/claims/{claim.pk}/step/", {"step": "collect", "text": "属实", "version": 1,
                                                      "next": "/points/queue/"})
    assert r.status_code == 302 and PointClaim.objects.get().state == "collected"
    sam_client = logged_in(sam)
    r = sam_client.post(f"/points/claims/{claim.pk}/step/", {"step": "refuse_decide", "text": "", "version": 2})
    assert PointClaim.objects.get().state == "collected"  # no reason: refused to refuse
    assert "请填写理由" in sam_client.get("/points/queue/").content.decode()
    sam_client.post(f"/points/claims/{claim.pk}/step/", {"step": "decide", "points": 4, "text": "时间较短",
                                                         "version": 2})
    assert PointClaim.objects.get().points == 4
    alice = logged_in(cast.alice)
    queue = alice.get("/points/queue/").content.decode()
    assert f'id="allowance-{claim.pk}"' in queue and "上限 20 分" in queue
    alice.post(f"/points/claims/{claim.pk}/step/", {"step": "approve", "version": 3})
    assert PointClaim.objects.get().state == "approved"
    assert 'id="balance">4<' in bob.get("/points/").content.decode()
    # The store page: add an item, restock, the counter, the resident redeems, staff hand over.
    r = alice.post("/points/store/items/new/", {"item-area": cast.community.pk, "item-name": "毛巾",
                                               "item-price": 3, "item-stock": 2})
    assert r.status_code == 302
    item = StoreItem.objects.get()
    r = alice.post(f"/points/store/items/{item.pk}/restock/", {f"s{item.pk}-change": -5, f"s{item.pk}-reason": "x"})
    assert r.status_code == 400 and "库存不能少于0" in r.content.decode()
    assert f'action="/points/items/{item.pk}/redeem/"' in bob.get("/points/").content.decode()
    bob.post(f"/points/items/{item.pk}/redeem/", {"quantity": 1})
    red = Redemption.objects.get()
    assert red.points == 3 and 'id="balance">1<' in bob.get("/points/").content.decode()
    store = alice.get("/points/store/").content.decode()
    assert f'id="redemption-{red.pk}"' in store
    alice.post(f"/points/redemptions/{red.pk}/step/", {"step": "hand_over", "version": 1})
    assert Redemption.objects.get().state == "handed_over"
    r = alice.post("/points/store/counter/", {"counter-person": person(cast.bob).pk, "counter-item": item.pk,
                                              "counter-quantity": 1})
    assert r.status_code == 400 and "积分不足" in r.content.decode()
    r = alice.post(f"/points/people/{person(cast.bob).pk}/", {"amount": 10, "reason": "补记志愿服务"})
    assert r.status_code == 302 and selectors.balance(person(cast.bob)) == 11
    r = alice.post("/points/store/counter/", {"counter-person": person(cast.bob).pk, "counter-item": item.pk,
                                              "counter-quantity": 1})
    assert r.status_code == 302 and Redemption.objects.count() == 2
    assert logged_in(cast.gina).get(f"/points/people/{person(cast.bob).pk}/").status_code == 200
    assert logged_in(cast.charlie).get(f"/points/people/{person(cast.bob).pk}/").status_code == 404
    # Rules page: a new rule, an edit.
    r = alice.post("/points/rules/", {"area": cast.community.pk, "name": "垃圾分类示范户", "points": 10,
                                      "period": "month", "cap": 10})
    assert r.status_code == 302 and PointRule.objects.count() == 2
    r = alice.post(f"/points/rules/{rule.pk}/edit/", {"name": "参加志愿服务", "points": 6, "period": "month",
                                                      "cap": 4, "version": 1})
    assert r.status_code == 200 and 'id="error-cap"' in r.content.decode()
    # Figures: earned and spent per community, the top earners masked.
    fig = alice.get("/points/figures/").content.decode()
    assert "鲍*" in fig and "鲍勃" not in fig and 'id="kpi-earned"' in fig
    assert logged_in(cast.stan).get(f"/points/figures/?area={cast.street.pk}").status_code == 200
    assert alice.get("/points/figures/?start=bad").status_code == 400


# ------------------------------------------------------------------------------------------ the demo


def test_the_demo_builds_a_consistent_half_year(cast: Cast) -> None:
    counts = demo.load(size="small", seed=1, today=TODAY, progress=lambda *a: None)
    assert counts["point_rules"] > 0 and counts["point_claims"] > 0
    assert PointRule.objects.filter(area=cast.street).count() == 2
    assert StoreItem.objects.filter(area=cast.community).count() == len(demo.ITEMS)
    for account in PointAccount.objects.all():
        assert account.balance == ledger_sum(account.person) >= 0
        running = list(PointEntry.objects.filter(person=account.person).order_by("at", "pk")
                       .values_list("amount", "balance_after"))
        total = 0
        for amount, after in running:
            total += amount
            assert after == total
    assert all(i.stock >= 0 for i in StoreItem.objects.all())
    bob_claims = PointClaim.objects.filter(person=person(cast.bob))
    assert bob_claims.count() >= 4
    earned = {kind for kind in PointEntry.objects.values_list("kind", flat=True)}
    assert EntryKind.EARN in earned
    first = sorted(PointClaim.objects.values_list("occurred_on", "state", "points"))
    PointEntry.objects.all()._raw_delete(PointEntry.objects.db)  # type: ignore[attr-defined]
    for model in (PointAccount, Redemption, PointClaim, StoreItem, PointRule):
        model.objects.all().delete()
    demo.load(size="small", seed=1, today=TODAY, progress=lambda *a: None)
    assert sorted(PointClaim.objects.values_list("occurred_on", "state", "points")) == first  # deterministic


def test_four_eyes_nobody_takes_two_steps_of_one_claim_or_checks_her_own(cast: Cast) -> None:
    rule = volunteer_rule(cast)
    claim = services.claim_file(actor=cast.bob, rule=rule, occurred_on=TODAY, description="参加志愿服务")
    claim = services.claim_step(actor=cast.alice, claim=claim, step="collect")
    assert [t.name for t in services.claim_steps(cast.alice, claim)] == []  # she holds DECIDE and APPROVE too
    with pytest.raises(Forbidden):
        services.claim_step(actor=cast.alice, claim=claim, step="decide")
    claim = services.claim_step(actor=secretary(cast), claim=claim, step="decide")
    with pytest.raises(Forbidden):
        services.claim_step(actor=cast.alice, claim=claim, step="approve")
    assert services.claim_step(actor=cast.stan, claim=claim, step="approve").state == "approved"
    # A community worker who is also a resident files her own claim; only others check it.
    registry.person_create(actor=None, area=cast.building, name="艾丽斯", user=cast.alice)
    forget_scope()
    alice = type(cast.alice).objects.get(pk=cast.alice.pk)  # a fresh account object: the person is hers now
    own = services.claim_file(actor=alice, rule=rule, occurred_on=TODAY - dt.timedelta(days=1),
                              description="参加志愿服务")
    assert own.channel == "self"
    with pytest.raises(Forbidden):
        services.claim_step(actor=alice, claim=own, step="collect")
    assert services.claim_step(actor=cast.gina, claim=own, step="collect").state == "collected"
