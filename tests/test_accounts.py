"""Adoption without the demo: the first start, account administration inside one's subtree, passwords and lockout,
staff accounts from Excel, residents' self-registration confirmed by the community — through pages and the API."""

from __future__ import annotations

import io
import json
import logging
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.test.utils import override_settings
from openpyxl import Workbook, load_workbook

from gongzhi.accounts import services as accounts
from gongzhi.accounts.models import AccountProfile, Registration, RegistrationState, RoleGrant
from gongzhi.core.models import AuditEntry
from gongzhi.registry.models import Area, AreaKind, Person
from tests.cast import Cast

User = get_user_model()
pytestmark = pytest.mark.django_db


def _street_admin(cast: Cast) -> Any:
    user = accounts.user_create(actor=None, username="sara", password=cast.password, home_area=cast.street)
    accounts.grant_role(actor=None, user=user, role="account_admin", area=cast.street)
    return user


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _api(client: Client, method: str, url: str, body: Any = None) -> Any:
    call = getattr(client, method)
    if body is None:
        return call(url)
    return call(url, json.dumps(body), content_type="application/json")


# ------------------------------------------------------------------------------------------ first start


def test_empty_platform_leads_to_the_first_run_page_and_it_creates_city_and_administrator() -> None:
    client = Client()
    assert client.get("/").url == "/accounts/setup/"
    assert client.get("/login/").url == "/accounts/setup/"
    page = client.get("/accounts/setup/")
    assert page.status_code == 200 and "首次启动" in page.content.decode()
    bad = client.post("/accounts/setup/", {"city_name": "海滨市", "city_code": "12ab", "username": "root",
                                           "password": "Strong-pass-2026", "password2": "Strong-pass-2026"})
    assert bad.status_code == 200 and "行政区划代码" in bad.content.decode()
    assert not Area.objects.exists() and not User.objects.exists()  # nothing half-written
    weak = client.post("/accounts/setup/", {"city_name": "海滨市", "city_code": "350200", "username": "root",
                                            "password": "12345678", "password2": "12345678"})
    assert "密码" in weak.content.decode() and not Area.objects.exists()
    done = client.post("/accounts/setup/", {"city_name": "海滨市", "city_code": "350200", "username": "root",
                                            "display_name": "王敏", "password": "Strong-pass-2026",
                                            "password2": "Strong-pass-2026"})
    assert done.status_code == 302
    city = Area.objects.get()
    assert (city.name, city.code, city.kind) == ("海滨市", "350200", AreaKind.CITY)
    root = User.objects.get(username="root")
    assert RoleGrant.objects.filter(user=root, role="sysadmin", area=city).exists()
    # Logged in; the page is gone for good.
    assert client.get("/accounts/users/").status_code == 200
    assert client.get("/accounts/setup/").status_code == 404
    assert AuditEntry.objects.filter(action="registry.area.create", object_id=str(city.pk)).exists()


