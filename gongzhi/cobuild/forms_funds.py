"""Forms of the funds pages (经费); the services validate again."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import FundSource, Purpose

TARGETS = [("community", _("社区")), ("grid", _("网格")), ("compound", _("小区"))]


class RuleForm(forms.Form):
    area = forms.IntegerField(label=_("适用区域（市/区/街道）"), widget=forms.Select)
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    source = forms.ChoiceField(label=_("资金来源"), choices=FundSource.choices)
    target_kind = forms.ChoiceField(label=_("拨付对象"), choices=TARGETS, initial="community")
    base_amount = forms.DecimalField(label=_("每个对象基数（元）"), min_value=0, max_digits=12, decimal_places=2,
                                     initial=20000)
    per_hundred_households = forms.DecimalField(label=_("每百户增加（元）"), min_value=0, max_digits=12,
                                                decimal_places=2, initial=2000,
                                                help_text=_("按区域登记的户数，每满100户增加一次"))


class BudgetForm(forms.Form):
    area = forms.IntegerField(label=_("区域（社区/网格/小区）"), widget=forms.Select, required=False)
    organisation = forms.IntegerField(label=_("或：使用党组织（小区党支部）"), widget=forms.Select, required=False)
    project = forms.IntegerField(label=_("或：专项项目"), widget=forms.Select, required=False)
    year = forms.IntegerField(label=_("年度"), min_value=2000, max_value=2100)
    source = forms.ChoiceField(label=_("资金来源"), choices=FundSource.choices)
    amount = forms.DecimalField(label=_("预算金额（元）"), min_value=0, max_digits=12, decimal_places=2)
    note = forms.CharField(label=_("说明"), max_length=200, required=False)


class SpendingForm(forms.Form):
    budget = forms.IntegerField(label=_("预算"), widget=forms.Select)
    amount = forms.DecimalField(label=_("金额（元）"), min_value=0, max_digits=12, decimal_places=2)
    purpose = forms.ChoiceField(label=_("用途"), choices=Purpose.choices)
    description = forms.CharField(label=_("支出事由"), max_length=200,
                                  help_text=_("将在经费公示中公开，请勿填写个人姓名"))
    payee = forms.CharField(label=_("收款方"), max_length=100, required=False,
                            help_text=_("收款方为个人时，公示中只显示“个人”"))
    spent_on = forms.DateField(label=_("支出日期"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))
    project = forms.IntegerField(label=_("关联项目"), widget=forms.Select, required=False)
    need = forms.IntegerField(label=_("关联需求"), widget=forms.Select, required=False)
    receipt = forms.FileField(label=_("票据（PDF/JPEG/PNG，不超过10MB）"), required=False)
