"""Pages for the party-building side of the registry: grassroots survey rounds (草根组织排查) and their outcomes
(forming a party organisation, sending a 党建指导员), committee and 大工委/大党委 posts with part-time members
(兼职委员), 双报到, editing a party organisation or a party member, ending a pairing or a staff post.

Same house style as :mod:`.editing`: parse the form → fetch through the scope → call ``registry.services`` →
redirect, or show the service's errors next to the fields (the services are atomic: nothing is written on error)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.accounts.roles import Cap
from gongzhi.core import audit
from gongzhi.core.errors import DomainError
from gongzhi.core.scope import get_scoped, scope_of, scoped
from gongzhi.registry import services as registry
from gongzhi.registry.models import (
    Area,
    AreaKind,
    CommitteeBody,
    DualRegistration,
    GrassrootsGroup,
    GrassrootsSurvey,
    GroupOutcome,
    MemberUnit,
    Pairing,
    PartyMember,
    PartyOrganisation,
    Person,
    PostKind,
    StaffPost,
)
from gongzhi.registry.services import MIN_MEMBERS_FOR_ORG

from .editing import CHOICE_LIMIT, _area_choices, _render_form
from .forms import set_choices
from .pages import attempt as _attempt
from .pages import need as _need
from .pages import not_found_as_404, paginate
from .party_forms import (
    DualRegistrationForm,
    EndPairingForm,
    EndPostForm,
    FormOrgForm,
    GroupForm,
    InstructorForm,
    MemberForm,
    OrgForm,
    OrgPostForm,
    SurveyAreaForm,
    SurveyForm,
)

# A survey round lists every group of its area on one page; a bigger area is surveyed grid by grid.
SURVEY_MAX_GROUPS = 200
SURVEY_AREA_KINDS = [AreaKind.STREET, AreaKind.COMMUNITY, AreaKind.GRID, AreaKind.COMPOUND]
GROUP_AREA_KINDS = [AreaKind.COMMUNITY, AreaKind.GRID, AreaKind.COMPOUND]


def _area_param(request: HttpRequest, cap: str | None = None) -> Area | None:
    raw = request.GET.get("area", "")
    if not raw.isdigit():
        return None
    return get_scoped(request.user, Area, int(raw), cap=cap)


def _with_area(name: str, area_id: int | None) -> str:
    url = reverse(name)
    return f"{url}?area={area_id}" if area_id else url


def _ancestor_orgs(user: Any, area: Area, exclude: int | None = None) -> list[tuple[int, str]]:
    """Organisations on ``area`` or above it (where a parent organisation may sit), as choices."""
    paths = [area.path[: i * Area.steplen] for i in range(1, area.depth + 1)]
    qs = scoped(user, PartyOrganisation).filter(area__path__in=paths).select_related("area")
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return [(o.pk, f"{o.name}（{o.area.name}）") for o in qs.order_by("-area__depth", "name")[:CHOICE_LIMIT]]


def _person_label(p: Person) -> str:
    return f"{p.name}（{p.area.name}）"


# ---------------------------------------------------------------------------------------- grassroots survey


@login_required
@not_found_as_404
def surveys(request: HttpRequest) -> HttpResponse:
    """草根组织排查: the rounds held in the viewer's areas, newest first."""
    area = _area_param(request)
    qs = scoped(request.user, GrassrootsSurvey).select_related("area").annotate(
        n_entries=Count("entries"), n_can_form=Count("entries", filter=Q(entries__can_form_org=True)))
    if area is not None:
        qs = qs.filter(area__path__prefix=area.path)
    page = paginate(request, qs.order_by("-conducted_on", "-pk"))
    return render(request, "web/surveys.html", {
        "page": page, "area": area, "can_add": scope_of(request.user).has(Cap.EDIT_REGISTRY)})


def _entry_errors(form: SurveyForm, exc: DomainError, entries: list[dict[str, Any]]) -> None:
    """The service names entries by position (``entries[2].party_member_count``); put each error on its line."""
    if not exc.fields:
        form.add_error(None, exc.message)
    for key, msgs in exc.fields.items():
        target = key if key in form.fields else form.entry_field(key, entries)
        for message in msgs:
            form.add_error(target if target in form.fields else None, message)


