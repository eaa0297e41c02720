"""Small helpers the server-rendered pages share: bounded pagination, error mapping into forms, chart options."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest

from gongzhi.core.errors import DomainError

MAX_PAGE = 200
T = TypeVar("T")


def need(request: HttpRequest, *caps: str) -> None:
    """A page for an action the user may not take anywhere is not there for them (404, like any missing page)."""
    from django.http import Http404

    from gongzhi.core.scope import scope_of

    scope = scope_of(request.user)
    if not all(scope.has(cap) for cap in caps):
        raise Http404


def error_text(exc: DomainError) -> str:
    """A domain error as one line for a page message: the field messages, or the error's own."""
    return "；".join(m for ms in exc.fields.values() for m in ms) or exc.message


def attempt_flash(request: HttpRequest, action: Callable[[], T]) -> T | None:
    """Run a service call for a button without a form (a step, a claim): on a domain error say it as a message on
    the page the user goes back to and return None."""
    from django.contrib import messages

    try:
        return action()
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return None


def attempt(form: forms.Form, action: Callable[[], T]) -> T | None:
    """Run a service call for a form; on a domain error put its messages on the form's fields and return None. A
    stale edit (someone saved the record after this form was opened) is said on top of the form, not on the hidden
    version field."""
    from gongzhi.core.errors import Conflict

    try:
        return action()
    except Conflict as exc:
        form.add_error(None, exc.message)
        return None
    except DomainError as exc:
        form_errors(form, exc)
        return None


def not_found_as_404(fn: Any) -> Any:
    """Pages answer a scope miss (``NotFound``) with Django's 404, like any missing page."""
    from functools import wraps

    from django.http import Http404

    from gongzhi.core.errors import NotFound

    @wraps(fn)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None

    return wrapper


@dataclass
class Page:
    items: list[Any]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def paginate(request: HttpRequest, qs: QuerySet[Any], size: int | None = None) -> Page:
    """Offset pages, bounded: at most MAX_PAGE pages of ``size`` rows and no COUNT(*) over the table."""
    size = size or settings.GONGZHI_PAGE_SIZE
    raw = request.GET.get("page", "1")
    number = int(raw) if raw.isdigit() and 1 <= int(raw) <= MAX_PAGE else 1
    offset = (number - 1) * size
    rows = list(qs[offset: offset + size + 1])
    return Page(items=rows[:size], number=number, has_next=len(rows) > size)


def form_errors(form: forms.Form, error: DomainError) -> None:
    """Put a domain error's field messages next to the form's fields (unknown fields: on top)."""
    if not error.fields:
        form.add_error(None, error.message)
        return
    for field, messages in error.fields.items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message if target else f"{field}: {message}")


def chart(option: dict[str, Any]) -> dict[str, Any]:
    """An ECharts option, JSON-ready (rendered with json_script; lazy strings made plain)."""
    return json.loads(json.dumps(option, ensure_ascii=False, default=str))


