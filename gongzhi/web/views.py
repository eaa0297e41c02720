"""Server-rendered pages for the registry (组织体系) and the dashboard. Views are thin: parse, fetch through the
scope, call the module's actions or selectors, render."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.accounts.roles import Cap
from gongzhi.core import audit
from gongzhi.core.scope import get_scoped, scope_of, scoped
from gongzhi.registry import selectors
from gongzhi.registry.models import (
    Area,
    AreaKind,
    DualRegistration,
    GrassrootsGroup,
    GroupOutcome,
    MemberStatus,
    MemberUnit,
    OrganisationPost,
    OrgLevel,
    Pairing,
    PairingKind,
    PartyMember,
    PartyOrganisation,
    Person,
    Sector,
)
from gongzhi.registry.presenters import personal_numbers
from gongzhi.registry.services import MIN_MEMBERS_FOR_ORG

from .pages import bar_chart, boundary_svg, not_found_as_404, paginate, pie_chart


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


_not_found = not_found_as_404


def _area_filter(request: HttpRequest) -> Area | None:
    raw = request.GET.get("area", "")
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404
    return get_scoped(request.user, Area, int(raw))


# ---------------------------------------------------------------------------------------- dashboard


@login_required
def home(request: HttpRequest) -> HttpResponse:
    scope = scope_of(request.user)
    roots = list(selectors.area_roots(request.user))
    if not scope.has(Cap.VIEW_PEOPLE) or not roots:
        return render(request, "web/home_resident.html", {"roots": roots})
    wanted = request.GET.get("root", "")
    root = next((r for r in roots if str(r.pk) == wanted), roots[0])
    cov = selectors.coverage(request.user, root)
    children = selectors.coverage_by_child(request.user, root) if root.kind != AreaKind.BUILDING else []
    labels = [c.area.name for c in children]
    charts = {
        "coverage": bar_chart(_("党组织覆盖率（按下级区域）"), labels, [
            (_("小区党组织覆盖率"), [c.compound_rate or 0 for c in children]),
            (_("非公企业覆盖率"), [c.non_public_rate or 0 for c in children]),
            (_("社会组织覆盖率"), [c.social_org_rate or 0 for c in children]),
        ], unit="%"),
        "levels": pie_chart(_("党组织构成"), [(str(OrgLevel(k).label), v)
                                            for k, v in sorted(cov.party_orgs_by_level.items())]),
        "members": bar_chart(_("党员（按下级区域）"), labels, [
            (_("党员"), [c.party_members for c in children]),
            (_("流动党员"), [c.mobile_members for c in children]),
            (_("在职党员已双报到"), [c.in_service_registered for c in children]),
        ]),
        "groups": pie_chart(_("草根组织排查处置"), [(str(GroupOutcome(k).label), v)
                                              for k, v in sorted(cov.grassroots_by_outcome.items())]),
    }
    case_figures = None
    if scope.has(Cap.CASE_VIEW):
        from gongzhi.cases.selectors import figures

        today = timezone.localdate()
        case_figures = figures(request.user, root, today - dt.timedelta(days=365), today)
    from gongzhi.councils.selectors import overdue_councils

    overdue = overdue_councils(request.user, root, timezone.localdate())[:10]
    return render(request, "web/home.html", {"root": root, "roots": roots, "cov": cov, "charts": charts,
                                             "case_figures": case_figures, "overdue_councils": overdue})


# ---------------------------------------------------------------------------------------- area tree


@login_required
@_not_found
def areas(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:50]
    found = selectors.area_search(request.user, q, limit=50) if q else []
    roots = list(selectors.area_roots(request.user))
    scope = scope_of(request.user)
    return render(request, "web/areas.html", {"roots": roots, "q": q, "found": found, "perms_boundaries": (
        scope.has(Cap.EDIT_AREA_TREE) or scope.has(Cap.EDIT_REGISTRY))})


@login_required
@_not_found
def area_children(request: HttpRequest, pk: int) -> HttpResponse:
    area = selectors.area_get(request.user, pk)
    children = list(selectors.area_children(request.user, area)[:500])
    return render(request, "web/partials/tree_children.html", {"children": children})


@login_required
@_not_found
def area_detail(request: HttpRequest, pk: int) -> HttpResponse:
    from gongzhi.maps.selectors import bounds_json

    user = request.user
    area = selectors.area_get(user, pk)
    children = list(selectors.area_children(user, area)[:200])
    shapes: list[tuple[dict[str, Any], bool]] = []
    if area.boundary:
        shapes.append((area.boundary, True))
    shapes += [(c.boundary, False) for c in children if c.boundary]
    cov = selectors.coverage(user, area) if area.kind not in (AreaKind.BUILDING,) else None
    ancestors = selectors.area_ancestors(area)
    context = {
        "area": area,
        "ancestors": ancestors,
        "visible_ancestors": set(scoped(user, Area).filter(pk__in=[a.pk for a in ancestors])
                                 .values_list("pk", flat=True)),
        "children": children,
        "svg": boundary_svg(shapes),
        "map_bounds": bounds_json(area),
        "orgs": scoped(user, PartyOrganisation).filter(area=area).select_related("parent")[:50],
        "units": scoped(user, MemberUnit).filter(area=area)[:50],
        "posts": area.posts.filter(until__isnull=True).select_related("person")[:50]
        if scope_of(user).can(Cap.VIEW_PEOPLE, area_path=area.path) else [],
        "cov": cov,
        "can_edit": scope_of(user).can(Cap.EDIT_AREA_TREE, area_path=area.path),
        "can_pair": scope_of(user).can(Cap.EDIT_REGISTRY, area_path=area.path),
        "trail": audit.entries_for(area, limit=20) if scope_of(user).can(Cap.VIEW_AUDIT, area_path=area.path) else [],
    }
    if cov is not None and children and area.kind in (AreaKind.CITY, AreaKind.DISTRICT, AreaKind.STREET):
        by_child = selectors.coverage_by_child(user, area)
        names = [c.area.name for c in by_child]
        context["coverage_chart"] = bar_chart(_("小区党组织覆盖率"), names,
                                              [(_("覆盖率"), [c.compound_rate or 0 for c in by_child])], unit="%")
        low, high = cov.grid_norm
        context["norms_chart"] = bar_chart(
            _("配置标准（按下级区域）：网格{low}–{high}户，社区工作者每{n}户1人").format(
                low=low, high=high, n=cov.households_per_worker), names, [
                (_("户数超出标准的网格"), [c.grids_off_norm for c in by_child]),
                (_("社区工作者未达标的社区"), [c.communities_understaffed for c in by_child]),
                (_("社区工作者缺口（人）"), [c.community_workers_short for c in by_child]),
            ])
    return render(request, "web/area.html", context)


# ---------------------------------------------------------------------------------------- organisations, units


@login_required
@_not_found
def orgs(request: HttpRequest) -> HttpResponse:
    area = _area_filter(request)
    qs = scoped(request.user, PartyOrganisation).select_related("area", "parent", "unit")
    if area:
        qs = qs.filter(area__path__prefix=area.path)
    level, sector, q = request.GET.get("level", ""), request.GET.get("sector", ""), request.GET.get("q", "")[:50]
    if level in OrgLevel.values:
        qs = qs.filter(level=level)
    if sector in Sector.values:
        qs = qs.filter(sector=sector)
    if q:
        qs = qs.filter(name__contains=q)
    page = paginate(request, qs.order_by("area__path", "pk"))
    return render(request, "web/orgs.html", {"page": page, "area": area, "levels": OrgLevel.choices,
                                             "sectors": Sector.choices, "level": level, "sector": sector, "q": q})


@login_required
@_not_found
def org_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    org = get_scoped(user, PartyOrganisation.objects.select_related("area", "parent", "unit"), pk)
    sees_people = scope_of(user).can(Cap.VIEW_PEOPLE, area_path=org.area.path)
    members = scoped(user, PartyMember).filter(organisation=org)
    return render(request, "web/org.html", {
        "org": org,
        "children": scoped(user, PartyOrganisation).filter(parent=org).select_related("area").order_by("pk")[:100],
        "covered": org.covered_units.all()[:50] if org.level == OrgLevel.JOINT_BRANCH else [],
        "posts": scoped(user, OrganisationPost).filter(organisation=org, until__isnull=True)
        .select_related("person", "representing").order_by("body", "pk")[:100] if sees_people else [],
        "member_figures": members.aggregate(total=Count("pk"), mobile=Count("pk", filter=Q(is_mobile=True)),
                                            in_service=Count("pk", filter=Q(in_service=True)))
        if sees_people else None,
        "pairings": scoped(user, Pairing).filter(organisation=org).select_related("area")[:50],
        "can_edit_party": scope_of(user).can(Cap.EDIT_PARTY, area_path=org.area.path),
        "trail": audit.entries_for(org, limit=20) if scope_of(user).can(Cap.VIEW_AUDIT, area_path=org.area.path)
        else [],
    })


MEMBER_FLAGS = {
    "mobile": Q(is_mobile=True),
    "in_service": Q(in_service=True),
    "unregistered": Q(in_service=True, dual_registered=False),
    "home_study": Q(needs_home_study=True),
    "probationary": Q(status=MemberStatus.PROBATIONARY),
}


@login_required
@_not_found
def members(request: HttpRequest) -> HttpResponse:
    """党员: organisation relation, flow (流动党员), in-service members' 双报到, 送学上门."""
    area = _area_filter(request)
    qs = scoped(request.user, PartyMember).select_related("person__area", "organisation", "work_unit").annotate(
        dual_registered=Exists(DualRegistration.objects.filter(party_member=OuterRef("pk"))))
    if area:
        qs = qs.filter(person__area__path__prefix=area.path)
    flag, q = request.GET.get("flag", ""), request.GET.get("q", "").strip()[:50]
    if flag in MEMBER_FLAGS:
        qs = qs.filter(MEMBER_FLAGS[flag])
    if q:
        qs = qs.filter(person__name__contains=q)
    page = paginate(request, qs.order_by("person__area__path", "pk"))
    flags = [("mobile", _("流动党员")), ("in_service", _("在职党员")), ("unregistered", _("在职未双报到")),
             ("home_study", _("需送学上门")), ("probationary", _("预备党员"))]
    return render(request, "web/members.html", {"page": page, "area": area, "flag": flag, "flags": flags, "q": q,
                                                "can_edit_party": scope_of(request.user).has(Cap.EDIT_PARTY)})


