"""Pages of the councils module: list with cadence status and figures, a council's page (members, ledger,
meetings, escalations waiting), meetings (attendance, minutes, .docx), items (their workflow), public results."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Model, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gongzhi.accounts.roles import Cap
from gongzhi.core import audit
from gongzhi.core.errors import DomainError, InvalidInput, NotFound
from gongzhi.core.ledger import attachment
from gongzhi.core.scope import get_scoped, scope_of, scoped
from gongzhi.registry.models import Area, AreaKind, MemberUnit, PartyOrganisation, Person
from gongzhi.web.forms import area_label, set_choices
from gongzhi.web.pages import attempt as _attempt
from gongzhi.web.pages import bar_chart, form_errors, not_found_as_404
from gongzhi.web.pages import need as _need

from . import documents, selectors, services
from .forms import CouncilForm, KindEditForm, KindForm, MemberForm
from .models import AgendaItem, Council, CouncilKind, CouncilMember, Meeting
from .workflow import ItemState

_not_found = not_found_as_404
T = TypeVar("T")
M = TypeVar("M", bound=Model)
CHOICE_LIMIT = 500




COUNCIL_LEVELS = [AreaKind.CITY, AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY, AreaKind.GRID,
                  AreaKind.COMPOUND]


def _root(request: HttpRequest) -> Area | None:
    if request.GET.get("area", "").isdigit():
        return get_scoped(request.user, Area, int(request.GET["area"]))
    return Area.objects.filter(pk__in=scope_of(request.user).root_area_ids()).order_by("path").first()


def _pick(user: Any, model: type[M], pk: int, field: str, message: str, cap: str | None = None) -> M:
    """A choice from a form's select, fetched through the scope; one outside it is an error on that field."""
    try:
        return get_scoped(user, model, pk, cap=cap)
    except NotFound:
        raise InvalidInput.on(field, message) from None


def _sees_audit(request: HttpRequest, council: Council) -> bool:
    return scope_of(request.user).can(Cap.VIEW_AUDIT, area_path=council.area.path)


def _people_choices(user: Any, under: str, query: str) -> list[tuple[int, str]]:
    """People visible to the user under a node, by name (bounded; ``query`` narrows by name)."""
    qs = scoped(user, Person).filter(area__path__prefix=under)
    if query:
        qs = qs.filter(name__contains=query[:20])
    people = qs.select_related("area").order_by("name", "pk")[:CHOICE_LIMIT]
    return [(p.pk, f"{p.name}（{p.area.name}）") for p in people]


def _council_form(request: HttpRequest, area: Area, data: Any = None) -> CouncilForm:
    form = CouncilForm(data, initial={"area": area.pk})
    areas = list(scoped(request.user, Area, cap=Cap.COUNCIL_RUN).filter(path__prefix=area.path, kind__in=COUNCIL_LEVELS)
                 .order_by("path")[:CHOICE_LIMIT])
    set_choices(form.fields["area"], [(a.pk, area_label(a)) for a in areas])
    form.fields["kind"].choices = [(k.code, k.name) for k in selectors.kinds()]  # type: ignore[attr-defined]
    set_choices(form.fields["convener"], _people_choices(request.user, area.path, request.GET.get("q", "").strip()),
                "—")
    return form


@login_required
@_not_found
def index(request: HttpRequest) -> HttpResponse:
    if not scope_of(request.user).has(Cap.VIEW_PEOPLE) and not scoped(request.user, Council).exists():
        return redirect("councils:public")  # a resident on no council: the public results are hers to read
    area = _root(request)
    if area is None:
        raise Http404
    can_create = scope_of(request.user).has(Cap.COUNCIL_RUN)
    form = _council_form(request, area, request.POST if request.method == "POST" else None) if can_create else None
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            d = form.cleaned_data

            def create() -> Council:
                where = _pick(request.user, Area, d["area"], "area", _("请选择您可以管理的区域"), cap=Cap.COUNCIL_RUN)
                convener = _pick(request.user, Person, d["convener"], "convener", _("请选择人员")) \
                    if d["convener"] else None
                return services.council_create(actor=request.user, area=where, name=d["name"], kind=d["kind"],
                                               cadence=d["cadence"], procedure=d["procedure"], convener=convener)

            council = _attempt(form, create)
            if council is not None:
                messages.success(request, _("已新建议事组织：{name}").format(name=council.name))
                return redirect("councils:council", pk=council.pk)
    today = timezone.localdate()
    rows = [(c, selectors.cadence_status(c, today)) for c in selectors.councils(request.user, area)[:300]]
    figures = selectors.figures(request.user, area, today - dt.timedelta(days=365), today)
    chart = bar_chart(_("近一年议题办理"), [_("本级解决"), _("上移"), _("上移后解决")],
                      [(_("议题"), [figures.settled_here, figures.escalated, figures.resolved_after_escalation])])
    return render(request, "councils/index.html", {"area": area, "rows": rows, "figures": figures, "chart": chart,
                                                    "form": form, "q": request.GET.get("q", "")})


