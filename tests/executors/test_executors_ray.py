"""The Ray executor on a real Ray cluster started here: a head and a worker node on 127.0.0.1.

The cluster (``ray.cluster_utils.Cluster``) runs each node as its own set of
processes (GCS, raylet, workers), 1 CPU each, so a node can be killed mid-run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evoforge import session
from evoforge.archive import SQLiteArchive
from evoforge.candidate import Status
from evoforge.config import RaySection
from evoforge.runner import Job, RunContext
from evoforge.sandbox._base import Limits

from experiment_helpers import processes_with, set_config

_MB = 1024 * 1024
# Off Windows and macOS, Ray rewrites 127.0.0.1 to the machine's address when it
# connects; with this it keeps the whole cluster on the loopback interface.
_LOOPBACK_ONLY = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
_NODE: dict[str, Any] = {
    "num_cpus": 1,
    "object_store_memory": 100 * _MB,
    "node_ip_address": "127.0.0.1",
}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    saved = {k: os.environ.get(k) for k in _LOOPBACK_ONLY}
    os.environ.update(_LOOPBACK_ONLY)
    from ray.cluster_utils import Cluster

    head = {
        **_NODE,
        "include_dashboard": False,
        # Notice a killed node within about a second, not Ray's default of 30 s.
        "_system_config": {"health_check_period_ms": 500, "health_check_failure_threshold": 2},
    }
    c = Cluster(initialize_head=True, head_node_args=head)
    c.add_node(**_NODE)
    c.wait_for_nodes()
    try:
        yield c
    finally:
        import ray

        ray.shutdown()
        c.shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _configure(exp: Path, *, executor: str, workers: int, candidates: int, address: str) -> None:
    set_config(exp, "workers = 2", f'workers = {workers}\nexecutor = "{executor}"')
    set_config(exp, "candidates = 40", f"candidates = {candidates}")
    with (exp / "evoforge.toml").open("a") as fh:
        fh.write(f'\n[ray]\naddress = "{address}"\n\n[sandbox]\nlayers = "process"\n')


def _run(exp: Path) -> tuple[session.Outcome, list[Any]]:
    out = session.start(exp)
    archive = SQLiteArchive(out.run.archive)
    try:
        return out, archive.candidates()
    finally:
        archive.close()


def _record(c: Any) -> tuple[Any, ...]:
    return (c.id, c.code_hash, c.parent_ids, c.status, dict(c.metrics), dict(c.heldout), c.flags)


def _copy(exp: Path, dest: Path) -> Path:
    dest.mkdir()
    for f in exp.iterdir():
        if f.is_file():
            (dest / f.name).write_bytes(f.read_bytes())
    return dest


@pytest.mark.slow
def test_one_worker_gives_the_local_executors_run_exactly(
    cluster: Any, minimal_experiment: Path, tmp_path: Path
) -> None:
    # With one worker, jobs finish in the order they start on both executors, so
    # the whole run (choices, code, metrics) must be the same, candidate by candidate.
    local = _copy(minimal_experiment, tmp_path / "local")
    _configure(local, executor="local", workers=1, candidates=10, address=cluster.address)
    _configure(
        minimal_experiment, executor="ray", workers=1, candidates=10, address=cluster.address
    )
    local_out, local_cands = _run(local)
    ray_out, ray_cands = _run(minimal_experiment)
    assert (local_out.reason, ray_out.reason) == ("finished", "finished")
    assert ray_out.stats.evaluated == local_out.stats.evaluated == 10
    assert [_record(c) for c in ray_cands] == [_record(c) for c in local_cands]
    assert ray_out.stats.best == local_out.stats.best


@pytest.mark.slow
def test_fidelity_rungs_run_the_same_on_ray_as_on_the_local_executor(
    cluster: Any, minimal_experiment: Path, tmp_path: Path
) -> None:
    prog = minimal_experiment / "program.py"  # scored lower at a low share: the share arrives
    prog.write_text(
        prog.read_text()
        .replace("import json\n", 'import json\nimport os\nSHARE = float(os.environ["EVOFORGE_FIDELITY"])\n')
        .replace("return A * x * x + B * x + C", "return A * x * x + B * x + C + (1 - SHARE)")
    )  # fmt: skip
    with (minimal_experiment / "evoforge.toml").open("a") as fh:
        fh.write("\n[fidelity]\nrungs = [0.25, 1]\neta = 2\n")
    local = _copy(minimal_experiment, tmp_path / "local")
    _configure(local, executor="local", workers=1, candidates=10, address=cluster.address)
    _configure(
        minimal_experiment, executor="ray", workers=1, candidates=10, address=cluster.address
    )
    _, local_cands = _run(local)
    out, cands = _run(minimal_experiment)
    assert out.reason == "finished" and out.stats.stopped > 0

    def rungs(c: Any) -> list[Any]:  # the decisions and scores, not the seconds
        return [(e["rung"], e["metrics"], e["seq"], e["goes_on"]) for e in c.extra.get("rungs", [])]

    assert [(*_record(c), rungs(c)) for c in cands] == [
        (*_record(c), rungs(c)) for c in local_cands
    ]


@pytest.mark.slow
def test_two_workers_use_both_nodes_and_match_what_order_cannot_change(
    cluster: Any, minimal_experiment: Path, tmp_path: Path
) -> None:
    local = _copy(minimal_experiment, tmp_path / "local")
    _configure(local, executor="local", workers=2, candidates=12, address=cluster.address)
    _configure(
        minimal_experiment, executor="ray", workers=2, candidates=12, address=cluster.address
    )
    _, local_cands = _run(local)
    out, cands = _run(minimal_experiment)
    assert out.reason == "finished" and out.stats.evaluated == 12
    assert _record(cands[0]) == _record(local_cands[0])  # the seed: same code, same metrics
    assert not [c.id for c in cands if c.status in (Status.RUNNING, Status.PENDING)]
    nodes = [d.name for d in (out.run.active).iterdir()]
    assert len(nodes) == 2 and all(n.startswith("ray-") for n in nodes), nodes
    assert not [p for d in out.run.active.iterdir() for p in d.iterdir()]  # no pid file left


@pytest.mark.slow
def test_killing_the_worker_node_mid_run_loses_no_candidate(
    cluster: Any, minimal_experiment: Path
) -> None:
    worker = next(n for n in cluster.list_all_nodes() if not n.head)
    _configure(
        minimal_experiment, executor="ray", workers=2, candidates=12, address=cluster.address
    )
    program = minimal_experiment / "program.py"  # slow enough to be caught running
    program.write_text(
        program.read_text().replace("import json", "import json\nimport time\n\ntime.sleep(0.5)")
    )
    killed: list[str] = []

    def kill_when_busy() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            for folder in minimal_experiment.glob(f"runs/*/active/ray-{worker.node_id}"):
                running = [p.name for p in folder.iterdir()]
                if running:
                    cluster.remove_node(worker, allow_graceful=False)
                    killed.extend(running)
                    return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_when_busy, daemon=True)
    killer.start()
    try:
        out, cands = _run(minimal_experiment)
    finally:
        killer.join()
        cluster.add_node(**_NODE)  # the cluster has its 2 CPUs again for any later test
    assert killed, "the worker node never ran a candidate"
    assert out.reason == "finished" and out.stats.evaluated == 12
    finished = (Status.SUCCEEDED, Status.FAILED, Status.REJECTED, Status.DUPLICATE)
    assert all(c.status in finished for c in cands), [(c.id, c.status) for c in cands]
    entries = [json.loads(line) for line in out.run.audit.read_text().splitlines()]
    retries = [e["data"] for e in entries if e["event"] == "ray_retry"]
    assert {r["key"] for r in retries} & set(killed), (retries, killed)
    for r in retries:
        assert next(c for c in cands if c.id == r["candidate"]).status in finished


def test_retries_are_bounded_and_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ray
    from ray.exceptions import WorkerCrashedError

    from evoforge.executors import ray as ray_executor

    def lost(ref: object) -> object:
        raise WorkerCrashedError()

    monkeypatch.setattr(ray, "get", lost)  # the very module evoforge.executors.ray uses
    ctx = RunContext(
        experiment=tmp_path, task_module="task.py", task_object="task", command=("true",),
        limits=Limits(wall_seconds=5), heldout=(), scratch_root=tmp_path / "s", active_dir=tmp_path / "a",
    )  # fmt: skip
    log: list[dict[str, object]] = []
    ex = ray_executor.RayExecutor(
        ctx, workers=2, settings=RaySection(max_retries=2), on_retry=log.append
    )
    job = Job(7, {}, 1, 0)
    assert ex._result(object(), job, retries=1) is None  # handed to Ray again...
    assert ex.in_flight() == 1  # ... waiting in the driver's queue
    assert [(e["candidate"], e["retry"], e["max_retries"]) for e in log] == [(7, 2, 2)]
    final = ex._result(object(), job, retries=2)
    assert final is not None and not final.ok
    assert final.failure.startswith("worker node lost, retried 2 times")


def test_evoforge_does_not_import_ray_unless_chosen() -> None:
    code = (
        "import sys, evoforge.cli, evoforge.session, evoforge.executors; "
        "print('ray' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_config_accepts_the_ray_executor_and_rejects_unknown_ray_keys(
    minimal_experiment: Path,
) -> None:
    from evoforge.config import ConfigError, load_config

    _configure(minimal_experiment, executor="ray", workers=3, candidates=5, address="auto")
    config = load_config(minimal_experiment)
    assert (config.run.executor, config.ray.address, config.ray.max_retries) == ("ray", "auto", 3)
    set_config(minimal_experiment, 'address = "auto"', 'adress = "auto"')
    with pytest.raises(ConfigError, match=r"ray\.adress: unknown key"):
        load_config(minimal_experiment)


SLEEPER = """import pathlib, sys, time
pathlib.Path(sys.argv[1], NAME).write_text("started")
time.sleep(60)
"""


@pytest.mark.slow
def test_a_kill_withdraws_queued_jobs_and_leaves_no_candidate_running(
    cluster: Any, tmp_path: Path
) -> None:
    import uuid

    from evoforge.executors.ray import RayExecutor

    mark = f"evoforge-ray-sleeper-{uuid.uuid4().hex}"
    started = tmp_path / "started"
    started.mkdir()
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "task.py").write_text(
        "from evoforge.tasks import Task\n"
        "class T(Task):\n"
        "    def prepare(self, workdir, *, seed): pass\n"
        "    def score(self, workdir): return {'x': 1.0}\n"
        "task = T()\n"
    )
    ctx = RunContext(
        experiment=exp,
        task_module="task.py",
        task_object="task",
        command=(sys.executable, "prog.py", str(started), mark),
        limits=Limits(wall_seconds=60, memory_mb=1024),
        heldout=(),
        scratch_root=tmp_path / "scratch",
        active_dir=tmp_path / "active",
        sandbox_layers="process",
    )
    ctx.active_dir.mkdir()
    executor = RayExecutor(ctx, workers=2, settings=RaySection(address=cluster.address))
    for i in range(6):  # two run, four wait in the driver
        files = {"prog.py": SLEEPER.replace("NAME", repr(f"{mark}-{i}"))}
        executor.submit(Job(i + 1, files, 1, seed=i))
    deadline = time.monotonic() + 60
    while len(list(started.iterdir())) < 2 and time.monotonic() < deadline:
        executor.poll(timeout=0.1)
    assert len(list(started.iterdir())) == 2
    t0 = time.monotonic()
    executor.shutdown(kill=True)
    while processes_with(mark) and time.monotonic() - t0 < 2.0:
        time.sleep(0.05)
    assert processes_with(mark) == []
    time.sleep(1.0)  # a queued job handed over after the kill would have started by now
    assert sorted(p.name for p in started.iterdir()) == [f"{mark}-0", f"{mark}-1"]
    assert processes_with(mark) == []
