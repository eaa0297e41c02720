"""Pages of assessment (考评): the overview, the scheme editor (indicator tree, rater groups, rules written as lines,
publish, new draft), a round (its declared steps, raters, results with charts and the rules in words, the review
queue), a subject's card (computed values, sheets, reviews, objections, self-assessment), the rater's scoring page
(one keyboard-fast table), the resident's phone survey, the unit's credit file, and the PUBLIC 红黑榜 (no sign-in,
nothing personal). Thin: parse → fetch through the scope → service → redirect, or the page again with the errors on
the fields."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.accounts.roles import Cap
from gongzhi.core.errors import Conflict, DomainError, NotFound
from gongzhi.core.scope import as_scope, get_scoped, scope_of, scoped
from gongzhi.registry.models import Area, MemberUnit, Person
from gongzhi.web.forms import area_label, set_choices
from gongzhi.web.pages import attempt, bar_chart, chart, error_text, form_errors, not_found_as_404, paginate
from gongzhi.web.pages import attempt_flash as _flash
from gongzhi.web.pages import need as _need

from . import notice, selectors, services
from .excel import describe_notes
from .forms import (
    LEVEL_LABELS,
    AnswerForm,
    AssignForm,
    DeclareForm,
    GroupForm,
    IndicatorForm,
    LiftForm,
    ObjectionForm,
    ReviewForm,
    RoundForm,
    RulesForm,
    SchemeForm,
    SurveyForm,
)
from .models import (
    Assignment,
    BandBasis,
    GroupKind,
    Indicator,
    Objection,
    RaterGroup,
    Round,
    Sanction,
    Scheme,
    SchemeVersion,
    Subject,
)
from .workflow import ROUND, RoundState

S = RoundState
STEP = Area.steplen
MAX_CHOICES = 500
BAND_COLOURS = {"红": "#c0272d", "橙": "#e8590c", "黄": "#d4a106", "绿": "#1a7f37", "蓝": "#2463b8", "紫": "#7a5ab8",
                "优": "#c0272d", "良": "#2463b8", "中": "#d4a106", "差": "#5c6169"}
BAND_CLASSES = {"#c0272d": "red", "#e8590c": "orange", "#d4a106": "yellow", "#1a7f37": "green", "#2463b8": "blue",
                "#7a5ab8": "purple", "#5c6169": "grey"}


def band_colour(name: str) -> str:
    """The colour a band is drawn in: the colour its name starts with (红/蓝/黄 …), grey otherwise."""
    for key, colour in BAND_COLOURS.items():
        if name.startswith(key):
            return colour
    return "#8a9099"


def band_class(name: str) -> str:
    return BAND_CLASSES.get(band_colour(name), "grey")


def _area_choices(user: Any, *, under: str = "") -> list[tuple[int, str]]:
    qs = scoped(user, Area, cap=Cap.ASSESS_MANAGE).filter(kind__in=services.SCHEME_AREA_KINDS)
    if under:
        qs = qs.filter(path__startswith=under)
    areas = list(qs.order_by("path")[:300])
    parents = dict(Area.objects.filter(path__in={a.path[:-STEP] for a in areas}).values_list("path", "name"))
    return [(a.pk, area_label(a, parents)) for a in areas]


def _decorate(subjects: list[Subject]) -> None:
    for s in subjects:
        s.band_class = band_class(s.band) if s.band else ""  # type: ignore[attr-defined]
        s.star_text = "★" * s.stars  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------ overview


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """考评总览 (``Cap.ASSESS_VIEW``, or a rater, or a unit that is assessed): my open sheets, the rounds of my
    scope with their state, the schemes, a link to create one where I may, my units' credit files."""
    user = request.user
    scope = scope_of(user)
    sheets = list(selectors.my_sheets(user)[:100])
    units = sorted(scoped(user, Subject).filter(unit_id__in=services.own_units(user)).values_list(
        "unit_id", flat=True).distinct()[:20])  # units assessed in some round: their credit files
    if not scope.has(Cap.ASSESS_VIEW) and not sheets and not units \
            and not selectors.my_sheets(user, open_only=False).exists():
        if as_scope(user).person_id is not None:
            return redirect("assessment:survey")
        raise Http404
    page = paginate(request, selectors.rounds(user), size=30)
    return render(request, "assessment/index.html", {
        "sheets": sheets, "page": page, "schemes": list(selectors.schemes(user)[:50]),
        "can_create": scope.has(Cap.ASSESS_MANAGE),
        "units": list(MemberUnit.objects.filter(pk__in=units).order_by("name")[:20]),
    })


# ------------------------------------------------------------------------------------------ schemes


