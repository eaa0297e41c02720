"""Pages of credit points: 我的积分 (a resident on her phone: balance, history, claim, the store), 积分审核 (the work
queue of collect / decide / approve), 积分规则, 兑换超市 (items, stock, the counter, hand-over), a resident's
account for staff (with corrections) and the figures per community. Thin: parse → fetch through the scope →
service → redirect, or the page again with the errors on the fields."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.accounts.roles import Cap
from gongzhi.core.errors import DomainError
from gongzhi.core.scope import get_scoped, scope_of, scoped
from gongzhi.registry.models import Area, AreaKind, Person
from gongzhi.web.forms import area_label, lookup_url, set_choices
from gongzhi.web.pages import area_and_period, bar_chart, not_found_as_404, paginate
from gongzhi.web.pages import attempt as _attempt
from gongzhi.web.pages import attempt_flash as _flash
from gongzhi.web.pages import need as _need

from . import selectors, services
from .forms import (
    ClaimForm,
    CollectForm,
    CorrectionForm,
    CounterForm,
    ItemEditForm,
    ItemForm,
    RedeemForm,
    RedemptionStepForm,
    RestockForm,
    RuleEditForm,
    RuleForm,
    StepForm,
)
from .workflow import REFUSALS, RedemptionState

STAFF_CAPS = (Cap.POINTS_COLLECT, Cap.POINTS_DECIDE, Cap.POINTS_APPROVE)


def _need_any(request: HttpRequest, *caps: str) -> None:
    scope = scope_of(request.user)
    if not any(scope.has(c) for c in caps):
        raise Http404


def _back(request: HttpRequest, default: str) -> HttpResponse:
    nxt = request.POST.get("next", "")
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return redirect(nxt)
    return redirect(default)


def _rule_choices(rules: list[Any]) -> list[tuple[int, str]]:
    return [(r.pk, _("{name}（{points}分）").format(name=r.name, points=r.points)) for r in rules]


# ------------------------------------------------------------------------------------------ 我的积分 (resident)


def _mine_page(request: HttpRequest, person: Person, form: ClaimForm | None = None, status: int = 200) -> HttpResponse:
    rules = selectors.rules_for(person)
    if form is None:
        form = ClaimForm(initial={"occurred_on": timezone.localdate()})
    set_choices(form.fields["rule"], _rule_choices(rules), blank="—")
    account = selectors.account(request.user, person)
    history = paginate(request, selectors.entries(request.user, person), size=20)
    claims = list(selectors.claims(request.user, person=person)[:20])
    for c in claims:
        c.steps = services.claim_steps(request.user, c)  # type: ignore[attr-defined]
    reds = list(selectors.redemptions(request.user, person=person)[:20])
    for r in reds:
        r.steps = services.redemption_steps(request.user, r)  # type: ignore[attr-defined]
    return render(request, "points/mine.html", {
        "person": person, "account": account, "balance": account.balance if account else 0, "form": form,
        "rules": rules, "page": history, "claims": claims, "redemptions": reds,
        "items": selectors.items_for(person), "today": timezone.localdate(),
    }, status=status)


@login_required
@not_found_as_404
def mine(request: HttpRequest) -> HttpResponse:
    """我的积分: balance, history, 申报积分, the store with its redeem buttons, my redemptions."""
    person = selectors.my_person(request.user)
    if person is None:
        raise Http404
    if request.method == "POST":
        form = ClaimForm(request.POST)
        set_choices(form.fields["rule"], _rule_choices(selectors.rules_for(person)), blank="—")
        if form.is_valid():
            d = form.cleaned_data
            rule = get_scoped(request.user, selectors.rules(request.user), d["rule"])
            claim = _attempt(form, lambda: services.claim_file(
                actor=request.user, rule=rule, occurred_on=d["occurred_on"], description=d["description"]))
            if claim:
                messages.success(request, _("已提交积分申报：{rule}，等待信息员采集").format(rule=claim.rule.name))
                return redirect("points:mine")
        return _mine_page(request, person, form, status=400)
    return _mine_page(request, person)


@login_required
@require_POST
@not_found_as_404
def redeem(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.item_get(request.user, pk)
    form = RedeemForm(request.POST)
    quantity = form.cleaned_data["quantity"] if form.is_valid() else 1
    r = _flash(request, lambda: services.redeem(actor=request.user, item=item, quantity=quantity))
    if r is not None:
        messages.success(request, _("兑换成功：{item} ×{n}，扣除{points}分，请到社区积分超市领取").format(
            item=item.name, n=r.quantity, points=r.points))
    return redirect(reverse("points:mine") + "#store")


@login_required
@require_POST
@not_found_as_404
def claim_step(request: HttpRequest, pk: int) -> HttpResponse:
    """One step on a claim (the queue's buttons; the resident's 撤回)."""
    claim = selectors.claim_get(request.user, pk)
    form = StepForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("输入有误：{fields}").format(fields="、".join(form.errors)))
        return _back(request, reverse("points:queue"))
    d = form.cleaned_data
    step, text = d["step"], d["text"] or ""
    refusing = step in REFUSALS or step == "withdraw"
    done = _flash(request, lambda: services.claim_step(
        actor=request.user, claim=claim, step=step, note="" if refusing else text, reason=text if refusing else "",
        points=d["points"], expected_version=d["version"]))
    if done is not None:
        messages.success(request, _("{person}的“{rule}”：{state}").format(
            person=claim.person.name, rule=claim.rule.name, state=done.get_state_display()))
    return _back(request, reverse("points:queue") + f"#claim-{claim.pk}")


@login_required
@require_POST
@not_found_as_404
def redemption_step(request: HttpRequest, pk: int) -> HttpResponse:
    r = selectors.redemption_get(request.user, pk)
    form = RedemptionStepForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        done = _flash(request, lambda: services.redemption_step(
            actor=request.user, redemption=r, step=d["step"], reason=d["reason"], expected_version=d["version"]))
        if done is not None:
            messages.success(request, _("{item} ×{n}：{state}").format(item=r.item.name, n=r.quantity,
                                                                      state=done.get_state_display()))
    return _back(request, reverse("points:store"))


# ------------------------------------------------------------------------------------------ 积分审核


def _collect_form(request: HttpRequest, data: Any = None) -> CollectForm:
    form = CollectForm(data, prefix="collect", initial={"occurred_on": timezone.localdate()})
    set_choices(form.fields["person"], [(p.pk, f"{p.name}（{p.area.name}）")
                                        for p in selectors.collect_people(request.user)], blank="—",
                lookup=lookup_url("people", Cap.POINTS_COLLECT))
    rules = list(selectors.rules(request.user).filter(active=True)[:300])
    set_choices(form.fields["rule"], [(r.pk, _("{name}（{points}分 · {area}）").format(
        name=r.name, points=r.points, area=r.area.name)) for r in rules], blank="—")
    return form


@login_required
@not_found_as_404
def queue(request: HttpRequest) -> HttpResponse:
    """积分审核: claims waiting for the viewer (采集 / 评定 / 审核 by her capabilities); 代居民采集."""
    _need_any(request, *STAFF_CAPS)
    scope = scope_of(request.user)
    can_collect = scope.has(Cap.POINTS_COLLECT)
    form = None
    status = 200
    if request.method == "POST":
        if not can_collect:
            raise Http404
        form = _collect_form(request, request.POST)
        if form.is_valid():
            d = form.cleaned_data
            person = get_scoped(request.user, Person, d["person"], cap=Cap.POINTS_COLLECT) if d["person"] else None
            rule = get_scoped(request.user, selectors.rules(request.user), d["rule"]) if d["rule"] else None
            if person is None:
                form.add_error("person", _("请选择居民"))
            elif rule is None:
                form.add_error("rule", _("请选择积分项目"))
            else:
                claim = _attempt(form, lambda: services.claim_file(
                    actor=request.user, person=person, rule=rule, occurred_on=d["occurred_on"],
                    description=d["description"], note=d["note"]))
                if claim is not None:
                    messages.success(request, _("已为{person}采集“{rule}”，转小区议事会评定").format(
                        person=person.name, rule=rule.name))
                    return redirect("points:queue")
        status = 400
    queues = selectors.queue(request.user)
    for q in queues:
        for c in q.claims:
            c.steps = services.claim_steps(request.user, c)  # type: ignore[attr-defined]
            c.earned, c.period_start, c.period_end = (  # type: ignore[attr-defined]
                services.earned_in_period(c) if q.kind == "approve" else (None, None, None))
    return render(request, "points/queue.html", {
        "queues": queues, "handled": selectors.handled(request.user),
        "collect_form": (form or _collect_form(request)) if can_collect else None,
        "can_account": scope.has(Cap.POINTS_APPROVE),
    }, status=status)


# ------------------------------------------------------------------------------------------ 积分规则


def _rule_areas(user: Any) -> list[tuple[int, str]]:
    areas = list(scoped(user, Area, cap=Cap.POINTS_APPROVE).filter(kind__in=services.RULE_KINDS)
                 .order_by("path")[:500])
    parents = dict(Area.objects.filter(path__in={a.path[:-Area.steplen] for a in areas}).values_list("path", "name"))
    return [(a.pk, area_label(a, parents)) for a in areas]


@login_required
@not_found_as_404
def rules(request: HttpRequest) -> HttpResponse:
    """积分规则: the rules in force in the viewer's areas; a new rule for those who approve."""
    _need_any(request, *STAFF_CAPS)
    can_edit = scope_of(request.user).has(Cap.POINTS_APPROVE)
    form = RuleForm(request.POST or None, initial={"period": "month"}) if can_edit else None
    if form is not None:
        set_choices(form.fields["area"], _rule_areas(request.user), blank="—")
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            d = form.cleaned_data
            area = get_scoped(request.user, Area, d["area"], cap=Cap.POINTS_APPROVE) if d["area"] else None
            if area is None:
                form.add_error("area", _("请选择适用区域"))
            else:
                rule = _attempt(form, lambda: services.rule_create(
                    actor=request.user, area=area, name=d["name"], points=d["points"], cap=d["cap"],
                    period=d["period"], description=d["description"]))
                if rule is not None:
                    messages.success(request, _("已新增积分项目：{name}").format(name=rule.name))
                    return redirect("points:rules")
    editable = set(selectors.rules_editable(request.user).values_list("pk", flat=True)) if can_edit else set()
    page = paginate(request, selectors.rules(request.user))
    return render(request, "points/rules.html", {"page": page, "form": form, "editable": editable},
                  status=400 if request.method == "POST" else 200)


