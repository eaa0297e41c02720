from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "gongzhi.registry"
    label = "registry"
    verbose_name = "组织体系"

    def ready(self) -> None:
        from . import scoping  # noqa: F401
