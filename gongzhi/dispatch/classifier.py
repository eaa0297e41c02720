"""The text classifier behind dispatch suggestions: character n-grams hashed into a fixed space, TF-IDF weighted,
a linear SVM per label, a temperature that turns its margins into probabilities, and an isotonic map of the
first suggestion's probability onto how often such a suggestion was right, so that the confidence means what it says.

Why this model (measured, bench/dispatch.py and the closing note of issue 11): on the public 问政 messages, character
1–3-grams with a linear SVM beat word segmentation (jieba), word+character unions, ridge, SGD and complement naive
Bayes; they need no dictionary, learn place names and jargon as they come, and answer in well under a millisecond.
Hashing instead of a vocabulary keeps the saved model free of any text it was trained on (a model file holds
numbers only) and its size fixed.

Inference is plain numpy (no scikit-learn at request time); training uses scikit-learn's LinearSVC."""

from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

N_FEATURES = 1 << 18
CALIBRATION_FOLDS = 5
MIN_CALIBRATION_ROWS = 200  # fewer out-of-fold rows than this: the temperature alone (a step map would overfit)
NGRAMS = (1, 2, 3)
_MULT = np.int64(1_000_003)
_MASK = np.int64(N_FEATURES - 1)
# Title n-grams count again in a space of their own: a title says what the message is about more densely.
_TITLE_SALT = np.int64(0x5BD1E995)


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, spaces dropped. (Folding digits was tried: it lost 0.005 macro-F1.)"""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(text.split())


def _hashes(text: str, salt: np.int64 | None = None) -> np.ndarray:
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    parts = []
    for n in NGRAMS:
        if len(codes) < n:
            break
        h = codes[: len(codes) - n + 1].copy()
        for k in range(1, n):
            h = h * _MULT ^ codes[k: len(codes) - n + 1 + k]
        h = h * np.int64(n + 7)
        if salt is not None:
            h = h ^ salt
        parts.append(h & _MASK)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def features(title: str, body: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Hashed, sublinear term counts of one message: (indices, values), not yet IDF-weighted or normalised."""
    t, b = normalise(title), normalise(body)
    hashed = [_hashes(t + b)]
    if t:
        hashed.append(_hashes(t, _TITLE_SALT))
    idx, counts = np.unique(np.concatenate(hashed), return_counts=True)
    return idx, 1.0 + np.log(counts)


