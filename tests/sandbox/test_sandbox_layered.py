"""The layered sandbox: its plan, its sums and its reading of the launcher's report, and
the full sandbox doing its ordinary work (what a well-behaved candidate gets)."""

from __future__ import annotations

import dataclasses
import json
import marshal
import os
import resource
import secrets
import signal
import sys
import threading
import time
import types
from pathlib import Path

import pytest

from evoforge.candidate import RunResult
from evoforge.sandbox import LayeredSandbox, Limits, Plan, RunSpec, is_on, launcher, warnings_for
from evoforge.sandbox.cgroups import CgroupSupport, RunCgroup
from evoforge.sandbox.layered import _finish, _read_status, _skips

from experiment_helpers import processes_with
from sandbox_support import FAST, Hostile, wait_for_no_sandbox_processes

MB = 1024 * 1024
OVERHEAD_MB = 32


def _group(tmp_path: Path, *, oom_kills: int, peak_kb: int) -> RunCgroup:
    """A cgroup v2 memory group as the kernel leaves it after a run."""
    (tmp_path / "memory.events").write_text(f"low 0\nhigh 0\noom_kill {oom_kills}\n")
    (tmp_path / "memory.peak").write_text(str(peak_kb * 1024))
    return RunCgroup([tmp_path], {tmp_path: True})


def test_the_launcher_runs_whenever_a_layer_needs_it() -> None:
    assert not Plan().launcher
    assert Plan(bwrap="/usr/bin/bwrap").launcher
    assert Plan(landlock=True).launcher and Plan(seccomp=True).launcher


def test_the_memory_group_also_holds_the_scratch_tmpfs_inside_bubblewrap() -> None:
    limits = Limits(memory_mb=100, scratch_mb=10)
    in_bwrap = LayeredSandbox(Plan(bwrap="/usr/bin/bwrap"))
    assert in_bwrap._memory(limits) == (100 + 10 + OVERHEAD_MB) * MB
    assert LayeredSandbox(Plan())._memory(limits) == (100 + OVERHEAD_MB) * MB
    assert in_bwrap._memory(Limits(memory_mb=None)) is None


def test_a_memory_group_replaces_the_address_space_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "getuid", lambda: 1000)
    limits = Limits(memory_mb=64)
    plain = dict(LayeredSandbox(Plan())._rlimits(limits))
    memcg = CgroupSupport(memory=Path("/sys/fs/cgroup/x"), pids=None)
    grouped = dict(LayeredSandbox(Plan(cgroups=memcg))._rlimits(limits))
    assert plain[resource.RLIMIT_AS] == 64 * MB and resource.RLIMIT_AS not in grouped
    assert resource.RLIMIT_NPROC not in plain and resource.RLIMIT_NPROC not in grouped
    assert grouped[resource.RLIMIT_CPU] == plain[resource.RLIMIT_CPU]


def test_only_hidden_paths_inside_the_workdir_are_skipped_by_the_copy() -> None:
    hidden = ["/w/labels.npy", "/w", "/wx/secret", "/other/x", "/w/a/b"]
    assert _skips(hidden, "/w") == ["labels.npy", "a/b"]


def test_the_launchers_report_is_read_without_waiting_for_its_writer() -> None:
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"seccomp\ton\nnot a pair\nerror\tcannot\tstart\n")
        assert _read_status(read_end) == {"seccomp": "on", "error": "cannot\tstart"}
    finally:
        os.close(read_end)
        os.close(write_end)


def test_the_candidates_own_exit_status_and_usage_come_from_the_report() -> None:
    supervised = RunResult(exit_code=139, wall_s=1.0, cpu_s=0.01, max_rss_kb=9)
    status = {"exit_code": "-11", "cpu_s": "0.75", "max_rss_kb": "5000"}
    result = _finish(supervised, status, None, Limits())
    assert (result.exit_code, result.cpu_s, result.max_rss_kb) == (-11, 0.75, 5000)
    assert result.killed_by == ""
    assert _finish(supervised, {"exit_code": "junk"}, None, Limits()).exit_code == 139


