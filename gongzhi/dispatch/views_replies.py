"""答复质量: the page where supervisors of the replying units (dispatchers and officials with ``case_dispatch``) — and a
unit's own handlers, for their unit — see how well the units reply: per-unit averages in a bar chart, then each
reply with its three scores, total and reasons, filtered by unit and period, and the measure explained."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.errors import InvalidInput
from gongzhi.core.reports import parse_period
from gongzhi.web.pages import bar_chart, error_text, paginate

from . import selectors_replies as selectors
from .replies import LATE_WORKDAYS, MEASURE, WEIGHTS


@login_required
def replies(request: HttpRequest) -> HttpResponse:
    if not selectors.may_view(request.user):
        raise Http404
    try:
        start, end = parse_period(request.GET)
    except InvalidInput as exc:
        messages.error(request, error_text(exc))
        start, end = parse_period({})
    units = selectors.units(request.user)
    raw = request.GET.get("unit", "")
    unit_id = int(raw) if raw.isdigit() and any(u.pk == int(raw) for u in units) else None

    summary = selectors.unit_averages(selectors.replies(request.user, start=start, end=end))
    chart = bar_chart(_("各单位答复质量（平均分）"), [u.name for u in summary.rows], [
        (_("总分"), [u.total for u in summary.rows]), (_("相关性"), [u.relevance for u in summary.rows]),
        (_("完整性"), [u.completeness for u in summary.rows]), (_("及时性"), [u.timeliness for u in summary.rows]),
    ], _("分"))
    page = paginate(request, selectors.replies(request.user, unit_id=unit_id, start=start, end=end), size=30)
    page.items = selectors.scored(page.items)
    return render(request, "dispatch/replies.html", {
        "summary": summary, "chart": chart, "page": page, "units": units, "unit_id": unit_id, "start": start,
        "end": end, "measure": MEASURE, "weights": WEIGHTS, "late_workdays": LATE_WORKDAYS,
        "max_averaged": selectors.MAX_AVERAGED, "today": timezone.localdate()})
