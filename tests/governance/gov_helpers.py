"""Tiny experiments for the governance tests, written by the tests themselves."""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evoforge import session
from evoforge.archive import Archive, SQLiteArchive
from evoforge.candidate import Candidate, Evaluation
from evoforge.config import PromotionSection, TaskSection
from evoforge.executors import InlineExecutor
from evoforge.gates import EvolveRegionGate
from evoforge.governance.audit import AuditLog
from evoforge.governance.promotion import Promoter
from evoforge.governance.run_audit import Audit
from evoforge.loop import Loop
from evoforge.loop_state import Budget
from evoforge.program import replace_block
from evoforge.proposers._base import Feedback, Parent, Proposal, ProposalError, Proposer
from evoforge.runner import Job
from evoforge.selection import AgingTournament

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
{roles}

[limits]
wall_seconds = 20
memory_mb = 1024

[budget]
candidates = {candidates}

[run]
workers = {workers}

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
    bounds = {"score": (0.0, 1.0), "heldout": (0.0, 1.0), "gate": (0.0, 1.0)}

    def prepare(self, workdir: Path, *, seed: int) -> None:
        (workdir / "seed.json").write_text(json.dumps(seed))

    def score(self, workdir: Path) -> dict[str, float]:
        score, hidden = self.raw(workdir)
        if EXAMPLES:  # the score is then the share of "validation examples" right
            score = sum(self.correct(score)) / EXAMPLES
        return {"score": score, "heldout": hidden, "gate": hidden}

    def raw(self, workdir: Path) -> tuple[float, float]:
        out = read_json(workdir, "out.json")
        if not isinstance(out, dict):
            raise OutputError("out.json must be an object")
        seed = json.loads((workdir / "seed.json").read_text())
        wobble = noise(seed + int(out["offset"]), NOISE)
        # A naive counter the candidate can overfill: the task's bounds catch it.
        return float(out["quality"]) + wobble + out["hits"] / 10, float(out["heldout"]) + wobble

    def correct(self, score: float) -> list[float]:
        right = round(min(max(score, 0.0), 1.0) * EXAMPLES)
        return [1.0 if i < right else 0.0 for i in range(EXAMPLES)]
# EXAMPLE_SCORES

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


# The optional hook, written into the task only when a test asks for it: a task that
# does not define it is what the promoter's run-start warning is about.
EXAMPLE_SCORES = """
    def example_scores(self, workdir: Path) -> dict[str, list[float]]:
        return {"score": self.correct(self.raw(workdir)[0])}
"""

ROLES = 'heldout = ["heldout"]\ngate = ["gate"]'
"""The task's hidden metrics: ``heldout`` is the test split, ``gate`` may veto promotions."""


def write_experiment(
    folder: Path,
    *,
    candidates: int = 8,
    promotion: str = 'approval = "auto"\nreruns = 0',
    noise_scale: float = 0.0,
    roles: str = ROLES,
    examples: int = 0,
    workers: int = 2,
) -> Path:
    """The tiny experiment; ``examples`` > 0 makes the score the share of that many
    "validation examples" right, and gives the task ``example_scores`` for them."""
    folder.mkdir(parents=True, exist_ok=True)
    config = CONFIG.format(candidates=candidates, promotion=promotion, roles=roles, workers=workers)
    (folder / "evoforge.toml").write_text(config)
    task = TASK.replace("# EXAMPLE_SCORES\n", EXAMPLE_SCORES if examples else "")
    task = task.replace("NOISE)", f"{noise_scale!r})").replace("EXAMPLES", str(examples))
    (folder / "task.py").write_text(task)
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


BLOCK = "QUALITY = {q}\nOFFSET = {o}\nHITS = {h}\nLEAK = {leak}\n{extra}"


class Scripted(Proposer):
    """Proposes the given evolve-block bodies in order, each from the seed."""

    name = "scripted"

    def __init__(self, bodies: Sequence[str]) -> None:
        self.bodies = list(bodies)

    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        if not self.bodies:
            raise ProposalError("script finished")
        seed = feedback.seed["program.py"]
        return Proposal(
            {"program.py": replace_block(seed, "program.py", 0, self.bodies.pop(0))}, "scripted"
        )


def body(q: float = 0.5, o: int = 0, h: int = 0, leak: float = 0.0, extra: str = "") -> str:
    return BLOCK.format(q=q, o=o, h=h, leak=leak, extra=extra)


def run_script(exp: Path, bodies: list[str]) -> tuple[SQLiteArchive, Path]:
    outcome = session.start(exp, proposer=Scripted(bodies))
    return SQLiteArchive(outcome.run.archive, readonly=True), outcome.run.path


def by_quality(archive: Archive) -> list[Candidate]:
    return [c for c in archive.candidates() if c.proposer == "scripted"]


def champions(archive: Archive) -> list[int]:
    return [m.candidate_id for m in archive.champion_history()]


SEED = {"p.py": "# EVOLVE-BLOCK-START\nX = 0\n# EVOLVE-BLOCK-END\nprint(X)\n"}


class Sequence_(Proposer):
    """Sets X to the next of the given values, whatever the parent."""

    name = "sequence"

    def __init__(self, xs: Sequence[int]) -> None:
        self.xs = list(xs)

    def propose(
        self, parents: Sequence[Parent], feedback: Feedback, rng: random.Random
    ) -> Proposal:
        if not self.xs:
            raise ProposalError("sequence finished")
        text = replace_block(parents[0].files["p.py"], "p.py", 0, f"X = {self.xs.pop(0)}\n")
        return Proposal({"p.py": text}, operator="set")


def x_score(job: Job) -> Evaluation:
    """Deterministic: the score is X, whatever the seed (re-runs agree exactly)."""
    x = int(job.files["p.py"].split("X = ")[1].split("\n")[0])
    return Evaluation(ok=True, metrics={"score": float(x)}, heldout={"test": float(x)})


def inline_loop(archive: Archive, xs: Sequence[int], **promotion: Any) -> Loop:
    """A loop in this process (no sandbox), one child per value of ``xs``, scored X."""
    audit = Audit(AuditLog(Path(tempfile.mkdtemp()) / "audit.jsonl"), archive)
    promoter = Promoter(
        archive, audit, TaskSection(objective="score"), PromotionSection(**promotion)
    )
    return Loop(
        archive=archive, executor=InlineExecutor(x_score), proposer=Sequence_(xs),
        selector=AgingTournament(population=5, tournament=2), gates=[EvolveRegionGate()],
        seed_files=SEED, objective="score", maximize=True,
        budget=Budget(candidates=len(xs) + 1, deadline=None, max_consecutive_rejections=20),
        workers=2, promoter=promoter, audit=audit,
    )  # fmt: skip
