"""Service organisations and bookings (D4): slot series, booking from the phone, the BOOKING table (accept,
decline, deliver, cancel, rate), scope (a resident sees only her own bookings), the last place raced by two
residents, the API, and bounded queries."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from gongzhi.accounts import services as accounts
from gongzhi.cobuild.models import Booking, Slot
from gongzhi.cobuild.selectors import bookings as selectors
from gongzhi.cobuild.services import bookings as services
from gongzhi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from gongzhi.core.models import AuditEntry
from gongzhi.core.scope import forget_scope, get_scoped
from gongzhi.registry import services as registry
from gongzhi.registry.models import Sector
from tests.cast import Cast, build_cast

TOMORROW = dt.date.today() + dt.timedelta(days=1)


def _resident(cast: Cast, name: str, home: Any = None, community: Any = None) -> Any:
    u = accounts.user_create(actor=None, username=name, password=cast.password)
    accounts.grant_role(actor=None, user=u, role="resident", area=community or cast.community)
    registry.person_create(actor=None, area=home or cast.building, name=f"居民{name}", user=u)
    forget_scope()
    return u


def _canteen(cast: Cast, capacity: int = 1) -> dict[str, Any]:
    unit = registry.unit_create(actor=None, area=cast.community, name="碧海社区长者食堂有限公司",
                                credit_code="91350100M000100Y43", sector=Sector.NON_PUBLIC)
    hank = accounts.user_create(actor=None, username="hank", password=cast.password)
    accounts.grant_role(actor=None, user=hank, role="unit_handler", unit=unit)
    org = services.org_register(actor=cast.alice, area=cast.community, name="碧海长者食堂", kind="meals", unit=unit,
                                contact_phone="13800138001")
    offering = services.offering_create(actor=hank, org=org, title="老年午餐", price="12 元/餐")
    services.slots_create(actor=hank, offering=offering, first_day=TOMORROW, weeks=1,
                          weekdays=[TOMORROW.weekday()], start=dt.time(11, 0), end=dt.time(12, 30), capacity=capacity)
    return {"unit": unit, "hank": hank, "org": org, "offering": offering, "slot": Slot.objects.get()}


def test_a_series_of_slots_is_published_once(cast: Cast) -> None:
    c = _canteen(cast)
    monday = TOMORROW + dt.timedelta(days=(7 - TOMORROW.weekday()) % 7)
    added = services.slots_create(actor=c["hank"], offering=c["offering"], first_day=monday, weeks=2,
                                  weekdays=[0, 1, 2, 3, 4], start=dt.time(11), end=dt.time(12, 30), capacity=40)
    assert added == 10
    again = services.slots_create(actor=c["hank"], offering=c["offering"], first_day=monday, weeks=2,
                                  weekdays=[0, 1, 2, 3, 4], start=dt.time(11), end=dt.time(12, 30), capacity=40)
    assert again == 0
    with pytest.raises(InvalidInput) as exc:
        services.slots_create(actor=c["hank"], offering=c["offering"], first_day=monday, weeks=1, weekdays=[0],
                              start=dt.time(12), end=dt.time(11), capacity=5)
    assert "end" in exc.value.fields
    with pytest.raises(Forbidden):  # another community's worker does not run 碧海's canteen
        services.slots_create(actor=cast.charlie, offering=c["offering"], first_day=monday, weeks=1, weekdays=[0],
                              start=dt.time(11), end=dt.time(12), capacity=5)


def test_a_resident_books_once_and_a_full_slot_is_refused(cast: Cast) -> None:
    c = _canteen(cast, capacity=1)
    booking = services.booking_create(actor=cast.bob, slot=c["slot"], note="少盐")
    assert booking.state == "booked" and Slot.objects.get().booked == 1
    with pytest.raises(Conflict):
        services.booking_create(actor=cast.bob, slot=c["slot"])
    rita = _resident(cast, "rita")
    with pytest.raises(Conflict) as exc:
        services.booking_create(actor=rita, slot=c["slot"])
    assert "约满" in exc.value.message
    offerings = selectors.nearby_offerings(rita)
    assert [s.full for s in offerings[0].upcoming] == [True]  # type: ignore[attr-defined]
    assert AuditEntry.objects.filter(action="cobuild.booking.book").count() == 1


def test_an_outsider_resident_cannot_book_another_communitys_canteen(cast: Cast) -> None:
    c = _canteen(cast)
    home = registry.area_create(actor=None, parent=cast.grid3, name="港湾小区", code="99010100100200101",
                                kind="compound")
    far = _resident(cast, "hugo", home=home, community=cast.community2)
    assert selectors.nearby_offerings(far) == []
    with pytest.raises(InvalidInput):
        services.booking_create(actor=far, slot=c["slot"])


def test_the_booking_walks_the_table_and_cancelling_gives_the_place_back(cast: Cast) -> None:
    c = _canteen(cast, capacity=2)
    b = services.booking_create(actor=cast.bob, slot=c["slot"])
    with pytest.raises(Forbidden):
        services.booking_step(actor=cast.bob, booking=b, step="accept")
    with pytest.raises(NotFound):
        get_scoped(cast.charlie, Booking, b.pk)
    b = services.booking_step(actor=c["hank"], booking=b, step="accept")
    assert b.state == "accepted"
    with pytest.raises(InvalidInput):  # not before the day
        services.booking_step(actor=c["hank"], booking=b, step="deliver")
    later = c["slot"].starts_at + dt.timedelta(hours=2)
    b = services.booking_step(actor=c["hank"], booking=b, step="deliver", now=later)
    with pytest.raises(InvalidInput) as exc:
        services.booking_step(actor=cast.bob, booking=b, step="rate", rating=9)
    assert "rating" in exc.value.fields
    b = services.booking_step(actor=cast.bob, booking=b, step="rate", rating=5, comment="饭菜可口")
    assert (b.state, b.rating) == ("rated", 5)
    rita = _resident(cast, "rita")
    r = services.booking_create(actor=rita, slot=c["slot"])
    assert Slot.objects.get().booked == 2
    with pytest.raises(InvalidInput):
        services.booking_step(actor=c["hank"], booking=r, step="decline")
    r = services.booking_step(actor=c["hank"], booking=r, step="decline", reason="当天停电暂停供餐")
    assert Slot.objects.get().booked == 1
    assert selectors.decline_reasons([r]) == {r.pk: "当天停电暂停供餐"}
    with pytest.raises(Conflict):  # a declined booking cannot be cancelled
        services.booking_step(actor=rita, booking=r, step="cancel")
    with pytest.raises(Conflict):  # declined for this slot: not booked again over the organisation's answer
        services.booking_create(actor=rita, slot=c["slot"])
    ann = _resident(cast, "ann")
    hers = services.booking_create(actor=ann, slot=c["slot"])
    assert Slot.objects.get().booked == 2
    services.booking_step(actor=ann, booking=hers, step="cancel")
    assert Slot.objects.get().booked == 1
    services.booking_create(actor=ann, slot=c["slot"])  # a cancelled booking does not block booking again
    assert Slot.objects.get().booked == 2


def test_residents_see_only_their_own_bookings(cast: Cast) -> None:
    c = _canteen(cast, capacity=5)
    mine = services.booking_create(actor=cast.bob, slot=c["slot"])
    rita = _resident(cast, "rita")
    hers = services.booking_create(actor=rita, slot=c["slot"])
    assert list(selectors.my_bookings(cast.bob)) == [mine]
    assert list(selectors.my_bookings(rita)) == [hers]
    with pytest.raises(NotFound):
        get_scoped(rita, Booking, mine.pk)
    # The unit's handler sees both at its desk; 港北's worker sees none.
    assert {b.pk for b in selectors.desk(c["hank"], c["org"], TOMORROW).bookings} == {mine.pk, hers.pk}
    assert selectors.desk(cast.charlie, c["org"], TOMORROW).bookings == []


@pytest.mark.django_db(transaction=True)
def test_two_residents_racing_for_the_last_place_exactly_one_wins() -> None:
    cast = build_cast()
    c = _canteen(cast, capacity=1)
    rita = _resident(cast, "rita")
    results: list[str] = []
    barrier = threading.Barrier(2)

    def go(user: Any) -> None:
        slot = Slot.objects.get(pk=c["slot"].pk)
        barrier.wait()
        try:
            services.booking_create(actor=user, slot=slot)
            results.append("ok")
        except Conflict:
            results.append("full")
        finally:
            connection.close()

    threads = [threading.Thread(target=go, args=(u,)) for u in (cast.bob, rita)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["full", "ok"]
    assert Slot.objects.get().booked == 1 and Booking.objects.count() == 1


class Api:
    def __init__(self, user: Any) -> None:
        _token, key = accounts.token_create(actor=None, user=user, name="test")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def get(self, url: str) -> Any:
        return self.client.get(f"/api/v1{url}")

    def post(self, url: str, body: dict[str, Any]) -> Any:
        return self.client.post(f"/api/v1{url}", json.dumps(body), content_type="application/json")


def test_the_api_books_steps_and_lists_with_bounded_queries(cast: Cast, django_assert_max_num_queries) -> None:
    c = _canteen(cast, capacity=3)
    bob, hank = Api(cast.bob), Api(c["hank"])
    near = bob.get("/cobuild/offerings/nearby")
    assert near.status_code == 200 and near.json()[0]["slots"][0]["left"] == 3
    r = bob.post(f"/cobuild/slots/{c['slot'].pk}/bookings", {"note": "需要送餐上门"})
    assert r.status_code == 201, r.content
    bid = r.json()["id"]
    assert bob.post(f"/cobuild/slots/{c['slot'].pk}/bookings", {}).status_code == 409
    r = hank.post(f"/cobuild/bookings/{bid}/steps", {"step": "decline", "version": 1})
    assert r.status_code == 400 and "reason" in r.json()["error"]["fields"]
    r = hank.post(f"/cobuild/bookings/{bid}/steps", {"step": "accept", "version": 1})
    assert r.status_code == 200 and r.json()["state"] == "accepted"
    assert hank.post(f"/cobuild/bookings/{bid}/steps", {"step": "accept", "version": 1}).status_code == 409
    assert Api(cast.charlie).post(f"/cobuild/bookings/{bid}/steps", {"step": "cancel"}).status_code == 404
    desk = hank.get(f"/cobuild/service-orgs/{c['org'].pk}/desk?day={TOMORROW:%Y-%m-%d}")
    assert desk.json()["accepted"] == 1 and desk.json()["bookings"][0]["person"]["name"] == "鲍勃"
    for i in range(6):
        u = _resident(cast, f"r{i}")
        if i < 2:
            services.booking_create(actor=u, slot=c["slot"])
    assert bob.get("/cobuild/bookings").json()["items"][0]["id"] == bid
    assert bob.get("/cobuild/bookings?limit=500").status_code in (400, 422)
    for _ in range(5):
        services.offering_create(actor=c["hank"], org=c["org"], title="助浴服务")
    # the person, the offerings, their slots, her own bookings (+ the scope's generation): not one per offering
    with django_assert_max_num_queries(5):
        rows = selectors.nearby_offerings(cast.bob)
    assert len(rows) == 6
    with django_assert_max_num_queries(2):
        selectors.desk(c["hank"], c["org"], TOMORROW)


def test_the_resident_pages_show_places_and_full(cast: Cast, client) -> None:
    c = _canteen(cast, capacity=1)
    client.force_login(cast.bob)
    page = client.get("/cobuild/services/")
    assert page.status_code == 200 and "老年午餐" in page.content.decode() and "余 1 位" in page.content.decode()
    r = client.post(f"/cobuild/services/slots/{c['slot'].pk}/book/")
    assert r.status_code == 302 and Booking.objects.filter(person__user=cast.bob).exists()
    rita = _resident(cast, "rita")
    client.force_login(rita)
    assert "已约满" in client.get("/cobuild/services/").content.decode()
    client.force_login(c["hank"])
    desk = client.get(f"/cobuild/services/desk/?day={TOMORROW:%Y-%m-%d}")
    assert desk.status_code == 200 and "鲍勃" in desk.content.decode()


def test_the_organisation_pages_register_publish_and_run(cast: Cast, client) -> None:
    client.force_login(cast.alice)
    assert client.get("/cobuild/services/orgs/new/").status_code == 200
    r = client.post("/cobuild/services/orgs/new/", {"name": "碧海托育驿站", "kind": "children",
                                                    "area": cast.community.pk, "contact_phone": ""})
    assert r.status_code == 302, r.content.decode()[-2000:]
    org = selectors.org_get(cast.alice, int(r["Location"].rstrip("/").split("/")[-1]))
    r = client.post(f"/cobuild/services/orgs/{org.pk}/offerings/new/", {"title": "半日托", "price": "60 元"})
    assert r.status_code == 302
    offering = org.offerings.get()
    assert client.get(f"/cobuild/services/offerings/{offering.pk}/slots/new/").status_code == 200
    r = client.post(f"/cobuild/services/offerings/{offering.pk}/slots/new/", {
        "first_day": TOMORROW.isoformat(), "weeks": 1, "weekdays": [str(TOMORROW.weekday())], "start": "08:30",
        "end": "12:00", "capacity": 8})
    assert r.status_code == 302 and Slot.objects.filter(offering=offering).count() == 1
    page = client.get(f"/cobuild/services/orgs/{org.pk}/").content.decode()
    assert "半日托" in page and "08:30" in page
    assert "碧海托育驿站" in client.get("/cobuild/services/orgs/").content.decode()
    client.force_login(cast.charlie)  # 港北 neither sees nor runs 碧海's organisation
    assert client.get(f"/cobuild/services/orgs/{org.pk}/").status_code == 404
    assert client.get(f"/cobuild/services/orgs/{org.pk}/offerings/new/").status_code == 404
    client.force_login(cast.bob)  # a resident has no desk
    assert client.get("/cobuild/services/desk/").status_code == 404
