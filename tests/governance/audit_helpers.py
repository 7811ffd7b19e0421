"""Small audit logs for the tests, and the file edits a tamperer would make."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from evoforge.governance.audit import AuditLog


def log_of(tmp_path: Path, n: int = 6) -> tuple[AuditLog, Path]:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, clock=iter(range(1000, 2000)).__next__)
    log.append("run_start", config_sha256="c" * 64, sandbox={"bwrap": "on"})
    for i in range(2, n + 1):
        log.append("flag", candidate=i, flags=["jump"])
    return log, path


def read_lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(lines))


def rehash(obj: dict[str, object]) -> dict[str, object]:
    content = {k: v for k, v in obj.items() if k != "hash"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return {**content, "hash": hashlib.sha256(canonical.encode()).hexdigest()}
