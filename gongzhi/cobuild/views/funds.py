"""Pages of funds (经费, G3): budgets of my area with balance bars, one budget with its spendings, recording a
spending with its receipt, allocation rules and applying them, the half-year audit export, and the PUBLIC disclosure
page of a community (经费公示, no sign-in, no personal data)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as N_
from django.views.decorators.http import require_POST

from gongzhi.accounts.roles import Cap
from gongzhi.core import ledger
from gongzhi.core.errors import DomainError
from gongzhi.core.scope import get_scoped, scope_of, scoped
from gongzhi.registry.models import Area, AreaKind, PartyOrganisation
from gongzhi.web.forms import area_label, set_choices
from gongzhi.web.pages import attempt, not_found_as_404, paginate
from gongzhi.web.pages import need as _need

from ..forms_funds import TARGETS, BudgetForm, RuleForm, SpendingForm
from ..models import Need, Project
from ..selectors import funds as selectors
from ..services import funds as services
from ..services.common import can_manage

STEP = Area.steplen


def _year(request: HttpRequest) -> int:
    raw = request.GET.get("year", "")
    return int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2100 else timezone.localdate().year


def _areas(user: Any, kinds: tuple[str, ...]) -> list[tuple[int, str]]:
    areas = list(scoped(user, Area, cap=Cap.COBUILD_MANAGE).filter(kind__in=kinds).order_by("path")[:300])
    parents = dict(Area.objects.filter(path__in={a.path[:-STEP] for a in areas}).values_list("path", "name"))
    return [(a.pk, area_label(a, parents)) for a in areas]


def _bar(b: Any) -> int:
    return int(b.spent * 100 / b.amount) if b.amount else 0


@login_required
def budgets(request: HttpRequest) -> HttpResponse:
    """经费预算: my area's budgets of a year, each with how much is spent (a bar) and what is left."""
    _need(request, Cap.COBUILD_VIEW)
    year = _year(request)
    qs = selectors.budgets(request.user, year=year)
    page = paginate(request, qs, size=50)
    for b in page.items:
        b.used_pct = _bar(b)  # type: ignore[attr-defined]
    communities = list(scoped(request.user, Area, cap=Cap.COBUILD_VIEW).filter(kind=AreaKind.COMMUNITY)
                       .order_by("path")[:50])
    return render(request, "cobuild/funds_budgets.html", {
        "page": page, "year": year, "total": selectors.totals(qs), "communities": communities,
        "can_manage": scope_of(request.user).has(Cap.COBUILD_MANAGE)})


@login_required
@not_found_as_404
def budget_detail(request: HttpRequest, pk: int) -> HttpResponse:
    budget = selectors.budget_get(request.user, pk)
    budget.used_pct = _bar(budget)  # type: ignore[attr-defined]
    page = paginate(request, selectors.spendings(request.user, budget=budget))
    return render(request, "cobuild/funds_budget.html", {
        "budget": budget, "page": page, "can_spend": can_manage(request.user, budget.area_path)})


@login_required
@not_found_as_404
def budget_new(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.COBUILD_MANAGE)
    user = request.user
    form = BudgetForm(request.POST or None, initial={"year": timezone.localdate().year})
    set_choices(form.fields["area"], _areas(user, services.BUDGET_AREA_KINDS), blank="—")
    orgs = scoped(user, PartyOrganisation).filter(area__kind__in=services.BUDGET_AREA_KINDS).order_by("name")[:300]
    set_choices(form.fields["organisation"], [(o.pk, o.name) for o in orgs], blank="—")
    projects = scoped(user, Project).order_by("-pk")[:300]
    set_choices(form.fields["project"], [(p.pk, p.title) for p in projects], blank="—")
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        area = get_scoped(user, Area, d["area"], cap=Cap.COBUILD_MANAGE) if d["area"] else None
        org = get_scoped(user, PartyOrganisation, d["organisation"]) if d["organisation"] else None
        project = get_scoped(user, Project, d["project"]) if d["project"] else None
        budget = attempt(form, lambda: services.budget_create(
            actor=user, area=area, year=d["year"], source=d["source"], amount=d["amount"], project=project,
            organisation=org, note=d["note"]))
        if budget is not None:
            messages.success(request, _("已新增预算"))
            return redirect("cobuild:funds_budget", pk=budget.pk)
    return render(request, "web/form.html", {"form": form, "title": _("新增经费预算"), "back": "cobuild:funds_budgets"})