def test_a_kill_at_the_cpu_limit_is_blamed_on_the_cpu_limit() -> None:
    limits = Limits(cpu_seconds=2.0)
    killed = RunResult(exit_code=-signal.SIGKILL, wall_s=3.0)
    at_limit = _finish(killed, {"cpu_s": "1.8", "max_rss_kb": "1"}, None, limits)
    early = _finish(killed, {"cpu_s": "0.2", "max_rss_kb": "1"}, None, limits)
    assert at_limit.killed_by == "cpu" and early.killed_by == ""
    xcpu = RunResult(exit_code=-signal.SIGXCPU, wall_s=3.0)
    assert _finish(xcpu, {}, None, limits).killed_by == "cpu"


def test_an_oom_kill_is_blamed_on_memory_unless_the_run_timed_out(tmp_path: Path) -> None:
    group = _group(tmp_path, oom_kills=1, peak_kb=2048)
    killed = RunResult(exit_code=-signal.SIGKILL, wall_s=1.0, max_rss_kb=1)
    result = _finish(killed, {}, group, Limits())
    assert result.killed_by == "memory" and result.max_rss_kb == 2048
    timed_out = dataclasses.replace(killed, killed_by="timeout")
    assert _finish(timed_out, {}, group, Limits()).killed_by == "timeout"


def test_the_launcher_code_holds_each_module_in_boot_order() -> None:
    sandbox = LayeredSandbox(Plan())
    code = sandbox.launcher_code()
    modules = marshal.loads(code)
    assert [name for name, _ in modules] == list(launcher.MODULES)
    assert all(isinstance(c, types.CodeType) for _, c in modules)
    assert sandbox.launcher_code() is code


def test_without_any_layer_the_command_runs_under_rlimits_alone(tmp_path: Path) -> None:
    code = "import resource; print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])"
    spec = RunSpec(
        argv=(sys.executable, "-I", "-S", "-c", code),
        workdir=tmp_path,
        limits=Limits(open_files=37),
    )
    result, status = LayeredSandbox(Plan()).run_with_status(spec)
    assert result.exit_code == 0 and result.stdout_tail == "37\n" and status == {}


@pytest.fixture
def runner(full_sandbox: LayeredSandbox, tmp_path: Path) -> Hostile:
    return Hostile(full_sandbox, tmp_path)


def test_every_layer_is_on_here(full_sandbox: LayeredSandbox) -> None:
    strength = full_sandbox.strength()
    for layer in ("supervisor", "rlimits", "cgroup_memory", "cgroup_pids", "process_limit",
                  "bubblewrap", "scratch_cap", "unprivileged_uid", "landlock", "seccomp"):  # fmt: skip
        assert is_on(strength[layer]), (layer, strength[layer])
    assert warnings_for(strength) == []


def test_candidate_gets_exactly_its_environment_and_an_unprivileged_uid(
    runner: Hostile,
) -> None:
    out = runner.run(
        """
        import json, os, getpass
        status = open("/proc/self/status").read()
        field = lambda k: status.split(k + ":")[1].split()[0]
        env = dict(kv.split("=", 1) for kv in open("/proc/self/environ").read().split("\\0") if kv)
        print(json.dumps({"env": env, "uid": os.getuid(), "user": getpass.getuser(),
                          "cap_eff": field("CapEff"), "cap_bnd": field("CapBnd"),
                          "nnp": field("NoNewPrivs"), "seccomp": field("Seccomp"),
                          "cwd": os.getcwd(), "home": os.path.expanduser("~")}))
        """,
        env={"EVOFORGE_SEED": "7"},
    )
    report = out.report
    assert report["env"] == {
        "PATH": "/usr/bin:/bin",
        "HOME": str(out.workdir),
        "PYTHONUNBUFFERED": "1",
        "EVOFORGE_SEED": "7",
    }
    assert report["uid"] != 0 and report["user"] == "candidate"
    assert report["cap_eff"] == report["cap_bnd"] == "0000000000000000"
    assert report["nnp"] == "1" and report["seccomp"] == "2"
    assert report["cwd"] == report["home"] == str(out.workdir)
    assert out.status["landlock"].startswith("on") and out.status["seccomp"] == "on"


