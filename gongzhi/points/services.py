"""The write path of credit points (信用积分). Every function is keyword-only, atomic and audited, checks the actor's
capability on the area and validates before it writes.

- Rules: ``POINTS_APPROVE`` on the rule's area (a community or above).
- Claims: the resident declares her own (she needs a Person), or an information officer (``POINTS_COLLECT`` on her
  area) files one for her, which is collected at once; then 评定 (``POINTS_DECIDE``) and 审核 (``POINTS_APPROVE``),
  which posts the points. The cap per period is enforced at approval.
- The ledger: :func:`_post` is the only writer of :class:`PointEntry` and :class:`PointAccount`. It moves the balance
  by one conditional UPDATE (``balance >= amount`` for a spend) in the caller's transaction and appends the entry;
  nothing updates or deletes an entry — a correction (:func:`entry_correct`) is a new entry with its reason.
- The store: items and stock (``POINTS_STORE`` on the community); a redemption takes the stock and the points with
  one conditional UPDATE each in one atomic block, so of two racing for the last item or the last points exactly
  one wins; a cancelled redemption gives both back with a refund entry.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.accounts.roles import Cap
from gongzhi.core import audit
from gongzhi.core.errors import Conflict, Forbidden, InvalidInput
from gongzhi.core.permissions import require
from gongzhi.core.scope import as_scope
from gongzhi.core.validators import text_in as _text
from gongzhi.core.validators import whole_number as _int
from gongzhi.core.workflow import Transition
from gongzhi.core.writes import apply_changes, validate
from gongzhi.registry.models import Area, AreaKind, Person

from .models import (
    MAX_POINTS,
    MAX_QUANTITY,
    Channel,
    EntryKind,
    Period,
    PointAccount,
    PointClaim,
    PointEntry,
    PointRule,
    Redemption,
    StoreItem,
    period_bounds,
)
from .workflow import (
    CLAIM,
    COLLECTOR,
    COMMUNITY,
    COUNCIL,
    OWNER,
    REDEMPTION,
    REFUSALS,
    STORE,
    ClaimState,
)

RULE_KINDS = (AreaKind.COMMUNITY, AreaKind.STREET, AreaKind.DISTRICT, AreaKind.CITY)
MAX_CORRECTION = 10_000
CLAIM_WINDOW_DAYS = 366  # a deed is claimed within a year
RULE_FIELDS = ["name", "description", "points", "period", "cap", "active"]
ITEM_FIELDS = ["name", "description", "price", "active"]
STEP_CAPS = {COLLECTOR: Cap.POINTS_COLLECT, COUNCIL: Cap.POINTS_DECIDE, COMMUNITY: Cap.POINTS_APPROVE}


# ------------------------------------------------------------------------------------------ helpers


def person_of(actor: Any) -> int | None:
    return None if actor is None else as_scope(actor).person_id


def _account(person: Person) -> PointAccount:
    """The person's account, created at her first entry (of two creating it at once, one inserts, one reads)."""
    account = PointAccount.objects.filter(person_id=person.pk).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return PointAccount.objects.create(person=person, area_path=person.area.path)
    except IntegrityError:
        return PointAccount.objects.get(person_id=person.pk)


