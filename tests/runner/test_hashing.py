"""Hashes of the trusted files: folders covered, changes reported one line per file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from evoforge.runner import file_hashes, hash_changes


def test_file_hashes_cover_folders_and_report_changes(tmp_path: Path) -> None:
    (tmp_path / "task.py").write_text("task = 1\n")
    data = tmp_path / "data"
    (data / "__pycache__").mkdir(parents=True)
    (data / "__pycache__" / "x.pyc").write_bytes(b"cache")
    (data / "b.npy").write_bytes(b"bb")
    (data / "a.npy").write_bytes(b"aa")
    before = file_hashes([tmp_path / "task.py", Path("data")], tmp_path)
    assert list(before) == ["data/a.npy", "data/b.npy", "task.py"]
    assert before["data/a.npy"] == hashlib.sha256(b"aa").hexdigest()
    (data / "a.npy").write_bytes(b"changed")
    (data / "b.npy").unlink()
    (data / "c.npy").write_bytes(b"new")
    after = file_hashes([tmp_path / "task.py", data], tmp_path)
    assert hash_changes(before, after) == [
        "data/a.npy: changed",
        "data/b.npy: removed",
        "data/c.npy: added",
    ]
    with pytest.raises(FileNotFoundError):
        file_hashes([tmp_path / "nope.npy"], tmp_path)