@login_required
@not_found_as_404
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = selectors.rule_get(request.user, pk)
    if not scope_of(request.user).can(Cap.POINTS_APPROVE, area_path=rule.area_path):
        raise Http404
    form = RuleEditForm(request.POST or None, initial={
        "name": rule.name, "points": rule.points, "period": rule.period, "cap": rule.cap,
        "description": rule.description, "active": rule.active, "version": rule.version})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        if _attempt(form, lambda: services.rule_update(
                actor=request.user, rule=rule, name=d["name"], points=d["points"], cap=d["cap"], period=d["period"],
                description=d["description"], active=d["active"], reason=d["reason"],
                expected_version=d["version"])) is not None:
            messages.success(request, _("已保存积分项目：{name}").format(name=d["name"]))
            return redirect("points:rules")
    return render(request, "web/form.html", {"form": form, "back": "points:rules",
                                             "title": _("修改积分项目：{name}").format(name=rule.name)})


# ------------------------------------------------------------------------------------------ 兑换超市


def _store_areas(user: Any) -> list[tuple[int, str]]:
    areas = list(scoped(user, Area, cap=Cap.POINTS_STORE).filter(kind=AreaKind.COMMUNITY).order_by("path")[:500])
    parents = dict(Area.objects.filter(path__in={a.path[:-Area.steplen] for a in areas}).values_list("path", "name"))
    return [(a.pk, area_label(a, parents)) for a in areas]


