"""Per-proposal overhead of the LLM proposer, without the model's own time.

The archive holds 1,000 candidates of examples/digits/train.py (a 196-line program
with a 60-line evolve block): variants of its settings, 85% succeeded with a
metric, 15% failed with a diff and a 2 KB stderr tail. Per proposal it measures:

  feedback     what the loop gathers for a proposer that wants context: the top 3
               by the objective and their code, recent failures (as Loop._feedback)
  prompt       build_messages + as_text: parent, inspirations, failures, rules
  edits        apply_answer on a 3-edit SEARCH/REPLACE answer, with every check
               (blocks only, frame byte-identical, parses, differs)
  record       storing the prompt and the response as blobs (SQLite, FULL sync)
  propose      LLMProposer.propose end to end against the replay server on
               127.0.0.1, which answers at once (HTTP and JSON included)

and prints the median and 90th percentile of each, in milliseconds.

    .venv/bin/python bench/llm_overhead.py [--candidates 1000] [--proposals 300]
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from evoforge.archive import SQLiteArchive
from evoforge.candidate import Candidate, Status
from evoforge.config import LLMModelSection, LLMSection
from evoforge.proposers._base import Feedback, Parent
from evoforge.proposers.llm import LLMProposer, apply_answer, build_messages, load_templates
from evoforge.proposers.llm.prompt import as_text
from evoforge.proposers.mutate import Mutator
from evoforge.testing import ReplayServer

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = (ROOT / "examples" / "digits" / "train.py").read_text()
OBJECTIVE = "val_accuracy"
STDERR = "Traceback (most recent call last):\n" + "  File 'train.py', line 120\n" * 70


def variant(rng: random.Random) -> dict[str, str]:
    text = re.sub(r"^LR = \S+", f"LR = {10 ** rng.uniform(-5, 0):.6g}", PROGRAM, flags=re.M)
    text = re.sub(r"^EPOCHS = \S+", f"EPOCHS = {rng.randint(1, 40)}", text, flags=re.M)
    return {"train.py": text}


def fill(archive: SQLiteArchive, n: int, rng: random.Random) -> None:
    archive.add(Candidate(id=0, code_hash=archive.put_code({"train.py": PROGRAM}), proposer="seed"))
    for i in range(n - 1):
        files = variant(rng)
        ok = rng.random() < 0.85
        cand = archive.add(
            Candidate(id=0, code_hash=archive.put_code(files), parent_ids=(1,), generation=1)
        )
        archive.update(
            cand.id,
            status=Status.SUCCEEDED if ok else Status.FAILED,
            metrics={OBJECTIVE: rng.uniform(0.5, 0.98)} if ok else {},
            heldout={"test_accuracy": rng.uniform(0.5, 0.98)} if ok else {},
            failure="" if ok else "exit code 1",
            diff="-LR = 0.001\n+LR = 3.0\n" * 3,
            stderr_tail="" if ok else STDERR,
            finished_at=time.time(),
        )
        if i % 200 == 0:
            archive.move_champion(cand.id, action="promote", reason="bench")


def loop_feedback(archive: SQLiteArchive) -> Feedback:
    """What Loop._feedback gathers for a proposer with ``wants_context`` (held-out stripped)."""

    def parent(c: Candidate) -> Parent:
        return Parent(replace(c, heldout={}), archive.get_code(c.code_hash))

    top = archive.top(OBJECTIVE, maximize=True, limit=3)
    recent = archive.candidates(statuses=(Status.FAILED,), since_id=max(0, archive.size() - 30))
    return Feedback(
        objective=OBJECTIVE,
        direction="maximize",
        seed={"train.py": PROGRAM},
        best=parent(top[0]),
        inspirations=[parent(c) for c in top[1:]],
        recent_failures=[replace(c, heldout={}) for c in recent[-3:]],
    )


def answer_for(files: dict[str, str]) -> str:
    text = files["train.py"]
    edits = []
    for name, new in (("MODEL", '"mlp"'), ("LR", "0.01"), ("EPOCHS", "12")):
        line = re.search(rf"^{name} = .*$", text, re.M)
        assert line is not None
        old = line.group(0)
        edits.append(
            f"<<<<<<< SEARCH\n{old}\n=======\n"
            f"{old.replace(old.split('=')[1].split('#')[0].strip(), new, 1)}\n>>>>>>> REPLACE\n"
        )
    return "Use an MLP with a larger learning rate and more epochs.\n\n" + "\n".join(edits)


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def report(name: str, ms: list[float]) -> None:
    p90 = statistics.quantiles(ms, n=10)[-1]
    print(f"{name}_ms_median: {statistics.median(ms):.3f}")
    print(f"{name}_ms_p90: {p90:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidates", type=int, default=1000)
    ap.add_argument("--proposals", type=int, default=300)
    args = ap.parse_args()
    rng = random.Random(0)
    templates = load_templates()
    with tempfile.TemporaryDirectory() as tmp:
        archive = SQLiteArchive(Path(tmp) / "archive.sqlite")
        fill(archive, args.candidates, rng)
        feedback = loop_feedback(archive)
        parent = feedback.best
        assert parent is not None
        answer = answer_for(dict(parent.files))

        def prompt() -> str:
            return as_text(build_messages(parent, feedback, templates, edit_format="diff"))

        text = prompt()
        child, used = apply_answer(answer, parent.files, seed=feedback.seed, edit_format="diff")
        assert used == "diff" and child != parent.files
        print(f"archive_candidates: {archive.size()}")
        print(f"prompt_chars: {len(text)}")
        print(f"proposals: {args.proposals}")
        report("feedback", timed(lambda: loop_feedback(archive), args.proposals))
        report("prompt", timed(prompt, args.proposals))
        report(
            "edits",
            timed(
                lambda: apply_answer(answer, parent.files, seed=feedback.seed, edit_format="diff"),
                args.proposals,
            ),
        )
        serial = itertools.count()  # every proposal's prompt differs: no dedup shortcut

        def record() -> None:
            n = next(serial)
            archive.put_blob(f"{text}\n{n}")
            archive.put_blob(f"{answer}\n{n}")

        report("record", timed(record, args.proposals))
        with ReplayServer(default=answer) as server:
            model = LLMModelSection(name="replay", base_url=server.url)
            proposer = LLMProposer(
                LLMSection(models=[model]), templates=templates, fallback=Mutator()
            )
            ms = timed(lambda: proposer.propose([parent], feedback, rng), args.proposals)
        report("propose", ms)
        archive.close()


if __name__ == "__main__":
    main()
