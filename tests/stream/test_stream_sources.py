"""Where a stream's batches come from: a folder of files, or trusted Python code."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from evoforge.config import ConfigError, StreamSection
from evoforge.stream.batches import Malformed, batch_of
from evoforge.stream.sources import FolderSource, PythonSource, source_for

NOW = 1_000_000.0


def put(folder: Path, name: str, *, age: float = 100.0, rows: int = 2) -> Path:
    """A batch file ``name`` last modified ``age`` seconds before NOW."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with path.open("wb") as fh:
        np.savez(fh, x=np.ones((rows, 2)), y=np.zeros(rows))
    os.utime(path, (NOW - age, NOW - age))
    return path


def folder_source(folder: Path, **kw: object) -> FolderSource:
    return FolderSource(folder, clock=lambda: NOW, **kw)  # type: ignore[arg-type]


def names(source: FolderSource | PythonSource, seen: set[str] | None = None) -> list[str]:
    return [a.name for a in source.arrived(seen or set())]


# -- FolderSource -------------------------------------------------------------------


def test_folder_order_is_by_name_and_reads_lazily(tmp_path: Path) -> None:
    for n in ("b10.npz", "a.npz", "b02.npz"):
        put(tmp_path, n, rows=len(n))
    arrived = folder_source(tmp_path).arrived(set())
    assert [a.name for a in arrived] == ["a.npz", "b02.npz", "b10.npz"]
    assert [a.read().rows for a in arrived] == [5, 7, 7]
    assert arrived[0].read().name == "a.npz"


def test_folder_skips_seen_names(tmp_path: Path) -> None:
    for n in ("a.npz", "b.npz", "c.npz"):
        put(tmp_path, n)
    assert names(folder_source(tmp_path), {"a.npz", "c.npz"}) == ["b.npz"]


def test_folder_skips_hidden_temporary_and_folders(tmp_path: Path) -> None:
    put(tmp_path, "a.npz")
    for n in (".hidden.npz", "b.npz.tmp", "c.part", "d.partial", "e.npz~", "f.crdownload"):
        put(tmp_path, n)
    (tmp_path / "sub.npz").mkdir()
    assert names(folder_source(tmp_path)) == ["a.npz"]


def test_unsettled_file_waits_and_holds_back_the_later_ones(tmp_path: Path) -> None:
    put(tmp_path, "a.npz", age=100)
    put(tmp_path, "b.npz", age=1)  # written a second ago: settle_seconds is 2
    put(tmp_path, "c.npz", age=100)
    now = [NOW]
    src = FolderSource(tmp_path, settle_seconds=2.0, clock=lambda: now[0])
    assert names(src) == ["a.npz"]  # c is settled, but the order is kept
    now[0] = NOW + 1.5
    assert names(src) == ["a.npz", "b.npz", "c.npz"]


def test_settle_time_is_configurable(tmp_path: Path) -> None:
    put(tmp_path, "a.npz", age=5)
    assert names(folder_source(tmp_path, settle_seconds=10)) == []
    assert names(folder_source(tmp_path, settle_seconds=4)) == ["a.npz"]
    put(tmp_path, "b.npz", age=0)
    assert names(folder_source(tmp_path, settle_seconds=0)) == ["a.npz", "b.npz"]


def test_skipped_files_do_not_hold_back(tmp_path: Path) -> None:
    put(tmp_path, "a.npz", age=0)  # fresh, but seen already
    put(tmp_path, "b.npz.tmp", age=0)  # still being written under a temporary name
    put(tmp_path, ".c.npz", age=0)
    put(tmp_path, "d.npz", age=100)
    assert names(folder_source(tmp_path), {"a.npz"}) == ["d.npz"]


