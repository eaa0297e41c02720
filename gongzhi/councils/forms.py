"""Forms of the councils pages. They only parse input; the rules live in ``councils.services`` and its errors are put
back on these fields (``web.pages.form_errors``)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from gongzhi.web.forms import version_field

from .models import Cadence, MemberRole, Procedure


class CouncilForm(forms.Form):
    area = forms.IntegerField(label=_("所在区域"), widget=forms.Select)
    name = forms.CharField(label=_("名称"), max_length=100)
    kind = forms.ChoiceField(label=_("类型"))
    cadence = forms.ChoiceField(label=_("召开频次"), choices=Cadence.choices, initial=Cadence.QUARTERLY)
    procedure = forms.ChoiceField(label=_("议事规则"), choices=Procedure.choices, initial=Procedure.SIMPLE)
    convener = forms.IntegerField(label=_("召集人"), widget=forms.Select, required=False,
                                  help_text=_("召集人同时成为第一位成员；她本人可以主持本组织的会议"))


class MemberForm(forms.Form):
    person = forms.IntegerField(label=_("成员本人"), widget=forms.Select, required=False)
    unit = forms.IntegerField(label=_("代表单位"), widget=forms.Select, required=False)
    organisation = forms.IntegerField(label=_("成员党组织"), widget=forms.Select, required=False)
    role = forms.ChoiceField(label=_("在本组织中的角色"), choices=MemberRole.choices, initial=MemberRole.MEMBER)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if sum(1 for k in ("person", "unit", "organisation") if data.get(k)) != 1:
            self.add_error("person", _("须指定成员本人、代表单位或成员党组织（三者选一）"))
        return data


class KindForm(forms.Form):
    code = forms.CharField(label=_("代码"), max_length=20,
                           help_text=_("小写字母、数字和下划线，以字母开头；建立后不可修改"))
    name = forms.CharField(label=_("名称"), max_length=50)
    order = forms.IntegerField(label=_("排序"), min_value=0, max_value=9999, initial=100)


class KindEditForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=50)
    order = forms.IntegerField(label=_("排序"), min_value=0, max_value=9999)
    active = forms.BooleanField(label=_("启用"), required=False)
    version = version_field()