def _post(*, person: Person, amount: int, kind: str, by: Any, note: str = "", claim: PointClaim | None = None,
          redemption: Redemption | None = None, field: str = "amount") -> PointEntry:
    """Move the balance and append the entry, in the caller's transaction. A negative amount is taken only while
    the balance covers it (one conditional UPDATE: of two spends racing for the last points, one wins)."""
    if amount == 0:
        raise InvalidInput.on(field, _("积分不能为0"))
    account = _account(person)
    moves: dict[str, Any] = {"balance": F("balance") + amount, "updated_at": timezone.now(),
                             "area_path": person.area.path}
    if kind == EntryKind.EARN:
        moves["earned"] = F("earned") + amount
    elif kind in (EntryKind.SPEND, EntryKind.REFUND):
        moves["spent"] = F("spent") - amount
    rows = PointAccount.objects.filter(pk=account.pk)
    if amount < 0:
        rows = rows.filter(balance__gte=-amount)
    if rows.update(**moves) != 1:
        balance = PointAccount.objects.filter(pk=account.pk).values_list("balance", flat=True).get()
        raise InvalidInput.on(field, _("积分不足：当前余额{balance}分，需要{need}分").format(
            balance=balance, need=-amount))
    balance_after = PointAccount.objects.filter(pk=account.pk).values_list("balance", flat=True).get()
    entry = PointEntry(person=person, area_path=person.area.path, amount=amount, kind=kind,
                       balance_after=balance_after, claim=claim, redemption=redemption,
                       by=by if getattr(by, "pk", None) else None, note=note[:200])
    entry.save()
    return entry


def _person(person: Person) -> Person:
    return Person.objects.select_related("area").get(pk=person.pk)


# ------------------------------------------------------------------------------------------ rules


def _check_rule(area: Area, points: Any, cap: Any, period: str) -> tuple[int, int]:
    if area.kind not in RULE_KINDS:
        raise InvalidInput.on("area", _("积分项目须设在社区或以上"))
    points = _int(points, "points", 1, MAX_POINTS)
    cap = _int(cap, "cap", 1, 100_000)
    if period not in Period.values:
        raise InvalidInput.on("period", _("请选择上限周期"))
    if cap < points:
        raise InvalidInput.on("cap", _("每期上限不能少于每次积分（{n}分）").format(n=points))
    return points, cap


@transaction.atomic
def rule_create(*, actor: Any, area: Area, name: str, points: int, cap: int, period: str = Period.MONTH,
                description: str = "") -> PointRule:
    """积分项目: what earns points in a community (or in every community of a street, district or city)."""
    require(actor, Cap.POINTS_APPROVE, area_path=area.path)
    points, cap = _check_rule(area, points, cap, period)
    name = _text(name, "name", 60, required=True, message=_("请填写积分项目名称"))
    if PointRule.objects.filter(area=area, name=name).exists():
        raise InvalidInput.on("name", _("本区域已有同名积分项目"))
    rule = PointRule(area=area, area_path=area.path, name=name, points=points, cap=cap, period=period,
                     description=_text(description, "description", 300))
    validate(rule, exclude=["area"])
    rule.save()
    audit.record(actor=actor, action="points.point_rule.create", obj=rule, after=audit.snapshot(rule, RULE_FIELDS))
    return rule


@transaction.atomic
def rule_update(*, actor: Any, rule: PointRule, name: str, points: int, cap: int, period: str,
                description: str = "", active: bool = True, reason: str = "",
                expected_version: int | None = None) -> PointRule:
    """Change a rule; claims already filed keep the points they were filed with."""
    require(actor, Cap.POINTS_APPROVE, area_path=rule.area_path)
    points, cap = _check_rule(rule.area, points, cap, period)
    name = _text(name, "name", 60, required=True, message=_("请填写积分项目名称"))
    if PointRule.objects.filter(area_id=rule.area_id, name=name).exclude(pk=rule.pk).exists():
        raise InvalidInput.on("name", _("本区域已有同名积分项目"))
    changes = {"name": name, "points": points, "cap": cap, "period": period,
               "description": _text(description, "description", 300), "active": bool(active)}
    return apply_changes(actor=actor, obj=rule, changes=changes, allowed=changes, action="points.point_rule.update",
                         reason=_text(reason, "reason", 200), exclude_validation=["area"],
                         expected_version=expected_version)


# ------------------------------------------------------------------------------------------ claims


def rule_applies(rule: PointRule, person: Person) -> bool:
    return rule.active and person.area.path.startswith(rule.area_path)


