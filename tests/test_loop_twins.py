"""The index of functional duplicates: built from the archive (a resumed run knows
every earlier program), rejected candidates left out, unconditional programs skipped."""

from __future__ import annotations

from evoforge.archive import MemoryArchive
from evoforge.candidate import Candidate, Status
from evoforge.loop_twins import Twins, has_conditions
from evoforge.proposers.sites import set_values

SEED = {
    "p.py": "# EVOLVE-BLOCK-START\n"
    'KIND = "a"  # evolve: choice["a", "b"]\n'
    'DEPTH = 3  # evolve: int[1, 9] when KIND == "b"\n'
    "# EVOLVE-BLOCK-END\n"
}


def test_an_archive_program_is_found_again_when_only_an_inactive_value_differs() -> None:
    archive = MemoryArchive()
    rejected = archive.add(Candidate(0, archive.put_code(set_values(SEED, {"KIND": "b"}))))
    archive.update(rejected.id, status=Status.REJECTED)
    first = archive.add(Candidate(0, archive.put_code(SEED)))
    twins = Twins(archive)  # as a resumed run builds it: from what is recorded
    assert twins.earlier(set_values(SEED, {"DEPTH": 8})) == first.id
    assert twins.earlier(set_values(SEED, {"KIND": "b"})) is None  # only a rejected one had it
    b = set_values(SEED, {"KIND": "b", "DEPTH": 5})
    twins.add(b, 7)
    assert twins.earlier(b) == 7 and twins.earlier(set_values(b, {"DEPTH": 6})) is None


def test_only_programs_with_conditions_need_the_index() -> None:
    assert has_conditions(SEED)
    assert not has_conditions({"p.py": SEED["p.py"].replace(' when KIND == "b"', "")})
    assert not has_conditions(
        {"p.py": "# EVOLVE-BLOCK-START\nX = 1  # evolve: int[5, 1]\n# EVOLVE-BLOCK-END\n"}
    )
