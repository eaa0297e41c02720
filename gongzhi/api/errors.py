"""One error shape for the whole API (R3): ``{"error": {"code", "message", "fields"}}``; never a 500 for input."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from django.core.exceptions import ObjectDoesNotExist
from django.db import DataError, IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from gongzhi.core.errors import DomainError

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, fields: dict[str, list[str]] | None = None) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": fields or {}}}, status=status,
                        json_dumps_params={"ensure_ascii": False})


class ErrorDetail(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]


class ErrorOut(Schema):
    """Every error the API returns: ``fields`` names each offending field (a query parameter, a JSON key such as
    ``items[0].text``, or ``body`` for the request body as a whole)."""

    error: ErrorDetail


ERROR_STATUSES: dict[int, str] = {
    400: "输入有误（fields 逐项说明）",
    401: "未登录或令牌无效",
    403: "没有权限",
    404: "未找到（或不在您的管辖范围内）",
    409: "冲突：对象已被他人修改（version 不符）或当前状态不允许此操作",
}


def _location(loc: Any) -> str:
    """pydantic's ('body', 'payload', 'items', 0, 'text') → 'items[0].text'; the body as a whole → 'body'."""
    parts = [p for p in loc if p not in ("body", "query", "path", "payload", "form", "header", "cookie")]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or ("body" if "body" in loc else "__all__")


def _pydantic_message(err: dict[str, Any]) -> str:
    """pydantic's error as a sentence in the request's language (Chinese first), by its type."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    messages: dict[str, Any] = {
        "missing": lambda: _("必填"),
        "string_too_long": lambda: _("不能超过 {n} 个字符").format(n=ctx.get("max_length")),
        "string_too_short": lambda: _("至少 {n} 个字符").format(n=ctx.get("min_length")),
        "too_long": lambda: _("最多 {n} 项").format(n=ctx.get("max_length")),
        "too_short": lambda: _("至少 {n} 项").format(n=ctx.get("min_length")),
        "greater_than_equal": lambda: _("须大于或等于 {n}").format(n=ctx.get("ge")),
        "greater_than": lambda: _("须大于 {n}").format(n=ctx.get("gt")),
        "less_than_equal": lambda: _("须小于或等于 {n}").format(n=ctx.get("le")),
        "less_than": lambda: _("须小于 {n}").format(n=ctx.get("lt")),
        "int_parsing": lambda: _("须为整数"),
        "int_type": lambda: _("须为整数"),
        "int_from_float": lambda: _("须为整数"),
        "float_parsing": lambda: _("须为数字"),
        "float_type": lambda: _("须为数字"),
        "finite_number": lambda: _("须为有限的数字"),
        "bool_parsing": lambda: _("须为 true 或 false"),
        "bool_type": lambda: _("须为 true 或 false"),
        "string_type": lambda: _("须为文字"),
        "list_type": lambda: _("须为列表"),
        "dict_type": lambda: _("须为对象"),
        "model_type": lambda: _("须为对象"),
        "model_attributes_type": lambda: _("须为对象"),
        "date_parsing": lambda: _("日期格式应为 2026-12-31"),
        "date_type": lambda: _("日期格式应为 2026-12-31"),
        "date_from_datetime_parsing": lambda: _("日期格式应为 2026-12-31"),
        "date_from_datetime_inexact": lambda: _("日期格式应为 2026-12-31"),
        "datetime_parsing": lambda: _("时间格式应为 2026-12-31T09:30:00+08:00"),
        "datetime_type": lambda: _("时间格式应为 2026-12-31T09:30:00+08:00"),
        "datetime_from_date_parsing": lambda: _("时间格式应为 2026-12-31T09:30:00+08:00"),
        "time_parsing": lambda: _("时间格式应为 09:30"),
        "literal_error": lambda: _("须为以下之一：{values}").format(values=ctx.get("expected", "")),
        "enum": lambda: _("须为以下之一：{values}").format(values=ctx.get("expected", "")),
        "string_pattern_mismatch": lambda: _("格式不符"),
        "json_invalid": lambda: _("请求体须为合法的 JSON"),
        "json_type": lambda: _("请求体须为合法的 JSON"),
        "extra_forbidden": lambda: _("不允许的字段"),
        "uuid_parsing": lambda: _("须为 UUID"),
        "decimal_parsing": lambda: _("须为数字"),
        "url_parsing": lambda: _("须为网址"),
    }
    make = messages.get(kind)
    if make is not None:
        return str(make())
    if kind == "value_error":  # a validator of ours: its message is already ours
        return str(err.get("msg", "")).removeprefix("Value error, ")
    return _("格式有误")


def _document_errors(api: NinjaAPI) -> None:
    """The OpenAPI document declares the error shape on every operation (400/401/403/404/409)."""
    original = api.get_openapi_schema

    def with_errors(*args: Any, **kwargs: Any) -> Any:
        schema = original(*args, **kwargs)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["ErrorDetail"] = ErrorDetail.model_json_schema()
        components["ErrorOut"] = {
            "title": "ErrorOut", "type": "object", "required": ["error"],
            "description": ErrorOut.__doc__.strip() if ErrorOut.__doc__ else "",
            "properties": {"error": {"$ref": "#/components/schemas/ErrorDetail"}},
        }
        ref = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                responses = operation["responses"]
                for status, description in ERROR_STATUSES.items():
                    if status not in responses and str(status) not in responses:  # ninja keys them by int
                        responses[status] = {"description": description, "content": ref}
        return schema

    api.get_openapi_schema = with_errors  # type: ignore[method-assign]


def install(api: NinjaAPI) -> None:
    _document_errors(api)

    @api.exception_handler(DomainError)
    def domain(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return error_response(exc.status, exc.code, exc.message, exc.fields)

    @api.exception_handler(ValidationError)
    def validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        fields: dict[str, list[str]] = {}
        for err in exc.errors:
            fields.setdefault(_location(err.get("loc", ())), []).append(_pydantic_message(err))
        name, messages = next(iter(fields.items()), ("__all__", [_("格式有误")]))
        return error_response(400, "invalid", _("输入有误：{field} {message}").format(field=name, message=messages[0]),
                              fields)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: Exception) -> HttpResponse:
        return error_response(401, "unauthenticated", _("请先登录或提供有效的 API 令牌"))

    @api.exception_handler(AuthorizationError)
    def forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
        return error_response(403, "forbidden", _("您没有权限执行此操作"))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
        return error_response(404, "not_found", _("未找到"))

    @api.exception_handler(ObjectDoesNotExist)
    def missing(request: HttpRequest, exc: Exception) -> HttpResponse:
        return error_response(404, "not_found", _("未找到"))

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 400:  # django-ninja's own: the body could not be read ("Cannot parse request body")
            message = _("请求体须为合法的 JSON") if str(exc).startswith("Cannot parse") else str(exc)
            return error_response(400, "invalid", _("{field}：{message}").format(field="body", message=message),
                                  {"body": [message]})
        return error_response(exc.status_code, "error", str(exc))

    @api.exception_handler(IntegrityError)
    def conflict(request: HttpRequest, exc: Exception) -> HttpResponse:
        return error_response(409, "conflict", _("数据冲突，请刷新后重试"))

    @api.exception_handler(OverflowError)
    def overflow(request: HttpRequest, exc: Exception) -> HttpResponse:
        # An id past the database's integer range (SQLite: 2^63) names nothing there: as any unknown id, 404.
        return error_response(404, "not_found", _("未找到"))

    @api.exception_handler(DataError)
    def data_error(request: HttpRequest, exc: Exception) -> HttpResponse:
        if "out of range" in str(exc):  # PostgreSQL: an id past bigint, as OverflowError on SQLite
            return error_response(404, "not_found", _("未找到"))
        message = _("输入超出允许范围")
        return error_response(400, "invalid", message, {"body": [message]})

    @api.exception_handler(Exception)
    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        log.exception("API error on %s", request.path)
        return error_response(500, "server_error", _("服务器内部错误"))


class RejectNulMiddleware:
    """PostgreSQL text cannot hold NUL characters: refuse them at the door (400) instead of failing in the database."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(("/api/", "/open311/")):
            query = request.META.get("QUERY_STRING", "")
            # Uploaded files (multipart) are binary by nature; their cells are checked where they are read.
            multipart = request.content_type == "multipart/form-data"
            body = request.body if request.method in ("POST", "PUT", "PATCH") and not multipart else b""
            if "%00" in query or "\x00" in query or b"\x00" in body or b"\\u0000" in body or b"%00" in body:
                field = _nul_field(query, body, request.content_type or "")
                message = _("输入含有不允许的字符（NUL）")
                return error_response(400, "invalid", _("{field}：{message}").format(field=field, message=message),
                                      {field: [message]})
        return self.get_response(request)


