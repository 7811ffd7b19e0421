"""The trusted launcher: the first program inside the sandbox, run before the candidate.

The host starts ``python -I -S -B -c BOOT FD STATUS_FD``: :data:`BOOT` reads from
FD this module and its three siblings as compiled code (so nothing is compiled or
looked up on ``sys.path`` inside the sandbox), then the config (a ``marshal``
dict written by :mod:`evoforge.sandbox.layered`), and calls :func:`main`.

The launcher forks. The child applies, in this order, the process-count limit,
the switch to the candidate's unprivileged uid (when started as root, after
emptying the capability bounding set), Landlock, then seccomp, closes every
inherited descriptor and ``exec``s the candidate with exactly its environment. A
layer the config requires and the kernel refuses stops the launch (fail closed).
The parent, which stays trusted, drops to the few capabilities it still needs,
waits for the candidate, kills whatever the candidate left in the pid namespace,
mirrors the scratch tmpfs back to the host folder, and writes ``key<TAB>value``
lines to STATUS_FD: what was applied and the candidate's exit status (negative:
killed by that signal).

Standard library only, and few imports (no contextlib, no typing at run time):
every millisecond here is paid per candidate. Its code runs only inside the
sandbox, where coverage cannot follow; the hostile suite exercises all of it.
"""

from __future__ import annotations

import ctypes
import os
import resource

try:
    from evoforge.sandbox import landlock, scratch, seccomp_filter
except ImportError:  # inside the sandbox, the siblings were loaded by BOOT
    import landlock  # type: ignore[import-not-found,no-redef]
    import scratch  # type: ignore[import-not-found,no-redef]
    import seccomp_filter  # type: ignore[import-not-found,no-redef]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MODULES = ("landlock", "scratch", "seccomp_filter", "launcher")
"""Loaded by BOOT in this order, each under its bare name."""
BOOT = (
    "import sys, marshal\n"
    "with open(int(sys.argv[1]), 'rb') as f:\n"
    "    mods = marshal.load(f)\n"
    "    for name, code in mods:\n"
    "        m = sys.modules[name] = type(sys)(name)\n"
    "        exec(code, m.__dict__)\n"
    "    cfg = marshal.load(f)\n"
    "sys.exit(sys.modules['launcher'].main(cfg, int(sys.argv[2])))\n"
)
_SIGKILL = 9
_EINVAL = 22
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
_CAP_VERSION_3 = 0x20080522
_CAP_LAST = 63
CAP_DAC_OVERRIDE, CAP_KILL = 1, 5
PARENT_CAPS = (1 << CAP_DAC_OVERRIDE) | (1 << CAP_KILL)
"""What the parent keeps when started as root: read and write the scratch copies,
and kill the candidate's leftovers. Everything else is dropped after the fork."""

EXIT_SETUP = 125
"""The launcher's exit code when it refused to start the candidate."""


def _prctl(option: int, arg: int) -> None:  # pragma: no cover (runs inside the sandbox)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, arg, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({option}): {os.strerror(err)}")


def _keep_caps(mask: int) -> None:  # pragma: no cover (runs inside the sandbox)
    """Set effective and permitted capabilities to ``mask`` (and inheritable to none)."""

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [
            ("effective", ctypes.c_uint32),
            ("permitted", ctypes.c_uint32),
            ("inheritable", ctypes.c_uint32),
        ]

    data = (Data * 2)(Data(mask, mask, 0), Data(0, 0, 0))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.capset(ctypes.byref(Header(_CAP_VERSION_3, 0)), data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"capset: {os.strerror(err)}")


