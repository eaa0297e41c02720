"""Reads of dispatch intelligence: a case's suggestion, the model versions and their scores, how suggestions fared
with the dispatchers (live precision), the corrections, and the per-category switches beside the measured
precision that permits them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.accounts.roles import Cap
from gongzhi.cases import services as case_services
from gongzhi.cases.models import Case, Category
from gongzhi.core.errors import Forbidden
from gongzhi.core.scope import as_scope, scoped

from . import services
from .models import AutoDispatch, ClassifierVersion, DispatchSettings, Suggestion, SuggestionStatus


def may_view(viewer: Any) -> bool:
    s = as_scope(viewer)
    return s.has(Cap.CASE_DISPATCH) or s.has(Cap.CASE_CONFIGURE)


def require_view(viewer: Any) -> None:
    if not may_view(viewer):
        raise Forbidden(_("您没有查看派单智能的权限"))


def suggestion_for(viewer: Any, case: Case) -> Suggestion | None:
    """The suggestion of a case the viewer may see (the case page checked the case itself)."""
    return (scoped(viewer, Suggestion).filter(case_id=case.pk)
            .select_related("category__parent__parent", "unit", "model", "chosen").first())


def preview(viewer: Any, *, title: str, description: str = "", area_path: str = "") -> Suggestion:
    """What the active model would suggest for a text (not saved): the hotline's operator asks before registering."""
    if not as_scope(viewer).has(Cap.CASE_VIEW):
        raise Forbidden(_("您没有查看派单智能的权限"))
    case = Case(title=title, description=description, area_path=area_path)
    return services.make_suggestion(case)


def versions(viewer: Any) -> QuerySet[ClassifierVersion]:
    require_view(viewer)
    return scoped(viewer, ClassifierVersion).defer("blob").order_by("-number")


def active_version(viewer: Any) -> ClassifierVersion | None:
    return versions(viewer).filter(active=True).first()


@dataclass
class LiveFigures:
    """How the suggestions of the last ``days`` fared: taken as they were, corrected, dispatched automatically,
    below the threshold, and still open."""

    days: int
    total: int = 0
    accepted: int = 0
    corrected: int = 0
    auto: int = 0
    waiting: int = 0
    prefilled: int = 0

    @property
    def decided(self) -> int:
        return self.accepted + self.corrected

    @property
    def live_precision(self) -> float | None:
        return self.accepted / self.decided if self.decided else None


def live_figures(viewer: Any, *, days: int = 30) -> LiveFigures:
    require_view(viewer)
    since = timezone.now() - dt.timedelta(days=days)
    rows = (scoped(viewer, Suggestion).filter(created_at__gte=since).values("status")
            .annotate(n=Count("pk")).order_by())
    figures = LiveFigures(days=days)
    for row in rows:
        setattr(figures, str(row["status"]), int(row["n"]))
        figures.total += int(row["n"])
    return figures


def corrections(viewer: Any, *, limit: int = 20) -> list[Suggestion]:
    require_view(viewer)
    return list(scoped(viewer, Suggestion).filter(status=SuggestionStatus.CORRECTED)
                .select_related("case", "category", "chosen", "decided_by").order_by("-decided_at")[:limit])


@dataclass
class SwitchRow:
    label: str  # the model's label (a category code)
    category: Category | None
    precision: float | None
    recall: float | None
    support: int
    predicted: int
    switch: AutoDispatch | None


def switch_rows(viewer: Any) -> list[SwitchRow]:
    """One row per label of the active model: its hold-out precision and recall, and the switch of the category."""
    version = active_version(viewer)
    if version is None:
        return []
    by_code = case_services.CATEGORIES_BY_CODE.get()
    switches = {a.category.code: a for a in AutoDispatch.objects.select_related("category")}
    rows = []
    for label in version.labels:
        score = version.scores.get("per_label", {}).get(label, {})
        rows.append(SwitchRow(label=label, category=by_code.get(label), precision=score.get("precision"),
                              recall=score.get("recall"), support=int(score.get("support", 0)),
                              predicted=int(score.get("predicted", 0)), switch=switches.get(label)))
    return rows


def settings_row(viewer: Any) -> DispatchSettings:
    require_view(viewer)
    return DispatchSettings.current()


def waiting_count(viewer: Any) -> int:
    """Cases still to be accepted whose suggestion fell below the threshold (待人工分类), for the workbench."""
    return scoped(viewer, Suggestion).filter(Q(status=SuggestionStatus.WAITING), case__state="submitted").count()
