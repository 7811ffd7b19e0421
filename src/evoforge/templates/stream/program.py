"""A stream program: train on the window, predict the next batch.

evoforge runs it in the sandbox, in a folder holding train_x.npy (rows, features),
train_y.npy (labels), train_age.npy (batches ago each row arrived, 0 = newest) and
predict_x.npy. It writes predict_pred.npy (one label per row) and, for
`evoforge export`, its trained model as data files in model/.
"""

import os

import numpy as np

# EVOLVE-BLOCK-START
RECENT = 0  # evolve: int[0, 6]
STEPS = 50  # evolve: int[10, 400]
LR = 0.1  # evolve: log[0.001, 1.0]
L2 = 0.0  # evolve: float[0.0, 0.1]
# EVOLVE-BLOCK-END

x, y, age = np.load("train_x.npy"), np.load("train_y.npy"), np.load("train_age.npy")
if RECENT:
    x, y = x[age < RECENT], y[age < RECENT]
mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
z = (x - mean) / std
w, b = np.zeros(z.shape[1]), 0.0
for _ in range(STEPS):  # logistic regression by gradient descent
    p = 1.0 / (1.0 + np.exp(-(z @ w + b)))
    w -= LR * (z.T @ (p - y) / len(y) + L2 * w)
    b -= LR * float(np.mean(p - y))
px = (np.load("predict_x.npy") - mean) / std
np.save("predict_pred.npy", (px @ w + b > 0).astype(np.int64))
os.makedirs("model", exist_ok=True)
np.savez("model/logistic.npz", w=w, b=b, mean=mean, std=std)
