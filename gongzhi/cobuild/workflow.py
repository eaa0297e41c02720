"""Co-building's workflows, declared once and run by the shared engine (:mod:`gongzhi.core.workflow`).

Read a row as: from any of these states, these actors may take the step to the target. Who counts as which actor is
decided in the services (:mod:`gongzhi.cobuild.services`): ``manager`` holds ``Cap.COBUILD_MANAGE`` on the record's
area (community, street, district staff); ``unit`` is the member unit's own handler (``Cap.COBUILD_OFFER`` on it);
``owner`` is whoever offered or booked the thing; ``system`` is the platform acting on another step's behalf.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from gongzhi.core.workflow import Workflow, step


class NeedState(models.TextChoices):
    OPEN = "open", _("待对接")
    MATCHED = "matched", _("已对接")
    IN_DELIVERY = "in_delivery", _("落实中")
    MET = "met", _("已满足")
    WITHDRAWN = "withdrawn", _("已撤销")


class MatchState(models.TextChoices):
    PROPOSED = "proposed", _("待确认")
    CONFIRMED = "confirmed", _("已确认")
    DECLINED = "declined", _("已婉拒")
    CANCELLED = "cancelled", _("已取消")
    DONE = "done", _("已完成")


class ProjectState(models.TextChoices):
    OPEN = "open", _("待认领/待启动")
    IN_PROGRESS = "in_progress", _("推进中")
    DELIVERED = "delivered", _("待验收")
    ACCEPTED = "accepted", _("已验收")
    CANCELLED = "cancelled", _("已撤销")


class ClaimState(models.TextChoices):
    ACTIVE = "active", _("已认领")
    WITHDRAWN = "withdrawn", _("已退领")
    DONE = "done", _("已完成")


class BookingState(models.TextChoices):
    BOOKED = "booked", _("已预约")
    ACCEPTED = "accepted", _("已接单")
    DELIVERED = "delivered", _("已服务")
    RATED = "rated", _("已评价")
    DECLINED = "declined", _("未接单")
    CANCELLED = "cancelled", _("已取消")


class RequestState(models.TextChoices):
    FILED = "filed", _("待审核")
    ADMITTED = "admitted", _("准予进入")
    REFUSED = "refused", _("不予准入")
    WITHDRAWN = "withdrawn", _("已撤回")


MANAGER, UNIT, OWNER, SYSTEM = "manager", "unit", "owner", "system"

N = NeedState
NEED = Workflow(action_prefix="cobuild.need", initial=N.OPEN, conflict_message=_("该需求已被他人处理，请刷新后重试"),
                transitions=[
    step("match", _("对接成功"), {N.OPEN, N.MATCHED}, N.MATCHED, {SYSTEM}),
    step("deliver", _("开始落实"), {N.OPEN, N.MATCHED}, N.IN_DELIVERY, {MANAGER, SYSTEM}),
    step("meet", _("确认满足"), {N.MATCHED, N.IN_DELIVERY}, N.MET, {MANAGER}),
    step("reopen", _("重新对接"), {N.MATCHED, N.IN_DELIVERY}, N.OPEN, {MANAGER}, reason=True),
    step("withdraw", _("撤销需求"), {N.OPEN, N.MATCHED}, N.WITHDRAWN, {MANAGER}, reason=True),
])

MS = MatchState
MATCH = Workflow(action_prefix="cobuild.match", initial=MS.PROPOSED,
                 conflict_message=_("该对接已被他人处理，请刷新后重试"), transitions=[
    # The side that did not propose confirms or declines; the proposer may take it back.
    step("confirm", _("确认对接"), {MS.PROPOSED}, MS.CONFIRMED, {MANAGER, UNIT, OWNER}),
    step("decline", _("婉拒"), {MS.PROPOSED}, MS.DECLINED, {MANAGER, UNIT, OWNER}, reason=True),
    step("cancel", _("取消"), {MS.PROPOSED, MS.CONFIRMED}, MS.CANCELLED, {MANAGER, UNIT, OWNER}, reason=True),
    step("complete", _("对接完成"), {MS.CONFIRMED}, MS.DONE, {MANAGER}),
])

P = ProjectState
PROJECT = Workflow(action_prefix="cobuild.project", initial=P.OPEN,
                   conflict_message=_("该项目已被他人处理或当前状态不能执行此操作，请刷新后重试"), transitions=[
    step("start", _("启动实施"), {P.OPEN}, P.IN_PROGRESS, {MANAGER, UNIT}),
    step("claim", _("认领"), {P.OPEN}, P.IN_PROGRESS, {UNIT, OWNER, SYSTEM}),
    step("report", _("报告进度"), {P.IN_PROGRESS}, None, {MANAGER, UNIT, OWNER}),
    step("deliver", _("提请验收"), {P.IN_PROGRESS}, P.DELIVERED, {MANAGER, UNIT, OWNER}),
    step("accept", _("验收通过"), {P.DELIVERED}, P.ACCEPTED, {MANAGER}),
    step("refuse", _("验收不通过"), {P.DELIVERED}, P.IN_PROGRESS, {MANAGER}, reason=True),
    step("release", _("退回认领池"), {P.IN_PROGRESS}, P.OPEN, {SYSTEM}),
    step("cancel", _("撤销项目"), {P.OPEN, P.IN_PROGRESS}, P.CANCELLED, {MANAGER}, reason=True),
])

C = ClaimState
CLAIM = Workflow(action_prefix="cobuild.claim", initial=C.ACTIVE, conflict_message=_("该认领已变更，请刷新后重试"),
                 transitions=[
    step("withdraw", _("退领"), {C.ACTIVE}, C.WITHDRAWN, {OWNER, UNIT, MANAGER}, reason=True),
    step("complete", _("完成"), {C.ACTIVE}, C.DONE, {SYSTEM}),
])

B = BookingState
BOOKING = Workflow(action_prefix="cobuild.booking", initial=B.BOOKED,
                   conflict_message=_("该预约已变更，请刷新后重试"), transitions=[
    step("accept", _("接单"), {B.BOOKED}, B.ACCEPTED, {UNIT, MANAGER}),
    step("decline", _("不接单"), {B.BOOKED}, B.DECLINED, {UNIT, MANAGER}, reason=True),
    step("deliver", _("完成服务"), {B.ACCEPTED}, B.DELIVERED, {UNIT, MANAGER}),
    step("rate", _("评价"), {B.DELIVERED}, B.RATED, {OWNER}),
    step("cancel", _("取消预约"), {B.BOOKED, B.ACCEPTED}, B.CANCELLED, {OWNER, UNIT, MANAGER}),
])

R = RequestState
REQUEST = Workflow(action_prefix="cobuild.admission", initial=R.FILED,
                   conflict_message=_("该申请已被审核，请刷新后重试"), transitions=[
    step("admit", _("准予进入社区"), {R.FILED}, R.ADMITTED, {MANAGER}),
    step("refuse", _("不予准入"), {R.FILED}, R.REFUSED, {MANAGER}, reason=True),
    step("withdraw", _("撤回申请"), {R.FILED}, R.WITHDRAWN, {UNIT}),
])

ALL = (NEED, MATCH, PROJECT, CLAIM, BOOKING, REQUEST)
OPEN_NEED_STATES = frozenset({N.OPEN, N.MATCHED, N.IN_DELIVERY})
LIVE_PROJECT_STATES = frozenset({P.OPEN, P.IN_PROGRESS, P.DELIVERED})