@login_required
@not_found_as_404
def scheme_new(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.ASSESS_MANAGE)
    user = request.user
    form = SchemeForm(request.POST or None)
    choices = _area_choices(user)
    set_choices(form.fields["area"], choices, blank="—")
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        area = get_scoped(user, Area, d["area"], cap=Cap.ASSESS_MANAGE) if d["area"] else None
        scheme = attempt(form, lambda: services.scheme_create(
            actor=user, area=area, name=d["name"], subject_kind=d["subject_kind"], period=d["period"],
            description=d["description"]))
        if scheme is not None:
            messages.success(request, _("已新建考评方案，请在草稿版本中添加指标和评分主体"))
            return redirect("assessment:scheme", pk=scheme.pk)
    return render(request, "web/form.html", {"form": form, "title": _("新建考评方案"), "back": "assessment:index"})


def _feed_choices(form: IndicatorForm, user: Any, scheme: Scheme) -> None:
    """The schemes whose results may feed this one: the viewer's other schemes over the same kind of subject."""
    set_choices(form.fields["feed_scheme"], [(s.pk, s.name) for s in selectors.schemes(user).filter(
        subject_kind=scheme.subject_kind).exclude(pk=scheme.pk)[:200]], blank="—")


def _scheme_page(request: HttpRequest, scheme: Scheme, *, indicator_form: IndicatorForm | None = None,
                 group_form: GroupForm | None = None, rules_form: RulesForm | None = None,
                 status: int = 200) -> HttpResponse:
    user = request.user
    versions = list(scheme.versions.order_by("number"))
    latest = versions[-1]
    raw = request.GET.get("v", "")
    version = next((v for v in versions if raw.isdigit() and v.number == int(raw)), latest)
    manage = services.can_manage(user, scheme.area_path)
    editable = manage and not version.frozen
    tree = selectors.indicator_tree(version)
    groups = list(version.groups.all())
    total_weight = sum((g.weight for g in groups), Decimal(0))
    for g in groups:
        g.share = (g.weight * 100 / total_weight).quantize(Decimal("0.1")) if total_weight else None  # type: ignore
    if editable:
        indicator_form = indicator_form or IndicatorForm(prefix="ind")
        _feed_choices(indicator_form, user, scheme)
        set_choices(indicator_form.fields["parent"], [
            (n.indicator.pk, f"{'　' * n.depth}{n.indicator.code} {n.indicator.name}") for n in tree], blank="—")
        group_form = group_form or GroupForm(prefix="grp")
        rules_form = rules_form or RulesForm(prefix="rules", initial=RulesForm.initial_for(version))
    rounds = list(selectors.rounds(user, scheme=scheme)[:20])
    return render(request, "assessment/scheme.html", {
        "scheme": scheme, "versions": versions, "version": version, "latest": latest, "tree": tree,
        "groups": groups, "total_weight": total_weight, "full_marks": services.full_marks(version),
        "manage": manage, "editable": editable, "indicator_form": indicator_form if editable else None,
        "group_form": group_form if editable else None, "rules_form": rules_form if editable else None,
        "rounds": rounds, "can_round": manage and any(v.frozen for v in versions),
        "stage_labels": [(s.get("name"), LEVEL_LABELS.get(s.get("level", ""), s.get("level")))
                         for s in version.stages or []],
        "band_key": "share" if version.band_basis == BandBasis.RANK else "min_score",
    }, status=status)


@login_required
@not_found_as_404
def scheme_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _scheme_page(request, selectors.scheme_get(request.user, pk))


def _managed(request: HttpRequest, pk: int) -> Scheme:
    """A scheme the user edits (``Cap.ASSESS_MANAGE`` on its area); for anyone else the editor is not there."""
    scheme = selectors.scheme_get(request.user, pk)
    if not services.can_manage(request.user, scheme.area_path):
        raise Http404
    return scheme


def _draft_of(request: HttpRequest, pk: int) -> tuple[Scheme, SchemeVersion]:
    scheme = _managed(request, pk)
    return scheme, selectors.latest_version(scheme)


