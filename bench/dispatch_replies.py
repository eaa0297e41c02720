"""答复意见评价 on real replies: all 2,816 public 问政 messages of the TipDM 2020 C set (附件4) with their official
replies and reply times, scored by :func:`gongzhi.dispatch.replies.score_reply`.

Prints the quartiles of each score, the time to score one reply, the share of replies later than 15 working days,
and the three best and three worst replies by id (ids only: the texts stay in shared/data).

Usage: .venv/bin/python bench/dispatch_replies.py [path/to/tipdm2020c_fj4_full.csv]
"""

from __future__ import annotations

import csv
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data" / "tipdm2020c" / "tipdm2020c_fj4_full.csv"
TIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")


def _setup() -> None:
    from django.conf import settings

    if not settings.configured:  # alone: reasons are plain Chinese, no project settings needed
        settings.configure(USE_I18N=False)


def parse_time(raw: str) -> dt.datetime | None:
    raw = raw.strip()
    for fmt in TIME_FORMATS:
        try:
            return dt.datetime.strptime(raw, fmt)
        except ValueError:
            continue
    return None


def _quartiles(values: list[int]) -> str:
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    mean = statistics.fmean(values)
    return f"min {min(values)}  Q1 {q1:.0f}  median {q2:.0f}  Q3 {q3:.0f}  max {max(values)}  mean {mean:.1f}"


def report(path: Path | str | None = None) -> list[str]:
    _setup()
    from gongzhi.dispatch.replies import LATE_WORKDAYS, ReplyScore, count_workdays, score_reply

    path = Path(path) if path else DATA
    if not path.exists():
        return [f"答复意见评价: data not found at {path}"]
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    scored: list[tuple[str, ReplyScore]] = []
    skipped = 0
    count_workdays(dt.date(2019, 1, 1), dt.date(2019, 1, 2))  # load the calendar before timing
    started = time.perf_counter()
    for row in rows:
        asked, replied = parse_time(row.get("time", "")), parse_time(row.get("reply_time", ""))
        if asked is None or replied is None or not (row.get("reply") or "").strip():
            skipped += 1
            continue
        scored.append((row["id"], score_reply(row.get("subject", ""), row.get("detail", ""), row["reply"],
                                              asked, replied)))
    elapsed = time.perf_counter() - started
    if not scored:
        return ["答复意见评价: no scorable replies"]
    n = len(scored)
    ranked = sorted(scored, key=lambda p: (p[1].total, p[0]))
    late = sum(1 for _id, s in scored if s.workdays > LATE_WORKDAYS)
    lines = [
        f"答复意见评价 (reply quality) on {path.name}: {n} replies scored, {skipped} skipped (no time or reply)",
        f"  relevance     {_quartiles([s.relevance for _i, s in scored])}",
        f"  completeness  {_quartiles([s.completeness for _i, s in scored])}",
        f"  timeliness    {_quartiles([s.timeliness for _i, s in scored])}",
        f"  total         {_quartiles([s.total for _i, s in scored])}",
        f"  working days  {_quartiles([s.workdays for _i, s in scored])}",
        f"  later than {LATE_WORKDAYS} working days: {late}/{n} = {late / n:.1%}",
        f"  runtime: {elapsed * 1000 / n:.2f} ms per reply ({elapsed:.2f} s in all)",
        "  best 3 (id:total): " + ", ".join(f"{i}:{s.total}" for i, s in reversed(ranked[-3:])),
        "  worst 3 (id:total): " + ", ".join(f"{i}:{s.total}" for i, s in ranked[:3]),
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(report(sys.argv[1] if len(sys.argv) > 1 else None)))