def bar_chart(title: str, labels: list[str], series: list[tuple[str, list[Any]]], unit: str = "") -> dict[str, Any]:
    return chart({
        "title": {"text": title, "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 28, "type": "scroll", "itemWidth": 12, "itemHeight": 8},
        "grid": {"left": 8, "right": 16, "top": 72, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": labels,
                  "axisLabel": {"interval": 0, "rotate": 30 if len(labels) > 5 else 0, "color": "#646a73"},
                  "axisLine": {"lineStyle": {"color": "#c9cdd4"}}, "axisTick": {"show": False}},
        "yAxis": {"type": "value", "name": unit, **({"max": 100} if unit == "%" else {}),
                  "splitLine": {"lineStyle": {"color": "#eef0f3"}}, "axisLabel": {"color": "#646a73"}},
        "color": ["#c0272d", "#e39d2f", "#5b7083", "#1a7f37", "#7a5ab8"],
        "series": [{"name": name, "type": "bar", "data": data, "barMaxWidth": 28} for name, data in series],
    })


def pie_chart(title: str, pairs: list[tuple[str, int]]) -> dict[str, Any]:
    return chart({
        "title": {"text": title, "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "item", "formatter": "{b}: {c} ({d}%)"},
        "legend": {"bottom": 0, "itemWidth": 12, "itemHeight": 8, "itemGap": 8},
        "color": ["#c0272d", "#e39d2f", "#5b7083", "#1a7f37", "#7a5ab8", "#a8adb5", "#d35d62"],
        "series": [{"type": "pie", "radius": ["34%", "58%"], "center": ["50%", "48%"], "avoidLabelOverlap": True,
                    "label": {"formatter": "{c}", "color": "#1f2329"},
                    "labelLine": {"length": 6, "length2": 6},
                    "data": [{"name": n, "value": v} for n, v in pairs]}],
    })


def boundary_svg(geometries: list[tuple[dict[str, Any], bool]], size: int = 400, *, label: str | None = None) -> str:
    """Draw GeoJSON polygons as an inline SVG (no map tiles: intranets are offline). ``(geometry, highlighted)``.

    The drawing is an image with a text alternative (``<title>`` and ``aria-label``) for screen readers."""
    from django.utils.html import escape
    from django.utils.translation import gettext

    if label is None:
        highlighted = any(here for _geometry, here in geometries)
        label = (gettext("边界示意图：共 %(n)d 个区域，高亮的是本区域") if highlighted
                 else gettext("边界示意图：共 %(n)d 个区域")) % {"n": len(geometries)}
    rings: list[tuple[list[list[float]], bool]] = []
    for geometry, here in geometries:
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        for polygon in polygons:
            rings += [(ring, here) for ring in polygon]
    if not rings:
        return ""
    xs = [p[0] for ring, _ in rings for p in ring]
    ys = [p[1] for ring, _ in rings for p in ring]
    minx, maxx, miny, maxy = min(xs), max(xs), min(ys), max(ys)
    scale = size / max(maxx - minx, maxy - miny, 1e-9)
    height = max(40, int((maxy - miny) * scale))
    paths = []
    for ring, here in rings:
        d = " ".join(f"{'M' if i == 0 else 'L'}{(x - minx) * scale:.1f},{(maxy - y) * scale:.1f}"
                     for i, (x, y, *_z) in enumerate(ring))  # a stored Z value is ignored
        paths.append(f'<path class="{"here" if here else ""}" d="{d} Z"/>')
    return (f'<svg class="svgmap" viewBox="-2 -2 {size + 4} {height + 4}" xmlns="http://www.w3.org/2000/svg" '
            f'role="img" aria-label="{escape(label)}" data-minx="{minx}" data-maxy="{maxy}" data-scale="{scale}">'
            f'<title>{escape(label)}</title>{"".join(paths)}</svg>')


@dataclass
class AreaPeriod:
    """A figures page's area and period from its query string (``?area=&start=&end=``)."""

    area: Any
    start: Any
    end: Any
    errors: dict[str, list[str]]


def area_and_period(request: HttpRequest, cap: str, default_period: tuple[Any, Any]) -> AreaPeriod:
    """The area asked for (inside the viewer's scope for ``cap``; her first root otherwise — 404 when she has none)
    and the period, a bad date named on its field instead of an error page."""
    import datetime as dt

    from django.http import Http404
    from django.utils.translation import gettext as _

    from gongzhi.core.scope import get_scoped, scope_of
    from gongzhi.registry.models import Area

    raw = request.GET.get("area", "")
    if raw.isdigit():
        area = get_scoped(request.user, Area, int(raw), cap=cap)
    else:
        roots = scope_of(request.user).root_area_ids(cap)
        if not roots:
            raise Http404
        area = Area.objects.get(pk=roots[0])
    errors: dict[str, list[str]] = {}
    days = []
    for name, default in zip(("start", "end"), default_period, strict=True):
        value = request.GET.get(name)
        try:
            days.append(dt.date.fromisoformat(value) if value else default)
        except ValueError:
            days.append(None)
            errors[name] = [_("日期格式应为 YYYY-MM-DD")]
    return AreaPeriod(area, days[0], days[1], errors)

