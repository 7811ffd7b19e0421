"""A real run (`evoforge run`, a subprocess) whose proposer is an LLM on the replay server.

The replay model reads the parent's constants from the prompt and moves one of them
to the value that fits the data, so the score can only improve through its edits. A
second model that refuses connections is set aside; a body that is no completion is
retried and recorded; two bad answers are rejected with their reasons; `status`
reports tokens, cost, accepted and rejected per model, requests and failed tries;
`show` prints the prompt and the answer; candidates never see the key, and it is
nowhere in the run's files.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from llm_support import KEY, free_port

from evoforge.archive import SQLiteArchive
from evoforge.candidate import Status
from evoforge.testing import RecordedRequest, ReplayServer, Reply

from experiment_helpers import set_config

TARGET = {"A": "1.5", "B": "-2.0", "C": "0.75"}
OUTSIDE = "<<<<<<< SEARCH\nimport json\n=======\nimport os\n>>>>>>> REPLACE\n"


def improve(request: RecordedRequest) -> str:
    """Fix the first constant of the parent that is not at its target value."""
    program = request.prompt.split("## The program", 1)[1]
    for name, want in TARGET.items():
        m = re.search(rf"^{name} = (\S+)(.*)$", program, re.M)
        assert m is not None, program[:500]
        if m.group(1) != want:
            old, new = m.group(0), f"{name} = {want}{m.group(2)}"
            return (
                f"Set {name} to {want}.\n<<<<<<< SEARCH\n{old}\n=======\n{new}\n>>>>>>> REPLACE\n"
            )
    return "Nothing left to improve."


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evoforge.cli", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


def rows(text: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    script: list[Reply | str] = [
        Reply(raw="<html>502 bad gateway</html>"),
        OUTSIDE,
        "Try a bigger A.",
    ]
    with ReplayServer(script, default=improve, api_key=KEY) as server:
        yield server


def test_an_llm_run_improves_the_score_and_accounts_for_every_answer(
    minimal_experiment: Path, replay: ReplayServer
) -> None:
    exp = minimal_experiment
    set_config(exp, "candidates = 40", "candidates = 4")
    set_config(exp, "workers = 2", "workers = 1")
    set_config(
        exp,
        '[proposer]\nkind = "mutate"',
        f"""[sandbox]
layers = "process"

[proposer]
kind = "llm"

[proposer.llm]
timeout_seconds = 5
retries = 1
backoff_seconds = 0.01
cooldown_seconds = 600

[[proposer.llm.models]]
name = "replay"
label = "alive"
base_url = "{replay.url}"
api_key_env = "EVOFORGE_E2E_KEY"
price_in_per_mtok = 3.0
price_out_per_mtok = 15.0

[[proposer.llm.models]]
name = "replay"
label = "dead"
base_url = "http://127.0.0.1:{free_port()}/v1"
weight = 50.0
""",
    )
    program = exp / "program.py"  # candidates print what they see of the key
    program.write_text(
        program.read_text().replace(
            "import json\n",
            'import json\nimport os\n\nprint("key:", os.environ.get("EVOFORGE_E2E_KEY", "absent"))\n',
        )
    )
    env = {**os.environ, "EVOFORGE_E2E_KEY": KEY}
    run = cli("run", str(exp), env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    summary = rows(run.stdout)
    assert float(summary["champion_neg_mse"]) > float(summary["seed_neg_mse"])
    assert "LLM dead failed" in run.stderr and "Connection refused" in run.stderr

    status = cli("status", str(exp))
    s = rows(status.stdout)
    assert int(s["llm_alive_tokens"]) > 0 and float(s["llm_alive_cost"]) > 0
    assert int(s["llm_alive_accepted"]) >= 3 and int(s["llm_alive_rejected"]) >= 2
    assert (s["llm_dead_tokens"], s["llm_dead_accepted"], s["llm_dead_rejected"]) == ("0", "0", "0")
    assert s["llm_tokens"] == s["llm_alive_tokens"] and s["llm_fallback_proposals"] == "0"
    assert (s["candidates"], s["state"]) == ("4/4", "finished")
    assert s["llm_alive_failed"] == "1 (invalid_json 1)" and s["llm_failed_tokens"] != "0"
    assert s["llm_alive_requests"] == s["llm_requests"] == str(len(replay.requests))
    assert (s["llm_dead_requests"], s["llm_dead_failed"]) == ("0", "2 (connection 2)")

    run_dir = Path(summary["run"])
    with SQLiteArchive(run_dir / "archive.sqlite", readonly=True) as archive:
        records = archive.candidates()
    assert all("key: absent" in c.stdout_tail for c in records if c.status == Status.SUCCEEDED)
    failures = [c.failure for c in records if c.extra.get("rejected")]
    assert any("outside the evolve blocks" in f for f in failures)
    assert any("no code in the answer" in f for f in failures)
    child = next(c for c in records if c.operator == "diff" and c.status == Status.SUCCEEDED)
    shown = cli("show", str(run_dir), str(child.id), "--prompt", "--response")
    assert shown.returncode == 0, shown.stderr
    assert "model: alive" in shown.stdout and "--- prompt ---\n=== system ===" in shown.stdout
    assert "--- response ---\nSet " in shown.stdout
    seed = cli("show", str(run_dir), "1", "--prompt")
    assert seed.returncode == 2 and "no recorded prompt" in seed.stderr

    assert all(r.authorization == f"Bearer {KEY}" for r in replay.requests)
    leaked = [p for p in exp.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]
    assert leaked == []
    assert KEY not in run.stdout + run.stderr + status.stdout + shown.stdout