def _batch_hashes(strings: Sequence[str], salt: np.int64 | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(row, hash) of every n-gram of many strings at once: the strings are joined with a separator and the
    n-grams that would cross one are dropped, so each hash equals what :func:`_hashes` gives for its string."""
    joined = "\x00".join(strings) + "\x00"
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    sep = codes == 0
    row_of = np.cumsum(sep) - sep  # the row each position belongs to
    rows, hashes = [], []
    for n in NGRAMS:
        if len(codes) < n:
            break
        count = len(codes) - n + 1
        h = codes[:count].copy()
        crosses = sep[:count].copy()
        for k in range(1, n):
            h = h * _MULT ^ codes[k: k + count]
            crosses |= sep[k: k + count]
        h = h * np.int64(n + 7)
        if salt is not None:
            h = h ^ salt
        keep = ~crosses
        rows.append(row_of[:count][keep])
        hashes.append(h[keep] & _MASK)
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(rows), np.concatenate(hashes)


def matrix(texts: Sequence[tuple[str, str]], progress: Callable[[int], None] | None = None,
           chunk: int = 2000) -> Any:
    """A CSR matrix of raw features for many (title, body) pairs, computed a chunk of texts at a time with numpy
    (the same values as :func:`features` row by row)."""
    from scipy.sparse import coo_matrix, csr_matrix, vstack

    parts = []
    for start in range(0, len(texts), chunk):
        part = texts[start: start + chunk]
        # One normalisation per chunk (the separator survives NFKC, lower() and the space removal).
        titles = normalise("\x00".join(t for t, _b in part)).split("\x00")
        bodies = normalise("\x00".join(b for _t, b in part)).split("\x00")
        r1, h1 = _batch_hashes([t + b for t, b in zip(titles, bodies, strict=True)])
        r2, h2 = _batch_hashes(titles, _TITLE_SALT)
        # Empty titles add no n-gram (the separator drops them), as in ``features``. Duplicates are summed into
        # counts by the COO → CSR conversion (cheaper than sorting every key).
        rows = np.concatenate([r1, r2])
        x = coo_matrix((np.ones(len(rows)), (rows, np.concatenate([h1, h2]))),
                       shape=(len(part), N_FEATURES)).tocsr()
        x.sum_duplicates()
        x.data = 1.0 + np.log(x.data)
        parts.append(x)
        if progress is not None:
            progress(min(start + chunk, len(texts)))
    if not parts:
        return csr_matrix((0, N_FEATURES))
    return vstack(parts, format="csr") if len(parts) > 1 else parts[0]


def l2_rows(x: Any) -> Any:
    """Each row scaled to unit length, in place (scikit-learn's ``normalize`` without importing it per process)."""
    indptr = x.indptr  # type: ignore[attr-defined]
    squares = np.add.reduceat(x.data ** 2, indptr[:-1]) if len(x.data) else np.zeros(0)  # type: ignore[attr-defined]
    lengths = np.diff(indptr)
    norms = np.ones(len(lengths))
    norms[lengths > 0] = np.sqrt(squares[lengths > 0])
    norms[norms == 0] = 1.0
    x.data = x.data / np.repeat(norms, lengths)  # type: ignore[attr-defined]
    return x


def idf_weighted(x: Any, idf: np.ndarray) -> Any:
    """Each stored value times its column's IDF, in place on the CSR arrays (``multiply`` would go dense)."""
    x.data = x.data * idf[x.indices]  # type: ignore[attr-defined]
    return x


@dataclass
class Prediction:
    labels: list[str]  # best first
    probabilities: list[float]
    reasons: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.labels[0]

    @property
    def confidence(self) -> float:
        return self.probabilities[0]


@dataclass
class TextModel:
    """A trained classifier: labels, IDF weights, one weight row and bias per label, the softmax temperature and the
    calibration map of the first suggestion's probability."""

    labels: list[str]
    idf: np.ndarray  # (N_FEATURES,) float32; 0 where a feature never occurred in training
    weights: np.ndarray  # (len(labels), N_FEATURES) float32
    bias: np.ndarray  # (len(labels),) float32
    temperature: float = 1.0
    # (2, k): the softmax's top probability at k knots and the share of such suggestions that was right (isotonic,
    # so non-decreasing); empty = no map (models saved before it, or too little data to fit one).
    calibration: np.ndarray = field(default_factory=lambda: np.zeros((2, 0)))

    # ------------------------------------------------------------------------------------------ inference

    def _vector(self, title: str, body: str) -> tuple[np.ndarray, np.ndarray]:
        idx, val = features(title, body)
        val = val * self.idf[idx]
        norm = math.sqrt(float(val @ val)) or 1.0
        return idx, val / norm

    def margins(self, title: str, body: str = "") -> np.ndarray:
        idx, val = self._vector(title, body)
        return self.weights[:, idx] @ val + self.bias

    def probabilities(self, margins: np.ndarray) -> np.ndarray:
        """Probabilities per label (one row of margins or many): the tempered softmax, its top probability mapped
        through the calibration and the others scaled to share what is left."""
        z = margins * self.temperature
        z = np.exp(z - z.max(axis=-1, keepdims=True))
        p = z / z.sum(axis=-1, keepdims=True)
        return calibrated(p, self.calibration)

    def predict(self, title: str, body: str = "", *, top: int = 3, explain: int = 0) -> Prediction:
        """The ``top`` labels with their probabilities; with ``explain``, that many phrases that weighed most for
        the first. One pass over the text serves both (the intake path asks for both)."""
        t, b = normalise(title), normalise(body)
        whole = _hashes(t + b)
        grams = np.concatenate([whole, _hashes(t, _TITLE_SALT)]) if t else whole
        idx, counts = np.unique(grams, return_counts=True)
        val = (1.0 + np.log(counts)) * self.idf[idx]
        val = val / (math.sqrt(float(val @ val)) or 1.0)
        p = self.probabilities(self.weights[:, idx] @ val + self.bias)
        order = np.argsort(-p)[:top]
        pred = Prediction([self.labels[i] for i in order], [round(float(p[i]), 4) for i in order])
        if explain:
            pred.reasons = self._phrases(t + b, whole, idx, val, int(order[0]), explain)
        return pred

    def predict_many(self, texts: Iterable[tuple[str, str]]) -> tuple[list[str], np.ndarray]:
        """Best label and its probability for each text (the batch path of the ``predict`` command)."""
        texts = list(texts)
        x = self._matrix(texts)
        p = self.probabilities(np.asarray(x @ self.weights.T) + self.bias)
        best = p.argmax(axis=1)
        return [self.labels[i] for i in best], p[np.arange(len(texts)), best]

    def _matrix(self, texts: Sequence[tuple[str, str]]) -> Any:
        return l2_rows(idf_weighted(matrix(texts), self.idf))

    def explain(self, title: str, body: str, label_index: int, *, limit: int = 5) -> list[str]:
        """The words that weighed most for ``label_index``: each character scores the contributions of the n-grams
        covering it; runs of positive characters are the phrases, ranked by their total."""
        t, b = normalise(title), normalise(body)
        idx, val = self._vector(title, body)
        return self._phrases(t + b, _hashes(t + b), idx, val, label_index, limit)

    def _phrases(self, text: str, hashed: np.ndarray, idx: np.ndarray, val: np.ndarray, label_index: int,
                 limit: int) -> list[str]:
        if not text:
            return []
        contribution = val * self.weights[label_index, idx]  # idx is sorted (np.unique)
        char_score = np.zeros(len(text))
        offset = 0
        for n in NGRAMS:  # the n-grams come out of _hashes n by n, each run in text order
            count = len(text) - n + 1
            if count <= 0:
                break
            grams = hashed[offset: offset + count]
            offset += count
            at = np.searchsorted(idx, grams)
            at[at >= len(idx)] = 0
            share = np.where(idx[at] == grams, contribution[at], 0.0) / n
            for k in range(n):
                char_score[k: k + count] += share
        phrases: dict[str, float] = {}
        threshold = max(float(char_score.max()) * 0.25, 1e-9)
        edges = np.diff(np.concatenate([[0], (char_score >= threshold).astype(np.int8), [0]]))
        for first, last in zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(),
                               strict=True):
            if last - first >= 2:
                phrase = text[first:last][:8]
                phrases[phrase] = max(phrases.get(phrase, 0.0), float(char_score[first:last].sum()))
        return [p for p, _s in sorted(phrases.items(), key=lambda kv: -kv[1])[:limit]]

    # ------------------------------------------------------------------------------------------ storage

    def to_bytes(self) -> bytes:
        """A compressed npz: float16 weights on the features that occurred (the model file is ~1–3 MB)."""
        used = np.flatnonzero(self.idf).astype(np.int32)
        buf = io.BytesIO()
        np.savez_compressed(buf, labels=np.array(self.labels), used=used, idf=self.idf[used].astype(np.float16),
                            weights=self.weights[:, used].astype(np.float16), bias=self.bias.astype(np.float32),
                            temperature=np.array([self.temperature]), calibration=self.calibration)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TextModel:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            used = z["used"]
            idf = np.zeros(N_FEATURES, dtype=np.float32)
            idf[used] = z["idf"].astype(np.float32)
            weights = np.zeros((len(z["labels"]), N_FEATURES), dtype=np.float32)
            weights[:, used] = z["weights"].astype(np.float32)
            return cls(labels=[str(x) for x in z["labels"]], idf=idf, weights=weights,
                       bias=z["bias"].astype(np.float32), temperature=float(z["temperature"][0]),
                       calibration=z["calibration"] if "calibration" in z.files else np.zeros((2, 0)))


# ------------------------------------------------------------------------------------------ training


def fit(texts: Sequence[tuple[str, str]], labels: Sequence[str], *, c: float = 1.0,
        progress: Callable[[str, int, int], None] | None = None) -> TextModel:
    """Train on (title, body) pairs. The temperature and then the isotonic map of the top probability are fitted on
    out-of-fold margins (5 folds within the training data) so that a suggestion said to be 80% sure is right about
    80% of the time. (Measured on the dev folds 1 and 2, fold 0 untouched: the temperature alone from 3 folds left
    an ECE of 0.026 / 0.035 title only and 0.025 / 0.034 title+body; 5 folds and the map 0.020 / 0.024 and
    0.005 / 0.014; a bias per class instead of the map did not help.) Classes are weighted by the inverse of their
    frequency (measured on two dev folds: +0.008 macro-F1 for title+body, +0.003–0.005 title only)."""
    from sklearn.model_selection import StratifiedKFold
    from sklearn.svm import LinearSVC

    n = len(texts)
    step = (lambda what, done: progress(what, done, n)) if progress else None
    raw = matrix(texts, (lambda done: step("特征", done)) if step else None).tocsr()  # type: ignore[attr-defined]
    df = np.bincount(raw.indices, minlength=N_FEATURES)
    idf = np.where(df >= 2, np.log((1 + n) / (1 + df)) + 1.0, 0.0).astype(np.float32)
    x = l2_rows(idf_weighted(raw, idf))
    y = np.asarray(labels)
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise ValueError("at least two labels are needed")
    folds = min(CALIBRATION_FOLDS, int(min(np.unique(y, return_counts=True)[1])))
    oof = np.zeros((n, len(classes)))
    truth = np.searchsorted(classes, y)
    if folds >= 2:
        for k, (tr, te) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=0).split(x, y)):
            if step:
                step("校准", (k * n) // folds)
            part = LinearSVC(C=c, class_weight="balanced").fit(x[tr], y[tr])
            oof[te] = _margins(part, x[te], classes)
        temperature = fit_temperature(oof, truth)
        calibration = fit_calibration(oof * temperature, truth)
    else:
        temperature, calibration = 1.0, np.zeros((2, 0))
    if step:
        step("训练", n)
    svm = LinearSVC(C=c, class_weight="balanced").fit(x, y)
    weights = np.zeros((len(classes), N_FEATURES), dtype=np.float32)
    bias = np.zeros(len(classes), dtype=np.float32)
    w, b = _coef(svm, classes)
    weights[:, :] = w
    bias[:] = b
    weights[:, idf == 0] = 0.0
    return TextModel(labels=list(classes), idf=idf, weights=weights, bias=bias, temperature=temperature,
                     calibration=calibration)


def _coef(svm: object, classes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    coef, intercept = svm.coef_, svm.intercept_  # type: ignore[attr-defined]
    if coef.shape[0] == 1:  # two labels: one row for the second; the first is its mirror
        coef = np.vstack([-coef, coef])
        intercept = np.array([-intercept[0], intercept[0]])
    order = [list(svm.classes_).index(c) for c in classes]  # type: ignore[attr-defined]
    return coef[order], intercept[order]


def _margins(svm: object, x: object, classes: list[str]) -> np.ndarray:
    w, b = _coef(svm, classes)
    return np.asarray(x @ w.T) + b  # type: ignore[operator]


def fit_temperature(margins: np.ndarray, truth: np.ndarray) -> float:
    """The temperature minimising the negative log-likelihood of the true labels (golden-section on a log scale)."""

    def nll(log_t: float) -> float:
        z = margins * math.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(truth)), truth].mean())

    lo, hi = math.log(0.1), math.log(100.0)
    phi = (math.sqrt(5) - 1) / 2
    for _ in range(60):
        a, b = hi - phi * (hi - lo), lo + phi * (hi - lo)
        if nll(a) < nll(b):
            hi = b
        else:
            lo = a
    return math.exp((lo + hi) / 2)


