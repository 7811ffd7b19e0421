"""The successive-halving rule of ``[fidelity]``: who goes on from a rung."""

from __future__ import annotations

import pytest

from evoforge.archive import MemoryArchive
from evoforge.candidate import Candidate, Status
from evoforge.config import ConfigError
from evoforge.fidelity import Rungs

from experiment_helpers import config_of


def test_the_top_one_in_eta_of_a_rung_go_on_and_ties_go_together() -> None:
    rungs = Rungs([0.25, 1.0], eta=3, objective="acc", maximize=True)
    first = rungs.judge(1, 0, 0.5)
    assert first.goes_on and (first.rank, first.of, first.top) == (0, 1, 1)  # best of one
    assert not rungs.judge(2, 0, 0.4).goes_on  # 2nd of 2: only the best goes on
    assert rungs.judge(3, 0, 0.9).goes_on
    verdicts = [rungs.judge(i, 0, v) for i, v in ((4, 0.1), (5, 0.2), (6, 0.9))]
    assert [v.goes_on for v in verdicts] == [False, False, True]  # 6 results: top 2; 0.9 ties
    assert verdicts[-1].top == 2 and verdicts[-1].seq == 6
    low = Rungs([0.5, 1.0], eta=2, objective="loss", maximize=False)
    assert low.judge(1, 0, 3.0).goes_on and low.judge(2, 0, 1.0).goes_on
    assert not low.judge(3, 0, 2.0).goes_on  # 3 results, top 1: only the lowest loss


def test_the_rule_reads_the_same_from_the_records_after_a_resume() -> None:
    archive = MemoryArchive()
    h = {k: archive.put_code({"p.py": k}) for k in "sabc"}
    seed = archive.add(Candidate(id=0, code_hash=h["s"], proposer="seed", status=Status.SUCCEEDED))
    entries = [{"rung": 0, "ok": True, "metrics": {"acc": 0.7}, "seq": 1, "goes_on": True},
               {"rung": 1, "ok": True, "metrics": {"acc": 0.8}, "seq": 3, "goes_on": False}]  # fmt: skip
    a = archive.add(
        Candidate(id=0, code_hash=h["a"], status=Status.STOPPED, extra={"rungs": entries})
    )
    b = archive.add(Candidate(id=0, code_hash=h["b"], status=Status.RUNNING, extra={"rungs": [
        {"rung": 0, "ok": True, "metrics": {"acc": 0.9}, "seq": 2, "goes_on": True}]}))  # fmt: skip
    c = archive.add(Candidate(id=0, code_hash=h["c"], status=Status.PENDING))
    rungs = Rungs.of_archive(archive, [0.1, 0.3, 1.0], 3, objective="acc", maximize=True)
    assert rungs.results == {0: {a.id: 0.7, b.id: 0.9}, 1: {a.id: 0.8}} and rungs.seen == 3
    assert [rungs.next_rung(x) for x in (seed, a, b, c)] == [2, 1, 1, 0]
    assert rungs.judge(c.id, 0, 0.95).seq == 4


@pytest.mark.parametrize(
    ("rungs", "why"),
    [([1.0], "at least 2"), ([0.5, 0.3, 1.0], "must increase"), ([0.2, 0.5], "last rung must be 1"),
     ([0.0, 1.0], "must increase")],
)  # fmt: skip
def test_bad_rungs_are_refused_with_why(rungs: list[float], why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        config_of(fidelity={"rungs": rungs})
