"""evoforge as a library: the built wheel, installed into a fresh virtual environment
with its declared dependencies only (no torch), gives a working CLI and Python API."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

API = """
import sys
import evoforge

run = evoforge.open_run(sys.argv[1])
champion = run.champion()
print(run.state, len(run.candidates()), champion.id if champion else None)
"""


def _sh(*cmd: str | Path, cwd: Path, timeout: float = 300) -> str:
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"{cmd}: {proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


@pytest.mark.slow
def test_the_wheel_installs_into_a_fresh_venv_and_runs_without_torch(tmp_path: Path) -> None:
    src = tmp_path / "src-copy"  # built from a copy: setuptools writes build/ beside the source
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    shutil.copytree(ROOT / "src", src / "src", ignore=ignore)
    wheels = tmp_path / "wheels"
    _sh(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
        "-w", wheels, src, cwd=tmp_path)  # fmt: skip
    (wheel,) = wheels.glob("evoforge-*.whl")

    venv = tmp_path / "venv"
    _sh(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    py, cli = venv / "bin" / "python", venv / "bin" / "evoforge"
    _sh(py, "-m", "pip", "install", "-q", wheel, cwd=tmp_path, timeout=900)
    found = _sh(py, "-c", "import importlib.util as u; print(u.find_spec('torch'))", cwd=tmp_path)
    assert found.strip() == "None", "torch came in as a core dependency"

    assert "Usage" in _sh(cli, "--help", cwd=tmp_path)
    _sh(cli, "init", "exp", "--template", "minimal", cwd=tmp_path)
    toml = tmp_path / "exp" / "evoforge.toml"
    toml.write_text(toml.read_text().replace("candidates = 40", "candidates = 8"))
    out = _sh(cli, "run", "exp", cwd=tmp_path, timeout=600)
    assert "state: finished" in out
    assert "member_tpe:" in out and "member_gp:" not in out  # the GP needs torch: left out
    (run,) = (tmp_path / "exp" / "runs").iterdir()
    api = subprocess.run([py, "-", str(run)], input=API, capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)  # fmt: skip
    assert api.returncode == 0, api.stderr
    state, n, champion = api.stdout.split()
    assert state == "finished" and int(n) >= 8 and champion != "None"
