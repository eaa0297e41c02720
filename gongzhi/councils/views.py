"""Pages of the councils module: list with cadence status and figures, a council's page (members, ledger,
meetings, escalations waiting), meetings (attendance, minutes, .docx), items (their workflow), public results."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.accounts.roles import Cap
from gongzhi.core import audit
from gongzhi.core.errors import DomainError
from gongzhi.core.scope import get_scoped, scope_of
from gongzhi.registry.models import Area
from gongzhi.web.pages import bar_chart, not_found_as_404

from . import documents, selectors, services
from .models import AgendaItem, Council, Meeting
from .workflow import STEPS, allowed

_not_found = not_found_as_404


def _root(request: HttpRequest) -> Area | None:
    if request.GET.get("area", "").isdigit():
        return get_scoped(request.user, Area, int(request.GET["area"]))
    return Area.objects.filter(pk__in=scope_of(request.user).root_area_ids()).order_by("path").first()


@login_required
@_not_found
def index(request: HttpRequest) -> HttpResponse:
    area = _root(request)
    if area is None:
        raise Http404
    today = timezone.localdate()
    rows = [(c, selectors.cadence_status(c, today)) for c in selectors.councils(request.user, area)[:300]]
    figures = selectors.figures(request.user, area, today - dt.timedelta(days=365), today)
    chart = bar_chart(_("近一年议题办理"), [_("本级解决"), _("上移"), _("上移后解决")],
                      [(_("议题"), [figures.settled_here, figures.escalated, figures.resolved_after_escalation])])
    return render(request, "councils/index.html", {"area": area, "rows": rows, "figures": figures, "chart": chart,
                                                    "can_run": scope_of(request.user).has(Cap.EDIT_REGISTRY)})


@login_required
@_not_found
def council_detail(request: HttpRequest, pk: int) -> HttpResponse:
    council = get_scoped(request.user, Council.objects.select_related("area", "convener"), pk)
    can_run = scope_of(request.user).can(Cap.EDIT_REGISTRY, area_path=council.area.path)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "schedule" and can_run:
                when = dt.datetime.fromisoformat(request.POST.get("scheduled_for", ""))
                services.meeting_schedule(actor=request.user, council=council,
                                          scheduled_for=timezone.make_aware(when), place=request.POST.get("place", ""))
            elif request.POST.get("action") == "propose":
                services.item_propose(actor=request.user, council=council, title=request.POST.get("title", ""),
                                      description=request.POST.get("description", ""))
            else:
                raise Http404
        except ValueError:
            messages.error(request, _("请填写会议时间"))
        except DomainError as exc:
            messages.error(request, "；".join(m for v in exc.fields.values() for m in v) or exc.message)
        else:
            messages.success(request, _("已保存"))
        return redirect("councils:council", pk=council.pk)
    today = timezone.localdate()
    return render(request, "councils/council.html", {
        "council": council, "status": selectors.cadence_status(council, today),
        "members": council.members.select_related("person", "unit"),
        "ledger": selectors.ledger(council)[:200], "meetings": council.meetings.order_by("-scheduled_for")[:50],
        "pending": selectors.pending_from_below(council), "parent": services.parent_council(council),
        "late": selectors.overdue_decisions(council, today),
        "can_run": can_run, "trail": audit.entries_for(council, limit=20),
    })


@login_required
@_not_found
def meeting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = get_scoped(request.user, Meeting.objects.select_related("council__area"), pk)
    council = meeting.council
    can_run = scope_of(request.user).can(Cap.EDIT_REGISTRY, area_path=council.area.path)
    if request.method == "POST" and can_run:
        present = list(council.members.filter(pk__in=[int(i) for i in request.POST.getlist("present")
                                                      if i.isdigit()]))
        try:
            services.meeting_hold(actor=request.user, meeting=meeting, present=present,
                                  minutes=request.POST.get("minutes", ""))
        except DomainError as exc:
            messages.error(request, "；".join(m for v in exc.fields.values() for m in v) or exc.message)
        else:
            messages.success(request, _("已记录会议"))
        return redirect("councils:meeting", pk=meeting.pk)
    return render(request, "councils/meeting.html", {
        "meeting": meeting, "council": council, "items": meeting.items.order_by("pk"),
        "members": council.members.select_related("person", "unit"), "present": set(
            meeting.present.values_list("pk", flat=True)), "can_run": can_run,
    })


@login_required
@_not_found
def minutes(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = get_scoped(request.user, Meeting.objects.select_related("council"), pk)
    response = HttpResponse(documents.minutes_docx(meeting), content_type=(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"))
    response["Content-Disposition"] = f'attachment; filename="minutes-{meeting.pk}.docx"'
    return response


@login_required
@_not_found
def ledger_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    council = get_scoped(request.user, Council, pk)
    response = HttpResponse(documents.ledger_xlsx(council), content_type=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    response["Content-Disposition"] = f'attachment; filename="ledger-{council.pk}.xlsx"'
    return response


@login_required
@_not_found
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_scoped(request.user, AgendaItem.objects.select_related("council__area", "meeting"), pk)
    council = item.council
    can_run = scope_of(request.user).can(Cap.EDIT_REGISTRY, area_path=council.area.path)
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
            messages.error(request, _("日期格式有误"))
        except DomainError as exc:
            messages.error(request, "；".join(m for v in exc.fields.values() for m in v) or exc.message)
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
    steps = [s for s in STEPS.values() if allowed(s, council.procedure, item.state)
             and (s.name != "decide" or not item.escalated_from_id)
             and (s.name != "answer" or item.escalated_from_id)] if can_run else []
    return render(request, "councils/item.html", {
        "item": item, "council": council, "steps": steps, "chain_up": chain_up, "chain_down": chain_down,
        "meetings": council.meetings.filter(held=False).order_by("scheduled_for")[:20] or
        council.meetings.order_by("-scheduled_for")[:5],
        "trail": audit.entries_for(item, limit=30),
    })


@login_required
@_not_found
def public(request: HttpRequest) -> HttpResponse:
    """结果公开 for residents: decisions, follow-up and answers; no personal data."""
    area = _root(request)
    if area is None:
        raise Http404
    return render(request, "councils/public.html", {"area": area,
                                                    "items": selectors.public_results(area)[:200]})
