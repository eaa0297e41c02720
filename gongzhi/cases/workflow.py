"""The case workflow, declared once (B1–B6).

数字城管: 信息收集 → 案卷建立 → 任务派遣 → 任务处理 → 处理反馈 → 核实结案 → 综合评价;
12345: 受理 → 派单 → 办理 → 答复 → 督办 → 办结 → 回访 → 评价. Every move along this graph goes through
:func:`gongzhi.cases.services.transition` and nothing else assigns ``Case.state``.

A row whose ``target`` is ``None`` is a declared action that leaves the state as it is (督办, 催办): the same engine
runs it — who may, from which states, with a reason or not, one version step, one audit record.

Who may take a transition is named by an actor kind: a capability on the case's owning node (``case_dispatch``),
the handler of the case (its assigned unit's handlers, or the owning level's own staff), the verifier on the
case's location, the reporter, a claimant, or a superior (a dispatcher of a level above the owning one).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from gongzhi.core.workflow import Transition, Workflow, step

__all__ = ["TRANSITIONS", "Actor", "State", "Transition"]


class State(models.TextChoices):
    SUBMITTED = "submitted", _("待受理")
    ACCEPTED = "accepted", _("待派遣")
    REJECTED = "rejected", _("不予受理")
    DISPATCHED = "dispatched", _("已派遣")
    RETURNED = "returned", _("已退回")
    IN_PROGRESS = "in_progress", _("办理中")
    HANDLED = "handled", _("待核实")
    VERIFIED = "verified", _("待评价")
    REOPENED = "reopened", _("返工")
    CLOSED = "closed", _("已办结")
    MERGED = "merged", _("已并单")
    WITHDRAWN = "withdrawn", _("已撤回")


class Actor(models.TextChoices):
    DISPATCHER = "dispatcher", _("受理派遣人员")
    HANDLER = "handler", _("承办人员")
    VERIFIER = "verifier", _("核实人员")
    REPORTER = "reporter", _("反映人")
    CLAIMANT = "claimant", _("领单人")
    SUPERIOR = "superior", _("上级督办人员")
    SYSTEM = "system", _("系统")


S = State
A = Actor
_t = step
CONFLICT = _("该诉求已被他人处理或当前状态不能执行此操作，请刷新后重试")


# The whole graph. Read a row as: from any of these states, these actors may move the case to the target.
TRANSITIONS = Workflow(action_prefix="cases.case", initial=S.SUBMITTED, conflict_message=CONFLICT, transitions=[
    # The system accepts and dispatches only where an administrator turned on auto-dispatch for the category.
    _t("accept", _("受理"), {S.SUBMITTED}, S.ACCEPTED, {A.DISPATCHER, A.SYSTEM}),
    _t("reject", _("不予受理"), {S.SUBMITTED}, S.REJECTED, {A.DISPATCHER}, reason=True),
    _t("merge", _("并单"), {S.SUBMITTED, S.ACCEPTED}, S.MERGED, {A.DISPATCHER}, reason=True),
    _t("dispatch", _("派遣"), {S.ACCEPTED, S.RETURNED}, S.DISPATCHED, {A.DISPATCHER, A.SYSTEM}),
    _t("return", _("退回"), {S.DISPATCHED}, S.RETURNED, {A.HANDLER}, reason=True),
    _t("start", _("签收办理"), {S.DISPATCHED, S.REOPENED}, S.IN_PROGRESS, {A.HANDLER}),
    _t("claim", _("领单"), {S.ACCEPTED}, S.IN_PROGRESS, {A.CLAIMANT}),
    _t("handle", _("办理反馈"), {S.IN_PROGRESS}, S.HANDLED, {A.HANDLER}),
    _t("verify", _("核实通过"), {S.HANDLED}, S.VERIFIED, {A.VERIFIER}),
    _t("refuse_result", _("核实不通过"), {S.HANDLED}, S.IN_PROGRESS, {A.VERIFIER}, reason=True),
    _t("rate", _("评价"), {S.VERIFIED}, S.CLOSED, {A.REPORTER}),
    _t("reopen", _("不满意返工"), {S.VERIFIED}, S.REOPENED, {A.REPORTER}, reason=True),
    _t("close", _("结案"), {S.VERIFIED}, S.CLOSED, {A.VERIFIER, A.SYSTEM}),
    _t("escalate", _("上移"), {S.ACCEPTED, S.RETURNED, S.DISPATCHED, S.IN_PROGRESS, S.REOPENED}, S.ACCEPTED,
       {A.DISPATCHER, A.HANDLER}, reason=True),
    # The resident takes her case back while nobody has reported it handled yet.
    _t("withdraw", _("撤回"), {S.SUBMITTED, S.ACCEPTED, S.DISPATCHED, S.RETURNED, S.IN_PROGRESS}, S.WITHDRAWN,
       {A.REPORTER}, reason=True),
    # Declared actions that leave the state as it is.
    _t("supervise", _("督办"), {S.ACCEPTED, S.DISPATCHED, S.RETURNED, S.IN_PROGRESS, S.REOPENED}, None,
       {A.SUPERIOR}, reason=True),
    _t("urge", _("催办"), {S.ACCEPTED, S.DISPATCHED, S.RETURNED, S.IN_PROGRESS, S.REOPENED}, None,
       {A.DISPATCHER, A.SUPERIOR}),
])

OPEN_STATES = frozenset({S.SUBMITTED, S.ACCEPTED, S.DISPATCHED, S.RETURNED, S.IN_PROGRESS, S.HANDLED, S.VERIFIED,
                         S.REOPENED})
# The ledger (挂账): a case stays on it until verified closed (销号).
LEDGER_STATES = OPEN_STATES - {S.VERIFIED}
# While a handler holds it, the case runs against its deadline.
RUNNING_STATES = frozenset({S.DISPATCHED, S.IN_PROGRESS, S.REOPENED, S.RETURNED, S.ACCEPTED})
FINAL_STATES = frozenset({S.CLOSED, S.REJECTED, S.MERGED, S.WITHDRAWN})


def as_dot() -> str:
    """The graph in Graphviz form, for the documentation page."""
    return TRANSITIONS.as_dot()
