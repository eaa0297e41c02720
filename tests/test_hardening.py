"""Security and transport defects found under probing (issue 9, item 7), each driven through HTTP where it is seen:
CSP and HSTS, token revocation on every worker, the audit API behind VIEW_AUDIT, Idempotency-Key on intake, photos
re-encoded, council pages for members and staff only, gunicorn's control socket, bounded dates."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from PIL import Image

from gongzhi.accounts import services as accounts
from gongzhi.accounts.models import ApiToken, RoleGrant
from gongzhi.cases import services as cases
from gongzhi.cases.models import Case, CasePhoto
from gongzhi.core import scope as core_scope
from gongzhi.core.errors import InvalidInput
from gongzhi.core.models import IdempotencyKey
from gongzhi.councils import services as councils
from gongzhi.councils.models import Council
from gongzhi.registry.models import Person
from tests.cast import Cast

ROOT = Path(__file__).resolve().parent.parent


def api(user: Any) -> Client:
    _token, key = accounts.token_create(actor=None, user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def web(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# ------------------------------------------------------------------------------------------ 1. CSP, HSTS, cookies


def test_pages_carry_a_csp_without_unsafe_inline_scripts_and_inline_blocks_carry_its_nonce(cast: Cast) -> None:
    page = web(cast.alice).get("/cases/report/")
    assert page.status_code == 200
    policy = page["Content-Security-Policy"]
    script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src")).split()
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src and "'self'" in script_src
    html = page.content.decode()
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    # A page with an inline block (the routing rules' editor) carries the nonce on it.
    from django.urls import reverse

    configured = web(cast.admin).get(reverse("cases:routing"))
    assert configured.status_code == 200
    nonced_src = next(d for d in configured["Content-Security-Policy"].split(";")
                      if d.strip().startswith("script-src")).split()
    nonce = next(s for s in nonced_src if s.startswith("'nonce-"))[len("'nonce-"):-1]
    inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)([^>]*)>", configured.content.decode())
    assert inline and all(f'nonce="{nonce}"' in attrs for attrs in inline)
    # The language switch submits through app.js (data-autosubmit), not an inline handler the policy would block.
    assert "data-autosubmit" in html and not re.search(r"\son[a-z]+=", html)


def test_no_template_has_an_inline_handler_or_a_script_without_nonce() -> None:
    offenders = []
    for path in (ROOT / "gongzhi").rglob("templates/**/*.html"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"\son[a-z]+=[\"']", text):
            offenders.append(f"{path}: inline handler")
        for attrs in re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)([^>]*)>", text):
            if "csp_nonce" not in attrs:
                offenders.append(f"{path}: <script{attrs}> without the nonce")
    assert offenders == []
    js = (ROOT / "gongzhi/web/static/web/app.js").read_text(encoding="utf-8")
    assert "[data-autosubmit]" in js and "form[data-confirm]" in js


def _settings_with(env: dict[str, str]) -> dict[str, Any]:
    code = ("import json, gongzhi.settings as s; print(json.dumps({k: getattr(s, k, None) for k in ["
            "'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS', 'SECURE_PROXY_SSL_HEADER', "
            "'CACHES']}))")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GONGZHI_")}
    out = subprocess.run([sys.executable, "-c", code], env={**clean, "GONGZHI_SECRET_KEY": "x" * 50, **env},
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_tls_settings_make_cookies_secure_and_send_hsts_behind_the_proxy() -> None:
    plain = _settings_with({})
    assert plain["SESSION_COOKIE_SECURE"] is False and plain["SECURE_HSTS_SECONDS"] == 0
    assert plain["SECURE_PROXY_SSL_HEADER"] is None
    assert plain["CACHES"]["default"]["BACKEND"].endswith("DatabaseCache")
    for env in ({"GONGZHI_TLS": "1"}, {"GONGZHI_SECURE_COOKIES": "1"}):
        tls = _settings_with(env)
        assert tls["SESSION_COOKIE_SECURE"] is True and tls["CSRF_COOKIE_SECURE"] is True
        assert tls["SECURE_HSTS_SECONDS"] == 31_536_000
        assert tls["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert _settings_with({"GONGZHI_TLS": "1", "GONGZHI_HSTS_SECONDS": "600"})["SECURE_HSTS_SECONDS"] == 600
    redis = _settings_with({"GONGZHI_CACHE_URL": "redis://cache.internal:6379/1"})["CACHES"]["default"]
    assert redis["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert redis["LOCATION"] == "redis://cache.internal:6379/1"


def test_behind_tls_the_session_cookie_is_secure_and_hsts_is_sent(cast: Cast, settings) -> None:
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client = Client(HTTP_X_FORWARDED_PROTO="https")
    login = client.post("/login/", {"username": "alice", "password": cast.password})
    assert login.status_code == 302
    assert client.cookies["sessionid"]["secure"] is True
    assert client.get("/login/")["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in Client().get("/login/")  # plain HTTP (the proxy's health check)


# ------------------------------------------------------------------------------------------ 2. revocation everywhere


class OtherWorker:
    """Another gunicorn worker: its own per-process memory, the shared cache and database."""

    def __init__(self) -> None:
        self.tokens: dict[str, Any] = {}
        self.scopes: dict[int, Any] = {}

    def __enter__(self) -> OtherWorker:
        self._tokens, self._scopes = dict(accounts._recent_tokens), dict(core_scope._recent)
        accounts._recent_tokens.clear(), core_scope._recent.clear()
        accounts._recent_tokens.update(self.tokens), core_scope._recent.update(self.scopes)
        return self

    def __exit__(self, *exc: object) -> None:
        self.tokens, self.scopes = dict(accounts._recent_tokens), dict(core_scope._recent)
        accounts._recent_tokens.clear(), core_scope._recent.clear()
        accounts._recent_tokens.update(self._tokens), core_scope._recent.update(self._scopes)


def test_a_revoked_token_stops_at_once_on_another_worker(cast: Cast) -> None:
    token, key = accounts.token_create(actor=None, user=cast.alice, name="client")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    other = OtherWorker()
    with other:
        assert client.get("/api/v1/me").status_code == 200  # that worker now remembers the key
    # The memory is really used: a change behind its back (no service, no generation bump) goes unnoticed there...
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    with other:
        assert client.get("/api/v1/me").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=None)
    # ...while revoking through this worker's service bumps the shared generation: the other worker refuses at once.
    accounts.token_revoke(actor=cast.alice, token=token)
    with other:
        assert client.get("/api/v1/me").status_code == 401


def test_a_revoked_role_is_gone_at_once_on_another_worker(cast: Cast) -> None:
    client = api(cast.alice)
    other = OtherWorker()
    area = f"/api/v1/areas/{cast.community.pk}"
    with other:
        assert client.get(area).status_code == 200
    grant = RoleGrant.objects.get(user=cast.alice, role="community_worker")
    accounts.revoke_role(actor=cast.admin, grant=grant)
    with other:
        assert client.get(area).status_code == 404
    accounts.grant_role(actor=cast.admin, user=cast.alice, role="community_worker", area=cast.community)
    with other:
        assert client.get(area).status_code == 200


def test_remembered_tokens_cost_one_cache_read_per_request(cast: Cast, django_assert_max_num_queries) -> None:
    client = api(cast.alice)
    client.get("/api/v1/me")
    with django_assert_max_num_queries(3) as ctx:  # the generation, then /me's own reads
        assert client.get("/api/v1/me").status_code == 200
    assert sum("gongzhi_cache" in q["sql"] for q in ctx.captured_queries) == 1
    assert not any("accounts_apitoken" in q["sql"] or "accounts_rolegrant" in q["sql"] for q in ctx.captured_queries)


# ------------------------------------------------------------------------------------------ 3. audit API


def test_the_audit_api_is_for_those_who_may_view_audit_where_the_object_lives(cast: Cast) -> None:
    url = f"/api/v1/audit/registry.area/{cast.grid1.pk}"
    trail = api(cast.alice).get(url)
    assert trail.status_code == 200 and trail.json()[0]["action"]
    assert api(cast.gina).get(url).status_code == 403  # a grid worker sees her grid, not its audit trail
    assert api(cast.bob).get(url).status_code in (403, 404)  # a resident
    assert api(cast.charlie).get(url).status_code == 404  # outside his scope
    bob_person = Person.objects.get(user=cast.bob)
    assert api(cast.bob).get(f"/api/v1/audit/registry.person/{bob_person.pk}").status_code == 403  # his own row
    assert api(cast.alice).get(f"/api/v1/audit/registry.person/{bob_person.pk}").status_code == 200
    case = cases.case_submit(actor=cast.bob, title="楼道灯坏了", description="三单元楼道灯不亮", area=cast.building)
    assert api(cast.bob).get(f"/api/v1/audit/cases.case/{case.pk}").status_code == 403  # his own case
    assert api(cast.alice).get(f"/api/v1/audit/cases.case/{case.pk}").status_code == 200


# ------------------------------------------------------------------------------------------ 4. Idempotency-Key


def _case_post(client: Client, cast: Cast, key: str | None, title: str = "路灯不亮") -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post("/api/v1/cases", json.dumps({"title": title, "description": "门口路灯不亮",
                                                    "area_id": cast.building.pk}),
                       content_type="application/json", **headers)


def test_a_retried_case_intake_with_the_same_key_returns_the_first_case(cast: Cast) -> None:
    bob = api(cast.bob)
    first = _case_post(bob, cast, "retry-7f3a")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    again = _case_post(bob, cast, "retry-7f3a")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Case.objects.filter(title="路灯不亮").count() == 1
    # The same key on another request is a mistake, named on the header; another user's key is another key.
    other = _case_post(bob, cast, "retry-7f3a", title="路灯又坏了")
    assert other.status_code == 400 and "Idempotency-Key" in other.json()["error"]["fields"]
    assert _case_post(api(cast.alice), cast, "retry-7f3a").json()["id"] != first.json()["id"]
    # Without a key every POST is a new case; a malformed key is refused.
    assert _case_post(bob, cast, None).json()["id"] != first.json()["id"]
    assert _case_post(bob, cast, "有空格 的键").status_code == 400
    assert Case.objects.filter(title="路灯不亮").count() == 3


def test_keys_are_forgotten_after_a_day_by_the_deadline_jobs(cast: Cast) -> None:
    import datetime as dt

    from django.core.management import call_command
    from django.utils import timezone

    bob = api(cast.bob)
    first = _case_post(bob, cast, "old-key")
    IdempotencyKey.objects.filter(key="old-key").update(created_at=timezone.now() - dt.timedelta(hours=25))
    _case_post(bob, cast, "fresh-key")
    call_command("case_jobs", stdout=io.StringIO())
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh-key"]
    again = _case_post(bob, cast, "old-key")  # a day later the same key is a new request
    assert again.status_code == 201 and again.json()["id"] != first.json()["id"]


def test_a_failed_intake_keeps_no_key_so_the_retry_runs(cast: Cast) -> None:
    bob = api(cast.bob)
    bad = bob.post("/api/v1/cases", json.dumps({"title": "x", "description": "y", "area_id": cast.building.pk,
                                                "category_code": "nope"}),
                   content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1")
    assert bad.status_code == 400 and not IdempotencyKey.objects.filter(key="k1").exists()


def test_open311_retries_with_the_same_key_create_one_request(cast: Cast) -> None:
    _token, key = accounts.token_create(actor=None, user=cast.gina, name="open311 client")
    form = {"service_code": "030602", "lat": "41.805", "long": "123.405", "description": "楼道堆满杂物",
            "api_key": key}
    client = Client()
    first = client.post("/open311/v2/requests.json", form, HTTP_IDEMPOTENCY_KEY="o311-1")
    again = client.post("/open311/v2/requests.json", form, HTTP_IDEMPOTENCY_KEY="o311-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again["Idempotent-Replayed"] == "true"
    assert Case.objects.filter(description="楼道堆满杂物").count() == 1
    xml = client.post("/open311/v2/requests.xml", form, HTTP_IDEMPOTENCY_KEY="o311-1")  # another endpoint
    assert xml.status_code == 201 and xml["Content-Type"].startswith("text/xml")
    assert Case.objects.filter(description="楼道堆满杂物").count() == 2
    assert client.post("/open311/v2/requests.xml", form, HTTP_IDEMPOTENCY_KEY="o311-1").content == xml.content


@pytest.mark.django_db(transaction=True)
def test_simultaneous_retries_create_exactly_one_case() -> None:
    from tests.cast import build_cast

    cast = build_cast()
    _token, key = accounts.token_create(actor=None, user=cast.bob, name="flaky phone")
    body = json.dumps({"title": "同时重试", "description": "网络超时后客户端重发", "area_id": cast.building.pk})
    results: list[tuple[int, Any]] = []
    barrier = threading.Barrier(4)

    def post() -> None:
        try:
            barrier.wait()
            r = Client(HTTP_AUTHORIZATION=f"Bearer {key}").post(
                "/api/v1/cases", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="same-key")
            results.append((r.status_code, r.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Case.objects.filter(title="同时重试").count() == 1
    assert [s for s, _b in results] == [201] * 4
    assert len({b["id"] for _s, b in results}) == 1


# ------------------------------------------------------------------------------------------ 5. photos


def _image(fmt: str, **save: Any) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 12), (200, 40, 40)).save(out, format=fmt, **save)
    return out.getvalue()


def test_photos_are_decoded_and_re_encoded_so_polyglots_and_metadata_do_not_pass(cast: Cast, tmp_path,
                                                                                  settings) -> None:
    settings.MEDIA_ROOT = tmp_path
    polyglot = b"\x89PNG\r\n\x1a\n" + b"<html><script>alert(document.cookie)</script></html>"
    with pytest.raises(InvalidInput) as exc:
        cases.case_submit(actor=cast.bob, title="照片", description="x", area=cast.building,
                          photos=[("evil.png", polyglot)])
    assert "photos[0]" in exc.value.fields
    # A real PNG with HTML appended, and a JPEG carrying GPS in its EXIF: stored as pixels only.
    exif = Image.Exif()
    exif[0x8825] = {2: (30.0, 15.0, 0.0)}  # GPSInfo
    exif[0x010F] = "PhoneMaker"  # Make
    appended = _image("PNG") + b"<html>hi</html>"
    jpeg = _image("JPEG", exif=exif.tobytes())
    assert b"PhoneMaker" in jpeg
    case = cases.case_submit(actor=cast.bob, title="照片", description="x", area=cast.building,
                             photos=[("a.png", appended), ("b.jpg", jpeg)])
    stored = {p.content_type: p.image.read() for p in CasePhoto.objects.filter(case=case)}
    assert b"<html>" not in stored["image/png"] and Image.open(io.BytesIO(stored["image/png"])).size == (16, 12)
    assert b"PhoneMaker" not in stored["image/jpeg"]
    assert not Image.open(io.BytesIO(stored["image/jpeg"])).getexif()
    # The API refuses the polyglot on its field too.
    bob = api(cast.bob)
    refused = bob.post(f"/api/v1/cases/{case.pk}/updates",
                       json.dumps({"text": "补照片", "photos": [base64.b64encode(polyglot).decode()]}),
                       content_type="application/json")
    assert refused.status_code == 400 and "photos[0]" in refused.json()["error"]["fields"]


def test_patrol_photos_go_through_the_same_re_encoding() -> None:
    from gongzhi.patrol.services import _clean_photo

    with pytest.raises(InvalidInput) as exc:
        _clean_photo(("p.png", b"\x89PNG\r\n\x1a\n<html></html>"))
    assert "photo" in exc.value.fields
    data, kind = _clean_photo(("p.png", _image("PNG") + b"trailer")) or (b"", "")
    assert kind == "image/png" and not data.endswith(b"trailer")


# ------------------------------------------------------------------------------------------ 6. council pages


def test_internal_council_pages_are_for_members_and_staff_in_scope(cast: Cast) -> None:
    council = councils.council_create(actor=None, area=cast.community, name="碧海社区议事会", kind="other",
                                      cadence="monthly")
    meeting = councils.meeting_schedule(actor=None, council=council, place="党群服务中心",
                                        scheduled_for=dt.datetime(2026, 12, 3, 14, 30, tzinfo=dt.UTC))
    pages = [f"/councils/{council.pk}/", f"/councils/meetings/{meeting.pk}/",
             f"/councils/meetings/{meeting.pk}/minutes.docx", f"/councils/{council.pk}/ledger.xlsx"]
    bob, alice = web(cast.bob), web(cast.alice)
    for url in pages:
        assert alice.get(url).status_code == 200, url
        assert bob.get(url).status_code == 404, url  # a resident of the community, not on the council
    assert api(cast.bob).get(f"/api/v1/councils/{council.pk}").status_code == 404
    index = bob.get("/councils/")
    assert index.status_code == 302 and index["Location"] == "/councils/public/"
    assert bob.get("/councils/public/").status_code == 200
    # On the council (a current member), he reads his council again; after leaving, no more.
    seat = councils.member_add(actor=None, council=council, role="member", person=Person.objects.get(user=cast.bob))
    for url in pages:
        assert bob.get(url).status_code == 200, url
    assert api(cast.bob).get(f"/api/v1/councils/{council.pk}").status_code == 200
    assert bob.get("/councils/").status_code == 200
    type(seat).objects.filter(pk=seat.pk).update(left_on=dt.date(2026, 12, 1))
    assert bob.get(f"/councils/{council.pk}/").status_code == 404
    assert Council.objects.filter(pk=council.pk).exists()


# ------------------------------------------------------------------------------------------ 7. gunicorn


def test_gunicorn_runs_without_the_shared_control_socket() -> None:
    cli = (ROOT / "gongzhi/cli.py").read_text(encoding="utf-8")
    assert '"--no-control-socket"' in cli
    # The installed gunicorn knows the option (it would refuse to start on an unknown one).
    checked = subprocess.run([sys.executable, "-m", "gunicorn", "--no-control-socket", "--check-config",
                              "gongzhi.wsgi:application"], cwd=ROOT, capture_output=True, text=True,
                             env={**os.environ, "DJANGO_SETTINGS_MODULE": "gongzhi.test_settings"}, timeout=120)
    assert checked.returncode == 0, checked.stderr[-2000:]


# ------------------------------------------------------------------------------------------ 8. bounded dates


def test_dates_far_out_of_range_are_a_400_naming_the_field(cast: Cast) -> None:
    admin = api(cast.admin)
    for day in ("9999-12-31", "0001-01-01"):
        r = admin.get(f"/api/v1/areas/{cast.community.pk}/pairing-figures?day={day}")
        assert r.status_code == 400 and "day" in r.json()["error"]["fields"], r.content
        r = admin.get(f"/api/v1/case-figures?area_id={cast.community.pk}&end={day}&start={day}")
        assert r.status_code == 400 and set(r.json()["error"]["fields"]) & {"start", "end"}
    client = Client()
    for name, value in (("start_date", "9999-12-31T00:00:00Z"), ("end_date", "0001-01-01T00:00:00Z")):
        r = client.get(f"/open311/v2/requests.json?{name}={value}")
        assert r.status_code == 400 and name in r.json()[0]["description"]


# ------------------------------------------------------------------------------------------ 7. versions everywhere


def test_patrol_plans_mediation_teams_and_council_kinds_refuse_stale_edits(cast: Cast) -> None:
    """Every editable record carries a version: an edit made from an older copy is a 409 naming ``version``, the
    current one goes through and steps the version (API), and the edit forms carry the version they were filled
    from (web)."""
    from gongzhi.cases import services as cases
    from gongzhi.councils.models import CouncilKind
    from gongzhi.patrol import services as patrol

    plan = patrol.plan_create(actor=None, area=cast.grid1, name="每天常态巡访", frequency="daily",
                              checklist=["消防通道"])
    team = cases.mediation_team_create(actor=None, area=cast.street, name="新华街道物业纠纷调解分中心",
                                       kind="property")
    kind = CouncilKind.objects.get(code="other") if CouncilKind.objects.filter(code="other").exists() \
        else CouncilKind.objects.order_by("pk").first()
    assert kind is not None
    edits = [
        (api(cast.alice).put, f"/api/v1/patrol/plans/{plan.pk}", {"name": "每日巡访", "checklist": ["消防通道"]}),
        (api(cast.stan).patch, f"/api/v1/mediation-teams/{team.pk}", {"name": "新华街道物业纠纷调解中心"}),
        (api(cast.admin).patch, f"/api/v1/council-kinds/{kind.code}", {"name": "其他议事组织（新）"}),
    ]
    for send, url, body in edits:
        ok = send(url, json.dumps({**body, "version": 1}), content_type="application/json")
        assert ok.status_code == 200 and ok.json()["version"] == 2, (url, ok.content)
        stale = send(url, json.dumps({**body, "version": 1}), content_type="application/json")
        assert stale.status_code == 409 and "version" in stale.json()["error"]["fields"], url
    plan.refresh_from_db()
    team.refresh_from_db()
    kind.refresh_from_db()
    assert (plan.name, plan.version, team.version, kind.version) == ("每日巡访", 2, 2, 2)
    page = web(cast.alice).get(f"/patrol/plans/{plan.pk}/edit/").content.decode()
    assert 'name="version" value="2"' in page
    stale_form = web(cast.alice).post(f"/patrol/plans/{plan.pk}/edit/", {
        "name": "改名", "checklist": "消防通道", "patroller": "", "reason": "", "version": "1"})
    assert stale_form.status_code == 200 and "刷新" in stale_form.content.decode()
    plan.refresh_from_db()
    assert plan.name == "每日巡访"
    assert 'value="2"' in web(cast.stan).get(f"/cases/mediation/teams/{team.pk}/edit/").content.decode()