def _member_form(request: HttpRequest, council: Council, data: Any = None) -> MemberForm:
    """The candidates: people of the council's area; units and party organisations of its area or above it
    (a district department may sit on a street's council)."""
    form = MemberForm(data, prefix="member")
    path = council.area.path
    ancestors = [path[: i * Area.steplen] for i in range(1, len(path) // Area.steplen)]
    near = Q(area__path__prefix=path) | Q(area__path__in=ancestors)
    set_choices(form.fields["person"], _people_choices(request.user, path, request.GET.get("q", "").strip()), "—")
    set_choices(form.fields["unit"], list(scoped(request.user, MemberUnit).filter(near).order_by("name", "pk")
                                          .values_list("pk", "name")[:CHOICE_LIMIT]), "—")
    set_choices(form.fields["organisation"], list(scoped(request.user, PartyOrganisation).filter(near)
                                                  .order_by("name", "pk").values_list("pk", "name")[:CHOICE_LIMIT]),
                "—")
    return form


def _council_page(request: HttpRequest, council: Council, member_form: MemberForm | None = None) -> HttpResponse:
    today = timezone.localdate()
    can_run = services.can_run(request.user, council)
    return render(request, "councils/council.html", {
        "council": council, "status": selectors.cadence_status(council, today),
        "members": selectors.members(council),
        "ledger": selectors.ledger(council)[:200], "meetings": council.meetings.order_by("-scheduled_for")[:50],
        "pending": selectors.pending_from_below(council), "parent": services.parent_council(council),
        "late": selectors.overdue_decisions(council, today),
        "can_run": can_run, "member_form": (member_form or _member_form(request, council)) if can_run else None,
        "q": request.GET.get("q", ""), "trail": selectors.trail(council) if _sees_audit(request, council) else [],
    })


@login_required
@_not_found
def council_detail(request: HttpRequest, pk: int) -> HttpResponse:
    council = get_scoped(request.user, Council.objects.select_related("area", "convener", "kind"), pk)
    can_run = services.can_run(request.user, council)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "add_member" and can_run:
            form = _member_form(request, council, request.POST)
            if form.is_valid():
                d = form.cleaned_data

                def add() -> CouncilMember:
                    def pick(model: Any, field: str) -> Any:
                        return _pick(request.user, model, d[field], field, _("请从列表中选择")) if d[field] else None

                    return services.member_add(actor=request.user, council=council, role=d["role"],
                                               person=pick(Person, "person"), unit=pick(MemberUnit, "unit"),
                                               organisation=pick(PartyOrganisation, "organisation"))

                member = _attempt(form, add)
                if member is not None:
                    messages.success(request, _("已添加成员：{name}").format(name=member.display_name))
                    return redirect("councils:council", pk=council.pk)
            return _council_page(request, council, form)
        try:
            if action == "schedule" and can_run:
                when = dt.datetime.fromisoformat(request.POST.get("scheduled_for", ""))
                services.meeting_schedule(actor=request.user, council=council,
                                          scheduled_for=timezone.make_aware(when), place=request.POST.get("place", ""))
            elif action == "remove_member" and can_run:
                raw = request.POST.get("member", "")
                member = get_scoped(request.user, council.members.select_related("person", "unit", "organisation"),
                                    int(raw) if raw.isdigit() else 0)
                services.member_remove(actor=request.user, member=member, reason=request.POST.get("reason", ""))
            elif action == "propose":
                services.item_propose(actor=request.user, council=council, title=request.POST.get("title", ""),
                                      description=request.POST.get("description", ""))
            else:
                raise Http404
        except ValueError:
            messages.error(request, _("会议时间：请填写会议时间"))
        except DomainError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("已移出成员") if action == "remove_member" else _("已保存"))
        return redirect("councils:council", pk=council.pk)
    return _council_page(request, council)


FIELD_LABELS = {
    "title": gettext_lazy("议题"),
    "description": gettext_lazy("内容"),
    "place": gettext_lazy("地点"),
    "scheduled_for": gettext_lazy("会议时间"),
    "minutes": gettext_lazy("会议纪要"),
    "present": gettext_lazy("出席"),
    "reason": gettext_lazy("理由"),
    "decision": gettext_lazy("决议"),
    "responsible": gettext_lazy("责任方"),
    "deadline": gettext_lazy("完成时限"),
    "answer": gettext_lazy("答复"),
    "meeting": gettext_lazy("会议"),
    "step": gettext_lazy("操作"),
}


def _error_text(exc: DomainError) -> str:
    """A service error as one message that names each field in Chinese."""
    parts = [f"{FIELD_LABELS.get(k, k) if k != '__all__' else ''}{'：' if k != '__all__' else ''}{m}"
             for k, v in exc.fields.items() for m in v]
    return "；".join(parts) or exc.message


@login_required
@_not_found
def meeting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = get_scoped(request.user, Meeting.objects.select_related("council__area"), pk)
    council = meeting.council
    can_run = services.can_run(request.user, council)
    if request.method == "POST" and can_run:
        present = list(selectors.members(council).filter(pk__in=[int(i) for i in request.POST.getlist("present")
                                                                  if i.isdigit()][:500]))
        try:
            services.meeting_hold(actor=request.user, meeting=meeting, present=present,
                                  minutes=request.POST.get("minutes", ""))
        except DomainError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("已记录会议"))
        return redirect("councils:meeting", pk=meeting.pk)
    return render(request, "councils/meeting.html", {
        "meeting": meeting, "council": council, "items": meeting.items.order_by("pk"),
        "members": selectors.members(council) if not meeting.held else
        council.members.select_related("person", "unit", "organisation").order_by("pk"), "present": set(
            meeting.present.values_list("pk", flat=True)), "can_run": can_run,
    })


