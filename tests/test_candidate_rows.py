"""A run's candidates as rows: parameters read from each one's code, flat columns in
MLflow's naming, CSV and strict JSON."""

from __future__ import annotations

import csv
import io
import json

from evoforge.archive import MemoryArchive
from evoforge.candidate import Candidate, Status
from evoforge.candidate_rows import candidate_rows, columns, to_csv, to_json

PROGRAM = """# EVOLVE-BLOCK-START
MODEL = "{model}"  # evolve: choice["svm", "gb"]
DEPTH = {depth}  # evolve: int[1, 9]
SIZES = [8, 4]  # evolve: ints[1, 64] len[1, 3]
UNDECLARED = 3
# EVOLVE-BLOCK-END
"""


def _archive() -> MemoryArchive:
    archive = MemoryArchive()
    for i, (model, depth, score) in enumerate([("svm", 3, 0.5), ("gb", 5, 0.9)]):
        code = archive.put_code({"p.py": PROGRAM.format(model=model, depth=depth)})
        archive.add(
            Candidate(0, code, parent_ids=(1,) if i else (), proposer="seed" if not i else "auto")
        )
        archive.update(i + 1, status=Status.RUNNING)
        archive.update(
            i + 1, status=Status.SUCCEEDED, metrics={"acc": score},
            heldout={"test_acc": float("nan") if i else 0.4}, flags=("jump",) if i else (),
        )  # fmt: skip
    broken = archive.put_code(
        {"p.py": "# EVOLVE-BLOCK-START\nX = 1  # evolve: int[5, 1]\n# EVOLVE-BLOCK-END\n"}
    )
    archive.add(Candidate(0, broken, parent_ids=(2,), proposer="llm"))
    archive.move_champion(1, action="seed", reason="seed")
    archive.move_champion(2, action="promote", reason="better")
    return archive


def test_rows_carry_declared_parameters_metrics_and_champion_marks() -> None:
    rows = candidate_rows(_archive())
    assert [r.id for r in rows] == [1, 2, 3]
    assert rows[0].params == {"MODEL": "svm", "DEPTH": 3, "SIZES": (8, 4)}  # no UNDECLARED
    assert rows[1].params["MODEL"] == "gb" and rows[1].champion and rows[1].promoted
    assert rows[0].promoted and not rows[0].champion
    assert rows[2].params == {} and rows[2].status == "pending"  # a bad annotation: no values
    flat = rows[1].flat()
    assert flat["parent"] == 1 and flat["params.SIZES"] == [8, 4] and flat["metrics.acc"] == 0.9
    assert flat["flags"] == "jump"


def test_csv_and_json_have_every_column_and_json_stays_strict() -> None:
    rows = candidate_rows(_archive())
    cols = columns(rows)
    assert cols[:3] == ["id", "parent", "proposer"]
    assert {"params.MODEL", "metrics.acc", "heldout.test_acc"} <= set(cols)
    table = list(csv.DictReader(io.StringIO(to_csv(rows))))
    assert [t["id"] for t in table] == ["1", "2", "3"]
    assert table[0]["params.MODEL"] == "svm" and table[2]["metrics.acc"] == ""
    records = json.loads(to_json(rows))  # json.loads accepts NaN; the text must not have it
    assert "NaN" not in to_json(rows)
    assert records[1]["heldout.test_acc"] is None and records[0]["heldout.test_acc"] == 0.4
