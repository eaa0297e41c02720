"""Forms of the accounts pages: they only parse; every rule lives in ``accounts.services``."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .roles import POLICIES


def role_choices() -> list[tuple[str, str]]:
    return [(key, str(p.role.label)) for key, p in POLICIES.items()]


class SetupForm(forms.Form):
    city_name = forms.CharField(label=_("城市名称"), max_length=100, help_text=_("如：共治市"))
    city_code = forms.CharField(label=_("行政区划代码"), max_length=12,
                                help_text=_("GB/T 2260 六位代码，或十二位统计用区划代码"))
    username = forms.CharField(label=_("管理员用户名"), max_length=150)
    display_name = forms.CharField(label=_("管理员姓名"), max_length=150, required=False)
    password = forms.CharField(label=_("密码"), widget=forms.PasswordInput(render_value=False), max_length=128)
    password2 = forms.CharField(label=_("确认密码"), widget=forms.PasswordInput(render_value=False), max_length=128)
    token = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password2"):
            self.add_error("password2", _("两次输入的密码不一致"))
        return data


class UserForm(forms.Form):
    username = forms.CharField(label=_("用户名"), max_length=150, help_text=_("登录用，建议用手机号或姓名拼音"))
    display_name = forms.CharField(label=_("姓名"), max_length=150)
    phone = forms.CharField(label=_("手机号"), max_length=20, required=False)
    home_area = forms.IntegerField(label=_("所属区域"), widget=forms.Select)
    role = forms.ChoiceField(label=_("角色"), choices=(), required=False,
                             help_text=_("可稍后在账号页面授予更多角色"))
    unit = forms.IntegerField(label=_("单位（部门/单位经办人填写）"), widget=forms.Select, required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["role"].choices = [("", "—"), *role_choices()]  # type: ignore[attr-defined]


class GrantForm(forms.Form):
    role = forms.ChoiceField(label=_("角色"), choices=())
    area = forms.IntegerField(label=_("授权区域"), widget=forms.Select, required=False)
    unit = forms.IntegerField(label=_("授权单位"), widget=forms.Select, required=False)
    reason = forms.CharField(label=_("授权原因"), max_length=200, required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["role"].choices = role_choices()  # type: ignore[attr-defined]


class ProfileForm(forms.Form):
    display_name = forms.CharField(label=_("姓名"), max_length=150)
    phone = forms.CharField(label=_("手机号"), max_length=20, required=False)


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(label=_("原密码"), widget=forms.PasswordInput, max_length=128)
    new_password = forms.CharField(label=_("新密码"), widget=forms.PasswordInput, max_length=128,
                                   help_text=_("至少8位，不能全是数字，不能过于常见"))
    new_password2 = forms.CharField(label=_("确认新密码"), widget=forms.PasswordInput, max_length=128)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("new_password") and data.get("new_password") != data.get("new_password2"):
            self.add_error("new_password2", _("两次输入的密码不一致"))
        return data


class PhoneForm(forms.Form):
    phone = forms.CharField(label=_("手机号"), max_length=20)


class RegisterForm(forms.Form):
    phone = forms.CharField(label=_("手机号"), max_length=20)
    code = forms.CharField(label=_("短信验证码"), max_length=6)
    name = forms.CharField(label=_("姓名"), max_length=50)
    community = forms.IntegerField(label=_("所在社区"), widget=forms.Select)
    address = forms.CharField(label=_("住址（小区、楼栋、门牌）"), max_length=200, required=False)
    password = forms.CharField(label=_("设置密码"), widget=forms.PasswordInput, max_length=128,
                               help_text=_("至少8位，不能全是数字，不能过于常见"))
    password2 = forms.CharField(label=_("确认密码"), widget=forms.PasswordInput, max_length=128)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password2"):
            self.add_error("password2", _("两次输入的密码不一致"))
        return data


class ConfirmForm(forms.Form):
    person = forms.IntegerField(label=_("已有居民档案"), widget=forms.Select, required=False)
    area = forms.IntegerField(label=_("或新建档案：居住的小区/楼栋"), widget=forms.Select, required=False)
    reason = forms.CharField(label=_("说明"), max_length=200, required=False)


class ImportForm(forms.Form):
    file = forms.FileField(label=_("员工账号表（.xlsx）"))