@login_required
@_not_found
def minutes(request: HttpRequest, pk: int) -> HttpResponseBase:
    meeting = get_scoped(request.user, Meeting.objects.select_related("council__convener"), pk)
    return attachment(documents.minutes_docx(meeting), documents.minutes_filename(meeting))


@login_required
@_not_found
def notice(request: HttpRequest, pk: int) -> HttpResponseBase:
    """会议通知 of a meeting, to its council's members."""
    meeting = get_scoped(request.user, Meeting.objects.select_related("council__convener"), pk)
    return attachment(documents.notice_docx(meeting), documents.notice_filename(meeting))


@login_required
@_not_found
def ledger_xlsx(request: HttpRequest, pk: int) -> HttpResponseBase:
    council = get_scoped(request.user, Council, pk)
    name = _("{council}议题台账-{day}.xlsx").format(council=council.name, day=f"{timezone.localdate():%Y%m%d}")
    return attachment(documents.ledger_xlsx(council), name)


@login_required
@_not_found
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_scoped(request.user, AgendaItem.objects.select_related("council__area", "meeting"), pk)
    council = item.council
    can_run = services.can_run(request.user, council)
    if request.method == "POST" and can_run:
        post = request.POST
        meeting = council.meetings.filter(pk=int(post["meeting"])).first() if post.get("meeting", "").isdigit() \
            else None
        try:
            deadline = dt.date.fromisoformat(post["deadline"]) if post.get("deadline") else None
            services.item_step(actor=request.user, item=item, step=post.get("step", ""),
                               expected_version=int(post.get("version") or 0) or None, reason=post.get("reason", ""),
                               meeting=meeting, discussion=post.get("discussion", ""),
                               decision=post.get("decision", ""), responsible=post.get("responsible", ""),
                               deadline=deadline, answer=post.get("answer", ""),
                               open_case=post.get("open_case") == "on")
        except ValueError:
            messages.error(request, _("完成时限：日期格式有误"))
        except DomainError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("已办理"))
        return redirect("councils:item", pk=item.pk)
    chain_up, chain_down = [], []
    up = getattr(item, "escalated_to", None)
    while up is not None:
        chain_up.append(up)
        up = getattr(up, "escalated_to", None)
    down = item.escalated_from
    while down is not None:
        chain_down.append(down)
        down = down.escalated_from
    steps = services.steps_for(request.user, item)
    # A decision that needs units and people to carry it out becomes a co-building project with its four lists.
    from gongzhi.cobuild.models import Project

    projects = list(scoped(request.user, Project).filter(agenda_item=item).order_by("pk")[:10])
    can_project = item.state in (ItemState.DECIDED, ItemState.PUBLISHED) and scope_of(request.user).can(
        Cap.COBUILD_MANAGE, area_path=council.area.path)
    return render(request, "councils/item.html", {
        "item": item, "council": council, "steps": steps, "chain_up": chain_up, "chain_down": chain_down,
        "projects": projects, "can_project": can_project,
        "meetings": council.meetings.filter(held=False).order_by("scheduled_for")[:20] or
        council.meetings.order_by("-scheduled_for")[:5],
        "trail": audit.entries_for(item, limit=30) if _sees_audit(request, council) else [],
    })


