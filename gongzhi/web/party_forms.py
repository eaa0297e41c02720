"""Forms for the party-building pages of the registry: grassroots survey rounds and their outcomes, committee posts,
双报到, organisation and member edits, ending a pairing or a post. They only parse input; every rule lives in
``registry.services`` and its errors are mapped back onto these fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gongzhi.registry.models import CommitteeBody, GrassrootsGroup, MemberStatus, OrgLevel, Sector

from .forms import DATE, version_field

REASON = _("变更原因")


def _reason() -> forms.CharField:
    return forms.CharField(label=REASON, max_length=200, required=False)


class GroupForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100)
    kind = forms.CharField(label=_("类型"), max_length=30, help_text=_("如：广场舞队、秧歌队、兴趣团体、小微企业"))
    area = forms.IntegerField(label=_("所在区域"), widget=forms.Select)
    member_count = forms.IntegerField(label=_("成员数"), required=False, min_value=0)
    party_member_count = forms.IntegerField(label=_("党员数"), required=False, min_value=0)


class SurveyAreaForm(forms.Form):
    """Step one of a survey round: where."""

    area = forms.IntegerField(label=_("排查区域"), widget=forms.Select)


class SurveyForm(forms.Form):
    """One census round on an area: a line per grassroots group found there, with this round's counts."""

    conducted_on = forms.DateField(label=_("排查日期"), widget=DATE)
    note = forms.CharField(label=_("说明"), max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, groups: list[GrassrootsGroup], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.groups = groups
        for g in groups:
            self.fields[f"g{g.pk}_include"] = forms.BooleanField(
                label=_("本次排查到：{name}（{kind}）").format(name=g.name, kind=g.kind), required=False,
                initial=True)
            self.fields[f"g{g.pk}_members"] = forms.IntegerField(
                label=_("{name} 成员数").format(name=g.name), min_value=0, required=False, initial=g.member_count)
            self.fields[f"g{g.pk}_party"] = forms.IntegerField(
                label=_("{name} 党员数").format(name=g.name), min_value=0, required=False,
                initial=g.party_member_count)

    def rows(self) -> list[tuple[GrassrootsGroup, Any, Any, Any]]:
        """(group, include, members, party) bound fields, for the table."""
        return [(g, self[f"g{g.pk}_include"], self[f"g{g.pk}_members"], self[f"g{g.pk}_party"]) for g in self.groups]

    def entries(self) -> list[dict[str, Any]]:
        d = self.cleaned_data
        out = []
        for g in self.groups:
            if not d.get(f"g{g.pk}_include"):
                continue
            entry: dict[str, Any] = {"group": g}
            if d.get(f"g{g.pk}_members") is not None:
                entry["member_count"] = d[f"g{g.pk}_members"]
            if d.get(f"g{g.pk}_party") is not None:
                entry["party_member_count"] = d[f"g{g.pk}_party"]
            out.append(entry)
        return out

    def entry_field(self, service_field: str, entries: list[dict[str, Any]]) -> str | None:
        """The form field for a service error on ``entries[i].member_count`` and the like."""
        import re

        match = re.fullmatch(r"entries\[(\d+)\]\.(\w+)", service_field)
        if not match or int(match.group(1)) >= len(entries):
            return None
        pk = entries[int(match.group(1))]["group"].pk
        suffix = {"member_count": "members", "party_member_count": "party"}.get(match.group(2), "include")
        return f"g{pk}_{suffix}"


class FormOrgForm(forms.Form):
    name = forms.CharField(label=_("党组织名称"), max_length=150)
    parent = forms.IntegerField(label=_("上级党组织"), widget=forms.Select)
    founded_on = forms.DateField(label=_("成立日期"), widget=DATE)
    reason = _reason()


class InstructorForm(forms.Form):
    instructor = forms.IntegerField(label=_("党建指导员"), widget=forms.Select,
                                    help_text=_("尚无党建指导员岗位的，将同时任命到该组织所在区域"))
    since = forms.DateField(label=_("选派日期"), widget=DATE)
    reason = _reason()


class OrgForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=150)
    level = forms.ChoiceField(label=_("组织形式"), choices=OrgLevel.choices)
    sector = forms.ChoiceField(label=_("领域"), choices=Sector.choices)
    parent = forms.IntegerField(label=_("上级党组织"), widget=forms.Select, required=False)
    has_joint_committee = forms.BooleanField(label=_("设大工委/大党委"), required=False,
                                             help_text=_("吸纳驻区单位党组织负责人担任兼职委员"))
    founded_on = forms.DateField(label=_("成立日期"), widget=DATE, required=False)
    reason = _reason()
    version = version_field()


class OrgPostForm(forms.Form):
    person = forms.IntegerField(label=_("党员"), widget=forms.Select)
    body = forms.ChoiceField(label=_("所在班子"), choices=CommitteeBody.choices)
    title = forms.CharField(label=_("职务"), max_length=30, help_text=_("如：书记、副书记、委员、兼职委员"))
    is_part_time = forms.BooleanField(label=_("兼职"), required=False)
    representing = forms.IntegerField(label=_("代表单位"), widget=forms.Select, required=False,
                                      help_text=_("兼职委员所代表的驻区单位"))
    since = forms.DateField(label=_("任职日期"), widget=DATE, required=False)
    reason = _reason()


class MemberForm(forms.Form):
    organisation = forms.IntegerField(label=_("组织关系所在党组织"), widget=forms.Select)
    status = forms.ChoiceField(label=_("党员类别"), choices=MemberStatus.choices)
    joined_on = forms.DateField(label=_("入党日期"), widget=DATE, required=False)
    in_service = forms.BooleanField(label=_("在职党员"), required=False)
    work_unit = forms.IntegerField(label=_("工作单位"), widget=forms.Select, required=False)
    is_mobile = forms.BooleanField(label=_("流动党员"), required=False)
    outflow_place = forms.CharField(label=_("流出地"), max_length=100, required=False)
    inflow_place = forms.CharField(label=_("流入地"), max_length=100, required=False)
    needs_home_study = forms.BooleanField(label=_("送学上门"), required=False)
    reason = _reason()
    version = version_field()


class DualRegistrationForm(forms.Form):
    party_member = forms.IntegerField(label=_("在职党员"), widget=forms.Select, required=False,
                                      help_text=_("党员或单位，二者选一"))
    unit = forms.IntegerField(label=_("驻区单位"), widget=forms.Select, required=False)
    community = forms.IntegerField(label=_("报到社区"), widget=forms.Select)
    registered_on = forms.DateField(label=_("报到日期"), widget=DATE)
    reason = _reason()


class EndPairingForm(forms.Form):
    ended_on = forms.DateField(label=_("结束日期"), widget=DATE)
    reason = _reason()
    version = version_field()


class EndPostForm(forms.Form):
    until = forms.DateField(label=_("离任日期"), widget=DATE)
    reason = _reason()
    version = version_field()
