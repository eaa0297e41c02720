"""热点问题 on real messages: the 4,326 public 问政 messages of the TipDM 2020 C set (附件3, with likes and
dislikes) grouped by :func:`gongzhi.dispatch.hotspots.find_hotspots` (30-day window, the default threshold).

Prints the top hot spots with their place, time range, size (messages and people), likes and heat, the
representative title and the member ids, then the number of groups and the time the grouping took (target: ≤ 1 s
for 5,000 messages).

Usage: .venv/bin/python bench/dispatch_hotspots.py [path/to/tipdm2020c_fj3_full.csv] [--top 5]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data" / "tipdm2020c" / "tipdm2020c_fj3_full.csv"
TIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
TARGET_SECONDS = 1.0


def parse_time(raw: str) -> dt.datetime | None:
    raw = (raw or "").strip()
    for fmt in TIME_FORMATS:
        try:
            return dt.datetime.strptime(raw, fmt)
        except ValueError:
            continue
    return None


def _int(raw: str) -> int:
    raw = (raw or "").strip()
    return int(raw) if raw.lstrip("-").isdigit() else 0


def load(path: Path) -> tuple[list, int]:
    """The messages of 附件3 (id, user, subject, time, detail, likes, dislikes) and how many rows had no time."""
    from gongzhi.dispatch.hotspots import Message

    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    messages, skipped = [], 0
    for r in rows:
        when = parse_time(r.get("time", ""))
        if when is None:
            skipped += 1
            continue
        messages.append(Message(key=r["id"], title=r.get("subject", ""), text=r.get("detail", ""), time=when,
                                likes=_int(r.get("likes", "")), dislikes=_int(r.get("dislikes", "")),
                                author=r.get("user", "")))
    return messages, skipped


def report(top: int = 5, path: Path | str | None = None) -> list[str]:
    from gongzhi.dispatch.hotspots import HEAT_FORMULA, find_hotspots

    path = Path(path) if path else DATA
    if not path.exists():
        return [f"热点问题: data not found at {path}"]
    messages, skipped = load(path)
    find_hotspots(messages[:50])  # warm up (imports, regular expressions) before timing
    started, cpu = time.perf_counter(), time.process_time()
    spots = find_hotspots(messages)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    lines = [f"热点问题 (附件3): {len(messages)} messages ({skipped} without a time), {len(spots)} groups of 2+, "
             f"grouped in {elapsed:.2f} s ({cpu:.2f} s CPU; target ≤ {TARGET_SECONDS:.0f} s for 5,000)",
             f"  {HEAT_FORMULA}"]
    for rank, s in enumerate(spots[:top], 1):
        lines.append(f"  {rank}. heat {s.heat:7.2f}  {s.place or '—'}  {s.first:%Y-%m-%d} ~ {s.last:%Y-%m-%d}  "
                     f"{s.size} messages / {s.people} people  likes {s.likes} dislikes {s.dislikes}")
        lines.append(f"     {s.label}")
        shown = ", ".join(str(k) for k in s.members[:12])
        lines.append(f"     ids: {shown}{' …' if len(s.members) > 12 else ''}")
    scaled = messages + messages[: max(0, 5000 - len(messages))]
    started, cpu = time.perf_counter(), time.process_time()
    find_hotspots(scaled)
    lines.append(f"  5,000 messages (附件3 and its first {len(scaled) - len(messages)} again, each copy linked to "
                 f"its original): {time.perf_counter() - started:.2f} s ({time.process_time() - cpu:.2f} s CPU)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=None)
    parser.add_argument("--top", type=int, default=5)
    args = parser.parse_args()
    print("\n".join(report(top=args.top, path=args.path)))


if __name__ == "__main__":
    main()