@transaction.atomic
def claim_file(*, actor: Any, rule: PointRule, occurred_on: dt.date, description: str, person: Person | None = None,
               note: str = "", today: dt.date | None = None) -> PointClaim:
    """居民主动申报 (``person`` left out or herself), or 信息员采集 for her: a claim filed by an information officer
    for a resident is collected at once, with her note."""
    own = person_of(actor)
    if person is None:
        if own is None:
            raise Forbidden(_("请先完成居民身份登记后再申报积分"))
        person = Person.objects.get(pk=own)
    person = _person(person)
    by_herself = actor is not None and own == person.pk
    if not by_herself:
        require(actor, Cap.POINTS_COLLECT, area_path=person.area.path)
    if not rule_applies(rule, person):
        raise InvalidInput.on("rule", _("该积分项目不适用于该居民所在社区"))
    today = today or timezone.localdate()
    if occurred_on is None:
        raise InvalidInput.on("occurred_on", _("请填写发生日期"))
    if occurred_on > today:
        raise InvalidInput.on("occurred_on", _("发生日期不能晚于今天"))
    if occurred_on < today - dt.timedelta(days=CLAIM_WINDOW_DAYS):
        raise InvalidInput.on("occurred_on", _("只能申报一年内的事项"))
    description = _text(description, "description", 500, required=True, message=_("请写明事由"))
    note = _text(note, "note", 500)
    if PointClaim.objects.filter(person=person, rule=rule, occurred_on=occurred_on).exclude(
            state__in=[ClaimState.REFUSED, ClaimState.WITHDRAWN]).exists():
        raise InvalidInput.on("occurred_on", _("该日期已申报过这一积分项目"))
    claim = PointClaim(person=person, rule=rule, area=person.area, area_path=person.area.path,
                       occurred_on=occurred_on, description=description, points_claimed=rule.points,
                       points=rule.points, channel=Channel.SELF if by_herself else Channel.COLLECTOR,
                       filed_by=actor if getattr(actor, "pk", None) else None)
    validate(claim, exclude=["person", "rule", "area", "filed_by"])
    claim.save()
    audit.record(actor=actor, action="points.claim.declare", obj=claim,
                 after={"person": person.pk, "rule": rule.pk, "occurred_on": occurred_on.isoformat(),
                        "points": claim.points, "channel": claim.channel})
    if not by_herself:
        claim = claim_step(actor=actor, claim=claim, step="collect", note=note)
    return claim


def claim_roles(actor: Any, claim: PointClaim) -> set[str]:
    """Which of the table's actors the caller is for this claim."""
    if actor is None:
        return {OWNER, COLLECTOR, COUNCIL, COMMUNITY}
    scope = as_scope(actor)
    roles = {kind for kind, cap in STEP_CAPS.items() if scope.can(cap, area_path=claim.area_path)}
    if scope.person_id is not None and scope.person_id == claim.person_id:
        # Nobody checks her own claim: a worker who is also a resident only files and withdraws.
        return {OWNER}
    # Four eyes at each step: who collected a claim does not decide it, and neither of them approves it.
    if scope.user_id is not None and scope.user_id == claim.collected_by_id:
        roles -= {COUNCIL, COMMUNITY}
    if scope.user_id is not None and scope.user_id == claim.decided_by_id:
        roles.discard(COMMUNITY)
    return roles


def claim_steps(actor: Any, claim: PointClaim) -> list[Transition]:
    """The steps the caller may take on the claim now (the page's buttons)."""
    return CLAIM.available(claim.state, actors=claim_roles(actor, claim))


def earned_in_period(claim: PointClaim) -> tuple[int, dt.date, dt.date]:
    """Points the resident already has from the claim's rule in the period of its deed (corrections against those
    claims included)."""
    start, end = period_bounds(claim.rule.period, claim.occurred_on)
    total = PointEntry.objects.filter(person_id=claim.person_id, claim__rule_id=claim.rule_id,
                                      claim__occurred_on__range=(start, end)).aggregate(n=Sum("amount"))["n"]
    return int(total or 0), start, end


