"""Soak: a long LLM run against a server that answers badly 80% of the time, stopped and
resumed again and again, two workers, every sandbox layer on.

Bad answers come in every way a real endpoint fails: bodies that are not JSON, no
``choices``, error objects, 500 and 429, answers slower than the timeout, answers
larger than the cap, several fenced blocks, edits that match nothing or change
nothing, the same program again (duplicates), empty answers; CRLF line ends are a
good answer in disguise. The run must end with every candidate recorded exactly
once, the budgets kept, every request in the ledger, no process left and the audit
log verified. Its figures go to ``test-artifacts/soak.txt`` (and bench/RESULTS.md).
"""

from __future__ import annotations

import random
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from evoforge.archive import SQLiteArchive
from evoforge.candidate import Status
from evoforge.testing import RecordedRequest, ReplayServer, Reply

from experiment_helpers import processes_with, set_config

EVOFORGE = [sys.executable, "-m", "evoforge.cli"]
CANDIDATES = 200
STOP_EVERY = 12.0
"""Seconds between stops (``stop --now``), each followed by ``resume``."""
MAX_STOPS = 6

MARKED = """import os
import sys
import time

MARK = "{mark}"
if MARK not in sys.argv:  # re-exec, so that the candidate's command line carries the mark
    os.execv(sys.executable, [sys.executable, "program.py", MARK])
"""


class BadServer:
    """Answers one good edit in five; the rest fail in one of many ways, drawn at random."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.kinds: dict[str, int] = {}

    def __call__(self, request: RecordedRequest) -> Reply | str:
        with self.lock:
            good = self.rng.random() < 0.2
            kind = "good" if good else self.rng.choice(BAD)
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
            value = self.rng.uniform(-3.0, 3.0)
            name = self.rng.choice("ABC")
        return answer(kind, request, name, value)


BAD = (
    "not_json", "no_choices", "error_object", "http_500", "http_429", "timeout", "too_large",
    "crlf", "several_fences", "no_match", "no_change", "duplicate", "empty",
)  # fmt: skip


def answer(kind: str, request: RecordedRequest, name: str, value: float) -> Reply | str:
    program = request.prompt.split("## The program", 1)[-1]
    line = re.search(rf"^{name} = (\S+)(.*)$", program, re.M)
    old = line.group(0) if line else f"{name} = 0.0"
    edit = f"<<<<<<< SEARCH\n{old}\n=======\n{name} = {value:.6f}{line.group(2) if line else ''}\n>>>>>>> REPLACE\n"
    if kind == "good":
        return f"Move {name}.\n{edit}"
    if kind == "crlf":
        return f"Move {name}.\n{edit}".replace("\n", "\r\n")
    replies: dict[str, Reply | str] = {
        "not_json": Reply(raw="<html>502 bad gateway</html>"),
        "no_choices": Reply(raw='{"id": "x", "object": "chat.completion", "usage": {"prompt_tokens": 9, "completion_tokens": 1}}'),
        "error_object": Reply(error="the model is overloaded"),
        "http_500": Reply(status=500),
        "http_429": Reply(status=429, headers={"Retry-After": "0"}),
        "timeout": Reply(content=edit, delay=1.0),
        "too_large": Reply(content="x" * (80 * 1024)),
        "several_fences": "```python\nA = 1.0\n```\n```python\nB = 2.0\n```\n```python\nC = 3.0\n```\n",
        "no_match": "<<<<<<< SEARCH\nZ = 42\n=======\nZ = 43\n>>>>>>> REPLACE\n",
        "no_change": f"<<<<<<< SEARCH\n{old}\n=======\n{old}\n>>>>>>> REPLACE\n",
        "duplicate": "```python\nA = 1.0  # evolve: float[-5.0, 5.0]\nB = 1.0  # evolve: float[-5.0, 5.0]\nC = 1.0  # evolve: float[-5.0, 5.0]\n```\n",
        "empty": "",
    }  # fmt: skip
    return replies[kind]


def rows(text: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def experiment(exp: Path, url: str, mark: str) -> None:
    set_config(exp, "candidates = 40", f"candidates = {CANDIDATES}")
    set_config(exp, "wall_seconds = 20", "wall_seconds = 30")
    set_config(
        exp,
        '[proposer]\nkind = "mutate"',
        f"""[promotion]
reruns = 1

[proposer]
kind = "llm"

[proposer.llm]
timeout_seconds = 0.4
retries = 1
backoff_seconds = 0.01
cooldown_seconds = 0.2
fallback_after_seconds = 600
max_answer_kb = 64
max_tokens = 50000000

