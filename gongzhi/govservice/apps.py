from django.apps import AppConfig


class GovserviceConfig(AppConfig):
    name = "gongzhi.govservice"
    label = "govservice"
    verbose_name = "政务服务"

    def ready(self) -> None:
        from . import scoping  # noqa: F401