PUBLIC_KINDS = (AreaKind.CITY, AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY)


def _home_councils(request: HttpRequest) -> list[Council]:
    """The councils a signed-in resident may raise an item with (提事): those of the nodes her home lies in."""
    person_id = scope_of(request.user).person_id if request.user.is_authenticated else None
    if person_id is None:
        return []
    home = Person.objects.filter(pk=person_id).values_list("area__path", flat=True).first() or ""
    paths = [home[:end] for end in range(Area.steplen, len(home) + 1, Area.steplen)]
    return list(Council.objects.filter(area__path__in=paths).select_related("area").order_by("-area__depth", "pk")[:50])


def public(request: HttpRequest) -> HttpResponse:
    """结果公开, with no login: decisions, follow-up and answers of any district, street or community; no personal
    data (the selector returns items, the template shows only council, title, result and state). A signed-in
    resident also raises an item here with a council of her own home, without seeing the councils' internal pages."""
    raw = request.GET.get("area", "")
    areas = Area.objects.filter(kind__in=PUBLIC_KINDS)
    area = areas.filter(pk=int(raw)).first() if raw.isdigit() else Area.objects.filter(depth=1).order_by("path").first()
    if area is None:
        raise Http404
    home_councils = _home_councils(request)
    if request.method == "POST":
        chosen = next((c for c in home_councils if str(c.pk) == request.POST.get("council", "")), None)
        if chosen is None:
            messages.error(request, _("议事组织：请选择您所在小区或社区的议事组织"))
        else:
            try:
                services.item_propose(actor=request.user, council=chosen, title=request.POST.get("title", ""),
                                      description=request.POST.get("description", ""))
            except DomainError as exc:
                messages.error(request, _error_text(exc))
            else:
                messages.success(request, _("已提交议题，议事组织将列入议程并公开结果"))
                return redirect(request.get_full_path())
    choices = list(areas.order_by("path").values_list("pk", "name", "depth")[:500])
    return render(request, "councils/public.html", {"area": area, "choices": choices, "home_councils": home_councils,
                                                    "items": selectors.public_results(area)[:200]})


@login_required
@_not_found
def kinds(request: HttpRequest) -> HttpResponse:
    """议事组织类型: the system administrator adds, renames, reorders and retires kinds."""
    _need(request, Cap.CASE_CONFIGURE)
    new_form = KindForm(request.POST if request.POST.get("action") == "create" else None, prefix="new")
    failed: tuple[int, KindEditForm] | None = None
    if request.method == "POST":
        if request.POST.get("action") == "create":
            if new_form.is_valid():
                d = new_form.cleaned_data
                kind = _attempt(new_form, lambda: services.kind_create(actor=request.user, code=d["code"],
                                                                       name=d["name"], order=d["order"]))
                if kind is not None:
                    messages.success(request, _("已新增议事组织类型：{name}").format(name=kind.name))
                    return redirect("councils:kinds")
        elif request.POST.get("action") == "update" and request.POST.get("kind", "").isdigit():
            kind = CouncilKind.objects.filter(pk=int(request.POST["kind"])).first()
            if kind is None:
                raise Http404
            form = KindEditForm(request.POST, prefix=f"k{kind.pk}")
            if form.is_valid():
                d = dict(form.cleaned_data)
                version = d.pop("version")
                try:
                    services.kind_update(actor=request.user, kind=kind, changes=d, expected_version=version)
                except DomainError as exc:
                    form_errors(form, exc)
                else:
                    messages.success(request, _("已保存：{name}").format(name=kind.name))
                    return redirect("councils:kinds")
            failed = (kind.pk, form)
        else:
            raise Http404
    rows = []
    counts: dict[str, int] = {
        str(row["kind"]): row["n"] for row in Council.objects.values("kind").annotate(n=Count("pk"))}
    for k in selectors.kinds(active_only=False):
        form = failed[1] if failed and failed[0] == k.pk else KindEditForm(
            initial={"name": k.name, "order": k.order, "active": k.active, "version": k.version}, prefix=f"k{k.pk}")
        rows.append((k, form, counts.get(k.code, 0)))
    return render(request, "councils/kinds.html", {"rows": rows, "new_form": new_form})
