"""The navigation shell: which entries a user sees depends on their capabilities (one table, here)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from gongzhi.accounts.roles import Cap
from gongzhi.core.scope import scope_of

# (group, label, url name, capability needed; None = any signed-in user, "person" = has a Person, a tuple = any of
# these capabilities)
# A module's secondary pages (co-building's teams, 双报到 feedback, 准入清单, 减负 figures, spending, allocation rules,
# service organisations) are reached from its main pages and its overview, so the menu stays short.
# Entries whose page is not installed are skipped (NoReverseMatch).
ENTRIES: list[tuple[Any, Any, str, str | tuple[str, ...] | None]] = [
    ("", _("首页"), "web:home", None),
    ("", _("消息"), "notifications:inbox", None),
    (_("民情流水线"), _("工作台"), "cases:workbench", Cap.CASE_VIEW),
    (_("一张图"), _("城市一张图"), "maps:index", Cap.CASE_VIEW),
    (_("一张图"), _("指挥大屏"), "maps:screen", Cap.CASE_VIEW),
    (_("民情流水线"), _("我要反映"), "cases:report", Cap.CASE_REPORT),
    (_("民情流水线"), _("我的诉求"), "cases:mine", "person"),
    (_("民情流水线"), _("诉求统计"), "cases:figures", Cap.CASE_VIEW),
    (_("民情流水线"), _("矛盾纠纷调解"), "cases:mediation_teams", Cap.CASE_VIEW),
    (_("民情流水线"), _("派单智能"), "dispatch:index", Cap.CASE_DISPATCH),
    (_("民情流水线"), _("热点问题"), "dispatch:hotspots", Cap.CASE_DISPATCH),
    (_("民情流水线"), _("答复质量"), "dispatch:replies", Cap.CASE_DISPATCH),
    (_("民情流水线"), _("诉求公开"), "cases:public", None),
    (_("民情流水线"), _("社区联系人"), "web:contacts", None),
    (_("网格巡查"), _("我的巡查"), "patrol:index", Cap.VIEW_PEOPLE),
    (_("网格巡查"), _("巡查统计"), "patrol:figures", Cap.VIEW_PEOPLE),
    (_("联席会议"), _("议事协商"), "councils:index", Cap.VIEW),
    (_("共驻共建"), _("共建总览"), "cobuild:index", Cap.COBUILD_VIEW),
    (_("共驻共建"), _("需求库"), "cobuild:needs", Cap.COBUILD_VIEW),
    (_("共驻共建"), _("资源库"), "cobuild:resources", Cap.COBUILD_VIEW),
    (_("共驻共建"), _("我的资源"), "cobuild:my_resources", Cap.COBUILD_OFFER),
    (_("共驻共建"), _("项目清单"), "cobuild:projects", Cap.COBUILD_VIEW),
    (_("共驻共建"), _("认领池"), "cobuild:claim_pool", None),
    (_("共驻共建"), _("我的认领"), "cobuild:claims_mine", None),
    (_("共驻共建"), _("服务记录"), "cobuild:deliveries", Cap.COBUILD_VIEW),
    (_("共驻共建"), _("志愿服务时长"), "cobuild:volunteer_hours", None),
    (_("共驻共建"), _("预约服务"), "cobuild:booking_offerings", "person"),
    (_("共驻共建"), _("我的预约"), "cobuild:booking_mine", "person"),
    (_("共驻共建"), _("接单台"), "cobuild:booking_desk", Cap.COBUILD_OFFER),
    (_("共驻共建"), _("社区工作事项准入"), "cobuild:admission_index", Cap.COBUILD_VIEW),
    (_("共驻共建"), _("经费预算"), "cobuild:funds_budgets", Cap.COBUILD_VIEW),
    (_("考评"), _("考评总览"), "assessment:index", Cap.ASSESS_VIEW),
    (_("考评"), _("居民评价"), "assessment:survey", "person"),
    (_("考评"), _("红黑榜公示"), "assessment:public", None),
    (_("考评"), _("我的积分"), "points:mine", "person"),
    (_("考评"), _("积分审核"), "points:queue", (Cap.POINTS_COLLECT, Cap.POINTS_DECIDE, Cap.POINTS_APPROVE)),
    (_("考评"), _("兑换超市"), "points:store", Cap.POINTS_STORE),
    (_("考评"), _("月述月评"), "supervision:reports", Cap.ASSESS_VIEW),
    (_("考评"), _("交叉核查"), "supervision:checks", (Cap.ASSESS_VIEW, Cap.SUPERVISION_RECTIFY)),
    (_("政务服务"), _("办事指南"), "govservice:catalogue", None),
    (_("政务服务"), _("窗口受理"), "govservice:window", Cap.SERVICE_ACCEPT),
    (_("政务服务"), _("部门审批"), "govservice:department", Cap.SERVICE_DECIDE),
    (_("政务服务"), _("我的办件"), "govservice:mine", "person"),
    (_("政务服务"), _("政务服务统计"), "govservice:figures", Cap.SERVICE_VIEW),
    (_("政务服务"), _("服务阵地"), "sites:list", None),
    (_("政务服务"), _("我的预约"), "sites:mine", None),
    (_("政务服务"), _("15分钟服务圈"), "sites:coverage", Cap.SERVICE_VIEW),
    (_("组织体系"), _("区域"), "web:areas", Cap.VIEW),
    (_("组织体系"), _("党组织"), "web:orgs", Cap.VIEW),
    (_("组织体系"), _("驻区单位"), "web:units", Cap.VIEW),
    (_("组织体系"), _("人员"), "web:people", Cap.VIEW_PEOPLE),
    (_("组织体系"), _("党员"), "web:members", Cap.VIEW_PEOPLE),
    (_("组织体系"), _("结对共建"), "web:pairings", Cap.VIEW),
    (_("组织体系"), _("草根组织"), "web:groups", Cap.VIEW),
    (_("组织体系"), _("双报到"), "web:dual_registrations", Cap.VIEW_PEOPLE),
    (_("组织体系"), _("草根组织排查"), "web:surveys", Cap.VIEW),
    (_("组织体系"), _("导入导出"), "web:transfer", Cap.IMPORT),
    (_("组织体系"), _("居民注册确认"), "accounts:registrations", Cap.EDIT_PEOPLE),
    (_("系统管理"), _("账号与角色"), "accounts:users", Cap.MANAGE_ACCOUNTS),
    (_("系统管理"), _("工作日历"), "cases:calendar", Cap.CASE_CONFIGURE),
    (_("系统管理"), _("派单规则"), "cases:routing", Cap.CASE_CONFIGURE),
    (_("系统管理"), _("议事组织类型"), "councils:kinds", Cap.CASE_CONFIGURE),
    (_("接口"), _("API 文档"), "api:openapi-view", Cap.VIEW_PEOPLE),
    (_("我的账号"), _("我的任务"), "jobs:index", None),
    (_("我的账号"), _("修改密码"), "accounts:password", None),
]


def nav_for(request: HttpRequest) -> list[dict[str, Any]]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    scope = scope_of(user)
    items = []
    for group, label, name, cap in ENTRIES:
        if cap == "person":
            if scope.person_id is None:
                continue
        elif isinstance(cap, tuple):
            if not any(scope.has(c) for c in cap):
                continue
        elif cap is not None and not scope.has(cap):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue  # a module not installed
        items.append({"group": group, "label": label, "url": url, "active": False})
    # The entry whose address is the longest prefix of this page's is the active one (/cases/ vs /cases/figures/).
    matches = [i for i in items if request.path == i["url"] or (i["url"] != "/" and request.path.startswith(i["url"]))]
    if matches:
        max(matches, key=lambda i: len(i["url"]))["active"] = True
    return items