[[proposer.llm.models]]
name = "replay"
base_url = "{url}"
""",
    )
    program = exp / "program.py"
    body = program.read_text()
    program.write_text(MARKED.format(mark=mark) + body + '\nprint("END", repr(time.time()))\n')


@pytest.mark.slow
def test_a_long_run_against_a_bad_server_with_stops_keeps_every_promise(
    minimal_experiment: Path, tmp_path: Path
) -> None:
    mark = f"evoforge-soak-{uuid.uuid4().hex}"
    bad = BadServer(seed=1)
    stops: list[float] = []
    with ReplayServer(default=bad) as server:
        experiment(minimal_experiment, server.url, mark)
        driver = subprocess.Popen(
            [*EVOFORGE, "run", str(minimal_experiment)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        run: Path | None = None
        began = time.monotonic()
        try:
            while True:
                try:
                    out, _ = driver.communicate(timeout=STOP_EVERY)
                except subprocess.TimeoutExpired:
                    run = run or next((minimal_experiment / "runs").iterdir())
                    if len(stops) >= MAX_STOPS:
                        continue
                    asked = time.monotonic()
                    stopper = subprocess.Popen(
                        [*EVOFORGE, "stop", str(run)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    )  # fmt: skip
                    time.sleep(0.05)  # the command starts (a second interpreter) and asks
                    while processes_with(mark) and time.monotonic() - asked < 10:
                        time.sleep(0.02)
                    stops.append(time.monotonic() - asked)
                    stopper.wait(timeout=60)
                    driver.communicate(timeout=60)
                    driver = subprocess.Popen(
                        [*EVOFORGE, "resume", str(run)],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                    )  # fmt: skip
                    continue
                if rows(out).get("state") == "finished":
                    break
                pytest.fail(f"the run ended otherwise: {out[-2000:]}")
        finally:
            if driver.poll() is None:
                driver.kill()
        elapsed = time.monotonic() - began
        served = len(server.requests)
    run = run or next((minimal_experiment / "runs").iterdir())
    assert processes_with(mark) == [], "a candidate process outlived the run"
    assert stops and max(stops) < 2.0, stops

    with SQLiteArchive(run / "archive.sqlite", readonly=True) as archive:
        cands = archive.candidates()
    left = [c.id for c in cands if c.status in (Status.PENDING, Status.RUNNING)]
    assert not left, left
    evaluated = [c for c in cands if c.status in (Status.SUCCEEDED, Status.FAILED)]
    assert len(evaluated) == CANDIDATES  # the budget, exactly
    assert len({c.code_hash for c in evaluated}) == len(evaluated)  # each program run once
    rejected = [c for c in cands if c.status in (Status.REJECTED, Status.DUPLICATE)]
    assert len(rejected) > CANDIDATES  # the server was as bad as intended
    latencies = []
    for c in evaluated:
        found = re.findall(r"^END (\S+)$", c.stdout_tail, re.M)
        if c.status == Status.SUCCEEDED and found and c.finished_at:
            latencies.append(c.finished_at - float(found[-1]))
    assert latencies and max(latencies) < 5.0, max(latencies)

    verify = subprocess.run(
        [*EVOFORGE, "audit", "verify", str(run)], capture_output=True, text=True
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    status = rows(
        subprocess.run([*EVOFORGE, "status", str(run)], capture_output=True, text=True).stdout
    )
    ledger = int(status["llm_requests"])
    assert ledger <= served and ledger >= served - 2 * (MAX_STOPS + 1), (ledger, served)
    assert int(status["llm_tokens"].split("/")[0]) <= 50_000_000

    figures = {
        "candidates evaluated": len(evaluated),
        "rejected or duplicate": len(rejected),
        "requests served": served,
        "requests in the ledger": ledger,
        "llm failures": status.get("llm_failed", "?"),
        "answers by kind": dict(sorted(bad.kinds.items())),
        "stops": len(stops),
        "stop to last process gone (s), max": round(max(stops), 3),
        "candidate end to record (s), median": round(statistics.median(latencies), 3),
        "candidate end to record (s), max": round(max(latencies), 3),
        "wall time (s)": round(elapsed, 1),
    }
    text = "\n".join(f"{k}: {v}" for k, v in figures.items())
    print(text)
    artifacts = Path("test-artifacts")
    if artifacts.is_dir():
        (artifacts / "soak.txt").write_text(text + "\n")
