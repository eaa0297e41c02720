"""The write path of assessment (考评). Every function is keyword-only, atomic and audited.

Schemes and their draft versions are edited by ``Cap.ASSESS_MANAGE`` on the scheme's area (the organisation
department); a published version is frozen. Rounds are run by ``ASSESS_MANAGE`` on the round's area through the
declared table in :mod:`.workflow`. Raters score only their own sheets, never a subject of their own unit; reviewers
(``ASSESS_REVIEW``) give the verdicts of the current stage for the subjects inside their area; residents answer once
per subject and round, anonymously.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.accounts.roles import Cap
from gongzhi.core import audit, bulk
from gongzhi.core.errors import Conflict, Forbidden, InvalidInput
from gongzhi.core.permissions import require
from gongzhi.core.scope import as_scope
from gongzhi.core.validators import bounded_text, visible_text
from gongzhi.registry.models import Area, AreaKind, MemberUnit, PartyOrganisation, PostKind, Sector, StaffPost

from . import computed, outcomes, selectors
from .models import (
    Assignment,
    BandBasis,
    ComputedValue,
    GroupKind,
    Indicator,
    Objection,
    Period,
    RaterGroup,
    Review,
    Round,
    Sanction,
    SanctionKind,
    Scheme,
    SchemeVersion,
    Score,
    Source,
    Subject,
    SubjectKind,
    SurveyAnswer,
    Verdict,
)
from .workflow import MANAGER, REVIEWER, ROUND, RoundState

S = RoundState
MAX_POINTS = Decimal("1000")
MAX_INDICATORS = 300
MAX_GROUPS = 10
LEVEL_KINDS = {"community": AreaKind.COMMUNITY, "street": AreaKind.STREET, "district": AreaKind.DISTRICT,
               "city": AreaKind.CITY}
SCHEME_AREA_KINDS = (AreaKind.CITY, AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY)


# ------------------------------------------------------------------------------------------ helpers


def _decimal(value: Any, field: str, *, low: Decimal = Decimal(0), high: Decimal = MAX_POINTS) -> Decimal:
    try:
        number = Decimal(str(value).strip()).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError, TypeError):
        raise InvalidInput.on(field, _("请填写数字")) from None
    if not low <= number <= high:
        raise InvalidInput.on(field, _("须在 {low} 到 {high} 之间").format(low=low, high=high))
    return number


def can_manage(actor: Any, area_path: str) -> bool:
    return as_scope(actor).can(Cap.ASSESS_MANAGE, area_path=area_path)


def _require_manage(actor: Any, area_path: str) -> None:
    require(actor, Cap.ASSESS_MANAGE, area_path=area_path)


def _draft(version: SchemeVersion) -> SchemeVersion:
    """The draft's row locked for the rest of the transaction and read as it is now (the caller's copy may be
    stale): a change to its tree or groups and its publication take turns, so nothing is added after the checks of
    :func:`version_publish` ran, and nothing to a version published meanwhile."""
    fresh = SchemeVersion.objects.select_for_update().only("pk", "published_at").get(pk=version.pk)
    if fresh.frozen:
        raise Conflict(_("该版本已发布，不能修改；请新建草稿版本"))
    return version


def _fresh(round_id: int) -> Round:
    """The round as it is now (a subject or sheet fetched earlier may carry a stale one)."""
    return Round.objects.select_related("scheme_version", "scheme").get(pk=round_id)


def own_units(actor: Any) -> set[int]:
    """Every unit the actor holds a role on (a rater's own units, whichever role)."""
    return {g.unit_id for g in as_scope(actor).grants if g.unit_id}


# ------------------------------------------------------------------------------------------ schemes (E1)


@transaction.atomic
def scheme_create(*, actor: Any, area: Area | None, name: str, subject_kind: str, period: str,
                  description: str = "") -> Scheme:
    """A scheme and its first draft version (empty: indicators and rater groups are added to the draft)."""
    if area is None or area.kind not in SCHEME_AREA_KINDS:
        raise InvalidInput.on("area", _("请选择市、区、街道或社区"))
    _require_manage(actor, area.path)
    if subject_kind not in SubjectKind.values:
        raise InvalidInput.on("subject_kind", _("请选择考评对象"))
    if period not in Period.values:
        raise InvalidInput.on("period", _("请选择考评周期"))
    scheme = Scheme.objects.create(
        name=visible_text(name, "name", max_length=100), subject_kind=subject_kind, area=area, area_path=area.path,
        period=period, description=bounded_text(description, "description", 2000),
        created_by=actor if getattr(actor, "pk", None) else None)
    SchemeVersion.objects.create(scheme=scheme, number=1, bands=[], stars=[], stages=[])
    audit.record(actor=actor, action="assessment.scheme.create", obj=scheme,
                 after={"name": scheme.name, "subject_kind": subject_kind, "period": period})
    return scheme


def _check_json_rules(*, stages: list[dict], stars: list[dict], bands: list[dict], band_basis: str,
                      sanction: dict, awards: list[dict] | None = None) -> None:
    awards = awards or []
    for i, stage in enumerate(stages):
        if not str(stage.get("name", "")).strip() or stage.get("level") not in LEVEL_KINDS:
            raise InvalidInput.on("stages", _("第{n}个审核环节须有名称和层级（社区/街道/区/市）").format(n=i + 1))
    for rule in stars:
        try:
            level = int(rule["level"])
            Decimal(str(rule.get("min_score", 0)))
            if rule.get("min_satisfaction") not in (None, ""):
                Decimal(str(rule["min_satisfaction"]))
        except (KeyError, ValueError, TypeError, InvalidOperation):
            raise InvalidInput.on("stars", _("星级标准须写明星级和分数线")) from None
        if not 1 <= level <= 5:
            raise InvalidInput.on("stars", _("星级须在1到5之间"))
    if band_basis not in BandBasis.values:
        raise InvalidInput.on("band_basis", _("请选择分档方式"))
    if bands:
        if any(not str(b.get("name", "")).strip() for b in bands):
            raise InvalidInput.on("bands", _("每一档须有名称"))
        if any(len(str(b["name"]).strip()) > 10 for b in bands):
            raise InvalidInput.on("bands", _("档名不超过10个字"))
        if band_basis == BandBasis.RANK:
            try:
                shares = [Decimal(str(b["share"])) for b in bands]
            except (KeyError, InvalidOperation):
                raise InvalidInput.on("bands", _("按名次分档须写明每档比例")) from None
            if sum(shares) != 100 or any(s <= 0 for s in shares):
                raise InvalidInput.on("bands", _("各档比例之和须为100%"))
        else:
            try:
                [Decimal(str(b["min_score"])) for b in bands]
            except (KeyError, InvalidOperation):
                raise InvalidInput.on("bands", _("按分数分档须写明每档分数线")) from None
    for i, award in enumerate(awards):
        name = str(award.get("name", "")).strip()
        if not name or len(name) > 20 or not isinstance(award.get("indicator", ""), str):
            raise InvalidInput.on("awards", _("第{n}个奖项须有名称（20字以内）和评选依据的指标编号").format(n=i + 1))
    if len({str(a.get("name", "")).strip() for a in awards}) != len(awards):
        raise InvalidInput.on("awards", _("奖项名称不能重复"))
    if sanction:
        try:
            if int(sanction.get("last_places", 0)) < 0 or int(sanction.get("bar_days", 0)) < 0:
                raise ValueError
            if not isinstance(sanction.get("annual_only", False), bool):
                raise ValueError
        except (ValueError, TypeError):
            raise InvalidInput.on("sanction", _("惩戒规则须为末位名次数和禁止天数")) from None


VERSION_FIELDS = ("self_assessment", "stages", "stars", "band_basis", "bands", "honour_count", "shame_count",
                  "sanction", "min_answers", "objection_days", "evidence_required", "awards")


@transaction.atomic
def version_update(*, actor: Any, version: SchemeVersion, expected_version: int | None = None,
                   **changes: Any) -> SchemeVersion:
    """The rules of a draft: self-assessment, review stages, stars, bands, 红黑榜 places, sanction, minimum answers.
    ``expected_version`` is the revision the editor read (the form's hidden field, the API's ``version``)."""
    _require_manage(actor, version.scheme.area_path)
    _draft(version)
    seen = version.version if expected_version is None else expected_version
    unknown = set(changes) - set(VERSION_FIELDS)
    if unknown:
        raise InvalidInput.on(sorted(unknown)[0], _("未知字段"))
    merged = {f: changes.get(f, getattr(version, f)) for f in VERSION_FIELDS}
    for name in ("stages", "stars", "bands", "awards"):
        if not isinstance(merged[name], list) or not all(isinstance(x, dict) for x in merged[name]):
            raise InvalidInput.on(name, _("格式不正确"))
    if not isinstance(merged["sanction"], dict):
        raise InvalidInput.on("sanction", _("格式不正确"))
    _check_json_rules(stages=merged["stages"], stars=merged["stars"], bands=merged["bands"],
                      band_basis=merged["band_basis"], sanction=merged["sanction"], awards=merged["awards"])
    for name in ("honour_count", "shame_count", "min_answers", "objection_days"):
        try:
            value = int(merged[name])
        except (TypeError, ValueError):
            raise InvalidInput.on(name, _("请填写整数")) from None
        if not 0 <= value <= 100000:
            raise InvalidInput.on(name, _("数值超出范围"))
        merged[name] = value
    before = audit.snapshot(version, list(VERSION_FIELDS))
    updated = SchemeVersion.objects.filter(pk=version.pk, version=seen, published_at=None).update(
        version=seen + 1, **merged)
    if updated != 1:
        raise Conflict(_("考评规则已被他人修改，请刷新后重试"))
    for k, v in merged.items():
        setattr(version, k, v)
    version.version = seen + 1
    audit.record(actor=actor, action="assessment.version.update", obj=version.scheme, before=before,
                 after=audit.snapshot(version, list(VERSION_FIELDS)))
    return version


@transaction.atomic
def indicator_add(*, actor: Any, version: SchemeVersion, code: str, name: str, max_points: Any = 0,
                  parent: Indicator | None = None, guidance: str = "", evidence: str = "",
                  source: str = Source.MANUAL, target: Any = None, periods: Iterable[str] = (),
                  feed_scheme: Scheme | None = None) -> Indicator:
    """One indicator of the tree (a branch has no points of its own: its maximum is the sum of its leaves)."""
    _require_manage(actor, version.scheme.area_path)
    _draft(version)
    if version.indicators.count() >= MAX_INDICATORS:
        raise InvalidInput.on("code", _("指标数已达上限 {n}").format(n=MAX_INDICATORS))
    code = visible_text(code, "code", max_length=20)
    if version.indicators.filter(code=code).exists():
        raise InvalidInput.on("code", _("编号已存在"))
    if parent is not None and parent.scheme_version_id != version.pk:
        raise InvalidInput.on("parent", _("上级指标不属于本版本"))
    if source not in Source.values:
        raise InvalidInput.on("source", _("请选择来源"))
    target_value = None if target in (None, "") else _decimal(target, "target", low=Decimal("0.01"),
                                                               high=Decimal("99999999"))
    if source == Source.VOLUNTEER_HOURS and target_value is None:
        raise InvalidInput.on("target", _("志愿服务时长须填写满分所需时长"))
    if source == Source.ROUND_RESULT:
        if feed_scheme is None:
            raise InvalidInput.on("feed_scheme", _("请选择结果来源的考评方案"))
        if feed_scheme.pk == version.scheme_id or feed_scheme.subject_kind != version.scheme.subject_kind:
            raise InvalidInput.on("feed_scheme", _("结果来源须为考评同类对象的另一方案"))
    else:
        feed_scheme = None
    period_keys = [bounded_text(p, "periods", 10) for p in periods if str(p).strip()]
    indicator = Indicator.objects.create(feed_scheme=feed_scheme,
        scheme_version=version, parent=parent, code=code, name=visible_text(name, "name", max_length=100),
        max_points=_decimal(max_points, "max_points"), guidance=bounded_text(guidance, "guidance", 500),
        evidence=bounded_text(evidence, "evidence", 200), source=source, target=target_value, periods=period_keys,
        order=version.indicators.count())
    audit.record(actor=actor, action="assessment.indicator.add", obj=version.scheme,
                 after={"version": version.number, "code": code, "max_points": str(indicator.max_points)})
    return indicator


@transaction.atomic
def indicator_remove(*, actor: Any, indicator: Indicator) -> None:
    version = indicator.scheme_version
    _require_manage(actor, version.scheme.area_path)
    _draft(version)
    audit.record(actor=actor, action="assessment.indicator.remove", obj=version.scheme,
                 before={"version": version.number, "code": indicator.code})
    indicator.delete()


@transaction.atomic
def group_add(*, actor: Any, version: SchemeVersion, name: str, weight: Any,
              kind: str = GroupKind.STAFF) -> RaterGroup:
    """A rater group with its weight (主管部门 4 : 社区党组织 4 : 业主代表 2, or any other)."""
    _require_manage(actor, version.scheme.area_path)
    _draft(version)
    if version.groups.count() >= MAX_GROUPS:
        raise InvalidInput.on("name", _("评分主体最多 {n} 个").format(n=MAX_GROUPS))
    if kind not in GroupKind.values:
        raise InvalidInput.on("kind", _("请选择评分方式"))
    group = RaterGroup.objects.create(scheme_version=version, name=visible_text(name, "name", max_length=50),
                                      kind=kind, weight=_decimal(weight, "weight", low=Decimal("0.01")),
                                      order=version.groups.count())
    audit.record(actor=actor, action="assessment.group.add", obj=version.scheme,
                 after={"version": version.number, "name": group.name, "weight": str(group.weight), "kind": kind})
    return group


@transaction.atomic
def group_remove(*, actor: Any, group: RaterGroup) -> None:
    version = group.scheme_version
    _require_manage(actor, version.scheme.area_path)
    _draft(version)
    audit.record(actor=actor, action="assessment.group.remove", obj=version.scheme,
                 before={"version": version.number, "name": group.name})
    group.delete()


def full_marks(version: SchemeVersion) -> Decimal:
    """The sum of the leaves' points."""
    parents = set(version.indicators.exclude(parent=None).values_list("parent_id", flat=True))
    return sum((i.max_points for i in version.indicators.all() if i.pk not in parents), Decimal(0))


@transaction.atomic
def version_publish(*, actor: Any, version: SchemeVersion) -> SchemeVersion:
    """Freeze the draft: rounds may start from it and it can no longer change."""
    _require_manage(actor, version.scheme.area_path)
    _draft(version)
    leaves = [i for i in version.indicators.all() if not i.children.exists()]
    if not leaves:
        raise InvalidInput.on("indicators", _("请至少添加一项指标"))
    if any(i.max_points <= 0 for i in leaves):
        raise InvalidInput.on("indicators", _("末级指标须有分值"))
    codes = {i.code for i in leaves}
    for award in version.awards or []:
        if award.get("indicator") and award["indicator"] not in codes:
            raise InvalidInput.on("awards", _("奖项“{name}”的评选指标 {code} 不是本方案的末级指标").format(
                name=award.get("name", ""), code=award["indicator"]))
    groups = list(version.groups.all())
    if not groups:
        raise InvalidInput.on("groups", _("请至少添加一个评分主体"))
    if not any(i.source == Source.MANUAL for i in leaves) and any(g.kind == GroupKind.STAFF for g in groups):
        raise InvalidInput.on("indicators", _("工作人员评分须有人工评分指标"))
    updated = SchemeVersion.objects.filter(pk=version.pk, published_at=None).update(published_at=timezone.now())
    if updated != 1:
        raise Conflict(_("该版本已发布"))
    version.refresh_from_db()
    audit.record(actor=actor, action="assessment.version.publish", obj=version.scheme,
                 after={"version": version.number, "full_marks": str(full_marks(version)),
                        "groups": {g.name: str(g.weight) for g in groups}})
    return version


@transaction.atomic
def version_new_draft(*, actor: Any, scheme: Scheme) -> SchemeVersion:
    """A new draft copying the latest version (indicators, groups, rules); running rounds keep theirs."""
    _require_manage(actor, scheme.area_path)
    latest = scheme.versions.order_by("-number").first()
    assert latest is not None
    if not latest.frozen:
        raise Conflict(_("已有未发布的草稿版本"))
    draft = SchemeVersion.objects.create(scheme=scheme, number=latest.number + 1,
                                         **{f: getattr(latest, f) for f in VERSION_FIELDS})
    # Parents are copied before their children: walk the tree from the roots (the database's NULL ordering differs
    # between SQLite and PostgreSQL, so ordering by parent_id alone is not an order one can rely on).
    mapping: dict[int, Indicator] = {}
    pending = list(latest.indicators.order_by("order", "pk"))
    while pending:
        ready = [ind for ind in pending if ind.parent_id is None or ind.parent_id in mapping]
        if not ready:  # a cycle cannot be built through the services; refuse rather than loop
            raise Conflict(_("指标树不完整"))
        for ind in ready:
            mapping[ind.pk] = Indicator.objects.create(
                scheme_version=draft, parent=mapping[ind.parent_id] if ind.parent_id else None, code=ind.code,
                name=ind.name, max_points=ind.max_points, guidance=ind.guidance, evidence=ind.evidence,
                source=ind.source, target=ind.target, periods=ind.periods, order=ind.order,
                feed_scheme_id=ind.feed_scheme_id)
        pending = [ind for ind in pending if ind.pk not in mapping]
    for g in latest.groups.all():
        RaterGroup.objects.create(scheme_version=draft, name=g.name, kind=g.kind, weight=g.weight, order=g.order)
    audit.record(actor=actor, action="assessment.version.draft", obj=scheme, after={"version": draft.number})
    return draft


# ------------------------------------------------------------------------------------------ rounds (E3)


def _subjects_for(kind: str, area: Area) -> list[dict[str, Any]]:
    """Who a round over ``area`` assesses, from the registry."""
    if kind == SubjectKind.PROPERTY_COMPANY:
        return [{"name": u.name, "unit": u, "area_path": u.area.path}
                for u in MemberUnit.objects.filter(sector=Sector.PROPERTY, area__path__startswith=area.path)
                .select_related("area").order_by("name", "pk")]
    if kind == SubjectKind.MEMBER_UNIT:
        return [{"name": u.name, "unit": u, "area_path": u.area.path}
                for u in MemberUnit.objects.filter(area__path__startswith=area.path)
                .exclude(sector__in=[Sector.PROPERTY, Sector.GRASSROOTS, Sector.OWNERS_COMMITTEE])
                .select_related("area").order_by("name", "pk")]
    if kind in (SubjectKind.GRID, SubjectKind.COMMUNITY, SubjectKind.COMPOUND):
        return [{"name": a.name, "area": a, "area_path": a.path}
                for a in Area.objects.filter(path__startswith=area.path, kind=kind).order_by("path")]
    if kind == SubjectKind.PARTY_BRANCH:
        return [{"name": o.name, "org": o, "area_path": o.area.path}
                for o in PartyOrganisation.objects.filter(area__path__startswith=area.path)
                .select_related("area").order_by("area__path", "pk")]
    if kind == SubjectKind.GRID_WORKER:
        # Grid workers on their posts (网格员岗位) inside the area: each is assessed on the grid she serves, so
        # the grid's case figures are hers. One subject per person and grid.
        posts = (StaffPost.objects.filter(kind=PostKind.GRID_WORKER, area__path__startswith=area.path, until=None)
                 .select_related("person", "area").order_by("area__path", "person__name", "pk"))
        seen: set[tuple[int, int]] = set()
        out = []
        for post in posts:
            if (post.person_id, post.area_id) in seen:
                continue
            seen.add((post.person_id, post.area_id))
            out.append({"name": f"{post.person.name}（{post.area.name}）", "person": post.person, "area": post.area,
                        "area_path": post.area.path})
        return out
    return []


@transaction.atomic
def round_create(*, actor: Any, scheme: Scheme, name: str, area: Area | None, period_key: str,
                 period_start: dt.date | None, period_end: dt.date | None,
                 scoring_due: dt.date | None = None) -> Round:
    """A round of the latest published version over the subjects of ``area`` (inside the scheme's area)."""
    if area is None or not area.path.startswith(scheme.area_path):
        raise InvalidInput.on("area", _("考评范围须在方案所属区域内"))
    _require_manage(actor, area.path)
    version = scheme.versions.exclude(published_at=None).order_by("-number").first()
    if version is None:
        raise InvalidInput.on("scheme", _("方案尚无已发布的版本"))
    if period_start is None:
        raise InvalidInput.on("period_start", _("请填写考评期起"))
    if period_end is None or period_end < period_start:
        raise InvalidInput.on("period_end", _("考评期止不能早于考评期起"))
    key = visible_text(period_key, "period_key", max_length=10)
    if Round.objects.filter(scheme=scheme, area=area, period_key=key).exclude(state=S.CANCELLED).exists():
        raise InvalidInput.on("period_key", _("该范围本期已有考评轮次"))
    rnd = Round.objects.create(scheme=scheme, scheme_version=version, name=visible_text(name, "name", max_length=100),
                               area=area, area_path=area.path, period_key=key, period_start=period_start,
                               period_end=period_end, scoring_due=scoring_due,
                               created_by=actor if getattr(actor, "pk", None) else None)
    Subject.objects.bulk_create([Subject(round=rnd, **s) for s in _subjects_for(scheme.subject_kind, area)])
    audit.record(actor=actor, action="assessment.round.create", obj=rnd,
                 after={"scheme": scheme.pk, "version": version.number, "period": key,
                        "subjects": rnd.subjects.count()})
    return rnd


@transaction.atomic
def assign(*, actor: Any, round: Round, group: RaterGroup, rater: Any, subjects: Iterable[Subject]) -> int:
    """Give ``rater`` a sheet for each subject in ``group``. A rater never scores a subject of her own unit."""
    _require_manage(actor, round.area_path)
    if group.scheme_version_id != round.scheme_version_id or group.kind != GroupKind.STAFF:
        raise InvalidInput.on("group", _("请选择本轮的工作人员评分主体"))
    if round.state not in (S.DRAFT, S.SELF, S.SCORING):
        raise Conflict(_("本轮已结束评分"))
    if rater is None or not getattr(rater, "is_active", False):
        raise InvalidInput.on("rater", _("请选择评分人"))
    mine = own_units(rater)
    made = 0
    for subject in subjects:
        if subject.round_id != round.pk:
            raise InvalidInput.on("subjects", _("考评对象不属于本轮"))
        if subject.unit_id and subject.unit_id in mine:
            raise InvalidInput.on("rater", _("评分人不能评本单位：{name}").format(name=subject.name))
        _sheet, created = Assignment.objects.get_or_create(round=round, group=group, subject=subject, rater=rater,
                                                      defaults={"area_path": subject.area_path})
        made += int(created)
    audit.record(actor=actor, action="assessment.round.assign", obj=round,
                 after={"group": group.name, "rater": rater.pk, "sheets": made})
    return made


@transaction.atomic
def sheet_save(*, actor: Any, sheet: Assignment, scores: Mapping[int, tuple[Any, str]], submit: bool = False,
               expected_version: int | None = None) -> Assignment:
    """Save (and optionally submit) a rater's sheet: points per manual indicator, 0 … its maximum, with a note where
    points are deducted and the scheme asks for evidence. A submitted sheet is final."""
    if getattr(actor, "pk", None) != sheet.rater_id:
        raise Forbidden(_("只能填写本人的评分表"))
    rnd = _fresh(sheet.round_id)
    if rnd.state != S.SCORING:
        raise Conflict(_("本轮不在评分阶段"))
    if sheet.submitted_at is not None:
        raise Conflict(_("评分表已提交，不能修改"))
    if sheet.subject.unit_id and sheet.subject.unit_id in own_units(actor):
        raise Forbidden(_("评分人不能评本单位"))
    version = rnd.scheme_version
    leaves = {i.pk: i for i in selectors.period_leaves(version, rnd.period_key) if i.source == Source.MANUAL}
    existing = {s.indicator_id: s for s in sheet.scores.all()}
    for key, (raw, raw_note) in scores.items():
        ind = leaves.get(int(key))
        if ind is None:
            raise InvalidInput.on(f"score_{key}", _("该指标不由人工评分"))
        field = f"score_{ind.pk}"
        if raw in (None, ""):
            if ind.pk in existing:
                existing.pop(ind.pk).delete()
            continue
        points = _decimal(raw, field, high=ind.max_points)
        note = bounded_text(raw_note, f"note_{ind.pk}", 500)
        if version.evidence_required and points < ind.max_points and not note.strip():
            raise InvalidInput.on(f"note_{ind.pk}", _("{code} 扣分须写明依据").format(code=ind.code))
        row = existing.get(ind.pk)
        if row is None:
            existing[ind.pk] = Score.objects.create(assignment=sheet, indicator=ind, points=points, note=note)
        elif (row.points, row.note) != (points, note):
            row.points, row.note = points, note
            row.save(update_fields=["points", "note"])
    total = sum((s.points for s in existing.values()), Decimal(0))
    changes: dict[str, Any] = {"total": total}
    if submit:
        missing = [i.code for i in leaves.values() if i.pk not in existing]
        if missing:
            raise InvalidInput.on(f"score_{next(i.pk for i in leaves.values() if i.code == missing[0])}",
                                  _("尚有 {n} 项未评分：{codes}").format(n=len(missing), codes="、".join(missing[:5])))
        changes["submitted_at"] = timezone.now()
    version_now = expected_version if expected_version is not None else sheet.version
    updated = Assignment.objects.filter(pk=sheet.pk, version=version_now, submitted_at=None).update(
        version=sheet.version + 1, **changes)
    if updated != 1:
        raise Conflict(_("评分表已被修改，请刷新后重试"))
    sheet.refresh_from_db()
    audit.record(actor=actor, action="assessment.sheet.submit" if submit else "assessment.sheet.save", obj=sheet,
                 after={"total": str(total), "scored": len(existing)})
    return sheet


@transaction.atomic
def self_assess(*, actor: Any, subject: Subject, score: Any, note: str) -> Subject:
    """自评/自愿申报: the subject's own unit (its handler) or the manager of its area declares."""
    rnd = _fresh(subject.round_id)
    if rnd.state != S.SELF:
        raise Conflict(_("本轮不在自评申报阶段"))
    own = subject.unit_id is not None and subject.unit_id in own_units(actor)
    if not own and not as_scope(actor).can(Cap.COBUILD_MANAGE, area_path=subject.area_path) \
            and not can_manage(actor, subject.area_path):
        raise Forbidden(_("只有考评对象本身可以自评申报"))
    subject.self_score = _decimal(score, "self_score", high=full_marks(rnd.scheme_version))
    subject.self_note = visible_text(note, "self_note", max_length=1000)
    subject.declared = True
    subject.save(update_fields=["self_score", "self_note", "declared"])
    audit.record(actor=actor, action="assessment.subject.declare", obj=rnd,
                 after={"subject": subject.pk, "self_score": str(subject.self_score)})
    return subject


def voter_key(round_id: int, person_id: int) -> str:
    """A keyed hash: the same resident gives the same key within a round, and the key cannot be turned back."""
    msg = f"assessment:{round_id}:{person_id}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), msg, hashlib.sha256).hexdigest()


def survey_answer(*, actor: Any, subject: Subject, rating: int, comment: str = "") -> SurveyAnswer:
    """A resident's answer (非常满意 5 … 非常不满意 1), once per subject and round; the second is refused. Only
    residents living inside the round's area answer (a street's round is answered by that street's residents)."""
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        raise InvalidInput.on("rating", _("请选择评价")) from None
    if rating not in outcomes.RATING_SCORE:
        raise InvalidInput.on("rating", _("请选择评价"))
    comment = bounded_text(comment, "comment", 300)
    if rating <= 2 and not comment.strip():
        raise InvalidInput.on("comment", _("不满意请写明原因"))
    person_id, home, state, area_path, round_name, takes_residents = _answer_context(actor, subject.round_id)
    if person_id is None:
        raise Forbidden(_("请先关联本人身份再参与评价"))
    if state != S.SCORING:
        raise Conflict(_("本轮评价尚未开始或已结束"))
    if not takes_residents:
        raise InvalidInput.on("subject", _("本轮不接受居民评价"))
    if not home.startswith(area_path):
        raise Forbidden(_("只有本轮考评范围内的居民可以评价"))
    answer = SurveyAnswer(round_id=subject.round_id, subject_id=subject.pk, rating=rating, comment=comment,
                          voter=voter_key(subject.round_id, person_id), area_path=home)
    # The audit trail names the round and subject, not the resident: the answer stays anonymous.
    entry = audit.pending(actor=None, action="assessment.survey.answer", after={"subject": subject.pk},
                          obj=Round(pk=subject.round_id, name=round_name), area_path=area_path)
    # The answer and its audit entry in one statement on PostgreSQL (the target is 1,000 answers a second): the
    # unique (subject, voter) key refuses a second answer without an error to catch.
    if bulk.insert_once(answer, ("subject", "voter"), entry) is None:
        raise Conflict(_("您已评价过该对象，每人每轮只能评价一次"))
    return answer


def _answer_context(actor: Any, round_id: int) -> tuple[Any, str, str, str, str, bool]:
    """What a survey answer needs in one query: the resident (her person and home path; None when the account has
    no person), the round as it is now (the caller's subject may carry a stale one), whether it takes residents'
    answers. Raw SQL on purpose: the ORM spent more time building these two queries than the database answering."""
    from django.db import connection

    from gongzhi.registry.models import Person

    q = connection.ops.quote_name
    sql = (f"SELECT p.id, a.path, r.state, r.area_path, r.name, EXISTS (SELECT 1 FROM {q(RaterGroup._meta.db_table)} g"
           f" WHERE g.scheme_version_id = r.scheme_version_id AND g.kind = %s)"
           f" FROM {q(Round._meta.db_table)} r"
           f" LEFT JOIN {q(Person._meta.db_table)} p ON p.user_id = %s"
           f" LEFT JOIN {q(Area._meta.db_table)} a ON a.id = p.area_id"
           f" WHERE r.id = %s")  # a user has one person at most
    with connection.cursor() as cursor:
        cursor.execute(sql, [GroupKind.RESIDENTS.value, getattr(actor, "pk", None) or 0, round_id])
        row = cursor.fetchone()
    if row is None:
        raise Conflict(_("本轮评价尚未开始或已结束"))
    return row[0], row[1] or "", row[2], row[3], row[4], bool(row[5])


# ------------------------------------------------------------------------------------------ the round's steps


def _actor_kinds(actor: Any, rnd: Round) -> set[str]:
    kinds = set()
    if can_manage(actor, rnd.area_path):
        kinds.add(MANAGER)
    if rnd.state == S.REVIEW and _stage_area_paths(actor, rnd):
        kinds.add(REVIEWER)
    return kinds


def _stage(rnd: Round) -> dict[str, Any] | None:
    stages = rnd.scheme_version.stages or []
    return stages[rnd.stage] if rnd.stage < len(stages) else None


def _stage_area_paths(actor: Any, rnd: Round) -> list[str]:
    """The subtree roots inside which ``actor`` reviews the current stage (a street official: her street)."""
    stage = _stage(rnd)
    if stage is None:
        return []
    width = {"city": 1, "district": 2, "street": 3, "community": 4}[stage["level"]] * Area.steplen
    return [p for p in as_scope(actor).area_prefixes(Cap.ASSESS_REVIEW) if len(p) <= width]


def reviewable(actor: Any, subject: Subject, rnd: Round | None = None) -> bool:
    """Whether ``actor`` gives the current stage's verdict on ``subject``; pass the round as it is now where the
    subject may carry a stale one (fetched before the round moved on to the next stage)."""
    return any(subject.area_path.startswith(p) for p in _stage_area_paths(actor, rnd or subject.round))


def available_steps(actor: Any, rnd: Round) -> list[Any]:
    """The steps of the round's table ``actor`` may take now (the buttons on the round's page, the API's
    ``steps``): the table's transitions for her kinds, less those the round's own rules forbid at this point."""
    kinds = _actor_kinds(actor, rnd)
    if not kinds:
        return []
    stages = rnd.scheme_version.stages or []
    out = []
    for t in ROUND.available(rnd.state, actors=kinds):
        if t.name == "open_self" and not rnd.scheme_version.self_assessment:
            continue
        if t.name == "advance" and rnd.stage + 1 >= len(stages):
            continue
        if t.name == "to_notice" and stages and rnd.stage < len(stages) - 1:
            continue
        out.append(t)
    return out


def round_step(*, actor: Any, round: Round, name: str, reason: str = "",
               expected_version: int | None = None) -> Round:
    """Take one step of the round's table; the step's own work (computing, sanctions) happens in the same
    transaction."""
    rnd = round
    kinds = _actor_kinds(actor, rnd)

    def authorise(t: Any) -> None:
        if not kinds & set(t.actors):
            raise Forbidden(_("您无权执行此操作"))

    _row, version, reason = ROUND.check(rnd, name, expected_version=expected_version, reason=reason,
                                     authorise=authorise)
    stages = rnd.scheme_version.stages or []
    changes: dict[str, Any] = {}
    then: list[Any] = []
    if name == "open_self" and not rnd.scheme_version.self_assessment:
        raise InvalidInput.on("transition", _("本方案不设自评申报环节"))
    if name == "close_scoring":
        then.append(lambda: compute(rnd))
        changes["stage"] = 0
    if name == "advance":
        if rnd.stage + 1 >= len(stages):
            raise InvalidInput.on("transition", _("已是最后一个审核环节，请进入公示"))
        _require_stage_done(rnd)
        changes["stage"] = rnd.stage + 1
    if name == "to_notice":
        if stages and rnd.stage < len(stages) - 1:
            raise InvalidInput.on("transition", _("尚有审核环节未完成"))
        if stages:
            _require_stage_done(rnd)
        then.append(lambda: compute(rnd))  # screened-out subjects lose their stars
        changes["notice_until"] = timezone.localdate() + dt.timedelta(days=rnd.scheme_version.objection_days)
    if name == "publish":
        if rnd.notice_until and timezone.localdate() <= rnd.notice_until:
            raise InvalidInput.on("transition", _("公示期至 {day}，期满后才能发布").format(day=rnd.notice_until))
        if Objection.objects.filter(subject__round=rnd, answered_at=None).exists():
            raise InvalidInput.on("transition", _("尚有异议未答复"))
        changes["published_at"] = timezone.now()
        then.append(lambda: _sanction(rnd))
    if name == "reopen":
        changes.update(stage=0, notice_until=None, computed_at=None)
        then.append(lambda: Assignment.objects.filter(round=rnd).update(submitted_at=None))
    return ROUND.apply(actor=actor, obj=rnd, name=name, version=version, changes=changes, reason=reason, then=then)


def _require_stage_done(rnd: Round) -> None:
    pending = rnd.subjects.filter(withdrawn=False, valid=True).exclude(reviews__stage=rnd.stage).count()
    if pending:
        raise InvalidInput.on("transition", _("本环节尚有 {n} 个对象未给出审核结论").format(n=pending))


@transaction.atomic
def review_record(*, actor: Any, subject: Subject, verdict: str, note: str = "") -> Review:
    """The current stage's verdict on one subject (街道筛评 for the subjects of the street, 区级总评 …). A subject
    that fails is screened out: it keeps its score and rank but gets no stars."""
    rnd = _fresh(subject.round_id)
    if rnd.state != S.REVIEW or _stage(rnd) is None:
        raise Conflict(_("本轮不在审核阶段"))
    if not reviewable(actor, subject, rnd):
        raise Forbidden(_("您不能审核该对象（须为本环节层级的审核人）"))
    if verdict not in Verdict.values:
        raise InvalidInput.on("verdict", _("请选择审核结论"))
    note = bounded_text(note, "note", 500)
    if verdict == Verdict.FAIL and not note.strip():
        raise InvalidInput.on("note", _("不通过须写明理由"))
    review, _created = Review.objects.update_or_create(
        subject=subject, stage=rnd.stage, defaults={"verdict": verdict, "note": note, "by": actor,
                                                    "at": timezone.now()})
    withdrawn = Review.objects.filter(subject=subject, verdict=Verdict.FAIL).exists()
    Subject.objects.filter(pk=subject.pk).update(withdrawn=withdrawn)
    audit.record(actor=actor, action="assessment.review", obj=rnd,
                 after={"subject": subject.pk, "stage": rnd.stage, "verdict": verdict}, reason=note)
    return review


@transaction.atomic
def objection_file(*, actor: Any, subject: Subject, text: str) -> Objection:
    if _fresh(subject.round_id).state != S.NOTICE:
        raise Conflict(_("只有公示期内可以提出异议"))
    if not getattr(actor, "pk", None):
        raise Forbidden(_("请先登录"))
    objection = Objection.objects.create(subject=subject, text=visible_text(text, "text", max_length=1000),
                                         by=actor)
    audit.record(actor=actor, action="assessment.objection.file", obj=subject.round, after={"subject": subject.pk})
    return objection


@transaction.atomic
def objection_answer(*, actor: Any, objection: Objection, answer: str) -> Objection:
    _require_manage(actor, objection.subject.round.area_path)
    if objection.answered_at is not None:
        raise Conflict(_("该异议已答复"))
    objection.answer = visible_text(answer, "answer", max_length=1000)
    objection.answered_at = timezone.now()
    objection.save(update_fields=["answer", "answered_at"])
    audit.record(actor=actor, action="assessment.objection.answer", obj=objection.subject.round,
                 after={"objection": objection.pk})
    return objection


# ------------------------------------------------------------------------------------------ results (E2)


def inputs(rnd: Round) -> tuple[list[outcomes.Input], list[outcomes.Group], outcomes.Rules]:
    """What :func:`outcomes.compute` needs, in a handful of queries whatever the number of subjects."""
    items, groups, rules, _subjects = _inputs(rnd)
    return items, groups, rules


def _inputs(rnd: Round) -> tuple[list[outcomes.Input], list[outcomes.Group], outcomes.Rules,
                                 list[computed.SubjectKeys]]:
    version = rnd.scheme_version
    groups = [outcomes.Group(g.pk, g.weight, g.kind == GroupKind.RESIDENTS) for g in version.groups.all()]
    leaves = selectors.period_leaves(version, rnd.period_key)
    subjects = computed.SubjectKeys.of_round(rnd)
    sheets: dict[int, dict[int, list[Decimal]]] = defaultdict(lambda: defaultdict(list))
    late: dict[int, int] = defaultdict(int)
    # Whether a sheet was submitted, not when: converting 20,000 timestamps to aware datetimes cost a tenth of a
    # second of a city-wide round.
    for subject_id, group_id, total, open_sheet in Assignment.objects.filter(round=rnd).values_list(
            "subject_id", "group_id", "total", ExpressionWrapper(Q(submitted_at=None), output_field=BooleanField())):
        if open_sheet:
            late[subject_id] += 1
        else:
            sheets[subject_id][group_id].append(total or Decimal(0))
    ratings: dict[int, dict[int, int]] = defaultdict(dict)
    from django.db.models import Count

    for subject_id, rating, n in SurveyAnswer.objects.filter(round=rnd).values_list("subject_id", "rating").annotate(
            n=Count("pk")).order_by():
        ratings[subject_id][rating] = n
    auto = [i for i in leaves if i.source != Source.MANUAL]
    needs_cases = any(i.source in computed.CASE_SOURCES for i in auto) or (
        any(r.get("min_satisfaction") not in (None, "") for r in version.stars)
        and not any(g.residents for g in groups))
    figs = computed.case_figures(rnd, subjects) if needs_cases else {}
    values = computed.compute_values(rnd, subjects, auto, figs) if auto else {}
    items = []
    for s in subjects:
        mine = values.get(s.pk, [])
        items.append(outcomes.Input(
            key=s.pk, sheets={g: list(v) for g, v in sheets[s.pk].items()}, late=late[s.pk],
            computed=sum((v.points for v in mine), Decimal(0)), ratings=ratings[s.pk],
            case_satisfaction=computed.satisfaction_of(figs.get(s.pk)), withdrawn=s.withdrawn))
    sanction = version.sanction or {}
    rules = outcomes.Rules(full_marks=full_marks(version), min_answers=version.min_answers, stars=version.stars,
                           band_basis=version.band_basis, bands=version.bands, honour_count=version.honour_count,
                           shame_count=version.shame_count, sanction_last=int(sanction.get("last_places", 0)))
    computed.store(rnd, values)
    return items, groups, rules, subjects


@dataclass(slots=True)
class _SubjectResult:
    """One subject's stored result, as :func:`bulk.update_rows` writes it (by primary key)."""

    FIELDS: ClassVar[tuple[str, ...]] = ("total", "satisfaction", "answers", "rank", "stars", "band", "listed",
                                         "complete", "valid", "group_scores", "notes", "awards")
    pk: int
    total: Decimal | None
    satisfaction: Decimal | None
    answers: int
    rank: int | None
    stars: int
    band: str
    listed: str
    complete: bool
    valid: bool
    group_scores: dict[str, str]
    notes: list[str]
    awards: list[str]


def compute(rnd: Round) -> list[outcomes.Result]:
    """Compute and store every subject's result (called by the round's steps)."""
    items, groups, rules, _subjects = _inputs(rnd)
    results = outcomes.compute(items, groups, rules)
    names = {g.pk: g.name for g in rnd.scheme_version.groups.all()}
    rows = {r.key: _SubjectResult(r.key, r.total, r.satisfaction, r.answers, r.rank, r.stars, r.band, r.listed,
                                  r.complete, r.valid, {names[g]: str(v) for g, v in r.group_scores.items()},
                                  r.notes, []) for r in results}
    for name, winners in _awards(rnd, results).items():
        for pk in winners:
            rows[pk].awards.append(name)
    bulk.update_rows(Subject, list(rows.values()), _SubjectResult.FIELDS)
    Round.objects.filter(pk=rnd.pk).update(computed_at=timezone.now())
    return results


def _awards(rnd: Round, results: list[outcomes.Result]) -> dict[str, list[int]]:
    """The winners of each award of the version (三最): the best valid, ranked subject on the award's indicator —
    a computed indicator's points, or the mean of the submitted sheets' points on a manual one — or on the total
    when the award names no indicator. Subjects tied on the best value share the award; an award nobody has a
    value for goes to nobody."""
    awards = rnd.scheme_version.awards or []
    if not awards:
        return {}
    eligible = {r.key: r for r in results if r.valid and r.rank is not None}
    by_code = {i.code: i for i in selectors.period_leaves(rnd.scheme_version, rnd.period_key)}
    out: dict[str, list[int]] = {}
    for award in awards:
        code = award.get("indicator") or ""
        values: dict[int, Decimal] = {}
        if not code:
            values = {k: r.total for k, r in eligible.items() if r.total is not None}
        elif code in by_code and by_code[code].source != Source.MANUAL:
            values = dict(ComputedValue.objects.filter(subject__round=rnd, indicator=by_code[code],
                                                       subject_id__in=eligible).values_list("subject_id", "points"))
        elif code in by_code:
            from django.db.models import Avg

            values = {k: v for k, v in Score.objects.filter(
                indicator=by_code[code], assignment__round=rnd, assignment__subject_id__in=eligible)
                .exclude(assignment__submitted_at=None).values_list("assignment__subject_id")
                .annotate(mean=Avg("points")).order_by() if v is not None}
        if not values:
            out[str(award["name"])] = []
            continue
        best = max(values.values())
        out[str(award["name"])] = sorted(k for k, v in values.items() if v == best)
    return out


def _sanction(rnd: Round) -> None:
    """Write the scheme's sanction into the credit files of the last places (units only)."""
    rule = rnd.scheme_version.sanction or {}
    last, days = int(rule.get("last_places", 0)), int(rule.get("bar_days", 0))
    if not last or not days:
        return
    if rule.get("annual_only") and not re.fullmatch(r"\d{4}", rnd.period_key):
        return  # 天长: only the year-end result bars; the quarterly rounds of the same scheme do not
    items, groups, rules = inputs(rnd)
    sanctioned = {r.key for r in outcomes.compute(items, groups, rules) if r.sanctioned}
    today = timezone.localdate()
    for s in rnd.subjects.filter(pk__in=sanctioned, unit__isnull=False).select_related("unit"):
        unit = s.unit
        assert unit is not None
        Sanction.objects.create(
            unit=unit, subject=s, kind=SanctionKind.BAR_NEW_PROJECTS, area_path=rnd.area_path,
            reason=_("{round} 排名末位（第{rank}名）").format(round=rnd.name, rank=s.rank),
            starts_on=today, ends_on=today + dt.timedelta(days=days))
        audit.record(actor=None, action="assessment.sanction", obj=unit, after={"round": rnd.pk, "days": days})


@transaction.atomic
def sanction_lift(*, actor: Any, sanction: Sanction, reason: str) -> Sanction:
    _require_manage(actor, sanction.area_path)
    reason = visible_text(reason, "reason", max_length=300)
    if Sanction.objects.filter(pk=sanction.pk, lifted_at=None).update(lifted_at=timezone.now()) != 1:
        raise Conflict(_("该惩戒已解除"))
    sanction.refresh_from_db()
    audit.record(actor=actor, action="assessment.sanction.lift", obj=sanction.unit, reason=reason)
    return sanction


def bar_on(unit_id: int | None, day: dt.date | None = None) -> Sanction | None:
    """The bar that keeps ``unit_id`` from new projects on ``day``, if any (co-building asks before assigning)."""
    if not unit_id:
        return None
    day = day or timezone.localdate()
    return Sanction.objects.filter(unit_id=unit_id, kind=SanctionKind.BAR_NEW_PROJECTS, lifted_at=None,
                                   starts_on__lte=day, ends_on__gte=day).order_by("-ends_on").first()


def barred_units(day: dt.date | None = None) -> dict[int, dt.date]:
    """Every barred unit with the last day of its bar (for the project forms)."""
    day = day or timezone.localdate()
    out: dict[int, dt.date] = {}
    for unit_id, ends in Sanction.objects.filter(kind=SanctionKind.BAR_NEW_PROJECTS, lifted_at=None,
                                                 starts_on__lte=day, ends_on__gte=day).values_list("unit_id",
                                                                                                   "ends_on"):
        out[unit_id] = max(ends, out.get(unit_id, ends))
    return out