@transaction.atomic
def claim_step(*, actor: Any, claim: PointClaim, step: str, note: str = "", reason: str = "",
               points: int | None = None, expected_version: int | None = None) -> PointClaim:
    """One step of the declared table: 采集确认, 议事会评定 (may reduce the points, saying why), 社区审核 (posts
    the points within the rule's cap per period), a refusal at any of them (with its reason), or the resident's
    withdrawal of a claim nobody has collected yet."""
    roles = claim_roles(actor, claim)

    def authorise(t: Transition) -> None:
        if not roles & t.actors:
            raise Forbidden(_("您没有权限执行此操作"))

    t, version, reason = CLAIM.check(claim, step, expected_version=expected_version, reason=reason,
                                     authorise=authorise)
    note = _text(note, "note", 500)
    reason = _text(reason, "reason", 500)
    now = timezone.now()
    user = actor if getattr(actor, "pk", None) else None
    changes: dict[str, Any] = {}
    then: list[Any] = []
    if step == "collect":
        changes = {"collect_note": note, "collected_by": user, "collected_at": now}
    elif step == "decide":
        awarded = claim.points if points is None else _int(points, "points", 1, claim.points_claimed)
        if awarded < claim.points_claimed and not note:
            raise InvalidInput.on("note", _("核减积分时请写明评定意见"))
        changes = {"points": awarded, "decide_note": note, "decided_by": user, "decided_at": now}
    elif step == "approve":
        awarded = claim.points if points is None else _int(points, "points", 1, claim.points)
        claim = PointClaim.objects.select_related("rule", "person__area").get(pk=claim.pk)
        account = _account(claim.person)
        PointAccount.objects.select_for_update().filter(pk=account.pk).first()  # one approval per person at a time
        earned, start, end = earned_in_period(claim)
        rule = claim.rule
        left = max(0, rule.cap - earned)
        if awarded > left:
            hint = (_("可按{left}分审核通过，或不予通过").format(left=left) if left
                    else _("本期已无剩余额度，请不予通过"))
            raise InvalidInput.on("points", _(
                "超出积分上限：“{rule}”每人{period}最多{cap}分，该居民{start}至{end}已获得{earned}分，"
                "还可获得{left}分，本次{points}分。{hint}").format(
                rule=rule.name, period=rule.get_period_display(), cap=rule.cap, start=start, end=end,
                earned=earned, left=left, points=awarded, hint=hint))
        changes = {"points": awarded, "approved_by": user, "approved_at": now}
        person = claim.person

        def post() -> None:
            _post(person=person, amount=awarded, kind=EntryKind.EARN, by=actor, claim=claim,
                  note=f"{rule.name} {claim.occurred_on:%Y-%m-%d}", field="points")

        then.append(post)
    elif step in REFUSALS:
        changes = {"refused_step": step, "refuse_reason": reason, "refused_by": user}
    return CLAIM.apply(actor=actor, obj=claim, name=t.name, version=version, changes=changes, reason=reason or note,
                       then=then)


# ------------------------------------------------------------------------------------------ corrections


@transaction.atomic
def entry_correct(*, actor: Any, person: Person, amount: int, reason: str,
                  claim: PointClaim | None = None) -> PointEntry:
    """积分更正: a new entry (plus or minus) with its reason; the entries before it stay as they were. A minus never
    takes the balance below zero."""
    person = _person(person)
    require(actor, Cap.POINTS_APPROVE, area_path=person.area.path)
    amount = _int(amount, "amount", -MAX_CORRECTION, MAX_CORRECTION)
    if amount == 0:
        raise InvalidInput.on("amount", _("更正积分不能为0"))
    reason = _text(reason, "reason", 200, required=True, message=_("请填写更正原因"))
    if claim is not None and (claim.person_id != person.pk or claim.state != ClaimState.APPROVED):
        raise InvalidInput.on("claim", _("只能更正该居民已入账的申报"))
    entry = _post(person=person, amount=amount, kind=EntryKind.CORRECT, by=actor, claim=claim, note=reason)
    audit.record(actor=actor, action="points.point_entry.correct", obj=entry,
                 after={"person": person.pk, "amount": amount, "balance": entry.balance_after,
                        "claim": claim.pk if claim else None}, reason=reason)
    return entry


