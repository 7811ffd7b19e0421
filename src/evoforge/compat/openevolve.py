"""Run an OpenEvolve experiment folder with evoforge, in a clearly weaker compatibility mode.

An OpenEvolve folder holds ``initial_program.py`` (with ``# EVOLVE-BLOCK-START`` /
``# EVOLVE-BLOCK-END`` markers, the same as evoforge's), ``evaluator.py`` with
``evaluate(program_path) -> dict`` (optionally ``evaluate_stage1/2/3`` for cascade
evaluation) and ``config.yaml``. :func:`import_openevolve` writes an evoforge
experiment from it: the program, an ``evoforge.toml`` mapped from the YAML, the
folder's other files under ``openevolve/`` (hashed at run start like any task
data), and a generated ``task.py`` holding an :class:`OpenEvolveTask`.

Compatibility mode: the user's evaluator has no hidden labels and runs the candidate
program itself, so it runs *inside the sandbox*: the candidate's command is a small
runner that imports ``evaluator.py``, calls ``evaluate("initial_program.py")`` and
writes the numeric metrics as JSON, which the trusted task reads as data. The
metrics are therefore reported by sandboxed code. The task says so in
``compat_mode``; a run records it in its archive and audit trail and warns at start.
The objective is ``combined_score``, or, as OpenEvolve does, the mean of the
numeric metrics when the evaluator returns none.

Config keys are translated by :mod:`evoforge.compat.openevolve_config`; keys
OpenEvolve does not know are an error listing all of them (``allow_unknown=True``
lists them and goes on). The runner is :mod:`evoforge.compat.openevolve_runner`.
"""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from evoforge.compat.openevolve_config import (
    MARKER,
    Imported,
    OpenEvolveError,
    map_config,
    read_yaml,
    setting,
)
from evoforge.compat.openevolve_runner import COMPAT_MODE, METRICS, PROGRAM, RUNNER, runner_script
from evoforge.config import CONFIG_NAME
from evoforge.program import EvolveBlockError, program_blocks
from evoforge.tasks import OutputError, Task, read_json
from evoforge.wiring import load_experiment

_SKIP = {PROGRAM, "config.yaml", "evoforge-experiment", "openevolve_output", "__pycache__"}


def import_openevolve(
    source: Path,
    dest: Path | None = None,
    *,
    allow_unknown: bool = False,
    use_llm: bool = True,
) -> Imported:
    """Write an evoforge experiment for the OpenEvolve folder ``source`` into ``dest``.

    ``dest`` defaults to ``source/evoforge-experiment``; it must be empty, missing, or
    an earlier import (whose generated files are replaced, its runs kept).
    OpenEvolveError for a missing file, an initial program without evolve blocks,
    malformed YAML, a key with a wrong type, or keys OpenEvolve does not know
    (unless ``allow_unknown``).
    """
    source = Path(source).resolve()
    dest = Path(dest).resolve() if dest is not None else source / "evoforge-experiment"
    for name in (PROGRAM, "evaluator.py"):
        if not (source / name).is_file():
            raise OpenEvolveError(f"{source}: no {name} (an OpenEvolve folder needs one)")
    program = (source / PROGRAM).read_text(encoding="utf-8")
    try:
        if not program_blocks({PROGRAM: program}):
            raise OpenEvolveError(
                f"{source / PROGRAM}: no '# EVOLVE-BLOCK-START' ... '# EVOLVE-BLOCK-END' block"
            )
    except EvolveBlockError as exc:
        raise OpenEvolveError(f"{source / PROGRAM}: {exc}") from None
    data = read_yaml(source / "config.yaml")
    out = Imported(dest)
    toml = map_config(data, out, name=_name(source), use_llm=use_llm)
    if out.unknown and not allow_unknown:
        raise OpenEvolveError(
            f"{source / 'config.yaml'}: keys OpenEvolve does not know (check their spelling, "
            "or pass --allow-unknown-keys to ignore them): " + ", ".join(out.unknown)
        )
    _prepare_dest(dest)
    (dest / "openevolve").mkdir()
    for item in sorted(source.iterdir()):
        if item.name in _SKIP or item.name.startswith(".") or item.resolve() == dest:
            continue
        target = dest / "openevolve" / item.name
        shutil.copytree(item, target) if item.is_dir() else shutil.copy2(item, target)
    (dest / PROGRAM).write_text(program, encoding="utf-8")
    cascade = bool(setting(data, "evaluator.cascade_evaluation", False))
    thresholds = [float(t) for t in setting(data, "evaluator.cascade_thresholds", []) or []]
    (dest / "task.py").write_text(_TASK_MODULE.format(cascade=cascade, thresholds=thresholds))
    (dest / CONFIG_NAME).write_text(toml, encoding="utf-8")
    (dest / MARKER).write_text(out.report() + "\n", encoding="utf-8")
    load_experiment(dest)  # the generated experiment must load, or the mapping is wrong
    return out


class OpenEvolveTask(Task):
    """Copies the OpenEvolve folder and a runner into the scratch folder; reads the
    metrics the runner wrote. The evaluator runs in the sandbox (see the module doc)."""

    compat_mode = COMPAT_MODE

    def __init__(self, folder: Path, *, cascade: bool, thresholds: list[float]) -> None:
        self.folder = Path(folder)
        self.cascade = cascade
        self.thresholds = list(thresholds)

    def prepare(self, workdir: Path, *, seed: int) -> None:
        shutil.copytree(self.folder, workdir, dirs_exist_ok=True)
        script = runner_script(cascade=self.cascade, thresholds=self.thresholds)
        (workdir / RUNNER).write_text(script)

    def score(self, workdir: Path) -> Mapping[str, float]:
        out = read_json(workdir, METRICS)
        metrics = out.get("metrics") if isinstance(out, dict) else None
        if not isinstance(metrics, dict) or not metrics:
            raise OutputError(f"{METRICS}: the evaluator returned no numeric metric")
        bad = [
            k for k, v in metrics.items() if not isinstance(v, int | float) or isinstance(v, bool)
        ]
        if bad:
            raise OutputError(f"{METRICS}: not numbers: {', '.join(map(str, bad))}")
        return {str(k): float(v) for k, v in metrics.items() if math.isfinite(float(v))}

    def files(self) -> list[Path]:
        return sorted(p for p in self.folder.rglob("*") if p.is_file())


def _name(source: Path) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", source.name).strip("-") or "openevolve"


def _prepare_dest(dest: Path) -> None:
    if dest.exists() and any(dest.iterdir()):
        if not (dest / MARKER).is_file():
            raise OpenEvolveError(f"{dest} exists, is not empty and is not an earlier import")
        for item in dest.iterdir():  # an earlier import: regenerate it, keep its runs
            if item.name != "runs":
                shutil.rmtree(item) if item.is_dir() else item.unlink()
    dest.mkdir(parents=True, exist_ok=True)


_TASK_MODULE = '''"""Generated by evoforge from an OpenEvolve folder; re-import rather than edit.

Compatibility mode: the evaluator in openevolve/ runs inside the sandbox and
reports its own metrics (no hidden labels). See evoforge.compat.openevolve.
"""

from pathlib import Path

from evoforge.compat.openevolve import OpenEvolveTask

task = OpenEvolveTask(
    Path(__file__).resolve().parent / "openevolve", cascade={cascade}, thresholds={thresholds}
)
'''