def _item_form(request: HttpRequest, data: Any = None) -> ItemForm:
    form = ItemForm(data, prefix="item")
    set_choices(form.fields["area"], _store_areas(request.user), blank="—")
    return form


def _counter_form(request: HttpRequest, items: list[Any], data: Any = None) -> CounterForm:
    form = CounterForm(data, prefix="counter")
    set_choices(form.fields["person"], [(p.pk, f"{p.name}（{p.area.name}）")
                                        for p in selectors.counter_people(request.user)], blank="—",
                lookup=lookup_url("people", Cap.POINTS_STORE))
    set_choices(form.fields["item"], [(i.pk, _("{name}（{price}分，库存{stock}）").format(
        name=i.name, price=i.price, stock=i.stock)) for i in items if i.active], blank="—")
    return form


def _store_page(request: HttpRequest, *, item_form: ItemForm | None = None, counter_form: CounterForm | None = None,
                restock: dict[int, RestockForm] | None = None, status: int = 200) -> HttpResponse:
    items = list(selectors.managed_items(request.user)[:300])
    for i in items:
        i.restock_form = (restock or {}).get(i.pk) or RestockForm(prefix=f"s{i.pk}")  # type: ignore[attr-defined]
    pending = list(selectors.redemptions(request.user, state=RedemptionState.REDEEMED, store_only=True)[:100])
    recent = list(selectors.redemptions(request.user, store_only=True).exclude(
        state=RedemptionState.REDEEMED)[:30])
    return render(request, "points/store.html", {
        "items": items, "item_form": item_form or _item_form(request),
        "counter_form": counter_form or _counter_form(request, items), "pending": pending, "recent": recent,
    }, status=status)