@login_required
@not_found_as_404
def survey_new(request: HttpRequest) -> HttpResponse:
    """A survey round in two steps: pick the area, then one line per grassroots group found there."""
    _need(request, Cap.EDIT_REGISTRY)
    user = request.user
    area = _area_param(request, cap=Cap.EDIT_REGISTRY)
    if area is None:
        pick = SurveyAreaForm()
        set_choices(pick.fields["area"], _area_choices(user, Cap.EDIT_REGISTRY, SURVEY_AREA_KINDS))
        return render(request, "web/survey_new.html", {"pick": pick})
    groups = list(scoped(user, GrassrootsGroup).filter(area__path__prefix=area.path).select_related("area")
                  .order_by("area__path", "pk")[: SURVEY_MAX_GROUPS + 1])
    too_many = len(groups) > SURVEY_MAX_GROUPS
    groups = groups[:SURVEY_MAX_GROUPS]
    form = SurveyForm(request.POST or None, groups=groups, initial={"conducted_on": timezone.localdate()})
    if request.method == "POST" and not too_many and form.is_valid():
        entries = form.entries()
        try:
            survey = registry.survey_record(actor=user, area=area, conducted_on=form.cleaned_data["conducted_on"],
                                            entries=entries, note=form.cleaned_data["note"])
        except DomainError as exc:
            _entry_errors(form, exc, entries)
        else:
            messages.success(request, _("已登记排查：{n} 个草根组织").format(n=len(entries)))
            return redirect("web:survey", pk=survey.pk)
    return render(request, "web/survey_new.html", {"area": area, "form": form, "too_many": too_many,
                                                   "max_groups": SURVEY_MAX_GROUPS})


@login_required
@not_found_as_404
def survey_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    survey = get_scoped(user, GrassrootsSurvey.objects.select_related("area"), pk)
    scope = scope_of(user)
    entries = list(survey.entries.select_related("group__area", "group__party_org", "group__instructor")
                   .order_by("group__area__path", "group_id")[:SURVEY_MAX_GROUPS])
    rows = []
    for e in entries:
        g = e.group
        open_ = g.outcome != GroupOutcome.ORG_FORMED
        rows.append({
            "entry": e, "group": g,
            "can_form": open_ and g.party_member_count >= MIN_MEMBERS_FOR_ORG
            and scope.can(Cap.EDIT_PARTY, area_path=g.area.path),
            "can_instruct": open_ and g.outcome != GroupOutcome.INSTRUCTOR
            and scope.can(Cap.EDIT_REGISTRY, area_path=g.area.path),
        })
    return render(request, "web/survey.html", {
        "survey": survey, "rows": rows,
        "trail": audit.entries_for(survey, limit=20) if scope.can(Cap.VIEW_AUDIT, area_path=survey.area.path)
        else [],
    })


@login_required
@not_found_as_404
def group_new(request: HttpRequest) -> HttpResponse:
    """登记草根组织 found on a survey (or reported between rounds)."""
    _need(request, Cap.EDIT_REGISTRY)
    initial: dict[str, Any] = {}
    area = _area_param(request, cap=Cap.EDIT_REGISTRY)
    if area is not None:
        initial["area"] = area.pk
    form = GroupForm(request.POST or None, initial=initial)
    set_choices(form.fields["area"], _area_choices(request.user, Cap.EDIT_REGISTRY, GROUP_AREA_KINDS))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data

        def create() -> GrassrootsGroup:
            where = get_scoped(request.user, Area, d["area"], cap=Cap.EDIT_REGISTRY)
            return registry.grassroots_group_create(actor=request.user, area=where, name=d["name"], kind=d["kind"],
                                                    member_count=d["member_count"] or 0,
                                                    party_member_count=d["party_member_count"] or 0)

        group = _attempt(form, create)
        if group is not None:
            messages.success(request, _("已登记草根组织：{name}").format(name=group.name))
            return redirect(_with_area("web:groups", group.area_id))
    return _render_form(request, form, _("登记草根组织"), "web:groups")


