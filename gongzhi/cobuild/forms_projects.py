"""Forms for projects (四单), claims, progress, acceptance, ratings, deliveries and volunteer teams. They only parse;
every rule is in :mod:`gongzhi.cobuild.services.projects` and its errors come back onto these fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gongzhi.web.forms import DATE

from .models import Kind

SELECT = forms.Select


class PhotosInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several photos in one input (a phone's camera roll); each is checked and re-encoded by the service."""

    def __init__(self, **kw: Any) -> None:
        kw.setdefault("widget", PhotosInput(attrs={"accept": "image/jpeg,image/png", "multiple": True}))
        super().__init__(**kw)

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, (list, tuple)):
            return [super(PhotosField, self).clean(d, initial) for d in data]
        return super().clean(data, initial)
# The four lists, in the order the form shows them (任务 / 责任 / 标准 / 时限), each with its fields.
FOUR_LISTS = (
    ("task", _("任务清单 · 做什么"), ("title", "task")),
    ("duty", _("责任清单 · 谁来做"), ("lead_unit", "units", "person_in_charge")),
    ("standard", _("标准清单 · 怎样算完成"), ("standard", "target_value", "target_measure")),
    ("time", _("时限清单 · 何时完成"), ("starts_on", "limit_days", "due_on")),
)


class ProjectForm(forms.Form):
    list_type = forms.IntegerField(label=_("清单类型"), widget=SELECT)
    area = forms.IntegerField(label=_("所属区域"), widget=SELECT)
    title = forms.CharField(label=_("项目名称"), max_length=100)
    task = forms.CharField(label=_("任务内容"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    lead_unit = forms.IntegerField(label=_("牵头单位"), required=False, widget=SELECT)
    units = forms.TypedMultipleChoiceField(label=_("责任单位"), required=False, coerce=int,
                                           widget=forms.SelectMultiple(attrs={"size": 4}))
    person_in_charge = forms.IntegerField(label=_("责任人"), required=False, widget=SELECT)
    standard = forms.CharField(label=_("完成标准"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))
    target_value = forms.DecimalField(label=_("目标数量"), required=False, min_value=0, max_digits=12,
                                      decimal_places=2)
    target_measure = forms.CharField(label=_("目标单位"), required=False, max_length=10,
                                     help_text=_("如：户、次、栋、米"))
    starts_on = forms.DateField(label=_("开始日期"), widget=DATE)
    limit_days = forms.IntegerField(label=_("时限（工作日）"), required=False, min_value=0, max_value=1000,
                                    help_text=_("按工作日历推算完成时限；或直接填写下面的完成日期"))
    due_on = forms.DateField(label=_("完成日期"), required=False, widget=DATE)
    public = forms.BooleanField(label=_("向居民公开"), required=False, initial=True)
    claim_limit = forms.IntegerField(label=_("认领人数上限"), min_value=1, max_value=100, initial=1,
                                     help_text=_("民生实事、微心愿等可认领清单进入认领池"))
    budget = forms.DecimalField(label=_("预算（元）"), required=False, min_value=0, max_digits=12, decimal_places=2)
    need = forms.IntegerField(widget=forms.HiddenInput, required=False)
    agenda_item = forms.IntegerField(widget=forms.HiddenInput, required=False)
    commitment_item = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def groups(self) -> list[tuple[str, Any, list[Any]]]:
        return [(key, label, [self[name] for name in names]) for key, label, names in FOUR_LISTS]

    def other_fields(self) -> list[Any]:
        grouped = {n for _k, _l, names in FOUR_LISTS for n in names}
        return [self[n] for n in self.fields if n not in grouped and not self[n].is_hidden]


class MilestoneForm(forms.Form):
    title = forms.CharField(label=_("节点"), max_length=100)
    due_on = forms.DateField(label=_("计划完成"), widget=DATE)


class ReportForm(forms.Form):
    text = forms.CharField(label=_("进展情况"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    progress = forms.IntegerField(label=_("进度（%）"), min_value=0, max_value=100)
    achieved_value = forms.DecimalField(label=_("已完成数量"), required=False, min_value=0, max_digits=12,
                                        decimal_places=2)
    photos = PhotosField(label=_("照片"), required=False)


class StepForm(forms.Form):
    name = forms.CharField(max_length=20, widget=forms.HiddenInput)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    reason = forms.CharField(label=_("理由"), max_length=300, required=False)
    note = forms.CharField(label=_("验收意见"), max_length=1000, required=False)


class RateForm(forms.Form):
    score = forms.TypedChoiceField(label=_("评分"), coerce=int, choices=[(i, f"{i} ★") for i in range(5, 0, -1)],
                                   widget=forms.RadioSelect)
    comment = forms.CharField(label=_("评价"), max_length=300, required=False)


class ClaimForm(forms.Form):
    unit = forms.IntegerField(label=_("认领身份"), required=False, widget=SELECT)
    pledge = forms.CharField(label=_("我的承诺（亮承诺）"), max_length=300, required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("退领理由"), max_length=300)


class DeliveryForm(forms.Form):
    title = forms.CharField(label=_("服务内容"), max_length=100)
    kind = forms.ChoiceField(label=_("服务类别"), choices=Kind.choices)
    area = forms.IntegerField(label=_("服务地点"), widget=SELECT)
    place = forms.CharField(label=_("具体地点"), max_length=100, required=False)
    delivered_on = forms.DateField(label=_("服务日期"), widget=DATE)
    unit = forms.IntegerField(label=_("服务单位"), required=False, widget=SELECT)
    team = forms.IntegerField(label=_("志愿服务队"), required=False, widget=SELECT)
    project = forms.IntegerField(label=_("所属项目"), required=False, widget=SELECT)
    beneficiaries = forms.IntegerField(label=_("服务人次"), min_value=0, max_value=1_000_000, initial=0)
    hours = forms.DecimalField(label=_("服务总时长（小时）"), required=False, min_value=0, max_digits=8,
                               decimal_places=1, help_text=_("不填则按参与人员时长合计"))
    participants = forms.CharField(
        label=_("参与人员及时长"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("每行一人：人员编号或姓名 空格 小时数，如“王芳 2.5”"))
    description = forms.CharField(label=_("服务情况"), max_length=2000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    photos = PhotosField(label=_("照片"), required=False)


class TeamForm(forms.Form):
    name = forms.CharField(label=_("队伍名称"), max_length=60)
    area = forms.IntegerField(label=_("所在区域"), widget=SELECT)
    unit = forms.IntegerField(label=_("所属单位"), required=False, widget=SELECT)


class MemberForm(forms.Form):
    person = forms.IntegerField(label=_("队员"), widget=SELECT)
