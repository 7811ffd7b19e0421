"""Hostile candidates that try to change what they must not: files, mounts, privileges.

Each test is one hostile candidate with the containment it must meet; the
``hostile`` fixture then checks that the run goes on.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import stat
import sys
from pathlib import Path

import pytest

from evoforge.tasks._base import OutputError
from evoforge.tasks.outputs import read_array, read_json

from sandbox_support import Hostile


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_writes_outside_its_scratch(hostile: Hostile, tmp_path: Path) -> None:
    """Write beside the scratch folder, into the venv (a .pth file runs in every later
    Python), the system, the host's /tmp and /dev/shm."""
    token = secrets.token_hex(6)
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    targets = [
        tmp_path / "outside.txt",
        site / f"evoforge_pwned_{token}.pth",
        Path(sys.prefix) / f"pwned-{token}",
        Path(f"/tmp/evoforge-pwned-{token}"),
        Path(f"/dev/shm/evoforge-pwned-{token}"),
        Path(f"/usr/lib/evoforge-pwned-{token}"),
        Path(f"/etc/evoforge-pwned-{token}"),
        Path(f"/root/evoforge-pwned-{token}"),
    ]
    out = hostile.run(
        """
        import json, sys
        res = {}
        for t in sys.argv[1:]:
            try:
                with open(t, "w") as fh:
                    fh.write("import os; os.system('id > /tmp/pwned')\\n")
                res[t] = "written"
            except OSError as e:
                res[t] = type(e).__name__
        print(json.dumps(res))
        """,
        args=[str(t) for t in targets],
    )
    assert out.result.exit_code == 0, out.result
    for t in targets:
        assert not t.exists(), f"{t} reached the host"
    # Inside, the venv and the system are read-only; /tmp and /dev/shm are private tmpfs.
    assert out.report[str(site / f"evoforge_pwned_{token}.pth")] != "written"
    assert out.report[f"/usr/lib/evoforge-pwned-{token}"] != "written"


def test_tampers_with_archive_task_and_audit_log(hostile: Hostile, tmp_path: Path) -> None:
    """Edit the task, the config (its timeouts), the archive and the audit log, or delete them."""
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "archive.sqlite").write_bytes(b"SQLite format 3\0" + os.urandom(64))
    (run / "audit.jsonl").write_text('{"event": "start"}\n')
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "task.py").write_text("def score(): ...\n")
    (exp / "evoforge.toml").write_text("[limits]\nwall_seconds = 60\n")
    before = {**_digest(run), **_digest(exp)}
    hidden = [run, exp]
    out = hostile.run(
        """
        import json, os, sys
        res = {}
        for folder in sys.argv[1:]:
            for name in ("archive.sqlite", "audit.jsonl", "task.py", "evoforge.toml"):
                for how, path in (("abs", os.path.join(folder, name)),
                                  ("rel", os.path.relpath(os.path.join(folder, name)))):
                    for op in ("append", "truncate", "unlink"):
                        try:
                            if op == "append":
                                open(path, "a").write("wall_seconds = 100000\\n")
                            elif op == "truncate":
                                os.truncate(path, 0)
                            else:
                                os.unlink(path)
                            res[f"{name}/{how}/{op}"] = "done"
                        except OSError as e:
                            res[f"{name}/{how}/{op}"] = type(e).__name__
        print(json.dumps(res))
        """,
        hidden=hidden,
        args=[str(run), str(exp)],
    )
    assert out.result.exit_code == 0, out.result
    assert {**_digest(run), **_digest(exp)} == before
    assert "done" not in out.report.values()


