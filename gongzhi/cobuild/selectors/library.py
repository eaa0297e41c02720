"""Reading the demand and resource libraries: lists through the scope, and the suggested resources for a need.

The resource library a community browses holds more than the resources of its own subtree (``scoped``): a district
hospital's 义诊 offered to the whole district sits on the district's node but serves the community, so the library
also shows every resource whose reach covers some part of the viewer's area. That is what the owner published it
for; editing stays with the owner (:func:`gongzhi.cobuild.services.library.can_act_for_resource`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, F, FloatField, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Length, NullIf
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.accounts.roles import Cap
from gongzhi.core.errors import NotFound
from gongzhi.core.scope import as_scope, get_scoped, scoped
from gongzhi.registry.models import Area, AreaKind

from ..models import Match, Need, Resource, ResourceReach
from ..workflow import MatchState, NeedState

STEP = Area.steplen
LIVE = (MatchState.PROPOSED, MatchState.CONFIRMED)
FAILED = (MatchState.CANCELLED, MatchState.DECLINED)


def _ancestor_paths(path: str) -> list[str]:
    """The path itself and every ancestor's: a reach covers the area when its path is one of these."""
    return [path[:k] for k in range(STEP, len(path) + 1, STEP)]


def _explain(r: Resource, reach_path: str, need_path: str, kinds: dict[str, str], left: int, done: int,
             failed: int) -> tuple[str, str]:
    label = _reach_label(reach_path, need_path, kinds)
    history = (_("以往对接 {n} 次完成 {d} 次").format(n=done + failed, d=done) if done + failed
               else _("暂无对接记录"))
    return label, " · ".join([_("同类资源"), label, _("剩余 {n} {m}").format(n=left, m=r.measure), history])


# ------------------------------------------------------------------------------------------------ needs


def needs(viewer: Any, *, kind: str = "", state: str = "", area: Area | None = None) -> QuerySet[Need]:
    qs = scoped(viewer, Need).select_related("area")
    if kind:
        qs = qs.filter(kind=kind)
    if state == "live":
        qs = qs.filter(state__in=[NeedState.OPEN, NeedState.MATCHED, NeedState.IN_DELIVERY])
    elif state:
        qs = qs.filter(state=state)
    if area is not None:
        qs = qs.filter(area_path__startswith=area.path)
    return qs.order_by("-created_at", "-pk")


def need_get(viewer: Any, pk: Any) -> Need:
    return get_scoped(viewer, Need.objects.select_related("area", "case", "created_by"), pk)


# ------------------------------------------------------------------------------------------------ resources


def resources(viewer: Any, *, kind: str = "", owner_kind: str = "", area: Area | None = None,
              active: str = "1", mine: bool = False) -> QuerySet[Resource]:
    """The resource library as the viewer may browse it: her scope, plus what is offered to her area."""
    base = scoped(viewer, Resource)
    if mine:
        s = as_scope(viewer)
        units = s.unit_ids(Cap.COBUILD_OFFER)
        q = Q(unit_id__in=units) if units else Q(pk__in=[])
        if s.person_id is not None:
            q |= Q(person_id=s.person_id)
        qs = base.filter(q)
    else:
        qs = base  # the scope rule includes what is offered to her area (scoping._reach_covers)
    qs = qs.select_related("unit", "organisation", "person", "area")
    if kind:
        qs = qs.filter(kind=kind)
    if owner_kind:
        qs = qs.filter(owner_kind=owner_kind)
    if active == "1":
        qs = qs.filter(active=True)
    elif active == "0":
        qs = qs.filter(active=False)
    if area is not None:
        qs = qs.filter(Q(area_path__startswith=area.path) | Q(pk__in=ResourceReach.objects.filter(
            Q(area_path__startswith=area.path) | Q(area_path__in=_ancestor_paths(area.path))).values("resource_id")))
    return qs.order_by("-created_at", "-pk")


def resource_get(viewer: Any, pk: Any) -> Resource:
    try:
        return resources(viewer, active="").get(pk=int(pk))
    except (Resource.DoesNotExist, ValueError, TypeError):
        raise NotFound("未找到") from None


def reach_of(resource: Resource) -> list[Area]:
    ids = ResourceReach.objects.filter(resource=resource).values("area_id")
    return list(Area.objects.filter(pk__in=ids).order_by("path"))


