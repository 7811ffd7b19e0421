"""Reading, hashing and checking one labelled batch (evoforge.stream.batches)."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest

from evoforge.stream.batches import Batch, Malformed, batch_of, check, read_batch


def reason(path: Path, **kw: str) -> str:
    with pytest.raises(Malformed) as info:
        read_batch(path, **kw)
    return str(info.value)


def malformed(batch: Batch, **kw: object) -> str:
    with pytest.raises(Malformed) as info:
        check(batch, **kw)  # type: ignore[arg-type]
    return str(info.value)


def raw(x: object, y: object, name: str = "b.npz") -> Batch:
    return Batch(name, np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), "h")


# -- .npz ---------------------------------------------------------------------------


def test_npz_round_trip_as_float64_and_sha256_of_the_file_bytes(tmp_path: Path) -> None:
    x = np.arange(12, dtype=np.int32).reshape(4, 3)
    y = np.array([0, 1, 1, 0], dtype=np.int64)
    path = tmp_path / "b001.npz"
    np.savez(path, x=x, y=y)
    batch = read_batch(path)
    assert batch.name == "b001.npz"
    assert batch.x.dtype == np.float64 and batch.y.dtype == np.float64
    np.testing.assert_array_equal(batch.x, x)
    np.testing.assert_array_equal(batch.y, y)
    assert batch.rows == 4
    assert batch.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_npz_bool_labels_are_numbers(tmp_path: Path) -> None:
    path = tmp_path / "b.npz"
    np.savez(path, x=np.ones((2, 1)), y=np.array([True, False]))
    np.testing.assert_array_equal(read_batch(path).y, [1.0, 0.0])


def test_suffix_is_case_insensitive(tmp_path: Path) -> None:
    path = tmp_path / "B.NPZ"
    with path.open("wb") as fh:
        np.savez(fh, x=np.ones((2, 1)), y=np.zeros(2))
    assert read_batch(path).rows == 2


def test_unknown_suffix_is_not_a_batch(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("x")
    assert "notes.txt: not a batch file" in reason(path)


def test_npz_missing_x_or_y(tmp_path: Path) -> None:
    path = tmp_path / "b.npz"
    np.savez(path, x=np.ones((2, 2)))
    msg = reason(path)
    assert "holds arrays 'x' and 'y'" in msg and "found ['x']" in msg
    np.savez(path, y=np.zeros(2), X=np.ones((2, 2)))  # names are case-sensitive
    msg = reason(path)
    assert "holds arrays 'x' and 'y'" in msg and "found ['X', 'y']" in msg


def test_npz_object_array_is_refused_not_unpickled(tmp_path: Path) -> None:
    path = tmp_path / "b.npz"
    objs = np.array([[1, "a"], [2, "b"]], dtype=object)
    np.savez(path, x=objs, y=np.zeros(2))  # savez pickles object arrays
    with pytest.raises(ValueError, match="allow_pickle"), np.load(path) as npz:
        npz["x"]  # the file really needs pickle to load
    assert "Python objects, which are never loaded" in reason(path)


def test_npz_string_array_is_not_numeric(tmp_path: Path) -> None:
    path = tmp_path / "b.npz"
    np.savez(path, x=np.array([["a"], ["b"]]), y=np.zeros(2))
    assert "x must be numeric, got dtype <U1" in reason(path)


def test_npz_complex_labels_are_not_numeric(tmp_path: Path) -> None:
    path = tmp_path / "b.npz"
    np.savez(path, x=np.ones((2, 1)), y=np.array([1j, 2j]))
    assert "y must be numeric" in reason(path)


def test_truncated_npz(tmp_path: Path) -> None:
    path = tmp_path / "b.npz"
    np.savez(path, x=np.ones((50, 4)), y=np.zeros(50))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert "not a readable .npz file" in reason(path)


def test_garbage_npz_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "b.npz"
    path.write_bytes(b"definitely not a zip archive")
    assert "npz" in reason(path)


def test_garbage_npz_reason_does_not_advise_unpickling(tmp_path: Path) -> None:
    path = tmp_path / "b.npz"
    path.write_bytes(b"definitely not a zip archive")
    msg = reason(path)
    assert "not a readable .npz file" in msg and "allow_pickle" not in msg


def test_single_npy_array_named_npz_is_malformed(tmp_path: Path) -> None:
    npy = tmp_path / "a.npy"
    np.save(npy, np.ones((3, 2)))
    path = tmp_path / "b.npz"
    path.write_bytes(npy.read_bytes())
    reason(path)


# -- .csv ---------------------------------------------------------------------------


def test_csv_label_column_anywhere_and_hash(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("a, label ,b\n1,0,2.5\n\n3,1,4\n")  # header padded, blank line skipped
    batch = read_batch(path)
    np.testing.assert_array_equal(batch.x, [[1.0, 2.5], [3.0, 4.0]])
    np.testing.assert_array_equal(batch.y, [0.0, 1.0])
    assert batch.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_csv_configurable_label(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("target,f\n7,1\n8,2\n")
    batch = read_batch(path, label="target")
    np.testing.assert_array_equal(batch.y, [7.0, 8.0])
    np.testing.assert_array_equal(batch.x, [[1.0], [2.0]])
    msg = reason(path)  # the default name is not there
    assert "no column named 'label'" in msg and "target, f" in msg


def test_csv_bad_row_width(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("a,b,label\n1,2,0\n1,2\n")
    assert "row 2 has 2 values, the header 3" in reason(path)


def test_csv_non_number(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("a,label\n1,0\nabc,1\n")
    assert "a value is not a number" in reason(path)


def test_csv_empty_value_is_nan_and_refused(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("a,label\n,0\n1,1\n")
    assert "1 input values are NaN or infinite" in reason(path)
    path.write_text("a,label\n1,\n1,1\n")
    assert "1 labels are NaN or infinite" in reason(path)


def test_csv_empty_file_and_header_only(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("")
    assert "empty CSV file" in reason(path)
    path.write_text("a,label\n")
    assert "no rows" in reason(path)


def test_csv_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_bytes(b"a,label\n\xff\xfe,1\n")
    assert "not a readable CSV file" in reason(path)


# -- .parquet -----------------------------------------------------------------------


def test_parquet_round_trip_and_label(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "b.parquet"
    pq.write_table(pa.table({"f0": [1.0, 2.0, 3.0], "y": [0, 1, 0], "f1": [4, 5, 6]}), path)
    batch = read_batch(path, label="y")
    np.testing.assert_array_equal(batch.x, [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]])
    np.testing.assert_array_equal(batch.y, [0.0, 1.0, 0.0])
    assert batch.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert "no column named 'label'" in reason(path)


def test_parquet_null_and_text_values(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "b.parquet"
    pq.write_table(pa.table({"f": [1.0, None], "label": [0, 1]}), path)
    assert "1 input values are NaN or infinite" in reason(path)
    pq.write_table(pa.table({"f": ["one", "two"], "label": [0, 1]}), path)
    assert "a value is not a number" in reason(path)


def test_truncated_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "b.parquet"
    pq.write_table(pa.table({"f": list(range(100)), "label": [0] * 100}), path)
    path.write_bytes(path.read_bytes()[:40])
    assert "not a readable parquet file" in reason(path)


def test_parquet_without_pyarrow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "b.parquet"
    path.write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    assert "needs pyarrow" in reason(path)


# -- check ----------------------------------------------------------------------------


def test_check_passes_a_good_batch_through() -> None:
    b = raw([[1, 2], [3, 4]], [0, 1])
    assert check(b) is b
    assert check(b, features=2, classes=True) is b


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_labels(bad: float) -> None:
    assert "1 labels are NaN or infinite" in malformed(raw([[1.0], [2.0]], [0.0, bad]))


def test_nonfinite_inputs_are_counted() -> None:
    msg = malformed(raw([[np.nan, 1.0], [np.inf, 2.0]], [0, 1]))
    assert "2 input values are NaN or infinite" in msg


def test_wrong_dims() -> None:
    assert "x must be 2-D" in malformed(raw([1.0, 2.0], [0, 1]))
    assert "y must be 1-D" in malformed(raw([[1.0], [2.0]], [[0], [1]]))


def test_row_count_mismatch() -> None:
    assert "3 rows of x but 2 labels" in malformed(raw(np.ones((3, 2)), [0, 1]))


def test_no_rows() -> None:
    assert "no rows" in malformed(raw(np.ones((0, 3)), np.ones(0)))


def test_features_mismatch() -> None:
    b = raw(np.ones((2, 3)), [0, 1])
    assert "3 features, but the stream's batches have 4" in malformed(b, features=4)


def test_non_integer_labels_only_for_classes() -> None:
    b = raw(np.ones((2, 1)), [0.0, 0.5])
    assert "whole numbers" in malformed(b, classes=True)
    assert check(b) is b  # regression labels are fine
    assert check(raw(np.ones((2, 1)), [-1.0, 3.0]), classes=True).rows == 2


def test_read_batch_applies_the_checks(tmp_path: Path) -> None:
    path = tmp_path / "b.npz"
    np.savez(path, x=np.ones((3, 2)), y=np.zeros(2))
    assert "3 rows of x but 2 labels" in reason(path)


# -- batch_of -------------------------------------------------------------------------


def test_batch_of_converts_and_hashes_the_arrays() -> None:
    a = batch_of("one", [[1, 2], [3, 4]], [0, 1])
    assert a.x.dtype == np.float64 and a.y.dtype == np.float64 and a.rows == 2
    same = batch_of("two", np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.0, 1.0]))
    assert same.sha256 == a.sha256  # the arrays, not the name nor the input types
    other = batch_of("one", [[1, 2], [3, 5]], [0, 1])
    assert other.sha256 != a.sha256
    relabelled = batch_of("one", [[1, 2], [3, 4]], [1, 0])
    assert relabelled.sha256 != a.sha256


def test_batch_of_hash_includes_shapes() -> None:
    # the same float bytes split differently between x and y
    a = batch_of("a", np.array([[0.0, 1.0], [2.0, 3.0]]), np.array([4.0, 5.0]))
    b = batch_of("b", np.array([[0.0], [1.0], [2.0]]), np.array([3.0, 4.0, 5.0]))
    assert a.x.tobytes() + a.y.tobytes() == b.x.tobytes() + b.y.tobytes()
    assert a.sha256 != b.sha256


def test_batch_of_non_numeric_and_ragged() -> None:
    with pytest.raises(Malformed, match="numeric arrays"):
        batch_of("b", [["a", "b"]], [0])
    with pytest.raises(Malformed, match="numeric arrays"):
        batch_of("b", [[1.0, 2.0], [3.0]], [0, 1])


def test_batch_of_is_checked() -> None:
    with pytest.raises(Malformed, match="b7: 1 labels are NaN"):
        batch_of("b7", [[1.0], [2.0]], [0.0, float("nan")])
