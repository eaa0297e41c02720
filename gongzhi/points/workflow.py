"""Credit points' workflows, declared once and run by the shared engine (:mod:`gongzhi.core.workflow`).

Read a row as: from any of these states, these actors may take the step to the target. Who counts as which actor is
decided in :mod:`gongzhi.points.services`: ``owner`` is the resident the claim or redemption is about; ``collector``
holds ``Cap.POINTS_COLLECT`` on her area (信息员: grid workers, community workers); ``council`` holds
``Cap.POINTS_DECIDE`` there (小区议事会: party secretaries, community workers); ``community`` holds
``Cap.POINTS_APPROVE`` (社区审核: community workers, officials); ``store`` holds ``Cap.POINTS_STORE`` on the store's
community. Every refusal needs its reason.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from gongzhi.core.workflow import Workflow, step


class ClaimState(models.TextChoices):
    DECLARED = "declared", _("待采集")
    COLLECTED = "collected", _("待评定")
    DECIDED = "decided", _("待审核")
    APPROVED = "approved", _("已入账")
    REFUSED = "refused", _("未通过")
    WITHDRAWN = "withdrawn", _("已撤回")


class RedemptionState(models.TextChoices):
    REDEEMED = "redeemed", _("待领取")
    HANDED_OVER = "handed_over", _("已领取")
    CANCELLED = "cancelled", _("已取消")


OWNER, COLLECTOR, COUNCIL, COMMUNITY, STORE = "owner", "collector", "council", "community", "store"

C = ClaimState
CLAIM = Workflow(action_prefix="points.claim", initial=C.DECLARED,
                 conflict_message=_("该申报已被他人处理，请刷新后重试"), transitions=[
    step("collect", _("采集确认"), {C.DECLARED}, C.COLLECTED, {COLLECTOR}),
    step("refuse_collect", _("采集不予确认"), {C.DECLARED}, C.REFUSED, {COLLECTOR}, reason=True),
    step("decide", _("议事会评定通过"), {C.COLLECTED}, C.DECIDED, {COUNCIL}),
    step("refuse_decide", _("议事会评定不通过"), {C.COLLECTED}, C.REFUSED, {COUNCIL}, reason=True),
    step("approve", _("社区审核通过"), {C.DECIDED}, C.APPROVED, {COMMUNITY}),
    step("refuse_approve", _("社区审核不通过"), {C.DECIDED}, C.REFUSED, {COMMUNITY}, reason=True),
    step("withdraw", _("撤回申报"), {C.DECLARED}, C.WITHDRAWN, {OWNER}),
])

R = RedemptionState
REDEMPTION = Workflow(action_prefix="points.redemption", initial=R.REDEEMED,
                      conflict_message=_("该兑换已被处理，请刷新后重试"), transitions=[
    step("hand_over", _("确认领取"), {R.REDEEMED}, R.HANDED_OVER, {STORE}),
    # The resident cancels her own before collecting it; the store says why when it cancels for her.
    step("cancel", _("取消兑换"), {R.REDEEMED}, R.CANCELLED, {OWNER, STORE}),
])

ALL = (CLAIM, REDEMPTION)
FORWARD = {"collect": C.DECLARED, "decide": C.COLLECTED, "approve": C.DECIDED}
REFUSALS = {"refuse_collect", "refuse_decide", "refuse_approve"}
OPEN_CLAIM_STATES = frozenset({C.DECLARED, C.COLLECTED, C.DECIDED})
