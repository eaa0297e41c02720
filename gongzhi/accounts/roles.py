"""Roles and what each may do: the one table the scope mechanism reads (R1, R4).

A role is granted on a node of the area tree (its subtree is the scope) or on a member unit. Capabilities are plain
strings so every module can ask for its own without this file importing it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    RESIDENT = "resident", _("居民")
    GRID_WORKER = "grid_worker", _("网格员")
    COMMUNITY_WORKER = "community_worker", _("社区工作者")
    DISPATCHER = "dispatcher", _("指挥中心调度员")
    UNIT_HANDLER = "unit_handler", _("部门/单位经办人")
    PARTY_SECRETARY = "party_secretary", _("党组织书记")
    STREET_OFFICIAL = "street_official", _("街道干部")
    DISTRICT_OFFICIAL = "district_official", _("区级干部")
    CITY_OFFICIAL = "city_official", _("市级干部")
    ORG_ADMIN = "org_admin", _("组织部管理员")
    ACCOUNT_ADMIN = "account_admin", _("账号管理员")
    SYSADMIN = "sysadmin", _("系统管理员")


class Cap:
    """Capability names. Modules may define more; these are the registry's."""

    VIEW = "view"  # the structure of the area: nodes, organisations, units, pairings, figures
    VIEW_PEOPLE = "view_people"  # lists of people (residents always see themselves)
    EDIT_PEOPLE = "edit_people"
    EDIT_REGISTRY = "edit_registry"  # organisations, units, pairings, surveys
    EDIT_PARTY = "edit_party"  # party members, posts, double registration
    EDIT_AREA_TREE = "edit_area_tree"
    IMPORT = "import"
    REVEAL_PHONE = "reveal_phone"
    REVEAL_ID = "reveal_id"
    VIEW_AUDIT = "view_audit"
    MANAGE_ACCOUNTS = "manage_accounts"
    # The case pipeline (B): report, see the cases of an area, accept/dispatch/escalate, handle, verify, configure.
    CASE_REPORT = "case_report"
    CASE_VIEW = "case_view"
    CASE_DISPATCH = "case_dispatch"
    CASE_HANDLE = "case_handle"
    CASE_VERIFY = "case_verify"
    CASE_CONFIGURE = "case_configure"
    # Councils (C): create councils, run meetings, move agenda items (党组织书记, conveners, officials).
    COUNCIL_RUN = "council_run"
    # Co-building (D, G3): see the libraries, projects, deliveries and funds of an area; manage them (needs, projects,
    # acceptance, admission decisions, budgets); offer as a member unit (resources, claims, deliveries, bookings
    # taken by its service organisation, admission requests filed by a department).
    COBUILD_VIEW = "cobuild_view"
    COBUILD_MANAGE = "cobuild_manage"
    COBUILD_OFFER = "cobuild_offer"
    # Assessment (E1–E4, E6): see rounds and results of an area; build schemes and run rounds (the organisation
    # department, officials); give the verdicts of a review stage (街道筛评, 区级总评) for the subjects of one's area.
    # Raters need no capability: their assignments in a round are what they may score.
    ASSESS_VIEW = "assess_view"
    ASSESS_MANAGE = "assess_manage"
    ASSESS_REVIEW = "assess_review"
    # Credit points (E5): 信息员采集 (collect a resident's claim), 小区议事会评定 (decide), 社区审核 (approve), and
    # running the exchange store (items, stock, redemptions at the counter).
    POINTS_COLLECT = "points_collect"
    POINTS_DECIDE = "points_decide"
    POINTS_APPROVE = "points_approve"
    POINTS_STORE = "points_store"
    # Supervision (E6, 督查考核): a party organisation's secretary writes its monthly report (月述月评; the verdict is
    # ASSESS_REVIEW one level up); officials run cross-checks (交叉核查) between areas of one level; the responsible
    # area (or member unit) files the rectification of a finding (整改).
    SUPERVISION_REPORT = "supervision_report"
    SUPERVISION_CHECK = "supervision_check"
    SUPERVISION_RECTIFY = "supervision_rectify"
    # Services anywhere (F1–F2, 全市通办): see the applications and figures of an area; accept an application at a
    # window, for a resident of anywhere, and hand out the result (前台综合受理, 统一窗口出件; a grid worker applying
    # on a resident's behalf, 帮办代办); decide it as the deciding department (后台分类审批, unit-anchored); keep the
    # catalogue (items, materials, forms, time limits).
    SERVICE_VIEW = "service_view"
    SERVICE_ACCEPT = "service_accept"
    SERVICE_DECIDE = "service_decide"
    SERVICE_CATALOGUE = "service_catalogue"
    # Service sites (F3–F4): keep the sites of an area (党群服务中心, 红色驿站 …), their rooms and duty rota, and
    # take room bookings; residents and units book without a capability.
    SITE_MANAGE = "site_manage"


@dataclass(frozen=True)
class RolePolicy:
    role: Role
    anchor: str  # "area" or "unit"
    area_kinds: tuple[str, ...]  # the kinds of node the role may be granted on (empty: any)
    caps: frozenset[str]


