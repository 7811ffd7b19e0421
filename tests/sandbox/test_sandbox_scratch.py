"""Copying the scratch folder into the tmpfs and mirroring it back to the host."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from evoforge.sandbox.scratch import copy_in, mirror_back


@pytest.fixture
def trees(tmp_path: Path) -> tuple[Path, Path]:
    host, box = tmp_path / "host", tmp_path / "box"
    host.mkdir()
    box.mkdir()
    (host / "train.py").write_text("print(1)")
    (host / "data").mkdir()
    (host / "data" / "x.npy").write_bytes(b"\x93NUMPY" + b"0" * 100)
    (host / "secret-labels.npy").write_bytes(b"labels")
    os.symlink("train.py", host / "link.py")
    return host, box


def test_copy_in_keeps_content_times_and_links_and_skips_hidden(trees: tuple[Path, Path]) -> None:
    host, box = trees
    copy_in(str(host), str(box), skip=frozenset({"secret-labels.npy"}))
    assert (box / "train.py").read_text() == "print(1)"
    assert (box / "data" / "x.npy").read_bytes() == (host / "data" / "x.npy").read_bytes()
    assert (box / "data" / "x.npy").stat().st_mtime_ns == (
        host / "data" / "x.npy"
    ).stat().st_mtime_ns
    assert os.readlink(box / "link.py") == "train.py"
    assert not (box / "secret-labels.npy").exists()


def test_mirror_back_holds_exactly_the_regular_files_and_folders(trees: tuple[Path, Path]) -> None:
    host, box = trees
    copy_in(str(host), str(box))
    (box / "out.json").write_text("{}")
    os.chmod(box / "out.json", 0o4755)  # setuid bits never reach the host
    (box / "data" / "x.npy").unlink()
    (box / "train.py").write_text("print(2)")
    os.symlink("/etc/shadow", box / "predictions.npy")
    os.mkfifo(box / "fifo.json")
    (box / "sub").mkdir()
    (box / "sub" / "y").write_text("y")
    mirror_back(str(box), str(host))
    names = sorted(str(p.relative_to(host)) for p in host.rglob("*"))
    assert names == ["data", "out.json", "secret-labels.npy", "sub", "sub/y", "train.py"]
    assert (host / "train.py").read_text() == "print(2)"
    assert stat.S_IMODE((host / "out.json").stat().st_mode) == 0o644
    assert not any(p.is_symlink() for p in host.rglob("*"))


def test_mirror_back_leaves_untouched_inputs_alone(trees: tuple[Path, Path]) -> None:
    host, box = trees
    copy_in(str(host), str(box))
    before = (host / "data" / "x.npy").stat().st_ino
    mirror_back(str(box), str(host))
    assert (host / "data" / "x.npy").stat().st_ino == before  # not rewritten


def test_mirror_back_replaces_a_folder_swapped_for_a_file(trees: tuple[Path, Path]) -> None:
    host, box = trees
    copy_in(str(host), str(box))
    (box / "data" / "x.npy").unlink()
    (box / "data").rmdir()
    (box / "data").write_text("now a file")
    mirror_back(str(box), str(host))
    assert (host / "data").read_text() == "now a file"
