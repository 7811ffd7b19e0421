"""Reading a candidate's outputs: each way an output is wrong gives a reason that says what to do."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evoforge.tasks import OutputError, read_array


def test_a_numpy_array_is_read_back(tmp_path: Path) -> None:
    np.save(tmp_path / "val_proba.npy", np.array([0.25, 0.75]))
    assert read_array(tmp_path, "val_proba.npy", shape=(2,), kind="f").tolist() == [0.25, 0.75]


def test_a_file_that_is_not_npy_is_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "val_proba.npy").write_text("0.1\n0.9\n")  # written with open(), not np.save
    with pytest.raises(OutputError) as info:
        read_array(tmp_path, "val_proba.npy")
    assert str(info.value) == "val_proba.npy: not a .npy file (write it with numpy.save)"


def test_an_object_array_is_refused_without_advice_to_load_it_unsafely(tmp_path: Path) -> None:
    np.save(tmp_path / "val_proba.npy", np.array([{"p": 0.1}], dtype=object), allow_pickle=True)
    with pytest.raises(OutputError) as info:
        read_array(tmp_path, "val_proba.npy")
    message = str(info.value)
    assert message.startswith("val_proba.npy: holds Python objects (dtype object)")
    assert "unsafe" not in message and "allow_pickle" not in message