@login_required
@not_found_as_404
def store(request: HttpRequest) -> HttpResponse:
    """兑换超市: the items and their stock, redemptions at the counter, hand-over and cancellation."""
    _need(request, Cap.POINTS_STORE)
    return _store_page(request)


@login_required
@require_POST
@not_found_as_404
def item_new(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.POINTS_STORE)
    form = _item_form(request, request.POST)
    if form.is_valid():
        d = form.cleaned_data
        area = get_scoped(request.user, Area, d["area"], cap=Cap.POINTS_STORE) if d["area"] else None
        if area is None:
            form.add_error("area", _("请选择所属社区"))
        else:
            item = _attempt(form, lambda: services.item_create(
                actor=request.user, area=area, name=d["name"], price=d["price"], stock=d["stock"] or 0,
                description=d["description"]))
            if item is not None:
                messages.success(request, _("已上架：{name}").format(name=item.name))
                return redirect("points:store")
    return _store_page(request, item_form=form, status=400)


@login_required
@not_found_as_404
def item_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.item_get(request.user, pk)
    if not scope_of(request.user).can(Cap.POINTS_STORE, area_path=item.area_path):
        raise Http404
    form = ItemEditForm(request.POST or None, initial={
        "name": item.name, "price": item.price, "description": item.description, "active": item.active,
        "version": item.version})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        if _attempt(form, lambda: services.item_update(
                actor=request.user, item=item, name=d["name"], price=d["price"], description=d["description"],
                active=d["active"], reason=d["reason"], expected_version=d["version"])) is not None:
            messages.success(request, _("已保存商品：{name}").format(name=d["name"]))
            return redirect("points:store")
    return render(request, "web/form.html", {"form": form, "back": "points:store",
                                             "title": _("修改商品：{name}").format(name=item.name)})


