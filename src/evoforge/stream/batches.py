"""One labelled batch of a stream: reading it from a file, hashing it, checking it.

A batch is trusted data: inputs ``x`` (rows by features, numbers) and labels ``y``
(one per row). It is read as data only (``.npz`` without pickle, ``.csv`` through
numpy, ``.parquet`` through pyarrow), hashed, and checked before anything uses it;
a batch that fails a check raises :class:`Malformed` with the reason, and the
watcher quarantines it whole (never part of it).
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

SUFFIXES = (".npz", ".csv", ".parquet")


class Malformed(ValueError):
    """The batch cannot be used; the message says why, for the quarantine record."""


@dataclass(frozen=True)
class Batch:
    name: str
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    sha256: str
    """Of the file's bytes (or, for a Python source, of the arrays)."""

    @property
    def rows(self) -> int:
        return int(self.x.shape[0])


def read_batch(path: Path, *, label: str = "label") -> Batch:
    """The batch in ``path``, checked on its own (see :func:`check`); Malformed if not."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()
    if suffix == ".npz":
        x, y = _npz(data)
    elif suffix == ".csv":
        x, y = _csv(data, label)
    elif suffix == ".parquet":
        x, y = _parquet(data, label)
    else:
        raise Malformed(f"{path.name}: not a batch file (want one of {', '.join(SUFFIXES)})")
    return check(Batch(path.name, x, y, digest))


def batch_of(name: str, x: object, y: object) -> Batch:
    """A batch from arrays (a Python source), hashed over its shapes and bytes."""
    try:
        xa = np.asarray(x, dtype=np.float64)
        ya = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise Malformed(f"{name}: x and y must be numeric arrays ({exc})") from None
    h = hashlib.sha256()
    for a in (xa, ya):
        h.update(repr(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return check(Batch(name, xa, ya, h.hexdigest()))


def check(batch: Batch, *, features: int | None = None, classes: bool = False) -> Batch:
    """The batch if it is usable, else Malformed: 2-D finite inputs, one finite label per
    row, at least one row; with ``features``, that many columns; with ``classes``,
    integer labels (classification)."""
    x, y, name = batch.x, batch.y, batch.name
    if x.ndim != 2:
        raise Malformed(f"{name}: x must be 2-D (rows, features), got shape {x.shape}")
    if y.ndim != 1:
        raise Malformed(f"{name}: y must be 1-D (one label per row), got shape {y.shape}")
    if x.shape[0] == 0:
        raise Malformed(f"{name}: no rows")
    if x.shape[1] == 0:
        raise Malformed(f"{name}: no input features (only labels)")
    if x.shape[0] != y.shape[0]:
        raise Malformed(f"{name}: {x.shape[0]} rows of x but {y.shape[0]} labels")
    if features is not None and x.shape[1] != features:
        raise Malformed(f"{name}: {x.shape[1]} features, but the stream's batches have {features}")
    bad_y = int(np.count_nonzero(~np.isfinite(y)))
    if bad_y:
        raise Malformed(f"{name}: {bad_y} labels are NaN or infinite")
    bad_x = int(np.count_nonzero(~np.isfinite(x)))
    if bad_x:
        raise Malformed(f"{name}: {bad_x} input values are NaN or infinite")
    if classes and not np.all(y == np.round(y)):
        raise Malformed(f"{name}: labels must be whole numbers (class ids) for accuracy")
    return batch


def _npz(data: bytes) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    if not data.startswith(b"PK"):  # numpy would take other bytes for a pickle: never loaded
        raise Malformed(
            "not a readable .npz file (not a zip of arrays: write it with numpy.savez, arrays x and y)"
        )
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            names = set(npz.files)
            if not {"x", "y"} <= names:
                raise Malformed(f"an .npz batch holds arrays 'x' and 'y'; found {sorted(names)}")
            return _numeric(npz["x"], "x"), _numeric(npz["y"], "y")
    except Malformed:
        raise
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise Malformed(f"not a readable .npz file ({exc})") from None
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise Malformed(
                "an array holds Python objects, which are never loaded; save numbers"
            ) from None
        raise Malformed(f"unreadable .npz array ({exc})") from None


def _numeric(a: npt.NDArray[Any], what: str) -> npt.NDArray[np.float64]:
    if a.dtype.kind not in "biuf":
        raise Malformed(f"{what} must be numeric, got dtype {a.dtype}")
    return a.astype(np.float64)


def _csv(data: bytes, label: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise Malformed(f"not a readable CSV file ({exc})") from None
    if not rows:
        raise Malformed("empty CSV file (want a header row with a column named "
                        f"{label!r})")  # fmt: skip
    header, body = [h.strip() for h in rows[0]], [r for r in rows[1:] if r]
    return _columns(header, body, label)


def _parquet(data: bytes, label: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise Malformed(
            "reading .parquet batches needs pyarrow: pip install 'evoforge[parquet]'"
        ) from None
    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises its own error types for a bad file
        raise Malformed(f"not a readable parquet file ({exc})") from None
    header = [str(n) for n in table.column_names]
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    body = [list(r) for r in zip(*columns, strict=True)]
    return _columns(header, body, label)


def _columns(
    header: list[str], body: Sequence[Sequence[object]], label: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    if label not in header:
        raise Malformed(f"no column named {label!r} (columns: {', '.join(header)})")
    width = len(header)
    short = next((i for i, r in enumerate(body) if len(r) != width), None)
    if short is not None:
        raise Malformed(f"row {short + 1} has {len(body[short])} values, the header {width}")
    try:
        table = np.array(
            [[np.nan if v in ("", None) else float(v) for v in r] for r in body],  # type: ignore[arg-type]
            dtype=np.float64,
        ).reshape(len(body), width)
    except (TypeError, ValueError) as exc:
        raise Malformed(f"a value is not a number ({exc})") from None
    at = header.index(label)
    return np.delete(table, at, axis=1), table[:, at]
