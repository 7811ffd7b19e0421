"""Read a candidate's outputs as data, defensively.

The candidate is hostile: an output may be missing, huge, a symlink planted to
make the scorer read a secret, a pickle, or full of NaN. Every reader here opens
the file without following links, checks it is a regular file under a size cap,
and raises :class:`OutputError` with a reason instead of crashing.
"""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.lib import format as npy_format

from evoforge.tasks._base import OutputError

MAX_BYTES = 64 * 1024 * 1024
NPY_MAGIC = b"\x93NUMPY"
"""The first bytes of every file ``numpy.save`` writes."""


def read_bytes(workdir: Path, name: str, *, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of ``workdir/name``; refuses links, non-files, escapes and oversize files."""
    if os.path.isabs(name) or ".." in Path(name).parts:
        raise OutputError(f"{name}: output names must be plain relative paths")
    path = workdir / name
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise OutputError(f"{name}: the candidate did not write this output") from None
    except OSError as exc:
        raise OutputError(f"{name}: cannot open ({exc.strerror}; links are not followed)") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OutputError(f"{name}: not a regular file")
        if info.st_size > max_bytes:
            raise OutputError(f"{name}: {info.st_size} bytes, more than the {max_bytes} allowed")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise OutputError(f"{name}: more than {max_bytes} bytes")
    return data


def read_json(workdir: Path, name: str, *, max_bytes: int = 1024 * 1024) -> Any:
    raw = read_bytes(workdir, name, max_bytes=max_bytes)
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OutputError(f"{name}: not valid JSON ({exc})") from None


def read_array(
    workdir: Path,
    name: str,
    *,
    shape: tuple[int | None, ...] | None = None,
    kind: str = "iuf",
    finite: bool = True,
    max_bytes: int = MAX_BYTES,
) -> npt.NDArray[Any]:
    """A ``.npy`` array, loaded with ``allow_pickle=False`` and checked.

    ``shape`` uses None for "any size"; ``kind`` lists acceptable numpy dtype kinds
    (i: signed int, u: unsigned, f: float, b: bool).
    """
    raw = read_bytes(workdir, name, max_bytes=max_bytes)
    if not raw.startswith(NPY_MAGIC):
        # numpy would call such a file "pickled data" and suggest loading it unsafely.
        raise OutputError(f"{name}: not a .npy file (write it with numpy.save)")
    if _holds_objects(raw):
        raise OutputError(
            f"{name}: holds Python objects (dtype object), which are never loaded; "
            "save a numeric array"
        )
    try:
        arr = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as exc:  # numpy raises many types for garbage input
        raise OutputError(
            f"{name}: not a readable .npy array ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(arr, np.ndarray):
        raise OutputError(f"{name}: not a single array")
    if arr.dtype.kind not in kind:
        raise OutputError(f"{name}: dtype {arr.dtype} is not allowed (kinds {kind!r})")
    if shape is not None:
        ok = arr.ndim == len(shape) and all(
            w is None or w == s for w, s in zip(shape, arr.shape, strict=True)
        )
        if not ok:
            want = "(" + ", ".join("*" if w is None else str(w) for w in shape) + ")"
            raise OutputError(f"{name}: shape {arr.shape}, expected {want}")
    if finite and arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise OutputError(f"{name}: contains NaN or infinite values")
    return arr


def _holds_objects(raw: bytes) -> bool:
    """Whether a .npy header declares Python objects (False when it cannot be read:
    np.load then reports what is wrong)."""
    fh = io.BytesIO(raw)
    try:
        version = npy_format.read_magic(fh)
        read = (
            npy_format.read_array_header_1_0
            if version == (1, 0)
            else npy_format.read_array_header_2_0
        )
        _, _, dtype = read(fh)
    except Exception:  # a damaged header: np.load says what is wrong
        return False
    return bool(dtype.hasobject)
