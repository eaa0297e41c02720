from django.apps import AppConfig


class PointsConfig(AppConfig):
    name = "gongzhi.points"
    label = "points"
    verbose_name = "信用积分"

    def ready(self) -> None:
        from . import scoping  # noqa: F401
