"""The round's workflow, declared once and run by the shared engine (:mod:`gongzhi.core.workflow`).

open → self-assessment (自评/自愿申报, where the scheme asks for it) → scoring by each rater group → the review
stages the version declares, one after another (社区自评 → 街道筛评 → 区级总评; 初审推荐 → 评审考核) → public notice
(公示, with an objection period) → published (授牌). ``manager`` holds ``Cap.ASSESS_MANAGE`` on the round's area;
``reviewer`` holds ``Cap.ASSESS_REVIEW`` at the level of the current stage.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from gongzhi.core.workflow import Workflow, step


class RoundState(models.TextChoices):
    DRAFT = "draft", _("准备中")
    SELF = "self", _("自评申报")
    SCORING = "scoring", _("评分中")
    REVIEW = "review", _("审核中")
    NOTICE = "notice", _("公示中")
    PUBLISHED = "published", _("已发布")
    CANCELLED = "cancelled", _("已撤销")


MANAGER, REVIEWER = "manager", "reviewer"

S = RoundState
ROUND = Workflow(action_prefix="assessment.round", initial=S.DRAFT,
                 conflict_message=_("该考评轮次已被他人推进，请刷新后重试"), transitions=[
    step("open_self", _("开始自评申报"), {S.DRAFT}, S.SELF, {MANAGER}),
    step("open_scoring", _("开始评分"), {S.DRAFT, S.SELF}, S.SCORING, {MANAGER}),
    step("close_scoring", _("结束评分并计算"), {S.SCORING}, S.REVIEW, {MANAGER}),
    step("advance", _("本环节审核完成"), {S.REVIEW}, None, {MANAGER, REVIEWER}),
    step("to_notice", _("进入公示"), {S.REVIEW}, S.NOTICE, {MANAGER, REVIEWER}),
    step("publish", _("发布结果"), {S.NOTICE}, S.PUBLISHED, {MANAGER}),
    step("reopen", _("退回重新评分"), {S.REVIEW, S.NOTICE}, S.SCORING, {MANAGER}, reason=True),
    step("cancel", _("撤销轮次"), {S.DRAFT, S.SELF, S.SCORING, S.REVIEW}, S.CANCELLED, {MANAGER}, reason=True),
])

ALL = (ROUND,)