@login_required
@not_found_as_404
def group_form_org(request: HttpRequest, pk: int) -> HttpResponse:
    """The group has three or more full members: found its own party organisation (应建尽建)."""
    _need(request, Cap.EDIT_PARTY)
    group = get_scoped(request.user, GrassrootsGroup.objects.select_related("area"), pk, cap=Cap.EDIT_PARTY)
    form = FormOrgForm(request.POST or None, initial={"name": _("{name}党支部").format(name=group.name),
                                                      "founded_on": timezone.localdate()})
    form.fields["name"].help_text = _("成员 {m} 人，其中党员 {p} 人；正式党员3人以上可单独组建党支部。").format(
        m=group.member_count, p=group.party_member_count)
    set_choices(form.fields["parent"], _ancestor_orgs(request.user, group.area), "—")
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data

        def found() -> PartyOrganisation:
            parent = get_scoped(request.user, PartyOrganisation.objects.select_related("area"), d["parent"])
            return registry.group_form_party_org(actor=request.user, group=group, name=d["name"], parent=parent,
                                                 founded_on=d["founded_on"], reason=d["reason"])

        org = _attempt(form, found)
        if org is not None:
            messages.success(request, _("已组建党组织：{name}").format(name=org.name))
            return redirect("web:org", pk=org.pk)
    return _render_form(request, form, _("为“{name}”组建党组织").format(name=group.name), "web:groups")


@login_required
@not_found_as_404
def group_instructor(request: HttpRequest, pk: int) -> HttpResponse:
    """The group cannot form its own organisation: send a 党建指导员."""
    _need(request, Cap.EDIT_REGISTRY)
    group = get_scoped(request.user, GrassrootsGroup.objects.select_related("area"), pk, cap=Cap.EDIT_REGISTRY)
    form = InstructorForm(request.POST or None, initial={"since": timezone.localdate(),
                                                         "instructor": group.instructor_id})
    people = (scoped(request.user, Person)
              .filter(Q(party_member__isnull=False) | Q(posts__kind=PostKind.INSTRUCTOR, posts__until__isnull=True))
              .distinct().select_related("area").order_by("name")[:CHOICE_LIMIT])
    set_choices(form.fields["instructor"], [(p.pk, _person_label(p)) for p in people], "—")
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data

        def assign() -> GrassrootsGroup:
            instructor = get_scoped(request.user, Person, d["instructor"])
            return registry.group_assign_instructor(actor=request.user, group=group, instructor=instructor,
                                                    since=d["since"], reason=d["reason"])

        if _attempt(form, assign) is not None:
            messages.success(request, _("已为“{name}”选派党建指导员").format(name=group.name))
            return redirect(_with_area("web:groups", group.area_id))
    return _render_form(request, form, _("为“{name}”选派党建指导员").format(name=group.name), "web:groups")


# ---------------------------------------------------------------------------------------- organisations, posts


@login_required
@not_found_as_404
def org_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request, Cap.EDIT_PARTY)
    user = request.user
    org = get_scoped(user, PartyOrganisation.objects.select_related("area", "parent"), pk, cap=Cap.EDIT_PARTY)
    form = OrgForm(request.POST or None, initial={
        "name": org.name, "level": org.level, "sector": org.sector, "parent": org.parent_id,
        "has_joint_committee": org.has_joint_committee, "founded_on": org.founded_on, "version": org.version})
    set_choices(form.fields["parent"], _ancestor_orgs(user, org.area, exclude=org.pk), "—")
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data

        def update() -> PartyOrganisation:
            changes: dict[str, Any] = {k: d[k] for k in ("name", "level", "sector", "has_joint_committee",
                                                         "founded_on")}
            if d["parent"] != org.parent_id:
                changes["parent"] = get_scoped(user, PartyOrganisation.objects.select_related("area"),
                                               d["parent"]) if d["parent"] else None
            return registry.party_org_update(actor=user, org=org, changes=changes, reason=d["reason"],
                                             expected_version=d["version"])

        if _attempt(form, update) is not None:
            messages.success(request, _("已保存"))
            return redirect("web:org", pk=org.pk)
    return _render_form(request, form, _("编辑党组织：{name}").format(name=org.name), "web:orgs")