@login_required
@_not_found
def units(request: HttpRequest) -> HttpResponse:
    area = _area_filter(request)
    qs = scoped(request.user, MemberUnit).select_related("area")
    if area:
        qs = qs.filter(area__path__prefix=area.path)
    sector, q = request.GET.get("sector", ""), request.GET.get("q", "")[:50]
    if sector in Sector.values:
        qs = qs.filter(sector=sector)
    if q:
        qs = qs.filter(Q(name__contains=q) | Q(credit_code__startswith=q.upper()))
    page = paginate(request, qs.order_by("name", "pk"))
    rows = [(u, personal_phone(request.user, u)) for u in page.items]
    return render(request, "web/units.html", {"page": page, "rows": rows, "area": area, "sectors": Sector.choices,
                                              "sector": sector, "q": q,
                                              "can_add": scope_of(request.user).has(Cap.EDIT_REGISTRY)})


def personal_phone(viewer: Any, unit: MemberUnit) -> str:
    from gongzhi.registry.presenters import phone_for

    return phone_for(viewer, unit.contact_phone, unit.area.path)


@login_required
@_not_found
def unit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    unit = get_scoped(request.user, MemberUnit.objects.select_related("area"), pk)
    return render(request, "web/unit.html", {
        "unit": unit, "phone": personal_phone(request.user, unit),
        "orgs": unit.party_orgs.all()[:20], "covering": unit.covering_orgs.all()[:20],
        "pairings": scoped(request.user, Pairing).filter(unit=unit).select_related("area")[:50],
        "posts": scoped(request.user, OrganisationPost).filter(representing=unit, until__isnull=True)
        .select_related("organisation", "person")[:50],
        "can_edit": scope_of(request.user).can(Cap.EDIT_REGISTRY, area_path=unit.area.path),
        "trail": audit.entries_for(unit, limit=20) if scope_of(request.user).can(
            Cap.VIEW_AUDIT, area_path=unit.area.path) else [],
    })


