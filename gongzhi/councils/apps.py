from django.apps import AppConfig


class CouncilsConfig(AppConfig):
    name = "gongzhi.councils"
    label = "councils"
    verbose_name = "联席会议与议事协商"

    def ready(self) -> None:
        from . import scoping  # noqa: F401
