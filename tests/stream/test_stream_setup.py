"""Building a watcher: finding a stream's folder, refusing what is not a stream."""

from __future__ import annotations

from pathlib import Path

import pytest

from evoforge.config import ConfigError
from evoforge.stream.setup import build_watcher, stream_folder

from stream_helpers import OLD, make_stream


def test_stream_folder_is_found_from_the_experiment_or_itself(tmp_path: Path) -> None:
    exp = make_stream(tmp_path / "exp", [OLD])
    assert stream_folder(exp) is None  # not watched yet
    w = build_watcher(exp, say=lambda _: None)
    w.store.close()
    assert stream_folder(exp) == exp / "stream" == stream_folder(exp / "stream")
    assert w.ctx.heldout == ()  # the production metric is not hidden from the record
    assert exp / "batches" in w.hidden and exp / "stream" in w.hidden


def test_an_experiment_without_a_stream_is_refused_with_what_to_do(tmp_path: Path) -> None:
    exp = make_stream(tmp_path / "exp", [OLD])
    text = (exp / "evoforge.toml").read_text()
    head, _, _ = text.partition("[stream]")
    (exp / "evoforge.toml").write_text(head + '[task]\nobjective = "x"\n')
    (exp / "task.py").write_text("task = None\n")
    with pytest.raises(ConfigError, match=r"no \[stream\] section.*evoforge run"):
        build_watcher(exp)
