from django.apps import AppConfig


class PatrolConfig(AppConfig):
    name = "gongzhi.patrol"
    label = "patrol"
    verbose_name = "网格巡查（三访民情）"

    def ready(self) -> None:
        from . import scoping  # noqa: F401
