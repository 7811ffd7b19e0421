"""evoforge itself not root: bubblewrap in a user namespace, Landlock and seccomp still on.

Runs a small driver as uid 65534 with the system's Python (the project's venv
lives under /root here, which that uid cannot read), importing a world-readable
copy of the package: the checkout itself may sit in a private folder (a clone made
in ``mktemp -d``, mode 0700).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

SYSTEM_PYTHON = "/usr/bin/python3"
SRC = Path(__file__).resolve().parents[2] / "src"

DRIVER = """
import json, os, sys
from pathlib import Path
from evoforge.sandbox import Limits, RunSpec, build_sandbox
work = Path(sys.argv[1])
(work / "c.py").write_text(
    "import json, os, socket\\n"
    "res = {'uid': os.getuid(), 'repo': os.path.exists(sys_src)}\\n"
    "try:\\n    socket.socket(socket.AF_INET); res['inet'] = 'ok'\\n"
    "except OSError as e:\\n    res['inet'] = e.errno\\n"
    "kids = 0\\n"
    "try:\\n"
    "    while kids < 200:\\n"
    "        if os.fork() == 0:\\n            import time; time.sleep(3); os._exit(0)\\n"
    "        kids += 1\\n"
    "except OSError:\\n    pass\\n"
    "res['kids'] = kids\\n"
    "json.dump(res, open('out.json', 'w'))\\n".replace("sys_src", repr(sys.argv[2]))
)
sandbox = build_sandbox()
result = sandbox.run(RunSpec(argv=(sys.executable, "c.py"), workdir=work,
                             limits=Limits(wall_seconds=30, processes=16, memory_mb=512),
                             env={"PATH": "/usr/bin:/bin"}))
print(json.dumps({"strength": dict(sandbox.strength()), "exit": result.exit_code,
                  "stderr": result.stderr_tail,
                  "out": json.loads((work / "out.json").read_text())}))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
@pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON), reason="no system Python")
def test_sandbox_works_when_evoforge_is_not_root() -> None:
    # Not under pytest's tmp_path: its parents are private to root.
    work = Path(tempfile.mkdtemp(prefix="evoforge-unprivileged-"))
    os.chown(work, 65534, 65534)
    src = Path(tempfile.mkdtemp(prefix="evoforge-src-"))
    src.chmod(0o755)
    shutil.copytree(
        SRC / "evoforge", src / "evoforge", ignore=shutil.ignore_patterns("__pycache__")
    )
    try:
        report = _drive(work, src)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(src, ignore_errors=True)
    strength = report["strength"]
    for layer in ("bubblewrap", "landlock", "seccomp", "scratch_cap", "process_limit"):
        assert strength[layer].startswith("on"), (layer, strength[layer])
    assert report["exit"] == 0, report["stderr"]
    out = report["out"]
    assert out["uid"] == 65534 and out["repo"] is False
    assert out["inet"] == 1  # EPERM from seccomp
    assert out["kids"] <= 16  # RLIMIT_NPROC counts only this user namespace's processes


def _drive(work: Path, src: Path) -> dict[str, Any]:
    done = subprocess.run(
        [SYSTEM_PYTHON, "-c", DRIVER, str(work), str(src)],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"},
        user=65534,
        group=65534,
        extra_groups=[],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return report