def test_first_run_page_from_another_machine_needs_the_token(settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    client = Client(REMOTE_ADDR="10.1.2.3")
    assert client.get("/accounts/setup/").status_code == 403
    (tmp_path / "setup_token").write_text("tok-123", encoding="utf-8")
    assert client.get("/accounts/setup/?token=wrong").status_code == 403
    assert client.get("/accounts/setup/?token=tok-123").status_code == 200
    done = client.post("/accounts/setup/", {"city_name": "海滨市", "city_code": "350200", "username": "root",
                                            "password": "Strong-pass-2026", "password2": "Strong-pass-2026",
                                            "token": "tok-123"})
    assert done.status_code == 302 and not (tmp_path / "setup_token").exists()


def test_bootstrap_command_for_scripted_installs(monkeypatch: Any) -> None:
    monkeypatch.setenv("GONGZHI_ADMIN_PASSWORD", "Strong-pass-2026")
    out = io.StringIO()
    call_command("bootstrap", "--city-name", "海滨市", "--city-code", "350200", "--username", "root", stdout=out)
    assert "海滨市" in out.getvalue()
    assert User.objects.get(username="root").check_password("Strong-pass-2026")
    with pytest.raises(CommandError, match="已初始化"):
        call_command("bootstrap", "--city-name", "又一市", "--city-code", "350300", "--username", "root2")


def test_a_django_superuser_is_a_system_administrator_of_the_whole_tree() -> None:
    su = User.objects.create_superuser("su", "su@example.org", "Strong-pass-2026")
    client = _client(su)
    # The city root can be created by her (no other account can: the root has no parent to hold a grant on).
    from gongzhi.registry import services as registry

    city = registry.area_create(actor=su, parent=None, name="海滨市", code="350200", kind=AreaKind.CITY)
    for url in ("/transfer/", f"/areas/new/?parent={city.pk}", "/cases/", "/councils/", "/accounts/users/"):
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/").status_code == 404  # no Django admin: changes go through audited services


# ------------------------------------------------------------------------------------------ accounts


def test_street_account_administrator_manages_accounts_only_inside_her_street(cast: Cast) -> None:
    sara = _street_admin(cast)
    client = _client(sara)
    made = client.post("/accounts/users/new/", {"username": "wang", "display_name": "王芳", "phone": "13912345678",
                                                "home_area": cast.community.pk, "role": "community_worker"})
    assert made.status_code == 200 and "临时密码" in made.content.decode()
    wang = User.objects.get(username="wang")
    assert RoleGrant.objects.filter(user=wang, role="community_worker", area=cast.community).exists()
    assert AccountProfile.objects.get(user=wang).must_change_password
    # Another street's community is not hers to choose (scoped choices; a forged id is refused).
    outside = client.post("/accounts/users/new/", {"username": "li", "display_name": "李", "home_area":
                                                   cast.community3.pk})
    assert outside.status_code in (200, 404) and not User.objects.filter(username="li").exists()
    listing = client.get("/accounts/users/").content.decode()
    assert "wang" in listing and "alice" in listing and "charlie" in listing
    assert "olga" not in listing  # a city account is not hers
    olga = client.get(f"/accounts/users/{cast.olga.pk}/")
    assert olga.status_code == 404
    # No system roles from an account administrator.
    denied = client.post(f"/accounts/users/{wang.pk}/", {"action": "grant", "role": "city_official",
                                                          "area": cast.city.pk})
    assert denied.status_code in (200, 404)
    assert not RoleGrant.objects.filter(user=wang, role="city_official").exists()
    # Grant and revoke inside the street, audited with who and when.
    client.post(f"/accounts/users/{wang.pk}/", {"action": "grant", "role": "grid_worker", "area": cast.grid1.pk,
                                                 "reason": "兼任网格员"})
    grant = RoleGrant.objects.get(user=wang, role="grid_worker")
    entry = AuditEntry.objects.get(action="accounts.grant.create", object_id=str(grant.pk))
    assert entry.actor_name == "sara" and entry.reason == "兼任网格员"
    client.post(f"/accounts/users/{wang.pk}/", {"action": "revoke", "grant": grant.pk})
    assert not RoleGrant.objects.filter(pk=grant.pk).exists()
    assert AuditEntry.objects.filter(action="accounts.grant.delete", actor_name="sara").exists()


def test_deactivate_stops_login_and_tokens_and_reactivate_restores(cast: Cast) -> None:
    sara = _street_admin(cast)
    _token, key = accounts.token_create(actor=cast.alice, user=cast.alice, name="phone")
    bearer = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert bearer.get("/api/v1/me").status_code == 200
    client = _client(sara)
    client.post(f"/accounts/users/{cast.alice.pk}/", {"action": "deactivate", "reason": "调离"})
    cast.alice.refresh_from_db()
    assert not cast.alice.is_active
    assert bearer.get("/api/v1/me").status_code == 401
    assert Client().post("/login/", {"username": "alice", "password": cast.password}).status_code == 200
    client.post(f"/accounts/users/{cast.alice.pk}/", {"action": "activate"})
    cast.alice.refresh_from_db()
    assert cast.alice.is_active and bearer.get("/api/v1/me").status_code == 200


def test_password_reset_forces_a_change_at_next_login(cast: Cast) -> None:
    sara = _street_admin(cast)
    page = _client(sara).post(f"/accounts/users/{cast.alice.pk}/", {"action": "reset"}).content.decode()
    temporary = re.search(r'id="temporary-password">([^<]+)<', page).group(1)  # type: ignore[union-attr]
    client = Client()
    login = client.post("/login/", {"username": "alice", "password": temporary})
    assert login.status_code == 302
    assert client.get("/cases/").url == "/accounts/password/"
    assert client.get("/api/v1/me").status_code == 403
    same = client.post("/accounts/password/", {"old_password": temporary, "new_password": "1234",
                                               "new_password2": "1234"})
    assert same.status_code == 200 and "new_password" in same.content.decode()
    changed = client.post("/accounts/password/", {"old_password": temporary, "new_password": "Another-pass-77",
                                                  "new_password2": "Another-pass-77"})
    assert changed.status_code == 302
    assert client.get("/cases/").status_code == 200
    assert not AccountProfile.objects.get(user=cast.alice).must_change_password


@override_settings(AXES_FAILURE_LIMIT=3)
def test_login_is_throttled_after_repeated_failures(cast: Cast) -> None:
    client = Client()
    for _ in range(3):
        client.post("/login/", {"username": "alice", "password": "wrong"})
    locked = client.post("/login/", {"username": "alice", "password": cast.password})
    assert locked.status_code == 429 and "锁定" in locked.content.decode()


def _staff_sheet(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["姓名", "手机号", "用户名", "角色", "区域代码", "单位信用代码"])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_staff_accounts_import_all_or_nothing_with_one_time_passwords(cast: Cast) -> None:
    sara = _street_admin(cast)
    client = _client(sara)
    template = load_workbook(io.BytesIO(client.get("/accounts/import/template.xlsx").content))
    assert [c.value for c in template.active[1]][:4] == ["姓名*", "手机号*", "用户名", "角色*"]  # type: ignore[index]
    bad = _staff_sheet([["张伟", "13911112222", "", "社区工作者", cast.community.code, ""],
                        ["赵敏", "13911113333", "", "社区工作者", cast.community3.code, ""],
                        ["钱多", "139", "", "网格员", cast.grid1.code, ""]])
    page = client.post("/accounts/import/", {"file": io.BytesIO(bad)}).content.decode()
    assert "第" in page or "import-errors" in page
    assert not User.objects.filter(username__in=["13911112222", "13911113333"]).exists()
    assert "区域代码" in page and "手机号" in page
    good = _staff_sheet([["张伟", "13911112222", "", "社区工作者", cast.community.code, ""],
                         ["钱多", "13911114444", "qianduo", "网格员", cast.grid1.code, ""]])
    page = client.post("/accounts/import/", {"file": io.BytesIO(good)}).content.decode()
    passwords = re.findall(r'<code class="password">([^<]+)</code>', page)
    assert len(passwords) == 2
    zhang = User.objects.get(username="13911112222")
    assert zhang.first_name == "张伟" and zhang.check_password(passwords[0])
    assert RoleGrant.objects.filter(user__username="qianduo", role="grid_worker", area=cast.grid1).exists()
    assert AccountProfile.objects.get(user=zhang).must_change_password
    # The same through the API.
    api = _client(sara)
    more = _staff_sheet([["孙丽", "13911115555", "", "社区工作者", cast.community2.code, ""]])
    from django.core.files.uploadedfile import SimpleUploadedFile

    answer = api.post("/api/v1/accounts/import", {"file": SimpleUploadedFile("s.xlsx", more)})
    body = answer.json()
    assert answer.status_code == 200 and body["ok"] and body["accounts"][0]["username"] == "13911115555"


def test_accounts_api_create_grant_revoke_and_scope(cast: Cast) -> None:
    sara = _street_admin(cast)
    client = _client(sara)
    made = _api(client, "post", "/api/v1/accounts/users", {"username": "zhou", "display_name": "周", "home_area_id":
                                                           cast.community.pk, "role": "community_worker"})
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["temporary_password"] and body["grants"][0]["role"] == "community_worker"
    uid = body["id"]
    grant = _api(client, "post", f"/api/v1/accounts/users/{uid}/grants", {"role": "grid_worker",
                                                                          "area_id": cast.grid1.pk})
    assert grant.status_code == 201
    wrong_kind = _api(client, "post", f"/api/v1/accounts/users/{uid}/grants", {"role": "grid_worker",
                                                                               "area_id": cast.street.pk})
    assert wrong_kind.status_code == 400 and "area" in wrong_kind.json()["error"]["fields"]
    outside = _api(client, "post", "/api/v1/accounts/users", {"username": "wu", "display_name": "吴",
                                                              "home_area_id": cast.community3.pk})
    assert outside.status_code == 404
    assert client.delete(f"/api/v1/accounts/users/{uid}/grants/{grant.json()['id']}").status_code == 204
    page1 = client.get("/api/v1/accounts/users?limit=2").json()
    assert len(page1["items"]) == 2 and page1["next"]
    names = {i["username"] for i in page1["items"]}
    page2 = client.get(f"/api/v1/accounts/users?limit=200&after={page1['next']}").json()
    assert not names & {i["username"] for i in page2["items"]}
    assert "olga" not in names | {i["username"] for i in page2["items"]}
    reset = client.post(f"/api/v1/accounts/users/{cast.alice.pk}/password-reset")
    assert reset.status_code == 200 and reset.json()["temporary_password"]
    assert _client(cast.bob).get("/api/v1/accounts/users").json()["items"] == []
    roles = client.get("/api/v1/accounts/roles").json()
    assert any(r["role"] == "party_secretary" and "组织议事协商" in r["caps"] for r in roles)


def test_password_rules_name_the_field(cast: Cast) -> None:
    sara = _street_admin(cast)
    with pytest.raises(Exception) as info:
        accounts.user_create(actor=sara, username="x1", password="password", home_area=cast.community)
    assert "password" in getattr(info.value, "fields", {})


# ------------------------------------------------------------------------------------------ residents


def _sent_code(caplog: Any) -> str:
    texts = [r.getMessage() for r in caplog.records if r.name == "gongzhi.sms"]
    assert texts, "no SMS was written to the log"
    return re.findall(r"验证码是 (\d{6})", texts[-1])[0]


def test_resident_registers_with_a_code_and_the_community_confirms_her(cast: Cast, caplog: Any,
                                                                       django_capture_on_commit_callbacks: Any
                                                                       ) -> None:
    caplog.set_level(logging.INFO, logger="gongzhi.sms")
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post("/accounts/register/", {"step": "phone", "phone": "13655556666"})
    assert sent.status_code == 302
    code = _sent_code(caplog)
    wrong = client.post("/accounts/register/", {"step": "code", "phone": "13655556666", "code": "000000" if code !=
                                                "000000" else "111111", "name": "陈晨", "community": cast.community.pk,
                                                "password": "Resident-pass-1", "password2": "Resident-pass-1"})
    assert "验证码不正确" in wrong.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post("/accounts/register/", {"step": "code", "phone": "13655556666", "code": code,
                                                   "name": "陈晨", "community": cast.community.pk,
                                                   "address": "海鸥花园1号楼", "password": "Resident-pass-1",
                                                   "password2": "Resident-pass-1"})
    assert done.status_code == 302
    reg = Registration.objects.get(phone="13655556666")
    assert reg.state == RegistrationState.PENDING
    # Until confirmed she reports nothing and sees no community data.
    assert not RoleGrant.objects.filter(user=reg.user).exists()
    # The community worker is told and confirms her, recording her on her building.
    from gongzhi.notifications.models import Notification

    assert Notification.objects.filter(user=cast.alice, kind="notice").exists()
    staff = _client(cast.alice)
    assert "陈晨" in staff.get("/accounts/registrations/").content.decode()
    assert _client(cast.charlie).get(f"/accounts/registrations/{reg.pk}/").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = staff.post(f"/accounts/registrations/{reg.pk}/", {"action": "confirm", "area": cast.building.pk})
    assert confirmed.status_code == 302
    person = Person.objects.get(user=reg.user)
    assert person.area == cast.building and person.phone == "13655556666"
    assert RoleGrant.objects.filter(user=reg.user, role="resident", area=cast.community).exists()
    assert Notification.objects.filter(user=reg.user, kind="notice").exists()


def test_registration_links_an_existing_person_and_works_through_the_api(cast: Cast, caplog: Any,
                                                                         django_capture_on_commit_callbacks: Any
                                                                         ) -> None:
    from gongzhi.registry import services as registry

    caplog.set_level(logging.INFO, logger="gongzhi.sms")
    existing = registry.person_create(actor=None, area=cast.building, name="林静", phone="13677778888")
    client = Client()
    communities = client.get("/api/v1/register/communities?q=碧海").json()
    assert communities[0]["id"] == cast.community.pk
    with django_capture_on_commit_callbacks(execute=True):
        assert _api(client, "post", "/api/v1/register/code", {"phone": "13677778888"}).status_code == 202
    code = _sent_code(caplog)
    made = _api(client, "post", "/api/v1/register", {"phone": "13677778888", "code": code, "name": "林静",
                                                     "password": "Resident-pass-2",
                                                     "community_id": cast.community.pk})
    assert made.status_code == 201, made.content
    again = _api(client, "post", "/api/v1/register", {"phone": "13677778888", "code": code, "name": "林静",
                                                      "password": "Resident-pass-2",
                                                      "community_id": cast.community.pk})
    assert again.status_code == 400 and "phone" in again.json()["error"]["fields"]
    staff = _client(cast.alice)
    pending = staff.get("/api/v1/registrations").json()
    assert [r["name"] for r in pending] == ["林静"]
    with django_capture_on_commit_callbacks(execute=True):
        ok = _api(staff, "post", f"/api/v1/registrations/{pending[0]['id']}/confirm", {"person_id": existing.pk})
    assert ok.status_code == 200 and ok.json()["person_id"] == existing.pk
    existing.refresh_from_db()
    assert existing.user_id == made.json()["id"]


def test_codes_are_rate_limited_and_expire(cast: Cast) -> None:
    for _ in range(accounts.CODES_PER_HOUR):
        accounts.phone_code_send(phone="13600001111")
    with pytest.raises(Exception, match="频繁"):
        accounts.phone_code_send(phone="13600001111")


def test_change_records_read_in_chinese_with_names_not_codes(cast: Cast) -> None:
    from gongzhi.registry import services as registry

    registry.area_update(actor=cast.admin, area=cast.compound, changes={"households": 320}, reason="复核户数")
    person = Person.objects.get(user=cast.bob)
    registry.person_update(actor=cast.admin, person=person, changes={"area": cast.compound}, reason="搬家")
    page = _client(cast.admin).get(f"/areas/{cast.compound.pk}/").content.decode()
    trail = page[page.index('id="trail"'):]
    assert "修改区域" in trail and "户数" in trail and "320" in trail
    assert "registry.area.update" not in trail and "households" not in trail
    page = _client(cast.alice).get(f"/people/{person.pk}/").content.decode()
    trail = page[page.index('id="trail"'):]
    assert "海鸥花园" in trail and "1号楼" in trail and "居住区域" in trail


def test_community_contacts_are_public_with_names_and_no_numbers(cast: Cast) -> None:
    from gongzhi.registry import services as registry
    from gongzhi.registry.models import PostKind

    worker = registry.person_create(actor=None, area=cast.building, name="网格员小周", phone="13800001234")
    registry.staff_post_assign(actor=None, person=worker, kind=PostKind.GRID_WORKER, area=cast.grid1)
    page = Client().get(f"/contacts/?area={cast.community.pk}").content.decode()
    contacts = page[page.index('id="contacts"'):]
    assert "碧海社区第1网格" in contacts and "网格员小周" in contacts and "1234" not in contacts
    assert Client().get(f"/contacts/?area={cast.grid1.pk}").status_code == 404  # communities only
    mine = _client(cast.bob).get("/contacts/").content.decode()
    assert "网格员小周" in mine  # a signed-in resident lands on her own community
