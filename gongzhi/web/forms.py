"""Forms for the registry pages. They only parse input; every rule lives in ``registry.services`` and its errors are
mapped back onto these fields (``pages.form_errors``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from gongzhi.registry.models import Area, AreaKind, PairingKind, Sector

DATE = forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
KEEP = _("留空则不修改")


def version_field() -> forms.IntegerField:
    """The version of the record the form was filled from: saving it after someone else saved is refused (409)."""
    return forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)


def area_label(area: Area, parents: dict[str, str] | None = None) -> str:
    prefix = (parents or {}).get(area.path[: -Area.steplen], "")
    return f"{prefix}{area.name}（{area.get_kind_display()}）"


def set_choices(field: forms.Field, choices: list[tuple[Any, str]], blank: str | None = None,
                lookup: str | None = None) -> None:
    """Fill a select whose options depend on the viewer's scope (the form field is an IntegerField). With
    ``lookup`` (an API search URL, see ``lookup_url``) the page adds a search box that finds beyond the first few
    hundred options (web/app.js)."""
    widget = field.widget
    assert isinstance(widget, forms.Select)
    widget.choices = ([("", blank)] if blank is not None else []) + choices
    if lookup:
        widget.attrs["data-lookup"] = lookup


def lookup_url(what: str, cap: str, kinds: Any = ()) -> str:
    """The search endpoint behind a long select: ``what`` is areas, people, units or organisations."""
    from urllib.parse import urlencode

    params = {"cap": cap, **({"kinds": ",".join(str(k) for k in kinds)} if kinds else {})}
    return f"/api/v1/lookup/{what}?{urlencode(params)}"


class AreaForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100)
    code = forms.CharField(label=_("代码"), max_length=32,
                           help_text=_("统计用区划代码（12位）或网格编码"))
    kind = forms.ChoiceField(label=_("层级"), choices=AreaKind.choices)
    households = forms.IntegerField(label=_("户数"), required=False, initial=0)
    population = forms.IntegerField(label=_("人口"), required=False, initial=0)
    boundary = forms.CharField(label=_("边界 (GeoJSON)"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
                               help_text=_("可选：Polygon 或 MultiPolygon 的 GeoJSON"))
    reason = forms.CharField(label=_("变更原因"), max_length=200, required=False)
    version = version_field()


class UnitForm(forms.Form):
    name = forms.CharField(label=_("单位名称"), max_length=150)
    credit_code = forms.CharField(label=_("统一社会信用代码"), max_length=30,
                                  help_text=_("18位，按 GB 32100 校验"))
    sector = forms.ChoiceField(label=_("类别"), choices=Sector.choices)
    area = forms.IntegerField(label=_("所在区域"), widget=forms.Select)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    contact_name = forms.CharField(label=_("联系人"), max_length=50, required=False)
    contact_phone = forms.CharField(label=_("联系电话"), max_length=30, required=False)
    staff_count = forms.IntegerField(label=_("职工数"), required=False, min_value=0)
    reason = forms.CharField(label=_("变更原因"), max_length=200, required=False)
    version = version_field()


class PersonForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=50)
    area = forms.IntegerField(label=_("居住楼栋/小区"), widget=forms.Select)
    phone = forms.CharField(label=_("电话"), max_length=30, required=False)
    id_number = forms.CharField(label=_("身份证号"), max_length=30, required=False,
                                help_text=_("18位，按 GB 11643 校验"))
    is_vulnerable = forms.BooleanField(label=_("困难/独居群体"), required=False)
    reason = forms.CharField(label=_("变更原因"), max_length=200, required=False)
    version = version_field()


class PairingForm(forms.Form):
    kind = forms.ChoiceField(label=_("结对类型"), choices=PairingKind.choices)
    person = forms.IntegerField(label=_("联系人（个人）"), widget=forms.Select, required=False,
                                help_text=_("市领导联系社区、党员包楼栋、党员结对困难群众时填写"))
    unit = forms.IntegerField(label=_("联系单位"), widget=forms.Select, required=False,
                              help_text=_("部门联系社区、单位包联小区时填写"))
    organisation = forms.IntegerField(label=_("联系党组织"), widget=forms.Select, required=False,
                                      help_text=_("机关党支部结对社区时填写"))
    area = forms.IntegerField(label=_("结对区域"), widget=forms.Select, required=False)
    target_person = forms.IntegerField(label=_("结对群众"), widget=forms.Select, required=False)
    started_on = forms.DateField(label=_("开始日期"), widget=DATE)


class VisitForm(forms.Form):
    visited_on = forms.DateField(label=_("走访日期"), widget=DATE)
    note = forms.CharField(label=_("走访情况"), max_length=500, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))


class FulfilForm(forms.Form):
    fulfilled_on = forms.DateField(label=_("兑现日期"), widget=DATE)
    evidence = forms.CharField(label=_("兑现情况"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class CommitmentForm(forms.Form):
    title = forms.CharField(label=_("承诺书标题"), max_length=150)
    signed_on = forms.DateField(label=_("签订日期"), widget=DATE)
    items = forms.CharField(label=_("承诺事项"), widget=forms.Textarea(attrs={"rows": 4}),
                            help_text=_("每行一项"))

    def item_list(self) -> list[dict[str, Any]]:
        return [{"text": line.strip()} for line in self.cleaned_data["items"].splitlines() if line.strip()]
