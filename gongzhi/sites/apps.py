from django.apps import AppConfig


class SitesConfig(AppConfig):
    name = "gongzhi.sites"
    label = "service_sites"  # "sites" is django.contrib.sites' label
    verbose_name = "服务阵地"

    def ready(self) -> None:
        from . import scoping  # noqa: F401
