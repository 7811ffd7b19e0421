"""Probing the layers and refusing a weak sandbox unless told."""

from __future__ import annotations

import pytest

from evoforge.sandbox import (
    LayeredSandbox,
    SandboxOptions,
    WeakSandboxError,
    build_sandbox,
    is_on,
    probe,
)

KEYS = {
    "supervisor", "rlimits", "cgroup_memory", "cgroup_pids", "process_limit", "bubblewrap",
    "scratch_cap", "unprivileged_uid", "landlock", "landlock_network", "seccomp",
}  # fmt: skip


def test_probe_reports_every_layer() -> None:
    strength = probe()
    assert set(strength) == KEYS
    assert all(v.startswith(("on", "missing: ", "off: ")) for v in strength.values())


def test_missing_bubblewrap_is_reported_with_its_reason() -> None:
    strength = probe(SandboxOptions(bwrap="/nonexistent/bwrap"))
    assert strength["bubblewrap"].startswith("missing: /nonexistent/bwrap not found")
    assert strength["scratch_cap"] == "missing: needs bubblewrap"


def test_no_namespaces_and_no_landlock_is_refused_unless_allowed() -> None:
    weak = SandboxOptions(layers="bubblewrap,seccomp", bwrap="/nonexistent/bwrap")
    with pytest.raises(WeakSandboxError, match="allow-weak-sandbox"):
        build_sandbox(weak)
    allowed = build_sandbox(SandboxOptions(layers="bubblewrap", bwrap="/nonexistent/bwrap",
                                           allow_weak=True))  # fmt: skip
    assert "explicitly allowed" in allowed.strength()["allow_weak"]
    assert isinstance(allowed, LayeredSandbox) and allowed.plan.bwrap is None


def test_choosing_fewer_layers_is_recorded_as_off() -> None:
    strength = build_sandbox(SandboxOptions(layers="cgroup")).strength()
    assert strength["bubblewrap"] == "off: not in the chosen layers"
    assert strength["seccomp"] == "off: not in the chosen layers"
    assert is_on(strength["supervisor"])
