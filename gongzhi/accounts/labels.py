"""Chinese labels for capabilities and audit actions: pages never show internal codes (``councils.item.escalate``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .roles import Cap

CAP_LABELS: dict[str, Any] = {
    Cap.VIEW: _("查看本区域组织体系"),
    Cap.VIEW_PEOPLE: _("查看人员名单"),
    Cap.EDIT_PEOPLE: _("登记和修改人员"),
    Cap.EDIT_REGISTRY: _("维护组织、单位、结对"),
    Cap.EDIT_PARTY: _("维护党员、党组织职务"),
    Cap.EDIT_AREA_TREE: _("维护区域层级"),
    Cap.IMPORT: _("导入台账"),
    Cap.REVEAL_PHONE: _("查看完整电话"),
    Cap.REVEAL_ID: _("查看完整身份证号"),
    Cap.VIEW_AUDIT: _("查看变更记录"),
    Cap.MANAGE_ACCOUNTS: _("管理账号与角色"),
    Cap.CASE_REPORT: _("反映诉求"),
    Cap.CASE_VIEW: _("查看诉求"),
    Cap.CASE_DISPATCH: _("受理派遣诉求"),
    Cap.CASE_HANDLE: _("办理诉求"),
    Cap.CASE_VERIFY: _("核实诉求"),
    Cap.CASE_CONFIGURE: _("配置派单规则与工作日历"),
    Cap.COUNCIL_RUN: _("组织议事协商"),
    Cap.COBUILD_VIEW: _("查看共驻共建"),
    Cap.COBUILD_MANAGE: _("管理需求、项目、准入与经费"),
    Cap.COBUILD_OFFER: _("以单位身份提供资源、认领与服务"),
    Cap.ASSESS_VIEW: _("查看考评"),
    Cap.ASSESS_MANAGE: _("制定考评方案、组织考评"),
    Cap.ASSESS_REVIEW: _("考评审核与月度评议"),
    Cap.POINTS_COLLECT: _("采集积分申报"),
    Cap.POINTS_DECIDE: _("评定积分申报"),
    Cap.POINTS_APPROVE: _("审核积分入账"),
    Cap.POINTS_STORE: _("管理积分兑换超市"),
    Cap.SUPERVISION_REPORT: _("填报月度述职"),
    Cap.SUPERVISION_CHECK: _("组织交叉核查"),
    Cap.SUPERVISION_RECTIFY: _("填报问题整改"),
    Cap.SERVICE_VIEW: _("查看政务服务办件"),
    Cap.SERVICE_ACCEPT: _("窗口受理与出件"),
    Cap.SERVICE_DECIDE: _("审批政务服务事项"),
    Cap.SERVICE_CATALOGUE: _("维护服务事项目录"),
    Cap.SITE_MANAGE: _("管理服务阵地"),
}

# Object kinds and verbs of audit actions ("app.object.verb"); unknown parts fall back to the whole code.
OBJECT_LABELS: dict[str, Any] = {
    "user": _("账号"), "grant": _("角色授权"), "token": _("API 令牌"), "registration": _("居民注册"),
    "person": _("人员"), "area": _("区域"), "unit": _("单位"), "party_org": _("党组织"), "org_post": _("党组织职务"),
    "party_member": _("党员"), "dual_registration": _("双报到"), "staff_post": _("岗位"),
    "grassroots_group": _("草根组织"), "survey": _("排查"), "pairing": _("结对"), "visit": _("走访"),
    "commitment": _("承诺书"), "commitment_item": _("承诺事项"), "case": _("诉求"), "extension": _("延期"),
    "mediation": _("调解"), "routing_rule": _("派单规则"), "calendar_day": _("工作日历"), "council": _("议事组织"),
    "member": _("成员"), "meeting": _("会议"), "item": _("议题"), "load": _("数据载入"), "calendar": _("工作日历"),
    "demo": _("演示数据"), "kind": _("议事组织类型"), "inbox": _("消息"), "preference": _("通知方式"),
    "mediation_team": _("调解组织"), "mediation_member": _("调解组织成员"), "patrol_plan": _("巡查计划"),
    "patrol_round": _("巡查"), "patrol_check": _("巡查事项"), "household_visit": _("入户走访"),
    "need": _("社区需求"), "resource": _("共建资源"), "match": _("需求对接"), "project": _("共建项目"),
    "milestone": _("项目节点"), "list_type": _("清单类型"), "delivery": _("服务记录"), "team": _("志愿服务队"),
    "service_org": _("服务组织"), "offering": _("服务项目"), "slot": _("服务时段"), "booking": _("服务预约"),
    "admission": _("准入申请"), "admitted_item": _("准入事项"), "flag": _("未准入事项反映"),
    "claim": _("认领"), "budget": _("经费预算"), "spending": _("经费支出"), "allocation_rule": _("经费分配规则"),
    "hotspot": _("热点问题"), "model": _("派单分类模型"), "suggestion": _("分类建议"), "settings": _("派单智能设置"),
    "auto": _("自动派遣开关"),
    "scheme": _("考评方案"), "version": _("考评方案版本"), "indicator": _("考评指标"), "group": _("评分主体"),
    "round": _("考评轮次"), "sheet": _("评分表"), "subject": _("考评对象"), "objection": _("异议"),
    "sanction": _("考评惩戒"), "point_rule": _("积分项目"), "point_entry": _("积分记录"),
    "redemption": _("积分兑换"), "store_item": _("兑换商品"), "report": _("述职报告"), "cross_check": _("交叉核查"),
    "finding": _("核查问题"),
}
VERB_LABELS: dict[str, Any] = {
    "create": _("新增"), "update": _("修改"), "delete": _("删除"), "submit": _("反映"), "activate": _("启用"),
    "deactivate": _("停用"), "password_reset": _("重置密码"), "password_change": _("修改密码"),
    "revoke": _("吊销"), "confirm": _("确认"), "reject": _("不予通过"), "link": _("关联账号"), "end": _("结束"),
    "escalate": _("上移"), "answer": _("答复"), "schedule": _("安排"), "hold": _("召开"), "propose": _("提出"),
    "step": _("推进"), "fulfil": _("兑现"), "accept": _("受理"), "dispatch": _("派遣"), "merge": _("并单"),
    "start": _("签收"), "claim": _("领单"), "handle": _("办理反馈"), "verify": _("核实"), "rate": _("评价"),
    "reopen": _("返工"), "close": _("结案"), "return": _("退回"), "overdue": _("超期"), "set": _("设置"),
    "clear": _("清除"), "follow": _("关注"), "unfollow": _("取消关注"), "visit": _("回访"), "outcome": _("处置"),
    "survey": _("排查"), "answered": _("答复"), "received": _("收到上移"), "remove": _("移出"), "add": _("添加"),
    "read": _("已读"), "assign": _("指派"), "begin": _("开始"), "finish": _("完成"), "tick": _("检查"),
    "to_case": _("转为诉求"),
    "load": _("载入"), "request": _("申请"), "decide": _("审批"), "conclude": _("办结"), "hearing": _("调解"),
    "match": _("对接"), "deliver": _("落实"), "meet": _("满足"), "withdraw": _("撤回"), "decline": _("婉拒"),
    "cancel": _("取消"), "complete": _("完成"), "report": _("报告进度"), "refuse": _("不予通过"),
    "release": _("退回"), "admit": _("准入"), "book": _("预约"), "spend": _("支出"), "allocate": _("分配"),
    "flag": _("反映"), "install": _("安装"), "save": _("保存"), "correct": _("更正"), "refresh": _("重新生成"),
    "file": _("提出"), "lift": _("解除"), "declare": _("申报"), "draft": _("新建草稿"), "publish": _("发布"),
    "open_self": _("开始自评申报"), "open_scoring": _("开始评分"), "close_scoring": _("结束评分"),
    "advance": _("完成本环节审核"), "to_notice": _("进入公示"), "collect": _("采集确认"),
    "refuse_collect": _("采集不予确认"), "refuse_decide": _("评定不通过"), "approve": _("审核通过"),
    "refuse_approve": _("审核不通过"), "redeem": _("兑换"), "hand_over": _("确认领取"), "restock": _("补货"),
    "review": _("评议"), "rectify": _("整改"), "send_back": _("退回整改"),
}


# Snapshot keys that are not model fields (or whose field label is Django's own English one).
KEY_LABELS: dict[str, Any] = {
    "display_name": _("姓名"), "home_area": _("所属区域"), "phone": _("手机号"), "is_active": _("启用"),
    "must_change_password": _("须修改密码"), "changed": _("已修改"), "username": _("用户名"), "user": _("用户"),
    "role": _("角色"), "area": _("区域"), "unit": _("单位"), "community": _("社区"), "person": _("居民档案"),
    "state": _("状态"), "revoked": _("已吊销"), "name": _("名称"), "entries": _("条目数"), "photos": _("照片数"),
    "from_council": _("来自议事组织"), "reason": _("理由"), "answer": _("答复"), "approved": _("批准"),
}


def action_label(action: str) -> str:
    """``accounts.grant.create`` → 新增角色授权; unknown actions read as themselves."""
    parts = action.split(".")
    if len(parts) >= 3 and parts[-2] in OBJECT_LABELS and parts[-1] in VERB_LABELS:
        # One translatable pattern: Chinese joins the words, English puts a space between them.
        return gettext("{verb}{object}").format(verb=VERB_LABELS[parts[-1]], object=OBJECT_LABELS[parts[-2]])
    if len(parts) >= 2 and parts[-1] in VERB_LABELS:
        return str(VERB_LABELS[parts[-1]])
    return action
