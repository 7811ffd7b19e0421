"""Leasing an unprivileged uid per concurrent candidate (when evoforge runs as root).

A lease is an exclusive ``flock`` on ``state_dir/uid-N.lock``. The kernel drops
it when the holder closes the file or dies, so a crashed worker never leaks a
uid, and workers in different processes never share one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import stat
import time
from collections.abc import Iterator
from pathlib import Path


class NoFreeUidError(RuntimeError):
    """Every uid of the pool stayed leased for the whole wait."""


def _check_state_dir(state_dir: Path) -> None:
    with contextlib.suppress(FileExistsError):
        state_dir.mkdir(mode=0o700, parents=True)
    st = os.lstat(state_dir)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise PermissionError(
            f"{state_dir} must be a folder owned by uid {os.geteuid()}, writable by it alone"
        )


@contextlib.contextmanager
def lease_uid(first: int, count: int, state_dir: Path, *, wait_s: float = 60.0) -> Iterator[int]:
    """Hold one uid of ``first .. first+count-1`` for the duration of the block."""
    _check_state_dir(state_dir)
    start = random.randrange(count)
    deadline = time.monotonic() + wait_s
    while True:
        for i in range(count):
            uid = first + (start + i) % count
            flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(state_dir / f"uid-{uid}.lock", flags, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                yield uid
            finally:
                os.close(fd)  # releases the lock
            return
        if time.monotonic() > deadline:
            raise NoFreeUidError(f"all {count} sandbox uids from {first} stayed in use")
        time.sleep(0.05)
