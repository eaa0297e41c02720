"""Dispatch intelligence's write path: the suggestion made at intake (and auto-dispatch where it is switched on),
the dispatcher's decision recorded as a lesson, model versions saved, activated and rolled back, the confidence
threshold and the per-category switches. Every change writes an audit entry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.accounts.roles import Cap
from gongzhi.cases import services as case_services
from gongzhi.cases.models import Case, Category
from gongzhi.cases.workflow import State
from gongzhi.core import audit
from gongzhi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from gongzhi.core.scope import as_scope
from gongzhi.core.snapshot import Snapshot

from . import classifier, engine
from .models import AutoDispatch, ClassifierVersion, DispatchSettings, ModelSource, Suggestion, SuggestionStatus

MIN_SUPPORT_FOR_AUTO = 20  # a precision measured on fewer hold-out cases than this says too little to trust


def require_configure(actor: Any) -> None:
    if not as_scope(actor).has(Cap.CASE_CONFIGURE):
        raise Forbidden(_("只有平台管理员可以管理派单模型"))


# ------------------------------------------------------------------------------------------ suggestion


def make_suggestion(case: Case) -> Suggestion:
    """The classifier's proposal for ``case``: the top three categories with probabilities, the department the
    routing rules give the first, and the words that weighed most. Not saved."""
    number, model = engine.active()
    prediction = model.predict(case.title, case.description, top=3, explain=4)
    by_code = case_services.CATEGORIES_BY_CODE.get()
    text = f"{case.title} {case.description}"
    alternatives = []
    first = None
    grams: set[str] | None = None
    for code, p in zip(prediction.labels, prediction.probabilities, strict=True):
        if grams is None and len(code) < 6:
            grams = engine.text_grams(text)
        resolved = engine.leaf_for(code, text, by_code, grams)
        if resolved is None:
            continue
        leaf = resolved.category
        alternatives.append({"code": leaf.code, "name": leaf.name, "class": code, "p": p,
                             "path": _path_name(leaf)})
        if first is None:
            first = resolved
    reasons = list(prediction.reasons)
    suggestion = Suggestion(case=case, confidence=prediction.confidence, alternatives=alternatives,
                            reasons=reasons, created_at=timezone.now(),
                            model_id=INTAKE.get().version_ids.get(number) if number is not None else None)
    if first is not None:
        suggestion.category = first.category
        if case.area_path:  # a text without a place (the API's preview) gets no department
            route = case_services.route(first.category, case.area_path)
            suggestion.level, suggestion.unit_id = route.level, route.unit_id
        if first.via_names and first.matched:
            suggestion.reasons = [*reasons, _("细类按名称匹配：{words}").format(words="、".join(first.matched[:4]))]
    return suggestion


def _path_name(category: Category) -> str:
    names: list[str] = []
    node: Category | None = category
    while node is not None and len(names) < 3:
        names.append(node.name)
        node = node.parent
    return " / ".join(reversed(names))


@dataclass(frozen=True)
class IntakeSettings:
    """What every intake needs besides the model, kept per process (see gongzhi.core.snapshot)."""

    threshold: float
    switches: dict[str, int | None]  # model label (category code) → the version the switch was turned on for
    version_ids: dict[int, int]  # version number → row id


def _load_intake() -> IntakeSettings:
    threshold = DispatchSettings.objects.filter(pk=1).values_list("confidence_threshold", flat=True).first()
    return IntakeSettings(
        threshold=float(threshold if threshold is not None
                        else DispatchSettings._meta.get_field("confidence_threshold").default),
        switches=dict(AutoDispatch.objects.filter(enabled=True).values_list("category__code", "model_id")),
        version_ids=dict(ClassifierVersion.objects.values_list("number", "pk")))


INTAKE: Snapshot[IntakeSettings] = Snapshot(_load_intake)


def _changed() -> None:
    """Settings, switches or versions changed: this process reloads now (and again after the commit), the others
    within the snapshot's time to live."""
    INTAKE.invalidate()
    transaction.on_commit(INTAKE.invalidate)


