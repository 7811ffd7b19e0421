from __future__ import annotations

from pathlib import Path

import pytest

from evoforge.gates import EvolveRegionGate, check_all
from evoforge.gates.constraints import (
    DEFAULT_FORBIDDEN_CALLS,
    DEFAULT_FORBIDDEN_IMPORTS,
    ConstraintGate,
    ConstraintPolicy,
    changed_lines,
)

REPO = Path(__file__).resolve().parents[2]
EXPERIMENT = "/home/u/exp"
PATHS: tuple[str, ...] = (
    EXPERIMENT,
    f"{EXPERIMENT}/task.py",
    f"{EXPERIMENT}/runs/r1",
    "/data/hidden/labels.npy",
)
PATHS += (f"{EXPERIMENT}/runs/r1/archive.sqlite",)

TOP = """\
import os
import time

import numpy as np

CAP = 10.0


def helper(n=1):
    return n


class Frame:
    # EVOLVE-BLOCK-START
    size = 1
    # EVOLVE-BLOCK-END


# EVOLVE-BLOCK-START
"""
BOTTOM = """\
# EVOLVE-BLOCK-END

print(run())
"""
SEED_BLOCK = "def run():\n    return helper() + 1\n"
FIRST = TOP.count("\n") + 1
"""Line number of the first line of the module-level block."""


def program(block: str) -> dict[str, str]:
    return {"train.py": TOP + block + BOTTOM}


def reasons(block: str, policy: ConstraintPolicy | None = None) -> list[str]:
    gate = ConstraintGate(policy or ConstraintPolicy(forbidden_paths=PATHS))
    return list(gate.check(program(block), seed=program(SEED_BLOCK)).reasons)


FORBIDDEN = [
    # imports, plain, aliased, from-imports, relative, and through the frame's import
    ("import socket", "import of 'socket' is forbidden (network)"),
    ("import subprocess as sp", "import of 'subprocess' is forbidden (starts processes"),
    ("from urllib.request import urlopen as get", "import of 'urllib.request.urlopen'"),
    ("from http import client", "import of 'http.client' is forbidden (network)"),
    ("import ctypes", "import of 'ctypes' is forbidden (runs native code"),
    ("import importlib", "import of 'importlib' is forbidden (dynamic import"),
    ("import pickle", "import of 'pickle' is forbidden (deserialising"),
    ("import gc", "import of 'gc' is forbidden (reaches other code"),
    ("from inspect import currentframe", "import of 'inspect.currentframe' is forbidden"),
    ("import signal", "import of 'signal' is forbidden (the harness owns signals"),
    ("from sklearn import datasets", "import of 'sklearn.datasets' is forbidden (bundled"),
    ("from sklearn.datasets import load_digits", "import of 'sklearn.datasets.load_digits'"),
    ("import evoforge.tasks", "import of 'evoforge.tasks' is forbidden (the harness"),
    ("import task", "import of 'task' is forbidden (it is the task's trusted code)"),
    ("from . import task", "import of 'task' is forbidden (it is the task's trusted code)"),
    ("from .task import score", "import of 'task.score' is forbidden"),
    ("from os import system", "import of 'os.system' is forbidden (runs a shell command)"),
    ("from os import *", "'from os import *' is forbidden"),
    # calls and references, through aliases, without a call, through getattr
    ("os.system('ls')", "'os.system' is forbidden (runs a shell command)"),
    ("import os as o\no.execv('x', [])", "'os.execv' is forbidden (starts processes"),
    ("from os import fork as f\nf()", "'os.fork' is forbidden"),
    ("run = os.popen", "'os.popen' is forbidden (runs a shell command)"),
    ("getattr(os, 'system')('ls')", "'os.system' is forbidden"),
    ("getattr(os, 'sys' + 'tem')", "getattr on 'os' with a computed name is forbidden"),
    ("__import__('socket')", "'__import__' is forbidden (dynamic import"),
    ("import importlib as il\nil.import_module('x')", "'importlib.import_module' is forbidden"),
    ("eval('1 + 1')", "'eval' is forbidden (runs code built at run time"),
    ("exec('x = 1')", "'exec' is forbidden"),
    ("compile('1', 'f', 'eval')", "'compile' is forbidden"),
    ("vars(np)['x'] = 1", "'vars' is forbidden"),
    ("import sys\nsys._getframe(1)", "'sys._getframe' is forbidden"),
    ("import sys as s\nx = s.modules['task']", "'sys.modules' is forbidden"),
    ("import sys\nsys.path.insert(0, 'x')", "'sys.path.insert' is forbidden (changes where"),
    ("import types\nf = types.FunctionType", "'types.FunctionType' is forbidden"),
    ("os.kill(1, 9)", "'os.kill' is forbidden"),
    # special attributes and names: escapes, frames, globals
    ("def f(g):\n    return g.__globals__", "'.__globals__' is forbidden"),
    ("x = ().__class__.__mro__[1].__subclasses__()", "'.__subclasses__' is forbidden"),
    ("x = ().__class__.__mro__", "'.__mro__' is forbidden (walks the class hierarchy"),
    ("def f(e):\n    return e.__traceback__.tb_frame.f_back", "'.f_back' is forbidden"),
    ("x = __builtins__", "'__builtins__' is forbidden"),
    ("x = getattr(helper, '__code__')", "the string '__code__' is forbidden"),
    ("helper.__defaults__ = (2,)", "'.__defaults__' is forbidden (patches"),
    # patching imports, frame code and frame names
    ("time.time = lambda: 0.0", "patching 'time.time' is forbidden (it assigns into an import)"),
    ("np.random.seed = print", "patching 'numpy.random.seed' is forbidden"),
    ("import time as t\nt.perf_counter = t.time", "patching 'time.perf_counter' is forbidden"),
    ("setattr(time, 'monotonic', lambda: 0.0)", "patching 'time.monotonic' is forbidden"),
    ("def f(o, k):\n    setattr(o, k, 1)", "setattr with a computed name is forbidden"),
    ("del np.random.seed", "patching 'numpy.random.seed' is forbidden"),
    ("helper.cache = {}", "patching 'helper.cache' is forbidden (the frame defines it)"),
    ("CAP = 1e9", "rebinding 'CAP' is forbidden (the frame defines it)"),
    ("time = None", "rebinding 'time' is forbidden (the frame defines it)"),
    ("import os.path as time", "rebinding 'time' is forbidden"),
    ("def f():\n    global CAP\n    CAP = 1", "'global CAP' is forbidden"),
    # objects that compare or convert as they like
    ("class A:\n    def __eq__(self, o):\n        return True", "defining '__eq__' in class 'A'"),
    ("class B(float):\n    __float__ = lambda self: 1.0", "defining '__float__' in class 'B'"),
    ("class C:\n    def __array__(self):\n        return 1", "defining '__array__' in class 'C'"),
    ("class D:\n    __class__ = property(lambda s: float)", "defining '__class__' in class 'D'"),
    ("E = type('E', (), {'__eq__': lambda s, o: True})", "the string '__eq__' is forbidden"),
    # paths: forbidden ones and their file names, absolute, climbing out
    (f"x = '{EXPERIMENT}/task.py'", "names '/home/u/exp/task.py', a path candidates must not"),
    ("x = open('archive.sqlite', 'rb')", "names 'archive.sqlite', a path candidates must not"),
    ("x = np.load('labels.npy')", "names 'labels.npy'"),
    ("x = open('/etc/passwd').read()", "the path '/etc/passwd' is forbidden (outside the scratch"),
    ("x = np.load('../hidden/y.npy')", "the path '../hidden/y.npy' is forbidden"),
    ("x = open(f'/proc/{os.getpid()}/status')", "the path '/proc/' is forbidden"),
    ("x = open(b'/root/.ssh/id_rsa')", "the path '/root/.ssh/id_rsa' is forbidden"),
    ("x = open('~/.netrc')", "the path '~/.netrc' is forbidden"),
]