def owner_name(resource: Resource) -> str:
    owner = resource.unit or resource.organisation or resource.person
    return str(owner) if owner is not None else ""


# ------------------------------------------------------------------------------------------------ matches


def matches(viewer: Any) -> QuerySet[Match]:
    """Matches the viewer may see: the scope (need side, unit, person) and those of resources she may see as
    theirs (a party organisation's, seen by the staff over it)."""
    own = scoped(viewer, Resource).values("pk")
    qs = scoped(viewer, Match) | Match.objects.filter(resource_id__in=own)
    return qs.select_related("need", "need__area", "resource", "resource__unit", "resource__organisation",
                             "resource__person").order_by("-created_at", "-pk")


def match_get(viewer: Any, pk: Any) -> Match:
    try:
        return matches(viewer).get(pk=int(pk))
    except (Match.DoesNotExist, ValueError, TypeError):
        raise NotFound("未找到") from None


def resource_for_need(viewer: Any, need: Need, pk: Any) -> Resource:
    """A resource to propose for a need the viewer sees: one she may browse, or any active one that serves the
    need's area (a suggestion may come from beyond her own library)."""
    try:
        rid = int(pk)
    except (TypeError, ValueError):
        raise NotFound("未找到") from None
    reach = ResourceReach.objects.filter(area_path__in=_ancestor_paths(need.area_path)).values("resource_id")
    hit = (Resource.objects.filter(pk=rid, active=True, pk__in=reach).first()
           or resources(viewer, active="").filter(pk=rid).first())
    if hit is None:
        raise NotFound("未找到")
    return hit


# ------------------------------------------------------------------------------------------------ suggestions


@dataclass
class Suggestion:
    resource: Resource
    rank: int
    reach_path: str
    reach_label: str
    left: int
    done: int
    failed: int
    explanation: str

    @property
    def reliability(self) -> float | None:
        total = self.done + self.failed
        return round(self.done / total, 2) if total else None


def _count_of(states: tuple[str, ...]) -> Subquery:
    return Subquery(Match.objects.filter(resource=OuterRef("pk"), state__in=states).order_by()
                    .values("resource").annotate(n=Count("pk")).values("n")[:1], output_field=IntegerField())


def _reach_label(reach_path: str, need_path: str, kinds: dict[str, str]) -> str:
    kind = kinds.get(reach_path, "")
    labels: dict[str, str] = {
        AreaKind.COMPOUND: _("服务本小区"), AreaKind.GRID: _("服务本网格"), AreaKind.COMMUNITY: _("服务本社区"),
        AreaKind.STREET: _("服务本街道"), AreaKind.DISTRICT: _("服务全区"), AreaKind.CITY: _("服务全市"),
    }
    return labels.get(kind, _("服务本社区") if reach_path == need_path else _("服务上级区域"))


def suggest(need: Need, limit: int = 10, *, today: dt.date | None = None) -> list[Suggestion]:
    """Resources for a need, best first: of its kind, active and valid today, with capacity left, whose reach covers
    the need's area — ranked by how close that reach is (same community → street → district), then capacity left,
    then past reliability (matches completed against those cancelled or declined). Each with its reasons.

    Two queries whatever the number of resources: the candidates with everything the ranking needs computed in the
    database (reach driven by the ``reach_path_idx`` on the need's few ancestor paths), and the ancestors' kinds for
    the explanations.
    """
    today = today or timezone.localdate()
    limit = max(1, min(int(limit), 200))
    paths = _ancestor_paths(need.area_path)
    reach = ResourceReach.objects.filter(area_path__in=paths)
    closest = (reach.filter(resource=OuterRef("pk")).annotate(n=Length("area_path")).order_by("-n")
               .values("area_path")[:1])
    done = Coalesce(_count_of((MatchState.DONE,)), Value(0))
    failed = Coalesce(_count_of(FAILED), Value(0))
    qs = (Resource.objects
          .filter(kind=need.kind, active=True, valid_from__lte=today, valid_until__gte=today,
                  used__lt=F("capacity"), pk__in=reach.values("resource_id"))
          .exclude(Exists(Match.objects.filter(need=need, resource=OuterRef("pk"), state__in=LIVE)))
          .annotate(reach_path=Subquery(closest), done_n=done, failed_n=failed)
          .annotate(closeness=Length("reach_path"), left_n=F("capacity") - F("used"),
                    reliability=Coalesce(
                        Cast(F("done_n"), FloatField())
                        / NullIf(Cast(F("done_n") + F("failed_n"), FloatField()), Value(0.0)),
                        Value(-1.0)))
          .select_related("unit", "organisation", "person")
          .order_by("-closeness", "-left_n", "-reliability", "pk"))
    rows = list(qs[:limit])
    if not rows:
        return []
    kinds = dict(Area.objects.filter(path__in=paths).values_list("path", "kind"))
    out = []
    for i, r in enumerate(rows, start=1):
        label, text = _explain(r, r.reach_path, need.area_path, kinds, r.left_n, r.done_n, r.failed_n)
        out.append(Suggestion(resource=r, rank=i, reach_path=r.reach_path, reach_label=label, left=r.left_n,
                              done=r.done_n, failed=r.failed_n, explanation=text))
    return out


