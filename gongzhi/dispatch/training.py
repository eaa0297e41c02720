"""Where a model's lessons come from: the public 问政 messages (the factory model), the platform's own closed cases,
or any CSV file. Each source yields (title, body) pairs with labels; hold-outs are fixed, never drawn at random, so
a score can be reproduced.

How the public messages' labels were mapped onto the platform's categories: the 2020 泰迪杯 messages carry one of
seven first-level labels of the competition's own taxonomy (附件1). Each was matched to the first-level class of
广东 DB44/T 2479-2024 that holds its second-level labels — by name where the names agree (城乡建设, 交通运输) and
otherwise by what the label's own second-level classes are about: 环境保护 (环境污染, 环保管理) → 04 自然资源与环境保护;
教育文体 (教育, 文化, 体育, 考试招生) → 01 科教文体; 劳动和社会保障 (社会保险, 劳动关系, 就业, 工资, 退休) →
08 人力资源社会保障; 卫生计生 (医政, 医患, 公共卫生, 人口计生) → 02 公卫医疗; 商贸旅游 (市场监管, 质监检验检疫,
商业贸易, 旅游) → 10 市场监管, where 15 of its 25 third-level labels belong (旅游 alone would be 01). The factory model
therefore suggests first-level classes; the leaf inside is found from the category names (see ``resolve``), and a
model trained on the platform's own cases learns the leaves themselves."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from . import classifier

SHARED_LABELS = {"城乡建设": "03", "环境保护": "04", "交通运输": "05", "教育文体": "01", "劳动和社会保障": "08",
                 "商贸旅游": "10", "卫生计生": "02"}
DETAILS = "tipdm2020c_fj2_details_partial.csv"
SUBJECTS = "tipdm2020c_fj2_subjects_full.csv"
MIN_EXAMPLES = 5  # a category with fewer closed cases than this is learnt as its parent class
HOLDOUT_SHARE = 5  # one case in five (by a hash of its id) is kept back for the hold-out

Progress = Callable[[str, int, int], None]


@dataclass
class Dataset:
    texts: list[tuple[str, str]]
    labels: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def extend(self, other: Dataset) -> None:
        self.texts.extend(other.texts)
        self.labels.extend(other.labels)


def shared_dir() -> Path:
    return Path(getattr(settings, "GONGZHI_SHARED_DATA", "") or
                Path(settings.BASE_DIR).parent.parent / "shared" / "data" / "tipdm2020c")


def _folds(directory: Path) -> dict[tuple[str, str], int]:
    with (directory / "folds.csv").open(encoding="utf-8") as fh:
        return {(r["file"], r["id"]): int(r["fold"]) for r in csv.DictReader(fh)}


def shared_messages(directory: Path, file: str, folds: Sequence[int], *, mapped: bool = True,
                    title_only: bool = False) -> Dataset:
    """Rows of one labelled file of the public data in the given folds (fold 0 is the test fold)."""
    fold_of = _folds(directory)
    data = Dataset([], [])
    with (directory / file).open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if fold_of[(file, r["id"])] not in folds:
                continue
            data.texts.append((r["subject"], "" if title_only else r["detail"]))
            data.labels.append(SHARED_LABELS[r["label"]] if mapped else r["label"])
    return data


def factory_dataset(directory: Path, folds: Sequence[int], *, mapped: bool = True) -> Dataset:
    """Both labelled files: messages with their details, their subjects on their own too, and the subject list."""
    data = shared_messages(directory, DETAILS, folds, mapped=mapped)
    titled = Dataset([(t, "") for t, _b in data.texts if t], [lab for (t, _b), lab in zip(data.texts, data.labels,
                                                                                            strict=True) if t])
    data.extend(titled)
    data.extend(shared_messages(directory, SUBJECTS, folds, mapped=mapped))
    return data


# ------------------------------------------------------------------------------------------ the platform's cases


def _held_out(pk: int) -> bool:
    return int(hashlib.sha1(str(pk).encode()).hexdigest()[:8], 16) % HOLDOUT_SHARE == 0


def case_rows() -> Iterator[tuple[int, str, str, str]]:
    """Closed cases with a category: (id, title, description, category code), oldest first, in chunks."""
    from gongzhi.cases.models import Case
    from gongzhi.cases.workflow import State

    qs = (Case.objects.filter(state=State.CLOSED, category__isnull=False)
          .values_list("pk", "title", "description", "category__code").order_by("pk"))
    last = 0
    while True:
        chunk = list(qs.filter(pk__gt=last)[:5000])
        if not chunk:
            return
        yield from chunk
        last = chunk[-1][0]


def rolled_up(codes: Sequence[str], minimum: int = MIN_EXAMPLES) -> dict[str, str]:
    """Each code → the deepest code on its path (itself, its parent, its first-level class) that has at least
    ``minimum`` examples counting everything below it. A class with too few cases is learnt one level up."""
    counts: Counter[str] = Counter()
    for code in codes:
        for length in range(2, len(code) + 1, 2):
            counts[code[:length]] += 1
    out = {}
    for code in set(codes):
        pick = code[:2]
        for length in range(len(code), 1, -2):
            if counts[code[:length]] >= minimum:
                pick = code[:length]
                break
        out[code] = pick
    return out


def platform_datasets(progress: Progress | None = None) -> tuple[Dataset, Dataset]:
    rows = list(case_rows())
    mapping = rolled_up([code for *_rest, code in rows])
    train, holdout = Dataset([], []), Dataset([], [])
    for pk, title, description, code in rows:
        (holdout if _held_out(pk) else train).texts.append((title, description))
        (holdout if _held_out(pk) else train).labels.append(mapping[code])
    if progress:
        progress("读取", len(rows), len(rows))
    return train, holdout


# ------------------------------------------------------------------------------------------ any CSV


def csv_dataset(path: Path, text_columns: Sequence[str], label_column: str | None) -> tuple[Dataset, list[str]]:
    """(title, body) from the named columns (the first is the title, the rest joined as the body) and the label
    column if given; also the ``id`` column when present."""
    data, ids = Dataset([], []), []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in [*text_columns, *([label_column] if label_column else [])]
                   if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"columns not in {path.name}: {', '.join(missing)}")
        for i, r in enumerate(reader):
            title = r[text_columns[0]] or ""
            body = " ".join(r[c] or "" for c in text_columns[1:])
            data.texts.append((title, body))
            data.labels.append((r[label_column] or "") if label_column else "")
            ids.append(r.get("id") or str(i + 1))
    return data, ids


def save_dir(model: classifier.TextModel, meta: dict[str, object], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.npz").write_bytes(model.to_bytes())
    (out / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")


def load_dir(directory: Path) -> classifier.TextModel:
    return classifier.TextModel.from_bytes((directory / "model.npz").read_bytes())


FACTORY_MODEL = Path(__file__).resolve().parent / "data" / "factory_model.npz"
FACTORY_META = Path(__file__).resolve().parent / "data" / "factory_model.json"
