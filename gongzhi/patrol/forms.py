"""Forms of the patrol pages. They only parse; every rule lives in :mod:`gongzhi.patrol.services`, whose errors
are put back on these fields (``web.pages.form_errors``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gongzhi.web.forms import DATE, version_field

from .models import DEFAULT_CHECKLIST, Frequency, PatrolCheck


class PlanForm(forms.Form):
    name = forms.CharField(label=_("计划名称"), max_length=60,
                           help_text=_("如：每天常态巡访、每月重点巡访、每季度全面巡访"))
    area = forms.IntegerField(label=_("巡查区域（网格/小区/社区）"), widget=forms.Select)
    frequency = forms.ChoiceField(label=_("巡查频次"), choices=Frequency.choices)
    patroller = forms.IntegerField(label=_("巡查人"), widget=forms.Select, required=False,
                                   help_text=_("不指定时，本区域的网格员和社区工作者均可巡查"))
    checklist = forms.CharField(label=_("巡查清单"), widget=forms.Textarea(attrs={"rows": 8}),
                                initial="\n".join(DEFAULT_CHECKLIST), help_text=_("每行一项"))
    starts_on = forms.DateField(label=_("开始日期"), widget=DATE, required=False)

    def items(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["checklist"].splitlines() if line.strip()]


class PlanEditForm(PlanForm):
    reason = forms.CharField(label=_("变更原因"), max_length=200, required=False)
    version = version_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("area", "frequency", "starts_on"):
            del self.fields[name]


class CheckForm(forms.Form):
    status = forms.ChoiceField(label=_("检查结果"), widget=forms.RadioSelect,
                               choices=[(PatrolCheck.Status.OK, _("正常")),
                                        (PatrolCheck.Status.PROBLEM, _("有问题"))])
    note = forms.CharField(label=_("问题描述"), max_length=1000, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))
    photo = forms.FileField(label=_("照片（JPEG/PNG，不超过5MB，可不拍）"), required=False,
                            widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png",
                                                                   "capture": "environment"}))


class VisitForm(forms.Form):
    person = forms.IntegerField(label=_("走访居民"), widget=forms.Select, required=False)
    building = forms.IntegerField(label=_("或：楼栋"), widget=forms.Select, required=False)
    door = forms.CharField(label=_("门牌号"), max_length=20, required=False,
                           widget=forms.TextInput(attrs={"placeholder": "302", "inputmode": "text"}))
    visited_on = forms.DateField(label=_("走访日期"), widget=DATE)
    note = forms.CharField(label=_("走访情况"), max_length=1000, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))
    problem_found = forms.BooleanField(label=_("发现问题"), required=False)


class CloseForm(forms.Form):
    summary = forms.CharField(label=_("巡查小结"), max_length=1000, required=False,
                              widget=forms.Textarea(attrs={"rows": 2}))
