"""Forms of the service organisations' pages (the services validate again; these only shape the input)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Kind

WEEKDAYS = [(0, _("周一")), (1, _("周二")), (2, _("周三")), (3, _("周四")), (4, _("周五")), (5, _("周六")),
            (6, _("周日"))]


class OrgForm(forms.Form):
    name = forms.CharField(label=_("组织名称"), max_length=100)
    kind = forms.ChoiceField(label=_("服务类别"), choices=Kind.choices)
    area = forms.IntegerField(label=_("所在区域"), widget=forms.Select)
    unit = forms.IntegerField(label=_("登记单位（由该单位经办人接单）"), required=False, widget=forms.Select)
    contact_phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)


class OfferingForm(forms.Form):
    title = forms.CharField(label=_("服务项目"), max_length=100)
    description = forms.CharField(label=_("服务说明"), max_length=1000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    price = forms.CharField(label=_("收费标准"), max_length=50, required=False,
                            help_text=_("如：12 元/餐，80 岁以上 8 元"))


class SlotsForm(forms.Form):
    first_day = forms.DateField(label=_("开始日期"),
                                widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))
    weeks = forms.IntegerField(label=_("连续周数"), min_value=1, max_value=12, initial=2)
    weekdays = forms.TypedMultipleChoiceField(label=_("星期"), choices=WEEKDAYS, coerce=int,
                                              widget=forms.CheckboxSelectMultiple, initial=[0, 1, 2, 3, 4])
    start = forms.TimeField(label=_("开始时间"), initial="11:00",
                            widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"}))
    end = forms.TimeField(label=_("结束时间"), initial="12:30",
                          widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"}))
    capacity = forms.IntegerField(label=_("每个时段名额"), min_value=1, max_value=500, initial=20)


class BookForm(forms.Form):
    note = forms.CharField(label=_("备注"), max_length=200, required=False)


class StepForm(forms.Form):
    step = forms.CharField(max_length=20)
    version = forms.IntegerField(required=False, min_value=1)
    reason = forms.CharField(label=_("理由"), max_length=300, required=False)
    rating = forms.IntegerField(label=_("评分"), required=False, min_value=1, max_value=5)
    comment = forms.CharField(label=_("评价"), max_length=300, required=False)