@login_required
@require_POST
@not_found_as_404
def indicator_add(request: HttpRequest, pk: int) -> HttpResponse:
    scheme, version = _draft_of(request, pk)
    form = IndicatorForm(request.POST, prefix="ind")
    tree = selectors.indicator_tree(version)
    set_choices(form.fields["parent"], [(n.indicator.pk, n.indicator.code) for n in tree], blank="—")
    _feed_choices(form, request.user, scheme)
    if form.is_valid():
        d = form.cleaned_data
        parent = version.indicators.filter(pk=d["parent"]).first() if d["parent"] else None
        feed = selectors.schemes(request.user).filter(pk=d["feed_scheme"]).first() if d["feed_scheme"] else None
        ind = attempt(form, lambda: services.indicator_add(
            actor=request.user, version=version, code=d["code"], name=d["name"], max_points=d["max_points"] or 0,
            parent=parent, guidance=d["guidance"], evidence=d["evidence"], source=d["source"],
            target=d["target"], periods=form.period_keys(), feed_scheme=feed))
        if ind is not None:
            messages.success(request, _("已添加指标 {code} {name}").format(code=ind.code, name=ind.name))
            return redirect(reverse("assessment:scheme", kwargs={"pk": scheme.pk}) + "#indicators")
    return _scheme_page(request, scheme, indicator_form=form, status=400)


@login_required
@require_POST
@not_found_as_404
def indicator_remove(request: HttpRequest, pk: int) -> HttpResponse:
    indicator = get_scoped(request.user, Indicator.objects.select_related("scheme_version__scheme"), pk)
    scheme = indicator.scheme_version.scheme
    _flash(request, lambda: services.indicator_remove(actor=request.user, indicator=indicator))
    if not Indicator.objects.filter(pk=pk).exists():
        messages.success(request, _("已删除指标 {code}").format(code=indicator.code))
    return redirect(reverse("assessment:scheme", kwargs={"pk": scheme.pk}) + "#indicators")


@login_required
@require_POST
@not_found_as_404
def group_add(request: HttpRequest, pk: int) -> HttpResponse:
    scheme, version = _draft_of(request, pk)
    form = GroupForm(request.POST, prefix="grp")
    if form.is_valid():
        d = form.cleaned_data
        group = attempt(form, lambda: services.group_add(actor=request.user, version=version, name=d["name"],
                                                         weight=d["weight"], kind=d["kind"]))
        if group is not None:
            messages.success(request, _("已添加评分主体 {name}").format(name=group.name))
            return redirect(reverse("assessment:scheme", kwargs={"pk": scheme.pk}) + "#groups")
    return _scheme_page(request, scheme, group_form=form, status=400)


