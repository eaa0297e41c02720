"""Pages of dispatch intelligence: the models page (the active model's hold-out scores and reliability diagram, how
suggestions fared with the dispatchers, corrections, versions with activate / roll back / train) and the settings
page (the confidence threshold, the auto-dispatch switch of each category beside its measured precision)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from gongzhi.accounts.roles import Cap
from gongzhi.cases import services as case_services
from gongzhi.core.scope import scope_of
from gongzhi.web.pages import attempt, attempt_flash, chart

from . import selectors, services


def _require(request: HttpRequest) -> None:
    if not selectors.may_view(request.user):
        raise Http404


def reliability_chart(reliability: list[list[float]]) -> dict[str, Any]:
    """Reliability diagram: for each confidence band, how often the suggestion was right, beside the diagonal a
    perfectly calibrated model would follow."""
    labels = [f"{round(conf * 100)}%" for conf, _acc, _n in reliability]
    return chart({
        "title": {"text": _("可靠性图：置信度与实际准确率"), "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 28, "itemWidth": 12, "itemHeight": 8},
        "grid": {"left": 8, "right": 16, "top": 72, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": labels, "name": _("平均置信度")},
        "yAxis": {"type": "value", "max": 100, "name": "%"},
        "color": ["#c0272d", "#5b7083"],
        "series": [
            {"name": _("实际准确率"), "type": "bar", "barMaxWidth": 28,
             "data": [round(acc * 100, 1) for _conf, acc, _n in reliability]},
            {"name": _("理想校准"), "type": "line", "symbol": "none",
             "data": [round(conf * 100, 1) for conf, _acc, _n in reliability]},
        ],
    })


@login_required
def index(request: HttpRequest) -> HttpResponse:
    _require(request)
    user = request.user
    active = selectors.active_version(user)
    versions = list(selectors.versions(user)[:30])
    live = selectors.live_figures(user, days=30)
    by_code = case_services.CATEGORIES_BY_CODE.get()
    per_label = []
    if active is not None:
        for label, row in sorted(active.scores.get("per_label", {}).items()):
            category = by_code.get(label)
            per_label.append({"label": label, "name": category.name if category else label, **row})
    context = {
        "active": active, "versions": versions, "live": live, "per_label": per_label,
        "corrections": selectors.corrections(user, limit=20),
        "can_configure": scope_of(user).has(Cap.CASE_CONFIGURE),
        "chart_reliability": reliability_chart(active.scores.get("reliability", [])) if active else None,
    }
    return render(request, "dispatch/index.html", context)


@login_required
@require_POST
def version_act(request: HttpRequest) -> HttpResponse:
    _require(request)
    user = request.user
    what = request.POST.get("action", "")
    if what == "train":
        job = attempt_flash(request, lambda: services.train_start(actor=user, activate=bool(
            request.POST.get("activate"))))
        if job is not None:
            messages.success(request, _("已开始训练，可在任务页查看进度"))
            return redirect("jobs:detail", pk=job.pk)
        return redirect("dispatch:index")
    if what == "rollback":
        done = attempt_flash(request, lambda: services.version_rollback(actor=user,
                                                                        reason=request.POST.get("reason", "")))
    elif what == "activate":
        raw = request.POST.get("number", "")
        version = selectors.versions(user).filter(number=int(raw)).first() if raw.isdigit() else None
        if version is None:
            raise Http404
        done = attempt_flash(request, lambda: services.version_activate(
            actor=user, version=version, force=bool(request.POST.get("force")),
            reason=request.POST.get("reason", "")))
    else:
        raise Http404
    if done is not None:
        messages.success(request, _("已启用 v{n}").format(n=done.number))
    return redirect("dispatch:index")


class ThresholdForm(forms.Form):
    confidence_threshold = forms.IntegerField(label=gettext_lazy("预填置信度下限（百分比）"), min_value=0,
                                              max_value=100)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    _require(request)
    user = request.user
    row = selectors.settings_row(user)
    form = ThresholdForm(request.POST or None, initial={
        "confidence_threshold": round(row.confidence_threshold * 100), "version": row.version})
    if request.method == "POST" and request.POST.get("action") == "threshold" and form.is_valid():
        done = attempt(form, lambda: services.threshold_set(
            actor=user, threshold=form.cleaned_data["confidence_threshold"] / 100,
            expected_version=form.cleaned_data["version"]))
        if done is not None:
            messages.success(request, _("已保存"))
            return redirect("dispatch:settings")
    if request.method == "POST" and request.POST.get("action") == "switch":
        category = case_services.CATEGORIES_BY_CODE.get().get(request.POST.get("code", "")[:16])
        if category is None:
            raise Http404
        raw = request.POST.get("min_precision", "")
        try:
            minimum = float(raw) / 100
        except ValueError:
            minimum = -1.0
        version_raw = request.POST.get("version", "")
        switched = attempt_flash(request, lambda: services.auto_dispatch_set(
            actor=user, category=category, enabled=request.POST.get("enabled") == "1", min_precision=minimum,
            expected_version=int(version_raw) if version_raw.isdigit() else None))
        if switched is not None:
            messages.success(request, _("已开启自动派遣") if switched.enabled else _("已关闭自动派遣"))
        return redirect("dispatch:settings")
    context = {"form": form, "rows": selectors.switch_rows(user), "minimum_support": services.MIN_SUPPORT_FOR_AUTO,
               "can_configure": scope_of(user).has(Cap.CASE_CONFIGURE), "threshold": row.confidence_threshold}
    return render(request, "dispatch/settings.html", context)
