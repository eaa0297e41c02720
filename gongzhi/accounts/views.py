"""Pages of the accounts module: the first-run page, account administration (users, roles, staff import), the
forced password change, residents' self-registration and its confirmation by the community.
Thin: parse → scoped fetch → ``accounts.services`` → render."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.core.errors import DomainError
from gongzhi.core.scope import get_scoped, scope_of, scoped
from gongzhi.registry.models import Area, AreaKind, MemberUnit, Person
from gongzhi.web.editing import _area_choices
from gongzhi.web.forms import lookup_url
from gongzhi.web.pages import attempt as _attempt
from gongzhi.web.pages import form_errors, not_found_as_404, paginate
from gongzhi.web.pages import need as _need

from . import excel, selectors, services
from .forms import (
    ConfirmForm,
    GrantForm,
    ImportForm,
    PasswordChangeForm,
    PhoneForm,
    ProfileForm,
    RegisterForm,
    SetupForm,
    UserForm,
)
from .models import AccountProfile, Registration, RoleGrant
from .roles import POLICIES, Cap
from .signals import MUST_CHANGE

User = get_user_model()




# ---------------------------------------------------------------------------------------------- first start


def setup_token_file() -> Any:
    return settings.DATA_DIR / "setup_token"


def _is_loopback(request: HttpRequest) -> bool:
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def _setup_allowed(request: HttpRequest, token: str) -> bool:
    """The first-run page answers a browser on this machine, or one holding the token ``gongzhi up`` printed."""
    if _is_loopback(request):
        return True
    path = setup_token_file()
    if not token or not path.exists():
        return False
    return hmac.compare_digest(path.read_text(encoding="utf-8").strip(), token.strip())


def setup(request: HttpRequest) -> HttpResponse:
    if not services.needs_bootstrap():
        raise Http404
    token = request.GET.get("token", "") or request.POST.get("token", "")
    if not _setup_allowed(request, token):
        return render(request, "accounts/setup_refused.html", status=403)
    form = SetupForm(request.POST or None, initial={"token": token})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        user = _attempt(form, lambda: services.bootstrap(
            city_name=d["city_name"], city_code=d["city_code"], username=d["username"], password=d["password"],
            display_name=d["display_name"]))
        if user is not None:
            setup_token_file().unlink(missing_ok=True)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("平台已初始化。下一步：在“导入导出”中导入区域、单位和人员台账，"
                                        "再在“账号与角色”中导入员工账号。"))
            return redirect("web:transfer")
    return render(request, "accounts/setup.html", {"form": form})


# ---------------------------------------------------------------------------------------------- accounts


def _unit_choices(user: Any) -> list[tuple[int, str]]:
    units = scoped(user, MemberUnit, cap=Cap.MANAGE_ACCOUNTS).order_by("name")[:500]
    return [(u.pk, u.name) for u in units]


def _set(form: Any, name: str, choices: list[tuple[Any, str]], blank: str | None = "—",
         lookup: str | None = None) -> None:
    from gongzhi.web.forms import set_choices

    set_choices(form.fields[name], choices, blank=blank, lookup=lookup)


MANAGED_KINDS = [AreaKind.CITY, AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY, AreaKind.GRID,
                 AreaKind.COMPOUND]


@login_required
def users(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.MANAGE_ACCOUNTS)
    q = request.GET.get("q", "").strip()[:50]
    state = request.GET.get("state", "")
    active = {"active": True, "inactive": False}.get(state)
    page = paginate(request, selectors.managed_accounts(request.user, q=q, active=active))
    rows = [{"profile": p, "grants": [selectors.grant_view(g) for g in p.user.grants.all()]} for p in page.items]
    pending = selectors.pending_registrations(request.user).count() if scope_of(request.user).has(
        Cap.EDIT_PEOPLE) else 0
    return render(request, "accounts/users.html", {"rows": rows, "page": page, "q": q, "state": state,
                                                   "pending": pending})


@login_required
@not_found_as_404
def user_new(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.MANAGE_ACCOUNTS)
    form = UserForm(request.POST or None)
    _set(form, "home_area", _area_choices(request.user, Cap.MANAGE_ACCOUNTS, MANAGED_KINDS), blank=None,
         lookup=lookup_url("areas", Cap.MANAGE_ACCOUNTS, MANAGED_KINDS))
    _set(form, "unit", _unit_choices(request.user), lookup=lookup_url("units", Cap.MANAGE_ACCOUNTS))
    temporary = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        home = get_scoped(request.user, Area, d["home_area"], cap=Cap.MANAGE_ACCOUNTS)
        unit = get_scoped(request.user, MemberUnit, d["unit"], cap=Cap.MANAGE_ACCOUNTS) if d.get("unit") else None

        def create() -> Any:
            from django.db import transaction

            with transaction.atomic():
                password = services.temporary_password()
                user = services.user_create(actor=request.user, username=d["username"], password=password,
                                            display_name=d["display_name"], home_area=home, phone=d["phone"],
                                            must_change_password=True)
                if d.get("role"):
                    anchor = POLICIES[d["role"]].anchor
                    services.grant_role(actor=request.user, user=user, role=d["role"],
                                        area=home if anchor == "area" else None,
                                        unit=unit if anchor == "unit" else None)
                return user, password

        made = _attempt(form, create)
        if made is not None:
            user, temporary = made
            messages.success(request, _("已创建账号 {username}。临时密码只显示这一次，请转告本人，首次登录须修改。")
                             .format(username=user.username))
            return render(request, "accounts/user_created.html", {"account": user, "temporary": temporary})
    return render(request, "web/form.html", {"form": form, "title": _("新建账号"), "back": "accounts:users"})


def _managed_user(request: HttpRequest, pk: int) -> Any:
    profile = get_scoped(request.user, AccountProfile.objects.select_related("user", "home_area"),
                         AccountProfile.objects.filter(user_id=pk).values_list("pk", flat=True).first(),
                         cap=Cap.MANAGE_ACCOUNTS)
    return profile


@login_required
@not_found_as_404
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request, Cap.MANAGE_ACCOUNTS)
    profile = _managed_user(request, pk)
    account = profile.user
    grant_form = GrantForm(request.POST if request.POST.get("action") == "grant" else None)
    profile_form = ProfileForm(request.POST if request.POST.get("action") == "profile" else None,
                               initial={"display_name": account.first_name, "phone": profile.phone})
    _set(grant_form, "area", _area_choices(request.user, Cap.MANAGE_ACCOUNTS, MANAGED_KINDS),
         lookup=lookup_url("areas", Cap.MANAGE_ACCOUNTS, MANAGED_KINDS))
    _set(grant_form, "unit", _unit_choices(request.user), lookup=lookup_url("units", Cap.MANAGE_ACCOUNTS))
    temporary = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "grant" and grant_form.is_valid():
            d = grant_form.cleaned_data
            area = get_scoped(request.user, Area, d["area"], cap=Cap.MANAGE_ACCOUNTS) if d.get("area") else None
            unit = (get_scoped(request.user, MemberUnit, d["unit"], cap=Cap.MANAGE_ACCOUNTS)
                    if d.get("unit") else None)
            if _attempt(grant_form, lambda: services.grant_role(actor=request.user, user=account, role=d["role"],
                                                                area=area, unit=unit, reason=d["reason"])):
                messages.success(request, _("已授予角色"))
                return redirect("accounts:user", pk=account.pk)
        elif action == "profile" and profile_form.is_valid():
            d = profile_form.cleaned_data
            if _attempt(profile_form, lambda: services.user_update(
                    actor=request.user, user=account, display_name=d["display_name"], phone=d["phone"])):
                messages.success(request, _("已保存"))
                return redirect("accounts:user", pk=account.pk)
        elif action in ("deactivate", "activate"):
            try:
                services.user_set_active(actor=request.user, user=account, active=action == "activate",
                                         reason=request.POST.get("reason", "")[:200])
                messages.success(request, _("已启用账号") if action == "activate" else _("已停用账号"))
            except DomainError as exc:
                messages.error(request, exc.message)
            return redirect("accounts:user", pk=account.pk)
        elif action == "reset":
            try:
                temporary = services.password_reset(actor=request.user, user=account)
                messages.success(request, _("已重置密码。临时密码只显示这一次，首次登录须修改。"))
            except DomainError as exc:
                messages.error(request, exc.message)
        elif action == "revoke":
            raw = request.POST.get("grant", "")
            grant = RoleGrant.objects.filter(pk=int(raw) if raw.isdigit() else 0, user=account).first()
            if grant is None:
                raise Http404
            try:
                services.revoke_role(actor=request.user, grant=grant, reason=request.POST.get("reason", "")[:200])
                messages.success(request, _("已收回角色"))
            except DomainError as exc:
                messages.error(request, exc.message)
            return redirect("accounts:user", pk=account.pk)

    grants = [selectors.grant_view(g) for g in account.grants.select_related("area", "unit").order_by("pk")]
    trail = selectors.account_trail(account)
    return render(request, "accounts/user.html", {
        "account": account, "profile": profile, "grants": grants, "grant_form": grant_form,
        "profile_form": profile_form, "temporary": temporary, "roles": selectors.role_table(), "trail": trail})


@login_required
def roles(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.MANAGE_ACCOUNTS)
    return render(request, "accounts/roles.html", {"roles": selectors.role_table()})


@login_required
def staff_import(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.MANAGE_ACCOUNTS)
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size and upload.size > settings.GONGZHI_MAX_UPLOAD_BYTES:
            form.add_error("file", _("文件不能超过10MB"))
        else:
            report = excel.import_staff(actor=request.user, data=upload.read())
            if report.ok:
                messages.success(request, _("导入成功：{n} 个账号").format(n=report.created))
    return render(request, "accounts/import.html", {"form": form, "report": report})


@login_required
def staff_template(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.MANAGE_ACCOUNTS)
    response = HttpResponse(excel.template(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = "attachment; filename=\"staff-template.xlsx\"; filename*=UTF-8''%E5%91%98" \
                                      "%E5%B7%A5%E8%B4%A6%E5%8F%B7%E6%A8%A1%E6%9D%BF.xlsx"
    return response


# ---------------------------------------------------------------------------------------------- own account


@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    forced = bool(request.session.get(MUST_CHANGE))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.password_change(actor=request.user, old_password=d["old_password"],
                                     new_password=d["new_password"])
        except DomainError as exc:
            form_errors(form, exc)
        else:
            update_session_auth_hash(request, request.user)  # type: ignore[arg-type]
            request.session.pop(MUST_CHANGE, None)
            messages.success(request, _("密码已修改"))
            return redirect("web:home")
    return render(request, "accounts/password.html", {"form": form, "forced": forced})


# ---------------------------------------------------------------------------------------------- residents


def _communities() -> list[tuple[int, str]]:
    """Every community of the city, for a resident to pick hers (public: names of communities are no secret)."""
    rows = Area.objects.filter(kind=AreaKind.COMMUNITY).order_by("path").values_list("pk", "name", "path")[:2000]
    streets = dict(Area.objects.filter(kind=AreaKind.STREET).values_list("path", "name"))
    return [(pk, f"{streets.get(path[:-Area.steplen], '')} {name}".strip()) for pk, name, path in rows]


def register(request: HttpRequest) -> HttpResponse:
    """Step 1: a phone number → a one-time code by SMS; step 2: the code, her name, community and a password."""
    if request.user.is_authenticated:
        return redirect("web:home")
    step = "code" if request.POST.get("step") == "code" or request.GET.get("phone") else "phone"
    phone_form = PhoneForm(request.POST if request.POST.get("step") == "phone" else None)
    form = RegisterForm(request.POST if request.POST.get("step") == "code" else None,
                        initial={"phone": request.GET.get("phone", "")})
    _set(form, "community", _communities(), blank=_("请选择"))
    if request.method == "POST" and request.POST.get("step") == "phone" and phone_form.is_valid():
        phone = phone_form.cleaned_data["phone"]
        if _attempt(phone_form, lambda: services.phone_code_send(phone=phone)) is None and not phone_form.errors:
            messages.success(request, _("验证码已发送，请查收短信"))
            from urllib.parse import urlencode

            return redirect(f"{request.path}?{urlencode({'phone': phone})}")
    if request.method == "POST" and request.POST.get("step") == "code" and form.is_valid():
        d = form.cleaned_data
        community = Area.objects.filter(pk=d["community"], kind=AreaKind.COMMUNITY).first()
        user = _attempt(form, lambda: services.register_resident(
            phone=d["phone"], code=d["code"], name=d["name"], password=d["password"], community=community,
            address=d["address"]))
        if user is not None:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("注册成功。社区确认您的身份后，即可反映诉求、查看办理进度。"))
            return redirect("web:home")
        step = "code"
    return render(request, "accounts/register.html", {"phone_form": phone_form, "form": form, "step": step})


@login_required
@not_found_as_404
def registrations(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.EDIT_PEOPLE)
    rows = list(selectors.pending_registrations(request.user)[:100])
    return render(request, "accounts/registrations.html", {"rows": rows})


@login_required
@not_found_as_404
def registration_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request, Cap.EDIT_PEOPLE)
    reg = get_scoped(request.user, Registration.objects.select_related("community", "user"), pk)
    form = ConfirmForm(request.POST if request.POST.get("action") == "confirm" else None)
    people = scoped(request.user, Person, cap=Cap.EDIT_PEOPLE).filter(
        area__path__prefix=reg.community.path).select_related("area")
    matches = list(people.filter(phone=reg.phone)[:10]) + list(
        people.filter(name=reg.name).exclude(phone=reg.phone)[:10])
    _set(form, "person", [(p.pk, f"{p.name} · {p.area.name}") for p in matches], blank=_("（新建档案）"))
    places = [(pk_, label) for pk_, label in _area_choices(request.user, Cap.EDIT_PEOPLE,
                                                           [AreaKind.COMPOUND, AreaKind.BUILDING])]
    community_path = reg.community.path
    allowed = set(Area.objects.filter(path__prefix=community_path, kind__in=[AreaKind.COMPOUND, AreaKind.BUILDING])
                  .values_list("pk", flat=True)[:2000])
    _set(form, "area", [c for c in places if c[0] in allowed], blank="—")
    if request.method == "POST":
        if request.POST.get("action") == "reject":
            try:
                services.registration_reject(actor=request.user, registration=reg,
                                             reason=request.POST.get("reason", "")[:200])
                messages.success(request, _("已退回该注册申请"))
                return redirect("accounts:registrations")
            except DomainError as exc:
                messages.error(request, exc.message)
        elif form.is_valid():
            d = form.cleaned_data
            person = get_scoped(request.user, Person, d["person"], cap=Cap.EDIT_PEOPLE) if d.get("person") else None
            area = get_scoped(request.user, Area, d["area"], cap=Cap.EDIT_PEOPLE) if d.get("area") else None
            if _attempt(form, lambda: services.registration_confirm(actor=request.user, registration=reg,
                                                                    person=person, area=area, reason=d["reason"])):
                messages.success(request, _("已确认 {name} 为本社区居民").format(name=reg.name))
                return redirect("accounts:registrations")
    return render(request, "accounts/registration.html", {"reg": reg, "form": form, "matches": matches})


@require_POST
def send_code(request: HttpRequest) -> JsonResponse:
    """The register page's 获取验证码 button (also works without JavaScript through the page's own form)."""
    try:
        services.phone_code_send(phone=request.POST.get("phone", ""))
    except DomainError as exc:
        return JsonResponse({"error": {"code": exc.code, "message": exc.message, "fields": exc.fields}},
                            status=exc.status)
    return JsonResponse({"sent": True})