def _drop_bounding_set() -> None:  # pragma: no cover (runs inside the sandbox)
    """Empty the capability bounding set, so no later exec can ever regain a capability."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in range(_CAP_LAST + 1):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != _EINVAL:
            err = ctypes.get_errno()  # EINVAL only means the kernel has no such capability
            raise OSError(err, f"prctl(CAPBSET_DROP, {cap}): {os.strerror(err)}")


def _child(cfg: dict[str, Any], report: int) -> None:  # pragma: no cover (runs inside the sandbox)
    """Apply the layers and exec the candidate; never returns."""
    code = EXIT_SETUP
    try:
        applied: list[str] = []
        if not cfg.get("pidns"):
            _prctl(_PR_SET_PDEATHSIG, _SIGKILL)  # dies with the launcher's parent half
        for res, value in cfg["rlimits"]:
            resource.setrlimit(res, (value, value))
        if cfg.get("uid") is not None:
            uid, gid = int(cfg["uid"]), int(cfg["gid"])
            _drop_bounding_set()
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)  # clears every capability
            applied.append(f"uid\t{uid}")
        os.chdir(cfg["cwd"])
        _prctl(_PR_SET_NO_NEW_PRIVS, 1)
        applied += _apply_landlock(cfg) + _apply_seccomp(cfg)
        os.write(report, ("\n".join(applied) + "\nexec\tstarted\n").encode())
        # Nothing the launcher holds reaches the candidate, not even the report pipe.
        os.closerange(3, report)
        os.closerange(report + 1, 65536)
        code = 127
        argv = list(cfg["argv"])
        os.execvpe(argv[0], argv, dict(cfg["env"]))
    except BaseException as exc:
        msg = f"{type(exc).__name__}: {exc}".replace("\n", " ")
        try:
            os.write(report, f"error\t{msg}\n".encode())
            os.write(2, f"evoforge sandbox: cannot start the candidate: {msg}\n".encode())
        except OSError:
            pass
    os._exit(code)


def _apply_landlock(cfg: dict[str, Any]) -> list[str]:  # pragma: no cover (runs inside the sandbox)
    rules = cfg.get("landlock")
    if rules is None:
        return []
    try:
        abi = landlock.restrict(read=rules["read"], write=rules["write"], hidden=rules["hidden"])
    except OSError as exc:
        if cfg.get("require"):
            raise
        return [f"landlock\tmissing: {exc}"]
    return [f"landlock\ton (ABI {abi})"]


def _apply_seccomp(cfg: dict[str, Any]) -> list[str]:  # pragma: no cover (runs inside the sandbox)
    if not cfg.get("seccomp"):
        return []
    try:
        seccomp_filter.install()
    except OSError as exc:
        if cfg.get("require"):
            raise
        return [f"seccomp\tmissing: {exc}"]
    return ["seccomp\ton"]


def _read_all(fd: int) -> str:  # pragma: no cover (runs inside the sandbox)
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def main(cfg: dict[str, Any], status_fd: int) -> int:  # pragma: no cover (runs inside the sandbox)
    """Launch the candidate as ``cfg`` says; returns the exit code for bubblewrap to pass on."""
    for fd in cfg["cgroup_fds"]:
        os.write(fd, b"0")  # join the candidate's cgroups: everything from here on counts
        os.close(fd)
    if not cfg.get("pidns"):
        # Without bubblewrap's --die-with-parent, die with the supervisor ourselves.
        _prctl(_PR_SET_PDEATHSIG, _SIGKILL)
        if os.getppid() != cfg["parent"]:
            return EXIT_SETUP
    copy = cfg.get("copy")
    if copy:
        owner = None if cfg.get("uid") is None else (int(cfg["uid"]), int(cfg["gid"]))
        try:
            scratch.copy_in(copy["io"], cfg["cwd"], skip=frozenset(copy["skip"]), owner=owner)
        except OSError as exc:
            msg = f"cannot copy the scratch folder in: {exc}"
            os.write(2, f"evoforge sandbox: {msg}\n".encode())
            os.write(status_fd, f"error\t{msg}\n".encode())
            return EXIT_SETUP
    report_r, report_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(report_r)
        _child(cfg, report_w)
    os.close(report_w)
    # The parent stays beside the candidate: make it untraceable and nearly powerless.
    _prctl(_PR_SET_DUMPABLE, 0)
    if os.geteuid() == 0:
        _keep_caps(PARENT_CAPS)
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    report = _read_all(report_r).strip()
    os.close(report_r)
    _, status, usage = os.wait4(pid, 0)
    exit_code = os.waitstatus_to_exitcode(status)
    lines = [report, f"cpu_s\t{usage.ru_utime + usage.ru_stime}", f"max_rss_kb\t{usage.ru_maxrss}"]
    if cfg.get("pidns"):
        # Only inside a pid namespace: -1 is then the candidate's leftovers, nothing else.
        try:  # noqa: SIM105 (no contextlib: see the module docstring)
            os.kill(-1, _SIGKILL)
        except OSError:
            pass
    if copy and "exec\tstarted" in report:
        try:
            scratch.mirror_back(cfg["cwd"], copy["io"])
            lines.append("copy_back\tok")
        except Exception as exc:  # a hostile tree can break a walk in many ways
            lines.append(f"copy_back\terror: {type(exc).__name__}: {exc}")
    lines.append(f"exit_code\t{exit_code}")
    try:  # noqa: SIM105 (no contextlib: see the module docstring)
        os.write(status_fd, ("\n".join(lines) + "\n").encode())
    except OSError:
        pass
    return exit_code if exit_code >= 0 else 128 - exit_code
