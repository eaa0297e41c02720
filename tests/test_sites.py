"""Service sites (issue 13, F3–F4): sites kept by the area's keepers, rooms booked by anyone without overlap (and a
race for one slot has one winner), the rota, the 15-minute coverage computed from grid centres and its page, the
directory and the API."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from gongzhi.accounts import services as accounts
from gongzhi.core.audit import AuditEntry
from gongzhi.core.errors import Forbidden, InvalidInput, NotFound
from gongzhi.core.scope import get_scoped
from gongzhi.core.workdays import TZ
from gongzhi.sites import coverage, services
from gongzhi.sites.models import Room, RoomBooking, Site
from gongzhi.sites.workflow import BookingState
from tests.cast import Cast, build_cast

NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=TZ)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=TZ)


def _site(cast: Cast, **kw: Any) -> Site:
    data = {"name": "碧海社区党群服务中心", "kind": "party_centre", "tier": "community", "area": cast.community.pk,
            "lon": 123.405, "lat": 41.805, "opens": "08:30", "closes": "20:00", "hours": "周一至周日 8:30–20:00"}
    return services.site_save(actor=cast.alice, data={**data, **kw})


@pytest.mark.django_db
def test_keepers_keep_their_sites_and_errors_name_the_field_with_nothing_written(cast: Cast) -> None:
    site = _site(cast)
    assert site.area_path == cast.community.path
    assert AuditEntry.objects.filter(action="sites.site.create").count() == 1
    with pytest.raises(Forbidden):  # 港北's worker keeps 港北's sites, not 碧海's
        services.site_save(actor=cast.charlie, data={"name": "x"}, site=site)
    with pytest.raises(Forbidden):
        services.site_save(actor=cast.charlie, data={"name": "港北站", "kind": "red_station", "tier": "station",
                                                     "area": cast.grid1.pk})
    for bad, field in (({"kind": "palace"}, "kind"), ({"lat": 91}, "lat"), ({"closes": "07:00"}, "closes"),
                       ({"name": " "}, "name"), ({"area": ""}, "area")):
        with pytest.raises(InvalidInput) as e:
            _site(cast, **bad)
        assert field in e.value.fields, bad
    assert Site.objects.count() == 1


@pytest.mark.django_db
def test_a_room_is_never_booked_twice_for_the_same_time(cast: Cast) -> None:
    site = _site(cast)
    room = services.room_save(actor=cast.alice, site=site, name="活动室", capacity=30)
    b = services.booking_create(actor=cast.bob, room=room, starts_at=at(3, 14), ends_at=at(3, 16), purpose="书法课",
                                attendees=12, now=NOW)
    assert b.state == BookingState.BOOKED and b.area_path == cast.community.path
    with pytest.raises(InvalidInput) as e:  # overlaps 15:00–16:00
        services.booking_create(actor=cast.charlie, room=room, starts_at=at(3, 15), ends_at=at(3, 17), purpose="会",
                                now=NOW)
    assert "starts_at" in e.value.fields and "14:00–16:00" in e.value.fields["starts_at"][0]
    # Back to back is fine; outside the hours, in the past, too long or too many people is not.
    services.booking_create(actor=cast.charlie, room=room, starts_at=at(3, 16), ends_at=at(3, 17), purpose="会",
                            now=NOW)
    for kw, field in ((dict(starts_at=at(3, 7), ends_at=at(3, 9)), "starts_at"),
                      (dict(starts_at=at(1, 8, 30), ends_at=at(1, 9)), "starts_at"),
                      (dict(starts_at=at(4, 9), ends_at=at(4, 18)), "ends_at"),
                      (dict(starts_at=at(4, 9), ends_at=at(4, 8)), "ends_at"),
                      (dict(starts_at=at(4, 9), ends_at=at(4, 10), attendees=31), "attendees"),
                      (dict(starts_at=at(4, 9), ends_at=at(4, 10), purpose=""), "purpose")):
        args = {"purpose": "会", **kw}
        with pytest.raises(InvalidInput) as e:
            services.booking_create(actor=cast.bob, room=room, now=NOW, **args)
        assert field in e.value.fields, kw
    assert RoomBooking.objects.count() == 2
    # Only the booker or the keeper cancels; then the slot is free again.
    with pytest.raises(NotFound):
        get_scoped(cast.charlie, RoomBooking, b.pk)  # another resident's booking is not even visible
    with pytest.raises(Forbidden):
        services.booking_cancel(actor=cast.charlie, booking=b)
    services.booking_cancel(actor=cast.bob, booking=b)
    services.booking_create(actor=cast.charlie, room=room, starts_at=at(3, 14), ends_at=at(3, 15), purpose="会",
                            now=NOW)


@pytest.mark.django_db(transaction=True)
def test_two_people_racing_for_one_slot_get_one_booking() -> None:
    cast = build_cast()
    site = _site(cast)
    room = services.room_save(actor=cast.alice, site=site, name="活动室")
    results: list[str] = []
    barrier = threading.Barrier(2)

    def go(user: Any) -> None:
        barrier.wait()
        try:
            services.booking_create(actor=user, room=Room.objects.get(pk=room.pk), starts_at=at(3, 14),
                                    ends_at=at(3, 16), purpose="议事会", now=NOW)
            results.append("ok")
        except InvalidInput:
            results.append("taken")
        finally:
            connection.close()

    threads = [threading.Thread(target=go, args=(u,)) for u in (cast.bob, cast.charlie)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok", "taken"] and RoomBooking.objects.count() == 1


@pytest.mark.django_db
def test_the_rota_holds_exactly_the_people_named(cast: Cast) -> None:
    from gongzhi.registry import services as registry

    site = _site(cast)
    a = registry.person_create(actor=None, area=cast.building, name="值班甲", phone="13800138001")
    b = registry.person_create(actor=None, area=cast.building, name="值班乙", phone="13800138002")
    assert {s.person_id for s in services.duty_set(actor=cast.alice, site=site, day="2026-12-03",
                                                   people=[a.pk, b.pk], duty="全科受理")} == {a.pk, b.pk}
    assert [s.person_id for s in services.duty_set(actor=cast.alice, site=site, day="2026-12-03",
                                                   people=[b.pk])] == [b.pk]
    with pytest.raises(Forbidden):
        services.duty_set(actor=cast.charlie, site=site, day="2026-12-03", people=[a.pk])
    with pytest.raises(InvalidInput) as e:
        services.duty_set(actor=cast.alice, site=site, day="2026-13-03", people=[a.pk])
    assert "day" in e.value.fields


@pytest.mark.django_db
def test_coverage_counts_households_within_the_walk_and_the_walking_factor_matters(cast: Cast) -> None:
    # Grid 1 (a building of 60 households) has the site at its centre; grid 2's centre is 830 m east (420
    # households, no buildings), grid 3's 1,660 m (380). 15 minutes at 75 m/min: 865 m straight at factor 1.3.
    _site(cast)
    r = coverage.compute(cast.city)
    assert (r.households, r.covered, r.sites) == (860, 480, 1) and r.share == 55.8
    assert r.buildings == 1 and r.buildings_outside == 0
    assert {c.name: c.share for c in r.communities} == {"碧海社区": 100.0, "港北社区": 0.0}
    r = coverage.compute(cast.city, walk_factor=1.5)  # 750 m: grid 2 drops out
    assert (r.covered, r.share) == (60, 7.0)
    r = coverage.compute(cast.city, minutes=30)
    assert r.covered == 860
    # A service no site offers: nobody is covered; the building is listed outside.
    from gongzhi.govservice import services as govservice
    from gongzhi.govservice.models import ServiceItem

    govservice.item_save(actor=cast.olga, code="X-1", data={"name": "测试事项", "department": _unit(cast).pk,
                                                            "time_limit_days": 3})
    r = coverage.compute(cast.community, item=ServiceItem.objects.get(code="X-1"))
    assert (r.sites, r.covered, r.buildings_outside) == (0, 0, 1) and r.outside[0]["name"] == "海鸥花园1号楼"
    # By service: the site handles X-2, not X-1.
    govservice.item_save(actor=cast.olga, code="X-2", data={"name": "另一事项", "department": ServiceItem.objects
                                                            .get(code="X-1").department_id, "time_limit_days": 3})
    site = Site.objects.get()
    services.site_save(actor=cast.alice, data={}, site=site, items=[ServiceItem.objects.get(code="X-2").pk])
    rows = {r["code"]: (r["sites"], r["covered"], r["share"]) for r in coverage.by_item(cast.city)}
    assert rows == {"X-1": (0, 0, 0.0), "X-2": (1, 480, 55.8)}


def _unit(cast: Cast) -> Any:
    from gongzhi.core.validators import credit_code_check_char
    from gongzhi.registry import services as registry

    body = "11350100M00020001"
    return registry.unit_create(actor=None, area=cast.city, name="市民政局",
                                credit_code=body + credit_code_check_char(body), sector="organ")


@pytest.mark.django_db
def test_pages_and_api_book_a_room_and_show_the_coverage(cast: Cast) -> None:
    site = _site(cast)
    room = services.room_save(actor=cast.alice, site=site, name="议事厅", capacity=20)
    c = Client()
    c.force_login(cast.bob)
    assert site.name in c.get(reverse("sites:list")).content.decode()
    tomorrow = (dt.datetime.now(TZ) + dt.timedelta(days=1)).date().isoformat()
    r = c.post(reverse("sites:book", args=[site.pk]), {"room": room.pk, "day": tomorrow, "start": "14:00",
                                                       "end": "15:30", "purpose": "楼栋议事", "attendees": "8"})
    assert r.status_code == 302 and RoomBooking.objects.filter(booked_by=cast.bob).count() == 1
    r = c.post(reverse("sites:book", args=[site.pk]), {"room": room.pk, "day": tomorrow, "start": "15:00",
                                                       "end": "16:00", "purpose": "又一场"}, follow=True)
    assert "该时段已被预约" in r.content.decode() and RoomBooking.objects.count() == 1
    page = c.get(reverse("sites:detail", args=[site.pk])).content.decode()
    assert "楼栋议事" in page  # her own booking shows its purpose
    assert "楼栋议事" in c.get(reverse("sites:mine")).content.decode()
    other = Client()
    other.force_login(cast.charlie)
    page = other.get(reverse("sites:detail", args=[site.pk])).content.decode()
    assert "已约" in page and "楼栋议事" not in page  # others see the slot taken, not what for
    # The coverage page: share, map and method.
    staff = Client()
    staff.force_login(cast.alice)
    page = staff.get(reverse("sites:coverage") + f"?area={cast.community.pk}").content.decode()
    assert 'id="kpi-share"' in page and "100.0" in page and "coverage-map" in page and "绕行系数" in page
    assert staff.get(reverse("sites:coverage") + "?minutes=500").status_code == 200
    # The API: the directory, a booking, its clash, the week and the coverage.
    _token, key = accounts.token_create(actor=None, user=cast.bob, name="t")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    rows = api.get("/api/v1/sites").json()["items"]
    assert [s["name"] for s in rows] == [site.name]
    body = {"starts_at": f"{tomorrow}T09:00:00", "ends_at": f"{tomorrow}T10:00:00", "purpose": "读书会"}
    r = api.post(f"/api/v1/sites/rooms/{room.pk}/bookings", json.dumps(body), content_type="application/json")
    assert r.status_code == 201, r.content
    r = api.post(f"/api/v1/sites/rooms/{room.pk}/bookings", json.dumps(body), content_type="application/json")
    assert r.status_code == 400 and "starts_at" in r.json()["error"]["fields"]
    week = api.get(f"/api/v1/sites/{site.pk}/week?start={tomorrow}").json()
    assert len(week["rooms"][0]["bookings"]) == 2
    _token, key = accounts.token_create(actor=None, user=cast.alice, name="t")
    staff_api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert staff_api.get(f"/api/v1/sites/coverage?area_id={cast.city.pk}").status_code == 404  # not her area
    cov = staff_api.get("/api/v1/sites/coverage").json()  # her own: 碧海社区
    assert cov["area"] == "碧海社区" and cov["share"] == 100.0 and cov["radius_m"] == 865
    _token, key = accounts.token_create(actor=None, user=cast.admin, name="t")
    cov = Client(HTTP_AUTHORIZATION=f"Bearer {key}").get(f"/api/v1/sites/coverage?area_id={cast.city.pk}").json()
    assert [i["share"] for i in Client(HTTP_AUTHORIZATION=f"Bearer {key}").get(
        f"/api/v1/sites/coverage/items?area_id={cast.city.pk}").json()["items"]] == []  # no items yet
    assert cov["share"] == 55.8 and cov["communities"][0] == {"area_id": cast.community2.pk, "name": "港北社区",
                                                              "households": 380, "covered": 0, "share": 0.0}
