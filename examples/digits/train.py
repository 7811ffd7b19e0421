"""Train a digit classifier on the public inputs and write predictions.

Run as ``python train.py`` in the folder that holds the inputs written by the
task (train_x.npy, train_y.npy, val_x.npy, test_x.npy). Writes val_pred.npy and
test_pred.npy: one integer label 0..9 per input row. It never sees the labels
of the validation or test images; the task scores the predictions. It also writes
the trained weights, model.safetensors (data only: loading it runs no code), which
the run keeps for its champions (``[program] artifacts``; ``evoforge export``).

Only the evolve block changes between candidates. The frame around it owns
seeding, threads, data loading, the training loop and a cap on training time.
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

N_FEATURES = 64
IN_CHANNELS = 1
IMAGE = (IN_CHANNELS, 8, 8)
N_CLASSES = 10
TRAIN_SECONDS_CAP = 20.0
"""A safety net: training stops after the epoch that crosses this, whatever EPOCHS says."""

# The block uses the helpers below instead of writing shape arithmetic itself: the
# mutator may change any number inside the block, and a changed shape constant
# would only produce crashing candidates.


def as_images() -> nn.Module:
    """(batch, 64) -> (batch, channels, height, width)."""
    return nn.Unflatten(1, IMAGE)


def output_width(layers: list[nn.Module]) -> int:
    """Features per example after ``layers``, found by running them on a blank batch."""
    probe = nn.Sequential(*layers).eval()
    with torch.no_grad():
        return int(probe(torch.zeros(2, N_FEATURES)).shape[1])


# EVOLVE-BLOCK-START
MODEL = "linear"        # evolve: choice["linear", "mlp", "cnn"]
HIDDEN = [32]           # evolve: ints[16, 128] len[1, 2]
CHANNELS = [8]          # evolve: ints[4, 32] len[1, 2]
KERNEL = 3              # evolve: fixed
POOL = 2                # evolve: fixed
ACTIVATION = "relu"     # evolve: fixed
USE_BN = False          # evolve: bool
DROPOUT = 0.0           # evolve: float[0.0, 0.5]
PREPROCESS = "none"     # evolve: choice["none", "scale", "standardize"]
OPTIMIZER = "adam"      # evolve: fixed
LR = 0.0003             # evolve: log[1e-5, 0.1]
MOMENTUM = 0.9          # evolve: fixed
WEIGHT_DECAY = 0.0      # evolve: fixed
BATCH_SIZE = 64         # evolve: choice[32, 64, 128]
EPOCHS = 2              # evolve: int[1, 30]


def dense_layers(width: int) -> list[nn.Module]:
    """Hidden layers of HIDDEN, then the classifier; ``width`` is the input size."""
    layers: list[nn.Module] = []
    for units in HIDDEN if MODEL != "linear" else []:
        layers.append(nn.Linear(width, units))
        if USE_BN:
            layers.append(nn.BatchNorm1d(units))
        layers.append(activation())
        if DROPOUT:
            layers.append(nn.Dropout(DROPOUT))
        width = units
    layers.append(nn.Linear(width, N_CLASSES))
    return layers


def build_model() -> nn.Module:
    """A module from (batch, 64) floats to (batch, 10) logits."""
    if MODEL != "cnn":
        return nn.Sequential(*dense_layers(N_FEATURES))
    convs: list[nn.Module] = [as_images()]
    channels = IN_CHANNELS
    for out in CHANNELS:
        convs.append(nn.Conv2d(channels, out, KERNEL, padding="same"))
        if USE_BN:
            convs.append(nn.BatchNorm2d(out))
        convs.append(activation())
        channels = out
    convs.append(nn.MaxPool2d(POOL))
    convs.append(nn.Flatten())
    return nn.Sequential(*convs, *dense_layers(output_width(convs)))


def activation() -> nn.Module:
    return {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}[ACTIVATION]()


def preprocess(train_x: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Transform ``x`` using statistics of the training inputs only."""
    if PREPROCESS == "scale":
        return x / train_x.max()
    if PREPROCESS == "standardize":
        return (x - train_x.mean(axis=0)) / train_x.std()  # evolve: fixed
    return x
