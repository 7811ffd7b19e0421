"""Verifying a log from the file alone: each kind of tampering the chain shows, and the report."""

from __future__ import annotations

import json
from pathlib import Path

from audit_helpers import log_of, read_lines, rehash, write_lines

from evoforge.governance.audit import AuditLog
from evoforge.governance.audit_verify import format_report, verify


def test_a_clean_log_verifies_and_says_so_greppably(tmp_path: Path) -> None:
    log, path = log_of(tmp_path)
    report = verify(path, anchor=log.head())
    assert report.ok and report.problems == [] and report.entries == 6
    assert format_report(report).splitlines()[-1] == "audit: ok (6 entries)"


def test_an_edited_line_is_reported_as_edited(tmp_path: Path) -> None:
    log, path = log_of(tmp_path)
    lines = read_lines(path)
    lines[3] = lines[3].replace('"candidate":4', '"candidate":5')
    write_lines(path, lines)
    report = verify(path, anchor=log.head())
    assert report.problems == ["line 4: edited (hash does not match its content)"]
    assert format_report(report).splitlines()[-1] == "audit: FAILED (1 problem in 6 entries)"


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(tmp_path: Path) -> None:
    _, path = log_of(tmp_path)
    lines = read_lines(path)
    obj = json.loads(lines[2])
    obj["data"]["flags"] = []
    lines[2] = json.dumps(rehash(obj)) + "\n"
    write_lines(path, lines)
    report = verify(path)
    assert len(report.problems) == 1
    assert report.problems[0].startswith("line 4: chain broken")
    assert "line 3" in report.problems[0]


def test_a_deleted_middle_line_is_reported_as_missing(tmp_path: Path) -> None:
    log, path = log_of(tmp_path)
    lines = read_lines(path)
    del lines[2]
    write_lines(path, lines)
    report = verify(path, anchor=log.head())
    assert report.problems == ["line 3: a line is missing before it (seq 3 expected, found 4)"]


def test_swapped_lines_are_reported_as_out_of_order(tmp_path: Path) -> None:
    log, path = log_of(tmp_path)
    lines = read_lines(path)
    lines[3], lines[4] = lines[4], lines[3]
    write_lines(path, lines)
    report = verify(path, anchor=log.head())
    assert report.problems
    assert all("out of order" in p for p in report.problems), report.problems
    assert report.problems[0] == "line 4: out of order (seq 5 after seq 3; seq 4 is at line 5)"
    assert report.problems[1] == "line 5: out of order (seq 4 after seq 5)"


def test_a_deleted_last_line_is_seen_only_with_the_anchor(tmp_path: Path) -> None:
    log, path = log_of(tmp_path)
    write_lines(path, read_lines(path)[:-1])
    assert verify(path).ok
    report = verify(path, anchor=log.head())
    assert report.problems == [
        "the log ends at seq 5 but the archive recorded seq 6: lines were removed from the end"
    ]


def test_a_rewritten_tail_is_seen_only_with_the_anchor(tmp_path: Path) -> None:
    log, path = log_of(tmp_path)
    lines = read_lines(path)
    prev = json.loads(lines[2])["hash"]
    for i in range(3, len(lines)):
        obj = json.loads(lines[i])
        obj["data"]["flags"], obj["prev"] = [], prev
        obj = rehash(obj)
        prev = str(obj["hash"])
        lines[i] = json.dumps(obj) + "\n"
    write_lines(path, lines)
    assert verify(path).ok
    report = verify(path, anchor=log.head())
    assert len(report.problems) == 1
    assert "hash differs" in report.problems[0] and "seq 6" in report.problems[0]


def test_a_forged_line_with_its_own_hash_but_a_wrong_prev_breaks_the_chain(
    tmp_path: Path,
) -> None:
    _, path = log_of(tmp_path)
    lines = read_lines(path)
    forged = rehash(
        {"seq": 7, "at": 1.0, "event": "approval", "data": {"who": "x"}, "prev": "f" * 64}
    )
    write_lines(path, [*lines, json.dumps(forged) + "\n"])
    report = verify(path)
    assert len(report.problems) == 1
    assert report.problems[0].startswith("line 7: chain broken")
    assert not any("edited" in p for p in report.problems)


def test_an_inserted_copy_of_a_seq_is_reported(tmp_path: Path) -> None:
    _, path = log_of(tmp_path)
    lines = read_lines(path)
    forged = rehash(
        {"seq": 3, "at": 1.0, "event": "approval", "data": {"who": "x"}, "prev": "f" * 64}
    )
    lines.insert(2, json.dumps(forged) + "\n")
    write_lines(path, lines)
    problems = verify(path).problems
    assert problems[0].startswith("line 3: chain broken")
    assert "line 4: repeats seq 3 (first at line 3)" in problems


def test_a_line_that_is_not_json_is_reported(tmp_path: Path) -> None:
    _, path = log_of(tmp_path)
    lines = read_lines(path)
    lines[2] = "{not json\n"
    write_lines(path, lines)
    assert verify(path).problems == ["line 3: not valid JSON"]


def test_a_torn_last_line_is_reported_and_the_next_append_starts_after_it(
    tmp_path: Path,
) -> None:
    _, path = log_of(tmp_path, n=3)
    with path.open("a") as fh:
        fh.write('{"seq":4,"at":1')
    again = AuditLog(path)
    entry = again.append("stop", mode="now")
    assert entry.seq == 4
    assert [e.seq for e in again.entries()] == [1, 2, 3, 4]
    assert verify(path, anchor=again.head()).problems == ["line 4: not valid JSON"]


def test_a_missing_log_fails_verification(tmp_path: Path) -> None:
    report = verify(tmp_path / "audit.jsonl")
    assert not report.ok
    assert format_report(report).endswith("audit: FAILED (1 problem in 0 entries)")