# ---------------------------------------------------------------------------------------- people


@login_required
@_not_found
def people(request: HttpRequest) -> HttpResponse:
    area = _area_filter(request)
    qs = scoped(request.user, Person).select_related("area")
    if area:
        qs = qs.filter(area__path__prefix=area.path)
    q = request.GET.get("q", "").strip()[:50]
    if q:
        qs = qs.filter(name__contains=q)
    page = paginate(request, qs.order_by("area__path", "pk"))
    rows = [(p, personal_numbers(request.user, p)) for p in page.items]
    return render(request, "web/people.html", {"page": page, "rows": rows, "area": area, "q": q,
                                               "can_add": scope_of(request.user).has(Cap.EDIT_PEOPLE)})


@login_required
@_not_found
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_scoped(request.user, Person.objects.select_related("area"), pk)
    member = PartyMember.objects.select_related("organisation__area", "work_unit").filter(person=person).first()
    scope = scope_of(request.user)
    posts = list(person.posts.select_related("area").order_by("until", "-since", "pk")[:20])
    return render(request, "web/person.html", {
        "person": person, "numbers": personal_numbers(request.user, person), "member": member,
        "registrations": member.registrations.select_related("community")[:10] if member else [],
        "can_edit_member": member is not None and scope.can(Cap.EDIT_PARTY, area_path=member.organisation.area.path),
        "can_register": member is not None and member.in_service and scope.has(Cap.EDIT_PARTY),
        "posts": [(p, p.until is None and scope.can(Cap.EDIT_PEOPLE, area_path=p.area.path)) for p in posts],
        "pairings": scoped(request.user, Pairing).filter(Q(person=person) | Q(target_person=person))
        .select_related("area")[:20],
        "can_edit": scope_of(request.user).can(Cap.EDIT_PEOPLE, area_path=person.area.path),
        "ancestors": selectors.area_ancestors(person.area),
        "trail": audit.entries_for(person, limit=20) if scope_of(request.user).can(
            Cap.VIEW_AUDIT, area_path=person.area.path) else [],
    })


