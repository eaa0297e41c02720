"""Create/edit pages for the registry: parse the form → fetch through the scope → call ``registry.services`` →
redirect, or show the service's errors next to the fields (nothing is written on error: the services are atomic)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from gongzhi.accounts.roles import Cap
from gongzhi.core.scope import get_scoped, scope_of, scoped
from gongzhi.registry import services as registry
from gongzhi.registry.models import (
    CHILD_KINDS,
    Area,
    AreaKind,
    CommitmentItem,
    MemberUnit,
    Pairing,
    PartyOrganisation,
    Person,
)
from gongzhi.registry.presenters import personal_numbers, phone_for
from gongzhi.web.pages import attempt as _attempt
from gongzhi.web.pages import need as _need

from .forms import (
    KEEP,
    AreaForm,
    CommitmentForm,
    FulfilForm,
    PairingForm,
    PersonForm,
    UnitForm,
    VisitForm,
    area_label,
    lookup_url,
    set_choices,
)
from .pages import not_found_as_404

T = TypeVar("T")
CHOICE_LIMIT = 500




def _area_choices(user: Any, cap: str, kinds: Sequence[str]) -> list[tuple[int, str]]:
    areas = list(scoped(user, Area, cap=cap).filter(kind__in=kinds).order_by("path")[:CHOICE_LIMIT])
    parent_paths = {a.path[: -Area.steplen] for a in areas if a.kind in (AreaKind.BUILDING, AreaKind.GRID,
                                                                          AreaKind.COMPOUND)}
    parents = dict(Area.objects.filter(path__in=parent_paths).values_list("path", "name"))
    return [(a.pk, area_label(a, parents)) for a in areas]


def _render_form(request: HttpRequest, form: forms.Form, title: str, back: str, **extra: Any) -> HttpResponse:
    return render(request, "web/form.html", {"form": form, "title": title, "back": back, **extra})


# ---------------------------------------------------------------------------------------- areas


def _boundary(form: AreaForm) -> tuple[bool, dict[str, Any] | None]:
    raw = form.cleaned_data.get("boundary") or ""
    if not raw.strip():
        return True, None
    try:
        value = json.loads(raw)
    except ValueError:
        form.add_error("boundary", _("边界须为合法的 JSON"))
        return False, None
    return True, value


@login_required
@not_found_as_404
def area_new(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.EDIT_AREA_TREE)
    raw = request.GET.get("parent", "")
    if not raw.isdigit():
        raise Http404
    parent = get_scoped(request.user, Area, int(raw), cap=Cap.EDIT_AREA_TREE)
    form = AreaForm(request.POST or None, initial={"kind": next(iter(CHILD_KINDS.get(parent.kind, ())), "")})
    form.fields["kind"].choices = [(k, label) for k, label in form.fields["kind"].choices  # type: ignore[attr-defined]
                                   if k in CHILD_KINDS.get(parent.kind, ())]
    if request.method == "POST" and form.is_valid():
        ok, boundary = _boundary(form)
        d = form.cleaned_data
        area = _attempt(form, lambda: registry.area_create(
            actor=request.user, parent=parent, name=d["name"], code=d["code"], kind=d["kind"],
            households=d["households"] or 0, population=d["population"] or 0, boundary=boundary,
            reason=d["reason"])) if ok else None
        if area is not None:
            messages.success(request, _("已新增区域：{name}").format(name=area.name))
            return redirect("web:area", pk=area.pk)
    return _render_form(request, form, _("在“{parent}”下新增区域").format(parent=parent.name), "web:areas")


@login_required
@not_found_as_404
def area_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request, Cap.EDIT_AREA_TREE)
    area = get_scoped(request.user, Area, pk, cap=Cap.EDIT_AREA_TREE)
    initial = {"name": area.name, "code": area.code, "kind": area.kind, "households": area.households,
               "population": area.population, "version": area.version,
               "boundary": json.dumps(area.boundary, ensure_ascii=False) if area.boundary else ""}
    form = AreaForm(request.POST or None, initial=initial)
    form.fields["kind"].disabled = True
    if request.method == "POST" and form.is_valid():
        ok, boundary = _boundary(form)
        d = form.cleaned_data
        changes = {"name": d["name"], "code": d["code"], "households": d["households"] or 0,
                   "population": d["population"] or 0, "boundary": boundary}
        if ok and _attempt(form, lambda: registry.area_update(actor=request.user, area=area, changes=changes,
                                                               reason=d["reason"],
                                                               expected_version=d["version"])) is not None:
            messages.success(request, _("已保存"))
            return redirect("web:area", pk=area.pk)
    return _render_form(request, form, _("编辑区域：{name}").format(name=area.name), "web:areas")


# ---------------------------------------------------------------------------------------- units

UNIT_AREA_KINDS = [AreaKind.CITY, AreaKind.DISTRICT, AreaKind.STREET, AreaKind.COMMUNITY]


@login_required
@not_found_as_404
def unit_new(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.EDIT_REGISTRY)
    form = UnitForm(request.POST or None)
    del form.fields["reason"]
    set_choices(form.fields["area"], _area_choices(request.user, Cap.EDIT_REGISTRY, UNIT_AREA_KINDS),
                lookup=lookup_url("areas", Cap.EDIT_REGISTRY, UNIT_AREA_KINDS))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data

        def create() -> MemberUnit:
            area = get_scoped(request.user, Area, d["area"], cap=Cap.EDIT_REGISTRY)
            return registry.unit_create(actor=request.user, area=area, name=d["name"], credit_code=d["credit_code"],
                                        sector=d["sector"], address=d["address"], contact_name=d["contact_name"],
                                        contact_phone=d["contact_phone"], staff_count=d["staff_count"] or 0)

        unit = _attempt(form, create)
        if unit is not None:
            messages.success(request, _("已登记驻区单位：{name}").format(name=unit.name))
            return redirect("web:unit", pk=unit.pk)
    return _render_form(request, form, _("登记驻区单位"), "web:units")


@login_required
@not_found_as_404
def unit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request, Cap.EDIT_REGISTRY)
    unit = get_scoped(request.user, MemberUnit.objects.select_related("area"), pk, cap=Cap.EDIT_REGISTRY)
    form = UnitForm(request.POST or None, initial={
        "name": unit.name, "credit_code": unit.credit_code, "sector": unit.sector, "area": unit.area_id,
        "address": unit.address, "contact_name": unit.contact_name, "staff_count": unit.staff_count,
        "version": unit.version})
    form.fields["contact_phone"].help_text = KEEP  # the stored number is not put back on screen unmasked
    form.fields["contact_phone"].widget.attrs["placeholder"] = phone_for(request.user, unit.contact_phone,
                                                                         unit.area.path)
    set_choices(form.fields["area"], _area_choices(request.user, Cap.EDIT_REGISTRY, UNIT_AREA_KINDS),
                lookup=lookup_url("areas", Cap.EDIT_REGISTRY, UNIT_AREA_KINDS))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data

        def update() -> MemberUnit:
            changes: dict[str, Any] = {k: d[k] for k in ("name", "credit_code", "sector", "address", "contact_name")}
            changes["staff_count"] = d["staff_count"] or 0
            if d["contact_phone"]:
                changes["contact_phone"] = d["contact_phone"]
            if d["area"] != unit.area_id:
                changes["area"] = get_scoped(request.user, Area, d["area"], cap=Cap.EDIT_REGISTRY)
            return registry.unit_update(actor=request.user, unit=unit, changes=changes, reason=d["reason"],
                                        expected_version=d["version"])

        if _attempt(form, update) is not None:
            messages.success(request, _("已保存"))
            return redirect("web:unit", pk=unit.pk)
    return _render_form(request, form, _("编辑驻区单位：{name}").format(name=unit.name), "web:units")


# ---------------------------------------------------------------------------------------- people

PERSON_AREA_KINDS = [AreaKind.BUILDING, AreaKind.COMPOUND]


@login_required
@not_found_as_404
def person_new(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.EDIT_PEOPLE)
    form = PersonForm(request.POST or None)
    del form.fields["reason"]
    set_choices(form.fields["area"], _area_choices(request.user, Cap.EDIT_PEOPLE, PERSON_AREA_KINDS),
                lookup=lookup_url("areas", Cap.EDIT_PEOPLE, PERSON_AREA_KINDS))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data

        def create() -> Person:
            area = get_scoped(request.user, Area, d["area"], cap=Cap.EDIT_PEOPLE)
            return registry.person_create(actor=request.user, area=area, name=d["name"], phone=d["phone"],
                                          id_number=d["id_number"] or None, is_vulnerable=d["is_vulnerable"])

        person = _attempt(form, create)
        if person is not None:
            messages.success(request, _("已登记：{name}").format(name=person.name))
            return redirect("web:person", pk=person.pk)
    return _render_form(request, form, _("登记人员"), "web:people")


@login_required
@not_found_as_404
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _need(request, Cap.EDIT_PEOPLE)
    person = get_scoped(request.user, Person.objects.select_related("area"), pk, cap=Cap.EDIT_PEOPLE)
    numbers = personal_numbers(request.user, person)
    form = PersonForm(request.POST or None, initial={"name": person.name, "area": person.area_id,
                                                     "is_vulnerable": person.is_vulnerable,
                                                     "version": person.version})
    # Numbers are never put back into a form: the field shows what the viewer may see and is left blank to keep.
    for field in ("phone", "id_number"):
        form.fields[field].help_text = KEEP
        form.fields[field].widget.attrs["placeholder"] = numbers.get(field) or ""
    set_choices(form.fields["area"], _area_choices(request.user, Cap.EDIT_PEOPLE, PERSON_AREA_KINDS),
                lookup=lookup_url("areas", Cap.EDIT_PEOPLE, PERSON_AREA_KINDS))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data

        def update() -> Person:
            changes: dict[str, Any] = {"name": d["name"], "is_vulnerable": d["is_vulnerable"]}
            for field in ("phone", "id_number"):
                if d[field]:
                    changes[field] = d[field]
            if d["area"] != person.area_id:
                changes["area"] = get_scoped(request.user, Area, d["area"], cap=Cap.EDIT_PEOPLE)
            return registry.person_update(actor=request.user, person=person, changes=changes, reason=d["reason"],
                                          expected_version=d["version"])

        if _attempt(form, update) is not None:
            messages.success(request, _("已保存"))
            return redirect("web:person", pk=person.pk)
    return _render_form(request, form, _("编辑人员：{name}").format(name=person.name), "web:people")


# ---------------------------------------------------------------------------------------- pairings

PAIRING_AREA_KINDS = [AreaKind.COMMUNITY, AreaKind.GRID, AreaKind.COMPOUND, AreaKind.BUILDING]


def _pairing_choices(form: PairingForm, user: Any) -> None:
    people = scoped(user, Person).filter(Q(party_member__isnull=False) | Q(posts__isnull=False)).distinct()
    set_choices(form.fields["person"], [(p.pk, f"{p.name}（{p.area.name}）") for p in
                                        people.select_related("area").order_by("name")[:CHOICE_LIMIT]], "—",
                lookup=lookup_url("people", Cap.VIEW_PEOPLE))
    set_choices(form.fields["unit"], list(scoped(user, MemberUnit).order_by("name")
                                          .values_list("pk", "name")[:CHOICE_LIMIT]), "—",
                lookup=lookup_url("units", Cap.VIEW))
    set_choices(form.fields["organisation"], list(scoped(user, PartyOrganisation).order_by("name")
                                                  .values_list("pk", "name")[:CHOICE_LIMIT]), "—",
                lookup=lookup_url("organisations", Cap.VIEW))
    set_choices(form.fields["area"], _area_choices(user, Cap.EDIT_REGISTRY, PAIRING_AREA_KINDS), "—",
                lookup=lookup_url("areas", Cap.EDIT_REGISTRY, PAIRING_AREA_KINDS))
    set_choices(form.fields["target_person"],
                [(p.pk, f"{p.name}（{p.area.name}）") for p in scoped(user, Person).filter(is_vulnerable=True)
                 .select_related("area").order_by("name")[:CHOICE_LIMIT]], "—")


@login_required
@not_found_as_404
def pairing_new(request: HttpRequest) -> HttpResponse:
    _need(request, Cap.EDIT_REGISTRY)
    initial: dict[str, Any] = {"started_on": timezone.localdate()}
    if request.GET.get("area", "").isdigit():
        initial["area"] = get_scoped(request.user, Area, int(request.GET["area"]), cap=Cap.EDIT_REGISTRY).pk
    form = PairingForm(request.POST or None, initial=initial)
    _pairing_choices(form, request.user)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data

        def create() -> Pairing:
            def pick(model: Any, key: str) -> Any:
                return get_scoped(request.user, model, d[key]) if d[key] else None

            return registry.pairing_create(
                actor=request.user, kind=d["kind"], started_on=d["started_on"],
                area=get_scoped(request.user, Area, d["area"], cap=Cap.EDIT_REGISTRY) if d["area"] else None,
                person=pick(Person, "person"), unit=pick(MemberUnit, "unit"),
                organisation=pick(PartyOrganisation, "organisation"), target_person=pick(Person, "target_person"))

        pairing = _attempt(form, create)
        if pairing is not None:
            messages.success(request, _("已建立结对"))
            return redirect("web:pairing", pk=pairing.pk)
    return _render_form(request, form, _("新建结对"), "web:pairings")


def pairing_page(request: HttpRequest, pairing: Pairing, **forms_: Any) -> HttpResponse:
    """The pairing's page with its action forms (a failed form comes back with its errors)."""
    from gongzhi.core import audit

    can_edit = scope_of(request.user).can(Cap.EDIT_REGISTRY, area_path=pairing.area.path)
    commitments = list(pairing.commitments.prefetch_related("items").order_by("signed_on", "pk"))
    failed_item = forms_.pop("item", None)
    item_forms = {}
    if can_edit:
        today = timezone.localdate()
        for c in commitments:
            for i in c.items.all():
                if not i.fulfilled_on:
                    item_forms[i.pk] = failed_item[1] if failed_item and failed_item[0] == i.pk else FulfilForm(
                        initial={"fulfilled_on": today}, prefix=f"item{i.pk}")
    target = personal_numbers(request.user, pairing.target_person) if pairing.target_person else None
    return render(request, "web/pairing.html", {
        "pairing": pairing, "commitments": commitments, "item_forms": item_forms, "can_edit": can_edit,
        "target_numbers": target,
        "visits": pairing.visits.order_by("-visited_on")[:50],
        "visit_form": forms_.get("visit") or VisitForm(initial={"visited_on": timezone.localdate()}),
        "commitment_form": forms_.get("commitment") or CommitmentForm(initial={"signed_on": timezone.localdate()}),
        "trail": audit.entries_for(pairing, limit=20) if scope_of(request.user).can(
            Cap.VIEW_AUDIT, area_path=pairing.area.path) else [],
    })


