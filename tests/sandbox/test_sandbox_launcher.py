"""The in-sandbox launcher: which layers it reports, how it fails closed, one real launch."""

from __future__ import annotations

import json
import marshal
import os
import resource
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from evoforge.sandbox import LayeredSandbox, Plan, landlock, launcher, scratch, seccomp_filter

RULES = {"read": ["/usr"], "write": ["/w"], "hidden": ["/w/labels"]}


def _fail(*args: object, **kwargs: object) -> None:
    raise OSError(95, "not supported by this kernel")


def test_layers_left_out_of_the_config_are_not_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(landlock, "restrict", _fail)
    monkeypatch.setattr(seccomp_filter, "install", _fail)
    cfg = {"landlock": None, "seccomp": False, "require": True}
    assert launcher._apply_landlock(cfg) == [] and launcher._apply_seccomp(cfg) == []


def test_landlock_gets_the_configs_rules_and_reports_its_abi(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[dict[str, Any]] = []

    def restrict(**rules: Any) -> int:
        calls.append(rules)
        return 3

    monkeypatch.setattr(landlock, "restrict", restrict)
    assert launcher._apply_landlock({"landlock": RULES, "require": True}) == [
        "landlock\ton (ABI 3)"
    ]
    assert calls == [RULES]


def test_a_refused_layer_stops_the_launch_only_when_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(landlock, "restrict", _fail)
    monkeypatch.setattr(seccomp_filter, "install", _fail)
    optional = {"landlock": RULES, "seccomp": True, "require": False}
    assert launcher._apply_landlock(optional) == [
        "landlock\tmissing: [Errno 95] not supported by this kernel"
    ]
    assert launcher._apply_seccomp(optional) == [
        "seccomp\tmissing: [Errno 95] not supported by this kernel"
    ]
    required = {**optional, "require": True}
    with pytest.raises(OSError):
        launcher._apply_landlock(required)
    with pytest.raises(OSError):
        launcher._apply_seccomp(required)


def test_seccomp_reports_on_once_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    installed: list[bool] = []
    monkeypatch.setattr(seccomp_filter, "install", lambda: installed.append(True))
    assert launcher._apply_seccomp({"seccomp": True, "require": True}) == ["seccomp\ton"]
    assert installed == [True]


def test_the_report_pipe_is_read_to_its_end_whatever_its_bytes() -> None:
    read_end, write_end = os.pipe()
    payload = b"x" * 70_000 + b"\xff\n"

    def write_and_close() -> None:
        os.write(write_end, payload)
        os.close(write_end)

    writer = threading.Thread(target=write_and_close)
    writer.start()
    try:
        text = launcher._read_all(read_end)
    finally:
        writer.join()
        os.close(read_end)
    assert text == "x" * 70_000 + "\ufffd\n"


def test_without_a_pid_namespace_a_launcher_whose_parent_changed_refuses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prctls: list[tuple[int, int]] = []
    monkeypatch.setattr(launcher, "_prctl", lambda option, arg: prctls.append((option, arg)))
    cgroup_r, cgroup_w = os.pipe()
    try:
        code = launcher.main({"cgroup_fds": [cgroup_w], "parent": -1}, status_fd=-1)
        assert os.read(cgroup_r, 10) == b"0" and os.read(cgroup_r, 10) == b""
    finally:
        os.close(cgroup_r)
    assert code == launcher.EXIT_SETUP
    assert prctls == [(launcher._PR_SET_PDEATHSIG, launcher._SIGKILL)]


def test_a_scratch_folder_that_cannot_be_copied_in_stops_the_launch(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(launcher, "_prctl", lambda option, arg: None)
    monkeypatch.setattr(scratch, "copy_in", _fail)
    cfg = {
        "cgroup_fds": [],
        "parent": os.getppid(),
        "copy": {"io": "/io", "skip": []},
        "uid": None,
        "cwd": str(tmp_path),
    }
    status_r, status_w = os.pipe()
    try:
        assert launcher.main(cfg, status_w) == launcher.EXIT_SETUP
        os.close(status_w)
        status = os.read(status_r, 4096).decode()
    finally:
        os.close(status_r)
    assert status.startswith("error\tcannot copy the scratch folder in: [Errno 95]")
    assert "cannot copy the scratch folder in" in capfd.readouterr().err


CANDIDATE = """
import json, os, resource
status = open("/proc/self/status").read()
print(json.dumps({
    "env": dict(os.environ),
    "cwd": os.getcwd(),
    "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
    "nofile": resource.getrlimit(resource.RLIMIT_NOFILE),
    "no_new_privs": status.split("NoNewPrivs:")[1].split()[0],
}))
raise SystemExit(3)
"""


def test_a_launch_applies_its_config_then_execs_the_candidate_alone(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    cfg = {
        "argv": [sys.executable, "-I", "-S", "-c", CANDIDATE],
        "env": {"PATH": "/usr/bin:/bin", "MARK": "1"},
        "cwd": str(work),
        "uid": None,
        "gid": None,
        "rlimits": [(resource.RLIMIT_NOFILE, 40)],
        "cgroup_fds": [],
        "parent": os.getpid(),
        "copy": None,
        "pidns": False,
        "landlock": None,
        "seccomp": False,
        "require": True,
    }
    cfg_fd = os.memfd_create("launch")
    os.write(cfg_fd, LayeredSandbox(Plan()).launcher_code() + marshal.dumps(cfg))
    os.lseek(cfg_fd, 0, os.SEEK_SET)
    status_r, status_w = os.pipe()
    leak_r, leak_w = os.pipe()
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-B", "-c", launcher.BOOT, str(cfg_fd), str(status_w)],
            pass_fds=(cfg_fd, status_w, leak_r),
            capture_output=True,
            text=True,
            timeout=30,
        )
        os.close(status_w)
        status = dict(
            line.split("\t", 1) for line in os.read(status_r, 65536).decode().splitlines()
        )
    finally:
        for fd in (cfg_fd, status_r, leak_r, leak_w):
            os.close(fd)
    assert done.returncode == 3, done.stderr
    assert status["exec"] == "started" and status["exit_code"] == "3"
    assert float(status["cpu_s"]) > 0 and int(status["max_rss_kb"]) > 0
    report = json.loads(done.stdout)
    assert {k: v for k, v in report["env"].items() if k != "LC_CTYPE"} == cfg["env"]
    assert report["cwd"] == str(work) and report["nofile"] == [40, 40]
    assert report["no_new_privs"] == "1"
    assert not {cfg_fd, status_w, leak_r} & set(report["fds"])
    assert set(report["fds"]) <= {0, 1, 2, 3}
