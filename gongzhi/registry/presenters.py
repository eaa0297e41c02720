"""How personal data leaves the platform (R4). Pages, exports and API responses all render people through
:func:`personal_numbers`, so a number is masked everywhere unless the viewer's role on that part of the tree
needs it."""

from __future__ import annotations

from typing import Any

from gongzhi.accounts.roles import Cap
from gongzhi.core.masking import mask_id_number, mask_phone
from gongzhi.core.scope import as_scope


def reveals(viewer: Any, cap: str, area_path: str, *, self_person_id: int | None = None) -> bool:
    scope = as_scope(viewer)
    if self_person_id is not None and scope.person_id == self_person_id:
        return True  # everyone sees their own numbers
    return scope.can(cap, area_path=area_path)


def phone_for(viewer: Any, phone: str, area_path: str, person_id: int | None = None) -> str:
    if not phone:
        return ""
    return phone if reveals(viewer, Cap.REVEAL_PHONE, area_path, self_person_id=person_id) else mask_phone(phone)


def id_number_for(viewer: Any, id_number: str | None, area_path: str, person_id: int | None = None) -> str:
    if not id_number:
        return ""
    if reveals(viewer, Cap.REVEAL_ID, area_path, self_person_id=person_id):
        return id_number
    return mask_id_number(id_number)


def personal_numbers(viewer: Any, person: Any) -> dict[str, str]:
    """``{"phone", "id_number"}`` of a Person (its ``area`` must be loaded: select_related it in lists)."""
    path = person.area.path
    return {
        "phone": phone_for(viewer, person.phone, path, person.pk),
        "id_number": id_number_for(viewer, person.id_number, path, person.pk),
    }