@login_required
def spending_list(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.COBUILD_VIEW)
    year = _year(request)
    page = paginate(request, selectors.spendings(request.user, year=year))
    return render(request, "cobuild/funds_spendings.html", {
        "page": page, "year": year, "can_manage": scope_of(request.user).has(Cap.COBUILD_MANAGE)})


@login_required
@not_found_as_404
def spending_new(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.COBUILD_MANAGE)
    user = request.user
    year = timezone.localdate().year
    raw = request.GET.get("budget", "")
    form = SpendingForm(request.POST or None, request.FILES or None,
                        initial={"spent_on": timezone.localdate(), "budget": int(raw) if raw.isdigit() else None})
    open_budgets = [b for b in selectors.budgets(user, year=year)[:300] if can_manage(user, b.area_path)]
    set_choices(form.fields["budget"], [
        (b.pk, _("{area} · {source}（余额 {left} 元）").format(area=b.area.name, source=b.get_source_display(),
                                                         left=b.balance)) for b in open_budgets], blank="—")
    set_choices(form.fields["project"], [(p.pk, p.title) for p in scoped(user, Project).order_by("-pk")[:300]],
                blank="—")
    set_choices(form.fields["need"], [(n.pk, n.title) for n in scoped(user, Need).order_by("-pk")[:300]], blank="—")
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        budget = next((b for b in open_budgets if b.pk == d["budget"]), None)
        project = get_scoped(user, Project, d["project"]) if d["project"] else None
        need = get_scoped(user, Need, d["need"]) if d["need"] else None
        upload = d["receipt"]
        receipt = (upload.name, upload.read(services.MAX_RECEIPT_BYTES + 1)) if upload else None
        if budget is None:
            form.add_error("budget", _("请选择预算"))
        else:
            spending = attempt(form, lambda: services.spending_record(
                actor=user, budget=budget, amount=d["amount"], purpose=d["purpose"], description=d["description"],
                payee=d["payee"], spent_on=d["spent_on"], project=project, need=need, receipt=receipt))
            if spending is not None:
                messages.success(request, _("已记录支出 {amount} 元").format(amount=spending.amount))
                return redirect("cobuild:funds_budget", pk=budget.pk)
    return render(request, "web/form.html", {"form": form, "title": _("记录经费支出"),
                                             "back": "cobuild:funds_spendings"})


@login_required
@not_found_as_404
def receipt(request: HttpRequest, pk: int) -> HttpResponseBase:
    spending = selectors.spending_get(request.user, pk)
    if not spending.receipt:
        raise Http404
    suffix = ".pdf" if spending.receipt_type == "application/pdf" else (
        ".png" if spending.receipt_type == "image/png" else ".jpg")
    response = FileResponse(spending.receipt.open("rb"), content_type=spending.receipt_type)
    return ledger.attachment(response, _("票据-{pk}{suffix}").format(pk=spending.pk, suffix=suffix))


@login_required
@not_found_as_404
def rules(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.COBUILD_VIEW)
    user = request.user
    form = RuleForm(request.POST or None, initial={"year": timezone.localdate().year})
    areas = _areas(user, services.RULE_AREA_KINDS)
    set_choices(form.fields["area"], areas, blank="—")
    if request.method == "POST":
        _need(request, Cap.COBUILD_MANAGE)
        if form.is_valid():
            d = form.cleaned_data
            area = get_scoped(user, Area, d["area"], cap=Cap.COBUILD_MANAGE) if d["area"] else None
            rule = attempt(form, lambda: services.rule_create(
                actor=user, area=area, year=d["year"], source=d["source"], base_amount=d["base_amount"],
                per_hundred_households=d["per_hundred_households"], target_kind=d["target_kind"]))
            if rule is not None:
                messages.success(request, _("已新增分配规则，请点击“分配”生成各社区预算"))
                return redirect("cobuild:funds_rules")
    rows = list(selectors.rules(user)[:100])
    targets = {k: str(v) for k, v in TARGETS}
    for r in rows:
        r.can_apply = can_manage(user, r.area_path)  # type: ignore[attr-defined]
        r.target_label = targets.get(r.target_kind, r.target_kind)  # type: ignore[attr-defined]
    return render(request, "cobuild/funds_rules.html", {"rules": rows, "form": form if areas else None})


