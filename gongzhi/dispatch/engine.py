"""The active model in memory and the step from a model's label to a category of the tree (with its department).

Each process keeps the active model it last loaded and checks which version is active at most every
``RECHECK_SECONDS``, so a suggestion inside the intake path costs no query for the model itself."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from gongzhi.cases.models import Category

from . import classifier
from .training import FACTORY_MODEL

RECHECK_SECONDS = 30.0
_lock = threading.Lock()
_loaded: dict[str, object] = {"number": None, "model": None, "checked": 0.0}


def active() -> tuple[int | None, classifier.TextModel]:
    """(version number, model) of the active version; the factory model file when no version is active yet."""
    from .models import ClassifierVersion

    now = time.monotonic()
    if _loaded["model"] is not None and now - float(_loaded["checked"]) < RECHECK_SECONDS:  # type: ignore[arg-type]
        return _loaded["number"], _loaded["model"]  # type: ignore[return-value]
    with _lock:
        number = ClassifierVersion.objects.filter(active=True).values_list("number", flat=True).first()
        if number != _loaded["number"] or _loaded["model"] is None:
            if number is None:
                model = classifier.TextModel.from_bytes(FACTORY_MODEL.read_bytes())
            else:
                blob = ClassifierVersion.objects.filter(number=number).values_list("blob", flat=True).get()
                model = classifier.TextModel.from_bytes(bytes(blob))
            _loaded.update(number=number, model=model)
        _loaded["checked"] = now
        return _loaded["number"], _loaded["model"]  # type: ignore[return-value]


def forget() -> None:
    """Drop the cached model (after activating another version in this process; tests)."""
    with _lock:
        _loaded.update(number=None, model=None, checked=0.0)


# ------------------------------------------------------------------------------------------ label → leaf


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}


# Remembered per snapshot of the tree. A memo holds a reference to the very dict it was computed from and serves only
# that dict — an id() alone can be reused by a new dict once the old one is freed (after a reload), which handed out
# categories that no longer existed. A reload swaps in a fresh memo object, so threads never mix two trees.
@dataclass
class _Memo:
    tree: dict[str, Category] | None = None
    leaves: dict[str, list[Category]] = field(default_factory=dict)
    grams: dict[str, list[tuple[Category, set[str], set[str]]]] = field(default_factory=dict)


_memo = _Memo()


def _memo_for(by_code: dict[str, Category]) -> _Memo:
    global _memo
    memo = _memo
    if memo.tree is not by_code:
        memo = _Memo(by_code)
        _memo = memo
    return memo


def _leaves_under(code: str, by_code: dict[str, Category]) -> list[Category]:
    """The active leaves below ``code``."""
    memo = _memo_for(by_code)
    found = memo.leaves.get(code)
    if found is None:
        found = [c for k, c in by_code.items() if k.startswith(code) and len(k) == 6 and c.active]
        memo.leaves[code] = found
    return found


def _leaf_grams(code: str, by_code: dict[str, Category]) -> list[tuple[Category, set[str], set[str]]]:
    """Each leaf below ``code`` with the two-character pieces of its name and of its parent's."""
    memo = _memo_for(by_code)
    found = memo.grams.get(code)
    if found is None:
        found = []
        for leaf in _leaves_under(code, by_code):
            parent = by_code.get(leaf.code[:4])
            found.append((leaf, _bigrams(leaf.name), _bigrams(parent.name) if parent else set()))
        memo.grams[code] = found
    return found


@dataclass
class Resolved:
    category: Category
    via_names: bool = False  # the leaf inside a predicted class was found by the category names
    matched: list[str] = field(default_factory=list)


def text_grams(text: str) -> set[str]:
    return _bigrams(classifier.normalise(text))


def leaf_for(code: str, text: str, by_code: dict[str, Category], grams: set[str] | None = None) -> Resolved | None:
    """The leaf category a label stands for. A leaf stands for itself; a class stands for the leaf below it whose
    name (and its parent's) shares most two-character pieces with the text — 物业 in 「物业不作为」 finds
    物业管理 — and, where no name matches, its 其他 leaf."""
    node = by_code.get(code)
    if node is None or not node.active:
        return None
    leaves = _leaves_under(code, by_code)
    if not leaves:
        return Resolved(node)
    if len(code) == 6:
        return Resolved(node)
    grams = grams if grams is not None else text_grams(text)
    best, best_score, matched = None, 0.0, []
    for leaf, own_grams, up_grams in _leaf_grams(code, by_code):
        own, up = own_grams & grams, up_grams & grams
        score = 2 * len(own) + len(up) - (0.5 if leaf.code.endswith("99") else 0)
        if score > best_score:
            best, best_score, matched = leaf, score, sorted(own | up)
    if best is None:
        others = [c for c in leaves if c.code.endswith("99")]
        best = min(others or leaves, key=lambda c: c.code)
    return Resolved(best, via_names=True, matched=matched)
