"""Forms of the demand and resource libraries. They only parse; every rule is in ``services.library`` and its
errors come back onto these fields (``pages.form_errors``)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from gongzhi.web.forms import DATE, version_field

from .models import Kind, OwnerKind, Urgency


class NeedForm(forms.Form):
    area = forms.IntegerField(label=_("需求区域"), widget=forms.Select, help_text=_("社区、网格或小区"))
    kind = forms.ChoiceField(label=_("需求类别"), choices=Kind.choices)
    title = forms.CharField(label=_("需求名称"), max_length=100)
    description = forms.CharField(label=_("需求描述"), max_length=2000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    scale = forms.CharField(label=_("需求规模"), max_length=100, required=False,
                            help_text=_("如：受益约 120 户、每周 2 次"))
    quantity = forms.IntegerField(label=_("需求数量"), min_value=1, max_value=1_000_000, initial=1,
                                  help_text=_("按资源的计量单位，如 6 次、200 平方米"))
    beneficiaries = forms.IntegerField(label=_("受益人数"), min_value=0, max_value=1_000_000, initial=0,
                                       required=False)
    urgency = forms.ChoiceField(label=_("紧急程度"), choices=Urgency.choices, initial=Urgency.NORMAL)
    wanted_by = forms.DateField(label=_("期望解决时间"), widget=DATE, required=False)
    version = version_field()


class NeedEditForm(NeedForm):
    reason = forms.CharField(label=_("修改原因"), max_length=200, required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        del self.fields["area"]


class FromCaseForm(forms.Form):
    kind = forms.ChoiceField(label=_("需求类别"), choices=Kind.choices)
    title = forms.CharField(label=_("需求名称"), max_length=100)
    scale = forms.CharField(label=_("需求规模"), max_length=100, required=False)
    quantity = forms.IntegerField(label=_("需求数量"), min_value=1, max_value=1_000_000, initial=1)
    beneficiaries = forms.IntegerField(label=_("受益人数"), min_value=0, max_value=1_000_000, initial=0,
                                       required=False)
    urgency = forms.ChoiceField(label=_("紧急程度"), choices=Urgency.choices, initial=Urgency.NORMAL)
    wanted_by = forms.DateField(label=_("期望解决时间"), widget=DATE, required=False)


class ResourceForm(forms.Form):
    owner_kind = forms.ChoiceField(label=_("提供方类型"), choices=OwnerKind.choices)
    unit = forms.IntegerField(label=_("提供单位"), widget=forms.Select, required=False)
    organisation = forms.IntegerField(label=_("提供党组织"), widget=forms.Select, required=False)
    kind = forms.ChoiceField(label=_("资源类别"), choices=Kind.choices)
    title = forms.CharField(label=_("资源名称"), max_length=100, help_text=_("如：义诊进社区、周末活动场地"))
    description = forms.CharField(label=_("资源说明"), max_length=2000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    capacity = forms.IntegerField(label=_("可提供数量"), min_value=1, max_value=1_000_000)
    measure = forms.CharField(label=_("计量单位"), max_length=10, initial="次",
                              help_text=_("次、小时、平方米、元、人次…"))
    cadence = forms.CharField(label=_("提供频次"), max_length=50, required=False,
                              help_text=_("如：每年 6 次、周末、每月 2 小时"))
    amount = forms.DecimalField(label=_("资金金额（元）"), max_digits=12, decimal_places=2, min_value=0,
                                required=False)
    valid_from = forms.DateField(label=_("有效期起"), widget=DATE)
    valid_until = forms.DateField(label=_("有效期止"), widget=DATE)
    reach = forms.TypedMultipleChoiceField(label=_("服务区域"), coerce=int, required=False,
                                           widget=forms.SelectMultiple(attrs={"size": 6}),
                                           help_text=_("可多选；留空则为提供方所在社区（或街道）"))
    version = version_field()


class ResourceEditForm(ResourceForm):
    reason = forms.CharField(label=_("修改原因"), max_length=200, required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for name in ("owner_kind", "unit", "organisation"):
            del self.fields[name]


class ProposeForm(forms.Form):
    need = forms.IntegerField(widget=forms.HiddenInput)
    resource = forms.IntegerField(widget=forms.HiddenInput)
    quantity = forms.IntegerField(label=_("对接数量"), min_value=1, max_value=1_000_000, required=False)
    note = forms.CharField(label=_("说明"), max_length=300, required=False)


class StepForm(forms.Form):
    step = forms.CharField(max_length=20)
    reason = forms.CharField(label=_("理由"), max_length=200, required=False)
    version = version_field()


class ImportForm(forms.Form):
    file = forms.FileField(label=_("需求清单（.xlsx）"))
    dry_run = forms.BooleanField(label=_("只检查，不写入"), required=False)
