"""Services anywhere (issue 13, F1–F2): the catalogue as data, an application accepted at any window for any resident
(通办), 待补正 with the clock stopped, the department's decision, 出件, 好差评 with a rectification, 帮办代办, and
the same through the API and the pages."""

from __future__ import annotations

import base64
import datetime as dt
from io import BytesIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from gongzhi.accounts import services as accounts
from gongzhi.core import workdays
from gongzhi.core.audit import AuditEntry
from gongzhi.core.errors import Conflict, Forbidden, InvalidInput
from gongzhi.core.validators import credit_code_check_char
from gongzhi.govservice import excel, services
from gongzhi.govservice.models import Application, Rectification, ServiceItem
from gongzhi.govservice.workflow import ApplicationState
from gongzhi.registry import services as registry
from gongzhi.registry.models import Sector
from tests.cast import Cast

TZ = workdays.TZ
A = ApplicationState


def _code(body: str) -> str:
    return body + credit_code_check_char(body)


def _png() -> bytes:
    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def world(cast: Cast) -> dict[str, Any]:
    return build_world(cast)


def build_world(cast: Cast) -> dict[str, Any]:
    """市民政局 deciding 高龄津贴 (with its handler ``minzheng``) and 李秀兰, a 港北社区 resident (``lixl``)."""
    unit = registry.unit_create(actor=None, area=cast.city, name="市民政局", credit_code=_code("11350100M00020000"),
                                sector=Sector.ORGAN)
    handler = accounts.user_create(actor=None, username="minzheng", password=cast.password)
    accounts.grant_role(actor=None, user=handler, role="unit_handler", unit=unit)
    item = services.item_save(actor=cast.olga, code="T-001", materials=[
        ("居民身份证", True, True), ("户口簿", True, True), ("照片", False, False)], data={
        "name": "高龄津贴申领", "department": unit.pk, "time_limit_days": 3, "previous_time_limit_days": 7,
        "form_fields": [{"name": "bank_card", "label": "社保卡号", "type": "text", "required": True},
                        {"name": "live_alone", "label": "是否独居", "type": "choice", "required": True,
                         "choices": ["是", "否"]}]})
    # 港北社区 resident; the 碧海社区 clerk (alice) serves her (通办)
    resident_user = accounts.user_create(actor=None, username="lixl", password=cast.password)
    accounts.grant_role(actor=None, user=resident_user, role="resident", area=cast.community2)
    compound = registry.area_create(actor=None, parent=cast.grid3, name="港北花园", code="99010100100200101",
                                    kind="compound", households=200)
    person = registry.person_create(actor=None, area=compound, name="李秀兰", birth_year=1940,
                                    id_number="110105194001010018", user=resident_user)
    return {"unit": unit, "handler": handler, "item": item, "resident": resident_user, "person": person}


def _materials(item: ServiceItem) -> dict[str, int]:
    return {m.name: m.pk for m in item.materials.all()}


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=TZ)


FORM = {"bank_card": "6217000012345678", "live_alone": "是"}


