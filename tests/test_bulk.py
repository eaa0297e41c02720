"""core/bulk.py: many rows' fields written in one statement read back exactly as save() would store them — nulls,
decimals, booleans, JSON (nested, empty) — on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import DataError, connection, transaction

from gongzhi.assessment import selectors, services
from gongzhi.assessment.models import ComputedValue, Subject
from gongzhi.core import bulk
from tests.cast import Cast
from tests.test_assessment import _companies, _scheme


def test_update_rows_and_insert_rows_store_what_save_would(cast: Cast) -> None:
    _companies(cast)
    scheme = _scheme(cast, computed=True)
    rnd = services.round_create(actor=cast.olga, scheme=scheme, name="写入", area=cast.district, period_key="2026",
                                period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 12, 31))
    a, b, c = list(rnd.subjects.order_by("pk"))
    a.total, a.valid, a.rank, a.notes, a.group_scores = D("97.60"), True, 1, ["late:1", {"k": [1, "二"]}], {"甲": "1"}
    b.total, b.valid, b.rank, b.notes, b.group_scores = None, False, None, [], {}
    c.total, c.band, c.listed, c.stars = D("0.01"), "黄", "black", 5
    assert bulk.update_rows(Subject, [a, b, c], ["total", "valid", "rank", "notes", "group_scores", "band",
                                                 "listed", "stars"]) == 3
    got = {s.pk: s for s in Subject.objects.filter(round=rnd)}
    assert (got[a.pk].total, got[a.pk].valid, got[a.pk].rank) == (D("97.60"), True, 1)
    assert got[a.pk].notes == ["late:1", {"k": [1, "二"]}] and got[a.pk].group_scores == {"甲": "1"}
    assert (got[b.pk].total, got[b.pk].valid, got[b.pk].rank, got[b.pk].notes) == (None, False, None, [])
    assert (got[c.pk].total, got[c.pk].band, got[c.pk].listed, got[c.pk].stars) == (D("0.01"), "黄", "black", 5)
    assert bulk.update_rows(Subject, [], ["total"]) == 0
    if connection.vendor == "postgresql":  # too long for varchar(10): refused as save() would, never cut
        c.band = "很长的档次名称超过十个字"
        with pytest.raises(DataError), transaction.atomic():
            bulk.update_rows(Subject, [c], ["band"])
        assert Subject.objects.get(pk=c.pk).band == "黄"

    computed = next(i for i in selectors.period_leaves(rnd.scheme_version, rnd.period_key) if i.source != "manual")
    rows = [ComputedValue(subject=a, indicator=computed, figure=None, points=D("0"), basis=""),
            ComputedValue(subject=b, indicator=computed, figure=D("93.33"), points=D("18.67"),
                          basis="诉求满意率 93.33%")]
    assert bulk.insert_rows(ComputedValue, rows) == 2
    stored = {v.subject_id: v for v in ComputedValue.objects.filter(subject__round=rnd)}
    assert (stored[a.pk].figure, stored[a.pk].points, stored[a.pk].basis) == (None, D("0.00"), "")
    assert (stored[b.pk].figure, stored[b.pk].points, stored[b.pk].basis) == (D("93.33"), D("18.67"),
                                                                             "诉求满意率 93.33%")


def test_insert_once_writes_the_row_and_its_audit_entry_once(cast: Cast) -> None:
    from gongzhi.assessment.models import SurveyAnswer
    from gongzhi.core import audit
    from gongzhi.core.models import AuditEntry

    _companies(cast)
    scheme = _scheme(cast, computed=True)
    rnd = services.round_create(actor=cast.olga, scheme=scheme, name="一次", area=cast.district, period_key="2026",
                                period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 12, 31))
    subject = rnd.subjects.order_by("pk").first()
    assert subject is not None

    def attempt(comment: str) -> int | None:
        row = SurveyAnswer(round=rnd, subject=subject, voter="k" * 64, rating=2, comment=comment, area_path="0001")
        entry = audit.pending(actor=cast.olga, action="test.once", obj=rnd, after={"say": comment, "n": [1, None]})
        return bulk.insert_once(row, ("subject", "voter"), entry)

    first = attempt("第一次")
    assert first is not None and attempt("第二次") is None
    stored = SurveyAnswer.objects.get(subject=subject)
    assert (stored.pk, stored.comment, stored.rating, stored.voter) == (first, "第一次", 2, "k" * 64)
    entries = list(AuditEntry.objects.filter(action="test.once"))
    assert len(entries) == 1  # the refused second try left no entry
    e = entries[0]
    assert (e.actor_id, e.actor_name, e.object_type, e.object_id) == (cast.olga.pk, cast.olga.get_username(),
                                                                     "assessment.round", str(rnd.pk))
    assert e.after == {"say": "第一次", "n": [1, None]} and e.at is not None