def suggest_on_intake(case: Case, actor: Any) -> None:
    """Intake hook: record the suggestion; where the category's auto-dispatch switch is on and the suggestion is
    confident enough, the system accepts and dispatches the case itself. No query but the INSERT on most intakes."""
    if case.kind != "general":
        return
    suggestion = make_suggestion(case)
    settings = INTAKE.get()
    if suggestion.category is None or suggestion.confidence < settings.threshold:
        suggestion.status = SuggestionStatus.WAITING
    else:
        suggestion.status = SuggestionStatus.PREFILLED
    suggestion.save()
    label = suggestion.alternatives[0]["class"] if suggestion.alternatives else None
    # A switch was turned on for the precision one model measured: another model must earn it again.
    if (suggestion.status == SuggestionStatus.PREFILLED and case.category_id is None and label in settings.switches
            and settings.switches[label] == suggestion.model_id):
        _auto_dispatch(case, suggestion)


def _auto_dispatch(case: Case, suggestion: Suggestion) -> None:
    case_services.transition(actor=None, case=case, name="accept", category=suggestion.category,
                             reason=_("自动派遣（置信度 {p:.0%}）").format(p=suggestion.confidence))
    case.refresh_from_db()
    case_services.transition(actor=None, case=case, name="dispatch", unit=case.assignee_unit)
    Suggestion.objects.filter(pk=suggestion.pk).update(status=SuggestionStatus.AUTO, chosen=suggestion.category,
                                                        decided_at=timezone.now())


def record_decision(case: Case, category: Category | None, actor: Any) -> None:
    """Accept hook: what the dispatcher chose, against what was suggested (采纳 or 更正) — the lessons the next
    model learns from, and the live precision the models page shows."""
    suggestion = Suggestion.objects.filter(case_id=case.pk).first()
    if suggestion is None or category is None or actor is None:
        return
    status = SuggestionStatus.ACCEPTED if category.pk == suggestion.category_id else SuggestionStatus.CORRECTED
    Suggestion.objects.filter(pk=suggestion.pk).update(status=status, chosen=category, decided_at=timezone.now(),
                                                        decided_by=getattr(actor, "pk", None))
    if status == SuggestionStatus.CORRECTED:
        audit.record(actor=actor, action="dispatch.suggestion.correct", obj=suggestion,
                     before={"category": suggestion.category.code if suggestion.category else None},
                     after={"category": category.code, "case": case.pk})


@transaction.atomic
def suggestion_refresh(*, actor: Any, case: Case) -> Suggestion:
    """Ask the active model again (after the case's text was completed, or a new model was activated)."""
    if not case_services.actor_kinds(actor, case) & {"dispatcher"}:
        raise Forbidden(_("您没有权限执行此操作"))
    if case.state != State.SUBMITTED:
        raise InvalidInput.on("case", _("只有待受理的诉求可以重新分类"))
    Suggestion.objects.filter(case=case).delete()
    suggest_on_intake(case, actor)
    suggestion = Suggestion.objects.get(case=case)
    audit.record(actor=actor, action="dispatch.suggestion.refresh", obj=suggestion,
                 after={"category": suggestion.category.code if suggestion.category else None,
                        "confidence": suggestion.confidence})
    return suggestion


# ------------------------------------------------------------------------------------------ versions


def _next_number() -> int:
    last = ClassifierVersion.objects.order_by("-number").values_list("number", flat=True).first()
    return int(last or 0) + 1


@transaction.atomic
def version_save(*, actor: Any, model: classifier.TextModel, scores: classifier.Scores | None, source: str,
                 training_rows: int, note: str = "") -> ClassifierVersion:
    """Keep a trained model as the next version (not active: it is activated after its scores are read)."""
    if actor is not None:
        require_configure(actor)
    if source not in ModelSource.values:
        raise InvalidInput.on("source", _("未知训练数据来源"))
    version = ClassifierVersion.objects.create(
        number=_next_number(), source=source, created_by=actor if getattr(actor, "pk", None) else None,
        labels=model.labels, training_rows=training_rows, holdout_rows=scores.rows if scores else 0,
        scores=scores.as_dict() if scores else {}, blob=model.to_bytes(), note=note[:300])
    _changed()
    audit.record(actor=actor, action="dispatch.model.save", obj=version,
                 after={"number": version.number, "source": source, "training_rows": training_rows,
                        "holdout_rows": version.holdout_rows, "macro_f1": version.scores.get("macro_f1")})
    return version


