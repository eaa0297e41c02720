"""core.choices.label: the same labels as Django's get_FOO_display, in every language, without its cost."""

from __future__ import annotations

from django.db.models.base import Model
from django.utils import translation

from gongzhi.cases.models import Case
from gongzhi.cases.workflow import State


def test_a_case_shows_the_label_django_would_in_each_language() -> None:
    field = Case._meta.get_field("state")
    for lang in ("zh-hans", "en"):
        with translation.override(lang):
            for state in [*State.values, "unknown"]:
                case = Case(state=state)
                assert case.get_state_display() == Model._get_FIELD_display(case, field)  # type: ignore[attr-defined]
    with translation.override("en"):
        assert Case(state=State.DISPATCHED).get_state_display() == "Dispatched"
    with translation.override("zh-hans"):
        assert Case(state=State.DISPATCHED).get_state_display() == "已派遣"
