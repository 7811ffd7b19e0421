"""``evoforge list``, ``export``, ``resume --candidates`` and ``run --from``, as a user
runs them: real processes, real run folders."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from cli_helpers import cli, summary, tiny
from experiment_helpers import set_config


def test_list_prints_a_table_csv_and_json_of_the_same_candidates(
    minimal_experiment: Path,
) -> None:
    tiny(minimal_experiment, candidates=4)
    cli("run", str(minimal_experiment))
    table = cli("list", str(minimal_experiment)).stdout
    assert "neg_mse" in table.splitlines()[0] and "A=" in table and "*" in table
    rows = list(csv.DictReader(io.StringIO(cli("list", str(minimal_experiment), "--csv").stdout)))
    records = json.loads(cli("list", str(minimal_experiment), "--json").stdout)
    assert len(rows) == len(records) >= 4
    assert [r["id"] for r in rows] == [str(r["id"]) for r in records]
    assert rows[0]["proposer"] == "seed" and rows[0]["params.A"] == "0.5"
    assert sum(r["champion"] == "True" for r in rows) == 1
    both = cli("list", str(minimal_experiment), "--csv", "--json", ok=False)
    assert both.returncode == 2 and "exclude each other" in both.stderr


def test_export_writes_a_folder_that_runs_as_evoforge_ran_it(
    minimal_experiment: Path, tmp_path: Path
) -> None:
    tiny(minimal_experiment, candidates=3)
    cli("run", str(minimal_experiment))
    out = tmp_path / "champion"
    done = cli("export", str(minimal_experiment), str(out)).stdout
    assert f"into {out}" in done and "run it: cd" in done
    note = json.loads((out / "candidate.json").read_text())
    assert note["champion"] is True and set(note["params"]) == {"A", "B", "C"}
    again = cli("export", str(minimal_experiment), "--out", str(out), ok=False)
    assert again.returncode == 2 and "not an empty folder" in again.stderr
    missing = cli("export", ok=False, cwd=tmp_path)
    assert missing.returncode == 2 and "--out DIR" in missing.stderr


def test_a_finished_run_is_extended_by_resume_with_more_candidates(
    minimal_experiment: Path,
) -> None:
    tiny(minimal_experiment, candidates=3)
    cli("run", str(minimal_experiment))
    plain = cli("resume", str(minimal_experiment), ok=False)
    assert plain.returncode == 2 and "--candidates +N" in plain.stderr
    bad = cli("resume", str(minimal_experiment), "--candidates", "2", ok=False)
    assert bad.returncode == 2 and "evaluated 3 already" in bad.stderr
    more = summary(cli("resume", str(minimal_experiment), "--candidates", "+2").stdout)
    assert more["state"] == "finished" and more["candidates"] == "5/5"


def test_run_from_a_former_runs_candidate(minimal_experiment: Path) -> None:
    tiny(minimal_experiment, candidates=3)
    cli("run", str(minimal_experiment))
    first = sorted((minimal_experiment / "runs").iterdir())[0]
    rows = json.loads(cli("list", str(first), "--json").stdout)
    pick = rows[-1]
    set_config(minimal_experiment, "candidates = 3", "candidates = 1")
    cli("run", str(minimal_experiment), "--from", f"{first}:{pick['id']}")
    second = max((minimal_experiment / "runs").iterdir())
    seed = json.loads(cli("list", str(second), "--json").stdout)[0]
    assert {k: v for k, v in seed.items() if k.startswith("params.")} == {
        k: v for k, v in pick.items() if k.startswith("params.")
    }
    bad = cli("run", str(minimal_experiment), "--from", f"{first}:x", ok=False)
    assert bad.returncode == 2 and "CAND is a candidate id" in bad.stderr