@login_required
@require_POST
@not_found_as_404
def rule_apply(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_scoped(request.user, selectors.rules(request.user), pk)
    try:
        n = services.allocation_apply(actor=request.user, rule=rule)
        messages.success(request, _("已分配：新增 {n} 个预算").format(n=n) if n
                         else _("各对象均已有该规则的预算，未重复分配"))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("cobuild:funds_rules")


def disclosure(request: HttpRequest, pk: int) -> HttpResponse:
    """经费公示 (public, no sign-in): a community's budgets by source, spendings and balance — no personal data."""
    community = selectors.public_community(pk)
    if community is None:
        raise Http404
    d = selectors.disclosure(community, _year(request))
    for _label, t in d.by_source:
        t.pct = t.used_pct  # type: ignore[attr-defined]
    return render(request, "cobuild/funds_public.html", {"d": d})


AUDIT_BUDGET_COLUMNS: list[tuple[Any, ledger.Kind]] = [
    (N_("区域"), "text"), (N_("区域代码"), "code"), (N_("年度"), "int"), (N_("资金来源"), "text"),
    (N_("专项项目"), "text"), (N_("使用党组织"), "text"), (N_("预算金额（元）"), "number"),
    (N_("已支出（元）"), "number"), (N_("余额（元）"), "number"), (N_("说明"), "text"),
]
AUDIT_SPENDING_COLUMNS: list[tuple[Any, ledger.Kind]] = [
    (N_("支出日期"), "date"), (N_("区域"), "text"), (N_("资金来源"), "text"), (N_("用途"), "text"),
    (N_("支出事由"), "text"), (N_("收款方"), "text"), (N_("金额（元）"), "number"), (N_("关联项目"), "text"),
    (N_("票据"), "text"), (N_("记录人"), "text"),
]
AUDIT_COMMUNITY_COLUMNS: list[tuple[Any, ledger.Kind]] = [
    (N_("社区"), "text"), (N_("区域代码"), "code"), (N_("年度预算（元）"), "number"),
    (N_("本半年支出（元）"), "number"),
    (N_("截至期末累计支出（元）"), "number"), (N_("期末余额（元）"), "number"),
]


@login_required
@not_found_as_404
def audit_export(request: HttpRequest) -> HttpResponseBase:
    """半年度经费审计台账: budgets, the half's spendings, and balance per community with totals."""
    _need(request, Cap.COBUILD_VIEW)
    year = _year(request)
    half = 2 if request.GET.get("half") == "2" else 1
    raw = request.GET.get("area", "")
    if raw.isdigit():
        area = get_scoped(request.user, Area, int(raw), cap=Cap.COBUILD_VIEW)
    else:
        roots = scope_of(request.user).root_area_ids(Cap.COBUILD_VIEW)
        if not roots:
            raise Http404
        area = Area.objects.get(pk=roots[0])
    book = selectors.audit_book(request.user, area, year, half)
    label = _("上半年") if half == 1 else _("下半年")
    title = _("{area}{year}年{half}经费审计台账").format(area=area.name, year=year, half=label)

    def cols(spec: list[tuple[Any, ledger.Kind]]) -> list[ledger.Col]:
        return [ledger.Col(str(t), k) for t, k in spec]

    return ledger.attachment(ledger.workbook_bytes(
        ledger.Sheet(_("各社区余额"), cols(AUDIT_COMMUNITY_COLUMNS), book.communities, title=title),
        ledger.Sheet(_("预算"), cols(AUDIT_BUDGET_COLUMNS), book.budgets, title=title),
        ledger.Sheet(_("支出明细"), cols(AUDIT_SPENDING_COLUMNS), book.spendings, title=title),
    ), ledger.dated_name(_("经费审计台账")))


urlpatterns = [
    path("funds/", budgets, name="funds_budgets"),
    path("funds/budgets/new/", budget_new, name="funds_budget_new"),
    path("funds/budgets/<int:pk>/", budget_detail, name="funds_budget"),
    path("funds/spendings/", spending_list, name="funds_spendings"),
    path("funds/spendings/new/", spending_new, name="funds_spending_new"),
    path("funds/spendings/<int:pk>/receipt/", receipt, name="funds_receipt"),
    path("funds/rules/", rules, name="funds_rules"),
    path("funds/rules/<int:pk>/apply/", rule_apply, name="funds_rule_apply"),
    path("funds/audit.xlsx", audit_export, name="funds_audit"),
    path("funds/public/<int:pk>/", disclosure, name="funds_public"),
]
