"""The JSON API (R3, item 10): OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs (served locally), bearer
tokens or the web session, one error shape, bounded keyset pagination. Each module contributes a router."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field as F
from ninja import NinjaAPI, Router, Schema, Status

from gongzhi.accounts import services as accounts
from gongzhi.accounts.api import router as accounts_router
from gongzhi.accounts.models import ApiToken
from gongzhi.assessment.api import router as assessment_router
from gongzhi.cases.api import router as cases_router
from gongzhi.cases.config_api import router as case_config_router
from gongzhi.cases.mediation_api import router as mediation_router
from gongzhi.cobuild.api import router as cobuild_router
from gongzhi.core.errors import NotFound
from gongzhi.councils.api import router as councils_router
from gongzhi.dispatch.api import router as dispatch_router
from gongzhi.govservice.api import router as govservice_router
from gongzhi.jobs.api import router as jobs_router
from gongzhi.maps.api import router as maps_router
from gongzhi.notifications.api import router as notifications_router
from gongzhi.patrol.api import router as patrol_router
from gongzhi.points.api import router as points_router
from gongzhi.registry.api import router as registry_router
from gongzhi.sites.api import router as sites_router
from gongzhi.supervision.api import router as supervision_router

from . import errors
from .auth import BearerToken, Session, user_of
from .lookups import router as lookups_router

api = NinjaAPI(
    title="共治 gongzhi API",
    version="1",
    description=(
        "党建引领城市基层治理平台接口。认证：`Authorization: Bearer <令牌>` 或网页登录会话（需 CSRF）。"
        "错误统一为 `{\"error\": {\"code\", \"message\", \"fields\"}}`；"
        "列表用 `limit`（≤200）与 `after` 游标分页。"
    ),
    auth=[BearerToken(), Session()],
    urls_namespace="api",
)
errors.install(api)

tokens = Router(tags=["令牌 tokens"])


class TokenIn(Schema):
    name: str = F(..., min_length=1, max_length=100)


@tokens.get("/tokens", response=list[dict], summary="我的 API 令牌")
def token_list(request: HttpRequest) -> list[dict[str, Any]]:
    user = user_of(request)
    return [{"id": t.pk, "name": t.name, "prefix": t.prefix, "created_at": t.created_at,
             "last_used_at": t.last_used_at, "revoked": t.revoked_at is not None}
            for t in ApiToken.objects.filter(user=user).order_by("-created_at")[:100]]


@tokens.post("/tokens", response={201: dict}, summary="新建令牌（密钥只显示这一次）")
def token_new(request: HttpRequest, payload: TokenIn) -> Status[dict[str, Any]]:
    user = user_of(request)
    token, key = accounts.token_create(actor=user, user=user, name=payload.name)
    return Status(201, {"id": token.pk, "name": token.name, "key": key})


@tokens.delete("/tokens/{token_id}", response={204: None}, summary="吊销令牌")
def token_delete(request: HttpRequest, token_id: int) -> Status[None]:
    user = user_of(request)
    token = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).first()
    if token is None:
        raise NotFound("未找到")
    accounts.token_revoke(actor=user, token=token)
    return Status(204, None)


api.add_router("", registry_router)
api.add_router("", cases_router)
api.add_router("", case_config_router)
api.add_router("", mediation_router)
api.add_router("", councils_router)
api.add_router("", notifications_router)
api.add_router("", patrol_router)
api.add_router("", assessment_router)
api.add_router("", points_router)
api.add_router("", supervision_router)
api.add_router("", govservice_router)
api.add_router("", sites_router)
api.add_router("", cobuild_router)
api.add_router("", dispatch_router)
api.add_router("", accounts_router)
api.add_router("", lookups_router)
api.add_router("", jobs_router)
api.add_router("", maps_router)
api.add_router("", tokens)
