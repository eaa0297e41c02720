from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "gongzhi.supervision"
    label = "supervision"
    verbose_name = "督查考核"

    def ready(self) -> None:
        from . import scoping  # noqa: F401
