"""一张图 (the city map for dispatchers, street officials and the organisation department) and the 指挥大屏. Both
pages are shells: the map component (``maps/map.js``) reads everything from the scoped JSON API as one pans."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from gongzhi.accounts.roles import Cap
from gongzhi.cases.models import Category
from gongzhi.core.scope import scope_of
from gongzhi.registry.models import Area

from . import selectors


def _start_area(request: HttpRequest) -> Area:
    roots = scope_of(request.user).root_area_ids(Cap.CASE_VIEW)
    if not scope_of(request.user).has(Cap.CASE_VIEW) or not roots:
        raise Http404
    return Area.objects.get(pk=roots[0])


@login_required
def index(request: HttpRequest) -> HttpResponse:
    root = _start_area(request)
    categories = list(Category.objects.filter(parent__isnull=True).order_by("code").values_list("code", "name"))
    return render(request, "maps/index.html", {
        "root": root, "bounds": selectors.bounds_json(root), "figures": selectors.FIGURES.items(),
        "categories": categories, "states": selectors.state_choices(),
    })


@login_required
def screen(request: HttpRequest) -> HttpResponse:
    root = _start_area(request)
    raw = request.GET.get("interval", "")
    # Seconds between refreshes: 10 by default; a wall in a busy centre may ask for 5, a quiet one for 60.
    interval = min(60, max(2, int(raw))) if raw.isdigit() else 10
    return render(request, "maps/screen.html", {"root": root, "bounds": selectors.bounds_json(root),
                                                "interval": interval})
