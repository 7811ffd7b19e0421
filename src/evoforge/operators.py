"""The names of the built-in mutator's operators: its own vocabulary and a policy's.

:class:`~evoforge.proposers.mutate.Mutator` implements them (its docstring says
what each does); a search policy's answer weighs them, and
:func:`evoforge.policy.read_answer` accepts no other names. They live here, below
both, so that the policy contract does not depend on the mutator.
"""

SINGLE_SITE = ("step", "resample", "flip", "choice", "list")
"""The operators that change one site of a program."""
OPERATORS = (*SINGLE_SITE, "multi", "crossover")
