from django.apps import AppConfig


class CobuildConfig(AppConfig):
    name = "gongzhi.cobuild"
    label = "cobuild"
    verbose_name = "共驻共建"

    def ready(self) -> None:
        from . import scoping  # noqa: F401
