"""Open311 GeoReport v2 (B9): so existing civic-tech clients can submit and read cases.

Spec: discovery, GET services, GET service definition, POST requests (with ``api_key``), GET requests, GET request by
id, GET token; every response as JSON or XML by the path's extension; ``jurisdiction_id`` checked when given; errors
as a list of ``{code, description}`` with HTTP 400/403/404. Services are the active third-level categories. Public
output carries no personal data: reporters' names and numbers never leave.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from xml.etree import ElementTree as ET

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import re_path
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from gongzhi.accounts.services import token_authenticate
from gongzhi.core import idempotency
from gongzhi.core.errors import DomainError
from gongzhi.core.replicas import replica_reads

from . import services
from .models import Case, Category, Channel
from .selectors import public_cases
from .workflow import FINAL_STATES, State

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
DEFAULT_WINDOW_DAYS = 90


def jurisdiction() -> str:
    return getattr(settings, "GONGZHI_OPEN311_JURISDICTION", "gongzhi.local")


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


# ------------------------------------------------------------------------------------------ rendering


def _xml(root: str, item: str, rows: list[dict[str, Any]]) -> bytes:
    top = ET.Element(root)
    for row in rows:
        el = ET.SubElement(top, item)
        for key, value in row.items():
            child = ET.SubElement(el, key)
            if isinstance(value, list):
                for v in value:
                    ET.SubElement(child, key.rstrip("s") or "value").text = str(v)
            elif value is not None:
                child.text = str(value).lower() if isinstance(value, bool) else str(value)
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="utf-8")


def _render(fmt: str, rows: Any, root: str, item: str, status: int = 200) -> HttpResponse:
    if fmt == "xml":
        data = rows if isinstance(rows, list) else [rows]
        return HttpResponse(_xml(root, item, data), content_type="text/xml; charset=utf-8", status=status)
    return JsonResponse(rows, safe=False, status=status, json_dumps_params={"ensure_ascii": False})


def _error(fmt: str, status: int, description: str) -> HttpResponse:
    return _render(fmt, [{"code": status, "description": description}], "errors", "error", status=status)


def _service(c: Category) -> dict[str, Any]:
    return {
        "service_code": c.code, "service_name": c.name,
        "description": f"{c.parent.parent.name if c.parent and c.parent.parent else ''}/"
                       f"{c.parent.name if c.parent else ''}/{c.name}",
        "metadata": False, "type": "realtime", "keywords": "",
        "group": c.parent.parent.name if c.parent and c.parent.parent else "",
    }


# The columns a public request shows, read as tuples: no model instances, no related objects, one row per case
# (issue 15: building instances of four models per row was most of a list's time).
LISTED = ("pk", "state", "feedback", "category__name", "category__code", "description", "assignee_unit__name",
          "owner_area__name", "created_at", "closed_at", "handled_at", "dispatched_at", "accepted_at", "due_at",
          "address", "area__name", "area_id", "lat", "lng")


def _requests(qs: Any) -> list[dict[str, Any]]:
    """Open311 service requests of the cases of ``qs`` (sliced by the caller), in its order."""
    tz = timezone.get_current_timezone()

    def w3c(value: dt.datetime | None) -> str | None:
        return value.astimezone(tz).isoformat(timespec="seconds") if value else None

    out = []
    for (pk, state, feedback, category_name, category_code, description, unit_name, owner_name, created_at,
         closed_at, handled_at, dispatched_at, accepted_at, due_at, address, area_name, area_id, lat,
         lng) in qs.values_list(*LISTED):
        closed = state in FINAL_STATES
        out.append({
            "service_request_id": str(pk),
            "status": "closed" if closed else "open",
            "status_notes": feedback if closed and state == State.CLOSED else "",
            "service_name": category_name or "",
            "service_code": category_code or "",
            "description": description,
            "agency_responsible": unit_name or owner_name or "",
            "service_notice": "",
            "requested_datetime": w3c(created_at),
            "updated_datetime": w3c(closed_at or handled_at or dispatched_at or accepted_at or created_at),
            "expected_datetime": w3c(due_at),
            "address": address or area_name or "",
            "address_id": str(area_id),
            "zipcode": "",
            "lat": lat,
            "long": lng,
            "media_url": "",
        })
    return out


# ------------------------------------------------------------------------------------------ views


def _handle(fmt: str, request: HttpRequest, fn: Any) -> HttpResponse:
    if fmt not in ("json", "xml"):
        return _error("json", 404, "format must be json or xml")
    given = request.GET.get("jurisdiction_id") or request.POST.get("jurisdiction_id")
    if given and given != jurisdiction():
        return _error(fmt, 404, "jurisdiction_id not found")
    try:
        return fn()
    except Open311Error as exc:
        return _error(fmt, exc.status, exc.description)
    except DomainError as exc:
        detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in exc.fields.items()) or exc.message
        status = exc.status if exc.status in (400, 403, 404) else 400
        return _error(fmt, status, detail)


@require_http_methods(["GET"])
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    base = request.build_absolute_uri("/open311/v2/")
    data = {
        "changeset": "2026-11-01T00:00:00+08:00",
        "contact": "共治 gongzhi 平台管理员",
        "key_service": "向平台管理员申请 API 令牌 (api_key)",
        "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2", "url": base,
                       "changeset": "2026-11-01T00:00:00+08:00", "type": "production", "formats": ["application/json",
                                                                                                  "text/xml"]}],
    }
    if fmt == "xml":
        root = ET.Element("discovery")
        for key in ("changeset", "contact", "key_service"):
            ET.SubElement(root, key).text = str(data[key])
        endpoints = ET.SubElement(root, "endpoints")
        endpoint = ET.SubElement(endpoints, "endpoint")
        for key in ("specification", "url", "changeset", "type"):
            ET.SubElement(endpoint, key).text = str(data["endpoints"][0][key])  # type: ignore[index]
        formats = ET.SubElement(endpoint, "formats")
        for f in ("application/json", "text/xml"):
            ET.SubElement(formats, "format").text = f
        return HttpResponse(b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="utf-8"),
                            content_type="text/xml; charset=utf-8")
    if fmt != "json":
        return _error("json", 404, "format must be json or xml")
    return JsonResponse(data, json_dumps_params={"ensure_ascii": False})


def _services_qs() -> Any:
    return Category.objects.filter(depth=3, active=True).select_related("parent__parent").order_by("code")


@require_http_methods(["GET"])
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    return _handle(fmt, request, lambda: _render(fmt, [_service(c) for c in _services_qs()], "services", "service"))


@require_http_methods(["GET"])
def service_definition(request: HttpRequest, code: str, fmt: str) -> HttpResponse:
    def run() -> HttpResponse:
        category = _services_qs().filter(code=code).first()
        if category is None:
            raise Open311Error(404, "service_code not found")
        body = {"service_code": category.code, "attributes": []}
        if fmt == "xml":
            root = ET.Element("service_definition")
            ET.SubElement(root, "service_code").text = category.code
            ET.SubElement(root, "attributes")
            return HttpResponse(b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="utf-8"),
                                content_type="text/xml; charset=utf-8")
        return JsonResponse(body)

    return _handle(fmt, request, run)


def _float(request: HttpRequest, name: str) -> float | None:
    raw = request.POST.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, f"{name} must be a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise Open311Error(400, f"{name} must be a number")
    return value


def _create(request: HttpRequest, fmt: str) -> HttpResponse:
    key = request.POST.get("api_key", "")
    user = token_authenticate(key) if key else None
    if user is None:
        raise Open311Error(403, "api_key is missing or invalid")
    # A client retrying a request whose answer it lost sends the same Idempotency-Key: it gets the first answer.
    result, replayed = idempotency.once(request=request, user=user, endpoint=f"open311.requests.{fmt}",
                                        key=idempotency.key_of(request), run=lambda: _submit(request, fmt, user))
    response = HttpResponse(result.body, status=result.status, content_type=result.content_type)
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _submit(request: HttpRequest, fmt: str, user: Any) -> idempotency.Response:
    code = request.POST.get("service_code", "").strip()
    category = services.CATEGORIES_BY_CODE.get().get(code)
    if category is None or category.depth != 3:
        raise Open311Error(400, "service_code is missing or unknown")
    lat, lng = _float(request, "lat"), _float(request, "long")
    address_id = request.POST.get("address_id", "").strip()
    description = request.POST.get("description", "").strip()
    if "\x00" in description:
        raise Open311Error(400, "description contains invalid characters")
    if not description:
        raise Open311Error(400, "description is required")
    area = None
    if address_id:
        from gongzhi.registry.models import Area

        area = Area.objects.filter(pk=int(address_id) if address_id.isdigit() else -1).first()
        if area is None:
            raise Open311Error(400, "address_id not found")
    elif lat is None or lng is None:
        raise Open311Error(400, "a location is required: lat and long, or address_id")
    name = f"{request.POST.get('last_name', '')}{request.POST.get('first_name', '')}".strip()[:50]
    case = services.case_submit(
        actor=user, title=description[:40], description=description[:4000], channel=Channel.OPEN311, area=area,
        lng=lng, lat=lat, address=request.POST.get("address_string", "")[:200], category=category,
        contact_name=name, contact_phone=request.POST.get("phone", "").strip(),
    )
    rows = [{"service_request_id": str(case.pk), "service_notice": "已收到，将在规定时限内办理",
             "account_id": None}]
    rendered = _render(fmt, rows, "service_requests", "request", status=201)
    return idempotency.Response(rendered.status_code, rendered["Content-Type"], rendered.content.decode())


def _dates(request: HttpRequest) -> tuple[dt.datetime, dt.datetime]:
    now = timezone.now()

    def read(name: str) -> dt.datetime | None:
        raw = request.GET.get(name)
        if not raw:
            return None
        value = parse_datetime(raw.replace(" ", "+"))
        if value is None:
            raise Open311Error(400, f"{name} must be a w3 datetime such as 2026-01-01T00:00:00Z")
        if not 2000 <= value.year <= 2099:
            raise Open311Error(400, f"{name} must be between 2000-01-01 and 2099-12-31")
        return value if timezone.is_aware(value) else timezone.make_aware(value)

    start, end = read("start_date"), read("end_date")
    end = end or (start + dt.timedelta(days=DEFAULT_WINDOW_DAYS) if start else now)
    start = start or end - dt.timedelta(days=DEFAULT_WINDOW_DAYS)
    if start > end:
        raise Open311Error(400, "start_date must not be after end_date")
    if end - start > dt.timedelta(days=DEFAULT_WINDOW_DAYS):
        raise Open311Error(400, "the date range may not span more than 90 days")
    return start, end


def _int(request: HttpRequest, name: str, default: int, low: int, high: int) -> int:
    raw = request.GET.get(name)
    if raw in (None, ""):
        return default
    if not raw.isdigit() or not (low <= int(raw) <= high):
        raise Open311Error(400, f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def _search(request: HttpRequest, fmt: str) -> HttpResponse:
    qs = public_cases()
    ids = request.GET.get("service_request_id")
    if ids:
        wanted = [i.strip() for i in ids.split(",") if i.strip()]
        if not all(i.isdigit() for i in wanted) or len(wanted) > MAX_PAGE_SIZE:
            raise Open311Error(400, "service_request_id must be a comma-separated list of ids")
        qs = qs.filter(pk__in=[int(i) for i in wanted])
    else:
        codes = [c.strip() for c in request.GET.get("service_code", "").split(",") if c.strip()]
        if codes:
            qs = qs.filter(category__code__in=codes)
        start, end = _dates(request)
        qs = qs.filter(created_at__gte=start, created_at__lte=end)
        statuses = {s.strip() for s in request.GET.get("status", "").split(",") if s.strip()}
        if statuses - {"open", "closed"}:
            raise Open311Error(400, "status must be open or closed")
        if statuses == {"open"}:
            qs = qs.exclude(state__in=list(FINAL_STATES))
        elif statuses == {"closed"}:
            qs = qs.filter(state__in=list(FINAL_STATES))
    page = _int(request, "page", 1, 1, 10_000)
    size = _int(request, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    return _render(fmt, _requests(qs[(page - 1) * size: page * size]), "service_requests", "request")


@csrf_exempt
@require_http_methods(["GET", "POST"])
@replica_reads
def requests_(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _handle(fmt, request, lambda: _create(request, fmt))
    return _handle(fmt, request, lambda: _search(request, fmt))


@require_http_methods(["GET"])
def request_detail(request: HttpRequest, pk: str, fmt: str) -> HttpResponse:
    def run() -> HttpResponse:
        rows = _requests(public_cases().filter(pk=int(pk) if pk.isdigit() else -1))
        if not rows:
            raise Open311Error(404, "service_request_id not found")
        return _render(fmt, rows, "service_requests", "request")

    return _handle(fmt, request, run)


@require_http_methods(["GET"])
def token_detail(request: HttpRequest, token: str, fmt: str) -> HttpResponse:
    """Requests are created synchronously, so a token is the request's own id."""
    def run() -> HttpResponse:
        if not token.isdigit() or not Case.objects.filter(pk=int(token), is_public=True).exists():
            raise Open311Error(404, "token not found")
        return _render(fmt, [{"service_request_id": token, "token": token}], "service_requests", "request")

    return _handle(fmt, request, run)


FMT = r"(?P<fmt>[a-z]+)"
urlpatterns = [
    re_path(rf"^discovery\.{FMT}$", discovery, name="open311-discovery"),
    re_path(rf"^services\.{FMT}$", service_list, name="open311-services"),
    re_path(rf"^services/(?P<code>[\w-]+)\.{FMT}$", service_definition, name="open311-service"),
    re_path(rf"^requests\.{FMT}$", requests_, name="open311-requests"),
    re_path(rf"^requests/(?P<pk>[\w-]+)\.{FMT}$", request_detail, name="open311-request"),
    re_path(rf"^tokens/(?P<token>[\w-]+)\.{FMT}$", token_detail, name="open311-token"),
]
