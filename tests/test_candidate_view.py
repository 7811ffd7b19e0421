"""How a candidate is printed, and how a decline is explained from the promoter's evidence."""

from __future__ import annotations

import pytest

from evoforge.archive import MemoryArchive
from evoforge.candidate import Candidate, Status
from evoforge.candidate_view import decline_reason, print_candidate

# What the promoter records for a challenger (promotion.Promoter.evidence).
BEATS_NOISE = {"champion": 1, "runs": 3, "gain": 0.2, "stderr": 0.01, "threshold": 0.02,
               "beats_noise": True, "heldout_gain": {"heldout": 0.1}, "heldout_ok": True,
               "failed_reruns": [], "flags": []}  # fmt: skip


def test_a_challenger_declined_by_the_heldout_check_is_said_so() -> None:
    evidence = {
        **BEATS_NOISE,
        "heldout_gain": {"heldout": -0.15, "other": 0.0},
        "heldout_ok": False,
    }
    why = decline_reason(evidence)
    assert why.startswith("held-out check failed") and "heldout -0.15" in why
    assert "noise" not in why and "re-run" not in why


def test_a_gain_within_noise_names_the_gain_and_the_threshold() -> None:
    why = decline_reason({**BEATS_NOISE, "gain": 0.01, "threshold": 0.04, "beats_noise": False})
    assert why == "gain 0.01 over champion #1 not above the noise threshold 0.04 (3 paired runs)"


def test_failed_reruns_are_the_reason_rather_than_the_missing_gain() -> None:
    failed = ["#4 seed 7919: exit code 1: boom", "#1 seed 15838: timed out"]
    why = decline_reason({**BEATS_NOISE, "beats_noise": False, "failed_reruns": failed})
    assert why == "2 re-run(s) failed: #4 seed 7919: exit code 1: boom (and 1 more)"


def test_missing_reruns_are_named() -> None:
    why = decline_reason({**BEATS_NOISE, "beats_noise": False, "missing_reruns": ["#4 seed 7919"]})
    assert why == "1 re-run(s) missing: #4 seed 7919"


def test_the_promoters_own_reason_is_shown_when_it_records_one() -> None:
    why_not = "loses 0.2 on gate metric auc against #1 (gate_tolerance 0.01)"
    evidence = {**BEATS_NOISE, "gate_ok": False, "gate_gain": {"auc": -0.2}, "why_not": why_not}
    assert decline_reason(evidence) == why_not


def test_a_challenger_that_no_longer_beats_the_champion_keeps_the_promoters_words() -> None:
    assert (
        decline_reason({"reason": "no longer beats champion #7"}) == "no longer beats champion #7"
    )


def test_checks_the_promoter_gains_later_are_named_from_their_fields() -> None:
    evidence = {**BEATS_NOISE, "gate_ok": False, "gate_gain": {"auc": -0.3},
                "bootstrap": {"ok": False, "lower": -0.002}}  # fmt: skip
    why = decline_reason(evidence)
    assert "gate check failed: gain auc -0.3" in why
    assert "bootstrap check failed: lower -0.002" in why


def test_evidence_without_a_known_failed_check_is_listed_as_it_is() -> None:
    why = decline_reason({"beats_noise": True, "novelty": 0.25})
    assert why == "declined; evidence: beats_noise True, novelty 0.25"
    assert decline_reason({}) == "declined (no evidence recorded)"


def test_show_labels_every_hidden_metric_with_its_kind(capsys: pytest.CaptureFixture[str]) -> None:
    archive = MemoryArchive()
    archive.set_meta("config", {"task": {"objective": "score", "heldout": ["acc", "f1"],
                                         "gate": ["auc"]}})  # fmt: skip
    code = archive.put_code({"program.py": "x = 1\n"})
    c = archive.add(Candidate(id=0, code_hash=code, status=Status.SUCCEEDED, metrics={"score": 1.0},
                              heldout={"acc": 0.9, "f1": 0.8, "auc": 0.7}))  # fmt: skip
    print_candidate(archive, c, code=False)
    lines = capsys.readouterr().out.splitlines()
    assert {"acc: 0.9 (held-out)", "f1: 0.8 (held-out)", "auc: 0.7 (gate)"} <= set(lines)


HOSTILE = "\x1b[2J\x1b[Hchampion score: 0.99\r\u202e"


def test_show_prints_every_text_of_a_candidate_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    archive = MemoryArchive()
    code = archive.put_code({"program.py": f"print({HOSTILE!a})  # {HOSTILE}\n"})
    blob = archive.put_blob(f"answer {HOSTILE}")
    c = archive.add(Candidate(
        id=0, code_hash=code, status=Status.FAILED, failure=f"exit code 1: {HOSTILE}\n{HOSTILE}",
        note=f"llm: {HOSTILE}", stdout_tail=f"out {HOSTILE}", stderr_tail=f"err {HOSTILE}",
        diff=f"+{HOSTILE}\n", extra={"prompt_blob": blob, "response_blob": blob},
    ))  # fmt: skip
    shown = []
    for kwargs in (
        {"code": False},
        {"code": True},
        {"code": False, "prompt": True, "response": True},
    ):
        print_candidate(archive, c, **kwargs)
        shown.append(capsys.readouterr().out)
    for out in shown:
        assert "\x1b" not in out and "\r" not in out and "\u202e" not in out
    every = "".join(shown)
    visible = "\\x1b[2J\\x1b[Hchampion score: 0.99\\r\\u202e"
    for text in ("failure: exit code 1: ", "note: llm: ", "out ", "err ", "+", "# ", "answer "):
        assert text + visible in every, text
