"""``python -m evoforge.cli``: the ``evoforge`` command."""

from evoforge.cli import main

if __name__ == "__main__":
    main()
