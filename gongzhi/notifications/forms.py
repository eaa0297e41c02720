"""The inbox's forms: they only parse; the rules live in ``notifications.services``."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class PreferenceForm(forms.Form):
    in_app = forms.BooleanField(label=_("站内消息"), required=False, disabled=True, initial=True,
                                help_text=_("始终开启"))
    email = forms.BooleanField(label=_("电子邮件"), required=False)
    sms = forms.BooleanField(label=_("短信"), required=False)


class ReadForm(forms.Form):
    id = forms.IntegerField(label=_("消息"), required=False, min_value=1)
    all = forms.BooleanField(label=_("全部"), required=False)
