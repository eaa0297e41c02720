"""Community admission control (D5, 社区工作事项准入): the 准入清单 a street or district keeps, a department's request
to push a task, meeting, report, sign-off or assessment onto communities, the street's or district's decision (admit
— the item joins the list — or refuse with the reason) through the declared REQUEST table, and the communities'
flags of unadmitted work pushed onto them, which the street answers. What is refused or flagged is the 减负 evidence
:mod:`gongzhi.cobuild.selectors.admission` counts."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import audit
from gongzhi.core.errors import Conflict, Forbidden, InvalidInput
from gongzhi.core.validators import bounded_text, visible_text
from gongzhi.registry.models import Area, AreaKind, MemberUnit

from ..models import AdmissionRequest, AdmittedItem, UnadmittedFlag, WorkKind
from ..workflow import MANAGER, REQUEST, UNIT
from .common import area_in, can_manage, can_offer, require_manage, require_offer, unit_area_path

DECIDING_KINDS = (AreaKind.STREET, AreaKind.DISTRICT)  # who keeps a 准入清单 and decides requests
STREET_PATH = 3 * Area.steplen  # 市 → 区 → 街道
MAX_COMMUNITIES = 10_000


def _kind(kind: str) -> str:
    if kind not in WorkKind.values:
        raise InvalidInput.on("kind", _("请选择事项类别"))
    return kind


@transaction.atomic
def admitted_item_create(*, actor: Any, area: Area | None, kind: str, name: str,
                         department: MemberUnit | None = None, basis: str = "") -> AdmittedItem:
    """Put an item on the 准入清单 of a street or district (by its manager)."""
    area = area_in(area, "area", DECIDING_KINDS)
    require_manage(actor, area.path)
    item = AdmittedItem.objects.create(area=area, area_path=area.path, kind=_kind(kind),
                                       name=visible_text(name, "name", max_length=100), department=department,
                                       basis=bounded_text(basis, "basis", 200))
    audit.record(actor=actor, action="cobuild.admitted_item.create", obj=item,
                 after={"name": item.name, "kind": kind, "area": area.pk,
                        "department": department.pk if department else None})
    return item


@transaction.atomic
def admitted_item_retire(*, actor: Any, item: AdmittedItem, reason: str = "") -> AdmittedItem:
    """Take an item off the list (no longer admitted); the row stays for the record."""
    require_manage(actor, item.area_path)
    if AdmittedItem.objects.filter(pk=item.pk, active=True).update(active=False) != 1:
        raise Conflict(_("该事项已移出准入清单"))
    item.refresh_from_db()
    audit.record(actor=actor, action="cobuild.admitted_item.update", obj=item, before={"active": True},
                 after={"active": False}, reason=bounded_text(reason, "reason", 300))
    return item


@transaction.atomic
def request_file(*, actor: Any, department: MemberUnit, area: Area | None, kind: str, title: str, description: str,
                 basis: str = "", communities: int = 0) -> AdmissionRequest:
    """A department (its handler) asks a street or district to admit work into its communities."""
    require_offer(actor, department.pk)
    area = area_in(area, "area", DECIDING_KINDS)
    dept_path = unit_area_path(department)
    # A city or district department files to streets or districts below it; a street-level unit to its own
    # street or district — never sideways to another district.
    if not (area.path.startswith(dept_path) or dept_path.startswith(area.path)):
        raise InvalidInput.on("area", _("只能向本单位所在辖区的街道或区申请"))
    if not 0 <= communities <= MAX_COMMUNITIES:
        raise InvalidInput.on("communities", _("涉及社区数无效"))
    req = AdmissionRequest.objects.create(
        department=department, area=area, area_path=area.path, kind=_kind(kind),
        title=visible_text(title, "title", max_length=100),
        description=visible_text(description, "description", max_length=2000),
        basis=bounded_text(basis, "basis", 200), communities=communities, filed_by=actor)
    audit.record(actor=actor, action="cobuild.admission.request", obj=req,
                 after={"title": req.title, "kind": kind, "area": area.pk, "department": department.pk,
                        "communities": communities})
    return req


def request_roles(actor: Any, req: AdmissionRequest) -> set[str]:
    roles = set()
    if can_manage(actor, req.area_path):
        roles.add(MANAGER)
    if can_offer(actor, req.department_id):
        roles.add(UNIT)
    return roles


def request_step(*, actor: Any, request: AdmissionRequest, step: str, expected_version: int | None = None,
                 reason: str = "", admitted_item: AdmittedItem | None = None) -> AdmissionRequest:
    """准予进入 admit (the item joins the list, or links to one already on it), 不予准入 refuse (reason),
    撤回 withdraw (the department, while filed)."""
    roles = request_roles(actor, request)

    def authorise(t: Any) -> None:
        if not roles & t.actors:
            raise Forbidden(_("您不能对该申请执行此操作"))

    with transaction.atomic():
        t, version, reason = REQUEST.check(request, step, expected_version=expected_version, reason=reason,
                                           authorise=authorise)
        changes: dict[str, Any] = {}
        if step in ("admit", "refuse"):
            changes.update(decided_by=actor, decided_at=timezone.now(), decision_reason=reason[:300])
        if step == "admit":
            if admitted_item is not None:
                if not request.area_path.startswith(admitted_item.area_path) or not admitted_item.active:
                    raise InvalidInput.on("admitted_item", _("请选择本级有效的准入事项"))
                item = admitted_item
            else:
                item = admitted_item_create(actor=actor, area=request.area, kind=request.kind, name=request.title,
                                            department=request.department, basis=request.basis)
            changes["admitted_item"] = item
        return REQUEST.apply(actor=actor, obj=request, name=t.name, version=version, changes=changes,
                             reason=reason)


@transaction.atomic
def flag_raise(*, actor: Any, area: Area | None, kind: str, description: str, department: MemberUnit | None = None,
               department_name: str = "") -> UnadmittedFlag:
    """A community says: this work was pushed onto us without admission (who pushed it, what it was)."""
    area = area_in(area, "area", (AreaKind.COMMUNITY,))
    require_manage(actor, area.path)
    name = bounded_text(department_name, "department_name", 150)
    if department is None and not name:
        raise InvalidInput.on("department_name", _("请填写下派部门"))
    flag = UnadmittedFlag.objects.create(
        area=area, area_path=area.path, department=department, department_name=name or department.name,  # type: ignore[union-attr]
        kind=_kind(kind), description=visible_text(description, "description", max_length=1000), flagged_by=actor)
    audit.record(actor=actor, action="cobuild.flag.flag", obj=flag,
                 after={"area": area.pk, "kind": kind, "department": department.pk if department else None,
                        "department_name": flag.department_name})
    return flag


@transaction.atomic
def flag_handle(*, actor: Any, flag: UnadmittedFlag, note: str) -> UnadmittedFlag:
    """The street (or the district above) answers a flag: what it did about the unadmitted work."""
    street = flag.area_path[:STREET_PATH]
    require_manage(actor, street)
    note = visible_text(note, "note", max_length=300)
    if UnadmittedFlag.objects.filter(pk=flag.pk, handled_at__isnull=True).update(
            handled_at=timezone.now(), handling=note) != 1:
        raise Conflict(_("该反映已处理"))
    flag.refresh_from_db()
    audit.record(actor=actor, action="cobuild.flag.handle", obj=flag, after={"handling": note})
    return flag
