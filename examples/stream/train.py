"""The stream example's program: train on the window's rows, predict the next batch.

Run as ``python train.py`` in the folder that holds what evoforge's window task
writes: train_x.npy float64 (n, d), train_y.npy int64 (n,), train_age.npy int64
(n,) (batches ago each row arrived; 0 is the newest training batch) and
predict_x.npy (m, d). Writes predict_pred.npy (m,) integer labels, and the trained
model as data into model/: model.json (the settings, the classes and a hash of
the training data) and model.npz (the node arrays of each tree, or the
coefficients of the linear model). Never pickle.

NumPy only: the program is retrained at every batch, and importing scikit-learn
alone takes longer (1.5-2 s) than training these models on a window of a few
thousand rows; a run takes about 0.3 s.

The seed is deliberately plain: a shallow tree on every row of the window, all
weighted alike. After a sudden drift most of the window still follows the old
rule, so the seed recovers only as the window turns over. The evolve block holds
what can fix that: RECENT (train only on the newest batches), AGE_DECAY (weigh
newer rows more), the model family and its capacity.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# EVOLVE-BLOCK-START
MODEL = "tree"  # evolve: choice["tree", "forest", "logreg"]
DEPTH = 3  # evolve: int[1, 12]
MIN_LEAF = 20  # evolve: int[1, 60]
TREES = 20  # evolve: int[5, 60]
RECENT = 0  # evolve: int[0, 7]
AGE_DECAY = 0.0  # evolve: float[0.0, 1.0]
BALANCED = False  # evolve: bool
L2 = 1.0  # evolve: log[0.001, 100.0]
# EVOLVE-BLOCK-END
# RECENT = 0 trains on every row of the window, else only on rows with age < RECENT.
# Row weights are (1 - AGE_DECAY) ** age: 0 weighs all alike, 1 keeps only the newest
# batch. BALANCED reweighs the classes to equal total weight. L2: the linear model's
# ridge penalty. TREES: trees of the forest (bootstrap rows, sqrt(d) features a split).

SETTINGS = ("MODEL", "DEPTH", "MIN_LEAF", "TREES", "RECENT", "AGE_DECAY", "BALANCED", "L2")


def select(
    x: np.ndarray, y: np.ndarray, age: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows to train on and their weights (mean 1)."""
    keep = age < RECENT if RECENT > 0 else np.ones(len(y), dtype=bool)
    if not keep.any():  # never train on nothing
        keep = age == age.min()
    weight = np.power(1.0 - AGE_DECAY, age.astype(np.float64))
    keep &= weight > 0
    if not keep.any():
        keep, weight = age == age.min(), np.ones(len(y))
    x, y, weight = x[keep], y[keep], weight[keep]
    if BALANCED:
        classes, index = np.unique(y, return_inverse=True)
        totals = np.bincount(index, weights=weight)
        weight = weight / totals[index] * (weight.sum() / len(classes))
    return x, y, weight / weight.mean()


@dataclass
class Tree:
    """A CART classification tree (weighted Gini) as flat node arrays, sklearn's layout:
    ``left``/``right`` child ids (-1 at a leaf), split ``feature`` and ``threshold``
    (go left when x <= threshold), ``value`` the weighted class counts of each node."""

    left: list[int] = field(default_factory=list)
    right: list[int] = field(default_factory=list)
    feature: list[int] = field(default_factory=list)
    threshold: list[float] = field(default_factory=list)
    value: list[np.ndarray] = field(default_factory=list)

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "left": np.asarray(self.left, dtype=np.int64),
            "right": np.asarray(self.right, dtype=np.int64),
            "feature": np.asarray(self.feature, dtype=np.int64),
            "threshold": np.asarray(self.threshold, dtype=np.float64),
            "value": np.asarray(self.value, dtype=np.float64),
        }


def best_split(x: np.ndarray, onehot: np.ndarray, features: np.ndarray) -> tuple[float, int, float]:
    """(weighted Gini of the children, feature, threshold) of the best split of these rows
    that leaves MIN_LEAF rows on each side; feature -1 when there is none."""
    best = (np.inf, -1, 0.0)
    n = len(x)
    if n < 2 * MIN_LEAF:
        return best
    counts = np.arange(1, n)
    room = (counts >= MIN_LEAF) & (n - counts >= MIN_LEAF)
    for j in features:
        order = np.argsort(x[:, j], kind="stable")
        xs = x[order, j]
        left = np.cumsum(onehot[order], axis=0)[:-1]
        right = left[-1] + onehot[order[-1]] - left
        wl, wr = left.sum(axis=1), right.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            gini = wl - (left**2).sum(axis=1) / wl + wr - (right**2).sum(axis=1) / wr
        ok = room & (xs[1:] > xs[:-1]) & (wl > 0) & (wr > 0)
        if not ok.any():
            continue
        gini = np.where(ok, gini, np.inf)
        i = int(np.argmin(gini))
        if gini[i] < best[0]:
            best = (float(gini[i]), int(j), float((xs[i] + xs[i + 1]) / 2))
    return best