def test_a_window_accepts_for_a_resident_of_another_community_and_the_clock_stops_for_a_missing_material(
        cast: Cast, world: dict[str, Any]) -> None:
    item, person = world["item"], world["person"]
    m = _materials(item)
    # Thu 2026-09-24; Fri 25 is 中秋, 1–7 Oct 国庆 (Sat 10 Oct a make-up working day)
    app = services.application_create(actor=cast.alice, item=item, applicant=person, form_data=FORM,
                                      provided=[m["居民身份证"]], now=at("2026-09-24"))
    assert app.state == A.AWAITING and app.tongban and app.area_path == cast.community2.path
    assert app.window_path == cast.community.path and app.missing == ["户口簿"]  # the optional photo is not asked
    assert app.due_at == at("2026-09-30", 18)  # 3 working days: Mon 28, Tue 29, Wed 30
    # the resident adds it from her phone a week later, across the holiday: stopped Fri 25, Mon 28 … Fri 10-09
    app = services.material_provide(actor=world["resident"], app=app, material_id=app.materials.get(name="户口簿").pk,
                                    file=("hukou.png", _png()), now=at("2026-10-09"))
    # stopped on 28, 29, 30 Sept, 8 and 9 Oct: the deadline moves 5 working days on (8, 9, Sat 10, 12, 13 Oct)
    assert app.state == A.PROCESSING and app.paused_days == 5 and app.missing == []
    assert app.due_at == at("2026-10-13", 18)
    with pytest.raises(Forbidden):
        services.application_step(actor=cast.alice, app=app, step="approve")  # a window does not decide
    app = services.application_step(actor=world["handler"], app=app, step="approve", now=at("2026-10-12"))
    assert app.state == A.DECIDED and app.approved and app.on_time
    assert app.working_days == 2  # 28 Sept … 12 Oct is 7 working days, 5 of them stopped
    app = services.application_step(actor=cast.alice, app=app, step="issue", method="collected", now=at("2026-10-13"))
    assert app.state == A.ISSUED
    with pytest.raises(InvalidInput) as bad:
        services.application_step(actor=world["resident"], app=app, step="rate", rating=2)
    assert "reason" in bad.value.fields
    app = services.application_step(actor=world["resident"], app=app, step="rate", rating=2, reason="等待时间太长")
    rect = Rectification.objects.get(application=app)
    assert rect.state == "open" and rect.department_id == world["unit"].pk
    with pytest.raises(Forbidden):
        services.rectification_answer(actor=cast.alice, rectification=rect, answer="改进")
    rect = services.rectification_answer(actor=world["handler"], rectification=rect, answer="增加窗口人员，缩短等候")
    assert rect.state == "answered"
    actions = list(AuditEntry.objects.filter(object_id=str(app.pk), object_type__endswith="application")
                   .values_list("action", flat=True))
    assert {"govservice.application.create", "govservice.application.accept_awaiting",
            "govservice.application.supplement", "govservice.application.approve", "govservice.application.issue",
            "govservice.application.rate"} <= set(actions)


def test_the_stopped_clock_moves_the_deadline_by_the_working_days_it_stood_still(
        cast: Cast, world: dict[str, Any]) -> None:
    item, person = world["item"], world["person"]
    m = _materials(item)
    app = services.application_create(actor=cast.alice, item=item, applicant=person, form_data=FORM,
                                      provided=[m["居民身份证"], m["户口簿"]], now=at("2026-09-28"))
    assert app.state == A.PROCESSING and app.due_at == at("2026-10-08", 18)  # Tue 29, Wed 30, Thu 8 Oct
    app = services.application_step(actor=world["handler"], app=app, step="request_materials",
                                    missing=[app.materials.get(name="户口簿").pk], reason="户口簿页不清晰",
                                    now=at("2026-09-29"))
    assert app.state == A.AWAITING and app.missing == ["户口簿"]
    assert not app.is_overdue(at("2026-10-20"))  # the clock is stopped
    app = services.material_provide(actor=cast.alice, app=app, material_id=app.materials.get(name="户口簿").pk,
                                    original_seen=True, now=at("2026-10-09"))
    # stopped after Tue 29 Sept up to Fri 9 Oct: 30 Sept, 8 and 9 Oct (1–7 Oct the holiday)
    assert workdays.workdays_between(dt.date(2026, 9, 29), dt.date(2026, 10, 9)) == 3
    assert app.paused_days == 3 and app.due_at == at("2026-10-12", 18)  # 8 Oct + 9, Sat 10, Mon 12
    app = services.application_step(actor=world["handler"], app=app, step="refuse", reason="年龄不符",
                                    now=at("2026-10-12", 17))
    assert app.approved is False and app.on_time and app.working_days == 3  # 6 working days, 3 stopped
    assert app.is_overdue(at("2026-10-30")) is False  # decided on time stays on time


