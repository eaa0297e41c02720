"""What a dispatcher does with a hot spot (热点问题): merge its cases into one 并单 group, or raise it on a council's
agenda (议题). Both go through the owning services — :func:`gongzhi.cases.services.transition` ("merge") and
:func:`gongzhi.councils.services.item_propose` — which check who may and write the audit trail; here each is one
transaction (all or nothing) with one audit entry of its own for the hot spot as a whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.accounts.roles import Cap
from gongzhi.cases import services as case_services
from gongzhi.cases.models import Case
from gongzhi.cases.workflow import Actor
from gongzhi.core import audit
from gongzhi.core.errors import Forbidden, InvalidInput
from gongzhi.core.scope import as_scope
from gongzhi.councils import services as councils
from gongzhi.councils.models import AgendaItem, Council, Source

from .selectors_hotspots import MERGEABLE, RECEIVING, choose_primary, forget_hotspots

MAX_MEMBERS = 200


@dataclass
class HotSpotMerge:
    """The outcome of a merge: the case that goes on, those merged into it, those left as they were and why."""

    primary: Case
    merged: list[Case] = field(default_factory=list)
    skipped: list[tuple[Case, str]] = field(default_factory=list)


def _members(cases_: list[Case], field_name: str = "case_ids") -> list[Case]:
    seen: dict[int, Case] = {}
    for c in cases_:
        seen.setdefault(c.pk, c)
    if not seen:
        raise InvalidInput.on(field_name, _("请选择诉求"))
    if len(seen) > MAX_MEMBERS:
        raise InvalidInput.on(field_name, _("一次最多处理200件诉求"))
    return list(seen.values())


def hotspot_merge(*, actor: Any, cases: list[Case], primary: Case | None = None, reason: str) -> HotSpotMerge:
    """并单: merge the cases of a hot spot into one. ``primary`` (or :func:`choose_primary`) keeps going; every other
    member still waiting to be accepted or dispatched is merged into it (the workflow's "merge", which moves the
    reporters and followers over and counts the duplicates); members already further along, or outside the
    actor's dispatching, are left as they were and reported in ``skipped`` with the reason. All or nothing: if one
    merge fails (someone moved the case meanwhile) none is made."""
    members = _members(cases)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput.on("reason", _("请填写并单理由"))
    if not as_scope(actor).has(Cap.CASE_DISPATCH):
        raise Forbidden(_("您没有权限执行此操作"))
    with transaction.atomic():
        fresh = {c.pk: c for c in Case.objects.select_for_update().filter(pk__in=[m.pk for m in members])}
        rows = [fresh[m.pk] for m in members if m.pk in fresh]
        if primary is not None:
            target = fresh.get(primary.pk)
            if target is None:
                raise InvalidInput.on("primary_id", _("主诉求须是该热点问题中的一件"))
        else:
            target = choose_primary(rows)
        if target is None or target.state not in RECEIVING:
            raise InvalidInput.on("primary_id", _("主诉求须是尚未办结的诉求"))
        if Actor.DISPATCHER not in case_services.actor_kinds(actor, target):
            raise Forbidden(_("您没有权限执行此操作"))
        outcome = HotSpotMerge(primary=target)
        for c in sorted(rows, key=lambda c: (c.created_at, c.pk)):
            if c.pk == target.pk:
                continue
            if c.state not in MERGEABLE:
                outcome.skipped.append((c, _("当前状态为「{state}」，不能再并单").format(
                    state=c.get_state_display())))
            elif Actor.DISPATCHER not in case_services.actor_kinds(actor, c):
                outcome.skipped.append((c, _("不在您的受理派遣范围内")))
            else:
                outcome.merged.append(case_services.transition(actor=actor, case=c, name="merge", into=target,
                                                       reason=reason))
        if not outcome.merged:
            raise InvalidInput.on("case_ids", _("没有可以并入的诉求：{reasons}").format(
                reasons="；".join(f"{c.number} {why}" for c, why in outcome.skipped[:10])))
        target.refresh_from_db()
        audit.record(actor=actor, action="dispatch.hotspot.merge", obj=target, reason=reason, after={
            "merged": [c.pk for c in outcome.merged], "skipped": {str(c.pk): why for c, why in outcome.skipped}})
        forget_hotspots()
    return outcome


def _default_title(members: list[Case]) -> str:
    primary = choose_primary(members) or members[0]
    return _("热点问题：{title}（{n}件诉求）").format(title=primary.title[:80], n=len(members))


def hotspot_to_council_item(*, actor: Any, cases: list[Case], council: Council, title: str = "",
                            description: str = "") -> AgendaItem:
    """Raise a hot spot on a council's agenda (诉求转入): one item, linked to the hottest member case, naming every
    member case's number in its text. Only who runs the council may (a resident proposes through the council's own
    page); the council must cover where the cases happened."""
    members = _members(cases)
    if not councils.can_run(actor, council):
        raise Forbidden(_("您没有权限执行此操作"))
    if any(not c.area_path.startswith(council.area.path) for c in members):
        raise InvalidInput.on("council_id", _("所选议事组织不覆盖这些诉求的发生地"))
    members.sort(key=lambda c: (c.created_at, c.pk))
    first, last = members[0].created_at, members[-1].created_at
    listing = _("关联诉求（{n}件，{first} 至 {last}）：{numbers}").format(
        n=len(members), first=f"{timezone.localtime(first):%Y-%m-%d}", last=f"{timezone.localtime(last):%Y-%m-%d}",
        numbers="、".join(c.number for c in members))
    text = f"{description.strip()}\n\n{listing}" if description.strip() else listing
    with transaction.atomic():
        item = councils.item_propose(actor=actor, council=council, title=(title or "").strip()
                                     or _default_title(members), description=text[:4000], source=Source.CASE,
                                     case=choose_primary(members) or members[0])
        audit.record(actor=actor, action="dispatch.hotspot.propose", obj=item,
                     after={"council": council.pk, "cases": [c.pk for c in members]})
        forget_hotspots()
    return item