# ---------------------------------------------------------------------------------------- pairings, groups


@login_required
@_not_found
def pairings(request: HttpRequest) -> HttpResponse:
    area = _area_filter(request) or next(iter(selectors.area_roots(request.user)), None)
    if area is None:
        raise Http404
    kind = request.GET.get("kind", "")
    qs = scoped(request.user, Pairing).filter(area__path__prefix=area.path).select_related(
        "person", "unit", "organisation", "area", "target_person")
    if kind in PairingKind.values:
        qs = qs.filter(kind=kind)
    page = paginate(request, qs.order_by("kind", "area__path", "pk"))
    figures = selectors.pairing_figures(request.user, area, timezone.localdate())
    chart = bar_chart(_("本季度市领导走访（东港：每季度至少1次）"), [v["area"] for v in figures.visits_due],
                      [(_("走访次数"), [v["visits"] for v in figures.visits_due])])
    return render(request, "web/pairings.html", {"page": page, "area": area, "kind": kind,
                                                 "kinds": PairingKind.choices, "figures": figures, "chart": chart,
                                                 "can_add": scope_of(request.user).has(Cap.EDIT_REGISTRY)})


@login_required
@_not_found
def groups(request: HttpRequest) -> HttpResponse:
    area = _area_filter(request)
    qs = scoped(request.user, GrassrootsGroup).select_related("area", "party_org", "instructor")
    if area:
        qs = qs.filter(area__path__prefix=area.path)
    outcome = request.GET.get("outcome", "")
    if outcome in GroupOutcome.values:
        qs = qs.filter(outcome=outcome)
    page = paginate(request, qs.order_by("area__path", "pk"))
    scope = scope_of(request.user)
    rows = [(g,
             g.outcome != GroupOutcome.ORG_FORMED and g.party_member_count >= MIN_MEMBERS_FOR_ORG
             and scope.can(Cap.EDIT_PARTY, area_path=g.area.path),
             g.outcome == GroupOutcome.PENDING and scope.can(Cap.EDIT_REGISTRY, area_path=g.area.path))
            for g in page.items]
    return render(request, "web/groups.html", {"page": page, "rows": rows, "area": area, "outcome": outcome,
                                               "outcomes": GroupOutcome.choices,
                                               "can_add": scope.has(Cap.EDIT_REGISTRY)})


# ---------------------------------------------------------------------------------------- Excel in and out



