"""Reading services anywhere: the catalogue, the queues (the window's, the department's, the resident's own), one
application with what goes with it, and the figures of an area (F5). Every list goes through the scope."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet
from django.utils.translation import gettext as _

from gongzhi.accounts.roles import Cap
from gongzhi.core.scope import scope_of, scoped
from gongzhi.registry.models import Area

from .models import Application, Rating, Rectification, ServiceItem
from .workflow import ApplicationState, RectificationState

A = ApplicationState
WINDOW_STATES = (A.SUBMITTED, A.AWAITING, A.DECIDED)  # what a window acts on: accept, take materials, hand out
DEPARTMENT_STATES = (A.PROCESSING, A.AWAITING)


def catalogue(active_only: bool = True) -> QuerySet[ServiceItem]:
    qs = ServiceItem.objects.select_related("department").prefetch_related("materials").order_by("code")
    return qs.filter(active=True) if active_only else qs


# What a queue row shows (the pages' tables, the API's list): the rest of each row — the form, the notes, the
# areas' boundaries, the item's form definition — stays in the database; a 1M-row queue page builds six model
# instances per row, and leaving ~80 columns out halves the time spent in Python (bench/govservice.py).
LISTED = ("id", "item", "department", "applicant", "area", "window_area", "site", "state", "tongban", "online",
          "agent", "consent", "submitted_at", "accepted_at", "due_at", "paused_days", "missing", "decided_at",
          "approved", "working_days", "on_time", "issued_at", "rating", "version", "area_path", "window_path",
          "item__code", "item__name", "department__name", "applicant__name", "area__name", "window_area__name")


def _listed(qs: QuerySet[Application]) -> QuerySet[Application]:
    return (qs.select_related("item", "applicant", "area", "window_area", "department").only(*LISTED)
            .order_by("-id"))


def window_queue(user: Any, state: str = "") -> QuerySet[Application]:
    """What waits for the viewer's windows: applications accepted at or belonging to her areas, in a state a window
    acts on (待受理, 待补正, 已办结 to hand out)."""
    prefixes = scope_of(user).area_prefixes(Cap.SERVICE_ACCEPT)
    if not prefixes:
        return Application.objects.none()
    where = Q()
    for p in prefixes:
        where |= Q(window_path__startswith=p) | Q(area_path__startswith=p)
    states = [state] if state in A.values else list(WINDOW_STATES)
    return _listed(scoped(user, Application).filter(where, state__in=states))


def department_queue(user: Any, state: str = "") -> QuerySet[Application]:
    units = scope_of(user).unit_ids(Cap.SERVICE_DECIDE)
    if not units:
        return Application.objects.none()
    states = [state] if state in A.values else list(DEPARTMENT_STATES)
    return _listed(scoped(user, Application).filter(department_id__in=units, state__in=states))


def my_applications(user: Any) -> QuerySet[Application]:
    person = scope_of(user).person_id
    if person is None:
        return Application.objects.none()
    return _listed(scoped(user, Application).filter(applicant_id=person))


def applications(user: Any, area: Area | None = None, item: ServiceItem | None = None,
                 state: str = "") -> QuerySet[Application]:
    qs = scoped(user, Application)
    if area is not None:
        qs = qs.filter(area_path__startswith=area.path)
    if item is not None:
        qs = qs.filter(item=item)
    if state in A.values:
        qs = qs.filter(state=state)
    return _listed(qs)


def open_rectifications(user: Any) -> QuerySet[Rectification]:
    units = scope_of(user).unit_ids(Cap.SERVICE_DECIDE)
    return (scoped(user, Rectification).filter(department_id__in=units, state=RectificationState.OPEN)
            .select_related("application__item").order_by("-id"))


@dataclass
class ItemFigure:
    item: ServiceItem
    total: int = 0
    decided: int = 0
    on_time: int = 0
    avg_days: float | None = None

    @property
    def on_time_rate(self) -> float | None:
        return round(100 * self.on_time / self.decided, 1) if self.decided else None


@dataclass
class Figures:
    area: Area
    total: int = 0
    tongban: int = 0
    on_behalf: int = 0
    online: int = 0
    decided: int = 0
    on_time: int = 0
    rated: int = 0
    good: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    by_tier: dict[str, int] = field(default_factory=dict)
    by_window: list[tuple[str, int]] = field(default_factory=list)
    ratings: dict[int, int] = field(default_factory=dict)
    items: list[ItemFigure] = field(default_factory=list)

    def share(self, n: int, of: int) -> float | None:
        return round(100 * n / of, 1) if of else None

    @property
    def tongban_share(self) -> float | None:
        return self.share(self.tongban, self.total)

    @property
    def on_time_rate(self) -> float | None:
        return self.share(self.on_time, self.decided)

    @property
    def good_rate(self) -> float | None:
        return self.share(self.good, self.rated)


def figures(user: Any, area: Area) -> Figures:
    """An area's applications (by home community): by item (on-time rate, average working days against the limit
    before and after the reform), by state, window tier and accepting window; 通办 share; 好差评."""
    qs = scoped(user, Application).filter(area_path__startswith=area.path)
    f = Figures(area=area)
    agg = qs.aggregate(total=Count("id"), tongban=Count("id", filter=Q(tongban=True)),
                       on_behalf=Count("id", filter=~Q(consent="")), online=Count("id", filter=Q(online=True)),
                       decided=Count("id", filter=Q(on_time__isnull=False)),
                       on_time=Count("id", filter=Q(on_time=True)), rated=Count("id", filter=Q(rating__isnull=False)),
                       good=Count("id", filter=Q(rating__gte=4)))
    for k, v in agg.items():
        setattr(f, k, v or 0)
    labels = dict(A.choices)
    f.by_state = {str(labels[s]): n for s, n in qs.values_list("state").annotate(n=Count("id")).order_by("state")}
    from gongzhi.sites.models import Tier

    tiers = dict(Tier.choices)
    for tier, n in qs.values_list("site_tier").annotate(n=Count("id")).order_by("site_tier"):
        key = str(tiers.get(tier, "")) or (str(_("网上申请/上门")) if tier == "" else tier)
        f.by_tier[key] = f.by_tier.get(key, 0) + n
    windows = list(qs.values_list("window_area__name").annotate(n=Count("id")).order_by("-n")[:10])
    f.by_window = [(str(name), n) for name, n in windows]
    f.ratings = {int(r): n for r, n in qs.filter(rating__isnull=False).values_list("rating")
                 .annotate(n=Count("id")).order_by("rating")}
    per = {row["item"]: row for row in qs.values("item").annotate(
        total=Count("id"), decided=Count("id", filter=Q(on_time__isnull=False)),
        on_time=Count("id", filter=Q(on_time=True)), avg_days=Avg("working_days")).order_by("item")}
    for item in ServiceItem.objects.filter(pk__in=per).order_by("code"):
        row = per[item.pk]
        f.items.append(ItemFigure(item=item, total=row["total"], decided=row["decided"], on_time=row["on_time"],
                                  avg_days=round(row["avg_days"], 1) if row["avg_days"] is not None else None))
    return f


RATING_LABELS = dict(Rating.choices)
