"""Sandbox options and strength reports."""

from __future__ import annotations

import pytest

from evoforge.sandbox import SandboxOptions, is_on, warnings_for


def test_layers_are_parsed() -> None:
    assert SandboxOptions().wanted() == {"cgroup", "bubblewrap", "landlock", "seccomp"}
    assert SandboxOptions(layers="process").wanted() == frozenset()
    assert SandboxOptions(layers="cgroup, landlock").wanted() == {"cgroup", "landlock"}
    with pytest.raises(ValueError, match="docker"):
        SandboxOptions(layers="cgroup,docker").wanted()


def test_warnings_name_each_weak_layer_and_the_override() -> None:
    strength = {
        "supervisor": "on",
        "landlock": "on (ABI 7)",
        "bubblewrap": "missing: bwrap not found on PATH",
        "seccomp": "off: not in the chosen layers",
        "allow_weak": "running without namespaces or Landlock, explicitly allowed",
    }
    lines = warnings_for(strength)
    assert len(lines) == 3
    assert lines[0].startswith("WARNING: sandbox layer bubblewrap is missing: bwrap not found")
    assert "install the 'bubblewrap' package" in lines[0]
    assert "seccomp is off" in lines[1]
    assert "explicitly allowed" in lines[2]
    assert is_on("on (ABI 7)") and not is_on("missing: x")