# EVOLVE-BLOCK-END


class Optimizer:
    """SGD (with momentum) or Adam, as torch.optim computes them, with L2 weight decay.

    Written out because torch.optim loads the compiler stack on first use, which
    costs more than a whole training run here; the demo runs many short candidates.
    """

    def __init__(self, params: list[torch.Tensor]) -> None:
        self.params = params
        self.first = [torch.zeros_like(p) for p in params]
        self.second = [torch.zeros_like(p) for p in params]
        self.steps = 0

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        for p, m, v in zip(self.params, self.first, self.second, strict=True):
            if p.grad is None:
                continue
            g = p.grad + WEIGHT_DECAY * p
            if OPTIMIZER == "adam":
                m.mul_(0.9).add_(g, alpha=0.1)
                v.mul_(0.999).addcmul_(g, g, value=0.001)
                m_hat = m / (1 - 0.9**self.steps)
                v_hat = v / (1 - 0.999**self.steps)
                p.sub_(LR * m_hat / (v_hat.sqrt() + 1e-8))
            else:
                if self.steps == 1:  # as torch.optim.SGD: momentum starts at the first gradient
                    m.copy_(g)
                else:
                    m.mul_(MOMENTUM).add_(g)
                p.sub_(LR * m)


def predict(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return model(x).argmax(dim=1).numpy().astype(np.int64)


def main() -> None:
    seed = int(os.environ.get("EVOFORGE_SEED", "0"))
    share = float(os.environ.get("EVOFORGE_FIDELITY", "1"))  # a [fidelity] rung's share
    epochs = max(1, round(EPOCHS * share))
    torch.set_num_threads(1)  # two candidates share two cores
    torch.manual_seed(seed)
    np.random.seed(seed)

    raw_train = np.load("train_x.npy", allow_pickle=False)
    y = torch.from_numpy(np.load("train_y.npy", allow_pickle=False)).long()
    inputs = {
        name: torch.from_numpy(preprocess(raw_train, raw).astype(np.float32))
        for name, raw in (
            ("train", raw_train),
            ("val", np.load("val_x.npy", allow_pickle=False)),
            ("test", np.load("test_x.npy", allow_pickle=False)),
        )
    }
    x = inputs["train"]

    model = build_model()
    optimizer = Optimizer(list(model.parameters()))
    loss_fn = nn.CrossEntropyLoss()
    started = time.monotonic()
    epochs_run = 0
    loss = float("nan")
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x))
        total = 0.0
        for i in range(0, len(x), BATCH_SIZE):
            batch = order[i : i + BATCH_SIZE]
            model.zero_grad()
            batch_loss = loss_fn(model(x[batch]), y[batch])
            batch_loss.backward()
            optimizer.step()
            total += batch_loss.item() * len(batch)
        loss = total / len(x)
        epochs_run += 1
        if not np.isfinite(loss) or time.monotonic() - started > TRAIN_SECONDS_CAP:
            break

    train_acc = float((predict(model, x) == y.numpy()).mean())
    np.save("val_pred.npy", predict(model, inputs["val"]), allow_pickle=False)
    np.save("test_pred.npy", predict(model, inputs["test"]), allow_pickle=False)
    weights = {name: t.detach().contiguous() for name, t in model.state_dict().items()}
    save_file(weights, "model.safetensors")
    print(f"epochs_run: {epochs_run}")
    print(f"train_loss: {loss:.4f}")
    print(f"train_accuracy: {train_acc:.4f}")
    print(f"train_seconds: {time.monotonic() - started:.1f}")


if __name__ == "__main__":
    main()
