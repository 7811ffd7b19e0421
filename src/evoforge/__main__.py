"""`python -m evoforge`: the same as the `evoforge` command."""

from evoforge.cli import main

if __name__ == "__main__":
    main()