@pytest.mark.parametrize(("block", "expected"), FORBIDDEN, ids=[b for b, _ in FORBIDDEN])
def test_each_forbidden_construct_is_rejected_with_its_reason(block: str, expected: str) -> None:
    found = reasons(block + "\n" + SEED_BLOCK)
    assert any(expected in r for r in found), found
    assert all(r.startswith("train.py:") for r in found), found


ALLOWED = """\
import collections
import dataclasses
import functools
import itertools
import json
import math
import random
from pathlib import Path

import torch
from torch import nn

ACT = "relu"


@dataclasses.dataclass
class Config:
    lr: float = 0.1


class Data(torch.utils.data.Dataset):
    def __init__(self, n):
        self.n = n
        setattr(self, "scale", 2.0)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i


def run():
    \"\"\"Docstrings may say /etc or ../ in passing: 'a/b', x/y.\"\"\"
    started = time.time() + time.perf_counter() + time.monotonic()
    np.random.seed(0)
    torch.manual_seed(0)
    layer = getattr(nn, ACT.upper() if ACT == "x" else "ReLU")()
    act = getattr(nn, ACT.capitalize())
    model = torch.compile if False else nn.Sequential(layer)
    model.eval()
    counts = collections.Counter(itertools.chain([1], [2]))
    total = functools.reduce(lambda a, b: a + b, counts.values())
    seed = int(os.environ.get("EVOFORGE_SEED", "0"))
    with open("predictions.json", "w") as fh:
        json.dump({"x": [math.sqrt(total), random.random(), seed]}, fh)
    out = Path("out") / "pred.npy"
    print(f"{total}/{started:.1f}/s", "/".join(["a", "b"]), os.path.join("a", "b"), act, out)
    return helper() + CAP
"""


def test_ordinary_training_code_passes() -> None:
    assert reasons(ALLOWED) == []


def test_digits_demo_seed_passes_with_a_realistic_policy() -> None:
    seed = {"train.py": (REPO / "examples" / "digits" / "train.py").read_text()}
    paths = (str(REPO / "examples" / "digits"), str(REPO / "examples" / "digits" / "task.py"))
    policy = ConstraintPolicy(forbidden_paths=(*paths, *PATHS))
    assert ConstraintGate(policy).check(seed, seed=seed).reasons == ()


