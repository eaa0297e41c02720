"""Reads of projects, the claiming pool, claims, deliveries, volunteer hours and the 双报到 feedback.

Staff and units read through :func:`gongzhi.core.scope.scoped`; residents read public projects of their own
community (and the street, district and city above it) through :func:`public_q`, never the staff rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.accounts.roles import Cap
from gongzhi.core.errors import NotFound
from gongzhi.core.scope import as_scope, get_scoped, scope_q, scoped
from gongzhi.registry.models import Area, AreaKind, DualRegistration, PartyMember, PartyOrganisation, Person

from ..models import Claim, Delivery, Milestone, Participation, Project, ProjectRating, VolunteerTeam
from ..scoping import DISTRICT_PATH
from ..workflow import ClaimState, ProjectState

STEP = Area.steplen
LATE_STATES = (ProjectState.OPEN, ProjectState.IN_PROGRESS)
MAX_ROWS = 200


# ---------------------------------------------------------------------------------------------- projects


def is_overdue(project: Project, today: dt.date | None = None) -> bool:
    """已超期: past its 时限 and not yet handed in for acceptance (computed, like the cases' deadline flags)."""
    today = today or timezone.localdate()
    return project.state in LATE_STATES and project.due_on < today


def _home_community(person_id: int | None) -> str | None:
    if person_id is None:
        return None
    path = Person.objects.filter(pk=person_id).values_list("area__path", flat=True).first()
    if not path:
        return None
    prefixes = [path[:k] for k in range(STEP, len(path) + 1, STEP)]
    return Area.objects.filter(path__in=prefixes, kind=AreaKind.COMMUNITY).values_list("path", flat=True).first()


def public_q(actor: Any) -> Q | None:
    """Public projects a resident sees: those of her community and its subtree, and of the street, district and city
    above it."""
    community = _home_community(as_scope(actor).person_id)
    if community is None:
        return None
    ancestors = [community[:k] for k in range(STEP, len(community), STEP)]
    return Q(public=True) & (Q(area_path__startswith=community) | Q(area_path__in=ancestors))


def visible(actor: Any) -> QuerySet[Project]:
    """Everything the actor may read: her scope (staff, units, the person in charge) or the public projects."""
    terms = [q for q in (scope_q(as_scope(actor), Project), public_q(actor)) if q is not None]
    if not terms:
        return Project.objects.none()
    q = terms[0]
    for more in terms[1:]:
        q |= more
    return Project.objects.filter(q)


def projects(actor: Any, *, list_type: str = "", state: str = "", area: Area | None = None,
             overdue: bool = False, claimed_by_me: bool = False, today: dt.date | None = None) -> QuerySet[Project]:
    today = today or timezone.localdate()
    qs = visible(actor).select_related("list_type", "area", "lead_unit", "person_in_charge")
    if list_type:
        qs = qs.filter(list_type__code=list_type)
    if state:
        qs = qs.filter(state=state)
    if area is not None:
        qs = qs.filter(area_path__startswith=area.path)
    if overdue:
        qs = qs.filter(state__in=LATE_STATES, due_on__lt=today)
    return qs.order_by("-created_at", "-pk")


def project_get(actor: Any, pk: int) -> Project:
    try:
        return visible(actor).select_related("list_type", "area", "lead_unit", "person_in_charge", "need",
                                             "agenda_item", "commitment_item").get(pk=pk)
    except (Project.DoesNotExist, ValueError, TypeError):
        raise NotFound("未找到") from None


def milestones(project: Project) -> list[Milestone]:
    return list(project.milestones.all())


def reports(project: Project) -> list[Any]:
    return list(project.reports.select_related("reported_by").prefetch_related("photos")[:50])


def ratings(project: Project) -> list[ProjectRating]:
    return list(project.ratings.select_related("person").order_by("-rated_at")[:50])


def has_rated(actor: Any, project: Project) -> bool:
    person = as_scope(actor).person_id
    return person is not None and project.ratings.filter(person_id=person).exists()


# ---------------------------------------------------------------------------------------------- claiming


@dataclass
class Identity:
    """亮身份、亮职责、亮承诺: who claimed, as what, and what she promised."""

    claim: Claim
    who: str
    as_what: str
    organisation: str = ""
    work_unit: str = ""
    registered: list[str] = field(default_factory=list)


def claimant_districts(actor: Any) -> list[str]:
    """Where the actor may take 实事: her units' districts, her home district, the districts she registered with
    (双报到) or volunteers in, and the subtree she manages."""
    s = as_scope(actor)
    paths: set[str] = set()
    units = s.unit_ids(Cap.COBUILD_OFFER)
    if units:
        from gongzhi.registry.models import MemberUnit

        paths.update(p[:DISTRICT_PATH] for p in MemberUnit.objects.filter(pk__in=units)
                     .values_list("area__path", flat=True))
    if s.person_id is not None:
        from ..services.projects import _claimant_reach

        paths.update(_claimant_reach(None, s.person_id))
    return sorted(paths)


def pool(actor: Any, *, area: Area | None = None, list_type: str = "") -> QuerySet[Project]:
    """认领池: claimable projects with places left, in the actor's districts (and the subtree she manages)."""
    s = as_scope(actor)
    q = Q()
    reach = False
    for d in claimant_districts(actor):
        q |= Q(area_path__startswith=d)
        reach = True
    for prefix in s.area_prefixes(Cap.COBUILD_VIEW):
        q |= Q(area_path__startswith=prefix)
        reach = True
    if not reach:
        return Project.objects.none()
    qs = Project.objects.filter(q, list_type__claimable=True, public=True,
                                state__in=(ProjectState.OPEN, ProjectState.IN_PROGRESS),
                                claims_active__lt=F("claim_limit"))
    if area is not None:
        qs = qs.filter(area_path__startswith=area.path)
    if list_type:
        qs = qs.filter(list_type__code=list_type)
    return qs.select_related("list_type", "area").order_by("due_on", "pk")


def my_claims(actor: Any) -> QuerySet[Claim]:
    s = as_scope(actor)
    q = Q(pk__in=[])
    if s.person_id is not None:
        q |= Q(person_id=s.person_id)
    units = s.unit_ids(Cap.COBUILD_OFFER)
    if units:
        q |= Q(unit_id__in=units)
    return (Claim.objects.filter(q).select_related("project", "project__list_type", "project__area", "unit", "person")
            .order_by("-claimed_at", "-pk"))


def claim_get(actor: Any, pk: int) -> Claim:
    try:
        return my_claims(actor).get(pk=pk)
    except Claim.DoesNotExist:
        return get_scoped(actor, Claim.objects.select_related("project", "unit", "person"), pk)


def identities(project: Project) -> list[Identity]:
    """The claims of a project with each claimant's party identity and pledge (two queries for any number)."""
    claims = list(project.claims.select_related("unit", "person").order_by("claimed_at", "pk"))
    people = [c.person_id for c in claims if c.person_id]
    members = {m.person_id: m for m in PartyMember.objects.filter(person_id__in=people)
               .select_related("organisation", "work_unit")}
    regs: dict[int, list[str]] = {}
    for pid, name in DualRegistration.objects.filter(party_member__person_id__in=people).values_list(
            "party_member__person_id", "community__name"):
        regs.setdefault(pid, []).append(name)
    out = []
    for c in claims:
        if c.unit_id:
            out.append(Identity(claim=c, who=c.unit.name if c.unit else "", as_what=_("驻区单位")))
            continue
        m = members.get(c.person_id or 0)
        if m is not None:
            out.append(Identity(claim=c, who=c.person.name if c.person else "", as_what=(
                _("在职党员") if m.in_service else _("党员")), organisation=m.organisation.name,
                work_unit=m.work_unit.name if m.work_unit else "", registered=regs.get(c.person_id or 0, [])))
        else:
            out.append(Identity(claim=c, who=c.person.name if c.person else "", as_what=_("志愿者")))
    return out


# ---------------------------------------------------------------------------------------------- deliveries


def deliveries(actor: Any, *, area: Area | None = None, unit_id: int | None = None, project: Project | None = None,
               since: dt.date | None = None, until: dt.date | None = None) -> QuerySet[Delivery]:
    qs = scoped(actor, Delivery)
    if project is not None:
        qs = qs.filter(project=project)
    if area is not None:
        qs = qs.filter(area_path__startswith=area.path)
    if unit_id:
        qs = qs.filter(unit_id=unit_id)
    if since:
        qs = qs.filter(delivered_on__gte=since)
    if until:
        qs = qs.filter(delivered_on__lte=until)
    return qs.select_related("area", "unit", "team", "project").order_by("-delivered_on", "-pk")


def project_deliveries(project: Project) -> list[Delivery]:
    """A readable project's deliveries (the project page: whoever may read the project sees what was done)."""
    return list(project.deliveries.select_related("area", "unit", "team").prefetch_related("photos")
                .order_by("-delivered_on", "-pk")[:50])


def teams(actor: Any) -> QuerySet[VolunteerTeam]:
    return scoped(actor, VolunteerTeam).select_related("area", "unit").annotate(size=Count("members")).order_by(
        "area_path", "name")


# ---------------------------------------------------------------------------------------------- hours


def _period(qs: QuerySet[Any], since: dt.date | None, until: dt.date | None, field: str = "delivered_on") -> Any:
    if since:
        qs = qs.filter(**{f"{field}__gte": since})
    if until:
        qs = qs.filter(**{f"{field}__lte": until})
    return qs


def hours_per_person(actor: Any, *, area: Area | None = None, since: dt.date | None = None,
                     until: dt.date | None = None, limit: int = MAX_ROWS) -> list[dict[str, Any]]:
    """志愿服务时长 per person in the actor's scope, most hours first (one grouped query)."""
    qs = _period(scoped(actor, Participation), since, until)
    if area is not None:
        qs = qs.filter(area_path__startswith=area.path)
    return list(qs.values("person_id", "person__name").annotate(hours=Sum("hours"), times=Count("pk"))
                .order_by("-hours", "person_id")[:limit])


def my_hours(actor: Any, *, since: dt.date | None = None, until: dt.date | None = None) -> dict[str, Any]:
    """A person's own hours and the services behind them."""
    person = as_scope(actor).person_id
    if person is None:
        return {"hours": Decimal("0"), "times": 0, "rows": []}
    qs = _period(Participation.objects.filter(person_id=person), since, until)
    total = qs.aggregate(hours=Sum("hours"), times=Count("pk"))
    rows = list(qs.select_related("delivery", "delivery__area", "delivery__unit").order_by("-delivered_on",
                                                                                           "-pk")[:MAX_ROWS])
    return {"hours": total["hours"] or Decimal("0"), "times": total["times"], "rows": rows}


def hours_per_team(actor: Any, *, since: dt.date | None = None, until: dt.date | None = None) -> list[dict[str, Any]]:
    qs = _period(scoped(actor, Delivery).filter(team__isnull=False), since, until)
    return list(qs.values("team_id", "team__name").annotate(hours=Sum("hours"), times=Count("pk"),
                                                            served=Sum("beneficiaries"))
                .order_by("-hours", "team_id")[:MAX_ROWS])


def hours_per_unit(actor: Any, *, since: dt.date | None = None, until: dt.date | None = None) -> list[dict[str, Any]]:
    qs = _period(scoped(actor, Delivery).filter(unit__isnull=False), since, until)
    return list(qs.values("unit_id", "unit__name").annotate(hours=Sum("hours"), times=Count("pk"),
                                                            served=Sum("beneficiaries"))
                .order_by("-hours", "unit_id")[:MAX_ROWS])


# ---------------------------------------------------------------------------------------------- 双报到 feedback


@dataclass
class FeedbackRow:
    person_id: int
    name: str
    work_unit: str
    communities: list[str]
    times: int = 0
    hours: Decimal = Decimal("0")
    what: list[str] = field(default_factory=list)


def feedback_orgs(actor: Any) -> QuerySet[PartyOrganisation]:
    """Party organisations whose members' feedback the actor reads: a unit's own branch (its handler), the
    organisations of her subtree (secretaries, the organisation department)."""
    return (scoped(actor, PartyOrganisation, cap=Cap.COBUILD_VIEW).filter(members__in_service=True).distinct()
            .order_by("name"))


def feedback(actor: Any, organisation_id: int, *, since: dt.date | None = None,
             until: dt.date | None = None) -> tuple[PartyOrganisation, list[FeedbackRow]]:
    """双报到反馈: for a party organisation (the 机关 branch), each in-service member's services in the communities
    she registered with — how many times, how many hours, what."""
    org = get_scoped(actor, feedback_orgs(actor), organisation_id)
    members = list(PartyMember.objects.filter(organisation=org, in_service=True)
                   .select_related("person", "work_unit").order_by("person__name", "pk"))
    by_person = {m.person_id: m for m in members}
    regs: dict[int, list[tuple[str, str]]] = {}
    for pid, path, name in DualRegistration.objects.filter(party_member__in=members).values_list(
            "party_member__person_id", "community__path", "community__name"):
        regs.setdefault(pid, []).append((path, name))
    rows = {pid: FeedbackRow(person_id=pid, name=m.person.name, work_unit=m.work_unit.name if m.work_unit else "",
                             communities=[n for _p, n in regs.get(pid, [])]) for pid, m in by_person.items()}
    q = Q(pk__in=[])
    for pid, places in regs.items():
        for path, _name in places:
            q |= Q(person_id=pid, area_path__startswith=path)
    parts = _period(Participation.objects.filter(q), since, until)
    for pid, hours, title in parts.values_list("person_id", "hours", "delivery__title").order_by("-delivered_on"):
        row = rows[pid]
        row.times += 1
        row.hours += hours
        if title not in row.what and len(row.what) < 5:
            row.what.append(title)
    return org, sorted(rows.values(), key=lambda r: (-r.hours, r.name))


def figures(actor: Any, *, since: dt.date | None = None, until: dt.date | None = None) -> dict[str, Any]:
    """Counts for the page heads: projects by state, overdue, claims active, services and hours."""
    today = timezone.localdate()
    ps = scoped(actor, Project)
    by_state = dict(ps.values_list("state").annotate(n=Count("pk")).order_by())
    d = _period(scoped(actor, Delivery), since, until).aggregate(n=Count("pk"), hours=Sum("hours"))
    return {"by_state": by_state, "overdue": ps.filter(state__in=LATE_STATES, due_on__lt=today).count(),
            "claims": scoped(actor, Claim).filter(state=ClaimState.ACTIVE).count(),
            "deliveries": d["n"], "hours": d["hours"] or Decimal("0")}


def units_for(area: Area) -> QuerySet[Any]:
    """Member units that may carry a project at ``area``: those of its district and those above it (a city
    department leads a 实事 in a community)."""
    from gongzhi.registry.models import MemberUnit

    ancestors = [area.path[:k] for k in range(STEP, len(area.path) + 1, STEP)]
    return MemberUnit.objects.filter(Q(area__path__startswith=area.path[:DISTRICT_PATH])
                                     | Q(area__path__in=ancestors)).order_by("name")


def people_for(actor: Any) -> QuerySet[Person]:
    """Whom the actor may name as a volunteer (a participant, a team member): people she sees, her units' party
    members and team members, and herself."""
    s = as_scope(actor)
    units = s.unit_ids(Cap.COBUILD_OFFER)
    q = Q(pk__in=scoped(actor, Person, cap=Cap.VIEW_PEOPLE).values("pk")) | Q(pk=s.person_id or 0)
    if units:
        q |= Q(party_member__work_unit__in=units) | Q(volunteer_teams__unit__in=units)
    return Person.objects.filter(q).distinct()
