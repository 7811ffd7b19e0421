"""Learning algorithm discovered by evoforge (AutoML-Zero domain).

Memory, zeroed before setup: scalars s (s[0] label, s[1] prediction),
vectors v (v[0] features), matrices m. Dead instructions were removed.
Classification: learn sees s[1] = sigmoid(prediction), a probability.
Usage: python THIS_FILE.py TASKS.npz   (prints the mean fitness)
       python THIS_FILE.py --predict   (NAME_inputs.npz -> NAME_pred.npy)
"""

import sys

import numpy as np

N_FEATURES = 4
N_SCALARS = 4
N_VECTORS = 3
N_MATRICES = 1
MAX_ABS_ERROR = 100.0


# EVOLVE-BLOCK-START
def setup(s, v, m, rng):
    """Runs once, on zeroed memory, before training."""


def predict(s, v, m, rng):
    """Sets the prediction s[1] from the features v[0] (s[0] is 0 here)."""


def learn(s, v, m, rng):
    """Learns from one example: v[0] features, s[0] label, s[1] prediction."""
# EVOLVE-BLOCK-END


def predict_task(train_x, train_y, valid_x, seed, classify=False, epochs=1):
    """Train on one task, then predict its validation inputs.

    Returns one prediction per validation example (probabilities when
    classifying), or None when training ran away (the task then scores 0).
    """
    s = np.zeros(N_SCALARS)
    v = np.zeros((N_VECTORS, N_FEATURES))
    m = np.zeros((N_MATRICES, N_FEATURES, N_FEATURES))
    rng = np.random.RandomState(seed)
    setup(s, v, m, rng)
    for _ in range(epochs):
        for x, y in zip(train_x, train_y, strict=True):
            v[0] = x
            s[0] = 0.0
            predict(s, v, m, rng)
            if classify:
                s[1] = 1.0 / (1.0 + np.exp(-s[1]))
            if not abs(y - s[1]) <= MAX_ABS_ERROR:
                return None  # runaway training error: degenerate
            v[0] = x
            s[0] = y
            learn(s, v, m, rng)
    predictions = np.empty(len(valid_x))
    for k, x in enumerate(valid_x):
        v[0] = x
        s[0] = 0.0
        predict(s, v, m, rng)
        predictions[k] = 1.0 / (1.0 + np.exp(-s[1])) if classify else s[1]
    return predictions


def task_fitness(predictions, valid_y, classify=False):
    """Fitness in [0, 1]: accuracy, or 1 - 2/pi * arctan(RMSE) for regression."""
    if predictions is None:
        return 0.0
    if classify:
        if np.isnan(predictions).any():
            return 0.0
        return 1.0 - float(np.mean((valid_y > 0.5) != (predictions > 0.5)))
    errors = valid_y - predictions
    if not np.all(np.abs(errors) <= MAX_ABS_ERROR):
        return 0.0
    return float(1.0 - 2.0 / np.pi * np.arctan(np.sqrt(np.sum(errors * errors) / len(valid_y))))


def run_task(train_x, train_y, valid_x, valid_y, seed, classify=False, epochs=1):
    """Train on one task, then score on its validation examples (fitness in [0, 1])."""
    predictions = predict_task(train_x, train_y, valid_x, seed, classify, epochs)
    return task_fitness(predictions, valid_y, classify)


def _predictions(tasks):
    return [
        predict_task(tasks["train_x"][t], tasks["train_y"][t], tasks["valid_x"][t],
                     int(tasks["seeds"][t]), classify=bool(tasks["classify"]),
                     epochs=int(tasks["epochs"]))
        for t in range(len(tasks["seeds"]))
    ]


def evaluate(path):
    """Mean fitness over the tasks saved in ``path`` (.npz, with validation labels)."""
    with np.load(path, allow_pickle=False) as tasks, np.errstate(all="ignore"):
        classify = bool(tasks["classify"])
        scores = [task_fitness(p, y, classify)
                  for p, y in zip(_predictions(tasks), tasks["valid_y"], strict=True)]
    return float(np.mean(scores))


def predict_files(names=("val", "test")):
    """For each NAME, read NAME_inputs.npz (no validation labels) and write
    NAME_pred.npy: one row per task, NaN where training ran away."""
    for name in names:
        with np.load(f"{name}_inputs.npz", allow_pickle=False) as tasks, np.errstate(all="ignore"):
            rows = _predictions(tasks)
            out = np.full((len(rows), tasks["valid_x"].shape[1]), np.nan)
        for t, row in enumerate(rows):
            if row is not None:
                out[t] = row
        np.save(f"{name}_pred.npy", out)


if __name__ == "__main__":
    if sys.argv[1:] == ["--predict"]:
        predict_files()
    else:
        print(f"fitness: {evaluate(sys.argv[1]):.10f}")
