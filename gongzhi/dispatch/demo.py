"""Dispatch intelligence in the demo city: every case still waiting to be accepted carries the suggestion intake
would have made (the demo's cases are bulk-loaded, so the intake hook did not run), and a second model version
trained on the demo's closed cases sits beside the factory model with its hold-out scores — not active: the factory
model learnt from real messages, the demo's texts are generated from templates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from gongzhi.cases.models import Case
from gongzhi.cases.workflow import State

from . import services
from .models import Suggestion, SuggestionStatus


def load(*, size: str, seed: int, today: dt.date, progress: Callable[[str, float], None]) -> dict[str, int]:
    progress("派单智能", 0.0)
    services.factory_install()
    settings = services.INTAKE
    settings.invalidate()
    threshold = settings.get().threshold
    rows = []
    waiting = Case.objects.filter(state=State.SUBMITTED, kind="general").order_by("pk")
    for case in waiting.iterator(chunk_size=2000):
        suggestion = services.make_suggestion(case)
        suggestion.created_at = case.created_at
        suggestion.status = (SuggestionStatus.PREFILLED if suggestion.category and suggestion.confidence >= threshold
                             else SuggestionStatus.WAITING)
        rows.append(suggestion)
    Suggestion.objects.bulk_create(rows, batch_size=2000)
    progress("派单智能", 0.5)
    trained = 0
    try:
        services.train_from_cases(actor=None, activate=False)
        trained = 1
    except services.InvalidInput:
        pass  # too few closed cases in this size of demo
    progress("派单智能", 1.0)
    return {"dispatch_suggestions": len(rows), "dispatch_versions": 1 + trained}
