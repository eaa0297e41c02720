"""The agenda item's workflow, declared once, with the procedures (C4) as the steps each one requires.

六步工作法: 收集民意 → 党组织提议 → 各方共同商议 → 会议决议 → 结果公开 → 督促落实.
家园议事: 提事 → 商事 → 办事 → 评事 (主事员 hosts, 议事员 deliberate, 指导员 advise).
党支部先议: the branch reviews before the owners' committee decides.
An item a council cannot settle moves up (上移); the parent's answer comes back (答复).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from gongzhi.core.workflow import Transition as Step
from gongzhi.core.workflow import Workflow, step

__all__ = ["STEPS", "ItemState", "Step", "allowed"]


class ItemState(models.TextChoices):
    PROPOSED = "proposed", _("收集民意/提事")
    PARTY_PROPOSED = "party_proposed", _("党组织已提议")
    BRANCH_REVIEWED = "branch_reviewed", _("党支部已先议")
    SCHEDULED = "scheduled", _("待商议")
    DECIDED = "decided", _("已决议")
    PUBLISHED = "published", _("结果已公开")
    UNSETTLED = "unsettled", _("本级未能解决")
    ESCALATED = "escalated", _("已上移")
    ANSWERED = "answered", _("上级已答复")
    DONE = "done", _("已落实")
    EVALUATED = "evaluated", _("已评事")


S = ItemState


CONFLICT = _("该议题已被他人处理，或按本组织的议事规则现在不能执行此步骤")


def _s(name: str, label: Any, sources: set[str], target: str, procedures: set[str] | frozenset[str] = frozenset(),
       reason: bool = False) -> Step:
    return step(name, label, sources, target, reason=reason, variants=procedures)


# The variants of a row are the procedures (C4) it belongs to; a row without any belongs to every procedure.
STEPS = Workflow(action_prefix="councils.item", initial=S.PROPOSED, conflict_message=CONFLICT, transitions=[
    _s("party_propose", _("党组织提议"), {S.PROPOSED}, S.PARTY_PROPOSED, {"six_steps"}),
    _s("branch_review", _("党支部先议"), {S.PROPOSED}, S.BRANCH_REVIEWED, {"branch_first"}),
    _s("schedule", _("列入会议议程"), {S.PROPOSED, S.PARTY_PROPOSED, S.BRANCH_REVIEWED, S.UNSETTLED},
       S.SCHEDULED),
    _s("decide", _("会议决议"), {S.SCHEDULED}, S.DECIDED),
    _s("fail", _("本级未能解决"), {S.SCHEDULED}, S.UNSETTLED, reason=True),
    _s("escalate", _("上移上级"), {S.UNSETTLED}, S.ESCALATED, reason=True),
    _s("answer", _("答复下级"), {S.SCHEDULED}, S.ANSWERED),
    _s("publish", _("结果公开"), {S.DECIDED}, S.PUBLISHED, {"six_steps"}),
    _s("complete", _("督促落实/办事"), {S.DECIDED, S.PUBLISHED}, S.DONE),
    _s("evaluate", _("评事"), {S.DONE}, S.EVALUATED, {"homeland"}),
])

# Where an item must be before it may go on an agenda, per procedure (the steps each procedure requires first).
READY_TO_SCHEDULE = {
    "simple": {S.PROPOSED, S.UNSETTLED},
    "homeland": {S.PROPOSED, S.UNSETTLED},
    "six_steps": {S.PARTY_PROPOSED, S.UNSETTLED},
    "branch_first": {S.BRANCH_REVIEWED, S.UNSETTLED},
}
# Six steps: results are published before follow-up counts as done.
READY_TO_COMPLETE = {"six_steps": {S.PUBLISHED}}

OPEN = frozenset({S.PROPOSED, S.PARTY_PROPOSED, S.BRANCH_REVIEWED, S.SCHEDULED, S.UNSETTLED, S.ESCALATED})
SETTLED_HERE = frozenset({S.DECIDED, S.PUBLISHED, S.DONE, S.EVALUATED})


def allowed(step: Step, procedure: str, state: str) -> bool:
    if state not in step.sources or not step.applies_to(procedure):
        return False
    if step.name == "schedule":
        return state in READY_TO_SCHEDULE.get(procedure, {S.PROPOSED})
    if step.name == "complete" and procedure in READY_TO_COMPLETE:
        return state in READY_TO_COMPLETE[procedure]
    return True
