"""Dispatch intelligence in the JSON API: a case's suggestion (and asking again), a suggestion for any text, the
model versions (activate, roll back, train as a job), the confidence threshold and the auto-dispatch switches;
hot spots and reply quality come from their own routers."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from gongzhi.api.auth import user_of
from gongzhi.cases import selectors as case_selectors
from gongzhi.cases import services as case_services
from gongzhi.core.errors import NotFound

from . import api_hotspots, api_replies, selectors, services
from .models import ClassifierVersion, Suggestion

router = Router(tags=["派单智能 dispatch"])


class DispatchSuggestIn(Schema):
    title: str = Field(..., min_length=1, max_length=100)
    description: str = Field("", max_length=4000)


class DispatchActivateIn(Schema):
    force: bool = False
    reason: str = Field("", max_length=200)


class DispatchRollbackIn(Schema):
    reason: str = Field("", max_length=200)


class DispatchTrainIn(Schema):
    activate: bool = Field(False, description="训练完成且成绩不低于当前版本时启用")


class DispatchSettingsIn(Schema):
    confidence_threshold: float = Field(..., ge=0, le=1, description="低于该置信度的建议不预填，等待人工分类")
    version: int | None = Field(None, ge=1)


class DispatchSwitchIn(Schema):
    enabled: bool
    min_precision: float = Field(0.95, ge=0.5, le=1, description="要求的实测准确率；低于它不能开启")
    version: int | None = Field(None, ge=1)


def suggestion_out(s: Suggestion | Any) -> dict[str, Any]:
    return {
        "category": {"code": s.category.code, "name": s.category.name} if s.category else None,
        "confidence": s.confidence, "alternatives": s.alternatives, "reasons": s.reasons,
        "unit": {"id": s.unit_id, "name": s.unit.name} if s.unit_id and s.unit else None,
        "level": s.level, "status": s.status, "status_label": s.get_status_display(),
        "chosen": s.chosen.code if getattr(s, "chosen_id", None) and s.chosen else None,
        "model": s.model.number if getattr(s, "model_id", None) and s.model else None,
    }


def version_out(v: ClassifierVersion) -> dict[str, Any]:
    scores = v.scores or {}
    return {"number": v.number, "source": v.source, "source_label": v.get_source_display(), "active": v.active,
            "created_at": v.created_at, "activated_at": v.activated_at, "training_rows": v.training_rows,
            "holdout_rows": v.holdout_rows, "labels": v.labels, "accuracy": scores.get("accuracy"),
            "macro_f1": scores.get("macro_f1"), "ece": scores.get("ece"), "per_label": scores.get("per_label", {}),
            "reliability": scores.get("reliability", []), "note": v.note}


@router.get("/dispatch/cases/{case_id}/suggestion", response=dict, summary="诉求的分类建议 A case's suggestion")
def case_suggestion(request: HttpRequest, case_id: int) -> dict[str, Any]:
    user = user_of(request)
    case = case_selectors.case_get(user, case_id)
    suggestion = selectors.suggestion_for(user, case)
    if suggestion is None:
        raise NotFound("该诉求没有分类建议")
    return suggestion_out(suggestion)


@router.post("/dispatch/cases/{case_id}/suggestion/refresh", response=dict,
             summary="重新生成分类建议 Ask the model again")
def refresh_suggestion(request: HttpRequest, case_id: int) -> dict[str, Any]:
    user = user_of(request)
    case = case_selectors.case_get(user, case_id)
    services.suggestion_refresh(actor=user, case=case)
    suggestion = selectors.suggestion_for(user, case)
    assert suggestion is not None
    return suggestion_out(suggestion)


@router.post("/dispatch/suggest", response=dict, summary="为一段文字给出分类建议 Suggest for a text (not saved)")
def suggest_text(request: HttpRequest, payload: DispatchSuggestIn) -> dict[str, Any]:
    return suggestion_out(selectors.preview(user_of(request), title=payload.title, description=payload.description))


@router.get("/dispatch/models", response=list[dict], summary="分类模型版本 Model versions")
def list_versions(request: HttpRequest, limit: int = Query(50, ge=1, le=200)) -> list[dict[str, Any]]:
    return [version_out(v) for v in selectors.versions(user_of(request))[:limit]]


@router.post("/dispatch/models/{number}/activate", response=dict, summary="启用模型版本 Activate a version")
def activate_version(request: HttpRequest, number: int, payload: DispatchActivateIn) -> dict[str, Any]:
    user = user_of(request)
    version = selectors.versions(user).filter(number=number).first()
    if version is None:
        raise NotFound("没有该模型版本")
    return version_out(services.version_activate(actor=user, version=version, force=payload.force,
                                                 reason=payload.reason))


@router.post("/dispatch/models/rollback", response=dict, summary="回退到上一个版本 Roll back")
def rollback_version(request: HttpRequest, payload: DispatchRollbackIn) -> dict[str, Any]:
    return version_out(services.version_rollback(actor=user_of(request), reason=payload.reason))


@router.post("/dispatch/models/train", response={202: dict}, summary="用已办结诉求训练新版本（后台任务） Train")
def train_version(request: HttpRequest, payload: DispatchTrainIn) -> Status[dict[str, Any]]:
    job = services.train_start(actor=user_of(request), activate=payload.activate)
    return Status(202, {"job_id": job.pk, "state": job.state})


@router.get("/dispatch/settings", response=dict, summary="派单智能设置 Settings")
def get_settings(request: HttpRequest) -> dict[str, Any]:
    row = selectors.settings_row(user_of(request))
    return {"confidence_threshold": row.confidence_threshold, "version": row.version}


@router.put("/dispatch/settings", response=dict, summary="修改置信度下限 Set the threshold")
def put_settings(request: HttpRequest, payload: DispatchSettingsIn) -> dict[str, Any]:
    row = services.threshold_set(actor=user_of(request), threshold=payload.confidence_threshold,
                                 expected_version=payload.version)
    return {"confidence_threshold": row.confidence_threshold, "version": row.version}


@router.get("/dispatch/auto", response=list[dict], summary="自动派遣开关 Auto-dispatch switches")
def list_switches(request: HttpRequest) -> list[dict[str, Any]]:
    return [{"label": r.label, "category": r.category.name if r.category else None, "precision": r.precision,
             "recall": r.recall, "support": r.support, "predicted": r.predicted,
             "enabled": bool(r.switch and r.switch.enabled),
             "min_precision": r.switch.min_precision if r.switch else None,
             "version": r.switch.version if r.switch else None}
            for r in selectors.switch_rows(user_of(request))]


@router.put("/dispatch/auto/{code}", response=dict, summary="开关某分类的自动派遣 Switch auto-dispatch")
def put_switch(request: HttpRequest, code: str, payload: DispatchSwitchIn) -> dict[str, Any]:
    user = user_of(request)
    selectors.require_view(user)
    category = case_services.CATEGORIES_BY_CODE.get().get(code[:16])
    if category is None:
        raise NotFound("没有该分类")
    row = services.auto_dispatch_set(actor=user, category=category, enabled=payload.enabled,
                                     min_precision=payload.min_precision, expected_version=payload.version)
    return {"code": code, "enabled": row.enabled, "min_precision": row.min_precision,
            "measured_precision": row.measured_precision, "version": row.version}


@router.get("/dispatch/corrections", response=list[dict], summary="人工更正记录 Corrections")
def list_corrections(request: HttpRequest, limit: int = Query(20, ge=1, le=200)) -> list[dict[str, Any]]:
    return [{"case_id": s.case_id, "suggested": s.category.code if s.category else None,
             "chosen": s.chosen.code if s.chosen else None, "confidence": s.confidence,
             "decided_at": s.decided_at} for s in selectors.corrections(user_of(request), limit=limit)]


# Hot spots and reply quality have their own routers (their own files).
router.add_router("", api_hotspots.router)
router.add_router("", api_replies.router)
