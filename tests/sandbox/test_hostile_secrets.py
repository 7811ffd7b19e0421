"""Hostile candidates that try to read what they must never see.

Each test is one hostile candidate: it states the attack, runs it in the full
sandbox, and asserts its containment. The ``hostile`` fixture then checks that
the run goes on.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox_support import Hostile


@pytest.fixture
def fake_driver() -> Iterator[tuple[int, str]]:
    """A host process holding a secret in its environment and command line."""
    token = "DRIVER-" + secrets.token_hex(8)
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", token],
        env={"EVOFORGE_API_KEY": token, "PATH": "/usr/bin:/bin"},
    )
    try:
        yield proc.pid, token
    finally:
        proc.kill()
        proc.wait()


def test_reads_hidden_labels_by_guessed_paths(hostile: Hostile, tmp_path: Path) -> None:
    """Guess where the task keeps its labels: beside the scratch folder, absolute, via /proc."""
    task = tmp_path / "task"
    task.mkdir()
    secret = "LABELS-" + secrets.token_hex(8)
    (task / "labels.npy").write_text(secret)
    (task / "task.py").write_text(f"LABELS = {secret!r}\n")
    out = hostile.run(
        """
        import json, os, sys
        task = sys.argv[1]
        guesses = [task + "/labels.npy", task + "/task.py", "../task/labels.npy",
                   "/proc/self/cwd/../task/labels.npy", "/proc/1/cwd/../task/labels.npy",
                   "/proc/1/root" + task + "/labels.npy"]
        found = {}
        for g in guesses:
            try:
                found[g] = open(g).read()
            except OSError as e:
                found[g] = type(e).__name__
        for top in ("/", "/tmp", os.path.dirname(os.getcwd()), "/proc/1/root"):
            try:
                for dirpath, dirs, files in os.walk(top):
                    for f in files:
                        # the secret file itself; library code such as scikit-learn's
                        # _label.py is mounted read-only and is not a secret
                        if f == "labels.npy":
                            found[os.path.join(dirpath, f)] = "listed"
            except OSError:
                pass
        print(json.dumps(found))
        """,
        hidden=[task],
        args=[str(task)],
    )
    assert out.result.exit_code == 0, out.result
    assert secret not in out.result.stdout_tail
    assert not any(v == "listed" for v in out.report.values()), out.report


def test_reads_labels_hidden_inside_a_mounted_tree(hostile: Hostile, tmp_path: Path) -> None:
    """A hidden file inside a folder the candidate may read: the file is masked, the rest not."""
    data = tmp_path / "shared-data"
    data.mkdir()
    (data / "public.txt").write_text("public")
    secret = "MASKED-" + secrets.token_hex(8)
    (data / "labels.txt").write_text(secret)
    sandbox = hostile.with_options(extra_read_only=(data,))
    out = hostile.run(
        """
        import json, os, sys
        d = sys.argv[1]
        res = {"public": open(d + "/public.txt").read(), "listing": sorted(os.listdir(d))}
        try:
            res["labels"] = open(d + "/labels.txt").read()
        except OSError as e:
            res["labels"] = type(e).__name__
        print(json.dumps(res))
        """,
        hidden=[data / "labels.txt"],
        args=[str(data)],
        sandbox=sandbox,
    )
    assert out.result.exit_code == 0, out.result
    assert out.report["public"] == "public"
    assert secret not in out.result.stdout_tail
    assert out.report["labels"] in ("", "PermissionError"), out.report


def test_reads_sklearn_digits_labels(hostile: Hostile) -> None:
    """The digits demo's labels ship inside scikit-learn: loading them must fail when hidden."""
    import sklearn.datasets

    data_dir = Path(sklearn.datasets.__file__).parent / "data"
    digits = data_dir / "digits.csv.gz"
    assert digits.exists()
    out = hostile.run(
        """
        import json, sys
        res = {}
        try:
            open(sys.argv[1], "rb").read(10)
            res["open"] = "read"
        except OSError as e:
            res["open"] = type(e).__name__
        try:
            from sklearn.datasets import load_digits
            res["load_digits"] = int(load_digits().target.sum())
        except Exception as e:
            res["load_digits"] = type(e).__name__
        print(json.dumps(res))
        """,
        hidden=[digits],
        args=[str(digits)],
    )
    assert out.result.exit_code == 0, out.result
    assert out.report["open"] != "read"
    assert not isinstance(out.report["load_digits"], int), out.report


