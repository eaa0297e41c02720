from django.apps import AppConfig


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
