"""Notifications that arrive (issue 8 item 4): the inbox after commit, e-mail and SMS as each user chose (SMS against
a real HTTP server), the inbox page and its header count, the API, and the case pipeline's people reached."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gongzhi.accounts import services as accounts
from gongzhi.cases import services as cases
from gongzhi.cases.models import Case
from gongzhi.core.errors import Forbidden, InvalidInput
from gongzhi.core.models import AuditEntry
from gongzhi.notifications import channels, services
from gongzhi.notifications.channels import SmsFailed, send_sms
from gongzhi.notifications.models import ChannelPreference, Kind, Notification
from tests.cast import Cast

TZ = ZoneInfo("Asia/Shanghai")
BOB_PHONE = "13800138000"  # tests/cast.py gives bob's person this number


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_client(user: Any) -> Client:
    _token, key = accounts.token_create(actor=None, user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def submit(cast: Cast, **kw: Any) -> Case:
    return cases.case_submit(actor=cast.bob, title=kw.pop("title", "楼道堆放杂物"),
                             description="3单元楼道堆满纸箱，存在消防隐患", area=cast.building, **kw)


def inbox(user: Any) -> list[Notification]:
    return list(Notification.objects.filter(user=user).order_by("-created_at", "-id"))


def badge(page: str) -> str | None:
    """The unread count in the page's header, or None when it shows none."""
    found = re.search(r'id="unread-count"[^>]*>([^<]*)<', page)
    return found.group(1) if found else None


def fill(user: Any, n: int, *, start: dt.datetime | None = None) -> None:
    """n notifications for ``user``, one minute apart (the last is the newest)."""
    start = start or dt.datetime(2026, 11, 1, 9, 0, tzinfo=TZ)
    Notification.objects.bulk_create([
        Notification(user=user, kind=Kind.NOTICE, message=f"消息{i}", link="/cases/", created_at=start +
                     dt.timedelta(minutes=i)) for i in range(n)])


# --------------------------------------------------------------------------- the local SMS gateway


