"""The mount plan: what the sandbox shows, and what it hides."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from evoforge.sandbox import mounts


def test_read_only_paths_are_the_interpreter_prefixes_not_the_repository() -> None:
    paths = mounts.read_only_paths([], [])
    assert any(mounts.under(sys.prefix, p) for p in paths)
    assert any(mounts.under(sys.base_prefix, p) for p in paths)
    repo = str(Path(__file__).resolve().parents[2])
    assert repo not in paths  # the venv inside the repository is mounted, not the repository
    assert not any(mounts.under(p, q) for p in paths for q in paths if p != q)


def test_paths_inside_hidden_ones_are_not_mounted(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    assert str(data) in mounts.read_only_paths([data], [])
    assert str(data) not in mounts.read_only_paths([data], [str(tmp_path)])


def test_masks_cover_hidden_paths_inside_mounted_trees(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("x")
    args = mounts.mask_args(
        [str(tmp_path / "d"), str(tmp_path / "f"), "/elsewhere"], [str(tmp_path)]
    )
    assert args == [
        "--perms", "0000", "--tmpfs", str(tmp_path / "d"), "--remount-ro", str(tmp_path / "d"),
        "--ro-bind", "/dev/null", str(tmp_path / "f"),
    ]  # fmt: skip


def test_bwrap_command_drops_capabilities_as_root_and_uses_a_user_namespace_otherwise() -> None:
    common = dict(bwrap="bwrap", workdir="/tmp/w", read_only=[], hidden=[], scratch_bytes=1 << 20,
                  passwd_fd=5, group_fd=6)  # fmt: skip
    as_root = mounts.bwrap_argv(root=True, **common)  # type: ignore[arg-type]
    assert as_root[as_root.index("--cap-drop") + 1] == "ALL"
    assert "--unshare-user" not in as_root
    as_user = mounts.bwrap_argv(root=False, **common)  # type: ignore[arg-type]
    assert "--unshare-user" in as_user and "--disable-userns" in as_user
    for flag in ("--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                 "--die-with-parent"):  # fmt: skip
        assert flag in as_root and flag in as_user
    assert as_root[-1] == "--" and as_root[as_root.index("--chdir") + 1] == "/tmp/w"


def test_passwd_names_the_candidate() -> None:
    passwd, group = mounts.passwd_lines(1234, 1234, "/w")
    assert b"candidate:x:1234:1234::/w:/bin/sh\n" in passwd
    assert b"candidate:x:1234:\n" in group


def test_a_hidden_folder_around_the_venv_keeps_the_interpreter_mounted() -> None:
    around = os.path.dirname(sys.prefix)
    paths = mounts.read_only_paths([], [around])
    assert any(mounts.under(sys.prefix, p) for p in paths)
    assert around not in paths
