"""One error shape for the whole API (R3): ``{"error": {"code", "message", "fields"}}``; never a 500 for input."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import DataError, IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from gongzhi.core.errors import DomainError

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, fields: dict[str, list[str]] | None = None) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": fields or {}}}, status=status,
                        json_dumps_params={"ensure_ascii": False})


def _location(loc: Any) -> str:
    """pydantic's ('body', 'payload', 'items', 0, 'text') → 'items[0].text'."""
    parts = [p for p in loc if p not in ("body", "query", "path", "payload", "form", "header", "cookie")]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "__all__"


def install(api: NinjaAPI) -> None:
    @api.exception_handler(DomainError)
    def domain(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return error_response(exc.status, exc.code, exc.message, exc.fields)

    @api.exception_handler(ValidationError)
    def validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        fields: dict[str, list[str]] = {}
        for err in exc.errors:
            fields.setdefault(_location(err.get("loc", ())), []).append(str(err.get("msg", "")))
        return error_response(400, "invalid", _("输入有误"), fields)

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
        return error_response(exc.status_code, "error", str(exc))

    @api.exception_handler(IntegrityError)
    def conflict(request: HttpRequest, exc: Exception) -> HttpResponse:
        return error_response(409, "conflict", _("数据冲突，请刷新后重试"))

    @api.exception_handler(DataError)
    def data_error(request: HttpRequest, exc: Exception) -> HttpResponse:
        return error_response(400, "invalid", _("输入超出允许范围"))

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
                return error_response(400, "invalid", _("输入含有不允许的字符"))
        return self.get_response(request)
