"""Forms of the supervision pages. They only parse; every rule lives in :mod:`gongzhi.supervision.services`, whose
errors are put back on these fields (``web.pages.form_errors``)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from gongzhi.web.forms import DATE, version_field

from .models import MAX_DEADLINE_DAYS, MAX_TEXT, CheckMethod, FindingCategory, Verdict


class ReportForm(forms.Form):
    organisation = forms.IntegerField(label=_("党组织"), widget=forms.Select)
    month = forms.CharField(label=_("月份"), max_length=7, widget=forms.TextInput(attrs={"type": "month"}))
    work_done = forms.CharField(label=_("本月工作"), max_length=MAX_TEXT, widget=forms.Textarea(
        attrs={"rows": 4, "placeholder": _("如：召开党委会2次，开展“三访民情”走访居民120户")}))
    problems = forms.CharField(label=_("存在问题"), max_length=MAX_TEXT, required=False,
                               widget=forms.Textarea(attrs={"rows": 3}))
    next_plan = forms.CharField(label=_("下月计划"), max_length=MAX_TEXT, required=False,
                                widget=forms.Textarea(attrs={"rows": 3}))


class ReportEditForm(forms.Form):
    work_done = forms.CharField(label=_("本月工作"), max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 4}))
    problems = forms.CharField(label=_("存在问题"), max_length=MAX_TEXT, required=False,
                               widget=forms.Textarea(attrs={"rows": 3}))
    next_plan = forms.CharField(label=_("下月计划"), max_length=MAX_TEXT, required=False,
                                widget=forms.Textarea(attrs={"rows": 3}))
    version = version_field()


class ReportStepForm(forms.Form):
    step = forms.CharField(max_length=20)
    verdict = forms.ChoiceField(label=_("评议结果"), choices=[("", "—"), *Verdict.choices], required=False)
    note = forms.CharField(label=_("评议意见"), max_length=500, required=False)
    reason = forms.CharField(label=_("退回理由"), max_length=500, required=False)
    version = version_field()


class CheckForm(forms.Form):
    area = forms.IntegerField(label=_("被核查区域"), widget=forms.Select)
    inspecting_area = forms.IntegerField(label=_("核查组所在区域"), widget=forms.Select,
                                         help_text=_("同一层级的另一社区或街道"))
    checked_on = forms.DateField(label=_("核查日期"), widget=DATE)
    methods = forms.MultipleChoiceField(label=_("核查方式"), choices=CheckMethod.choices,
                                        widget=forms.CheckboxSelectMultiple)
    team = forms.MultipleChoiceField(label=_("核查组成员"), choices=[], widget=forms.SelectMultiple(
        attrs={"size": 6}), help_text=_("核查组所在区域的工作人员，按住 Ctrl 多选"))
    summary = forms.CharField(label=_("核查情况"), max_length=MAX_TEXT, required=False,
                              widget=forms.Textarea(attrs={"rows": 3}))


class FindingForm(forms.Form):
    description = forms.CharField(label=_("问题描述"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))
    category = forms.ChoiceField(label=_("问题类别"), choices=[("", "—"), *FindingCategory.choices])
    place = forms.CharField(label=_("地点"), max_length=200, required=False)
    area = forms.IntegerField(label=_("责任区域"), widget=forms.Select, required=False)
    unit = forms.IntegerField(label=_("责任单位（可选）"), widget=forms.Select, required=False)
    deadline_days = forms.IntegerField(label=_("整改时限（工作日）"), min_value=1, max_value=MAX_DEADLINE_DAYS,
                                       initial=10)


class FindingStepForm(forms.Form):
    step = forms.CharField(max_length=20)
    measures = forms.CharField(label=_("整改措施"), max_length=MAX_TEXT, required=False)
    completion_note = forms.CharField(label=_("完成情况"), max_length=MAX_TEXT, required=False)
    note = forms.CharField(label=_("核验意见"), max_length=500, required=False)
    reason = forms.CharField(label=_("退回理由"), max_length=500, required=False)
    version = version_field()
