"""Pages of mediation (B8): the mediation teams (移动调解室, 物业纠纷调解中心, 人民调解委员会, 评理说事点…) with their
members and disputes, opening a dispute (发起矛盾纠纷调解) and assigning it to a team. Thin: parse → scoped fetch →
``cases.services`` → render; a service's errors come back next to the fields."""

from __future__ import annotations

from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from gongzhi.accounts.roles import Cap
from gongzhi.core import audit
from gongzhi.core.errors import DomainError, InvalidInput, NotFound
from gongzhi.core.models import AuditEntry
from gongzhi.core.scope import get_scoped, scope_of, scoped
from gongzhi.registry.models import Area, AreaKind, Person
from gongzhi.web.forms import area_label, lookup_url, set_choices, version_field
from gongzhi.web.pages import attempt as _attempt
from gongzhi.web.pages import form_errors, not_found_as_404

from . import selectors, services
from .models import (
    STAFF_CHANNELS,
    Case,
    CaseKind,
    Channel,
    Mediation,
    MediationRole,
    MediationTeam,
    MediationTeamKind,
    MediationTeamMember,
)
from .workflow import FINAL_STATES, OPEN_STATES, State

T = TypeVar("T")
CHOICE_LIMIT = 500
PLACE_KINDS = [AreaKind.COMPOUND, AreaKind.BUILDING]



def _pick(user: Any, model: Any, pk: int, field: str, cap: str | None = None) -> Any:
    """A choice from a select, fetched through the scope; one outside it is an error on that field."""
    try:
        return get_scoped(user, model, pk, cap=cap)
    except NotFound:
        raise InvalidInput.on(field, _("请从列表中选择")) from None


def _is_member(user: Any) -> bool:
    person_id = scope_of(user).person_id
    return person_id is not None and MediationTeamMember.objects.filter(person_id=person_id,
                                                                         left_on__isnull=True).exists()


def _teams(user: Any) -> Any:
    return scoped(user, MediationTeam).select_related("area")


def _team_label(team: MediationTeam) -> str:
    return f"{team.name}（{team.get_kind_display()} · {team.area.name}）"


# ------------------------------------------------------------------------------------------ forms


class TeamForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("名称"), max_length=100, widget=forms.TextInput(
        attrs={"placeholder": gettext_lazy("例如：新华街道物业纠纷调解分中心")}))
    kind = forms.ChoiceField(label=gettext_lazy("类型"), choices=MediationTeamKind.choices)
    area = forms.IntegerField(label=gettext_lazy("服务区域（区、街道或社区）"), widget=forms.Select)
    place = forms.CharField(label=gettext_lazy("调解场所（可不填）"), max_length=100, required=False,
                            widget=forms.TextInput(attrs={"placeholder": gettext_lazy("例如：海鸥花园党群之家")}))
    phone = forms.CharField(label=gettext_lazy("联系电话（可不填）"), max_length=20, required=False)
    active = forms.BooleanField(label=gettext_lazy("启用（停用后不再接收新的纠纷）"), required=False, initial=True)
    reason = forms.CharField(label=gettext_lazy("变更原因（可不填）"), max_length=200, required=False)
    version = version_field()


class MemberForm(forms.Form):
    person = forms.IntegerField(label=gettext_lazy("成员（登记的人员）"), widget=forms.Select)
    role = forms.ChoiceField(label=gettext_lazy("角色"), choices=MediationRole.choices,
                             initial=MediationRole.MEDIATOR)


class OpenForm(forms.Form):
    """发起矛盾纠纷调解. The parties are rows of the page (name + role), read from the POST apart."""

    description = forms.CharField(label=gettext_lazy("纠纷情况"), max_length=4000,
                                  widget=forms.Textarea(attrs={"rows": 4, "placeholder": gettext_lazy(
                                      "双方因何事发生纠纷、经过和各自诉求")}))
    area = forms.IntegerField(label=gettext_lazy("纠纷发生地（小区/楼栋）"), widget=forms.Select)
    address = forms.CharField(label=gettext_lazy("补充位置说明（可不填）"), max_length=200, required=False)
    team = forms.IntegerField(label=gettext_lazy("调解组织"), widget=forms.Select, required=False)
    channel = forms.ChoiceField(label=gettext_lazy("来源渠道"), choices=[(c.value, c.label) for c in STAFF_CHANNELS],
                                initial=Channel.MEDIATION_POINT)
    title = forms.CharField(label=gettext_lazy("标题（可不填，默认为“甲与乙的矛盾纠纷”）"), max_length=100,
                            required=False)