def fit_calibration(tempered: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """The isotonic map from the tempered softmax's top probability to how often the top label was right (fitted
    on out-of-fold margins), as (2, k) knots for ``np.interp``. A temperature scales every margin alike and so
    cannot be right both where the model is torn and where it is sure; the map can. Too few rows: no map."""
    from sklearn.isotonic import IsotonicRegression

    if len(truth) < MIN_CALIBRATION_ROWS:
        return np.zeros((2, 0))
    z = np.exp(tempered - tempered.max(axis=1, keepdims=True))
    p = z / z.sum(axis=1, keepdims=True)
    top = p.max(axis=1)
    right = (p.argmax(axis=1) == truth).astype(float)
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(top, right)
    return np.vstack([iso.X_thresholds_, iso.y_thresholds_]).astype(np.float64)


def calibrated(p: np.ndarray, calibration: np.ndarray) -> np.ndarray:
    """``p`` (probabilities per label, one row or many) with each row's top probability mapped through the
    calibration and the other labels scaled to share the rest in their proportions. The map never lets the
    second label overtake the first (the suggestion is the model's; only its confidence is corrected). No map:
    ``p`` unchanged."""
    if calibration.shape[1] == 0:
        return p
    rows = np.atleast_2d(p)
    at = np.arange(len(rows))
    best = rows.argmax(axis=1)
    top = rows[at, best]
    second = np.partition(rows, -2, axis=1)[:, -2] if rows.shape[1] > 1 else np.zeros(len(rows))
    rest = 1.0 - top
    # With the others scaled by (1 - c) / rest, the second stays below c when c >= second / (rest + second).
    floor = np.divide(second, rest + second, out=np.zeros_like(rest), where=rest + second > 1e-12)
    new_top = np.maximum(np.interp(top, calibration[0], calibration[1]), floor)
    scale = np.divide(1.0 - new_top, rest, out=np.zeros_like(rest), where=rest > 1e-12)
    out = rows * scale[:, None]
    out[at, best] = new_top
    return out if p.ndim == 2 else out[0]


# ------------------------------------------------------------------------------------------ measuring


@dataclass
class Scores:
    rows: int
    accuracy: float
    macro_f1: float
    ece: float
    per_label: dict[str, dict[str, float]]
    reliability: list[tuple[float, float, int]]  # (mean confidence, accuracy, count) per bin

    def as_dict(self) -> dict[str, object]:
        return {"rows": self.rows, "accuracy": self.accuracy, "macro_f1": self.macro_f1, "ece": self.ece,
                "per_label": self.per_label, "reliability": self.reliability}


def evaluate(model: TextModel, texts: Sequence[tuple[str, str]], labels: Sequence[str], *, bins: int = 10) -> Scores:
    """Accuracy, macro-F1, expected calibration error (10 equal-width bins) and per-label precision/recall."""
    predicted, confidence = model.predict_many(texts)
    truth = list(labels)
    correct = np.array([p == t for p, t in zip(predicted, truth, strict=True)])
    per_label: dict[str, dict[str, float]] = {}
    f1s = []
    for label in sorted(set(truth) | set(predicted)):
        tp = sum(1 for p, t in zip(predicted, truth, strict=True) if p == t == label)
        n_pred = sum(1 for p in predicted if p == label)
        n_true = sum(1 for t in truth if t == label)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_true if n_true else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {"precision": round(precision, 4), "recall": round(recall, 4), "support": n_true,
                            "predicted": n_pred}
        if n_true:
            f1s.append(f1)
    reliability = []
    ece = 0.0
    for k in range(bins):
        lo, hi = k / bins, (k + 1) / bins
        mask = (confidence > lo) & (confidence <= hi) if k else (confidence <= hi)
        count = int(mask.sum())
        if count:
            conf, acc = float(confidence[mask].mean()), float(correct[mask].mean())
            ece += count / len(truth) * abs(conf - acc)
            reliability.append((round(conf, 4), round(acc, 4), count))
    return Scores(rows=len(truth), accuracy=round(float(correct.mean()), 4) if truth else 0.0,
                  macro_f1=round(float(np.mean(f1s)), 4) if f1s else 0.0, ece=round(ece, 4),
                  per_label=per_label, reliability=reliability)
