"""The static scan of one file's evolve blocks, run on its rules directly (no gate, no policy)."""

from __future__ import annotations

import pytest

from evoforge.gates._code_scan import ScanRules, scan_file

RULES = ScanRules(
    forbid_imports=("socket", "mylib"),
    allow_imports=("mylib.safe",),
    forbid_calls=("eval", "os.system", "os.exec*"),
    path_needles=("/data/labels.npy", "labels.npy"),
    task_modules=("task",),
)
TOP = """\
import os
import json as js
import socket
CAP = 1


def helper():
    return eval("1")


# EVOLVE-BLOCK-START
"""
BOTTOM = "# EVOLVE-BLOCK-END\nprint(CAP, helper())\n"
FIRST = TOP.count("\n") + 1
"""The line number of the block's first line."""


def scan(block: str) -> list[str]:
    return scan_file("a.py", TOP + block + BOTTOM, RULES)


def test_the_frame_is_trusted_and_only_the_block_is_judged() -> None:
    assert scan("x = 1\n") == []


def test_each_reason_names_file_and_line_in_line_order() -> None:
    assert scan("y = 2\nz = eval('3')\nimport socket\n") == [
        f"a.py:{FIRST + 1}: 'eval' is forbidden (runs code built at run time, hidden from this check)",
        f"a.py:{FIRST + 2}: import of 'socket' is forbidden (network)",
    ]


def test_a_construct_repeated_on_one_line_is_reported_once() -> None:
    assert len(scan("x = eval('1') + eval('2')\n")) == 1


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("run = os.system\n", "'os.system' is forbidden"),
        ("os.execvp('sh', [])\n", "'os.execvp' is forbidden"),
        ("from os import system as sh\n", "import of 'os.system' is forbidden"),
        ("getattr(os, 'system')('ls')\n", "'os.system' is forbidden"),
        ("getattr(os, name)\n", "getattr on 'os' with a computed name is forbidden"),
    ],
)
def test_names_are_followed_through_the_files_imports(block: str, expected: str) -> None:
    found = scan(block)
    assert len(found) == 1 and expected in found[0], found


def test_bare_entries_are_builtins_and_dotted_entries_need_an_import() -> None:
    assert scan("x = js.eval(1)\ny = getattr(js, name)\n") == []
    unimported = "# EVOLVE-BLOCK-START\nos = object()\nos.system\n# EVOLVE-BLOCK-END\n"
    assert scan_file("b.py", unimported, RULES) == []


def test_the_longest_matching_grant_wins_over_a_forbidden_prefix() -> None:
    assert scan("import mylib.safe\nfrom mylib.safe import tool\n") == []
    assert scan("import mylib.other\n") == [
        f"a.py:{FIRST}: import of 'mylib.other' is forbidden (forbidden by the policy)"
    ]


def test_the_task_module_may_not_be_imported_but_a_module_named_like_it_may() -> None:
    assert scan("import task\n") == [
        f"a.py:{FIRST}: import of 'task' is forbidden (it is the task's trusted code)"
    ]
    assert scan("import taskutils\n") == []


def test_a_string_naming_a_forbidden_path_gives_one_reason_with_the_longest_name() -> None:
    assert scan("p = '/data/labels.npy'\n") == [
        f"a.py:{FIRST}: the string '/data/labels.npy' is forbidden (it names "
        "'/data/labels.npy', a path candidates must not reach)"
    ]


def test_absolute_and_climbing_paths_are_refused_but_relative_and_joined_ones_pass() -> None:
    assert "the path '/etc/hosts' is forbidden" in scan("p = '/etc/hosts'\n")[0]
    assert "the path '../y.npy' is forbidden" in scan("p = '../y.npy'\n")[0]
    assert scan("p = 'out/pred.npy'\nq = f'{p}/etc/x'\n") == []


def test_rebinding_a_frame_name_is_refused_unless_it_is_the_same_import() -> None:
    assert scan("CAP = 2\n") == [
        f"a.py:{FIRST}: rebinding 'CAP' is forbidden (the frame defines it)"
    ]
    assert scan("import json as js\n") == []
    assert scan("import os as js\n") == [
        f"a.py:{FIRST}: rebinding 'js' is forbidden (the frame defines it)"
    ]


def test_assigning_into_an_import_or_into_frame_code_is_patching() -> None:
    assert scan("os.environ = {}\n") == [
        f"a.py:{FIRST}: patching 'os.environ' is forbidden (it assigns into an import)"
    ]
    assert scan("helper.cache = {}\n") == [
        f"a.py:{FIRST}: patching 'helper.cache' is forbidden (the frame defines it)"
    ]


def test_a_class_in_the_block_may_not_define_comparison_methods() -> None:
    found = scan("class A:\n    def __eq__(self, other):\n        return True\n")
    assert len(found) == 1
    assert found[0].startswith(f"a.py:{FIRST + 1}: defining '__eq__' in class 'A' is forbidden")


@pytest.mark.parametrize(
    "source",
    [
        "import socket\n",
        "# EVOLVE-BLOCK-START\nimport socket\n",
        "# EVOLVE-BLOCK-START\nimport socket\ndef f(:\n# EVOLVE-BLOCK-END\n",
    ],
    ids=["no blocks", "unclosed block", "syntax error"],
)
def test_files_without_valid_blocks_are_left_to_the_region_gate(source: str) -> None:
    assert scan_file("a.py", source, RULES) == []
