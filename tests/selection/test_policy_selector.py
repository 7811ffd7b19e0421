import random

from evoforge.archive.memory import MemoryArchive
from evoforge.candidate import Candidate, Status
from evoforge.policy import InProcessPolicy, default_policy_source
from evoforge.selection import AgingTournament, PolicySelector


def test_policy_selector_picks_by_the_policy_and_falls_back_when_it_fails() -> None:
    archive = MemoryArchive()
    for score in (0.1, 0.9, 0.4):
        code = archive.put_code({"p.py": f"X = {score}\n"})
        c = archive.add(Candidate(id=0, code_hash=code))
        archive.update(c.id, status=Status.SUCCEEDED, metrics={"s": score}, finished_at=1.0)
    greedy = InProcessPolicy(default_policy_source().replace("GREEDY = 0.0", "GREEDY = 1.0"))
    selector = PolicySelector(greedy, fallback=AgingTournament())
    _, parents = selector.pick(archive, objective="s", maximize=True, rng=random.Random(0), n=2)
    assert [p.metrics["s"] for p in parents] == [0.9, 0.9]
    _, low = selector.pick(archive, objective="s", maximize=False, rng=random.Random(0), n=1)
    assert low[0].metrics["s"] == 0.1
    broken = InProcessPolicy("def decide(request):\n    return 1\n")
    selector = PolicySelector(broken, fallback=AgingTournament())
    _, parents = selector.pick(archive, objective="s", maximize=True, rng=random.Random(0), n=1)
    assert len(parents) == 1 and "lanes" in selector.failed
