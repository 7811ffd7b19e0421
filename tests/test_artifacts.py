"""Artifacts: what a worker copies out of a candidate's folder, and what the run keeps."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from evoforge.archive import Approval, ApprovalState, MemoryArchive
from evoforge.artifacts import ArtifactStore, collect, manifest
from evoforge.candidate import Candidate, Status


def test_only_regular_files_inside_the_folder_are_copied_under_their_sha256(
    tmp_path: Path,
) -> None:
    scratch, dest = tmp_path / "scratch", tmp_path / "dest"
    (scratch / "models").mkdir(parents=True)
    (scratch / "model.npy").write_bytes(b"weights")
    (scratch / "models" / "a.bin").write_bytes(b"a" * 10)
    secret = tmp_path / "secret.txt"
    secret.write_text("the labels")
    os.symlink(secret, scratch / "link.npy")
    os.symlink(tmp_path, scratch / "up")  # a folder link that leaves the candidate's folder
    got = collect(scratch, ["model.npy", "models/*", "link.npy", "up/secret.txt", "none*"], dest,
                  max_bytes=1000)  # fmt: skip
    digest = hashlib.sha256(b"weights").hexdigest()
    assert got.files["model.npy"] == {"sha256": digest, "size": 7}
    assert (dest / digest).read_bytes() == b"weights"
    assert "models/a.bin" in got.files
    assert set(got.files) == {"model.npy", "models/a.bin"}
    assert any(s.startswith("link.npy") for s in got.skipped)
    assert any(s.startswith("up/secret.txt") for s in got.skipped)
    assert b"the labels" not in b"".join(p.read_bytes() for p in dest.iterdir())


def test_files_past_the_cap_are_left_out_and_said(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "big.bin").write_bytes(b"x" * 600)
    (tmp_path / "s" / "small.bin").write_bytes(b"y" * 300)
    got = collect(tmp_path / "s", ["big.bin", "small.bin"], tmp_path / "d", max_bytes=500)
    assert set(got.files) == {"small.bin"}
    assert got.skipped and "big.bin" in got.skipped[0] and "500" in got.skipped[0]


def _with_artifact(archive: MemoryArchive, store: ArtifactStore, score: float, data: bytes) -> int:
    cand = archive.add(Candidate(0, archive.put_code({"p.py": str(score)})))
    digest = hashlib.sha256(data).hexdigest()
    folder = store.incoming(f"c{cand.id}-a1")
    folder.mkdir(parents=True)
    (folder / digest).write_bytes(data)
    store.accept(f"c{cand.id}-a1")
    archive.update(cand.id, status=Status.RUNNING)
    archive.update(
        cand.id, status=Status.SUCCEEDED, metrics={"acc": score},
        extra={"artifacts": {"m.bin": {"sha256": digest, "size": len(data)}}},
    )  # fmt: skip
    return cand.id


def test_the_store_keeps_champions_pending_approvals_and_the_best_only(tmp_path: Path) -> None:
    archive = MemoryArchive()
    store = ArtifactStore(tmp_path / "artifacts", objective="acc", maximize=True)
    seed = _with_artifact(archive, store, 0.1, b"seed")
    archive.move_champion(seed, action="seed", reason="seed")
    worse = _with_artifact(archive, store, 0.05, b"worse")
    pending = _with_artifact(archive, store, 0.5, b"pending")
    archive.put_approval(Approval(pending, ApprovalState.PENDING, {}, 0.0))
    passed = _with_artifact(archive, store, 0.3, b"passed over")
    best = _with_artifact(archive, store, 0.9, b"best")
    store.prune(archive)
    left = {p.read_bytes() for p in store.root.iterdir() if p.is_file()}
    assert left == {b"seed", b"pending", b"best"}
    assert not (store.root / "incoming").exists() or not any((store.root / "incoming").iterdir())
    assert manifest(archive, worse)["m.bin"]["size"] == 5  # the record stays; the file went
    assert passed not in store.kept_ids(archive) and best in store.kept_ids(archive)