@login_required
@not_found_as_404
def org_post_new(request: HttpRequest, pk: int) -> HttpResponse:
    """A seat on the organisation's committee or its 大工委/大党委 (兼职委员 usually represent a member unit)."""
    _need(request, Cap.EDIT_PARTY)
    user = request.user
    org = get_scoped(user, PartyOrganisation.objects.select_related("area"), pk, cap=Cap.EDIT_PARTY)
    body = request.GET.get("body", "")
    initial: dict[str, Any] = {"since": timezone.localdate(),
                               "body": body if body in CommitteeBody.values else CommitteeBody.COMMITTEE}
    if initial["body"] == CommitteeBody.JOINT:
        initial.update(is_part_time=True, title=_("兼职委员"))
    form = OrgPostForm(request.POST or None, initial=initial)
    members = (scoped(user, PartyMember).select_related("person__area").order_by("person__name", "pk")
               [:CHOICE_LIMIT])
    set_choices(form.fields["person"], [(m.person_id, _person_label(m.person)) for m in members], "—")
    set_choices(form.fields["representing"], list(scoped(user, MemberUnit).order_by("name")
                                                  .values_list("pk", "name")[:CHOICE_LIMIT]), "—")
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data

        def create() -> Any:
            person = get_scoped(user, Person, d["person"])
            unit = get_scoped(user, MemberUnit, d["representing"]) if d["representing"] else None
            return registry.org_post_create(actor=user, organisation=org, person=person, title=d["title"],
                                            body=d["body"], is_part_time=d["is_part_time"], representing=unit,
                                            since=d["since"], reason=d["reason"])

        post = _attempt(form, create)
        if post is not None:
            messages.success(request, _("已任命：{name} · {title}").format(name=post.person.name, title=post.title))
            return redirect("web:org", pk=org.pk)
    return _render_form(request, form, _("“{name}”新增班子成员/委员").format(name=org.name), "web:orgs")


# ---------------------------------------------------------------------------------------- party members


@login_required
@not_found_as_404
def member_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request, Cap.EDIT_PARTY)
    user = request.user
    member = get_scoped(user, PartyMember.objects.select_related("person", "organisation__area", "work_unit"), pk,
                        cap=Cap.EDIT_PARTY)
    form = MemberForm(request.POST or None, initial={
        "organisation": member.organisation_id, "status": member.status, "joined_on": member.joined_on,
        "in_service": member.in_service, "work_unit": member.work_unit_id, "is_mobile": member.is_mobile,
        "outflow_place": member.outflow_place, "inflow_place": member.inflow_place,
        "needs_home_study": member.needs_home_study, "version": member.version})
    orgs = [(o.pk, f"{o.name}（{o.area.name}）") for o in scoped(user, PartyOrganisation, cap=Cap.EDIT_PARTY)
            .select_related("area").order_by("area__path", "pk")[:CHOICE_LIMIT]]
    if member.organisation_id not in {pk_ for pk_, _label in orgs}:
        orgs.insert(0, (member.organisation_id, member.organisation.name))
    set_choices(form.fields["organisation"], orgs)
    units = list(scoped(user, MemberUnit).order_by("name").values_list("pk", "name")[:CHOICE_LIMIT])
    if member.work_unit is not None and member.work_unit_id not in {pk_ for pk_, _label in units}:
        units.insert(0, (member.work_unit.pk, member.work_unit.name))
    set_choices(form.fields["work_unit"], units, "—")
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data

        def update() -> PartyMember:
            changes: dict[str, Any] = {k: d[k] for k in ("status", "joined_on", "in_service", "is_mobile",
                                                         "outflow_place", "inflow_place", "needs_home_study")}
            if d["organisation"] != member.organisation_id:
                changes["organisation"] = get_scoped(user, PartyOrganisation.objects.select_related("area"),
                                                     d["organisation"])
            if d["work_unit"] != member.work_unit_id:
                changes["work_unit"] = get_scoped(user, MemberUnit, d["work_unit"]) if d["work_unit"] else None
            return registry.party_member_update(actor=user, member=member, changes=changes, reason=d["reason"],
                                                expected_version=d["version"])

        if _attempt(form, update) is not None:
            messages.success(request, _("已保存"))
            return redirect("web:person", pk=member.person_id)
    return _render_form(request, form, _("编辑党员信息：{name}").format(name=member.person.name), "web:members")


# ---------------------------------------------------------------------------------------- 双报到


@login_required
@not_found_as_404
def dual_registrations(request: HttpRequest) -> HttpResponse:
    """双报到: in-service party members (and units) registered with a community; who has not yet."""
    user = request.user
    area = _area_param(request)
    qs = scoped(user, DualRegistration).select_related("party_member__person__area", "party_member__work_unit",
                                                       "unit", "community")
    members = scoped(user, PartyMember).filter(in_service=True)
    if area is not None:
        qs = qs.filter(community__path__prefix=area.path)
        members = members.filter(person__area__path__prefix=area.path)
    q = request.GET.get("q", "").strip()[:50]
    if q:
        qs = qs.filter(Q(party_member__person__name__contains=q) | Q(unit__name__contains=q))
    page = paginate(request, qs.order_by("-registered_on", "-pk"))
    figures = members.aggregate(
        in_service=Count("pk", distinct=True),
        unregistered=Count("pk", filter=~Q(Exists(DualRegistration.objects.filter(party_member=OuterRef("pk")))),
                           distinct=True))
    return render(request, "web/dual_registrations.html", {
        "page": page, "area": area, "q": q, "figures": figures,
        "can_add": scope_of(user).has(Cap.EDIT_PARTY)})