class Gateway:
    """A real HTTP server on a free local port that records what it receives."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.received: list[dict[str, Any]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                gateway.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"ok": true}')
                except OSError:
                    pass  # the client gave up waiting (the timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/sms/send"

    def __enter__(self) -> Gateway:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(settings: Any) -> Iterator[Gateway]:
    with Gateway() as gw:
        settings.GONGZHI_SMS_URL = gw.url
        settings.GONGZHI_SMS_TOKEN = "s3cret-token"
        settings.GONGZHI_SMS_TIMEOUT = 2
        yield gw


# --------------------------------------------------------------------------- delivery


def test_nothing_arrives_before_commit_and_nothing_from_a_rolled_back_change(
        cast: Cast, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.notify(user_ids=[cast.alice.pk, cast.alice.pk, None], kind=Kind.NOTICE, message="会议改期")
        assert not Notification.objects.exists()
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                services.notify(user_ids=[cast.alice.pk], kind=Kind.NOTICE, message="回滚的消息")
                raise RuntimeError
        except RuntimeError:
            pass
    assert not Notification.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user_ids=[cast.alice.pk, str(cast.alice.pk)], kind=Kind.NOTICE, message="会议改期")
    [n] = inbox(cast.alice)
    assert (n.message, n.kind, n.read_at) == ("会议改期", Kind.NOTICE, None)


def test_notify_refuses_unknown_kinds_empty_messages_and_foreign_links(cast: Cast) -> None:
    for kw, field in (({"kind": "spam"}, "kind"), ({"message": "  "}, "message"),
                      ({"link": "https://evil.example/"}, "link"), ({"link": "//evil.example/"}, "link")):
        args: dict[str, Any] = {"user_ids": [cast.alice.pk], "kind": Kind.NOTICE, "message": "x", **kw}
        with pytest.raises(InvalidInput) as exc:
            services.notify(**args)
        assert field in exc.value.fields


def test_a_case_reaches_the_reporter_and_the_unit_it_is_dispatched_to_with_a_link_to_it(
        cast: Cast, pipeline: dict[str, Any], django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        case = submit(cast)
        case = cases.transition(actor=cast.alice, case=case, name="accept", category=pipeline["property"])
        case = cases.transition(actor=cast.alice, case=case, name="dispatch", unit=pipeline["unit"])
    told = inbox(cast.bob)  # newest first: dispatched, accepted
    assert len(told) == 2 and "派遣" in told[0].message and "受理" in told[1].message
    accepted = told[1]
    [dispatched] = inbox(pipeline["hank"])
    for n in (accepted, dispatched):
        assert (n.kind, n.link, n.object_type, n.object_id) == (Kind.CASE, f"/cases/{case.pk}/", "cases.case",
                                                                str(case.pk))
        assert case.number in n.message
    assert not inbox(cast.charlie)  # an outsider hears nothing
    assert logged_in(pipeline["hank"]).get(f"/inbox/{dispatched.pk}/").url == f"/cases/{case.pk}/"


def test_overdue_and_due_soon_warnings_reach_the_handler_and_overdue_the_dispatcher_too(
        cast: Cast, pipeline: dict[str, Any], django_capture_on_commit_callbacks: Any) -> None:
    at = dt.datetime(2026, 11, 2, 9, 0, tzinfo=TZ)
    case = submit(cast, now=at)
    case = cases.transition(actor=cast.alice, case=case, name="accept", category=pipeline["property"], now=at)
    case = cases.transition(actor=cast.alice, case=case, name="dispatch", unit=pipeline["unit"], now=at)
    assert case.due_at is not None
    Notification.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        assert cases.warn_due_soon(now=case.due_at - dt.timedelta(hours=1)) == 1
    assert [n.message for n in inbox(pipeline["hank"])] == [f"诉求 {case.number} 即将到期"]
    with django_capture_on_commit_callbacks(execute=True):
        assert cases.mark_overdue(now=case.due_at + dt.timedelta(minutes=1)) == 1
    assert inbox(pipeline["hank"])[0].message == f"诉求 {case.number} 已超期"
    assert inbox(cast.alice)[0].message == f"诉求 {case.number} 已超期"  # the community's dispatcher
    assert inbox(cast.alice)[0].link == f"/cases/{case.pk}/"


def test_a_notice_about_no_case_arrives_without_a_link(cast: Cast, django_capture_on_commit_callbacks: Any) -> None:
    from gongzhi.cases.notify import notify

    with django_capture_on_commit_callbacks(execute=True):
        notify([cast.stan.pk], None, "上移议题「停车难」已答复")
    [n] = inbox(cast.stan)
    assert (n.kind, n.link, n.object_type) == (Kind.NOTICE, "", "")


def test_email_goes_to_the_users_who_chose_it_with_a_link_to_the_thing(
        cast: Cast, settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    settings.GONGZHI_SITE_URL = "https://gongzhi.example.gov.cn"
    cast.alice.email = "alice@example.gov.cn"
    cast.alice.save(update_fields=["email"])
    cast.charlie.email = "charlie@example.gov.cn"
    cast.charlie.save(update_fields=["email"])
    services.preferences_set(actor=cast.alice, email=True, sms=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user_ids=[cast.alice.pk, cast.charlie.pk], kind=Kind.CASE, message="诉求 X 已派遣",
                        link="/cases/7/")
    [message] = mail.outbox  # charlie did not choose e-mail
    assert message.to == ["alice@example.gov.cn"]
    assert "诉求 X 已派遣" in message.subject and "https://gongzhi.example.gov.cn/cases/7/" in message.body
    assert len(inbox(cast.alice)) == len(inbox(cast.charlie)) == 1  # the inbox is always on


def test_sms_reaches_the_gateway_with_the_token_and_the_phone_of_the_users_person(
        cast: Cast, gateway: Gateway, caplog: Any, django_capture_on_commit_callbacks: Any) -> None:
    services.preferences_set(actor=cast.bob, email=False, sms=True)
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user_ids=[cast.bob.pk, cast.alice.pk], kind=Kind.CASE, message="诉求 X 已受理",
                        link="/cases/7/")
    [request] = gateway.received  # alice did not choose SMS
    assert request["path"] == "/sms/send"
    assert request["headers"]["Authorization"] == "Bearer s3cret-token"
    assert request["headers"]["Content-Type"].startswith("application/json")
    assert json.loads(request["body"]) == {"phone": BOB_PHONE, "text": "【共治】诉求 X 已受理"}
    assert "138****8000" in caplog.text and BOB_PHONE not in caplog.text
    assert len(inbox(cast.bob)) == 1


def test_send_sms_without_a_gateway_writes_the_text_to_the_log_with_the_phone_masked(
        settings: Any, caplog: Any) -> None:
    settings.GONGZHI_SMS_URL = ""
    with caplog.at_level(logging.INFO, logger="gongzhi.sms"):
        send_sms(phone=" 138 0013 8000 ", text="您的注册验证码为 482913，10分钟内有效")
    [record] = [r for r in caplog.records if r.name == "gongzhi.sms"]
    assert record.levelno == logging.WARNING
    assert "482913" in record.getMessage() and "138****8000" in record.getMessage()
    assert BOB_PHONE not in caplog.text


def test_send_sms_validates_its_input(settings: Any) -> None:
    settings.GONGZHI_SMS_URL = ""
    for kw, field in (({"phone": "12345"}, "phone"), ({"text": " "}, "text"), ({"text": "长" * 501}, "text")):
        args = {"phone": BOB_PHONE, "text": "验证码 1", **kw}
        with pytest.raises(InvalidInput) as exc:
            send_sms(**args)
        assert field in exc.value.fields


def test_a_refusing_or_silent_gateway_fails_the_sms_but_not_the_inbox(
        cast: Cast, settings: Any, caplog: Any, django_capture_on_commit_callbacks: Any) -> None:
    services.preferences_set(actor=cast.bob, email=False, sms=True)
    with Gateway(status=500) as gw:
        settings.GONGZHI_SMS_URL = gw.url
        with pytest.raises(SmsFailed):
            send_sms(phone=BOB_PHONE, text="验证码 1")
        with django_capture_on_commit_callbacks(execute=True):
            services.notify(user_ids=[cast.bob.pk], kind=Kind.NOTICE, message="网关坏了也要进收件箱")
        assert len(gw.received) == 2
    assert [n.message for n in inbox(cast.bob)] == ["网关坏了也要进收件箱"]
    from gongzhi.registry import services as registry

    for name, phone in (("甲", "13900000001"), ("乙", "13900000002")):
        user = accounts.user_create(actor=None, username=f"sms-{phone}", password=None)
        registry.person_create(actor=None, area=cast.building, name=name, phone=phone, user=user)
        services.preferences_set(actor=user, email=False, sms=True)
    with Gateway(delay=1.0) as slow:
        settings.GONGZHI_SMS_URL, settings.GONGZHI_SMS_TIMEOUT = slow.url, 0.3
        with django_capture_on_commit_callbacks(execute=True):
            services.notify(user_ids=[cast.bob.pk, *ChannelPreference.objects.values_list("user_id", flat=True)],
                            kind=Kind.NOTICE, message="网关很慢")
        assert len(slow.received) == 1  # one timeout, then the rest of this notification is skipped
    assert "answered 500" in caplog.text and BOB_PHONE not in caplog.text
    with Gateway(delay=1.5) as slow:
        settings.GONGZHI_SMS_URL, settings.GONGZHI_SMS_TIMEOUT = slow.url, 0.3
        started = time.monotonic()
        with pytest.raises(SmsFailed):
            send_sms(phone=BOB_PHONE, text="验证码 2")
        assert time.monotonic() - started < 1.4  # the timeout, not the gateway, decides
    settings.GONGZHI_SMS_URL = "file:///etc/passwd"
    with pytest.raises(SmsFailed):
        send_sms(phone=BOB_PHONE, text="验证码 3")


def test_a_failing_channel_is_logged_and_the_others_still_deliver(
        cast: Cast, monkeypatch: Any, caplog: Any, django_capture_on_commit_callbacks: Any) -> None:
    cast.alice.email = "alice@example.gov.cn"
    cast.alice.save(update_fields=["email"])
    services.preferences_set(actor=cast.alice, email=True, sms=False)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("inbox down")

    monkeypatch.setattr(channels.IN_APP, "send", broken)
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user_ids=[cast.alice.pk], kind=Kind.NOTICE, message="照样发邮件")
    assert len(mail.outbox) == 1 and "channel in_app failed" in caplog.text


# --------------------------------------------------------------------------- preferences


def test_preferences_need_an_address_for_the_channel_and_are_audited(cast: Cast) -> None:
    with pytest.raises(InvalidInput) as exc:
        services.preferences_set(actor=cast.alice, email=True, sms=False)
    assert "email" in exc.value.fields
    with pytest.raises(InvalidInput) as exc:
        services.preferences_set(actor=cast.alice, email=False, sms=True)  # alice has no person with a phone
    assert "sms" in exc.value.fields
    assert not ChannelPreference.objects.exists()
    pref = services.preferences_set(actor=cast.bob, email=False, sms=True)
    assert (pref.email, pref.sms) == (False, True)
    services.preferences_set(actor=cast.bob, email=False, sms=True)  # no change, no second entry
    [entry] = AuditEntry.objects.filter(action="notifications.preference.update")
    assert (entry.actor_id, entry.before, entry.after) == (cast.bob.pk, {"email": False, "sms": False},
                                                           {"email": False, "sms": True})
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Forbidden):
        services.preferences_set(actor=AnonymousUser(), email=False, sms=False)


def test_the_preferences_form_on_the_inbox_page_names_the_field_in_error_and_saves(cast: Cast) -> None:
    client = logged_in(cast.alice)
    page = client.get("/inbox/").content.decode()
    assert 'id="preferences"' in page and "您的账号未登记电子邮箱" in page
    response = client.post("/inbox/preferences/", {"email": "on"})
    assert response.status_code == 200
    assert 'id="error-email"' in response.content.decode() and "不能选择邮件提醒" in response.content.decode()
    assert not ChannelPreference.objects.exists()
    cast.alice.email = "alice@example.gov.cn"
    cast.alice.save(update_fields=["email"])
    response = client.post("/inbox/preferences/", {"email": "on"})
    assert response.status_code == 302
    assert ChannelPreference.objects.get(user=cast.alice).email is True
    assert "发送到 alice@example.gov.cn" in client.get("/inbox/").content.decode()
    bob_page = logged_in(cast.bob).get("/inbox/").content.decode()
    assert "138****8000" in bob_page and BOB_PHONE not in bob_page


# --------------------------------------------------------------------------- the inbox page and the header


def test_the_inbox_is_newest_first_highlights_unread_and_pages_with_bounded_queries(
        cast: Cast, django_assert_max_num_queries: Any) -> None:
    client = logged_in(cast.alice)
    fill(cast.alice, 5)
    fill(cast.charlie, 3)
    client.get("/inbox/")
    with django_assert_max_num_queries(8) as few:
        page = client.get("/inbox/").content.decode()
    assert page.index("消息4") < page.index("消息0") and "消息" in page
    assert page.count('class="unread"') == 5 and 'id="older"' not in page
    assert badge(page) == "5"
    fill(cast.alice, 60, start=dt.datetime(2026, 11, 2, 9, 0, tzinfo=TZ))
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get("/inbox/").content.decode()
    assert page.count('class="unread"') == 50 and 'id="older"' in page
    older = page.split('id="older" href="')[1].split('"')[0].replace("&amp;", "&")
    rest = client.get(older).content.decode()
    assert rest.count('class="unread"') == 15 and 'id="older"' not in rest and "消息0" in rest


def test_mark_all_read_and_following_one_marks_it_read(cast: Cast) -> None:
    fill(cast.alice, 3)
    fill(cast.charlie, 2)
    client = logged_in(cast.alice)
    first = inbox(cast.alice)[0]
    response = client.get(f"/inbox/{first.pk}/")
    assert response.status_code == 302 and response.url == "/cases/"
    first.refresh_from_db()
    assert first.read_at is not None
    response = client.post("/inbox/read/", {"all": "on"}, follow=True)
    assert "已将 2 条消息标为已读" in response.content.decode()
    assert 'class="unread"' not in response.content.decode() and 'id="unread-count"' not in response.content.decode()
    assert Notification.objects.filter(user=cast.charlie, read_at__isnull=True).count() == 2
    assert AuditEntry.objects.filter(action="notifications.inbox.read", actor_id=cast.alice.pk).count() == 2
    one = inbox(cast.charlie)[0]
    assert client.get(f"/inbox/{one.pk}/").status_code == 404  # someone else's
    assert client.post("/inbox/read/", {"id": one.pk}).status_code == 404
    one.refresh_from_db()
    assert one.read_at is None


def test_marking_one_read_from_the_unread_filter_keeps_the_filter(cast: Cast) -> None:
    fill(cast.alice, 2)
    client = logged_in(cast.alice)
    newest = inbox(cast.alice)[0]
    response = client.post("/inbox/read/", {"id": newest.pk, "unread": "1"})
    assert response.url == "/inbox/?unread=1"
    page = client.get(response.url).content.decode()
    assert "消息0" in page and "消息1" not in page
    assert "请选择要标为已读的消息" in client.post("/inbox/read/", {}, follow=True).content.decode()


def test_every_page_shows_the_unread_count_with_one_bounded_query(cast: Cast) -> None:
    client = logged_in(cast.alice)
    assert badge(client.get("/").content.decode()) is None
    assert 'id="inbox-link"' in client.get("/").content.decode()
    fill(cast.alice, 120)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/").content.decode()
    assert badge(page) == "99+"
    counted = [q["sql"] for q in queries.captured_queries if "notifications_notification" in q["sql"]]
    assert len(counted) == 1 and "LIMIT 100" in counted[0].upper()
    services.mark_read(actor=cast.alice, ids=[n.pk for n in inbox(cast.alice)[:30]])
    assert badge(client.get("/").content.decode()) == "90"


def test_mark_read_needs_ids_or_all_and_bounds_them(cast: Cast) -> None:
    with pytest.raises(InvalidInput) as exc:
        services.mark_read(actor=cast.alice)
    assert "ids" in exc.value.fields
    with pytest.raises(InvalidInput):
        services.mark_read(actor=cast.alice, ids=list(range(1, 202)))
    assert services.mark_read(actor=cast.alice, all=True) == 0
    assert not AuditEntry.objects.filter(action="notifications.inbox.read").exists()  # nothing changed


# --------------------------------------------------------------------------- the API


def test_the_api_lists_in_keyset_pages_filters_unread_and_counts(cast: Cast,
                                                                  django_assert_max_num_queries: Any) -> None:
    fill(cast.alice, 12)
    fill(cast.charlie, 4)
    api = api_client(cast.alice)
    api.get("/api/v1/notifications/unread-count")  # warm-up: the first request reads the token and scope generations
    seen: list[int] = []
    url = "/api/v1/notifications?limit=5"
    while url:
        with django_assert_max_num_queries(4):
            body = api.get(url).json()
        seen += [n["id"] for n in body["items"]]
        url = f"/api/v1/notifications?limit=5&after={body['next']}" if body["next"] else ""
    mine = [n.pk for n in inbox(cast.alice)]
    assert seen == mine  # every one once, newest first, nobody else's
    item = api.get("/api/v1/notifications?limit=1").json()["items"][0]
    assert item["message"] == "消息11" and item["unread"] is True and item["kind_label"] == "通知"
    assert api.get("/api/v1/notifications/unread-count").json() == {"count": 12, "at_least": False}
    marked = api.post(f"/api/v1/notifications/{mine[0]}/read").json()
    assert marked["unread"] is False and marked["read_at"]
    unread = api.get("/api/v1/notifications?unread=true&limit=200").json()["items"]
    assert len(unread) == 11 and mine[0] not in [n["id"] for n in unread]
    assert api.post(f"/api/v1/notifications/{inbox(cast.charlie)[0].pk}/read").status_code == 404
    response = api.post("/api/v1/notifications/read", {"ids": mine[1:3]}, content_type="application/json")
    assert response.json() == {"marked": 2}
    response = api.post("/api/v1/notifications/read", {"all": True}, content_type="application/json")
    assert response.json() == {"marked": 9}
    assert api.get("/api/v1/notifications/unread-count").json()["count"] == 0
    assert Notification.objects.filter(user=cast.charlie, read_at__isnull=True).count() == 4
    response = api.post("/api/v1/notifications/read", {}, content_type="application/json")
    assert response.status_code == 400 and "ids" in response.json()["error"]["fields"]
    assert api.get("/api/v1/notifications?after=garbage").status_code == 400
    assert api.get("/api/v1/notifications?limit=500").status_code == 400
    assert Client().get("/api/v1/notifications").status_code == 401


def test_the_api_gets_and_sets_preferences(cast: Cast) -> None:
    api = api_client(cast.bob)
    assert api.get("/api/v1/notifications/preferences").json() == {
        "in_app": True, "email": False, "sms": False, "email_address": "", "phone": "138****8000"}
    response = api.put("/api/v1/notifications/preferences", {"email": True, "sms": True},
                       content_type="application/json")
    assert response.status_code == 400 and "email" in response.json()["error"]["fields"]
    response = api.put("/api/v1/notifications/preferences", {"email": False, "sms": True},
                       content_type="application/json")
    assert response.status_code == 200 and response.json()["sms"] is True
    assert ChannelPreference.objects.get(user=cast.bob).sms is True
