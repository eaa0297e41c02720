"""core.choices: every model's get_FOO_display answers what Django's own would, in each language, from a table."""

from __future__ import annotations

import functools

from django.apps import apps
from django.db.models.base import Model
from django.utils import translation

from gongzhi.cases.models import Case
from gongzhi.cases.workflow import State


def test_every_choice_field_shows_the_label_django_would_in_each_language() -> None:
    checked = 0
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if not field.choices:
                continue
            name = f"get_{field.name}_display"
            assert not isinstance(getattr(model, name), functools.partialmethod), f"{model.__name__}.{name}"
            instance = model()
            for lang in ("zh-hans", "en"):
                with translation.override(lang):
                    for value in [*(v for v, _label in field.flatchoices), "no-such-value"]:
                        setattr(instance, field.attname, value)
                        ours = getattr(instance, name)()
                        assert ours == Model._get_FIELD_display(instance, field), (model, field.name, value)  # type: ignore[attr-defined]
                        checked += 1
    assert checked > 500  # the platform's models have many choice fields: the loop really ran


def test_a_case_state_reads_in_the_active_language() -> None:
    with translation.override("en"):
        assert Case(state=State.DISPATCHED).get_state_display() == "Dispatched"
    with translation.override("zh-hans"):
        assert Case(state=State.DISPATCHED).get_state_display() == "已派遣"
