"""Torch inside the full sandbox: what the digits demo's candidates do."""

from __future__ import annotations

import dataclasses

import pytest

from evoforge.sandbox import LayeredSandbox
from evoforge.tasks.outputs import read_array

from sandbox_support import FAST, Hostile


@pytest.mark.slow
def test_torch_trains_inside_the_sandbox(full_sandbox: LayeredSandbox, tmp_path: object) -> None:
    runner = Hostile(full_sandbox, tmp_path)  # type: ignore[arg-type]
    out = runner.run(
        """
        import numpy as np, torch
        torch.manual_seed(0)
        x = torch.randn(64, 8)
        y = (x.sum(1) > 0).long()
        model = torch.nn.Linear(8, 2)
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        for _ in range(50):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        np.save("pred.npy", model(x).argmax(1).numpy())
        np.save("truth.npy", y.numpy())
        """,
        limits=dataclasses.replace(FAST, wall_seconds=120, memory_mb=4096, scratch_mb=64),
        env={"OMP_NUM_THREADS": "1"},
    )
    assert out.result.exit_code == 0, out.result
    pred, truth = read_array(out.workdir, "pred.npy"), read_array(out.workdir, "truth.npy")
    assert (pred == truth).mean() > 0.9
