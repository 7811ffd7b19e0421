"""Probing the layers this machine offers and building the sandbox from them.

Each layer is first checked on its own (a cgroup created and removed, ``bwrap``
creating its namespaces, the Landlock ABI, the seccomp table), then a canary
candidate runs through the full plan: the launcher reports which layers it could
apply, and a layer whose canary fails is dropped with the failure as its reason.
So the strength recorded with a run is what actually worked when it started.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from evoforge.sandbox import landlock, seccomp_filter
from evoforge.sandbox._base import Limits, RunSpec
from evoforge.sandbox.cgroups import find_cgroups
from evoforge.sandbox.layered import LayeredSandbox, Plan
from evoforge.sandbox.options import SandboxOptions, WeakSandboxError

_CANARY = (
    "import os\n"
    "open('canary.out', 'w').write(str(os.getuid()))\n"
    "print('caps', open('/proc/self/status').read().split('CapEff:')[1].split()[0])\n"
)


def probe(options: SandboxOptions | None = None) -> dict[str, str]:
    """Each layer's state on this machine: "on ...", "missing: why" or "off: why"."""
    return _decide(options or SandboxOptions())[1]


def build_sandbox(options: SandboxOptions | None = None) -> LayeredSandbox:
    """The strongest sandbox the options allow on this machine.

    Raises :class:`WeakSandboxError` when namespaces and Landlock were both wanted
    and neither works, unless ``options.allow_weak``; the strength then says so.
    """
    options = options or SandboxOptions()
    plan, strength = _decide(options)
    wanted = options.wanted()
    if plan.bwrap is None and not plan.landlock and {"bubblewrap", "landlock"} & wanted:
        if not options.allow_weak:
            raise WeakSandboxError(
                "refusing to run candidates: neither namespaces (bubblewrap: "
                f"{strength['bubblewrap']}) nor Landlock ({strength['landlock']}) work here. "
                "Install bubblewrap, or pass --allow-weak-sandbox to run anyway (recorded)."
            )
        strength["allow_weak"] = "running without namespaces or Landlock, explicitly allowed"
    return LayeredSandbox(plan, strength)


def _decide(options: SandboxOptions) -> tuple[Plan, dict[str, str]]:
    wanted = options.wanted()
    root = os.geteuid() == 0
    strength = {"supervisor": "on", "rlimits": "on"}
    cgroups = find_cgroups() if "cgroup" in wanted else None
    bwrap, bwrap_state = _bwrap(options.bwrap, root) if "bubblewrap" in wanted else (None, "")
    abi = landlock.abi_version() if "landlock" in wanted else 0
    seccomp_why = _seccomp_missing() if "seccomp" in wanted else "off"
    plan = Plan(
        cgroups=cgroups if cgroups and (cgroups.memory or cgroups.pids) else None,
        bwrap=bwrap,
        landlock=abi > 0,
        seccomp=not seccomp_why,
        drop_uid=root,
        options=options,
    )
    reasons: dict[str, str] = {}
    plan = _canary(plan, reasons)
    for name in ("cgroup_memory", "cgroup_pids"):
        ctrl = name.split("_")[1]
        if "cgroup" not in wanted:
            strength[name] = "off: not in the chosen layers"
        elif cgroups is not None and getattr(cgroups, ctrl) is not None:
            v2 = getattr(cgroups, f"{ctrl}_v2")
            strength[name] = f"on (cgroup {'v2' if v2 else 'v1'})"
        else:
            strength[name] = "missing: " + (getattr(cgroups, f"why_{ctrl}") if cgroups else "")
    strength["process_limit"] = _process_limit(plan, root)
    if "bubblewrap" not in wanted:
        strength["bubblewrap"] = "off: not in the chosen layers"
    elif plan.bwrap:
        strength["bubblewrap"] = (
            f"on ({bwrap_state}: mount, pid, network, ipc and uts namespaces; capabilities dropped)"
        )
    else:
        strength["bubblewrap"] = "missing: " + reasons.get("bubblewrap", bwrap_state)
    strength["scratch_cap"] = (
        "on (size-capped tmpfs)" if plan.bwrap else "missing: needs bubblewrap"
    )
    if not root:
        strength["unprivileged_uid"] = f"on (evoforge itself runs as uid {os.getuid()})"
    elif plan.drop_uid:
        last = options.uid + options.uid_count - 1
        strength["unprivileged_uid"] = f"on (uids {options.uid}-{last}, one per candidate)"
    else:
        strength["unprivileged_uid"] = "missing: " + reasons.get("unprivileged_uid", "")
    strength.update(_landlock_states(plan, wanted, abi, reasons))
    if "seccomp" not in wanted:
        strength["seccomp"] = "off: not in the chosen layers"
    else:
        strength["seccomp"] = (
            "on" if plan.seccomp else "missing: " + reasons.get("seccomp", seccomp_why)
        )
    return plan, strength