def test_outputs_come_back_and_inputs_stay(runner: Hostile) -> None:
    out = runner.run(
        """
        import json, os
        os.makedirs("out/deep")
        json.dump({"ok": 1}, open("out/deep/m.json", "w"))
        os.chmod("out/deep/m.json", 0)
        os.remove("drop.txt")
        open("keep.txt", "a").write("+more")
        """,
        files={"keep.txt": b"input", "drop.txt": b"gone", "same.bin": b"\0" * 100},
    )
    assert out.result.exit_code == 0, out.result
    w = out.workdir
    assert json.loads((w / "out/deep/m.json").read_text()) == {"ok": 1}
    assert (w / "keep.txt").read_text() == "input+more"
    assert not (w / "drop.txt").exists()
    assert (w / "same.bin").read_bytes() == b"\0" * 100
    assert (w / "out/deep/m.json").stat().st_uid == os.geteuid()  # owned by the host again


def test_candidate_uses_the_venvs_packages(runner: Hostile) -> None:
    """numpy from the venv's site-packages, as the digits demo's train.py needs."""
    out = runner.run(
        """
        import numpy as np
        np.save("pred.npy", np.arange(6).reshape(2, 3) @ np.ones(3))
        """
    )
    assert out.result.exit_code == 0, out.result
    from evoforge.tasks.outputs import read_array

    assert read_array(out.workdir, "pred.npy").tolist() == [3.0, 12.0]


def test_exit_codes_and_signals_are_the_candidates(runner: Hostile) -> None:
    assert runner.run("raise SystemExit(3)").result.exit_code == 3
    killed = runner.run("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    assert killed.result.exit_code == -signal.SIGSEGV
    assert killed.result.killed_by == ""


def test_a_failed_launch_is_reported_not_hidden(
    full_sandbox: LayeredSandbox, tmp_path: Path
) -> None:
    spec = RunSpec(argv=("/nonexistent/python", "x.py"), workdir=tmp_path, limits=FAST)
    result, status = full_sandbox.run_with_status(spec)
    assert result.exit_code == 127
    assert "cannot start the candidate" in result.stderr_tail
    assert "FileNotFoundError" in status["error"]


def test_stop_now_kills_everything_within_two_seconds(
    full_sandbox: LayeredSandbox, tmp_path: Path
) -> None:
    """What ``evoforge stop --now`` does: SIGKILL the process group given to on_start."""
    token = "STOPNOW-" + secrets.token_hex(6)
    (tmp_path / "c.py").write_text(
        "import os, subprocess, sys, time\n"
        "for _ in range(3):\n"
        "    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(99)', sys.argv[1]],"
        " start_new_session=True)\n"
        "time.sleep(99)\n"
    )
    spec = RunSpec(
        argv=(sys.executable, "c.py", token),
        workdir=tmp_path,
        limits=dataclasses.replace(FAST, wall_seconds=60),
        env={"PATH": "/usr/bin:/bin"},
    )
    pgids: list[int] = []

    def on_start(pgid: int) -> None:
        pgids.append(pgid)

    def stopper() -> None:
        deadline = time.monotonic() + 10
        while (not pgids or len(processes_with(token)) < 3) and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(pgids[0], signal.SIGKILL)

    threading.Thread(target=stopper, daemon=True).start()
    started = time.monotonic()
    result = full_sandbox.run(spec, on_start=on_start)
    elapsed = time.monotonic() - started
    assert result.exit_code is not None and result.exit_code != 0
    assert elapsed < 12
    deadline = time.monotonic() + 2
    while processes_with(token) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert processes_with(token) == []
    wait_for_no_sandbox_processes(full_sandbox)


def test_concurrent_candidates_get_different_uids(runner: Hostile) -> None:
    outs: list[object] = []

    def one() -> None:
        outs.append(runner.run("import os, time\ntime.sleep(0.5)\nprint(os.getuid())\n"))

    threads = [threading.Thread(target=one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    uids = {o.result.stdout_tail.strip() for o in outs}  # type: ignore[attr-defined]
    assert len(uids) == 3, uids