def test_helping_at_the_door_needs_the_residents_consent_and_records_who_applied(
        cast: Cast, world: dict[str, Any]) -> None:
    item, person = world["item"], world["person"]
    m = _materials(item)
    with pytest.raises(InvalidInput) as bad:
        services.application_create(actor=cast.gina, item=item, applicant=person, form_data=FORM,
                                    provided=list(m.values()), on_behalf=True)
    assert "consent" in bad.value.fields
    app = services.application_create(actor=cast.gina, item=item, applicant=person, form_data=FORM,
                                      provided=list(m.values()), on_behalf=True, consent="in_person",
                                      consent_note="本人行动不便，上门代办")
    assert app.agent_id == cast.gina.pk and app.consent == "in_person" and app.state == A.PROCESSING
    assert app.window_path == cast.grid1.path


def test_form_data_and_materials_are_checked_and_nothing_is_half_written(cast: Cast, world: dict[str, Any]) -> None:
    item, person = world["item"], world["person"]
    before = Application.objects.count()
    with pytest.raises(InvalidInput) as bad:
        services.application_create(actor=cast.alice, item=item, applicant=person,
                                    form_data={"bank_card": "x", "live_alone": "也许"})
    assert "form_data.live_alone" in bad.value.fields
    with pytest.raises(InvalidInput) as bad:
        services.application_create(actor=cast.alice, item=item, applicant=person, form_data=FORM,
                                    files={_materials(item)["户口簿"]: ("x.png", b"\x89PNG\r\n\x1a\n<html>")})
    assert f"files.{_materials(item)['户口簿']}" in bad.value.fields
    assert Application.objects.count() == before
    with pytest.raises(Forbidden):  # a resident applies only for herself
        services.application_create(actor=cast.bob, item=item, applicant=person, form_data=FORM)


def test_an_item_not_handled_anywhere_is_accepted_only_at_a_site_of_its_tiers(
        cast: Cast, world: dict[str, Any]) -> None:
    from gongzhi.sites.models import Site

    item = services.item_save(actor=cast.olga, code="T-002", materials=[], data={
        "name": "残疾人证申领", "department": world["unit"].pk, "time_limit_days": 10, "anywhere": False,
        "tiers": ["zone", "community"]})
    with pytest.raises(InvalidInput) as bad:
        services.application_create(actor=cast.alice, item=item, applicant=world["person"])
    assert "site" in bad.value.fields
    station = Site.objects.create(name="海鸥红色驿站", kind="red_station", tier="station", area=cast.grid1,
                                  area_path=cast.grid1.path)
    with pytest.raises(InvalidInput):
        services.application_create(actor=cast.alice, item=item, applicant=world["person"], site=station)
    centre = Site.objects.create(name="碧海社区党群服务中心", kind="party_centre", tier="community",
                                 area=cast.community, area_path=cast.community.path)
    app = services.application_create(actor=cast.alice, item=item, applicant=world["person"], site=centre)
    assert app.site_tier == "community" and app.state == A.PROCESSING


def test_two_clerks_accepting_one_online_application_one_wins(cast: Cast, world: dict[str, Any]) -> None:
    item = world["item"]
    app = services.application_create(actor=world["resident"], item=item, applicant=world["person"], form_data=FORM,
                                      files={pk: ("f.png", _png()) for pk in _materials(item).values()},
                                      accept=False)
    assert app.state == A.SUBMITTED and app.online and app.window_path == cast.community2.path
    stale = Application.objects.get(pk=app.pk)
    services.application_step(actor=cast.charlie, app=app, step="accept")
    with pytest.raises(Conflict):
        services.application_step(actor=cast.charlie, app=stale, step="reject", reason="重复",
                                  expected_version=stale.version)


def test_catalogue_round_trips_through_excel_and_the_default_loads(cast: Cast, world: dict[str, Any]) -> None:
    data = excel.export_catalogue()
    ServiceItem.objects.filter(code="T-001").update(time_limit_days=9)
    created, updated = excel.import_catalogue(actor=cast.olga, data=data)
    assert (created, updated) == (0, 1)
    item = ServiceItem.objects.get(code="T-001")
    assert item.time_limit_days == 3 and [m.name for m in item.materials.all()] == ["居民身份证", "户口簿", "照片"]
    assert item.materials.get(name="照片").required is False and item.materials.get(name="户口簿").original_required
    with pytest.raises(Forbidden):
        excel.import_catalogue(actor=cast.alice, data=data)
    registry.unit_create(actor=None, area=cast.city, name="市公安局", credit_code=_code("11350100M00030000"),
                         sector=Sector.ORGAN)
    n = services.load_default_catalogue(actor=cast.olga)
    assert n >= 4 and ServiceItem.objects.filter(code="GA-001", name="居住证明开具").exists()
    assert services.load_default_catalogue(actor=cast.olga) == 0