class AssignForm(forms.Form):
    team = forms.IntegerField(label=gettext_lazy("调解组织"), widget=forms.Select, required=False)
    reason = forms.CharField(label=gettext_lazy("原因（可不填）"), max_length=200, required=False)


# ------------------------------------------------------------------------------------------ teams


@login_required
@not_found_as_404
def teams(request: HttpRequest) -> HttpResponse:
    """调解组织: the teams serving the viewer's part of the tree (and the levels above it), and her own teams."""
    scope = scope_of(request.user)
    if not scope.has(Cap.CASE_VIEW) and not _is_member(request.user):
        raise Http404
    kind = request.GET.get("kind", "")
    qs = _teams(request.user)
    if kind:
        if kind not in MediationTeamKind.values:
            raise Http404
        qs = qs.filter(kind=kind)
    rows = list(qs.annotate(
        member_count=Count("members", filter=Q(members__left_on__isnull=True), distinct=True),
        open_count=Count("mediations", filter=Q(mediations__case__state__in=OPEN_STATES), distinct=True),
    ).order_by("-active", "area__path", "name")[:200])
    return render(request, "cases/mediation/teams.html", {
        "teams": rows, "kind": kind, "kinds": MediationTeamKind.choices,
        "can_create": scope.has(Cap.EDIT_REGISTRY),
        "can_open": scope.has(Cap.CASE_REPORT) and scope.has(Cap.CASE_VIEW),
    })


def _team_area_choices(user: Any) -> list[tuple[int, str]]:
    areas = list(scoped(user, Area, cap=Cap.EDIT_REGISTRY).filter(kind__in=services.TEAM_AREA_KINDS)
                 .order_by("path")[:CHOICE_LIMIT])
    return [(a.pk, area_label(a)) for a in areas]


@login_required
@not_found_as_404
def team_new(request: HttpRequest) -> HttpResponse:
    if not scope_of(request.user).has(Cap.EDIT_REGISTRY):
        raise Http404
    form = TeamForm(request.POST or None)
    del form.fields["active"], form.fields["reason"]
    set_choices(form.fields["area"], _team_area_choices(request.user),
                lookup=lookup_url("areas", Cap.EDIT_REGISTRY, services.TEAM_AREA_KINDS))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        team = _attempt(form, lambda: services.mediation_team_create(
            actor=request.user, area=_pick(request.user, Area, d["area"], "area", cap=Cap.EDIT_REGISTRY),
            name=d["name"], kind=d["kind"], place=d["place"], phone=d["phone"]))
        if team is not None:
            messages.success(request, _("已新建调解组织：{name}").format(name=team.name))
            return redirect("cases:mediation_team", pk=team.pk)
    return render(request, "web/form.html", {"form": form, "title": _("新建调解组织"),
                                             "back": "cases:mediation_teams"})


