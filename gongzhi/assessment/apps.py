from django.apps import AppConfig


class AssessmentConfig(AppConfig):
    name = "gongzhi.assessment"
    label = "assessment"
    verbose_name = "考评"

    def ready(self) -> None:
        from . import scoping  # noqa: F401