@transaction.atomic
def version_activate(*, actor: Any, version: ClassifierVersion, force: bool = False,
                     reason: str = "") -> ClassifierVersion:
    """Make ``version`` the one that suggests. A version that was not evaluated on a hold-out cannot be activated;
    one scoring lower macro-F1 than the active one needs ``force`` and a reason."""
    if actor is not None:
        require_configure(actor)
    version = ClassifierVersion.objects.select_for_update().get(pk=version.pk)
    if not version.holdout_rows or "macro_f1" not in version.scores:
        raise InvalidInput.on("version", _("该版本未经检验，不能启用"))
    current = ClassifierVersion.objects.select_for_update().filter(active=True).first()
    if current is not None and current.pk == version.pk:
        raise Conflict(_("该版本已在使用"))
    if current is not None and not force and float(version.scores["macro_f1"]) < float(
            current.scores.get("macro_f1", 0)):
        raise InvalidInput.on("version", _("该版本检验成绩低于当前版本（宏平均F1 {a} < {b}），如确需启用请注明理由")
                              .format(a=version.scores["macro_f1"], b=current.scores.get("macro_f1")))
    if force and not reason.strip():
        raise InvalidInput.on("reason", _("请填写理由"))
    if current is not None:
        ClassifierVersion.objects.filter(pk=current.pk).update(active=False)
    ClassifierVersion.objects.filter(pk=version.pk).update(active=True, activated_at=timezone.now())
    version.refresh_from_db()
    _changed()
    engine.forget()  # this process asks the new version at once; the others within engine.RECHECK_SECONDS
    audit.record(actor=actor, action="dispatch.model.activate", obj=version, reason=reason,
                 before={"active": current.number if current else None}, after={"active": version.number})
    transaction.on_commit(engine.forget)
    return version


@transaction.atomic
def version_rollback(*, actor: Any, reason: str = "") -> ClassifierVersion:
    """Go back to the version that was active before the current one."""
    if actor is not None:
        require_configure(actor)
    current = ClassifierVersion.objects.select_for_update().filter(active=True).first()
    if current is None:
        raise NotFound(_("没有正在使用的模型版本"))
    previous = (ClassifierVersion.objects.filter(activated_at__isnull=False, activated_at__lt=current.activated_at)
                .exclude(pk=current.pk).order_by("-activated_at").first())
    if previous is None:
        raise InvalidInput.on("version", _("没有可以回退到的版本"))
    return version_activate(actor=actor, version=previous, force=True, reason=reason or _("回退"))


# ------------------------------------------------------------------------------------------ settings


@transaction.atomic
def threshold_set(*, actor: Any, threshold: float, expected_version: int | None = None) -> DispatchSettings:
    require_configure(actor)
    if not 0.0 <= threshold <= 1.0:
        raise InvalidInput.on("confidence_threshold", _("置信度下限须在0到1之间"))
    row = DispatchSettings.current()
    row = DispatchSettings.objects.select_for_update().get(pk=row.pk)
    if expected_version is not None and expected_version != row.version:
        raise Conflict(_("设置已被他人修改，请刷新后重试"), {"version": [_("版本已过期")]})
    before = row.confidence_threshold
    DispatchSettings.objects.filter(pk=row.pk).update(confidence_threshold=threshold, version=F("version") + 1)
    row.refresh_from_db()
    _changed()
    audit.record(actor=actor, action="dispatch.settings.update", obj=row,
                 before={"confidence_threshold": before}, after={"confidence_threshold": threshold})
    return row


def measured_precision(version: ClassifierVersion, category: Category) -> tuple[float | None, int]:
    """The hold-out precision of ``version`` on the label that stands for ``category`` (the category itself or
    the class above it that the model learnt), and how many hold-out suggestions it was measured on."""
    per_label = version.scores.get("per_label", {})
    for length in range(len(category.code), 1, -2):
        row = per_label.get(category.code[:length])
        if row is not None:
            return float(row["precision"]), int(row.get("predicted", 0))
    return None, 0