def test_plants_symlinks_for_the_scorer(hostile: Hostile, tmp_path: Path) -> None:
    """Leave links (and a fifo) named like outputs, pointing at the labels, for the
    trusted scorer to follow when it reads the outputs."""
    task = tmp_path / "task"
    task.mkdir()
    secret_labels = task / "labels.npy"
    shutil.copy(Path(__file__), secret_labels)  # any content: it must never be read
    out = hostile.run(
        """
        import json, os, sys
        labels, task = sys.argv[1], sys.argv[2]
        os.symlink(labels, "predictions.npy")
        os.symlink(task, "outputs")
        os.symlink("/etc/shadow", "metrics.json")
        os.mkfifo("extra.json")
        os.mkdir("nested")
        os.symlink(labels, "nested/predictions.npy")
        try:
            os.link(labels, "hard.npy")
            res = "linked"
        except OSError as e:
            res = type(e).__name__
        print(json.dumps({"hardlink": res}))
        """,
        hidden=[task],
        args=[str(secret_labels), str(task)],
    )
    assert out.result.exit_code == 0, out.result
    assert out.report["hardlink"] != "linked"
    planted = [
        p for p in out.workdir.rglob("*") if p.is_symlink() or stat.S_ISFIFO(p.lstat().st_mode)
    ]
    assert planted == [], f"links reached the host scratch folder: {planted}"
    with pytest.raises(OutputError):
        read_array(out.workdir, "predictions.npy")
    with pytest.raises(OutputError):
        read_json(out.workdir, "metrics.json")
    with pytest.raises(OutputError):
        read_json(out.workdir, "extra.json")  # a fifo would hang a naive reader
    with pytest.raises(OutputError):
        read_array(out.workdir, "nested/predictions.npy")


def test_unmounts_the_masks(hostile: Hostile, tmp_path: Path) -> None:
    """Unmount what hides the labels, remount /proc, or make new namespaces to do so."""
    data = tmp_path / "data"
    data.mkdir()
    secret = "UNDER-MASK-" + secrets.token_hex(6)
    (data / "labels.txt").write_text(secret)
    (data / "public.txt").write_text("ok")
    sandbox = hostile.with_options(extra_read_only=(data,))
    out = hostile.run(
        """
        import ctypes, json, os, sys
        libc = ctypes.CDLL(None, use_errno=True)
        target = sys.argv[1]
        res = {}
        def attempt(name, rc):
            res[name] = "ok" if rc == 0 else os.strerror(ctypes.get_errno())
        attempt("umount", libc.umount2(target.encode(), 0))
        attempt("umount_detach", libc.umount2(target.encode(), 2))
        attempt("umount_tmp", libc.umount2(b"/tmp", 2))
        attempt("mount_proc", libc.mount(b"proc", b"/tmp", b"proc", 0, None))
        attempt("unshare_user_ns", libc.unshare(0x10000000 | 0x00020000))
        attempt("unshare_ns", libc.unshare(0x00020000))
        attempt("umount_after", libc.umount2(target.encode(), 2))
        try:
            res["read"] = open(target).read()
        except OSError as e:
            res["read"] = type(e).__name__
        print(json.dumps(res))
        """,
        hidden=[data / "labels.txt"],
        args=[str(data / "labels.txt")],
        sandbox=sandbox,
    )
    assert out.result.exit_code == 0, out.result
    assert secret not in out.result.stdout_tail
    report = out.report
    assert all(report[k] != "ok" for k in report if k != "read"), report


def test_escalates_through_setuid_binaries(hostile: Hostile) -> None:
    """Run setuid-root programs (mount, su) to become root again."""
    setuid = [
        p
        for p in ("/usr/bin/mount", "/bin/mount", "/usr/bin/su", "/usr/bin/passwd")
        if os.path.exists(p) and os.stat(p).st_mode & stat.S_ISUID
    ]
    if not setuid:
        pytest.skip("no setuid-root program on this machine to try")
    out = hostile.run(
        """
        import json, os, subprocess, sys
        res = {}
        os.mkdir("mnt")
        for prog in sys.argv[1:]:
            args = [prog, "-t", "tmpfs", "none", "mnt"] if "mount" in prog else [prog, "-c", "id -u"]
            p = subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL)
            res[prog] = [p.returncode, p.stdout.strip()]
        res["ismount"] = os.path.ismount("mnt")
        res["euid"] = os.geteuid()
        print(json.dumps(res))
        """,
        args=setuid,
    )
    assert out.result.exit_code == 0, out.result
    report = out.report
    assert report["ismount"] is False
    for prog in setuid:
        code, stdout = report[prog]
        assert code != 0 or stdout != "0", (prog, report[prog])
