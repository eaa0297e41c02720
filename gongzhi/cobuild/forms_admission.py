"""Forms of the admission-control pages (社区工作事项准入); the services validate again."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import WorkKind


class RequestForm(forms.Form):
    department = forms.IntegerField(label=_("申请部门"), widget=forms.Select)
    area = forms.IntegerField(label=_("报送街道/区"), widget=forms.Select)
    kind = forms.ChoiceField(label=_("事项类别"), choices=WorkKind.choices)
    title = forms.CharField(label=_("事项名称"), max_length=100)
    description = forms.CharField(label=_("事项内容"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))
    basis = forms.CharField(label=_("依据（文件、法规）"), max_length=200, required=False)
    communities = forms.IntegerField(label=_("涉及社区数"), min_value=0, max_value=10000, initial=0)


class DecideForm(forms.Form):
    step = forms.ChoiceField(choices=[("admit", _("准予进入社区")), ("refuse", _("不予准入")),
                                      ("withdraw", _("撤回申请"))])
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    reason = forms.CharField(label=_("审核意见"), max_length=300, required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))
    admitted_item = forms.IntegerField(label=_("关联已有准入事项（可不选，将新增）"), required=False,
                                       widget=forms.Select)


class ItemForm(forms.Form):
    area = forms.IntegerField(label=_("制定层级（街道/区）"), widget=forms.Select)
    kind = forms.ChoiceField(label=_("事项类别"), choices=WorkKind.choices)
    name = forms.CharField(label=_("事项名称"), max_length=100)
    department = forms.IntegerField(label=_("主管部门"), required=False, widget=forms.Select)
    basis = forms.CharField(label=_("依据"), max_length=200, required=False)


class FlagForm(forms.Form):
    area = forms.IntegerField(label=_("社区"), widget=forms.Select)
    department = forms.IntegerField(label=_("下派部门（已登记的单位）"), required=False, widget=forms.Select)
    department_name = forms.CharField(label=_("或填写部门名称"), max_length=150, required=False)
    kind = forms.ChoiceField(label=_("事项类别"), choices=WorkKind.choices)
    description = forms.CharField(label=_("情况说明"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))


class HandleForm(forms.Form):
    note = forms.CharField(label=_("处理结果"), max_length=300)