def _pairing(request: HttpRequest, pk: int) -> Pairing:
    return get_scoped(request.user, Pairing.objects.select_related(
        "person", "unit", "organisation", "area", "target_person__area"), pk)


@login_required
@not_found_as_404
def pairing_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return pairing_page(request, _pairing(request, pk))


@require_POST
@login_required
@not_found_as_404
def visit_new(request: HttpRequest, pk: int) -> HttpResponse:
    pairing = _pairing(request, pk)
    form = VisitForm(request.POST)
    if form.is_valid() and _attempt(form, lambda: registry.visit_record(
            actor=request.user, pairing=pairing, visited_on=form.cleaned_data["visited_on"],
            note=form.cleaned_data["note"])) is not None:
        messages.success(request, _("已记录走访"))
        return redirect("web:pairing", pk=pairing.pk)
    return pairing_page(request, pairing, visit=form)


@require_POST
@login_required
@not_found_as_404
def commitment_new(request: HttpRequest, pk: int) -> HttpResponse:
    pairing = _pairing(request, pk)
    form = CommitmentForm(request.POST)
    if form.is_valid() and _attempt(form, lambda: registry.commitment_create(
            actor=request.user, pairing=pairing, title=form.cleaned_data["title"],
            signed_on=form.cleaned_data["signed_on"], items=form.item_list())) is not None:
        messages.success(request, _("已登记承诺书"))
        return redirect("web:pairing", pk=pairing.pk)
    return pairing_page(request, pairing, commitment=form)


