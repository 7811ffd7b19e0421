"""Helpers of the dashboard tests: runs recorded straight into an archive, a real dashboard
server process and headless Chromium."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from evoforge.archive import Approval, ApprovalState, SQLiteArchive
from evoforge.candidate import Candidate, Status
from evoforge.governance.audit import AuditLog
from evoforge.governance.rundir import RunDir

# The tiny governance experiment (manual approval gives pending promotions quickly).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "governance"))
from gov_helpers import cli, summary, write_experiment

__all__ = ["cli", "summary", "write_experiment"]

TOKEN = "test-token-0123456789abcdef"


def recorded_run(
    folder: Path,
    scores: list[tuple[float, dict[str, float]]],
    *,
    promoted: tuple[int, ...] = (),
    declined: dict[int, dict[str, Any]] | None = None,
    task: dict[str, Any] | None = None,
) -> RunDir:
    """A finished run written straight into its archive, for views that must show exactly
    these figures: candidate ``i + 1`` scored ``scores[i]`` (objective ``score``, then its
    hidden metrics), one second apart; #1 is the seed and champion, ``promoted`` moved the
    champion in turn, each of ``declined`` was declined with that evidence."""
    folder.mkdir(parents=True)
    run = RunDir(folder)
    t0 = time.time() - len(scores) - 1
    with SQLiteArchive(run.archive) as archive:
        archive.set_meta("config", {"task": {"objective": "score", **(task or {})}})
        archive.set_meta("state", "finished")
        for i, (score, hidden) in enumerate(scores):
            code = archive.put_code({"program.py": f"QUALITY = {score}\n"})
            archive.add(Candidate(
                id=0, code_hash=code, parent_ids=(1,) if i else (), proposer="seed" if not i else "mutate",
                status=Status.SUCCEEDED, metrics={"score": score}, heldout=hidden,
                created_at=t0 + i, finished_at=t0 + i + 0.5,
            ))  # fmt: skip
        archive.move_champion(1, action="seed", reason="the seed program")
        for cid in promoted:
            archive.put_approval(
                Approval(cid, ApprovalState.PROMOTED, {"beats_noise": True}, t0, t0)
            )
            archive.move_champion(cid, action="promote", reason="evoforge: auto (auto)")
        for cid, evidence in (declined or {}).items():
            archive.put_approval(Approval(cid, ApprovalState.DECLINED, evidence, t0, t0))
    AuditLog(run.audit).append("run_start")
    return run


# Seed 0.5 (champion); #2 scored 0.9 but the held-out check declined it; #3 (0.6) was
# promoted; #4 (0.95) was declined as within noise of #3 (evidence as the promoter records it).
SCORES = [(0.5, {"heldout": 0.5}), (0.9, {"heldout": 0.3}), (0.6, {"heldout": 0.6}),
          (0.95, {"heldout": 0.2})]  # fmt: skip
HELDOUT_DECLINED = {"champion": 1, "runs": 3, "gain": 0.4, "threshold": 0.02, "beats_noise": True,
                    "heldout_gain": {"heldout": -0.2}, "heldout_ok": False, "failed_reruns": []}  # fmt: skip
NOISE_DECLINED = {"champion": 3, "runs": 3, "gain": 0.01, "threshold": 0.05, "beats_noise": False,
                  "heldout_gain": {"heldout": 0.0}, "heldout_ok": True, "failed_reruns": []}  # fmt: skip


def declines_run(folder: Path) -> RunDir:
    """The run above: better raw scores were declined while the champion moved once."""
    return recorded_run(
        folder, SCORES, promoted=(3,), declined={2: HELDOUT_DECLINED, 4: NOISE_DECLINED},
        task={"heldout": ["heldout"]},
    )  # fmt: skip


def start_server(target: Path, *, token: str = TOKEN) -> tuple[subprocess.Popen[str], str]:
    """Start ``evoforge dashboard`` on a free loopback port; returns the process and its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "evoforge.cli", "dashboard", str(target), "--port", "0",
         "--token", token],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    line = proc.stdout.readline()
    assert line.startswith("dashboard: http://127.0.0.1:"), line + proc.stderr.read()
    url = line.split()[1]
    return proc, url[: url.index("/", len("http://"))]


def stop_process(proc: subprocess.Popen[str]) -> None:
    """End a process this test started, by its pid."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def chromium() -> Any:
    """Headless Debian Chromium driven through Debian's chromedriver (no download)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1400,1600",
        f"--user-data-dir={tempfile.mkdtemp(prefix='evoforge-chromium-')}",
    ):  # fmt: skip
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def wait_for(predicate: Any, *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def artifacts() -> Path:
    path = Path(__file__).resolve().parents[2] / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path