@login_required
@not_found_as_404
def team_edit(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_scoped(request.user, MediationTeam.objects.select_related("area"), pk)
    if not scope_of(request.user).can(Cap.EDIT_REGISTRY, area_path=team.area.path):
        raise Http404
    form = TeamForm(request.POST or None, initial={"name": team.name, "kind": team.kind, "area": team.area_id,
                                                   "place": team.place, "phone": team.phone,
                                                   "active": team.active, "version": team.version})
    form.fields["area"].disabled = True
    set_choices(form.fields["area"], [(team.area_id, area_label(team.area))])
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        changes = {k: d[k] for k in ("name", "kind", "place", "phone", "active")}
        if _attempt(form, lambda: services.mediation_team_update(actor=request.user, team=team, changes=changes,
                                                                 reason=d["reason"],
                                                                 expected_version=d["version"])) is not None:
            messages.success(request, _("已保存"))
            return redirect("cases:mediation_team", pk=team.pk)
    return render(request, "web/form.html", {"form": form, "title": _("编辑调解组织：{name}").format(name=team.name),
                                             "back": "cases:mediation_teams"})


def _member_form(request: HttpRequest, data: Any = None) -> MemberForm:
    """Candidates: the people the viewer may see, by name (a lawyer or the 司法所's staff may live anywhere)."""
    form = MemberForm(data, prefix="member")
    query = request.GET.get("q", "").strip()[:20]
    qs = scoped(request.user, Person)
    if query:
        qs = qs.filter(name__contains=query)
    people = qs.select_related("area").order_by("name", "pk")[:CHOICE_LIMIT]
    set_choices(form.fields["person"], [(p.pk, f"{p.name}（{p.area.name}）") for p in people], "—",
                lookup=lookup_url("people", Cap.VIEW_PEOPLE))
    return form


def _trail(team: MediationTeam) -> list[AuditEntry]:
    """The team's changes and its members' comings and goings, newest first."""
    member_ids = [str(pk) for pk in team.members.values_list("pk", flat=True)[:500]]
    return list(AuditEntry.objects.filter(Q(object_type=audit.object_type(team), object_id=str(team.pk))
                                          | Q(object_type="cases.mediationteammember", object_id__in=member_ids))
                .order_by("-at", "-id")[:30])


def _team_page(request: HttpRequest, team: MediationTeam, member_form: MemberForm | None = None) -> HttpResponse:
    scope = scope_of(request.user)
    can_edit = scope.can(Cap.EDIT_REGISTRY, area_path=team.area.path)
    members = list(team.members.filter(left_on__isnull=True).select_related("person__area")
                   .order_by("role", "joined_on", "pk"))
    cases = selectors.with_places(list(
        scoped(request.user, Case).filter(kind=CaseKind.MEDIATION, mediation__team=team)
        .select_related("category", "area", "owner_area", "assignee_unit", "mediation")
        .order_by("-created_at")[:100]))
    return render(request, "cases/mediation/team.html", {
        "team": team, "members": members, "cases": cases, "can_edit": can_edit,
        "member_form": (member_form or _member_form(request)) if can_edit else None, "q": request.GET.get("q", ""),
        "can_open": team.active and scope.has(Cap.CASE_REPORT) and scope.has(Cap.CASE_VIEW),
        "trail": _trail(team) if scope.can(Cap.VIEW_AUDIT, area_path=team.area.path) else [],
        "former": team.members.filter(left_on__isnull=False).select_related("person").order_by("-left_on")[:20]
        if can_edit else [],
    })


@login_required
@not_found_as_404
def team_detail(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_scoped(request.user, MediationTeam.objects.select_related("area"), pk)
    if request.method != "POST":
        return _team_page(request, team)
    if not scope_of(request.user).can(Cap.EDIT_REGISTRY, area_path=team.area.path):
        raise Http404
    action = request.POST.get("action")
    if action == "add_member":
        form = _member_form(request, request.POST)
        if form.is_valid():
            d = form.cleaned_data
            member = _attempt(form, lambda: services.mediation_member_add(
                actor=request.user, team=team, person=_pick(request.user, Person, d["person"], "person"),
                role=d["role"]))
            if member is not None:
                messages.success(request, _("已添加成员：{name}").format(name=member.person.name))
                return redirect("cases:mediation_team", pk=team.pk)
        return _team_page(request, team, member_form=form)
    if action == "remove_member":
        raw = request.POST.get("member", "")
        member = team.members.filter(pk=int(raw), left_on__isnull=True).select_related("person").first() \
            if raw.isdigit() else None
        if member is None:
            raise Http404
        try:
            services.mediation_member_remove(actor=request.user, member=member,
                                             reason=request.POST.get("reason", ""))
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("已移出成员：{name}").format(name=member.person.name))
        return redirect("cases:mediation_team", pk=team.pk)
    raise Http404


# ------------------------------------------------------------------------------------------ opening a dispute


def _parties(request: HttpRequest) -> list[dict[str, str]]:
    names, roles = request.POST.getlist("party_name")[:30], request.POST.getlist("party_role")[:30]
    return [{"name": n, "role": r} for n, r in zip(names, roles, strict=False)]


def _party_rows(parties: list[dict[str, str]]) -> list[dict[str, str]]:
    rows = list(parties) or [{"name": "", "role": str(_("申请人"))}, {"name": "", "role": str(_("被申请人"))}]
    while len(rows) < 2:
        rows.append({"name": "", "role": ""})
    return rows


PARTY_FIELD = {"name": gettext_lazy("姓名"), "role": gettext_lazy("身份")}


def _party_errors(exc: DomainError) -> tuple[list[str], DomainError]:
    """Errors on the party rows, as people read them ("当事人2 姓名：请填写当事人姓名"), and the rest."""
    mine: list[str] = []
    rest: dict[str, list[str]] = {}
    for key, msgs in exc.fields.items():
        if key == "parties":
            mine += msgs
        elif key.startswith("parties["):
            index, _sep, part = key[len("parties["):].partition("].")
            label = _("当事人{n} {field}").format(n=int(index) + 1 if index.isdigit() else index,
                                               field=PARTY_FIELD.get(part, part))
            mine += [f"{label}：{m}" for m in msgs]
        else:
            rest[key] = msgs
    return mine, DomainError(exc.message, rest)


def _place_choices(user: Any) -> list[tuple[int, str]]:
    from .views import _report_places  # the report page's compounds and buildings

    places, _svg = _report_places(user)
    names = {a.path: a.name for a in places}
    return [(a.pk, a.name if a.kind == AreaKind.COMPOUND else f"{names.get(a.path[:-Area.steplen], '')} {a.name}")
            for a in places]


@login_required
@not_found_as_404
def open_case(request: HttpRequest) -> HttpResponse:
    """发起矛盾纠纷调解: the parties, what the dispute is about, where, and the team that mediates it."""
    scope = scope_of(request.user)
    if not (scope.has(Cap.CASE_REPORT) and scope.has(Cap.CASE_VIEW)):
        raise Http404
    initial: dict[str, Any] = {}
    if request.GET.get("team", "").isdigit():
        initial["team"] = get_scoped(request.user, MediationTeam, int(request.GET["team"])).pk
    form = OpenForm(request.POST or None, initial=initial)
    set_choices(form.fields["area"], _place_choices(request.user), "—",
                lookup=lookup_url("areas", Cap.CASE_REPORT, PLACE_KINDS))
    teams = list(_teams(request.user).filter(active=True).order_by("area__path", "name")[:200])
    set_choices(form.fields["team"], [(t.pk, _team_label(t)) for t in teams], _("暂不指派"))
    parties = _parties(request) if request.method == "POST" else []
    party_errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            case = services.mediation_case_open(
                actor=request.user, description=d["description"], parties=parties, title=d["title"],
                area=_pick(request.user, Area, d["area"], "area"), address=d["address"], channel=d["channel"],
                team=_pick(request.user, MediationTeam, d["team"], "team") if d["team"] else None)
        except DomainError as exc:
            party_errors, rest = _party_errors(exc)
            if rest.fields or not party_errors:
                form_errors(form, rest)
        else:
            messages.success(request, _("已发起矛盾纠纷调解，编号 {number}").format(number=case.number))
            return redirect("cases:case", pk=case.pk)
    return render(request, "cases/mediation/open.html", {
        "form": form, "parties": _party_rows(parties), "party_errors": party_errors,
    })


# ------------------------------------------------------------------------------------------ on the case page


def case_extras(user: Any, case: Case, mediation: Mediation | None) -> dict[str, Any]:
    """What the case page's mediation card needs: the team, its members as mediators for the hearing form, and the
    teams the case may be (re)assigned to."""
    if mediation is None:
        return {}
    team = MediationTeam.objects.select_related("area").filter(pk=mediation.team_id).first() \
        if mediation.team_id else None
    kinds = services.actor_kinds(user, case)
    can_assign = bool(kinds & {"dispatcher", "handler"}) and case.state not in FINAL_STATES
    return {
        "team": team,
        "team_members": list(team.members.filter(left_on__isnull=True).select_related("person")
                             .order_by("role", "pk")) if team else [],
        "can_mediate": case.state == State.IN_PROGRESS and services.may_mediate(user, case),
        "assign_teams": list(_teams(user).filter(active=True).order_by("area__path", "name")[:200])
        if can_assign else [],
        "can_assign_team": can_assign,
    }


@require_POST
@login_required
@not_found_as_404
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    """(Re)assign a dispute to a mediation team (or withdraw it from its team)."""
    case = selectors.case_get(request.user, pk)
    form = AssignForm(request.POST)
    form.is_valid()
    d = form.cleaned_data
    try:
        team = _pick(request.user, MediationTeam, d["team"], "team") if d.get("team") else None
        services.mediation_team_assign(actor=request.user, case=case, team=team, reason=d.get("reason", ""))
    except DomainError as exc:
        messages.error(request, "；".join(
            f"{_('调解组织') if k == 'team' else _('原因') if k == 'reason' else k}：{m}"
            for k, msgs in exc.fields.items() for m in msgs) or exc.message)
    else:
        messages.success(request, _("已指派调解组织：{name}").format(name=team.name) if team
                         else _("已取消指派调解组织"))
    return redirect("cases:case", pk=case.pk)
