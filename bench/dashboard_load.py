"""Time the dashboard's live view of a run with 5,000 candidates: the API alone, and
the page in headless Chromium until its first full render (charts, tables, approvals).

    .venv/bin/python bench/dashboard_load.py [--candidates 5000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from evoforge.archive import Approval, SQLiteArchive
from evoforge.candidate import Candidate, Status
from evoforge.dashboard import api
from evoforge.governance.rundir import RunDir

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "dashboard"))
from dash_helpers import TOKEN, chromium, start_server, stop_process


def build(folder: Path, n: int) -> RunDir:
    run = RunDir(folder / "runs" / "bench-run")
    run.path.mkdir(parents=True)
    rng = random.Random(0)
    with SQLiteArchive(run.archive) as archive:
        archive.set_meta("config", {"task": {"objective": "score", "heldout": ["heldout"]},
                                    "budget": {"candidates": n}})  # fmt: skip
        archive.set_meta("state", "finished")
        t0 = time.time() - n
        for i in range(1, n + 1):
            code = archive.put_code({"p.py": f"X = {i}\n"})
            ok = rng.random() > 0.15
            score = rng.random() * (0.5 + i / (2 * n))
            archive.add(Candidate(
                0, code, parent_ids=(rng.randint(max(1, i - 200), i - 1),) if i > 1 else (),
                proposer="mutate", operator=rng.choice(["step", "multi", "crossover"]),
                status=Status.SUCCEEDED if ok else Status.FAILED,
                metrics={"score": score}, heldout={"heldout": score - 0.05},
                flags=("jump",) if rng.random() < 0.01 else (), created_at=t0 + i, finished_at=t0 + i + 0.5,
            ))  # fmt: skip
        archive.move_champion(1, action="seed", reason="seed")
        archive.put_approval(Approval(n, "pending", {"gain": 0.1}, time.time()))
    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--candidates", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    base_dir = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(dir=base_dir) as tmp:
        t = time.perf_counter()
        run = build(Path(tmp), args.candidates)
        print(f"archive_build_seconds: {time.perf_counter() - t:.1f}")
        api_ms = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            api.points(run)
            api.overview(run)
            api_ms.append((time.perf_counter() - t) * 1000)
        print(f"api_points_plus_overview_ms_median: {statistics.median(api_ms):.0f}")
        server, base = start_server(run.path)
        browser = chromium()
        try:
            browser.get(f"{base}/?token={TOKEN}")  # sets the cookie once
            load = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                browser.get(f"{base}/run/{run.name}")
                while not browser.execute_script("return document.body.dataset.ready"):
                    time.sleep(0.01)
                load.append(time.perf_counter() - t)
                shown = browser.execute_script("return window.evoforgeReadyMs")
                print(f"page_ready_in_browser_ms: {shown:.0f}")
            print(f"live_view_load_seconds_median: {statistics.median(load):.2f}")
            print(f"live_view_load_seconds_max: {max(load):.2f}")
        finally:
            browser.quit()
            stop_process(server)


if __name__ == "__main__":
    main()