def _holds_nul(value: Any) -> bool:
    return isinstance(value, str) and "\x00" in value


def _nul_in_json(value: Any, at: str = "") -> Iterator[str]:
    """The JSON paths (``items[0].text``) whose key or value holds a NUL."""
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{at}.{key}" if at else str(key)
            if _holds_nul(key) or _holds_nul(item):
                yield path.replace("\x00", "")
            yield from _nul_in_json(item, path)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if _holds_nul(item):
                yield f"{at}[{i}]"
            yield from _nul_in_json(item, f"{at}[{i}]")


def _nul_field(query: str, body: bytes, content_type: str) -> str:
    """Name the field that carries the NUL: the query parameter, the JSON key, the form field, or ``body``."""
    for key, value in parse_qsl(query, keep_blank_values=True):
        if _holds_nul(key) or _holds_nul(value):
            return key.replace("\x00", "") or "query"
    if body:
        text = body.decode("utf-8", errors="replace")
        if content_type == "application/json" or text.lstrip()[:1] in ("{", "["):
            try:
                found = next(_nul_in_json(json.loads(text)), None)
            except ValueError:
                found = None
            if found:
                return found
        elif content_type == "application/x-www-form-urlencoded":
            for key, value in parse_qsl(text, keep_blank_values=True):
                if _holds_nul(key) or _holds_nul(value):
                    return key.replace("\x00", "") or "body"
    return "body"
