"""Council figures per area and period as an Excel ledger (议事统计): one row per child area and the total, for
the period the councils page shows (default: the year up to today; ``?start=…&end=…``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponseBadRequest, HttpResponseBase
from django.utils.translation import gettext as _

from gongzhi.core import reports
from gongzhi.core.errors import InvalidInput
from gongzhi.core.ledger import attachment
from gongzhi.core.scope import get_scoped, scope_of
from gongzhi.registry.models import Area
from gongzhi.web.pages import not_found_as_404


@login_required
@not_found_as_404
def figures_xlsx(request: HttpRequest) -> HttpResponseBase:
    user = request.user
    if request.GET.get("area", "").isdigit():
        area = get_scoped(user, Area, int(request.GET["area"]))
    else:
        area = Area.objects.filter(pk__in=scope_of(user).root_area_ids()).order_by("path").first()
    if area is None:
        raise Http404
    try:
        start, end = reports.parse_period(request.GET)
    except InvalidInput as exc:
        labels = {"start": _("从"), "end": _("到")}
        text = "\n".join(_("{field}：{message}").format(field=labels.get(name, name), message=message)
                         for name, messages in exc.fields.items() for message in messages)
        return HttpResponseBadRequest(text, content_type="text/plain; charset=utf-8")
    name = _("{area}议事统计-{start}-{end}.xlsx").format(area=area.name, start=f"{start:%Y%m%d}",
                                                         end=f"{end:%Y%m%d}")
    return attachment(reports.council_figures_xlsx(user, area, start, end), name)