# ------------------------------------------------------------------------------------------ the store


@transaction.atomic
def item_create(*, actor: Any, area: Area, name: str, price: int, stock: int = 0,
                description: str = "") -> StoreItem:
    """上架一件兑换商品 in a community's store."""
    require(actor, Cap.POINTS_STORE, area_path=area.path)
    if area.kind != AreaKind.COMMUNITY:
        raise InvalidInput.on("area", _("兑换超市设在社区"))
    name = _text(name, "name", 60, required=True, message=_("请填写商品名称"))
    if StoreItem.objects.filter(area=area, name=name).exists():
        raise InvalidInput.on("name", _("本社区已有同名商品"))
    item = StoreItem(area=area, area_path=area.path, name=name, price=_int(price, "price", 1, 100_000),
                     stock=_int(stock, "stock", 0, 100_000), description=_text(description, "description", 300))
    validate(item, exclude=["area"])
    item.save()
    audit.record(actor=actor, action="points.store_item.create", obj=item,
                 after={**audit.snapshot(item, ITEM_FIELDS), "stock": item.stock})
    return item


@transaction.atomic
def item_update(*, actor: Any, item: StoreItem, name: str, price: int, description: str = "", active: bool = True,
                reason: str = "", expected_version: int | None = None) -> StoreItem:
    """Rename, reprice, take off or put back on the shelf (stock moves with :func:`item_restock`)."""
    require(actor, Cap.POINTS_STORE, area_path=item.area_path)
    name = _text(name, "name", 60, required=True, message=_("请填写商品名称"))
    if StoreItem.objects.filter(area_id=item.area_id, name=name).exclude(pk=item.pk).exists():
        raise InvalidInput.on("name", _("本社区已有同名商品"))
    changes = {"name": name, "price": _int(price, "price", 1, 100_000),
               "description": _text(description, "description", 300), "active": bool(active)}
    return apply_changes(actor=actor, obj=item, changes=changes, allowed=changes, action="points.store_item.update",
                         reason=_text(reason, "reason", 200), exclude_validation=["area", "stock"],
                         expected_version=expected_version)


@transaction.atomic
def item_restock(*, actor: Any, item: StoreItem, change: int, reason: str = "") -> StoreItem:
    """入库 (plus) or 盘亏/报损 (minus, with its reason): one conditional UPDATE, never below zero."""
    require(actor, Cap.POINTS_STORE, area_path=item.area_path)
    change = _int(change, "change", -100_000, 100_000)
    if change == 0:
        raise InvalidInput.on("change", _("库存变动不能为0"))
    reason = _text(reason, "reason", 200, required=change < 0, message=_("减少库存时请填写原因"))
    rows = StoreItem.objects.filter(pk=item.pk)
    if change < 0:
        rows = rows.filter(stock__gte=-change)
    else:
        rows = rows.filter(stock__lte=100_000 - change)
    before = StoreItem.objects.filter(pk=item.pk).values_list("stock", flat=True).get()
    if rows.update(stock=F("stock") + change) != 1:
        raise InvalidInput.on("change", _("库存不能少于0（当前库存{n}）").format(n=before) if change < 0
                              else _("库存不能超过100000"))
    item.refresh_from_db()
    audit.record(actor=actor, action="points.store_item.restock", obj=item,
                 before={"stock": before}, after={"stock": item.stock, "change": change}, reason=reason)
    return item


