from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _forget_snapshots(**kwargs: object) -> None:
    """``migrate`` and ``flush`` (which sends this signal too) may have replaced the rows behind every per-process
    snapshot; a snapshot still pointing at deleted rows would write dangling keys."""
    from .snapshot import invalidate_all

    invalidate_all()


class CoreConfig(AppConfig):
    name = "gongzhi.core"
    label = "core"
    verbose_name = "核心"

    def ready(self) -> None:
        from . import choices, pgtimes

        choices.install()  # every model's get_FOO_display from a table per language (core/choices.py)
        pgtimes.connect()  # PostgreSQL timestamps parsed in C (core/pgtimes.py)
        post_migrate.connect(_forget_snapshots, sender=self, dispatch_uid="gongzhi.core.forget_snapshots")
