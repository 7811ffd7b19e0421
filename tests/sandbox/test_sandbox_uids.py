"""The uid pool: one uid per concurrent lease, released when the holder lets go."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from evoforge.sandbox.uids import NoFreeUidError, lease_uid


def test_leases_are_exclusive_and_released(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with lease_uid(5000, 2, state) as a, lease_uid(5000, 2, state) as b:
        assert {a, b} == {5000, 5001}
        with pytest.raises(NoFreeUidError), lease_uid(5000, 2, state, wait_s=0.1):
            pass
    with lease_uid(5000, 1, state) as c:
        assert c == 5000


def test_concurrent_threads_never_share_a_uid(tmp_path: Path) -> None:
    seen: list[int] = []
    barrier = threading.Barrier(4)

    def hold() -> None:
        with lease_uid(7000, 8, tmp_path / "s") as uid:
            seen.append(uid)
            barrier.wait(5)

    threads = [threading.Thread(target=hold) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 4


def test_a_state_folder_others_can_write_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "open"
    state.mkdir(mode=0o777)
    os.chmod(state, 0o777)
    with pytest.raises(PermissionError), lease_uid(5000, 1, state):
        pass
