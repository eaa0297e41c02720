from typing import Any

from django.apps import AppConfig


class MapsConfig(AppConfig):
    name = "gongzhi.maps"
    verbose_name = "一张图"

    def ready(self) -> None:
        from django.db import transaction
        from django.db.models.signals import post_delete, post_save

        from gongzhi.registry.models import Area

        from . import layers

        # This process draws a changed boundary at once; other processes see the audit stamp move within 30 s.
        def forget_layers(**_kwargs: Any) -> None:
            transaction.on_commit(layers.forget)

        post_save.connect(forget_layers, sender=Area, weak=False, dispatch_uid="maps-forget-on-save")
        post_delete.connect(forget_layers, sender=Area, weak=False, dispatch_uid="maps-forget-on-delete")
