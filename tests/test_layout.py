"""The package's layout: the tests mirror it (every module with logic has its own test
file), and no two modules import each other when they load.

The test file of ``src/evoforge/<folder>/<module>.py`` is
``tests/<folder>/test_<module>.py``, or ``tests/<folder>/test_<package>_<module>.py``
where ``<package>`` is the module's own folder name (test files need unique names:
the test folders are not packages). A leading underscore is dropped
(``gates/_base.py`` -> ``tests/gates/test_gates_base.py``). A module holds logic when
one of its functions does more than declare (a docstring, ``...``, ``pass``).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "evoforge"
TESTS = ROOT / "tests"

COVERED_ELSEWHERE = {
    # module: (its tests, why they are not in the mirrored file)
    "archive/_base.py": (
        "tests/archive/test_archive_conformance.py",
        "the archive interface: the conformance suite runs it against every backend",
    ),
    "archive/memory.py": (
        "tests/archive/test_archive_conformance.py",
        "a backend the conformance suite runs every interface test against",
    ),
    "policy/shipped/default.py": (
        "tests/policy/test_policy.py",
        "a shipped policy is data for policy/inprocess.py; its frame is checked there",
    ),
    "policy/shipped/evolved.py": (
        "tests/policy/test_policy.py",
        "a shipped policy is data for policy/inprocess.py; its frame is checked there",
    ),
    "templates/minimal/program.py": (
        "tests/cli/test_cli_start.py",
        "a template `evoforge init` copies; the CLI tests run it",
    ),
    "templates/minimal/task.py": (
        "tests/cli/test_cli_start.py",
        "a template `evoforge init` copies; the CLI tests run it",
    ),
    "templates/sklearn/train.py": (
        "tests/cli/test_cli_start.py",
        "a template `evoforge init --template sklearn` copies; the CLI tests run it",
    ),
    "templates/sklearn/task.py": (
        "tests/cli/test_cli_start.py",
        "a template `evoforge init --template sklearn` copies; the CLI tests run it",
    ),
    "templates/stream/stream_source.py": (
        "tests/cli/test_cli_stream.py",
        "a template `evoforge init --template stream` copies; the CLI tests watch it",
    ),
}


def _declares_only(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    body = list(fn.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    return all(
        isinstance(stmt, ast.Pass)
        or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant))
        for stmt in body
    )


def has_logic(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not _declares_only(node)
        for node in ast.walk(tree)
    )


def mirrored(module: Path) -> list[Path]:
    """Where the test file of ``module`` (a path under the package) may be."""
    rel = module.relative_to(PACKAGE)
    stem = module.stem.lstrip("_")
    folder = TESTS / rel.parent
    names = [f"test_{stem}.py"]
    if rel.parent.parts:
        names.append(f"test_{rel.parent.name}_{stem}.py")
    return [folder / name for name in names]


def modules_with_logic() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" and has_logic(p))


def test_every_module_with_logic_has_its_test_file() -> None:
    missing = []
    for module in modules_with_logic():
        rel = module.relative_to(PACKAGE).as_posix()
        if rel in COVERED_ELSEWHERE:
            continue
        if not any(p.exists() for p in mirrored(module)):
            missing.append(f"{rel} -> {mirrored(module)[-1].relative_to(ROOT)}")
    assert not missing, "modules without their test file:\n" + "\n".join(missing)


def test_the_exceptions_name_real_modules_and_real_tests() -> None:
    for module, (tests, why) in COVERED_ELSEWHERE.items():
        assert (PACKAGE / module).exists(), module
        assert (ROOT / tests).exists(), tests
        assert why


def test_the_rule_finds_logic_and_skips_declarations(tmp_path: Path) -> None:
    declared = tmp_path / "declared.py"
    declared.write_text(
        'class A:\n    def f(self) -> int:\n        """Doc."""\n        ...\n', encoding="utf-8"
    )
    working = tmp_path / "working.py"
    working.write_text("def f(x):\n    return x + 1\n", encoding="utf-8")
    assert not has_logic(declared)
    assert has_logic(working)


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _imports_at_load(path: Path, name: str, modules: set[str]) -> set[str]:
    """The evoforge modules ``path`` imports when it is loaded (module level, not inside
    functions: those run later, and may point anywhere)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("evoforge"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            if base.startswith("evoforge"):  # ``from pkg import mod`` needs mod, not pkg
                subs = {f"{base}.{a.name}" for a in node.names}
                found.update(subs & modules or {base})
    return found


def test_no_two_modules_import_each_other_at_load() -> None:
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {
        name: {m for m in _imports_at_load(path, name, set(paths)) if m in paths and m != name}
        for name, path in paths.items()
    }
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[str] = []

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                cycles.append(" -> ".join([*trail[trail.index(dep) :], dep]))
            elif dep not in state:
                visit(dep, [*trail, dep])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
