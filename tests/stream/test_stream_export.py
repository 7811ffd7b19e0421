"""The champion's model for use outside evoforge: what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from evoforge.stream.export import export_model
from evoforge.stream.moves import StreamError
from evoforge.stream.setup import build_watcher

from stream_helpers import OLD, make_stream


def test_nothing_to_export_before_a_batch(tmp_path: Path) -> None:
    exp = make_stream(tmp_path / "exp", [])
    (exp / "batches").mkdir()
    w = build_watcher(exp, say=lambda _: None)
    w.run(once=True)
    with pytest.raises(StreamError, match="seen no batch"):
        export_model(w, tmp_path / "out")
    w.store.close()


def test_a_program_without_a_model_folder_cannot_be_exported(tmp_path: Path) -> None:
    exp = make_stream(tmp_path / "exp", [OLD] * 2)
    program = (exp / "train.py").read_text()
    (exp / "train.py").write_text(program.replace('os.makedirs("model", exist_ok=True)', "").replace(
        'np.savez("model/centroids.npz", centroids=cent, classes=classes)', ""))  # fmt: skip
    w = build_watcher(exp, say=lambda _: None)
    w.run(once=True)
    with pytest.raises(StreamError, match="wrote no model/ folder"):
        export_model(w, tmp_path / "out")
    w.store.close()