@login_required
@_not_found
def transfer(request: HttpRequest) -> HttpResponse:
    """Template downloads, imports and their 预检 with a row/column/reason report, and exports.

    A file up to GONGZHI_IMPORT_JOB_BYTES is imported at once; a bigger one (or any 预检 the user asks to run in the
    background) becomes a job: the page comes back at once and shows the job's progress (``?job=``) until its
    report is ready.
    """
    from django.conf import settings
    from django.shortcuts import redirect
    from django.urls import reverse

    from gongzhi.jobs import selectors as job_selectors
    from gongzhi.jobs import services as jobs
    from gongzhi.registry import excel

    if not scope_of(request.user).has(Cap.IMPORT):
        raise Http404
    report = None
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        upload = request.FILES.get("file")
        dry_run = request.POST.get("dry_run") == "1"
        if kind not in excel.SHEETS or upload is None:
            messages.error(request, _("请选择表格类型并上传 .xlsx 文件"))
        elif upload.size and upload.size > settings.GONGZHI_MAX_UPLOAD_BYTES:
            messages.error(request, _("文件不能超过10MB"))
        elif (upload.size or 0) > settings.GONGZHI_IMPORT_JOB_BYTES:
            job = jobs.import_start(actor=request.user, kind=kind, filename=upload.name or "", data=upload.read(),
                                    dry_run=dry_run)
            return redirect(f"{reverse('web:transfer')}?job={job.pk}")
        else:
            report = excel.import_workbook(actor=request.user, kind=kind, data=upload.read(), dry_run=dry_run)
            if report.ok and dry_run:
                messages.success(request, _("预检通过：将新建 {created} 行，更新 {updated} 行，{unchanged} 行无变化；"
                                            "未写入任何数据").format(created=report.created, updated=report.updated,
                                                                  unchanged=report.unchanged))
            elif report.ok:
                messages.success(request, _("导入成功：{n} 行").format(n=report.created))
    shown = status = None
    raw = request.GET.get("job", "")
    if raw.isdigit():
        shown = job_selectors.job_of(request.user, int(raw))  # someone else's job: 404
        status = job_selectors.status(shown)
    return render(request, "web/transfer.html", {"sheets": excel.SHEETS, "report": report, "job": shown,
                                                 "status": status,
                                                 "job_bytes": settings.GONGZHI_IMPORT_JOB_BYTES // 1024})


@login_required
@_not_found
def template_download(request: HttpRequest, kind: str) -> HttpResponse:
    from gongzhi.registry import excel

    if kind not in excel.SHEETS:
        raise Http404
    return _xlsx(excel.template_workbook(kind), _("{title}模板.xlsx").format(title=excel.SHEETS[kind].title))


@login_required
@_not_found
def export(request: HttpRequest, kind: str) -> HttpResponse:
    """Export what the list page shows (same filters), through the scope, masked. Up to GONGZHI_EXPORT_JOB_ROWS
    rows come back at once; more become a job whose page shows the progress and then offers the file."""
    from django.conf import settings
    from django.shortcuts import redirect

    from gongzhi.jobs import selectors as job_selectors
    from gongzhi.jobs import services as jobs
    from gongzhi.registry import excel

    if kind not in excel.SHEETS:
        raise Http404
    filters = {name: request.GET.get(name, "") for name in ("area", "q", "sector")}
    qs = job_selectors.export_queryset(request.user, kind, **filters)
    limit = settings.GONGZHI_EXPORT_JOB_ROWS
    if qs.order_by()[: limit + 1].count() > limit:
        job = jobs.export_start(actor=request.user, kind=kind, filters=filters)
        messages.info(request, _("超过 {n} 行的导出在后台生成，完成后可在此下载").format(n=limit))
        return redirect("jobs:detail", pk=job.pk)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return _xlsx(excel.export_workbook(viewer=request.user, kind=kind, queryset=qs),
                 f"{excel.SHEETS[kind].title}-{stamp}.xlsx")


def _xlsx(data: bytes, filename: str) -> HttpResponse:
    """An Excel download under its Chinese name (RFC 5987 ``filename*``, with an ASCII fallback)."""
    from gongzhi.jobs.files import attachment

    response = attachment(data, filename)
    assert isinstance(response, HttpResponse)
    return response


# ---------------------------------------------------------------------------------------- public contacts


COMMUNITY_DEPTH = 4  # 市 → 区 → 街道 → 社区


def contacts(request: HttpRequest) -> HttpResponse:
    """社区联系人, with no login: the community's party secretary, community workers and each grid's grid workers."""
    raw = request.GET.get("area", "")
    community = None
    if raw.isdigit():
        community = Area.objects.filter(pk=int(raw), kind=AreaKind.COMMUNITY).first()
        if community is None:
            raise Http404
    elif request.user.is_authenticated:
        # Her own community: the one her grant lies in (a grid's or compound's community is above it).
        home = selectors.area_roots(request.user).first()
        if home is not None and home.depth >= COMMUNITY_DEPTH:
            community = Area.objects.filter(path=home.path[:COMMUNITY_DEPTH * Area.steplen],
                                            kind=AreaKind.COMMUNITY).first()
    choices = list(Area.objects.filter(kind=AreaKind.COMMUNITY).order_by("path").values_list("pk", "name")[:2000])
    info = selectors.community_contacts(community) if community is not None else None
    return render(request, "web/contacts.html", {"community": community, "choices": choices, "info": info})
