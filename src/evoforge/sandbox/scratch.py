"""Moving the scratch folder into the size-capped tmpfs and the outputs back out.

Inside bubblewrap the candidate works in a tmpfs (a hard size cap, gone with the
sandbox). The launcher copies the host scratch folder in before the candidate
starts and, once every process of the candidate is dead, mirrors the result
back: afterwards the host folder holds exactly the regular files and folders the
candidate left, with plain modes (0644 and 0755). Links, devices, fifos and
sockets are dropped, so a link planted for the scorer never reaches the host.

Every walk goes through directory file descriptors and opens with ``O_NOFOLLOW``,
so a path swapped for a link mid-walk is refused, not followed. This module runs
inside the sandbox under the launcher at every launch: standard library only, and
few imports (no contextlib; shutil only when a folder must go).
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def copy_in(
    src: str, dst: str, *, skip: frozenset[str] = frozenset(), owner: tuple[int, int] | None = None
) -> None:
    """Copy the tree ``src`` into the existing folder ``dst``, keeping modes and times.

    ``skip`` holds paths relative to ``src`` that are not copied; ``owner`` (uid,
    gid) is given to ``dst`` and to everything copied. Links are copied as links.
    """
    sfd, dfd = os.open(src, _DIR_FLAGS), os.open(dst, _DIR_FLAGS)
    try:
        if owner is not None:
            os.fchown(dfd, *owner)
        _copy_in(sfd, dfd, "", skip, owner)
    finally:
        os.close(sfd)
        os.close(dfd)


def _copy_in(
    sfd: int, dfd: int, rel: str, skip: frozenset[str], owner: tuple[int, int] | None
) -> None:
    for name in os.listdir(sfd):
        path = f"{rel}{name}"
        if path in skip:
            continue
        st = os.stat(name, dir_fd=sfd, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            os.mkdir(name, stat.S_IMODE(st.st_mode) | 0o700, dir_fd=dfd)
            s, d = _open_dirs(sfd, dfd, name)
            try:
                if owner is not None:
                    os.fchown(d, *owner)
                _copy_in(s, d, path + "/", skip, owner)
            finally:
                os.close(s)
                os.close(d)
        elif stat.S_ISREG(st.st_mode):
            _copy_file(sfd, dfd, name, stat.S_IMODE(st.st_mode) | 0o600, st, owner)
        elif stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(name, dir_fd=sfd), name, dir_fd=dfd)
            if owner is not None:
                os.chown(name, *owner, dir_fd=dfd, follow_symlinks=False)


def mirror_back(src: str, dst: str) -> None:
    """Make ``dst`` hold exactly the regular files and folders of ``src``.

    A file already in ``dst`` with the same size and modification time is left
    as it is (inputs copied in and untouched are not copied back).
    """
    try:  # noqa: SIM105 (no contextlib: see the module docstring)
        _readable(None, src, os.stat(src, follow_symlinks=False), 0o700)
    except OSError:
        pass
    sfd, dfd = os.open(src, _DIR_FLAGS), os.open(dst, _DIR_FLAGS)
    try:
        _mirror(sfd, dfd)
    finally:
        os.close(sfd)
        os.close(dfd)


def _entries(fd: int) -> dict[str, os.stat_result]:
    out = {}
    for name in os.listdir(fd):
        try:  # noqa: SIM105 (no contextlib: see the module docstring)
            out[name] = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            pass
    return out


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    if stat.S_ISDIR(a.st_mode) and stat.S_ISDIR(b.st_mode):
        return True
    return (
        stat.S_ISREG(a.st_mode)
        and stat.S_ISREG(b.st_mode)
        and a.st_size == b.st_size
        and a.st_mtime_ns == b.st_mtime_ns
    )


def _mirror(sfd: int, dfd: int) -> None:
    src, dst = _entries(sfd), _entries(dfd)
    for name, dst_st in dst.items():
        if name not in src or not _same(src[name], dst_st):
            _remove(dfd, name, dst_st)
    for name, st in src.items():
        if stat.S_ISDIR(st.st_mode):
            if name not in dst or not stat.S_ISDIR(dst[name].st_mode):
                os.mkdir(name, 0o755, dir_fd=dfd)
            _readable(sfd, name, st, 0o700)
            s, d = _open_dirs(sfd, dfd, name)
            try:
                _mirror(s, d)
            finally:
                os.close(s)
                os.close(d)
        elif stat.S_ISREG(st.st_mode) and not (name in dst and _same(st, dst[name])):
            _readable(sfd, name, st, 0o600)
            _copy_file(sfd, dfd, name, 0o644, st, None)


def _readable(fd: int | None, name: str, st: os.stat_result, need: int) -> None:
    # Without CAP_DAC_OVERRIDE (evoforge not root) the owner may have to give itself
    # read access back to what the candidate made unreadable.
    if st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) & need != need:
        try:  # noqa: SIM105 (no contextlib: see the module docstring)
            os.chmod(name, stat.S_IMODE(st.st_mode) | need, dir_fd=fd)
        except OSError:
            pass


def _remove(dfd: int, name: str, st: os.stat_result) -> None:
    if stat.S_ISDIR(st.st_mode):
        import shutil  # only here: its import costs every launch a few milliseconds

        shutil.rmtree(name, dir_fd=dfd)
    else:
        os.unlink(name, dir_fd=dfd)


def _open_dirs(sfd: int, dfd: int, name: str) -> tuple[int, int]:
    s = os.open(name, _DIR_FLAGS, dir_fd=sfd)
    try:
        return s, os.open(name, _DIR_FLAGS, dir_fd=dfd)
    except BaseException:
        os.close(s)
        raise


def _copy_file(
    sfd: int, dfd: int, name: str, mode: int, st: os.stat_result, owner: tuple[int, int] | None
) -> None:
    s = os.open(name, _READ_FLAGS, dir_fd=sfd)
    try:
        if not stat.S_ISREG(os.fstat(s).st_mode):
            return  # swapped for something else since it was listed
        d = os.open(name, _WRITE_FLAGS, mode, dir_fd=dfd)
        try:
            _pump(s, d, os.fstat(s).st_size)
            os.fchmod(d, mode)
            os.utime(d, ns=(st.st_atime_ns, st.st_mtime_ns))
            if owner is not None:
                os.fchown(d, *owner)
        finally:
            os.close(d)
    finally:
        os.close(s)


def _pump(
    s: int, d: int, size: int, send: Callable[[int, int, int, int], int] = os.sendfile
) -> None:
    offset = 0
    while offset < size:
        sent = send(d, s, offset, min(size - offset, 1 << 30))
        if sent == 0:
            break
        offset += sent
    # The file may have grown since fstat; copy the rest, whatever it is.
    os.lseek(s, offset, os.SEEK_SET)
    while chunk := os.read(s, 1 << 20):
        os.write(d, chunk)
