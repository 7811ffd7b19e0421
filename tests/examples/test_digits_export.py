"""The digits demo's champion, exported: its train.py runs standalone on the task's
inputs in the exported folder, and its kept model.safetensors loads into the model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import evoforge

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits"

LOAD = """
import json, sys
import torch
from safetensors.torch import load_file
import train

model = train.build_model()
model.load_state_dict(load_file("model.safetensors"))
print(json.dumps({"tensors": len(model.state_dict())}))
"""


@pytest.mark.slow
def test_the_exported_champion_runs_and_its_kept_weights_load(tmp_path: Path) -> None:
    exp = tmp_path / "digits"
    shutil.copytree(EXAMPLE, exp, ignore=shutil.ignore_patterns("runs", "__pycache__"))
    toml = exp / "evoforge.toml"
    text = toml.read_text().replace("candidates = 120", "candidates = 3")
    toml.write_text(text.replace("[proposer]", '[sandbox]\nlayers = "process"\n\n[proposer]'))
    run = evoforge.run(exp, progress=False)
    champion = run.champion()
    assert run.state == "finished" and champion is not None

    out = run.export(tmp_path / "champion")
    note = json.loads((out / "candidate.json").read_text())
    assert note["candidate"] == champion.id and note["artifacts"]["model.safetensors"]["kept"]
    assert not (out / "val_y.npy").exists() and not (out / "test_y.npy").exists()  # never labels
    (out / "model.safetensors").rename(out / "kept.safetensors")
    env = dict(os.environ, EVOFORGE_SEED="0", OMP_NUM_THREADS="1")
    ran = subprocess.run([sys.executable, "train.py"], cwd=out, env=env, capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert (out / "val_pred.npy").is_file() and (out / "test_pred.npy").is_file()
    # the same code and seed retrain to the same weights the run kept (CPU torch is deterministic)
    assert (out / "model.safetensors").read_bytes() == (out / "kept.safetensors").read_bytes()
    loaded = subprocess.run([sys.executable, "-c", LOAD], cwd=out, capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    assert json.loads(loaded.stdout)["tensors"] > 0