def test_reads_the_driver_through_proc(hostile: Hostile, fake_driver: tuple[int, str]) -> None:
    """Read the driver's environment, command line and memory through /proc."""
    pid, token = fake_driver
    out = hostile.run(
        """
        import json, os, sys
        res = {}
        for pid in (sys.argv[1], sys.argv[2], "1", str(os.getppid())):
            for what in ("environ", "cmdline", "mem", "maps", "root/etc/hostname"):
                try:
                    with open(f"/proc/{pid}/{what}", "rb") as fh:
                        res[f"{pid}/{what}"] = fh.read(4096).decode("latin-1")
                except OSError as e:
                    res[f"{pid}/{what}"] = type(e).__name__
        res["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        blob = ""
        for p in res["pids"]:
            for what in ("environ", "cmdline"):
                try:
                    blob += open(f"/proc/{p}/{what}", "rb").read().decode("latin-1")
                except OSError:
                    pass
        res["scan"] = blob
        print(json.dumps(res))
        """,
        args=[str(pid), str(os.getpid())],
    )
    assert out.result.exit_code == 0, out.result
    assert token not in out.result.stdout_tail
    report = out.report
    assert report[f"{pid}/environ"] == "FileNotFoundError"  # the pid namespace hides it
    assert len(report["pids"]) <= 4, report["pids"]


def test_reads_secrets_from_its_environment(
    hostile: Hostile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Look for the driver's API keys in its own environment and its ancestors'."""
    token = "KEY-" + secrets.token_hex(8)
    monkeypatch.setenv("EVOFORGE_TEST_API_KEY", token)
    monkeypatch.setenv("OPENAI_API_KEY", token)
    out = hostile.run(
        """
        import json, os
        blob = repr(dict(os.environ))
        for pid in ("self", "1", "2", str(os.getppid())):
            try:
                blob += open(f"/proc/{pid}/environ", "rb").read().decode("latin-1")
            except OSError:
                pass
        print(json.dumps({"blob": blob, "keys": sorted(os.environ)}))
        """
    )
    assert out.result.exit_code == 0, out.result
    assert token not in out.result.stdout_tail
    assert "EVOFORGE_TEST_API_KEY" not in out.report["keys"]


def test_reads_another_candidates_scratch(hostile: Hostile, tmp_path: Path) -> None:
    """Read another candidate's scratch folder (its outputs could be copied)."""
    other = tmp_path / "other-candidate"
    other.mkdir()
    secret = "OTHER-" + secrets.token_hex(8)
    (other / "predictions.npy").write_text(secret)
    out = hostile.run(
        """
        import json, sys
        try:
            res = open(sys.argv[1] + "/predictions.npy").read()
        except OSError as e:
            res = type(e).__name__
        print(json.dumps({"read": res}))
        """,
        args=[str(other)],
    )
    assert out.result.exit_code == 0, out.result
    assert out.report["read"] == "FileNotFoundError"


def test_loads_a_bundled_data_set_the_task_forgot_to_hide(hostile: Hostile) -> None:
    """A task that lists no hidden path: the candidate loads scikit-learn's breast-cancer
    set, labels and all. Libraries' bundled data sets are hidden by default."""
    from evoforge.runner import sandbox_hidden
    from evoforge.tasks import Task

    class Careless(Task):  # the user's first task: no hidden_paths, no files
        def prepare(self, workdir: Path, *, seed: int) -> None: ...

        def score(self, workdir: Path) -> dict[str, float]:
            return {}

    out = hostile.run(
        """
        import json
        res = {}
        for name in ("load_breast_cancer", "load_iris", "load_wine", "load_digits"):
            try:
                import sklearn.datasets as ds
                res[name] = int(getattr(ds, name)().target.sum())
            except Exception as e:
                res[name] = type(e).__name__
        print(json.dumps(res))
        """,
        hidden=sandbox_hidden(Careless()),
    )
    assert out.result.exit_code == 0, out.result
    assert not any(isinstance(v, int) for v in out.report.values()), out.report