_OFFICIAL = frozenset(
    {Cap.VIEW, Cap.VIEW_PEOPLE, Cap.EDIT_REGISTRY, Cap.IMPORT, Cap.VIEW_AUDIT, Cap.CASE_VIEW, Cap.CASE_DISPATCH,
     Cap.COUNCIL_RUN, Cap.COBUILD_VIEW, Cap.COBUILD_MANAGE, Cap.ASSESS_VIEW, Cap.ASSESS_MANAGE, Cap.ASSESS_REVIEW,
     Cap.POINTS_APPROVE, Cap.POINTS_STORE, Cap.SUPERVISION_CHECK, Cap.SERVICE_VIEW, Cap.SERVICE_ACCEPT,
     Cap.SITE_MANAGE}
)

POLICIES: dict[str, RolePolicy] = {
    p.role.value: p
    for p in (
        RolePolicy(Role.RESIDENT, "area", ("community", "grid", "compound"), frozenset({Cap.VIEW, Cap.CASE_REPORT})),
        RolePolicy(
            Role.GRID_WORKER,
            "area",
            ("grid", "compound"),
            frozenset(
                {
                    Cap.VIEW, Cap.VIEW_PEOPLE, Cap.EDIT_PEOPLE, Cap.REVEAL_PHONE,
                    Cap.CASE_REPORT, Cap.CASE_VIEW, Cap.CASE_HANDLE, Cap.CASE_VERIFY, Cap.COBUILD_VIEW,
                    Cap.POINTS_COLLECT, Cap.SERVICE_ACCEPT,
                }
            ),
        ),
        RolePolicy(
            Role.COMMUNITY_WORKER,
            "area",
            ("community",),
            frozenset(
                {
                    Cap.VIEW, Cap.VIEW_PEOPLE, Cap.EDIT_PEOPLE, Cap.EDIT_REGISTRY, Cap.IMPORT,
                    Cap.REVEAL_PHONE, Cap.REVEAL_ID, Cap.VIEW_AUDIT, Cap.COUNCIL_RUN,
                    Cap.CASE_REPORT, Cap.CASE_VIEW, Cap.CASE_DISPATCH, Cap.CASE_HANDLE, Cap.CASE_VERIFY,
                    Cap.COBUILD_VIEW, Cap.COBUILD_MANAGE, Cap.ASSESS_VIEW,
                    Cap.POINTS_COLLECT, Cap.POINTS_DECIDE, Cap.POINTS_APPROVE, Cap.POINTS_STORE,
                    Cap.SUPERVISION_RECTIFY, Cap.SERVICE_VIEW, Cap.SERVICE_ACCEPT, Cap.SITE_MANAGE,
                }
            ),
        ),
        RolePolicy(
            Role.DISPATCHER, "area", ("city", "district", "street"),
            frozenset({Cap.VIEW, Cap.VIEW_PEOPLE, Cap.REVEAL_PHONE, Cap.CASE_VIEW, Cap.CASE_DISPATCH}),
        ),
        RolePolicy(
            Role.UNIT_HANDLER, "unit", (),
            frozenset({Cap.VIEW, Cap.VIEW_PEOPLE, Cap.REVEAL_PHONE, Cap.CASE_VIEW, Cap.CASE_HANDLE, Cap.COBUILD_VIEW,
                       Cap.COBUILD_OFFER, Cap.SUPERVISION_RECTIFY, Cap.SERVICE_DECIDE}),
        ),
        RolePolicy(
            Role.PARTY_SECRETARY,
            "area",
            ("street", "community", "grid", "compound"),
            frozenset({Cap.VIEW, Cap.VIEW_PEOPLE, Cap.EDIT_PARTY, Cap.REVEAL_PHONE, Cap.VIEW_AUDIT, Cap.CASE_VIEW,
                       Cap.COUNCIL_RUN, Cap.COBUILD_VIEW, Cap.COBUILD_MANAGE, Cap.ASSESS_VIEW, Cap.POINTS_DECIDE,
                       Cap.SUPERVISION_REPORT, Cap.SUPERVISION_RECTIFY}),
        ),
        RolePolicy(Role.STREET_OFFICIAL, "area", ("street",), _OFFICIAL),
        RolePolicy(Role.DISTRICT_OFFICIAL, "area", ("district",), _OFFICIAL),
        RolePolicy(Role.CITY_OFFICIAL, "area", ("city",), _OFFICIAL),
        RolePolicy(
            Role.ORG_ADMIN,
            "area",
            ("city", "district"),
            (_OFFICIAL - {Cap.CASE_DISPATCH})
            | {Cap.EDIT_PARTY, Cap.REVEAL_PHONE, Cap.REVEAL_ID, Cap.SERVICE_CATALOGUE},
        ),
        # Manages staff accounts and their roles inside her node (a street's administrator: only her street).
        RolePolicy(
            Role.ACCOUNT_ADMIN, "area", ("city", "district", "street", "community"),
            frozenset({Cap.VIEW, Cap.VIEW_PEOPLE, Cap.VIEW_AUDIT, Cap.MANAGE_ACCOUNTS}),
        ),
        RolePolicy(
            Role.SYSADMIN,
            "area",
            ("city",),
            _OFFICIAL | {Cap.EDIT_PEOPLE, Cap.EDIT_PARTY, Cap.EDIT_AREA_TREE, Cap.MANAGE_ACCOUNTS, Cap.CASE_CONFIGURE,
                         Cap.SERVICE_CATALOGUE},
        ),
    )
}


def policy(role: str) -> RolePolicy:
    return POLICIES[role]