def grow(x: np.ndarray, onehot: np.ndarray, rng: np.random.Generator, max_features: int) -> Tree:
    tree = Tree()
    stack = [(np.arange(len(x)), 0, -1, False)]  # rows, depth, parent, is right child
    while stack:
        rows, depth, parent, is_right = stack.pop()
        node = len(tree.left)
        value = onehot[rows].sum(axis=0)
        tree.left.append(-1)
        tree.right.append(-1)
        tree.feature.append(-1)
        tree.threshold.append(0.0)
        tree.value.append(value)
        if parent >= 0:
            (tree.right if is_right else tree.left)[parent] = node
        impurity = value.sum() - (value**2).sum() / max(value.sum(), 1e-12)
        if depth >= DEPTH or impurity <= 1e-12:
            continue
        d = x.shape[1]
        features = np.arange(d) if max_features >= d else rng.choice(d, max_features, replace=False)
        gini, j, thr = best_split(x[rows], onehot[rows], features)
        if j < 0 or gini >= impurity - 1e-12:
            continue
        tree.feature[node], tree.threshold[node] = j, thr
        go_left = x[rows, j] <= thr
        stack.append((rows[~go_left], depth + 1, node, True))
        stack.append((rows[go_left], depth + 1, node, False))
    return tree


def tree_proba(t: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    node = np.zeros(len(x), dtype=np.int64)
    rows = np.arange(len(x))
    while True:
        inner = t["feature"][node] >= 0
        if not inner.any():
            break
        at, n = rows[inner], node[inner]
        go_left = x[at, t["feature"][n]] <= t["threshold"][n]
        node[inner] = np.where(go_left, t["left"][n], t["right"][n])
    value = t["value"][node]
    return value / np.maximum(value.sum(axis=1, keepdims=True), 1e-12)


def fit_logreg(x: np.ndarray, onehot01: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:
    """One-vs-rest L2 logistic regression on standardised inputs, by Newton steps."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    penalty = np.diag([L2] * (z.shape[1] - 1) + [0.0])
    coef = np.zeros((onehot01.shape[1], z.shape[1]))
    for k in range(onehot01.shape[1]):
        beta = np.zeros(z.shape[1])
        for _ in range(25):
            p = 1 / (1 + np.exp(-np.clip(z @ beta, -30, 30)))
            grad = z.T @ (w * (p - onehot01[:, k])) + penalty @ beta
            hess = (z * (w * p * (1 - p))[:, None]).T @ z + penalty + 1e-9 * np.eye(len(beta))
            step = np.linalg.solve(hess, grad)
            beta -= step
            if np.abs(step).max() < 1e-6:
                break
        coef[k] = beta
    return {"mean": mean, "scale": scale, "coef": coef}


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """The trained model as named arrays (what model/model.npz holds)."""
    classes, index = np.unique(y, return_inverse=True)
    onehot01 = np.eye(len(classes))[index]
    model: dict[str, np.ndarray] = {"classes": classes}
    if MODEL == "logreg" and len(classes) > 1:
        return model | fit_logreg(x, onehot01, w)
    rng = np.random.default_rng(seed)
    if MODEL != "forest":
        return model | {
            f"t0_{k}": v
            for k, v in grow(x, onehot01 * w[:, None], rng, x.shape[1]).arrays().items()
        }
    max_features = max(1, int(np.sqrt(x.shape[1])))
    for i in range(TREES):
        boot = np.bincount(rng.integers(0, len(x), len(x)), minlength=len(x)).astype(np.float64)
        used = boot > 0
        tree = grow(x[used], onehot01[used] * (w * boot)[used, None], rng, max_features)
        model |= {f"t{i}_{k}": v for k, v in tree.arrays().items()}
    return model


def predict(model: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    classes = model["classes"]
    if "coef" in model:
        z = np.hstack([(x - model["mean"]) / model["scale"], np.ones((len(x), 1))])
        score = z @ model["coef"].T
        if score.shape[1] == 1:  # cannot happen (logreg needs two classes) but stay total
            return np.full(len(x), classes[0], dtype=np.int64)
        return classes[np.argmax(score, axis=1)].astype(np.int64)
    trees = sorted({k.split("_")[0] for k in model if k.startswith("t")})
    proba = sum(
        tree_proba(
            {k: model[f"{t}_{k}"] for k in ("left", "right", "feature", "threshold", "value")}, x
        )
        for t in trees
    )
    return classes[np.argmax(proba, axis=1)].astype(np.int64)


def fit_predict(
    train_x: np.ndarray,
    train_y: np.ndarray,
    train_age: np.ndarray,
    predict_x: np.ndarray,
    seed: int,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(the trained model's arrays, its int64 predictions for ``predict_x``)."""
    x, y, w = select(train_x, train_y, train_age)
    model = fit(x, y, w, seed)
    return model, predict(model, predict_x)


def main() -> None:
    seed = int(os.environ.get("EVOFORGE_SEED", "0"))
    train_x = np.load("train_x.npy", allow_pickle=False)
    train_y = np.load("train_y.npy", allow_pickle=False)
    train_age = np.load("train_age.npy", allow_pickle=False)
    predict_x = np.load("predict_x.npy", allow_pickle=False)
    model, pred = fit_predict(train_x, train_y, train_age, predict_x, seed)
    np.save("predict_pred.npy", pred, allow_pickle=False)

    folder = Path("model")
    folder.mkdir(exist_ok=True)
    np.savez_compressed(folder / "model.npz", **model)
    digest = hashlib.sha256()
    for a in (train_x, train_y, train_age):
        digest.update(np.ascontiguousarray(a).tobytes())
    info = {
        "settings": {n: globals()[n] for n in SETTINGS},
        "classes": model["classes"].tolist(),
        "train_rows": len(train_y),
        "train_sha256": digest.hexdigest(),
        "seed": seed,
        "predict": "model.npz: t<i>_* node arrays of each tree (go left when "
        "x[feature] <= threshold, leaf: feature -1; vote by normalised value), or "
        "mean/scale/coef of a one-vs-rest logistic model on [(x - mean) / scale, 1]",
    }
    (folder / "model.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
    used = len(select(train_x, train_y, train_age)[1])
    print(f"model: {MODEL}, rows used: {used} of {len(train_y)}")


if __name__ == "__main__":
    main()