@login_required
@not_found_as_404
def dual_registration_new(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.EDIT_PARTY)
    user = request.user
    initial: dict[str, Any] = {"registered_on": timezone.localdate()}
    raw = request.GET.get("member", "")
    if raw.isdigit():
        member = get_scoped(user, PartyMember.objects.select_related("person__area"), int(raw))
        initial["party_member"] = member.pk
        home = member.person.area
        if home.depth >= 4:  # the community the member lives in (市/区/街道/社区 …)
            initial["community"] = Area.objects.filter(path=home.path[: 4 * Area.steplen]).values_list(
                "pk", flat=True).first()
    form = DualRegistrationForm(request.POST or None, initial=initial)
    registered = DualRegistration.objects.filter(party_member=OuterRef("pk"))
    members = (scoped(user, PartyMember, cap=Cap.EDIT_PARTY).filter(in_service=True)
               .select_related("person__area").annotate(registered=Exists(registered))
               .order_by("registered", "person__name", "pk")[:CHOICE_LIMIT])
    set_choices(form.fields["party_member"], [
        (m.pk, _("{name}（{area}，已报到）").format(name=m.person.name, area=m.person.area.name) if m.registered
         else _person_label(m.person)) for m in members], "—")
    set_choices(form.fields["unit"], list(scoped(user, MemberUnit, cap=Cap.EDIT_PARTY).order_by("name")
                                          .values_list("pk", "name")[:CHOICE_LIMIT]), "—")
    set_choices(form.fields["community"], _area_choices(user, Cap.EDIT_PARTY, [AreaKind.COMMUNITY]))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data

        def register() -> DualRegistration:
            community = get_scoped(user, Area, d["community"], cap=Cap.EDIT_PARTY)
            member = get_scoped(user, PartyMember, d["party_member"]) if d["party_member"] else None
            unit = get_scoped(user, MemberUnit, d["unit"]) if d["unit"] else None
            return registry.dual_register(actor=user, community=community, registered_on=d["registered_on"],
                                          party_member=member, unit=unit, reason=d["reason"])

        reg = _attempt(form, register)
        if reg is not None:
            messages.success(request, _("已登记双报到：{who} → {community}").format(
                who=reg.party_member.person.name if reg.party_member else reg.unit.name,  # type: ignore[union-attr]
                community=reg.community.name))
            return redirect("web:dual_registrations")
    return _render_form(request, form, _("登记双报到"), "web:dual_registrations")


# ---------------------------------------------------------------------------------------- ending a pairing or a post


@login_required
@not_found_as_404
def pairing_end(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request, Cap.EDIT_REGISTRY)
    pairing = get_scoped(request.user, Pairing.objects.select_related("area"), pk, cap=Cap.EDIT_REGISTRY)
    form = EndPairingForm(request.POST or None, initial={"ended_on": timezone.localdate(), "version": pairing.version})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        if _attempt(form, lambda: registry.pairing_end(actor=request.user, pairing=pairing, ended_on=d["ended_on"],
                                                       reason=d["reason"],
                                                       expected_version=d["version"])) is not None:
            messages.success(request, _("已结束结对"))
            return redirect("web:pairing", pk=pairing.pk)
    return _render_form(request, form, _("结束结对：{kind} · {area}").format(
        kind=pairing.get_kind_display(), area=pairing.area.name), "web:pairings")


@login_required
@not_found_as_404
def staff_post_end(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request, Cap.EDIT_PEOPLE)
    post = get_scoped(request.user, StaffPost.objects.select_related("person", "area"), pk, cap=Cap.EDIT_PEOPLE)
    form = EndPostForm(request.POST or None, initial={"until": timezone.localdate(), "version": post.version})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        if _attempt(form, lambda: registry.staff_post_end(actor=request.user, post=post, until=d["until"],
                                                          reason=d["reason"],
                                                          expected_version=d["version"])) is not None:
            messages.success(request, _("已登记离任"))
            return redirect("web:person", pk=post.person_id)
    return _render_form(request, form, _("离任：{name} · {kind} · {area}").format(
        name=post.person.name, kind=post.get_kind_display(), area=post.area.name), "web:people")
