"""``[stream]``: a stream experiment's config, its own [task], and loading it."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from evoforge.config import (
    Config,
    ConfigError,
    Direction,
    StreamSection,
    load_config,
    parse_config,
    parse_snapshot,
)

TOML = """
[experiment]
name = "s"

[program]
files = ["train.py"]
command = ["python", "train.py"]

[stream]
window = 6
{stream}
"""

PROGRAM = """import numpy as np

# EVOLVE-BLOCK-START
RECENT = 0
# EVOLVE-BLOCK-END

np.save("predict_pred.npy", np.zeros(len(np.load("predict_x.npy")), dtype=np.int64))
"""


def data(stream: str = "", extra: str = "") -> dict[str, Any]:
    return tomllib.loads(TOML.replace("{stream}", stream) + extra)


def error(d: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(d)
    return str(info.value)


def experiment(root: Path, stream: str = "", extra: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "evoforge.toml").write_text(TOML.replace("{stream}", stream) + extra)
    (root / "train.py").write_text(PROGRAM)
    return root


# -- the stream's [task] --------------------------------------------------------------------


def test_stream_without_task_gets_the_window_task() -> None:
    config = parse_config(data())
    assert config.stream is not None and config.stream.window == 6
    assert config.task.module == "task.py"
    assert config.task.objective == "newest_accuracy"
    assert config.task.direction == Direction.MAXIMIZE and config.maximize
    assert config.task.gate == ["memory_accuracy"]


def test_no_memory_no_gate() -> None:
    config = parse_config(data("memory = 0"))
    assert config.task.gate == []
    assert config.task.objective == "newest_accuracy"


def test_mse_is_minimized() -> None:
    config = parse_config(data('metric = "mse"'))
    assert config.task.objective == "newest_mse"
    assert config.task.direction == Direction.MINIMIZE and not config.maximize
    assert config.task.gate == ["memory_mse"]
    assert config.stream is not None and not config.stream.maximize


def test_an_empty_stream_table_is_a_stream_experiment() -> None:
    d = data()
    d["stream"] = {}
    config = parse_config(d)
    assert config.stream == StreamSection()
    assert config.task.objective == "newest_accuracy"


def test_without_stream_a_task_is_still_required() -> None:
    d = data()
    del d["stream"]
    assert "task: required key is missing" in error(d)


def test_task_with_stream_is_refused_clearly() -> None:
    msg = error(data(extra='\n[task]\nmodule = "task.py"\nobjective = "acc"\n'))
    assert "evoforge.toml: a stream experiment has no [task]" in msg
    assert "remove [task]" in msg


# -- [stream] checks ------------------------------------------------------------------------


def test_newest_must_be_smaller_than_window() -> None:
    msg = error(data("newest = 6"))
    assert "stream:" in msg and "newest (6) must be smaller than window (6)" in msg
    with pytest.raises(ValidationError, match="must be smaller"):
        StreamSection(window=3, newest=4)
    assert StreamSection(window=3, newest=2).newest == 2


def test_unknown_stream_key_suggests_the_right_one() -> None:
    msg = error(data("windw = 5"))
    assert "stream.windw: unknown key" in msg
    assert "(did you mean 'window'?)" in msg


def test_unknown_detect_key_suggests_the_right_one() -> None:
    msg = error(data(extra="\n[stream.detect]\nadwn = true\n"))
    assert "stream.detect.adwn: unknown key" in msg
    assert "(did you mean 'adwin'?)" in msg


def test_bad_metric_names_the_key_and_value() -> None:
    msg = error(data('metric = "mae"'))
    assert "stream.metric" in msg and "'mae'" in msg


@pytest.mark.parametrize("stream", ["windw = 5", "newest = 6", 'metric = "mae"'])
def test_a_bad_stream_section_does_not_ask_for_a_task(stream: str) -> None:
    msg = error(data(stream))
    assert "task: required key is missing" not in msg


# -- load_config ----------------------------------------------------------------------------


def test_load_config_of_a_stream_folder_needs_no_task_py(tmp_path: Path) -> None:
    exp = experiment(tmp_path / "exp")
    config = load_config(exp)
    assert not (exp / "task.py").exists()
    assert config.stream is not None and config.task.module == "task.py"
    assert config.program.files == ["train.py"]


def test_load_config_still_checks_the_program(tmp_path: Path) -> None:
    exp = experiment(tmp_path / "exp")
    (exp / "train.py").write_text("print('no evolve block')\n")
    with pytest.raises(ConfigError, match="no '# EVOLVE-BLOCK-START'"):
        load_config(exp)


def test_python_source_needs_its_module(tmp_path: Path) -> None:
    exp = experiment(tmp_path / "exp", 'source = "python"\nmodule = "feed.py"')
    with pytest.raises(ConfigError) as info:
        load_config(exp)
    assert "stream.module: 'feed.py' does not exist" in str(info.value)
    (exp / "feed.py").write_text("def batches():\n    return []\n")
    config = load_config(exp)
    assert config.stream is not None and config.stream.source == "python"


def test_python_source_default_module_is_checked(tmp_path: Path) -> None:
    exp = experiment(tmp_path / "exp", 'source = "python"')
    with pytest.raises(ConfigError, match=r"stream\.module: .stream_source\.py. does not exist"):
        load_config(exp)


def test_folder_source_does_not_need_its_folder_at_load(tmp_path: Path) -> None:
    exp = experiment(tmp_path / "exp", 'folder = "incoming"')
    config = load_config(exp)
    assert config.stream is not None and config.stream.folder == "incoming"


# -- stored snapshots -----------------------------------------------------------------------


def test_snapshot_of_a_stream_config_parses_back() -> None:
    config = parse_config(
        data('metric = "mse"\nmemory = 0', extra="\n[stream.detect]\nevery = 4\nadwin = false\n")
    )
    dump = config.model_dump(mode="json")
    assert "task" in dump  # the snapshot holds the task evoforge made
    back = parse_snapshot(dump, source="run/config.json")
    assert isinstance(back, Config) and back == config
    assert back.stream is not None and back.stream.detect.every == 4
    assert back.task.direction == Direction.MINIMIZE
    with pytest.raises(ConfigError, match="has no \\[task\\]"):
        parse_config(dump)  # as an evoforge.toml, the stored [task] would be refused