@transaction.atomic
def redeem(*, actor: Any, item: StoreItem, quantity: int = 1, person: Person | None = None) -> Redemption:
    """兑换: the resident from her phone (``person`` left out), or the store's staff at the counter for her. The
    stock and the points are taken by one conditional UPDATE each, in this one transaction: when either is short
    nothing is taken."""
    own = person_of(actor)
    if person is None:
        if own is None:
            raise Forbidden(_("请先完成居民身份登记后再兑换"))
        person = Person.objects.get(pk=own)
    person = _person(person)
    at_counter = actor is None or own != person.pk
    if at_counter:
        require(actor, Cap.POINTS_STORE, area_path=item.area_path)
    quantity = _int(quantity, "quantity", 1, MAX_QUANTITY)
    if not person.area.path.startswith(item.area_path):
        raise InvalidInput.on("item", _("该商品只面向本社区居民兑换"))
    price = item.price
    if StoreItem.objects.filter(pk=item.pk, active=True, price=price, stock__gte=quantity).update(
            stock=F("stock") - quantity) != 1:
        fresh = StoreItem.objects.get(pk=item.pk)
        if not fresh.active:
            raise InvalidInput.on("item", _("该商品已下架"))
        if fresh.price != price:
            raise Conflict(_("该商品的所需积分已调整为{n}分，请刷新后重试").format(n=fresh.price))
        raise Conflict(_("库存不足：仅剩{n}件").format(n=fresh.stock))
    points = price * quantity
    redemption = Redemption.objects.create(person=person, item=item, area_path=item.area_path, quantity=quantity,
                                           points=points, channel="counter" if at_counter else "self",
                                           by=actor if getattr(actor, "pk", None) else None)
    _post(person=person, amount=-points, kind=EntryKind.SPEND, by=actor, redemption=redemption,
          note=f"{item.name} ×{quantity}", field="quantity")
    audit.record(actor=actor, action="points.redemption.redeem", obj=redemption,
                 after={"person": person.pk, "item": item.pk, "quantity": quantity, "points": points,
                        "channel": redemption.channel})
    return redemption


def redemption_roles(actor: Any, redemption: Redemption) -> set[str]:
    if actor is None:
        return {OWNER, STORE}
    scope = as_scope(actor)
    roles = {STORE} if scope.can(Cap.POINTS_STORE, area_path=redemption.area_path) else set()
    if scope.person_id is not None and scope.person_id == redemption.person_id:
        roles.add(OWNER)
    return roles


def redemption_steps(actor: Any, redemption: Redemption) -> list[Transition]:
    return REDEMPTION.available(redemption.state, actors=redemption_roles(actor, redemption))


@transaction.atomic
def redemption_step(*, actor: Any, redemption: Redemption, step: str, reason: str = "",
                    expected_version: int | None = None) -> Redemption:
    """确认领取 at the counter, or 取消兑换: the points come back as a refund entry and the item goes back into
    stock. Staff cancelling for a resident say why."""
    roles = redemption_roles(actor, redemption)

    def authorise(t: Transition) -> None:
        if not roles & t.actors:
            raise Forbidden(_("您没有权限执行此操作"))

    t, version, reason = REDEMPTION.check(redemption, step, expected_version=expected_version, reason=reason,
                                          authorise=authorise)
    reason = _text(reason, "reason", 200)
    user = actor if getattr(actor, "pk", None) else None
    now = timezone.now()
    changes: dict[str, Any] = {}
    then: list[Any] = []
    if step == "hand_over":
        changes = {"handed_over_at": now, "handed_by": user}
    elif step == "cancel":
        if OWNER not in roles and not reason:
            raise InvalidInput.on("reason", _("代居民取消兑换时请填写原因"))
        changes = {"cancelled_at": now, "cancel_reason": reason}
        r = Redemption.objects.select_related("person__area", "item").get(pk=redemption.pk)

        def give_back() -> None:
            StoreItem.objects.filter(pk=r.item_id).update(stock=F("stock") + r.quantity)
            _post(person=r.person, amount=r.points, kind=EntryKind.REFUND, by=actor, redemption=r,
                  note=_("取消兑换 {item} ×{n}").format(item=r.item.name, n=r.quantity))

        then.append(give_back)
    return REDEMPTION.apply(actor=actor, obj=redemption, name=t.name, version=version, changes=changes,
                            reason=reason, then=then)

