"""The inbox page: newest first in bounded keyset pages, unread highlighted, mark read, choose channels.

Thin: parse → the user's own notifications (nobody else's are reachable: 404) → ``notifications.services``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from gongzhi.core.errors import DomainError, InvalidInput
from gongzhi.web.pages import form_errors, not_found_as_404

from . import selectors, services
from .forms import PreferenceForm, ReadForm


def _inbox_url(unread_only: bool) -> str:
    url = reverse("notifications:inbox")
    return f"{url}?unread=1" if unread_only else url


def _preference_form(request: HttpRequest, data: Any = None) -> PreferenceForm:
    prefs = selectors.preferences_of(request.user)
    form = PreferenceForm(data, initial={"in_app": True, "email": prefs["email"], "sms": prefs["sms"]})
    form.fields["email"].help_text = (_("发送到 {address}").format(address=prefs["email_address"])
                                      if prefs["email_address"] else _("您的账号未登记电子邮箱"))
    form.fields["sms"].help_text = (_("发送到 {phone}").format(phone=prefs["phone"])
                                    if prefs["phone"] else _("您的账号未关联登记了手机号码的人员"))
    return form


def _page(request: HttpRequest, form: PreferenceForm | None = None) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    try:
        after = selectors.parse_cursor(request.GET.get("after"))
    except InvalidInput:
        after = None  # a mangled link starts from the newest
    items, next_cursor = selectors.inbox_page(request.user, unread_only=unread_only, after=after,
                                              limit=settings.GONGZHI_PAGE_SIZE)
    return render(request, "notifications/inbox.html", {
        "items": items, "next_cursor": next_cursor, "unread_only": unread_only, "is_first": after is None,
        "form": form or _preference_form(request),
    })


@require_GET
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@login_required
@not_found_as_404
def read(request: HttpRequest) -> HttpResponse:
    form = ReadForm(request.POST)
    unread_only = request.POST.get("unread") == "1"
    if not form.is_valid():
        raise Http404
    d = form.cleaned_data
    try:
        if d["all"]:
            n = services.mark_read(actor=request.user, all=True)
        elif d["id"]:
            selectors.own_notification(request.user, d["id"])
            n = services.mark_read(actor=request.user, ids=[d["id"]])
        else:
            raise InvalidInput.on("ids", _("请选择要标为已读的消息"))
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已将 {n} 条消息标为已读").format(n=n))
    return redirect(_inbox_url(unread_only))


@require_GET
@login_required
@not_found_as_404
def open_notification(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a notification to its thing, marking it read on the way."""
    n = selectors.own_notification(request.user, pk)
    if n.read_at is None:
        services.mark_read(actor=request.user, ids=[n.pk])
    if n.link and url_has_allowed_host_and_scheme(n.link, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return redirect(n.link)
    return redirect("notifications:inbox")


@require_POST
@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    form = _preference_form(request, request.POST)
    if form.is_valid():
        try:
            services.preferences_set(actor=request.user, email=form.cleaned_data["email"],
                                     sms=form.cleaned_data["sms"])
        except DomainError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("已保存消息提醒方式"))
            return redirect("notifications:inbox")
    return _page(request, form)
