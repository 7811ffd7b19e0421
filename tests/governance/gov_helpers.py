"""Tiny experiments for the governance tests, written by the tests themselves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EVOFORGE = [sys.executable, "-m", "evoforge.cli"]

CONFIG = """
[experiment]
name = "gov"
seed = 0

[program]
files = ["program.py"]
command = ["{{python}}", "program.py"]

[task]
module = "task.py"
objective = "score"
direction = "maximize"
heldout = ["heldout"]

[limits]
wall_seconds = 20
memory_mb = 1024

[budget]
candidates = {candidates}

[run]
workers = 2

[sandbox]
layers = "process"

[promotion]
{promotion}
"""

# The score is computed by the trusted task from what the candidate writes; the
# program's parameters are written out as-is, so tests control quality exactly.
TASK = """
import hashlib
import json
from pathlib import Path

from evoforge.tasks import OutputError, Task, read_json


def noise(seed: int, scale: float) -> float:
    h = int(hashlib.sha256(str(seed).encode()).hexdigest()[:8], 16)
    return (h / 0xFFFFFFFF - 0.5) * 2 * scale


class Gov(Task):
    bounds = {"score": (0.0, 1.0), "heldout": (0.0, 1.0)}

    def prepare(self, workdir: Path, *, seed: int) -> None:
        (workdir / "seed.json").write_text(json.dumps(seed))

    def score(self, workdir: Path) -> dict[str, float]:
        out = read_json(workdir, "out.json")
        if not isinstance(out, dict):
            raise OutputError("out.json must be an object")
        seed = json.loads((workdir / "seed.json").read_text())
        wobble = noise(seed + int(out["offset"]), NOISE)
        # A naive counter the candidate can overfill: the task's bounds catch it.
        score = float(out["quality"]) + wobble + out["hits"] / 10
        return {"score": score, "heldout": float(out["heldout"]) + wobble}

    def hidden_paths(self) -> list[Path]:
        return [Path(__file__).parent / "labels.json"]


task = Gov()
"""

# Quality and a leak that helps the search metric while it hurts the held-out one.
# The traps (OFFSET, HITS, LEAK) are fixed for the mutator: only the scripted
# gaming children of test_gaming.py set them, so a mutator run improves QUALITY alone.
PROGRAM = """import json

# EVOLVE-BLOCK-START
QUALITY = 0.5  # evolve: float[0.0, 0.9]
OFFSET = 0  # evolve: fixed
HITS = 0  # evolve: fixed
LEAK = 0.0  # evolve: fixed
# EVOLVE-BLOCK-END

out = {"quality": QUALITY + LEAK, "heldout": QUALITY - LEAK, "offset": OFFSET, "hits": HITS}
json.dump(out, open("out.json", "w"))
"""


def write_experiment(
    folder: Path,
    *,
    candidates: int = 8,
    promotion: str = 'approval = "auto"\nreruns = 0',
    noise_scale: float = 0.0,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "evoforge.toml").write_text(CONFIG.format(candidates=candidates, promotion=promotion))
    (folder / "task.py").write_text(TASK.replace("NOISE)", f"{noise_scale!r})"))
    (folder / "program.py").write_text(PROGRAM)
    (folder / "labels.json").write_text("[1, 0, 1]")
    return folder


def cli(*args: str, ok: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*EVOFORGE, *args], capture_output=True, text=True, timeout=timeout)
    if ok:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def summary(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        if ": " in line and not line.startswith(" "):
            k, v = line.split(": ", 1)
            out.setdefault(k, v)
    return out