@require_POST
@login_required
@not_found_as_404
def item_fulfil(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    pairing = _pairing(request, pk)
    item = get_scoped(request.user, CommitmentItem.objects.select_related("commitment__pairing__area")
                      .filter(commitment__pairing=pairing), item_pk)
    form = FulfilForm(request.POST, prefix=f"item{item.pk}")
    if form.is_valid() and _attempt(form, lambda: registry.commitment_item_fulfil(
            actor=request.user, item=item, fulfilled_on=form.cleaned_data["fulfilled_on"],
            evidence=form.cleaned_data["evidence"])) is not None:
        messages.success(request, _("已登记兑现情况"))
        return redirect("web:pairing", pk=pairing.pk)
    return pairing_page(request, pairing, item=(item.pk, form))


# ---------------------------------------------------------------------------------------- boundaries (一张图)


class BoundaryImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("边界文件（GeoJSON，或 Shapefile 的 .zip：含 .shp/.shx/.dbf，可带 .prj/.cpg）"))
    crs = forms.ChoiceField(label=gettext_lazy("坐标系（文件带 .prj 时以 .prj 为准）"))
    code_field = forms.CharField(label=gettext_lazy("编码字段（留空自动识别 code、编码、区划代码…）"), max_length=40,
                                 required=False)
    name_field = forms.CharField(label=gettext_lazy("名称字段（留空自动识别 name、名称…）"), max_length=40,
                                 required=False)
    dry_run = forms.BooleanField(label=gettext_lazy("只预检，不写入"), required=False, initial=True)


@login_required
@not_found_as_404
def boundaries_import(request: HttpRequest) -> HttpResponse:
    """Boundaries for many areas at once, matched by code: the city's GIS export of its grids or communities."""
    from django.conf import settings

    from gongzhi.registry.geo_io import SUPPORTED_CRS

    if not (scope_of(request.user).has(Cap.EDIT_AREA_TREE) or scope_of(request.user).has(Cap.EDIT_REGISTRY)):
        raise Http404
    form = BoundaryImportForm(request.POST or None, request.FILES or None,
                              initial={"crs": getattr(settings, "GONGZHI_MAP_CRS", "WGS84")})
    form.fields["crs"].choices = list(SUPPORTED_CRS.items())  # type: ignore[attr-defined]
    result = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        upload = d["file"]
        result = _attempt(form, lambda: registry.boundaries_import(
            actor=request.user, data=upload.read(), filename=upload.name, crs=d["crs"],
            code_field=d["code_field"] or None, name_field=d["name_field"] or None, dry_run=d["dry_run"]))
        if result is not None and not result.dry_run:
            messages.success(request, _("已导入 {n} 个区域的边界").format(n=len(result.updated)))
    return render(request, "web/boundaries_import.html", {"form": form, "result": result})