@login_required
@require_POST
@not_found_as_404
def group_remove(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_scoped(request.user, RaterGroup.objects.select_related("scheme_version__scheme"), pk)
    scheme = group.scheme_version.scheme
    _flash(request, lambda: services.group_remove(actor=request.user, group=group))
    if not RaterGroup.objects.filter(pk=pk).exists():
        messages.success(request, _("已删除评分主体 {name}").format(name=group.name))
    return redirect(reverse("assessment:scheme", kwargs={"pk": scheme.pk}) + "#groups")


RULE_FIELD = {"sanction": "sanction_last"}  # the service's field → the form's


@login_required
@require_POST
@not_found_as_404
def rules_update(request: HttpRequest, pk: int) -> HttpResponse:
    scheme, version = _draft_of(request, pk)
    form = RulesForm(request.POST, prefix="rules")
    if form.is_valid():
        try:
            services.version_update(actor=request.user, version=version,
                                    expected_version=form.cleaned_data.get("version"), **form.changes())
        except Conflict as exc:
            form.add_error(None, exc.message)
        except DomainError as exc:
            exc.fields = {RULE_FIELD.get(k, k): v for k, v in exc.fields.items()}
            form_errors(form, exc)
        else:
            messages.success(request, _("已保存考评规则"))
            return redirect(reverse("assessment:scheme", kwargs={"pk": scheme.pk}) + "#rules")
    return _scheme_page(request, scheme, rules_form=form, status=400)


@login_required
@require_POST
@not_found_as_404
def version_publish(request: HttpRequest, pk: int) -> HttpResponse:
    scheme, version = _draft_of(request, pk)
    if _flash(request, lambda: services.version_publish(actor=request.user, version=version)) is not None:
        messages.success(request, _("已发布第 {n} 版，可据此开展考评轮次").format(n=version.number))
    return redirect("assessment:scheme", pk=scheme.pk)


@login_required
@require_POST
@not_found_as_404
def version_new_draft(request: HttpRequest, pk: int) -> HttpResponse:
    scheme = _managed(request, pk)
    draft = _flash(request, lambda: services.version_new_draft(actor=request.user, scheme=scheme))
    if draft is not None:
        messages.success(request, _("已新建第 {n} 版草稿（复制自上一版；进行中的轮次不受影响）").format(n=draft.number))
    return redirect("assessment:scheme", pk=scheme.pk)


# ------------------------------------------------------------------------------------------ rounds


@login_required
@not_found_as_404
def round_new(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    scheme = _managed(request, pk)
    year = timezone.localdate().year
    form = RoundForm(request.POST or None, initial={
        "name": f"{year}年{scheme.name}", "period_key": str(year), "area": scheme.area_id,
        "period_start": dt.date(year, 1, 1), "period_end": dt.date(year, 12, 31)})
    set_choices(form.fields["area"], _area_choices(user, under=scheme.area_path), blank="—")
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        area = get_scoped(user, Area, d["area"], cap=Cap.ASSESS_MANAGE) if d["area"] else None
        rnd = attempt(form, lambda: services.round_create(
            actor=user, scheme=scheme, name=d["name"], area=area, period_key=d["period_key"],
            period_start=d["period_start"], period_end=d["period_end"], scoring_due=d["scoring_due"]))
        if rnd is not None:
            messages.success(request, _("已新建考评轮次，共 {n} 个考评对象").format(n=rnd.subjects.count()))
            return redirect("assessment:round", pk=rnd.pk)
    return render(request, "web/form.html", {
        "form": form, "title": _("新建考评轮次：{name}").format(name=scheme.name), "back": "assessment:index"})


def _multi(form: AssignForm) -> forms.MultipleChoiceField:
    field = form.fields["subjects"]
    assert isinstance(field, forms.MultipleChoiceField)
    return field


def _steps(user: Any, rnd: Round) -> list[Any]:
    return services.available_steps(user, rnd)


def _histogram(totals: list[Decimal], full: Decimal) -> tuple[list[str], list[int]]:
    """Totals in ten bins of a tenth of full marks each (the last bin includes full marks)."""
    full = full if full > 0 else Decimal(100)
    width = full / 10
    labels = [f"{(width * i).normalize():f}–{(width * (i + 1)).normalize():f}" for i in range(10)]
    counts = [0] * 10
    for t in totals:
        counts[min(9, max(0, int(t / width)))] += 1
    return labels, counts


def _charts(rnd: Round, qs: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None, dict[str, Any]]:
    summary = selectors.summary(rnd, qs)
    names = [str(b.get("name")) for b in rnd.scheme_version.bands or []]
    names += [n for n in summary["bands"] if n not in names]
    bands = None
    if summary["bands"]:
        bands = bar_chart(_("各档次对象数"), names, [(_("对象数"), [summary["bands"].get(n, 0) for n in names])])
        bands["series"][0]["data"] = [{"value": summary["bands"].get(n, 0), "itemStyle": {"color": band_colour(n)}}
                                      for n in names]
        bands["legend"] = {"show": False}
    totals = [t for t in qs.values_list("total", flat=True) if t is not None]
    dist = None
    if totals:
        labels, counts = _histogram(totals, services.full_marks(rnd.scheme_version))
        dist = bar_chart(_("总分分布"), labels, [(_("对象数"), counts)])
        dist["legend"] = {"show": False}
        dist["color"] = ["#5b7083"]
    return (chart(bands) if bands else None), (chart(dist) if dist else None), summary


def _round_page(request: HttpRequest, rnd: Round, *, assign_form: AssignForm | None = None,
                status: int = 200) -> HttpResponse:
    user = request.user
    version = rnd.scheme_version
    manage = services.can_manage(user, rnd.area_path)
    groups = list(version.groups.all())
    staff = [g for g in groups if g.kind == GroupKind.STAFF]
    stages = version.stages or []
    qs = selectors.results(user, rnd)
    page = paginate(request, qs, size=100)
    _decorate(page.items)
    names = {g.pk: g.name for g in groups}
    for s in page.items:
        s.group_cells = [s.group_scores.get(g.name) for g in groups]  # type: ignore[attr-defined]
        s.notes_text = describe_notes(s.notes, names)  # type: ignore[attr-defined]
    bands_chart = dist_chart = None
    summary: dict[str, Any] = {}
    if rnd.computed_at is not None:
        bands_chart, dist_chart, summary = _charts(rnd, qs)
    can_assign = manage and rnd.state in (S.DRAFT, S.SELF, S.SCORING) and bool(staff)
    if can_assign:
        assign_form = assign_form or AssignForm(prefix="assign")
        set_choices(assign_form.fields["rater"], [(u.pk, u.get_full_name() or u.get_username())
                                                  for u in selectors.raters(user, rnd)[:MAX_CHOICES]], blank="—")
        set_choices(assign_form.fields["group"], [(g.pk, g.name) for g in staff], blank="—")
        _multi(assign_form).choices = [(s.pk, s.name) for s in qs.order_by("name")[:MAX_CHOICES]]
    sheets = []
    if manage:
        from django.db.models import Count, Q

        sheets = list(scoped(user, Assignment).filter(round=rnd).values("group__name", "group__order").annotate(
            n=Count("pk"), done=Count("pk", filter=Q(submitted_at__isnull=False))).order_by("group__order"))
    queue = []
    if rnd.state == S.REVIEW:
        for s in selectors.review_queue(user, rnd)[:200]:
            mine = next((r for r in s.reviews.all() if r.stage == rnd.stage), None)
            s.current = mine  # type: ignore[attr-defined]
            s.review_form = ReviewForm(prefix=f"r{s.pk}", initial={  # type: ignore[attr-defined]
                "verdict": mine.verdict if mine else None, "note": mine.note if mine else ""})
            queue.append(s)
    mine_units = services.own_units(user)
    declare = list(qs.filter(unit_id__in=mine_units).order_by("name")[:20]) \
        if rnd.state == S.SELF and mine_units else []
    objections = []
    if manage:
        for o in selectors.open_objections(rnd)[:50]:
            o.form = AnswerForm(prefix=f"o{o.pk}")  # type: ignore[attr-defined]
            objections.append(o)
    return render(request, "assessment/round.html", {
        "round": rnd, "version": version, "manage": manage, "groups": groups, "steps": _steps(user, rnd),
        "stage": stages[rnd.stage] if rnd.state == S.REVIEW and rnd.stage < len(stages) else None,
        "stage_labels": [(st.get("name"), LEVEL_LABELS.get(st.get("level", ""), st.get("level"))) for st in stages],
        "page": page, "summary": summary, "bands_chart": bands_chart, "dist_chart": dist_chart,
        "assign_form": assign_form if can_assign else None, "sheets": sheets, "queue": queue, "declare": declare,
        "objections": objections, "full_marks": services.full_marks(version),
        "band_key": "share" if version.band_basis == BandBasis.RANK else "min_score",
        "total_weight": sum((g.weight for g in groups), Decimal(0)), "pdf": notice.pdf_available(),
    }, status=status)


@login_required
@not_found_as_404
def round_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _round_page(request, selectors.round_get(request.user, pk))


@login_required
@require_POST
@not_found_as_404
def round_step(request: HttpRequest, pk: int) -> HttpResponse:
    rnd = selectors.round_get(request.user, pk)
    name = request.POST.get("name", "")
    raw = request.POST.get("version", "")
    moved = _flash(request, lambda: services.round_step(
        actor=request.user, round=rnd, name=name, reason=request.POST.get("reason", ""),
        expected_version=int(raw) if raw.isdigit() else None))
    if moved is not None:
        t = ROUND.get(name)
        messages.success(request, _("已完成：{step}（当前状态：{state}）").format(
            step=t.label if t else name, state=moved.get_state_display()))
    return redirect("assessment:round", pk=rnd.pk)


@login_required
@require_POST
@not_found_as_404
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    rnd = selectors.round_get(user, pk)
    if not services.can_manage(user, rnd.area_path):
        raise Http404
    form = AssignForm(request.POST, prefix="assign")
    _multi(form).choices = [(str(s), str(s)) for s in request.POST.getlist("assign-subjects")]
    if form.is_valid():
        d = form.cleaned_data
        rater = selectors.raters(user, rnd).filter(pk=d["rater"]).first()
        group = rnd.scheme_version.groups.filter(pk=d["group"]).first()
        wanted = {int(x) for x in d["subjects"] if str(x).isdigit()}
        visible = selectors.results(user, rnd)
        subjects = list(visible.filter(pk__in=wanted) if wanted else visible)
        if rater is None:
            form.add_error("rater", _("评分人须为本轮范围内的在岗账号"))
        elif group is None:
            form.add_error("group", _("请选择本轮的评分主体"))
        elif wanted and len(subjects) != len(wanted):
            form.add_error("subjects", _("考评对象不属于本轮"))
        else:
            made = attempt(form, lambda: services.assign(actor=user, round=rnd, group=group, rater=rater,
                                                         subjects=subjects))
            if made is not None:
                messages.success(request, _("已为 {who} 分配 {n} 张评分表（{group}）").format(
                    who=rater.get_username(), n=made, group=group.name))
                return redirect(reverse("assessment:round", kwargs={"pk": rnd.pk}) + "#assign")
    return _round_page(request, rnd, assign_form=form, status=400)


# ------------------------------------------------------------------------------------------ a subject's card


def _noticed_subject(user: Any, pk: int) -> tuple[Subject, bool]:
    """The subject through the scope; or, while its round is in public notice (公示), to any signed-in user (who
    then sees the result and may object, but not the sheets). The flag says whether the scope let it in."""
    try:
        return selectors.subject_get(user, pk), True
    except NotFound:
        subject = Subject.objects.select_related("round", "round__scheme", "round__scheme_version", "unit",
                                                 "area").filter(pk=pk, round__state=S.NOTICE).first()
        if subject is None:
            raise
        return subject, False


def _subject_page(request: HttpRequest, subject: Subject, *, scoped_in: bool = True,
                  objection_form: ObjectionForm | None = None, declare_form: DeclareForm | None = None,
                  review_form: ReviewForm | None = None, status: int = 200) -> HttpResponse:
    user = request.user
    rnd = subject.round
    manage = services.can_manage(user, rnd.area_path)
    detail: dict[str, Any] = selectors.subject_detail(subject) if scoped_in else {
        "computed": [], "sheets": [], "reviews": [],
        "objections": list(scoped(user, Objection).filter(subject=subject).order_by("at"))}  # her own
    if manage:
        for o in detail["objections"]:
            if o.answered_at is None:
                o.form = AnswerForm(prefix=f"o{o.pk}")
    else:
        detail["objections"] = [o for o in detail["objections"] if o.by_id == user.pk or o.answered_at]
    stages = rnd.scheme_version.stages or []
    for r in detail["reviews"]:
        r.stage_name = stages[r.stage]["name"] if r.stage < len(stages) else r.stage
    own = subject.unit_id is not None and subject.unit_id in services.own_units(user)
    may_declare = rnd.state == S.SELF and (own or manage)
    reviewable = scoped_in and rnd.state == S.REVIEW and services.reviewable(user, subject)
    if reviewable and review_form is None:
        mine = next((r for r in detail["reviews"] if r.stage == rnd.stage), None)
        review_form = ReviewForm(prefix=f"r{subject.pk}", initial={"verdict": mine.verdict if mine else None,
                                                                   "note": mine.note if mine else ""})
    _decorate([subject])
    names = {g.pk: g.name for g in rnd.scheme_version.groups.all()}
    return render(request, "assessment/subject.html", {
        "subject": subject, "round": rnd, "detail": detail, "manage": manage, "scoped_in": scoped_in,
        "groups": list(rnd.scheme_version.groups.all()), "notes_text": describe_notes(subject.notes, names),
        "objection_form": (objection_form or ObjectionForm(prefix="obj")) if rnd.state == S.NOTICE else None,
        "declare_form": (declare_form or DeclareForm(initial={
            "self_score": subject.self_score, "self_note": subject.self_note})) if may_declare else None,
        "review_form": review_form if reviewable else None,
        "stage": stages[rnd.stage] if rnd.state == S.REVIEW and rnd.stage < len(stages) else None,
    }, status=status)


@login_required
@not_found_as_404
def subject_detail(request: HttpRequest, pk: int) -> HttpResponse:
    subject, scoped_in = _noticed_subject(request.user, pk)
    return _subject_page(request, subject, scoped_in=scoped_in)


@login_required
@require_POST
@not_found_as_404
def review(request: HttpRequest, pk: int) -> HttpResponse:
    """A verdict of the current stage, from the round's queue or the subject's card (``next`` says where back)."""
    subject = selectors.subject_get(request.user, pk)
    form = ReviewForm(request.POST, prefix=f"r{subject.pk}")
    back = request.POST.get("next") == "round"
    if form.is_valid():
        d = form.cleaned_data
        done = attempt(form, lambda: services.review_record(actor=request.user, subject=subject,
                                                             verdict=d["verdict"], note=d["note"]))
        if done is not None:
            messages.success(request, _("已记录审核结论：{name} {verdict}").format(
                name=subject.name, verdict=done.get_verdict_display()))
            if back:
                return redirect(reverse("assessment:round", kwargs={"pk": subject.round_id}) + "#reviews")
            return redirect("assessment:subject", pk=subject.pk)
    if back:
        messages.error(request, _("{name}：{errors}").format(
            name=subject.name, errors="；".join(str(e) for es in form.errors.values() for e in es)))
        return redirect(reverse("assessment:round", kwargs={"pk": subject.round_id}) + "#reviews")
    return _subject_page(request, subject, review_form=form, status=400)


@login_required
@require_POST
@not_found_as_404
def objection_file(request: HttpRequest, pk: int) -> HttpResponse:
    subject, scoped_in = _noticed_subject(request.user, pk)
    form = ObjectionForm(request.POST, prefix="obj")
    if form.is_valid():
        if attempt(form, lambda: services.objection_file(actor=request.user, subject=subject,
                                                         text=form.cleaned_data["text"])) is not None:
            messages.success(request, _("已提交异议，考评组织单位将在公示期内答复"))
            return redirect("assessment:subject", pk=subject.pk)
    return _subject_page(request, subject, scoped_in=scoped_in, objection_form=form, status=400)


@login_required
@require_POST
@not_found_as_404
def objection_answer(request: HttpRequest, pk: int) -> HttpResponse:
    objection = get_scoped(request.user, Objection.objects.select_related("subject", "subject__round"), pk)
    form = AnswerForm(request.POST, prefix=f"o{objection.pk}")
    back = request.POST.get("next") == "round"
    if form.is_valid():
        if _flash(request, lambda: services.objection_answer(actor=request.user, objection=objection,
                                                             answer=form.cleaned_data["answer"])) is not None:
            messages.success(request, _("已答复异议"))
    else:
        messages.error(request, _("请填写答复"))
    if back:
        return redirect(reverse("assessment:round", kwargs={"pk": objection.subject.round_id}) + "#objections")
    return redirect("assessment:subject", pk=objection.subject_id)


@login_required
@require_POST
@not_found_as_404
def declare(request: HttpRequest, pk: int) -> HttpResponse:
    subject = selectors.subject_get(request.user, pk)
    form = DeclareForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        if attempt(form, lambda: services.self_assess(actor=request.user, subject=subject, score=d["self_score"],
                                                      note=d["self_note"])) is not None:
            messages.success(request, _("已提交自评申报"))
            return redirect("assessment:subject", pk=subject.pk)
    return _subject_page(request, subject, declare_form=form, status=400)


# ------------------------------------------------------------------------------------------ the rater's sheet


def _sheet_rows(sheet: Assignment, posted: dict[int, tuple[str, str]] | None,
                errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    rows = []
    for r in selectors.sheet_rows(sheet):
        ind = r.node.indicator
        mine = r.scored
        points, note = (posted or {}).get(ind.pk, (
            "" if r.score is None else f"{r.score.points.normalize():f}", r.score.note if r.score else ""))
        rows.append({
            "ind": ind, "depth": r.node.depth, "leaf": r.node.leaf, "max": r.node.max_points, "scored": mine,
            "points": points, "note": note, "indent": r.node.depth * 16,
            "point_errors": errors.get(f"score_{ind.pk}", []), "note_errors": errors.get(f"note_{ind.pk}", [])})
    return rows


@login_required
@not_found_as_404
def sheet(request: HttpRequest, pk: int) -> HttpResponse:
    """The rater's scoring page: one table of the indicators, points typed down one column, a note beside each
    deduction; Save keeps the sheet open, Submit makes it final and goes on to the next open sheet."""
    user = request.user
    a = selectors.sheet_get(user, pk)
    posted: dict[int, tuple[str, str]] | None = None
    errors: dict[str, list[str]] = {}
    top: list[str] = []
    status = 200
    if request.method == "POST":
        submit = "submit" in request.POST
        scored = selectors.scored_indicators(a.round)
        posted = {i.pk: (request.POST.get(f"score_{i.pk}", "").strip(), request.POST.get(f"note_{i.pk}", ""))
                  for i in scored}
        raw = request.POST.get("version", "")
        try:
            services.sheet_save(actor=user, sheet=a, scores=posted, submit=submit,
                                expected_version=int(raw) if raw.isdigit() else None)
        except Conflict as exc:
            top.append(exc.message)
            status = 409
        except DomainError as exc:
            errors = exc.fields
            top.append(error_text(exc) if not exc.fields else _("请检查标红的项目"))
            status = 400
        else:
            if submit:
                messages.success(request, _("已提交 {name} 的评分表").format(name=a.subject.name))
                following = selectors.my_sheets(user).filter(round=a.round).first()
                if following is not None:
                    return redirect("assessment:sheet", pk=following.pk)
                return redirect("assessment:index")
            messages.success(request, _("已保存（尚未提交）"))
            return redirect("assessment:sheet", pk=a.pk)
        a.refresh_from_db()
    rows = _sheet_rows(a, posted, errors)
    editable = a.submitted_at is None and a.round.state == S.SCORING and a.rater_id == user.pk
    remaining = selectors.my_sheets(user).filter(round=a.round).exclude(pk=a.pk).count()
    return render(request, "assessment/sheet.html", {
        "sheet": a, "rows": rows, "editable": editable, "top_errors": top,
        "full_marks": sum((r["max"] for r in rows if r["scored"]), Decimal(0)),
        "scored_count": sum(1 for r in rows if r["scored"]), "remaining": remaining,
        "evidence_required": a.round.scheme_version.evidence_required,
    }, status=status)


# ------------------------------------------------------------------------------------------ residents (phone)


def _survey_subject(user: Any, pk: int) -> Subject:
    """A subject of a round with a residents' group over the resident's home area (answered or not: a second
    answer is the service's Conflict, said kindly — not a missing page)."""
    person = as_scope(user).person_id
    home = Person.objects.filter(pk=person).values_list("area__path", flat=True).first() if person else None
    if home:
        ancestors = [home[:k] for k in range(STEP, len(home) + 1, STEP)]
        subject = Subject.objects.select_related("round", "round__scheme_version").filter(
            pk=pk, round__area_path__in=ancestors, round__scheme_version__groups__kind=GroupKind.RESIDENTS).first()
        if subject is not None:
            return subject
    raise Http404


@login_required
def survey(request: HttpRequest, failed: tuple[int, SurveyForm] | None = None, status: int = 200) -> HttpResponse:
    """居民评价 on the phone: the subjects I may still rate, five buttons each, a comment for the bad ones."""
    user = request.user
    has_person = as_scope(user).person_id is not None
    items = []
    for s in selectors.open_surveys(user):
        form = failed[1] if failed and failed[0] == s.pk else SurveyForm(prefix=f"s{s.pk}")
        items.append((s, form))
    rounds: dict[int, tuple[Round, list[Any]]] = {}
    for s, form in items:
        rounds.setdefault(s.round_id, (s.round, []))[1].append((s, form))
    return render(request, "assessment/survey.html", {"rounds": list(rounds.values()), "has_person": has_person},
                  status=status)


@login_required
@require_POST
def survey_answer(request: HttpRequest, pk: int) -> HttpResponse:
    subject = _survey_subject(request.user, pk)
    form = SurveyForm(request.POST, prefix=f"s{subject.pk}")
    if form.is_valid():
        d = form.cleaned_data
        try:
            services.survey_answer(actor=request.user, subject=subject, rating=d["rating"], comment=d["comment"])
        except Conflict as exc:
            messages.warning(request, _("{message}。感谢您的参与，您之前的评价已经记下。").format(
                message=str(exc.message).rstrip("。")))
            return redirect("assessment:survey")
        except DomainError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("感谢您对“{name}”的评价！").format(name=subject.name))
            return redirect("assessment:survey")
    return survey(request, failed=(subject.pk, form), status=400)


# ------------------------------------------------------------------------------------------ public (no sign-in)


def public(request: HttpRequest) -> HttpResponse:
    """红黑榜公示 (public): the published rounds."""
    page = paginate(request, selectors.published_rounds(), size=30)
    return render(request, "assessment/public.html", {"page": page})


def board(request: HttpRequest, pk: int) -> HttpResponse:
    """A published round's 红榜, 黑榜, star list and bands (public): names of the assessed and their results only."""
    rnd = selectors.published_rounds().filter(pk=pk).first()
    if rnd is None:
        raise Http404
    b = selectors.public_board(rnd)
    everyone = b.red + b.black + b.stars + [s for items in b.bands.values() for s in items]
    _decorate(everyone)
    bands = [(name, band_class(name), items) for name, items in b.bands.items()]
    return render(request, "assessment/board.html", {"round": rnd, "board": b, "bands": bands})


# ------------------------------------------------------------------------------------------ credit file


@login_required
@not_found_as_404
def credit_file(request: HttpRequest, pk: int) -> HttpResponse:
    """A unit's 信用档案: every published result and every sanction (a bar shows until its last day)."""
    user = request.user
    unit = get_scoped(user, MemberUnit, pk)
    file = selectors.credit_file(user, unit)
    _decorate(file["entries"])
    today = timezone.localdate()
    for x in file["sanctions"]:
        x.active = x.lifted_at is None and x.starts_on <= today <= x.ends_on
        x.form = LiftForm(prefix=f"l{x.pk}") if x.active and services.can_manage(user, x.area_path) else None
    return render(request, "assessment/credit_file.html", {**file, "today": today})


@login_required
@require_POST
@not_found_as_404
def sanction_lift(request: HttpRequest, pk: int) -> HttpResponse:
    sanction = get_scoped(request.user, Sanction, pk)
    form = LiftForm(request.POST, prefix=f"l{sanction.pk}")
    if not form.is_valid():
        messages.error(request, _("请填写解除理由"))
    elif _flash(request, lambda: services.sanction_lift(actor=request.user, sanction=sanction,
                                                        reason=form.cleaned_data["reason"])) is not None:
        messages.success(request, _("已解除惩戒"))
    return redirect("assessment:credit_file", pk=sanction.unit_id)
