"""Forms of the credit points pages. They only parse; every rule lives in :mod:`gongzhi.points.services`, whose
errors are put back on these fields (``web.pages.form_errors``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gongzhi.web.forms import DATE, version_field

from .models import MAX_QUANTITY, Period


class ClaimForm(forms.Form):
    rule = forms.IntegerField(label=_("积分项目"), widget=forms.Select)
    occurred_on = forms.DateField(label=_("发生日期"), widget=DATE)
    description = forms.CharField(label=_("事由"), max_length=500, widget=forms.Textarea(
        attrs={"rows": 3, "placeholder": _("如：参加社区环境整治志愿服务2小时")}))


class CollectForm(ClaimForm):
    """信息员代居民采集: who, and the officer's note."""

    person = forms.IntegerField(label=_("居民"), widget=forms.Select)
    note = forms.CharField(label=_("采集意见"), max_length=500, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))

    field_order = ["person", "rule", "occurred_on", "description", "note"]


class StepForm(forms.Form):
    step = forms.CharField(max_length=20)
    text = forms.CharField(label=_("意见/理由"), max_length=500, required=False)
    points = forms.IntegerField(label=_("核定积分"), required=False, min_value=1)
    version = version_field()


class RuleForm(forms.Form):
    area = forms.IntegerField(label=_("适用区域（社区及以上）"), widget=forms.Select)
    name = forms.CharField(label=_("积分项目"), max_length=60,
                           help_text=_("如：参加志愿服务、垃圾分类示范户、调解邻里纠纷"))
    points = forms.IntegerField(label=_("每次积分"), min_value=1, max_value=1000)
    period = forms.ChoiceField(label=_("上限周期"), choices=Period.choices)
    cap = forms.IntegerField(label=_("每人每期上限（分）"), min_value=1, max_value=100_000)
    description = forms.CharField(label=_("说明"), max_length=300, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))


class RuleEditForm(RuleForm):
    active = forms.BooleanField(label=_("启用"), required=False)
    reason = forms.CharField(label=_("变更原因"), max_length=200, required=False)
    version = version_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["area"]


class ItemForm(forms.Form):
    area = forms.IntegerField(label=_("所属社区"), widget=forms.Select)
    name = forms.CharField(label=_("商品名称"), max_length=60)
    price = forms.IntegerField(label=_("所需积分"), min_value=1, max_value=100_000)
    stock = forms.IntegerField(label=_("初始库存"), min_value=0, max_value=100_000, initial=0)
    description = forms.CharField(label=_("说明"), max_length=300, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))


class ItemEditForm(ItemForm):
    active = forms.BooleanField(label=_("上架"), required=False)
    reason = forms.CharField(label=_("变更原因"), max_length=200, required=False)
    version = version_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["area"]
        del self.fields["stock"]


class RestockForm(forms.Form):
    change = forms.IntegerField(label=_("库存变动（入库为正，报损为负）"))
    reason = forms.CharField(label=_("原因"), max_length=200, required=False)


class CounterForm(forms.Form):
    person = forms.IntegerField(label=_("居民"), widget=forms.Select)
    item = forms.IntegerField(label=_("商品"), widget=forms.Select)
    quantity = forms.IntegerField(label=_("数量"), min_value=1, max_value=MAX_QUANTITY, initial=1)


class RedeemForm(forms.Form):
    quantity = forms.IntegerField(label=_("数量"), min_value=1, max_value=MAX_QUANTITY, initial=1)


class RedemptionStepForm(forms.Form):
    step = forms.CharField(max_length=20)
    reason = forms.CharField(label=_("原因"), max_length=200, required=False)
    version = version_field()


class CorrectionForm(forms.Form):
    amount = forms.IntegerField(label=_("更正积分（加分为正，扣分为负）"), min_value=-10_000, max_value=10_000)
    reason = forms.CharField(label=_("更正原因"), max_length=200)
