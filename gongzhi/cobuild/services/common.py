"""What every co-building service shares: who may act, photos, and the counters that must never overflow."""

from __future__ import annotations

from typing import Any

from django.core.files.base import ContentFile
from django.db import models
from django.db.models import F
from django.utils.translation import gettext as _

from gongzhi.accounts.roles import Cap
from gongzhi.cases.services import MAX_PHOTO_BYTES, reencode_photo
from gongzhi.core.errors import Forbidden, InvalidInput
from gongzhi.core.scope import as_scope
from gongzhi.registry.models import Area, MemberUnit

from ..models import CobuildPhoto

MAX_PHOTOS = 6


def can_manage(actor: Any, area_path: str) -> bool:
    """Community, street and district staff manage the co-building of their subtree; ``None`` is the platform."""
    return actor is None or as_scope(actor).can(Cap.COBUILD_MANAGE, area_path=area_path)


def require_manage(actor: Any, area_path: str) -> None:
    if not can_manage(actor, area_path):
        raise Forbidden(_("您没有权限执行此操作"))


def can_offer(actor: Any, unit_id: int | None) -> bool:
    """A member unit's own handler acts for the unit (its resources, claims, deliveries, requests)."""
    return actor is None or (unit_id is not None and as_scope(actor).can(Cap.COBUILD_OFFER, unit_id=unit_id))


def require_offer(actor: Any, unit_id: int | None) -> None:
    if not can_offer(actor, unit_id):
        raise Forbidden(_("您只能以本单位身份操作"))


def person_of(actor: Any) -> int | None:
    """The person behind the account (party members and volunteers act as themselves)."""
    return None if actor is None else as_scope(actor).person_id


def actor_units(actor: Any) -> list[int]:
    return [] if actor is None else as_scope(actor).unit_ids(Cap.COBUILD_OFFER)


def area_in(area: Area | None, field: str, kinds: tuple[str, ...] | None = None) -> Area:
    """An area argument, present and (if ``kinds``) of one of these kinds, or the error on ``field``."""
    if area is None:
        raise InvalidInput.on(field, _("请选择区域"))
    if kinds and area.kind not in kinds:
        raise InvalidInput.on(field, _("所选区域层级不适用"))
    return area


def unit_area_path(unit: MemberUnit) -> str:
    return str(MemberUnit.objects.filter(pk=unit.pk).values_list("area__path", flat=True).get())


def take(model: type[models.Model], pk: int, counter: str, limit: str, amount: Any = 1) -> bool:
    """Add ``amount`` to ``counter`` only while it stays within ``limit`` — one conditional UPDATE, so of several
    people racing for the last place exactly one wins (a resource's capacity, a slot's places, a budget)."""
    return model._default_manager.filter(
        pk=pk, **{f"{counter}__lte": F(limit) - amount}
    ).update(**{counter: F(counter) + amount}) == 1


def give_back(model: type[models.Model], pk: int, counter: str, amount: Any = 1) -> None:
    """Return what :func:`take` took (a cancelled match or booking), never below zero."""
    model._default_manager.filter(pk=pk, **{f"{counter}__gte": amount}).update(**{counter: F(counter) - amount})


def clean_photos(photos: list[tuple[str, bytes]] | None, field: str = "photos") -> list[tuple[bytes, str]]:
    """Photos checked like case photos: size, count, decoded and re-encoded (no metadata, no polyglots)."""
    cleaned = []
    for i, (_name, data) in enumerate(photos or []):
        if len(data) > MAX_PHOTO_BYTES:
            raise InvalidInput.on(f"{field}[{i}]", _("照片不能超过5MB"))
        cleaned.append(reencode_photo(data, field=f"{field}[{i}]"))
    if len(cleaned) > MAX_PHOTOS:
        raise InvalidInput.on(field, _("照片最多6张"))
    return cleaned


def save_photos(photos: list[tuple[bytes, str]], *, area_path: str, **owner: Any) -> int:
    """Store cleaned photos for a progress report (``report=``) or a delivery (``delivery=``)."""
    for data, kind in photos:
        photo = CobuildPhoto(area_path=area_path, content_type=kind, **owner)
        suffix = ".png" if kind == "image/png" else ".jpg"
        photo.image.save(f"cobuild{suffix}", ContentFile(data), save=False)
        photo.save()
    return len(photos)
