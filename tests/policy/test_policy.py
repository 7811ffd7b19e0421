from evoforge.policy import check_policy, default_policy_source


def test_the_shipped_default_is_a_valid_policy() -> None:
    assert check_policy(default_policy_source()) == []


def test_the_shipped_meta_evolved_policy_passes_the_checks() -> None:
    from importlib import resources

    evolved = resources.files("evoforge.policy").joinpath("shipped/evolved.py").read_text()
    assert evolved != default_policy_source()
    assert check_policy(evolved) == []
