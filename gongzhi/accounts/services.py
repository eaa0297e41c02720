"""Accounts' write path: the first start, users, role grants, passwords, residents' self-registration, API tokens.
Every change is audited; an account administrator acts only inside her subtree (``Cap.MANAGE_ACCOUNTS``)."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit
from gongzhi.core.errors import Conflict, Forbidden, InvalidInput
from gongzhi.core.permissions import require
from gongzhi.core.scope import as_scope, bump_generation, generation, generations
from gongzhi.core.validators import normalize_phone

from .models import AccountProfile, ApiToken, PhoneCode, Registration, RegistrationState, RoleGrant
from .roles import POLICIES, Cap, Role

User = get_user_model()
log = logging.getLogger("gongzhi.accounts")

USERNAME_RE = re.compile(r"^[\w.@+-]{2,150}$")
# Roles that carry the whole platform: only a system administrator (or a Django superuser) hands them out.
SYSTEM_ROLES = frozenset({Role.SYSADMIN.value})


def _check_password(password: str, user: Any = None, field: str = "password") -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput(_("密码不符合要求"), {field: [str(m) for m in exc.messages]}) from None


def _anchor_path(area: Any = None, unit: Any = None) -> str | None:
    if area is not None:
        return str(area.path)
    if unit is not None:
        return str(unit.area.path)
    return None


def _require_manage(actor: Any, path: str | None) -> None:
    """An account administrator acts on accounts whose node lies in her subtree."""
    if actor is None:
        return
    if path is None or not as_scope(actor).can(Cap.MANAGE_ACCOUNTS, area_path=path):
        raise Forbidden(_("您没有管理该区域账号的权限"))


def _profile(user: Any) -> AccountProfile:
    profile, _created = AccountProfile.objects.get_or_create(user=user)
    return profile


# ---------------------------------------------------------------------------------------------- first start


def needs_bootstrap() -> bool:
    """An empty platform: no area tree yet. The first-run page and ``manage bootstrap`` exist only then."""
    from gongzhi.registry.models import Area

    return not Area.objects.exists()


@transaction.atomic
def bootstrap(*, city_name: str, city_code: str, username: str, password: str, display_name: str = "",
              phone: str = "") -> Any:
    """Create the city root (GB/T 2260 code) and the first system administrator, on an empty database only."""
    from gongzhi.registry import services as registry
    from gongzhi.registry.models import Area, AreaKind

    if Area.objects.select_for_update().exists():
        raise Conflict(_("平台已初始化：已有区域数据"))
    code = (city_code or "").strip()
    if not re.fullmatch(r"\d{6}(\d{6})?", code):
        raise InvalidInput.on("city_code", _("行政区划代码须为6位（GB/T 2260）或12位统计用区划代码"))
    if not (city_name or "").strip():
        raise InvalidInput.on("city_name", _("请填写城市名称"))
    city = registry.area_create(actor=None, parent=None, name=city_name, code=code, kind=AreaKind.CITY,
                                reason=_("首次启动"))
    user = user_create(actor=None, username=username, password=password, display_name=display_name,
                       home_area=city, phone=phone, reason=_("首次启动：系统管理员"))
    grant_role(actor=None, user=user, role=Role.SYSADMIN, area=city, reason=_("首次启动"))
    return user


# ---------------------------------------------------------------------------------------------- users


@transaction.atomic
def user_create(*, actor: Any, username: str, password: str | None, display_name: str = "",
                home_area: Any = None, phone: str = "", must_change_password: bool = False,
                reason: str = "") -> Any:
    username = (username or "").strip()
    if not username:
        raise InvalidInput.on("username", _("用户名不能为空"))
    if not USERNAME_RE.fullmatch(username):
        raise InvalidInput.on("username", _("用户名须为2–150位字母、数字、汉字或 . @ + - _"))
    if actor is not None and home_area is None:
        raise InvalidInput.on("home_area", _("请选择账号所属区域"))
    _require_manage(actor, _anchor_path(home_area))
    if User.objects.filter(username=username).exists():
        raise InvalidInput.on("username", _("用户名已存在"))
    phone = normalize_phone(phone, "phone") if phone else ""
    user = User(username=username, first_name=(display_name or "").strip()[:150])
    if password:
        _check_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    AccountProfile.objects.create(user=user, home_area=home_area, phone=phone,
                                  must_change_password=must_change_password,
                                  created_by=actor if getattr(actor, "pk", None) else None)
    audit.record(actor=actor, action="accounts.user.create", obj=user,
                 after={"username": username, "display_name": user.first_name,
                        "home_area": home_area.code if home_area is not None else None},
                 reason=reason, area_path=_anchor_path(home_area) or "")
    return user


def _managed(actor: Any, user: Any) -> AccountProfile:
    profile = _profile(user)
    if actor is not None and getattr(actor, "pk", None) == user.pk:
        raise Forbidden(_("不能对自己的账号执行此操作"))
    if user.is_superuser and actor is not None and not getattr(actor, "is_superuser", False):
        raise Forbidden(_("只有超级管理员可以管理超级管理员账号"))
    _require_manage(actor, profile.home_area.path if profile.home_area_id and profile.home_area else None)
    return profile


@transaction.atomic
def user_update(*, actor: Any, user: Any, display_name: str, phone: str = "", reason: str = "") -> Any:
    profile = _profile(user) if getattr(actor, "pk", None) == user.pk else _managed(actor, user)
    phone = normalize_phone(phone, "phone") if phone else ""
    before = {"display_name": user.first_name, "phone": audit.MASKED_FIELDS["phone"](profile.phone)}
    user.first_name = (display_name or "").strip()[:150]
    user.save(update_fields=["first_name"])
    profile.phone = phone
    profile.save(update_fields=["phone"])
    after = {"display_name": user.first_name, "phone": audit.MASKED_FIELDS["phone"](phone)}
    old, new = audit.diff(before, after)
    if new:
        audit.record(actor=actor, action="accounts.user.update", obj=user, before=old, after=new, reason=reason,
                     area_path=profile.audit_area_path())
    return user


@transaction.atomic
def user_set_active(*, actor: Any, user: Any, active: bool, reason: str = "") -> Any:
    """Deactivate (she can no longer log in; her sessions and API tokens stop working) or reactivate an account."""
    profile = _managed(actor, user)
    if user.is_active == active:
        return user
    user.is_active = active
    user.save(update_fields=["is_active"])
    _forget(user.pk)
    forget_tokens()
    bump_generation("tokens")
    audit.record(actor=actor, action="accounts.user.activate" if active else "accounts.user.deactivate", obj=user,
                 before={"is_active": not active}, after={"is_active": active}, reason=reason,
                 area_path=profile.audit_area_path())
    return user


@transaction.atomic
def password_reset(*, actor: Any, user: Any, reason: str = "") -> str:
    """A new temporary password (returned once, never stored in clear); she must change it at her next login."""
    profile = _managed(actor, user)
    temporary = temporary_password()
    user.set_password(temporary)
    user.save(update_fields=["password"])
    profile.must_change_password = True
    profile.save(update_fields=["must_change_password"])
    audit.record(actor=actor, action="accounts.user.password_reset", obj=user, after={"must_change_password": True},
                 reason=reason, area_path=profile.audit_area_path())
    return temporary


@transaction.atomic
def password_change(*, actor: Any, old_password: str, new_password: str) -> None:
    """The account holder changes her own password (also the forced change after a reset)."""
    if actor is None or not getattr(actor, "pk", None):
        raise Forbidden(_("请先登录"))
    if not actor.check_password(old_password or ""):
        raise InvalidInput.on("old_password", _("原密码不正确"))
    if new_password == old_password:
        raise InvalidInput.on("new_password", _("新密码不能与原密码相同"))
    _check_password(new_password, actor, "new_password")
    actor.set_password(new_password)
    actor.save(update_fields=["password"])
    profile = _profile(actor)
    if profile.must_change_password:
        profile.must_change_password = False
        profile.save(update_fields=["must_change_password"])
    audit.record(actor=actor, action="accounts.user.password_change", obj=actor, after={"changed": True},
                 area_path=profile.audit_area_path())


def temporary_password() -> str:
    # Readable over the phone: no 0/O or 1/l; long enough for the validators.
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(3))


# ---------------------------------------------------------------------------------------------- role grants


@transaction.atomic
def grant_role(*, actor: Any, user: Any, role: str, area: Any = None, unit: Any = None,
               reason: str = "") -> RoleGrant:
    pol = POLICIES.get(role)
    if pol is None:
        raise InvalidInput.on("role", _("未知角色"))
    if pol.anchor == "unit":
        if unit is None or area is not None:
            raise InvalidInput.on("unit", _("该角色须授权到单位"))
    else:
        if area is None or unit is not None:
            raise InvalidInput.on("area", _("该角色须授权到区域节点"))
        if pol.area_kinds and area.kind not in pol.area_kinds:
            raise InvalidInput.on("area", _("该角色不能授权到此类节点"))
    if actor is not None:
        if role in SYSTEM_ROLES and not as_scope(actor).has(Cap.EDIT_AREA_TREE):
            raise Forbidden(_("只有系统管理员可以授予系统管理员角色"))
        _require_manage(actor, _anchor_path(area, unit))
    grant, created = RoleGrant.objects.get_or_create(user=user, role=role, area=area, unit=unit)
    profile = _profile(user)
    if profile.home_area_id is None:
        profile.home_area = area if area is not None else unit.area
        profile.save(update_fields=["home_area"])
    _forget(user.pk)
    if created:
        audit.record(
            actor=actor,
            action="accounts.grant.create",
            obj=grant,
            after={"user": user.get_username(), "role": role, "area": area.code if area else None,
                   "unit": unit.credit_code if unit else None},
            reason=reason,
            area_path=_anchor_path(area, unit) or "",
        )
    return grant


@transaction.atomic
def revoke_role(*, actor: Any, grant: RoleGrant, reason: str = "") -> None:
    path = _anchor_path(grant.area if grant.area_id else None, grant.unit if grant.unit_id else None)
    if actor is not None:
        if grant.role in SYSTEM_ROLES and not as_scope(actor).has(Cap.EDIT_AREA_TREE):
            raise Forbidden(_("只有系统管理员可以收回系统管理员角色"))
        if getattr(actor, "pk", None) == grant.user_id and grant.role in SYSTEM_ROLES:
            raise Forbidden(_("不能收回自己的系统管理员角色"))
        _require_manage(actor, path)
    before = {"user": grant.user.get_username(), "role": grant.role,
              "area": grant.area.code if grant.area_id and grant.area else None,
              "unit": grant.unit.credit_code if grant.unit_id and grant.unit else None}
    audit.record(actor=actor, action="accounts.grant.delete", obj=grant, before=before, reason=reason,
                 area_path=path or "")
    _forget(grant.user_id)
    grant.delete()


# ---------------------------------------------------------------------------------------------- self-registration

CODE_TTL = dt.timedelta(minutes=10)
CODES_PER_HOUR = 5
CODE_ATTEMPTS = 5


def _code_hash(phone: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def phone_code_send(*, phone: str, purpose: str = "register", now: dt.datetime | None = None) -> None:
    """Send a six-digit one-time code by SMS (printed to the server log when no gateway is configured)."""
    from gongzhi.notifications.channels import send_sms

    now = now or timezone.now()
    phone = normalize_phone(phone, "phone")
    if not re.fullmatch(r"1\d{10}", phone):
        raise InvalidInput.on("phone", _("请填写11位手机号"))
    recent = PhoneCode.objects.filter(phone=phone, created_at__gte=now - dt.timedelta(hours=1)).count()
    if recent >= CODES_PER_HOUR:
        raise InvalidInput.on("phone", _("验证码发送过于频繁，请一小时后再试"))
    code = f"{secrets.randbelow(1_000_000):06d}"
    PhoneCode.objects.create(phone=phone, code_hash=_code_hash(phone, code), purpose=purpose, created_at=now,
                             expires_at=now + CODE_TTL)
    text = _("【共治】您的验证码是 {code}，{minutes} 分钟内有效。如非本人操作请忽略。").format(
        code=code, minutes=int(CODE_TTL.total_seconds() // 60))
    transaction.on_commit(lambda: send_sms(phone=phone, text=text))


def _use_code(phone: str, code: str, purpose: str, now: dt.datetime) -> None:
    row = (PhoneCode.objects.select_for_update()
           .filter(phone=phone, purpose=purpose, used_at__isnull=True, expires_at__gt=now)
           .order_by("-created_at").first())
    if row is None or row.attempts >= CODE_ATTEMPTS:
        raise InvalidInput.on("code", _("验证码已失效，请重新获取"))
    if not hmac.compare_digest(row.code_hash, _code_hash(phone, (code or "").strip())):
        PhoneCode.objects.filter(pk=row.pk).update(attempts=row.attempts + 1)
        raise InvalidInput.on("code", _("验证码不正确"))
    PhoneCode.objects.filter(pk=row.pk).update(used_at=now)


def register_resident(*, phone: str, code: str, name: str, password: str, community: Any, address: str = "",
                      now: dt.datetime | None = None) -> Any:
    """A resident signs herself up: phone proven by the code; her account waits for the community to confirm her.
    A wrong code is counted even though the registration fails (its own transaction)."""
    from gongzhi.registry.models import AreaKind

    now = now or timezone.now()
    phone = normalize_phone(phone, "phone")
    name = (name or "").strip()
    if not name:
        raise InvalidInput.on("name", _("请填写姓名"))
    if len(name) > 50:
        raise InvalidInput.on("name", _("姓名不能超过50个字"))
    if community is None or community.kind != AreaKind.COMMUNITY:
        raise InvalidInput.on("community", _("请选择所在社区"))
    if User.objects.filter(username=phone).exists():
        raise InvalidInput.on("phone", _("该手机号已注册，请直接登录"))
    _check_password(password, User(username=phone, first_name=name))
    with transaction.atomic():
        _use_code(phone, code, "register", now)
    with transaction.atomic():
        user = user_create(actor=None, username=phone, password=password, display_name=name, home_area=community,
                           phone=phone, reason=_("居民自助注册"))
        registration = Registration.objects.create(user=user, name=name, phone=phone, community=community,
                                                   address=(address or "").strip()[:200], created_at=now)
        audit.record(actor=user, action="accounts.registration.create", obj=registration,
                     after={"name": name, "community": community.code})
        _tell_staff_of(registration)
    return user


def _tell_staff_of(registration: Registration) -> None:
    from gongzhi.notifications import services as notifications

    roles = [r for r, p in POLICIES.items() if Cap.EDIT_PEOPLE in p.caps]
    staff = RoleGrant.objects.filter(role__in=roles, area=registration.community).values_list("user_id", flat=True)
    with notifications.platform_language():
        message = _("居民 {name} 申请注册，请确认其身份").format(name=registration.name)
    notifications.notify(user_ids=list(staff), kind="notice",
                         message=message, link="/accounts/registrations/", obj=registration)


@transaction.atomic
def registration_confirm(*, actor: Any, registration: Registration, person: Any = None, area: Any = None,
                         reason: str = "") -> Registration:
    """The community confirms her: links her account to her person record (an existing one, or a new one recorded
    on her compound or building), and she becomes a resident of the community."""
    from gongzhi.notifications import services as notifications
    from gongzhi.registry import services as registry

    require(actor, Cap.EDIT_PEOPLE, area_path=registration.community.path)
    locked = Registration.objects.select_for_update().get(pk=registration.pk)
    if locked.state != RegistrationState.PENDING:
        raise Conflict(_("该注册申请已处理"))
    if person is None and area is None:
        raise InvalidInput.on("person", _("请选择居民档案，或选择居住的小区/楼栋以新建档案"))
    if person is not None:
        if not person.area.path.startswith(registration.community.path):
            raise InvalidInput.on("person", _("该居民档案不在本社区"))
        if person.user_id and person.user_id != registration.user_id:
            raise InvalidInput.on("person", _("该居民档案已关联其他账号"))
        registry.person_link_account(actor=actor, person=person, user=registration.user,
                                     reason=reason or _("居民注册确认"))
    else:
        if not area.path.startswith(registration.community.path):
            raise InvalidInput.on("area", _("居住区域须在本社区内"))
        person = registry.person_create(actor=actor, area=area, name=registration.name, phone=registration.phone,
                                        user=registration.user, reason=_("居民注册确认"))
    grant_role(actor=None, user=registration.user, role=Role.RESIDENT, area=registration.community,
               reason=_("居民注册确认"))
    locked.state = RegistrationState.CONFIRMED
    locked.person = person
    locked.decided_by = actor if getattr(actor, "pk", None) else None
    locked.decided_at = timezone.now()
    locked.reason = (reason or "")[:200]
    locked.save(update_fields=["state", "person", "decided_by", "decided_at", "reason"])
    audit.record(actor=actor, action="accounts.registration.confirm", obj=locked,
                 before={"state": RegistrationState.PENDING}, after={"state": locked.state, "person": person.pk},
                 reason=reason)
    _forget(registration.user_id)
    with notifications.platform_language():
        message = _("社区已确认您的注册，现在可以反映诉求了")
    notifications.notify(user_ids=[registration.user_id], kind="notice", message=message, link="/", obj=locked)
    return locked


@transaction.atomic
def registration_reject(*, actor: Any, registration: Registration, reason: str) -> Registration:
    from gongzhi.notifications import services as notifications

    require(actor, Cap.EDIT_PEOPLE, area_path=registration.community.path)
    if not (reason or "").strip():
        raise InvalidInput.on("reason", _("请说明未通过的原因"))
    locked = Registration.objects.select_for_update().get(pk=registration.pk)
    if locked.state != RegistrationState.PENDING:
        raise Conflict(_("该注册申请已处理"))
    locked.state = RegistrationState.REJECTED
    locked.decided_by = actor if getattr(actor, "pk", None) else None
    locked.decided_at = timezone.now()
    locked.reason = reason.strip()[:200]
    locked.save(update_fields=["state", "decided_by", "decided_at", "reason"])
    audit.record(actor=actor, action="accounts.registration.reject", obj=locked,
                 before={"state": RegistrationState.PENDING}, after={"state": locked.state}, reason=reason)
    with notifications.platform_language():
        message = _("您的注册未通过社区确认：{reason}").format(reason=locked.reason)
    notifications.notify(user_ids=[registration.user_id], kind="notice", message=message, link="/", obj=locked)
    return locked


# ---------------------------------------------------------------------------------------------- API tokens


@transaction.atomic
def token_create(*, actor: Any, user: Any, name: str) -> tuple[ApiToken, str]:
    """Returns the token row and its key; the key is not stored and cannot be shown again."""
    if not name.strip():
        raise InvalidInput.on("name", _("名称不能为空"))
    key = ApiToken.new_key()
    token = ApiToken.objects.create(user=user, name=name.strip()[:100], prefix=key[3:11],
                                    key_hash=ApiToken.hash_key(key))
    audit.record(actor=actor, action="accounts.token.create", obj=token, after={"name": token.name})
    return token, key


@transaction.atomic
def token_revoke(*, actor: Any, token: ApiToken) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    _recent_tokens.clear()
    bump_generation("tokens")  # every other worker process forgets the key at once
    audit.record(actor=actor, action="accounts.token.revoke", obj=token, after={"revoked": True})


# Recently checked keys, for a few seconds: a client sending many requests costs one cache read, not a token lookup
# and a scope computation per request. Each entry is stamped with the shared authorisation generation
# (core.scope.generations "tokens"; the user's own for her scope): revoking a key or deactivating an account bumps
# it, so every worker process stops accepting a revoked key at once.
TOKEN_TTL = 10.0
_recent_tokens: dict[str, tuple[float, int, AbstractBaseUser]] = {}


def _forget(user_id: int) -> None:
    from gongzhi.core.scope import forget_scope

    forget_scope(user_id)
    transaction.on_commit(lambda: forget_scope(user_id))
    bump_generation(user_id)


def token_authenticate(key: str) -> AbstractBaseUser | None:
    digest = ApiToken.hash_key(key)
    hit = _recent_tokens.get(digest)
    if hit is not None and time.monotonic() - hit[0] < TOKEN_TTL:
        # One cache read for both: the keys' generation and the user's (which scope_of then uses).
        gen, user_gen = generations("tokens", hit[2].pk)
        if hit[1] == gen:
            user = copy.copy(hit[2])  # a fresh object per request: scope_of caches this request's scope on it
            user.__dict__.pop("_gongzhi_scope", None)
            user._gongzhi_generation = user_gen  # type: ignore[attr-defined]
            return user
    gen = generation("tokens")
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=digest, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    # Touch at most once a minute: a busy client must not turn every read into a write.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    if len(_recent_tokens) > 10_000:
        _recent_tokens.clear()
    _recent_tokens[digest] = (time.monotonic(), gen, token.user)
    return copy.copy(token.user)


def forget_tokens() -> None:
    _recent_tokens.clear()