def test_minimal_template_seed_passes() -> None:
    seed = {"program.py": (REPO / "src/evoforge/templates/minimal/program.py").read_text()}
    assert ConstraintGate(ConstraintPolicy(forbidden_paths=PATHS)).check(seed, seed=seed).ok


def test_every_reason_is_listed_in_line_order_with_file_and_line() -> None:
    block = "import socket\nos.system('x')\nx = open('/etc/shadow')\n" + SEED_BLOCK
    assert reasons(block) == [
        f"train.py:{FIRST}: import of 'socket' is forbidden (network)",
        f"train.py:{FIRST + 1}: 'os.system' is forbidden (runs a shell command)",
        f"train.py:{FIRST + 2}: the path '/etc/shadow' is forbidden "
        "(outside the scratch folder; use relative names)",
    ]


def test_the_frame_is_trusted_but_its_aliases_are_followed() -> None:
    frame = "import subprocess as sp\nx = open('/etc/hosts')\nCAP = 1\n"
    seed = {"a.py": frame + "# EVOLVE-BLOCK-START\ny = 1\n# EVOLVE-BLOCK-END\n"}
    gate = ConstraintGate()
    assert gate.check(seed, seed=seed).ok
    child = {"a.py": seed["a.py"].replace("y = 1", "y = sp.run(['ls'])")}
    assert gate.check(child, seed=seed).reasons == (
        "a.py:5: 'subprocess.run' is forbidden (starts processes outside the harness's accounting)",
    )


def test_a_block_inside_a_frame_class_is_checked() -> None:
    child = program(SEED_BLOCK)
    child["train.py"] = child["train.py"].replace(
        "    size = 1\n", "    size = 1\n\n    def __eq__(self, o):\n        return True\n"
    )
    found = ConstraintGate().check(child, seed=program(SEED_BLOCK)).reasons
    assert found == (
        "train.py:17: defining '__eq__' in class 'Frame' is forbidden (an object that compares, "
        "converts or computes as it likes can game a scorer)",
    )


def test_allow_imports_grants_exceptions_and_the_longest_entry_wins() -> None:
    assert reasons("import pickle\n" + SEED_BLOCK)
    granted = ConstraintPolicy(allow_imports=("pickle",))
    assert reasons("import pickle\n" + SEED_BLOCK, granted) == []
    torch_granted = ConstraintPolicy(allow_imports=("torch",))
    assert reasons("import torch.multiprocessing\n" + SEED_BLOCK, torch_granted)
    one_function = ConstraintPolicy(allow_imports=("sklearn.datasets.make_classification",))
    ok = "from sklearn.datasets import make_classification\n" + SEED_BLOCK
    assert reasons(ok, one_function) == []
    assert reasons("from sklearn.datasets import load_digits\n" + SEED_BLOCK, one_function)


def test_policy_lists_replace_the_defaults() -> None:
    custom = ConstraintPolicy(forbid_imports=("numpy",), forbid_calls=("torch.load", "print"))
    assert reasons("import socket\n" + SEED_BLOCK, custom) == []
    found = reasons("import numpy\nimport torch\nx = torch.load('m.pt')\nprint(1)\n", custom)
    assert [r.split(": ", 1)[1] for r in found] == [
        "import of 'numpy' is forbidden (forbidden by the policy)",
        "'torch.load' is forbidden (forbidden by the policy)",
        "'print' is forbidden (forbidden by the policy)",
    ]
    assert "socket" in DEFAULT_FORBIDDEN_IMPORTS and "os.system" in DEFAULT_FORBIDDEN_CALLS


def test_max_changed_lines_counts_added_and_removed_lines_in_the_blocks() -> None:
    block = "def run():\n    return helper() + 2\n" + "A = 1\nB = 2\nC = 3\n"
    assert changed_lines(program(SEED_BLOCK), program(block)) == {"train.py": 5}
    assert reasons(block, ConstraintPolicy(max_changed_lines=5)) == []
    assert reasons(block, ConstraintPolicy(max_changed_lines=None)) == []
    assert reasons(block, ConstraintPolicy(max_changed_lines=4)) == [
        "5 lines changed inside the evolve blocks (train.py: 5); the policy allows at most 4"
    ]


def test_files_outside_the_policy_may_not_change() -> None:
    block = "# EVOLVE-BLOCK-START\nX = 1\n# EVOLVE-BLOCK-END\n"
    seed = {"a.py": block, "b.py": block}
    child = {"a.py": block.replace("1", "2"), "b.py": block.replace("1", "3")}
    gate = ConstraintGate(ConstraintPolicy(files=("a.py",)))
    assert gate.check(child, seed=seed).reasons == (
        "b.py: changes are forbidden in this file (the policy allows changes only in a.py)",
    )
    assert gate.check({**child, "b.py": block}, seed=seed).ok


def test_unparsable_code_is_left_to_the_region_gate() -> None:
    child = program("def run(:\n    import socket\n")
    gates = [EvolveRegionGate(), ConstraintGate()]
    found = check_all(gates, child, seed=program(SEED_BLOCK)).reasons
    assert len(found) == 1 and "syntax error" in found[0]
