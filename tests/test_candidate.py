"""The candidate records: statuses, flags, content addresses, per-example scores and the
canonical JSON they are stored with."""

from __future__ import annotations

import base64
import math
from types import MappingProxyType

import pytest

from evoforge.candidate import (
    Candidate,
    Flag,
    Status,
    code_hash,
    dumps,
    freeze,
    pack_examples,
    unpack_examples,
)


@pytest.mark.parametrize(
    ("status", "finished", "evaluated"),
    [
        (Status.PENDING, False, False),
        (Status.RUNNING, False, False),
        (Status.SUCCEEDED, True, True),
        (Status.FAILED, True, True),
        (Status.REJECTED, True, False),
        (Status.DUPLICATE, True, False),
    ],
)
def test_only_succeeded_and_failed_candidates_used_a_slot_of_the_budget(
    status: Status, finished: bool, evaluated: bool
) -> None:
    assert status.is_finished() is finished
    assert status.was_evaluated() is evaluated


def test_a_flag_about_a_metric_is_stored_as_kind_colon_metric() -> None:
    assert Flag.HELDOUT_DROP.on("gate_acc") == "heldout_drop:gate_acc"
    assert Flag.kind_of("heldout_drop:gate_acc") is Flag.HELDOUT_DROP
    assert Flag.kind_of(Flag.NON_FINITE.on("a:b")) is Flag.NON_FINITE


@pytest.mark.parametrize("flag", ["", "mystery", "mystery:score", "JUMP"])
def test_a_flag_of_an_unknown_kind_has_no_kind(flag: str) -> None:
    assert Flag.kind_of(flag) is None


def test_only_flags_built_from_gate_metrics_are_hidden_from_proposers() -> None:
    hidden = {f for f in Flag if not f.proposer_may_see}
    assert hidden == {Flag.HELDOUT_DROP}


def test_the_code_hash_depends_on_content_not_on_the_order_of_files() -> None:
    files = {"a.py": "x = 1\n", "b.py": "y = 2\n"}
    assert code_hash(files) == code_hash(dict(reversed(list(files.items()))))
    assert code_hash(files) != code_hash({**files, "b.py": "y = 3\n"})
    assert code_hash(files) != code_hash({"a.py": "x = 1\n", "c.py": "y = 2\n"})


def test_the_code_hash_keeps_paths_and_contents_apart() -> None:
    assert code_hash({"a": "bc"}) != code_hash({"ab": "c"})


def test_per_example_scores_round_trip_as_float32() -> None:
    scores = {"acc": [1.0, 0.0, 0.5, -2.25], "loss": [0.1, 3.0]}
    back = unpack_examples(pack_examples(scores))
    assert set(back) == {"acc", "loss"}
    assert list(back["acc"]) == [1.0, 0.0, 0.5, -2.25]
    assert list(back["loss"]) == pytest.approx([0.1, 3.0], rel=1e-6)
    assert back["loss"][0] != 0.1  # float32, not float64


def test_per_example_scores_are_stored_little_endian_whatever_the_machine() -> None:
    text = pack_examples({"b": [1.0], "a": []})
    assert text == '{"a": "", "b": "AACAPw=="}'
    assert base64.b64decode("AACAPw==") == b"\x00\x00\x80\x3f"


def test_no_per_example_scores_unpack_to_nothing() -> None:
    assert unpack_examples("") == {}
    assert unpack_examples(pack_examples({})) == {}


def test_storage_json_sorts_keys_and_takes_frozen_mappings_and_tuples() -> None:
    value = {"b": MappingProxyType({"y": 1, "x": (1, 2)}), "a": math.nan}
    assert dumps(value) == '{"a": NaN, "b": {"x": [1, 2], "y": 1}}'


def test_storage_json_refuses_what_it_cannot_store() -> None:
    with pytest.raises(TypeError, match="not JSON serialisable: set"):
        dumps({"a": {1, 2}})


def test_a_frozen_mapping_is_a_read_only_copy() -> None:
    source = {"a": 1.0}
    frozen = freeze(source)
    source["a"] = 2.0
    assert frozen == {"a": 1.0}
    with pytest.raises(TypeError):
        frozen["a"] = 3.0  # type: ignore[index]


def test_a_candidates_score_is_its_objective_as_a_float_or_none() -> None:
    c = Candidate(id=1, code_hash="h", metrics={"score": 3}, heldout={"test": 1.0})
    assert c.score("score") == 3.0 and isinstance(c.score("score"), float)
    assert c.score("test") is None
