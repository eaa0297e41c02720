from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "gongzhi.cases"
    label = "cases"
    verbose_name = "民情流水线"

    def ready(self) -> None:
        from gongzhi.core import workdays

        from . import scoping  # noqa: F401
        from .calendar import load_overrides

        workdays.set_overrides_loader(load_overrides)