def _client(user: Any, password: str) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_the_whole_flow_through_the_api(cast: Cast, world: dict[str, Any]) -> None:
    item = world["item"]
    m = _materials(item)
    clerk = _client(cast.alice, cast.password)
    r = clerk.post("/api/v1/services/applications", {
        "item_id": item.pk, "id_number": "110105194001010018", "form_data": FORM, "provided": [m["居民身份证"]]},
        content_type="application/json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["state"] == "awaiting" and body["tongban"] and body["missing"] == ["户口簿"]
    assert body["applicant"]["id_number"] == "110***********0018"  # masked for the clerk
    pk = body["id"]
    hukou = next(x["id"] for x in body["materials"] if x["name"] == "户口簿")
    resident = _client(world["resident"], cast.password)
    mine = resident.get("/api/v1/services/applications?queue=mine").json()
    assert [a["id"] for a in mine["items"]] == [pk]
    r = resident.post(f"/api/v1/services/applications/{pk}/materials/{hukou}",
                      {"file": base64.b64encode(_png()).decode()}, content_type="application/json")
    assert r.json()["state"] == "processing"
    handler = _client(world["handler"], cast.password)
    queue = handler.get("/api/v1/services/applications?queue=department").json()
    assert pk in [a["id"] for a in queue["items"]]
    r = handler.post(f"/api/v1/services/applications/{pk}/steps", {"step": "approve"},
                     content_type="application/json")
    assert r.json()["state"] == "decided", r.content
    r = clerk.post(f"/api/v1/services/applications/{pk}/steps", {"step": "issue", "method": "delivered"},
                   content_type="application/json")
    assert r.json()["state"] == "issued"
    r = resident.post(f"/api/v1/services/applications/{pk}/steps", {"step": "rate", "rating": 5},
                      content_type="application/json")
    assert r.json()["rating"] == 5 and r.json()["steps"] == []
    outsider = _client(cast.bob, cast.password)
    assert outsider.get(f"/api/v1/services/applications/{pk}").status_code == 404
    assert clerk.get(f"/api/v1/services/figures?area_id={cast.city.pk}").status_code == 404  # not her area
    f = _client(cast.olga, cast.password).get(f"/api/v1/services/figures?area_id={cast.city.pk}").json()
    assert f["total"] == 1 and f["tongban_share"] == 100.0 and f["good_rate"] == 100.0


def test_the_window_page_accepts_and_the_application_page_takes_the_steps(
        cast: Cast, world: dict[str, Any]) -> None:
    item = world["item"]
    m = _materials(item)
    clerk = _client(cast.alice, cast.password)
    page = clerk.get(f"/services/window/?id_number=110105194001010018&item={item.pk}")
    assert page.status_code == 200 and "李秀兰" in page.content.decode() and "港北社区" in page.content.decode()
    bad = clerk.post("/services/window/", {"id_number": "110105194001010018", "item": item.pk, "f_bank_card": "1"})
    assert bad.status_code == 400 and "是否独居" in bad.content.decode()
    r = clerk.post("/services/window/", {"id_number": "110105194001010018", "item": item.pk, "f_bank_card": "1",
                                         "f_live_alone": "否", "provided": [m["居民身份证"]]})
    assert r.status_code == 302
    app = Application.objects.get()
    assert app.state == A.AWAITING
    detail = clerk.get(f"/services/applications/{app.pk}/").content.decode()
    assert "待补正" in detail and "户口簿" in detail
    am = app.materials.get(name="户口簿")
    clerk.post(f"/services/applications/{app.pk}/materials/{am.pk}/", {"original_seen": "on"})
    app.refresh_from_db()
    assert app.state == A.PROCESSING
    handler = _client(world["handler"], cast.password)
    assert app.number in handler.get("/services/department/").content.decode()
    handler.post(f"/services/applications/{app.pk}/step/", {"step": "approve", "version": app.version})
    app.refresh_from_db()
    assert app.state == A.DECIDED
    for url in ("/services/", f"/services/items/{item.pk}/", "/services/figures/"):
        assert _client(cast.olga, cast.password).get(url).status_code == 200, url
    assert _client(world["resident"], cast.password).get("/services/mine/").status_code == 200


def test_a_material_template_is_uploaded_by_the_catalogue_keeper_and_checked(
        cast: Cast, world: dict[str, Any]) -> None:
    item = world["item"]
    pk = _materials(item)["户口簿"]
    keeper = _client(cast.olga, cast.password)
    url = f"/api/v1/services/items/{item.pk}/materials/{pk}/template"
    fake = keeper.post(url, {"filename": "样表.pdf", "file": base64.b64encode(b"<html>").decode()},
                       content_type="application/json")
    assert fake.status_code == 400 and "template" in fake.json()["error"]["fields"]
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    r = keeper.post(url, {"filename": "样表.pdf", "file": base64.b64encode(pdf).decode()},
                    content_type="application/json")
    assert r.status_code == 200 and next(m for m in r.json()["materials"] if m["id"] == pk)["template"]
    clerk = _client(cast.alice, cast.password)
    assert clerk.post(url, {"filename": "a.pdf", "file": base64.b64encode(pdf).decode()},
                      content_type="application/json").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_the_demo_city_has_a_year_of_applications_in_every_state() -> None:
    from gongzhi.govservice.models import Application, Rectification
    from gongzhi.govservice.workflow import ApplicationState
    from gongzhi.registry.demo import load_demo_city

    report = load_demo_city("small")
    apps = Application.objects.all()
    assert report.counts["applications"] == apps.count() >= 16 * 40
    states = set(apps.values_list("state", flat=True))
    assert states >= {ApplicationState.SUBMITTED, ApplicationState.PROCESSING, ApplicationState.AWAITING,
                      ApplicationState.DECIDED, ApplicationState.ISSUED, ApplicationState.REJECTED}
    total = apps.count()
    assert 0.12 < apps.filter(tongban=True).count() / total < 0.28  # 全市通办: about a fifth
    assert apps.exclude(agent=None).filter(consent="").count() == 0  # 帮办代办 always with consent
    decided = apps.filter(decided_at__isnull=False, accepted_at__isnull=False)
    assert all(a.decided_at >= a.accepted_at for a in decided)
    assert 0.85 < decided.filter(on_time=True).count() / decided.count() < 1
    rated = apps.exclude(rating=None)
    assert rated.filter(rating__gte=4).count() / rated.count() > 0.8
    assert Rectification.objects.count() == rated.filter(rating__lte=2).count() > 0
    resident = get_user_model().objects.get(username="resident")
    mine = Application.objects.filter(applicant__user=resident)
    assert {a.state for a in mine} == {ApplicationState.ISSUED, ApplicationState.AWAITING}
    waiting = mine.get(state=ApplicationState.AWAITING)
    assert waiting.missing and waiting.paused_at is not None
    c = Client()
    c.force_login(resident)
    page = c.get(reverse("govservice:mine"))
    assert page.status_code == 200 and waiting.item.name in page.content.decode()
    # Sites of every tier; the 15-minute page of the demo city shows the gaps of an item few windows handle.
    from gongzhi.sites.models import Site

    assert set(Site.objects.values_list("tier", flat=True)) == {"zone", "community", "station"}
    admin = Client()
    admin.force_login(get_user_model().objects.get(username="admin"))
    disability = ServiceItem.objects.get(code="CL-001")
    page = admin.get(reverse("sites:coverage") + f"?item={disability.pk}").content.decode()
    assert 'class="out"' in page and 'class="in"' in page and 'id="outside"' in page
    everything = admin.get(reverse("sites:coverage")).content.decode()
    assert 'id="kpi-share"' in everything and "coverage-map" in everything
