"""Domain generators: searches that understand their own representation.

Each subpackage evolves one kind of object from its own building blocks and hands
back readable code of what it found:

- :mod:`evoforge.domains.automl`: whole learning algorithms (setup, predict,
  learn) evolved from basic mathematical operations, as in AutoML-Zero.
"""