def _landlock_states(
    plan: Plan, wanted: frozenset[str], abi: int, reasons: dict[str, str]
) -> dict[str, str]:
    if "landlock" not in wanted:
        return {
            "landlock": "off: not in the chosen layers",
            "landlock_network": "off: not in the chosen layers",
        }
    if not plan.landlock:
        why = reasons.get("landlock", "the kernel has no Landlock (Linux 5.13+ with it enabled)")
        return {"landlock": f"missing: {why}", "landlock_network": "missing: no Landlock"}
    net = (
        "on (TCP bind and connect denied)"
        if abi >= 4
        else f"missing: Landlock ABI {abi} < 4 has no TCP rules; the network namespace and "
        "seccomp still deny the network"
    )
    return {"landlock": f"on (ABI {abi})", "landlock_network": net}


def _process_limit(plan: Plan, root: bool) -> str:
    ways = []
    if plan.cgroups is not None and plan.cgroups.pids is not None:
        ways.append("pids cgroup")
    if plan.drop_uid or (plan.bwrap is not None and not root):
        ways.append("RLIMIT_NPROC under the candidate's own uid")
    if not ways:
        return "missing: no pids cgroup, and RLIMIT_NPROC would count every process of this user"
    return f"on ({' + '.join(ways)})"


def _bwrap(name: str, root: bool) -> tuple[str | None, str]:
    path = shutil.which(name)
    if path is None:
        return None, f"{name} not found on PATH (install the bubblewrap package)"
    try:
        version = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        test = [
            path,
            "--ro-bind",
            "/",
            "/",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--die-with-parent",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
        ]
        if not root:
            test.append("--unshare-user")
        done = subprocess.run([*test, "true"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"{path} does not run: {exc}"
    if done.returncode != 0:
        return None, f"{path} cannot create namespaces here: {done.stderr.strip()[-300:]}"
    return path, version or "bubblewrap"


def _seccomp_missing() -> str:
    why = seccomp_filter.supported()
    if why:
        return why
    try:
        with open("/proc/self/status", encoding="utf-8") as fh:
            if "Seccomp:" not in fh.read():
                return "the kernel was built without seccomp"
    except OSError as exc:
        return f"cannot read /proc/self/status: {exc}"
    return ""


def _canary(plan: Plan, reasons: dict[str, str]) -> Plan:
    """Run a canary through the plan, dropping each layer that makes it fail."""
    probing = dataclasses.replace(plan, require=False)
    while True:
        ok, why, status = _run_canary(probing)
        for layer in ("landlock", "seccomp"):
            if status.get(layer, "").startswith("missing"):
                reasons[layer] = status[layer].split(":", 1)[1].strip()
                probing = _without(probing, layer)
        if ok:
            break
        # Drop the most likely culprit first. Without bubblewrap, an interpreter the
        # unprivileged uid cannot read (say, under /root) is the usual one.
        culprit = next(
            (name for name in ("bubblewrap", "unprivileged_uid", "landlock", "seccomp")
             if _has(probing, name)),
            None,
        )  # fmt: skip
        if culprit is None:
            break  # nothing left to drop: candidates will fail, and say why
        reasons[culprit] = f"the canary failed: {why}"
        probing = _without(probing, culprit)
    return dataclasses.replace(probing, require=True)


def _has(plan: Plan, layer: str) -> bool:
    return {
        "bubblewrap": plan.bwrap is not None,
        "unprivileged_uid": plan.drop_uid,
        "landlock": plan.landlock,
        "seccomp": plan.seccomp,
    }[layer]


def _without(plan: Plan, layer: str) -> Plan:
    if layer == "bubblewrap":
        return dataclasses.replace(plan, bwrap=None)
    if layer == "unprivileged_uid":
        return dataclasses.replace(plan, drop_uid=False)
    if layer == "landlock":
        return dataclasses.replace(plan, landlock=False)
    return dataclasses.replace(plan, seccomp=False)


def _run_canary(plan: Plan) -> tuple[bool, str, dict[str, str]]:
    tmp = Path(tempfile.mkdtemp(prefix="evoforge-canary-"))
    try:
        spec = RunSpec(
            argv=(sys.executable, "-I", "-S", "-c", _CANARY),
            workdir=tmp,
            limits=Limits(wall_seconds=30, memory_mb=512, scratch_mb=16, processes=16),
            env={"PATH": "/usr/bin:/bin"},
        )
        result, status = LayeredSandbox(plan).run_with_status(spec)
        out = tmp / "canary.out"
        caps = result.stdout_tail.split("caps", 1)[-1].strip()
        if result.exit_code != 0:
            return False, (result.stderr_tail.strip() or f"exit {result.exit_code}")[-300:], status
        if not out.is_file() or (plan.bwrap and status.get("copy_back") != "ok"):
            return False, "the scratch folder did not come back", status
        if (plan.drop_uid or os.geteuid() != 0) and caps.strip("0"):
            return False, f"the candidate kept capabilities {caps}", status
        return True, "", status
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