@transaction.atomic
def auto_dispatch_set(*, actor: Any, category: Category, enabled: bool, min_precision: float,
                      expected_version: int | None = None) -> AutoDispatch:
    """Turn auto-dispatch on or off for one category. On only while the active model's measured precision on it
    is at least ``min_precision`` (on enough hold-out cases); the switch remembers that model."""
    require_configure(actor)
    if not 0.5 <= min_precision <= 1.0:
        raise InvalidInput.on("min_precision", _("要求的准确率须在0.5到1之间"))
    row, _created = AutoDispatch.objects.select_for_update().get_or_create(category=category)
    if expected_version is not None and expected_version != row.version:
        raise Conflict(_("设置已被他人修改，请刷新后重试"), {"version": [_("版本已过期")]})
    version = ClassifierVersion.objects.filter(active=True).first()
    measured: float | None = None
    if enabled:
        if version is None:
            raise InvalidInput.on("enabled", _("尚无启用的模型版本"))
        measured, support = measured_precision(version, category)
        if measured is None or support < MIN_SUPPORT_FOR_AUTO:
            raise InvalidInput.on("enabled", _("该分类的检验样本不足（{n} 条，至少 {m} 条），不能自动派遣")
                                  .format(n=support, m=MIN_SUPPORT_FOR_AUTO))
        if measured < min_precision:
            raise InvalidInput.on("min_precision", _("实测准确率 {p:.1%} 低于要求的 {q:.1%}，不能开启自动派遣")
                                  .format(p=measured, q=min_precision))
    before = {"enabled": row.enabled, "min_precision": row.min_precision}
    AutoDispatch.objects.filter(pk=row.pk).update(
        enabled=enabled, min_precision=min_precision, measured_precision=measured,
        model=version if enabled else None, set_by=actor, set_at=timezone.now(), version=F("version") + 1)
    row.refresh_from_db()
    _changed()
    audit.record(actor=actor, action="dispatch.auto.set", obj=row, before=before,
                 after={"category": category.code, "enabled": enabled, "min_precision": min_precision,
                        "measured_precision": measured})
    return row


# ------------------------------------------------------------------------------------------ training as a job


def train_start(*, actor: Any, activate: bool = False) -> Any:
    """Train a new version from the platform's closed cases in the background (the jobs page shows progress)."""
    require_configure(actor)
    from gongzhi.jobs import services as job_services

    return job_services.dispatch_train_start(actor=actor, activate=activate)


def train_from_cases(*, actor: Any, activate: bool = False,
                     progress: Any = None) -> ClassifierVersion:
    """Train on the platform's closed cases (one in five kept back as the hold-out), save the version with its
    scores, and activate it if asked and it scores at least as well as the active one (``progress(what, done,
    total)`` as it goes)."""
    from . import training

    if actor is not None:
        require_configure(actor)
    train, holdout = training.platform_datasets(progress)
    labels = set(train.labels)
    if len(train) < 50 or len(labels) < 2:
        raise InvalidInput.on("cases", _("已办结且已分类的诉求太少（{n} 条），至少需要 50 条、两个分类")
                              .format(n=len(train)))
    model = classifier.fit(train.texts, train.labels, progress=progress)
    scores = classifier.evaluate(model, holdout.texts, holdout.labels) if len(holdout) else None
    if progress:
        progress("检验", len(holdout), len(holdout))
    version = version_save(actor=actor, model=model, scores=scores, source=ModelSource.PLATFORM,
                           training_rows=len(train),
                           note=_("本平台已办结诉求 {n} 条，{k} 个分类").format(n=len(train), k=len(labels)))
    if activate and scores is not None:
        current = ClassifierVersion.objects.filter(active=True).first()
        if current is None or scores.macro_f1 >= float(current.scores.get("macro_f1", 0)):
            version = version_activate(actor=actor, version=version)
    return version


def factory_install() -> ClassifierVersion | None:
    """Version 1: the factory model shipped with the platform (trained on the public 问政 messages), active on a
    platform that has no version yet. Run by the migration and by ``dispatch_model install``."""
    import json

    from . import training

    if ClassifierVersion.objects.exists():
        return None
    meta = json.loads(training.FACTORY_META.read_text(encoding="utf-8"))
    blob = training.FACTORY_MODEL.read_bytes()
    model = classifier.TextModel.from_bytes(blob)
    version = ClassifierVersion.objects.create(
        number=1, source=ModelSource.SHARED, labels=model.labels, training_rows=meta["training_rows"],
        holdout_rows=meta["scores"]["rows"], scores=meta["scores"], blob=blob, active=True,
        activated_at=timezone.now(), note=meta.get("note", "")[:300])
    _changed()
    engine.forget()  # the process may have cached "no version" (the factory file without a row)
    transaction.on_commit(engine.forget)
    audit.record(actor=None, action="dispatch.model.install", obj=version, after={"number": 1})
    return version