def test_folder_passes_the_label_column(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("target,f\n1,2\n0,3\n")
    os.utime(path, (NOW - 10, NOW - 10))
    (arrival,) = folder_source(tmp_path, label="target").arrived(set())
    np.testing.assert_array_equal(arrival.read().y, [1.0, 0.0])
    (arrival,) = folder_source(tmp_path).arrived(set())
    with pytest.raises(Malformed, match="no column named 'label'"):
        arrival.read()


def test_a_non_batch_file_arrives_and_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "readme.txt"
    path.write_text("hello")
    os.utime(path, (NOW - 10, NOW - 10))
    (arrival,) = folder_source(tmp_path).arrived(set())
    with pytest.raises(Malformed, match="not a batch file"):
        arrival.read()


def test_missing_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[stream\] folder: .*nope does not exist"):
        folder_source(tmp_path / "nope").arrived(set())


# -- PythonSource -------------------------------------------------------------------

TRIPLES = """
import numpy as np

def batches():
    return [(f"b{i}", np.full((2, 1), float(i)), [0, 1]) for i in range(1, 4)]
"""


def write(exp: Path, name: str, text: str) -> Path:
    exp.mkdir(parents=True, exist_ok=True)
    path = exp / name
    path.write_text(text)
    return path


def test_python_source_gives_the_triples_in_order(tmp_path: Path) -> None:
    write(tmp_path, "src.py", TRIPLES)
    arrived = PythonSource(tmp_path, "src.py").arrived(set())
    assert [a.name for a in arrived] == ["b1", "b2", "b3"]
    batch = arrived[1].read()
    np.testing.assert_array_equal(batch.x, [[2.0], [2.0]])
    assert batch.sha256 == batch_of("b2", [[2.0], [2.0]], [0, 1]).sha256


def test_python_source_skips_seen_names(tmp_path: Path) -> None:
    write(tmp_path, "src.py", TRIPLES)
    assert names(PythonSource(tmp_path, "src.py"), {"b1", "b3"}) == ["b2"]


def test_python_source_is_called_again_at_each_poll(tmp_path: Path) -> None:
    write(tmp_path, "n.txt", "1")
    write(
        tmp_path,
        "src.py",
        "from pathlib import Path\n"
        f"N = Path({str(tmp_path / 'n.txt')!r})\n"
        "def batches():\n"
        "    return [(f'b{i}', [[i]], [0]) for i in range(int(N.read_text()))]\n",
    )
    src = PythonSource(tmp_path, "src.py")
    assert names(src) == ["b0"]
    write(tmp_path, "n.txt", "3")
    assert names(src, {"b0"}) == ["b1", "b2"]


def test_python_source_custom_object(tmp_path: Path) -> None:
    write(tmp_path, "src.py", "def feed():\n    yield ('only', [[1.0]], [1])\n")
    assert names(PythonSource(tmp_path, "src.py", "feed")) == ["only"]
    assert PythonSource(tmp_path, "src.py", "feed").describe() == "src.py:feed"


def test_python_source_can_import_its_experiment_and_restores_sys_path(tmp_path: Path) -> None:
    mod = "evoforge_test_stream_helper_mod"
    write(tmp_path, f"{mod}.py", "ROWS = [[5.0]]\n")
    write(
        tmp_path, "src.py", f"import {mod}\ndef batches():\n    return [('b', {mod}.ROWS, [0])]\n"
    )
    before = list(sys.path)
    try:
        (arrival,) = PythonSource(tmp_path, "src.py").arrived(set())
        np.testing.assert_array_equal(arrival.read().x, [[5.0]])
    finally:
        sys.modules.pop(mod, None)
    assert sys.path == before


def test_python_source_duplicate_names(tmp_path: Path) -> None:
    write(tmp_path, "src.py", "def batches():\n    return [('a', [[1]], [0]), ('a', [[2]], [1])]\n")
    with pytest.raises(ConfigError, match=r"src\.py:batches: batch name 'a' twice"):
        PythonSource(tmp_path, "src.py").arrived(set())
    # a duplicate is an error even when the name was seen before
    with pytest.raises(ConfigError, match="twice"):
        PythonSource(tmp_path, "src.py").arrived({"a"})


@pytest.mark.parametrize(
    "item", ["('a', [[1]])", "(1, [[1]], [0])", "'abc'", "('a', [[1]], [0], 'extra')"]
)
def test_python_source_bad_item(tmp_path: Path, item: str) -> None:
    write(tmp_path, "src.py", f"def batches():\n    return [{item}]\n")
    with pytest.raises(ConfigError, match=r"\(name, x, y\) triple"):
        PythonSource(tmp_path, "src.py").arrived(set())


def test_python_source_module_that_raises_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "src.py", "raise RuntimeError('no data today')\n")
    before = list(sys.path)
    with pytest.raises(ConfigError) as info:
        PythonSource(tmp_path, "src.py").arrived(set())
    msg = str(info.value)
    assert str(path) in msg and "RuntimeError: no data today" in msg
    assert sys.path == before


def test_python_source_missing_module_file(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    with pytest.raises(ConfigError, match=r"\[stream\] module: .*gone\.py"):
        PythonSource(tmp_path, "gone.py").arrived(set())


@pytest.mark.parametrize("text", ["X = 1\n", "batches = [1, 2]\n"])
def test_python_source_missing_function(tmp_path: Path, text: str) -> None:
    write(tmp_path, "src.py", text)
    with pytest.raises(ConfigError, match=r"\[stream\] object: .* has no function 'batches'"):
        PythonSource(tmp_path, "src.py").arrived(set())


# -- source_for -----------------------------------------------------------------------


def test_source_for_folder(tmp_path: Path) -> None:
    stream = StreamSection(folder="incoming", label="target", settle_seconds=7.5)
    src = source_for(tmp_path, stream)
    assert isinstance(src, FolderSource)
    assert src.folder == tmp_path / "incoming"
    assert src.label == "target" and src.settle_seconds == 7.5


def test_source_for_python(tmp_path: Path) -> None:
    src = source_for(tmp_path, StreamSection(source="python", module="feed.py", object="f"))
    assert isinstance(src, PythonSource)
    assert (src.experiment, src.module, src.object) == (tmp_path, "feed.py", "f")