@login_required
@require_POST
@not_found_as_404
def item_restock(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.item_get(request.user, pk)
    form = RestockForm(request.POST, prefix=f"s{item.pk}")
    if form.is_valid():
        d = form.cleaned_data
        done = _attempt(form, lambda: services.item_restock(actor=request.user, item=item, change=d["change"],
                                                            reason=d["reason"]))
        if done is not None:
            messages.success(request, _("{name}：库存{n}").format(name=item.name, n=done.stock))
            return redirect(reverse("points:store") + f"#item-{item.pk}")
    _need(request, Cap.POINTS_STORE)
    return _store_page(request, restock={item.pk: form}, status=400)


@login_required
@require_POST
@not_found_as_404
def counter(request: HttpRequest) -> HttpResponse:
    """柜台代兑: store staff redeem for a resident who came to the counter."""
    _need(request, Cap.POINTS_STORE)
    items = list(selectors.managed_items(request.user)[:300])
    form = _counter_form(request, items, request.POST)
    if form.is_valid():
        d = form.cleaned_data
        person = get_scoped(request.user, Person, d["person"], cap=Cap.POINTS_STORE) if d["person"] else None
        item = get_scoped(request.user, selectors.managed_items(request.user), d["item"]) if d["item"] else None
        if person is None:
            form.add_error("person", _("请选择居民"))
        elif item is None:
            form.add_error("item", _("请选择商品"))
        else:
            r = _attempt(form, lambda: services.redeem(actor=request.user, item=item, quantity=d["quantity"],
                                                       person=person))
            if r is not None:
                messages.success(request, _("{person}兑换{item} ×{n}，扣除{points}分").format(
                    person=person.name, item=item.name, n=r.quantity, points=r.points))
                return redirect("points:store")
    return _store_page(request, counter_form=form, status=400)


# ------------------------------------------------------------------------------------------ a resident's account


@login_required
@not_found_as_404
def person_account(request: HttpRequest, pk: int) -> HttpResponse:
    """A resident's points for staff: balance, the ledger, claims and redemptions; 积分更正 for those who approve."""
    _need_any(request, *STAFF_CAPS, Cap.POINTS_STORE)
    person = get_scoped(request.user, Person.objects.select_related("area"), pk, cap=Cap.VIEW_PEOPLE)
    can_correct = scope_of(request.user).can(Cap.POINTS_APPROVE, area_path=person.area.path)
    form = CorrectionForm(request.POST or None) if can_correct else None
    status = 200
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            d = form.cleaned_data
            entry = _attempt(form, lambda: services.entry_correct(actor=request.user, person=person,
                                                                  amount=d["amount"], reason=d["reason"]))
            if entry is not None:
                messages.success(request, _("已更正{amount:+d}分，余额{balance}分").format(
                    amount=entry.amount, balance=entry.balance_after))
                return redirect("points:person", pk=person.pk)
        status = 400
    account = selectors.account(request.user, person)
    return render(request, "points/person.html", {
        "person": person, "account": account, "balance": account.balance if account else 0, "form": form,
        "page": paginate(request, selectors.entries(request.user, person)),
        "claims": list(selectors.claims(request.user, person=person)[:20]),
        "redemptions": list(selectors.redemptions(request.user, person=person)[:20]),
    }, status=status)


# ------------------------------------------------------------------------------------------ figures


@login_required
@not_found_as_404
def figures(request: HttpRequest) -> HttpResponse:
    """积分统计 per community: points earned and spent, claims, redemptions; the top earners, masked."""
    _need(request, Cap.POINTS_APPROVE)
    asked = area_and_period(request, Cap.POINTS_APPROVE, selectors.default_period())
    area, start, end, errors = asked.area, asked.start, asked.end, asked.errors
    f = None
    if not errors and start is not None and end is not None:
        try:
            f = selectors.figures(request.user, area, start, end)
        except DomainError as exc:
            errors = exc.fields
    chart_points = None
    if f is not None and f.communities:
        labels = [c.area.name for c in f.communities]
        chart_points = bar_chart(_("各社区积分"), labels, [
            (_("获得积分"), [c.earned for c in f.communities]), (_("兑换积分"), [c.spent for c in f.communities])],
            unit=_("分"))
    return render(request, "points/figures.html", {
        "area": area, "f": f, "start": start or request.GET.get("start"), "end": end or request.GET.get("end"),
        "errors": errors, "chart_points": chart_points,
    }, status=400 if errors else 200)

