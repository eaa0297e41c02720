from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _forget_model(**kwargs: object) -> None:
    """After ``migrate`` or ``flush`` the cached active model may name a version row that is gone."""
    from . import engine

    engine.forget()


class DispatchConfig(AppConfig):
    name = "gongzhi.dispatch"
    label = "dispatch"
    verbose_name = "派单智能"

    def ready(self) -> None:
        from gongzhi.cases import services as case_services

        from . import (
            scoping,  # noqa: F401
            services,
        )

        # Every new case gets a suggestion; every acceptance tells whether it was taken (see cases.services).
        if services.suggest_on_intake not in case_services.INTAKE_HOOKS:
            case_services.INTAKE_HOOKS.append(services.suggest_on_intake)
        if services.record_decision not in case_services.ACCEPT_HOOKS:
            case_services.ACCEPT_HOOKS.append(services.record_decision)
        post_migrate.connect(_forget_model, sender=self, dispatch_uid="gongzhi.dispatch.forget_model")
