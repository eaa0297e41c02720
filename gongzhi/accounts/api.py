"""The accounts API: users and their role grants (an account administrator's subtree), the role table, staff import
from Excel, one's own password, and residents' self-registration (public: send a code, register) with the
community's confirmation."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile

from gongzhi.api.auth import user_of
from gongzhi.core.errors import InvalidInput, NotFound
from gongzhi.core.scope import get_scoped
from gongzhi.registry.api import page
from gongzhi.registry.models import Area, AreaKind, MemberUnit, Person

from . import excel, selectors, services
from .models import AccountProfile, Registration, RoleGrant
from .roles import POLICIES, Cap

router = Router(tags=["账号 accounts"])
User = get_user_model()

def _account_out(profile: AccountProfile) -> dict[str, Any]:
    user, home = profile.user, profile.home_area
    return {"id": user.pk, "username": user.username, "display_name": user.first_name, "is_active": user.is_active,
            "home_area": {"id": home.pk, "name": home.name, "code": home.code} if home is not None else None,
            "must_change_password": profile.must_change_password,
            "grants": [selectors.grant_view(g) for g in user.grants.all()]}


def _profile(request: HttpRequest, user_id: int) -> AccountProfile:
    pk = AccountProfile.objects.filter(user_id=user_id).values_list("pk", flat=True).first()
    return get_scoped(user_of(request), AccountProfile.objects.select_related("user", "home_area"), pk,
                      cap=Cap.MANAGE_ACCOUNTS)


def _role(role: str) -> str:
    if role not in POLICIES:
        raise InvalidInput.on("role", "未知角色")
    return role


class UserIn(Schema):
    username: str = Field(..., min_length=2, max_length=150, pattern=r"^[\w.@+-]+$")
    display_name: str = Field(..., min_length=1, max_length=150)
    phone: str = Field("", max_length=20)
    home_area_id: int
    role: str | None = Field(None, max_length=32, description="可同时授予的一个角色（区域类角色授权到所属区域）")
    unit_id: int | None = Field(None, description="部门/单位经办人的单位")


class UserPatch(Schema):
    display_name: str = Field(..., min_length=1, max_length=150)
    phone: str = Field("", max_length=20)


class ActiveIn(Schema):
    active: bool
    reason: str = Field("", max_length=200)


class GrantIn(Schema):
    role: str = Field(..., max_length=32)
    area_id: int | None = None
    unit_id: int | None = None
    reason: str = Field("", max_length=200)


class PasswordIn(Schema):
    old_password: str = Field(..., min_length=1, max_length=128)
    new_password: str = Field(..., min_length=1, max_length=128)


class PhoneIn(Schema):
    phone: str = Field(..., min_length=5, max_length=20)


class RegisterIn(Schema):
    phone: str = Field(..., min_length=5, max_length=20)
    code: str = Field(..., min_length=4, max_length=6)
    name: str = Field(..., min_length=1, max_length=50)
    password: str = Field(..., min_length=1, max_length=128)
    community_id: int
    address: str = Field("", max_length=200)


class ConfirmIn(Schema):
    person_id: int | None = Field(None, description="本社区已有的居民档案")
    area_id: int | None = Field(None, description="或：新建档案所在的小区/楼栋")
    reason: str = Field("", max_length=200)


class RejectIn(Schema):
    reason: str = Field(..., min_length=1, max_length=200)


@router.get("/accounts/roles", response=list[dict], summary="角色及其权限")
def roles(request: HttpRequest) -> list[dict[str, Any]]:
    return selectors.role_table()


@router.get("/accounts/users", response=dict, summary="我管理的账号（键集分页）")
def user_list(request: HttpRequest, q: str = Query("", max_length=50), active: bool | None = None,
              limit: int = Query(50, ge=1, le=200), after: str | None = Query(None, max_length=40)) -> dict[str, Any]:
    qs = selectors.managed_accounts(user_of(request), q=q.strip(), active=active)
    return page(qs, limit, after, _account_out)


@router.post("/accounts/users", response={201: dict}, summary="新建账号（返回一次性临时密码）")
def user_new(request: HttpRequest, payload: UserIn) -> Status[dict[str, Any]]:
    from django.db import transaction

    actor = user_of(request)
    home = get_scoped(actor, Area, payload.home_area_id, cap=Cap.MANAGE_ACCOUNTS)
    with transaction.atomic():
        temporary = services.temporary_password()
        user = services.user_create(actor=actor, username=payload.username, password=temporary,
                                    display_name=payload.display_name, home_area=home, phone=payload.phone,
                                    must_change_password=True)
        if payload.role:
            anchor = POLICIES[_role(payload.role)].anchor
            unit = None
            if anchor == "unit":
                if payload.unit_id is None:
                    raise InvalidInput.on("unit_id", "该角色须授权到单位")
                unit = get_scoped(actor, MemberUnit, payload.unit_id, cap=Cap.MANAGE_ACCOUNTS)
            services.grant_role(actor=actor, user=user, role=payload.role, area=home if anchor == "area" else None,
                                unit=unit)
    return Status(201, {**_account_out(AccountProfile.objects.select_related("user", "home_area").get(user=user)),
                        "temporary_password": temporary})


@router.get("/accounts/users/{user_id}", response=dict, summary="账号")
def user_get(request: HttpRequest, user_id: int) -> dict[str, Any]:
    return _account_out(_profile(request, user_id))


@router.patch("/accounts/users/{user_id}", response=dict, summary="修改姓名、手机号")
def user_patch(request: HttpRequest, user_id: int, payload: UserPatch) -> dict[str, Any]:
    profile = _profile(request, user_id)
    services.user_update(actor=user_of(request), user=profile.user, display_name=payload.display_name,
                         phone=payload.phone)
    return _account_out(_profile(request, user_id))


@router.post("/accounts/users/{user_id}/active", response=dict, summary="停用或重新启用")
def user_active(request: HttpRequest, user_id: int, payload: ActiveIn) -> dict[str, Any]:
    profile = _profile(request, user_id)
    services.user_set_active(actor=user_of(request), user=profile.user, active=payload.active,
                             reason=payload.reason)
    return _account_out(_profile(request, user_id))


@router.post("/accounts/users/{user_id}/password-reset", response=dict, summary="重置密码（下次登录须修改）")
def user_password_reset(request: HttpRequest, user_id: int) -> dict[str, Any]:
    profile = _profile(request, user_id)
    return {"temporary_password": services.password_reset(actor=user_of(request), user=profile.user)}


@router.post("/accounts/users/{user_id}/grants", response={201: dict}, summary="授予角色")
def grant_new(request: HttpRequest, user_id: int, payload: GrantIn) -> Status[dict[str, Any]]:
    actor = user_of(request)
    profile = _profile(request, user_id)
    area = get_scoped(actor, Area, payload.area_id, cap=Cap.MANAGE_ACCOUNTS) if payload.area_id else None
    unit = get_scoped(actor, MemberUnit, payload.unit_id, cap=Cap.MANAGE_ACCOUNTS) if payload.unit_id else None
    grant = services.grant_role(actor=actor, user=profile.user, role=_role(payload.role), area=area, unit=unit,
                                reason=payload.reason)
    return Status(201, selectors.grant_view(RoleGrant.objects.select_related("area", "unit").get(pk=grant.pk)))


@router.delete("/accounts/users/{user_id}/grants/{grant_id}", response={204: None}, summary="收回角色")
def grant_delete(request: HttpRequest, user_id: int, grant_id: int, reason: str = Query("", max_length=200)
                 ) -> Status[None]:
    profile = _profile(request, user_id)
    grant = RoleGrant.objects.filter(pk=grant_id, user=profile.user).select_related("area", "unit").first()
    if grant is None:
        raise NotFound("未找到")
    services.revoke_role(actor=user_of(request), grant=grant, reason=reason)
    return Status(204, None)


@router.post("/accounts/import", response=dict, summary="从 Excel 导入员工账号（全部或全不）")
def staff_import(request: HttpRequest, file: File[UploadedFile]) -> dict[str, Any]:
    from django.conf import settings

    if file.size and file.size > settings.GONGZHI_MAX_UPLOAD_BYTES:
        raise InvalidInput.on("file", "文件过大")
    report = excel.import_staff(actor=user_of(request), data=file.read())
    return {"ok": report.ok, "rows": report.rows, "created": report.created, "accounts": report.results,
            "errors": [{"row": e.row, "column": e.column, "reason": e.reason} for e in report.errors]}


@router.post("/me/password", response={204: None}, summary="修改自己的密码")
def password_change(request: HttpRequest, payload: PasswordIn) -> Status[None]:
    services.password_change(actor=user_of(request), old_password=payload.old_password,
                             new_password=payload.new_password)
    return Status(204, None)


# ---------------------------------------------------------------------------------------------- residents


@router.get("/register/communities", response=list[dict], auth=None, summary="可选择的社区（注册用，公开）")
def register_communities(request: HttpRequest, q: str = Query("", max_length=50)) -> list[dict[str, Any]]:
    qs = Area.objects.filter(kind=AreaKind.COMMUNITY)
    if q:
        qs = qs.filter(name__contains=q)
    return [{"id": a.pk, "name": a.name, "code": a.code} for a in qs.order_by("path")[:50]]


@router.post("/register/code", response={202: dict}, auth=None, summary="发送注册验证码（公开）")
def register_code(request: HttpRequest, payload: PhoneIn) -> Status[dict[str, Any]]:
    services.phone_code_send(phone=payload.phone)
    return Status(202, {"sent": True})


@router.post("/register", response={201: dict}, auth=None, summary="居民自助注册（公开）")
def register(request: HttpRequest, payload: RegisterIn) -> Status[dict[str, Any]]:
    community = Area.objects.filter(pk=payload.community_id, kind=AreaKind.COMMUNITY).first()
    user = services.register_resident(phone=payload.phone, code=payload.code, name=payload.name,
                                      password=payload.password, community=community, address=payload.address)
    return Status(201, {"id": user.pk, "username": user.get_username(), "state": "pending"})


def _registration_out(r: Registration) -> dict[str, Any]:
    return {"id": r.pk, "name": r.name, "community": {"id": r.community_id, "name": r.community.name},
            "address": r.address, "state": r.state, "created_at": r.created_at}


@router.get("/registrations", response=list[dict], summary="待确认的居民注册")
def registration_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_registration_out(r) for r in selectors.pending_registrations(user_of(request))[:200]]


@router.post("/registrations/{registration_id}/confirm", response=dict, summary="确认居民身份并关联档案")
def registration_confirm(request: HttpRequest, registration_id: int, payload: ConfirmIn) -> dict[str, Any]:
    actor = user_of(request)
    reg = get_scoped(actor, Registration.objects.select_related("community", "user"), registration_id)
    person = get_scoped(actor, Person, payload.person_id, cap=Cap.EDIT_PEOPLE) if payload.person_id else None
    area = get_scoped(actor, Area, payload.area_id, cap=Cap.EDIT_PEOPLE) if payload.area_id else None
    reg = services.registration_confirm(actor=actor, registration=reg, person=person, area=area,
                                        reason=payload.reason)
    return {**_registration_out(reg), "person_id": reg.person_id}


@router.post("/registrations/{registration_id}/reject", response=dict, summary="不予通过")
def registration_reject(request: HttpRequest, registration_id: int, payload: RejectIn) -> dict[str, Any]:
    actor = user_of(request)
    reg = get_scoped(actor, Registration.objects.select_related("community", "user"), registration_id)
    return _registration_out(services.registration_reject(actor=actor, registration=reg, reason=payload.reason))
