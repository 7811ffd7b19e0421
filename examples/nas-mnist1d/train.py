"""Train the network ARCH describes on MNIST-1D and write predictions and weights.

Run as ``python train.py`` in the folder that holds the task's inputs (train_x.npy,
train_y.npy, val_x.npy, test_x.npy). Writes val_pred.npy, test_pred.npy (labels
0..9) and model.safetensors (the trained weights, as data). The network is built by
``nas_cell.build`` (outside the evolve block: a candidate changes the description,
never the builder); the evolve block holds the architecture literal, which the
architecture search edits, and the training settings.
"""

from __future__ import annotations

import os
import time

import nas_cell
import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

N_CLASSES = 10
TRAIN_SECONDS_CAP = 60.0
"""A safety net: training stops after the epoch that crosses this, whatever EPOCHS says."""

# EVOLVE-BLOCK-START
ARCH = {"conv": "1d", "stem": 8, "stages": [[1, 8]], "cell": ["conv3", "none", "none", "none", "skip", "none"]}  # evolve: fixed  # the architecture search edits it; the mutator leaves it
LR = 0.003              # evolve: log[1e-4, 0.03]
BATCH_SIZE = 64         # evolve: choice[32, 64, 128]
EPOCHS = 8              # evolve: fixed
# EVOLVE-BLOCK-END


class Adam:
    """Adam as torch.optim computes it, written out: torch.optim loads the compiler
    stack on first use, which costs more than a short training run."""

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
            m.mul_(0.9).add_(p.grad, alpha=0.1)
            v.mul_(0.999).addcmul_(p.grad, p.grad, value=0.001)
            m_hat = m / (1 - 0.9**self.steps)
            v_hat = v / (1 - 0.999**self.steps)
            p.sub_(LR * m_hat / (v_hat.sqrt() + 1e-8))


def predict(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return model(x).argmax(dim=1).numpy().astype(np.int64)


def main() -> None:
    seed = int(os.environ.get("EVOFORGE_SEED", "0"))
    share = float(os.environ.get("EVOFORGE_FIDELITY", "1"))  # [fidelity]: a rung's share
    epochs = max(1, round(EPOCHS * share))
    torch.set_num_threads(1)  # two candidates share two cores
    torch.manual_seed(seed)
    np.random.seed(seed)

    def load(name: str) -> torch.Tensor:  # (n, 40) -> (n, 1 channel, 40)
        return torch.from_numpy(np.load(name, allow_pickle=False)).float().unsqueeze(1)

    x, val, test = load("train_x.npy"), load("val_x.npy"), load("test_x.npy")
    y = torch.from_numpy(np.load("train_y.npy", allow_pickle=False)).long()
    model = nas_cell.build(ARCH, in_channels=1, n_classes=N_CLASSES)
    optimizer = Adam(list(model.parameters()))
    loss_fn = nn.CrossEntropyLoss()
    started = time.monotonic()
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
        if not np.isfinite(loss) or time.monotonic() - started > TRAIN_SECONDS_CAP:
            break
    np.save("val_pred.npy", predict(model, val), allow_pickle=False)
    np.save("test_pred.npy", predict(model, test), allow_pickle=False)
    save_file({k: t.contiguous() for k, t in model.state_dict().items()}, "model.safetensors")
    print(f"params: {nas_cell.parameters(model)}")
    print(f"train_loss: {loss:.4f}")
    print(f"train_seconds: {time.monotonic() - started:.1f}")


if __name__ == "__main__":
    main()