MAX_AREA_NEEDS = 2000


def suggest_for_area(viewer: Any, area: Area, limit: int = 3, *,
                     today: dt.date | None = None) -> list[tuple[Need, list[Suggestion]]]:
    """Every open need of an area (a street's or a district's, as far as the viewer sees them) with its best
    suggestions, ranked exactly as :func:`suggest` ranks them — but in five queries for the whole area instead of
    two per need: the needs, the candidate resources of their kinds with the reach rows that cover any of the needs'
    areas, their match history, the live matches of these needs, and the areas' kinds for the explanations."""
    today = today or timezone.localdate()
    limit = max(1, min(int(limit), 10))
    open_needs = list(needs(viewer, state=NeedState.OPEN, area=area)[:MAX_AREA_NEEDS])
    if not open_needs:
        return []
    paths = sorted({p for n in open_needs for p in _ancestor_paths(n.area_path)})
    reach_rows = list(ResourceReach.objects.filter(
        area_path__in=paths, resource__kind__in={n.kind for n in open_needs}, resource__active=True,
        resource__valid_from__lte=today, resource__valid_until__gte=today, resource__used__lt=F("resource__capacity"),
    ).select_related("resource__unit", "resource__organisation", "resource__person"))
    resources: dict[int, Resource] = {}
    reach_of: dict[int, list[str]] = {}
    for row in reach_rows:
        resources[row.resource_id] = row.resource
        reach_of.setdefault(row.resource_id, []).append(row.area_path)
    history: dict[int, tuple[int, int]] = {}
    for counts in (Match.objects.filter(resource_id__in=list(resources), state__in=(MatchState.DONE, *FAILED))
                   .values("resource_id").annotate(done=Count("pk", filter=Q(state=MatchState.DONE)),
                                                   failed=Count("pk", filter=Q(state__in=FAILED)))):
        history[counts["resource_id"]] = (counts["done"], counts["failed"])
    taken = set(Match.objects.filter(need__in=open_needs, state__in=LIVE).values_list("need_id", "resource_id"))
    kinds = dict(Area.objects.filter(path__in=paths).values_list("path", "kind"))
    by_kind: dict[str, list[Resource]] = {}
    for r in resources.values():
        by_kind.setdefault(r.kind, []).append(r)
    out = []
    for need in open_needs:
        ancestors = set(_ancestor_paths(need.area_path))
        ranked = []
        for r in by_kind.get(need.kind, []):
            covering = [p for p in reach_of[r.pk] if p in ancestors]
            if not covering or (need.pk, r.pk) in taken:
                continue
            done, failed = history.get(r.pk, (0, 0))
            reliability = done / (done + failed) if done + failed else -1.0
            closest = max(covering, key=len)
            ranked.append((-len(closest), -(r.capacity - r.used), -reliability, r.pk, r, closest, done, failed))
        ranked.sort(key=lambda t: t[:4])
        suggestions = []
        for i, (_c, _l, _rel, _pk, r, closest, done, failed) in enumerate(ranked[:limit], start=1):
            label, text = _explain(r, closest, need.area_path, kinds, r.capacity - r.used, done, failed)
            suggestions.append(Suggestion(resource=r, rank=i, reach_path=closest, reach_label=label,
                                          left=r.capacity - r.used, done=done, failed=failed, explanation=text))
        out.append((need, suggestions))
    return out
